from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from liebian.kit.db import Base


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'paid', 'closed')", name="status"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= amount_fen", name="refund_cap"),
        Index("ix_payments_order", "order_id"),
        Index("ix_payments_next_check", "next_check_at", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    order_id: Mapped[int] = mapped_column(nullable=False)
    out_trade_no: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    amount_fen: Mapped[int] = mapped_column(nullable=False)
    refunded_fen: Mapped[int] = mapped_column(nullable=False, server_default=text("0"))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    description: Mapped[str] = mapped_column(String(127), nullable=False)
    payer_openid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    provider_txn_id: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    client_params: Mapped[dict[str, Any]] = mapped_column(nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # When the reconciler next asks the provider about a payment whose notification has not come.
    next_check_at: Mapped[datetime | None] = mapped_column(nullable=True)


class PaymentEvent(Base):
    """The inbox: every provider notification stored once by (provider, event id)."""

    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int | None] = mapped_column(nullable=True)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    event_id: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    business_key: Mapped[str] = mapped_column(String(64), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(nullable=False)
    received_at: Mapped[datetime] = mapped_column(nullable=False)


class PaymentRefund(Base):
    __tablename__ = "payment_refunds"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'processing', 'succeeded', 'failed')", name="status"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        Index("ix_payment_refunds_payment", "payment_id"),
        Index("ix_payment_refunds_next_check", "next_check_at", postgresql_where=text("status = 'processing'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), nullable=False)
    order_id: Mapped[int] = mapped_column(nullable=False)
    refund_request_id: Mapped[int | None] = mapped_column(nullable=True, unique=True)
    out_refund_no: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    amount_fen: Mapped[int] = mapped_column(nullable=False)
    reason: Mapped[str] = mapped_column(String(80), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    provider_refund_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    succeeded_at: Mapped[datetime | None] = mapped_column(nullable=True)
    next_check_at: Mapped[datetime | None] = mapped_column(nullable=True)
