from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from liebian.kit.db import Base


class LedgerTransaction(Base):
    """A balanced set of entries; (shop, kind, ref) is unique so a movement is posted once."""

    __tablename__ = "ledger_transactions"
    __table_args__ = (UniqueConstraint("shop_id", "kind", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    ref: Mapped[str] = mapped_column(String(64), nullable=False)
    order_id: Mapped[int | None] = mapped_column(nullable=True)
    memo: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class LedgerEntry(Base):
    """One leg: positive is a debit, negative a credit; a transaction's legs sum to zero."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount_fen <> 0", name="amount_nonzero"),
        Index("ix_ledger_entries_txn", "transaction_id"),
        Index("ix_ledger_entries_account", "shop_id", "account"),
        Index("ix_ledger_entries_order", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), nullable=False)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    account: Mapped[str] = mapped_column(String(64), nullable=False)
    amount_fen: Mapped[int] = mapped_column(nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, server_default="CNY")
    order_id: Mapped[int | None] = mapped_column(nullable=True)
