"""Distribution's tables: settings, promoters, per-product rules, commissions (and rebates), withdrawals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Index, SmallInteger, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from liebian.kit.db import Base

COMMISSION_STATES = ("pending", "settled", "cancelled")
PROMOTER_STATES = ("pending", "active", "rejected", "disabled")
WITHDRAWAL_STATES = ("pending_review", "rejected", "transferring", "paid", "failed")


class DistributionConfig(Base):
    """A shop's distribution settings (``liebian.distribution.rules.DistributionSettings`` as JSON)."""

    __tablename__ = "distribution_settings"

    shop_id: Mapped[int] = mapped_column(primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)


class Promoter(Base):
    """A customer who applied (or qualified) to earn commissions; ``sales_fen`` is the settled sales volume
    they brought in, the only thing their rank (``level``) follows."""

    __tablename__ = "distribution_promoters"
    __table_args__ = (
        CheckConstraint(f"status IN {PROMOTER_STATES!r}", name="status"),
        CheckConstraint("sales_fen >= 0", name="sales"),
        UniqueConstraint("invite_code"),
        Index("ix_distribution_promoters_sales", "shop_id", "sales_fen"),
    )

    shop_id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    level: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default=text("0"))
    sales_fen: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))
    invite_code: Mapped[str] = mapped_column(String(12), nullable=False)
    applied_at: Mapped[datetime] = mapped_column(nullable=False)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)


class ProductCommission(Base):
    """A product's own commission: ``rate`` (bp of the line's base) or ``fixed`` (fen per unit) per level."""

    __tablename__ = "distribution_product_rules"
    __table_args__ = (CheckConstraint("mode IN ('rate', 'fixed', 'none')", name="mode"),)

    shop_id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(primary_key=True)
    mode: Mapped[str] = mapped_column(String(8), nullable=False)
    level1: Mapped[int] = mapped_column(BigInteger, nullable=False)
    level2: Mapped[int] = mapped_column(BigInteger, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)


class Commission(Base):
    """One commission per (order line, beneficiary, level), or one rebate per invitee (``level`` 0, no line).

    ``amount_fen`` is what was accrued; ``cancelled_fen`` what refunds took back before settlement;
    ``reversed_fen`` what they took back after it. Every change is mirrored by ledger entries keyed by
    the row's id, and ``liebian check`` compares the two.
    """

    __tablename__ = "distribution_commissions"
    __table_args__ = (
        UniqueConstraint("order_line_id", "beneficiary_id", "level", name="uq_distribution_commissions_line"),
        Index("uq_distribution_rebates_invitee", "shop_id", "buyer_id", unique=True,
              postgresql_where=text("kind = 'rebate'")),
        CheckConstraint("kind IN ('commission', 'rebate')", name="kind"),
        CheckConstraint("(kind = 'commission' AND level IN (1, 2) AND order_line_id IS NOT NULL) OR "
                        "(kind = 'rebate' AND level = 0 AND order_line_id IS NULL)", name="shape"),
        CheckConstraint(f"status IN {COMMISSION_STATES!r}", name="status"),
        CheckConstraint("amount_fen > 0 AND cancelled_fen >= 0 AND reversed_fen >= 0 "
                        "AND cancelled_fen + reversed_fen <= amount_fen", name="amounts"),
        CheckConstraint("refunded_base_fen >= 0 AND refunded_base_fen <= base_fen", name="refunded_base"),
        Index("ix_distribution_commissions_due", "settle_due_at", postgresql_where=text("status = 'pending'")),
        Index("ix_distribution_commissions_order", "order_id"),
        Index("ix_distribution_commissions_beneficiary", "shop_id", "beneficiary_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    order_id: Mapped[int] = mapped_column(nullable=False)
    order_no: Mapped[str] = mapped_column(String(32), nullable=False)
    order_line_id: Mapped[int | None] = mapped_column(nullable=True)
    buyer_id: Mapped[int] = mapped_column(nullable=False)
    beneficiary_id: Mapped[int] = mapped_column(nullable=False)
    level: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    base_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    refunded_base_fen: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))
    rate_bps: Mapped[int | None] = mapped_column(nullable=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    cancelled_fen: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))
    reversed_fen: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    accrued_at: Mapped[datetime] = mapped_column(nullable=False)
    settle_due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    settled_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Withdrawal(Base):
    """A promoter's request to take money out: ``pending_review`` (held), then ``rejected`` (back to the
    balance) or ``transferring`` (a transfer bill of ``net_fen`` = amount − fee), then ``paid`` or
    ``failed`` (the bill's money and the fee back to the balance)."""

    __tablename__ = "distribution_withdrawals"
    __table_args__ = (
        CheckConstraint(f"state IN {WITHDRAWAL_STATES!r}", name="state"),
        CheckConstraint("amount_fen > 0 AND fee_fen >= 0 AND fee_fen < amount_fen", name="amounts"),
        Index("ix_distribution_withdrawals_customer", "shop_id", "customer_id", "created_at"),
        Index("ix_distribution_withdrawals_review", "shop_id", "state", "id"),
        UniqueConstraint("out_bill_no"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    customer_id: Mapped[int] = mapped_column(nullable=False)
    amount_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    fee_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    out_bill_no: Mapped[str | None] = mapped_column(String(32), nullable=True)
    auto_approved: Mapped[bool] = mapped_column(nullable=False, server_default=text("false"))
    reject_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
