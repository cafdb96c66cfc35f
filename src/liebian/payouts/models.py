"""Withdrawals to a customer's WeChat balance: one row per transfer bill, keyed by our ``out_bill_no``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from liebian.kit.db import Base

OPEN_STATES = ("requested", "wait_user_confirm", "processing")
FINAL_STATES = ("succeeded", "failed", "cancelled")


class TransferBill(Base):
    """``requested``: recorded, money moved to in-flight, not yet (known to be) at the provider;
    ``wait_user_confirm``: the customer must accept it in the mini-program (``package_info``);
    ``processing``: accepted or cancelling at the provider; then ``succeeded`` (paid out) or
    ``failed`` / ``cancelled`` (the money is back in the customer's balance).
    """

    __tablename__ = "transfer_bills"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("state IN ('requested', 'wait_user_confirm', 'processing', 'succeeded', 'failed', "
                        "'cancelled')", name="state"),
        Index("ix_transfer_bills_customer", "shop_id", "customer_id"),
        Index("ix_transfer_bills_next_check", "next_check_at",
              postgresql_where=text("state IN ('requested', 'wait_user_confirm', 'processing')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    customer_id: Mapped[int] = mapped_column(nullable=False)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    openid: Mapped[str] = mapped_column(String(64), nullable=False)
    out_bill_no: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    amount_fen: Mapped[int] = mapped_column(nullable=False)
    remark: Mapped[str] = mapped_column(String(32), nullable=False)
    # The payee's real name (needed from 2,000 CNY); kept only until the bill is final.
    user_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    state: Mapped[str] = mapped_column(String(24), nullable=False)
    package_info: Mapped[str | None] = mapped_column(Text, nullable=True)
    transfer_bill_no: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    last_event_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # When the reconciler next asks the provider (unknown outcome, unconfirmed past 24 h, processing).
    next_check_at: Mapped[datetime | None] = mapped_column(nullable=True)
