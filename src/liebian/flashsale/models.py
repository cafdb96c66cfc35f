"""Tables of the flash sale (秒杀): campaigns (time slots), each customer's units per campaign, and entries.

``sold`` moves only by guarded single-statement UPDATEs; the CHECK constraints are the last line of
defence: a campaign can never sell more than its stock, and after it ends what it gave back to the SKU and
what it sold always make up its stock. Two active slots of one SKU can never overlap (an exclusion
constraint, so two consoles creating slots at once cannot both win).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from liebian.kit.db import Base

CAMPAIGN_STATUSES = ("active", "ended")
ENTRY_STATUSES = ("ordered", "failed", "returned")


class Campaign(Base):
    """One slot: a SKU sold at ``price_fen`` from ``starts_at`` to ``ends_at``, ``stock`` units carved out of the
    SKU when it is created; what is unsold goes back to the SKU when it ends (``returned``)."""

    __tablename__ = "flashsale_campaigns"
    __table_args__ = (
        CheckConstraint(f"status IN {CAMPAIGN_STATUSES!r}", name="status"),
        CheckConstraint("price_fen > 0", name="price"),
        CheckConstraint("stock > 0 AND per_customer_limit >= 1", name="stock_and_limit"),
        CheckConstraint("sold >= 0 AND sold <= stock", name="never_oversold"),
        CheckConstraint("returned >= 0 AND sold + returned <= stock", name="returned_within_stock"),
        CheckConstraint("ends_at > starts_at", name="window"),
        ExcludeConstraint(("sku_id", "="), (text("tstzrange(starts_at, ends_at)"), "&&"),
                          name="slots_do_not_overlap", using="gist", where=text("status = 'active'")),
        Index("ix_flashsale_campaigns_shop", "shop_id", "starts_at", "id"),
        Index("ix_flashsale_campaigns_ending", "ends_at", postgresql_where=text("status = 'active'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    product_id: Mapped[int] = mapped_column(nullable=False)
    sku_id: Mapped[int] = mapped_column(nullable=False)
    title: Mapped[str | None] = mapped_column(String(60), nullable=True)
    price_fen: Mapped[int] = mapped_column(nullable=False)
    stock: Mapped[int] = mapped_column(nullable=False)
    sold: Mapped[int] = mapped_column(nullable=False, server_default=text("0"))  # units of live orders
    returned: Mapped[int] = mapped_column(nullable=False, server_default=text("0"))  # back to the SKU at the end
    per_customer_limit: Mapped[int] = mapped_column(Integer, nullable=False)
    starts_at: Mapped[datetime] = mapped_column(nullable=False)
    ends_at: Mapped[datetime] = mapped_column(nullable=False)
    status: Mapped[str] = mapped_column(String(8), nullable=False, server_default="active")
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Buyer(Base):
    """Units a customer holds in a campaign (live orders): the per-customer limit, race-safe by a guarded upsert."""

    __tablename__ = "flashsale_buyers"
    __table_args__ = (CheckConstraint("bought >= 0", name="bought_not_negative"),)

    campaign_id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    bought: Mapped[int] = mapped_column(Integer, nullable=False)


class Entry(Base):
    """A customer's attempt that reached PostgreSQL: ``ordered`` (its order holds a unit), ``returned`` (the
    order was cancelled unpaid and the unit went back), or ``failed`` (a queued entry PostgreSQL refused).

    The id is the entry's idempotency key: made when the customer enters (a queued ticket keeps it), so a
    queue drain that runs twice finds the row and never places a second order.
    """

    __tablename__ = "flashsale_entries"
    __table_args__ = (
        CheckConstraint(f"status IN {ENTRY_STATUSES!r}", name="status"),
        CheckConstraint("quantity > 0", name="quantity"),
        Index("uq_flashsale_entries_order", "order_id", unique=True, postgresql_where=text("order_id IS NOT NULL")),
        Index("ix_flashsale_entries_campaign", "campaign_id", "status"),
        Index("ix_flashsale_entries_customer", "shop_id", "customer_id", "entered_at"),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    campaign_id: Mapped[int] = mapped_column(nullable=False)
    customer_id: Mapped[int] = mapped_column(nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(8), nullable=False)
    queued: Mapped[bool] = mapped_column(nullable=False)  # came through the Redis queue
    order_id: Mapped[int | None] = mapped_column(nullable=True)
    order_no: Mapped[str | None] = mapped_column(String(32), nullable=True)
    failure_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    entered_at: Mapped[datetime] = mapped_column(nullable=False)
    decided_at: Mapped[datetime] = mapped_column(nullable=False)
