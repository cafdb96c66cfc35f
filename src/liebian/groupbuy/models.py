"""Tables of group buying: campaigns, groups, their members, and each customer's units per campaign.

Counters on ``groupbuy_groups`` move only by guarded single-statement UPDATEs; the CHECK constraints
below are the last line of defence: a group can never hold more seats than its size.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from liebian.kit.db import Base

CAMPAIGN_STATUSES = ("active", "closed", "ended")
GROUP_STATUSES = ("pending", "open", "succeeded", "failed")
MEMBER_STATUSES = ("held", "paid", "released", "refunded")


class Campaign(Base):
    """A group-buy offer on one SKU. Prices, size, ladder and duration are fixed once created."""

    __tablename__ = "groupbuy_campaigns"
    __table_args__ = (
        CheckConstraint(f"status IN {CAMPAIGN_STATUSES!r}", name="status"),
        CheckConstraint("group_size BETWEEN 2 AND 100 AND min_size BETWEEN 2 AND group_size", name="sizes"),
        CheckConstraint("group_price_fen > 0 AND (leader_price_fen IS NULL OR leader_price_fen BETWEEN 0 AND "
                        "group_price_fen)", name="prices"),
        CheckConstraint("stock_left IS NULL OR stock_left >= 0", name="stock_not_negative"),
        CheckConstraint("auto_complete_percent IS NULL OR auto_complete_percent BETWEEN 1 AND 99",
                        name="auto_complete_percent"),
        Index("ix_groupbuy_campaigns_shop", "shop_id", "id"),
        Index("ix_groupbuy_campaigns_product", "shop_id", "product_id"),
        Index("ix_groupbuy_campaigns_ending", "ends_at", postgresql_where=text("status = 'active'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    product_id: Mapped[int] = mapped_column(nullable=False)
    sku_id: Mapped[int] = mapped_column(nullable=False)
    title: Mapped[str | None] = mapped_column(String(60), nullable=True)
    group_size: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    # Fewest paid members with which a group can succeed at its deadline: the ladder's first tier, else the size.
    min_size: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    group_price_fen: Mapped[int] = mapped_column(nullable=False)
    leader_price_fen: Mapped[int | None] = mapped_column(nullable=True)  # 0: free for the leader (团长免单)
    ladder: Mapped[list[Any] | None] = mapped_column(nullable=True)  # [{"size": n, "price_fen": p}, ...]
    duration_seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    starts_at: Mapped[datetime] = mapped_column(nullable=False)
    ends_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Own stock carved out of the SKU when the campaign is created; NULL: orders take the SKU's stock.
    stock: Mapped[int | None] = mapped_column(nullable=True)
    stock_left: Mapped[int | None] = mapped_column(nullable=True)
    per_customer_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)  # units per customer
    new_customers_only: Mapped[bool] = mapped_column(nullable=False, server_default=text("false"))
    auto_complete_percent: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    status: Mapped[str] = mapped_column(String(8), nullable=False, server_default="active")
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Group(Base):
    """One group. ``slots_taken`` counts held, paid and refunded seats (history is kept); ``paid_count``
    the seats ever paid. A seat is released only while unpaid, so ``paid_count <= slots_taken <= size``."""

    __tablename__ = "groupbuy_groups"
    __table_args__ = (
        CheckConstraint(f"status IN {GROUP_STATUSES!r}", name="status"),
        CheckConstraint("slots_taken >= 0 AND slots_taken <= size", name="never_overfilled"),
        CheckConstraint("paid_count >= 0 AND paid_count <= slots_taken", name="paid_within_taken"),
        CheckConstraint("shop_paid_slots >= 0", name="shop_paid_slots"),
        Index("ix_groupbuy_groups_joinable", "campaign_id", "expires_at", postgresql_where=text("status = 'open'")),
        Index("ix_groupbuy_groups_due", "expires_at", postgresql_where=text("status = 'open'")),
        Index("ix_groupbuy_groups_shop", "shop_id", "campaign_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("groupbuy_campaigns.id"), nullable=False)
    size: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    min_size: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    slots_taken: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    paid_count: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default=text("0"))
    # The leader now: the opener, or the first member who paid if the opener gave up their seat unpaid.
    leader_customer_id: Mapped[int] = mapped_column(nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    opened_at: Mapped[datetime | None] = mapped_column(nullable=True)  # the first payment
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    failure_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)  # expired, unpaid
    final_unit_price_fen: Mapped[int | None] = mapped_column(nullable=True)  # the ladder tier reached
    # Auto-completion: the shop pays the missing places; nobody is invented, the group says so.
    completed_by_shop: Mapped[bool] = mapped_column(nullable=False, server_default=text("false"))
    shop_paid_slots: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default=text("0"))


class Member(Base):
    """A seat: ``held`` while its order awaits payment, then ``paid``; ``released`` if the order was not
    paid; ``refunded`` once its full refund was started (failed group, or a full refund after success)."""

    __tablename__ = "groupbuy_members"
    __table_args__ = (
        CheckConstraint(f"status IN {MEMBER_STATUSES!r}", name="status"),
        CheckConstraint("quantity > 0 AND unit_price_fen >= 0 AND paid_fen >= 0", name="amounts"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= paid_fen", name="refund_cap"),
        # Once per person per group: concurrent joins by one customer cannot both take a seat.
        Index("uq_groupbuy_members_once", "group_id", "customer_id", unique=True,
              postgresql_where=text("status IN ('held', 'paid')")),
        Index("uq_groupbuy_members_order", "order_id", unique=True),
        Index("ix_groupbuy_members_group", "group_id", "id"),
        Index("ix_groupbuy_members_customer", "shop_id", "customer_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    group_id: Mapped[int] = mapped_column(ForeignKey("groupbuy_groups.id"), nullable=False)
    campaign_id: Mapped[int] = mapped_column(nullable=False)
    customer_id: Mapped[int] = mapped_column(nullable=False)
    order_id: Mapped[int] = mapped_column(nullable=False)
    order_no: Mapped[str] = mapped_column(String(32), nullable=False)
    is_leader: Mapped[bool] = mapped_column(nullable=False)  # joined as the leader (at the leader's price)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_price_fen: Mapped[int] = mapped_column(nullable=False)
    paid_fen: Mapped[int] = mapped_column(nullable=False)  # the order's payable amount
    refunded_fen: Mapped[int] = mapped_column(nullable=False, server_default=text("0"))  # money back so far
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    joined_at: Mapped[datetime] = mapped_column(nullable=False)
    paid_at: Mapped[datetime | None] = mapped_column(nullable=True)
    left_at: Mapped[datetime | None] = mapped_column(nullable=True)  # released or refunded


class Usage(Base):
    """Units a customer holds in a campaign (held or paid seats): the per-customer limit, race-safe."""

    __tablename__ = "groupbuy_usage"
    __table_args__ = (CheckConstraint("units >= 0", name="units_not_negative"),)

    campaign_id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    units: Mapped[int] = mapped_column(Integer, nullable=False)
