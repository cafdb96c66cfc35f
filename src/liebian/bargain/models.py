"""Tables of bargaining (砍价): campaigns, bargains, the cuts made on them, and the counters behind the caps.

A bargain carries its whole cut plan (``cuts``, decided when it starts) and moves only by guarded
single-statement UPDATEs; the CHECK constraints below are the last line of defence: the price never goes
below the floor, no bargain takes more helps than it needs, and the floor is reached exactly when the last
required help is in.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ARRAY, BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from liebian.kit.db import Base

CAMPAIGN_STATUSES = ("active", "closed", "ended")
BARGAIN_STATUSES = ("active", "complete", "ordered", "expired")
LIVE = "status IN ('active', 'complete', 'ordered')"


class Campaign(Base):
    """A bargain offer on one SKU. Prices, helpers and duration are fixed once created."""

    __tablename__ = "bargain_campaigns"
    __table_args__ = (
        CheckConstraint(f"status IN {CAMPAIGN_STATUSES!r}", name="status"),
        CheckConstraint("helpers_needed BETWEEN 1 AND 100", name="helpers_needed"),
        # The initiator's opening cut and one per helper, each at least 1 fen.
        CheckConstraint("floor_price_fen >= 0 AND start_price_fen - floor_price_fen >= helpers_needed + 1",
                        name="prices"),
        CheckConstraint("initiations_per_customer >= 1", name="initiations"),
        CheckConstraint("(helps_per_helper_per_day IS NULL OR helps_per_helper_per_day >= 1) AND "
                        "(helps_per_device_per_day IS NULL OR helps_per_device_per_day >= 1)", name="help_caps"),
        CheckConstraint("stock_left IS NULL OR (stock_left >= 0 AND stock_left <= stock)", name="stock_left"),
        Index("ix_bargain_campaigns_shop", "shop_id", "id"),
        Index("ix_bargain_campaigns_ending", "ends_at", postgresql_where=text("status = 'active'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    product_id: Mapped[int] = mapped_column(nullable=False)
    sku_id: Mapped[int] = mapped_column(nullable=False)
    title: Mapped[str | None] = mapped_column(String(60), nullable=True)
    start_price_fen: Mapped[int] = mapped_column(nullable=False)
    floor_price_fen: Mapped[int] = mapped_column(nullable=False)
    helpers_needed: Mapped[int] = mapped_column(SmallInteger, nullable=False)  # friends, besides the initiator
    duration_seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    starts_at: Mapped[datetime] = mapped_column(nullable=False)
    ends_at: Mapped[datetime | None] = mapped_column(nullable=True)
    initiations_per_customer: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    helps_per_helper_per_day: Mapped[int | None] = mapped_column(Integer, nullable=True)  # across the shop
    helps_per_device_per_day: Mapped[int | None] = mapped_column(Integer, nullable=True)
    buy_anytime: Mapped[bool] = mapped_column(nullable=False, server_default=text("false"))
    # Own stock carved out of the SKU when the campaign is created; NULL: orders take the SKU's stock.
    stock: Mapped[int | None] = mapped_column(nullable=True)
    stock_left: Mapped[int | None] = mapped_column(nullable=True)
    status: Mapped[str] = mapped_column(String(8), nullable=False, server_default="active")
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Bargain(Base):
    """One customer's bargain. ``cuts[1]`` is the initiator's opening cut, ``cuts[k + 1]`` the k-th helper's;
    ``help_count`` counts helpers (not the opening cut); the price after k helps is the start less the
    first k + 1 cuts, so the last required help lands on the floor."""

    __tablename__ = "bargain_bargains"
    __table_args__ = (
        CheckConstraint(f"status IN {BARGAIN_STATUSES!r}", name="status"),
        CheckConstraint("current_price_fen >= floor_price_fen AND current_price_fen < start_price_fen",
                        name="never_below_floor"),
        CheckConstraint("help_count >= 0 AND help_count <= helpers_needed", name="never_over_helped"),
        CheckConstraint("(help_count = helpers_needed) = (current_price_fen = floor_price_fen)", name="floor_at_last"),
        CheckConstraint("cardinality(cuts) = helpers_needed + 1", name="plan_length"),
        CheckConstraint("status <> 'complete' OR help_count = helpers_needed", name="complete_when_helped"),
        CheckConstraint("order_id IS NULL OR status = 'ordered'", name="order_when_ordered"),
        # One live bargain per customer and campaign: a second tap on "start" cannot open two.
        Index("uq_bargain_bargains_live", "campaign_id", "customer_id", unique=True, postgresql_where=text(LIVE)),
        Index("uq_bargain_bargains_order", "order_id", unique=True, postgresql_where=text("order_id IS NOT NULL")),
        Index("ix_bargain_bargains_due", "expires_at", postgresql_where=text("status IN ('active', 'complete')")),
        Index("ix_bargain_bargains_shop", "shop_id", "campaign_id", "id"),
        Index("ix_bargain_bargains_customer", "shop_id", "customer_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("bargain_campaigns.id"), nullable=False)
    customer_id: Mapped[int] = mapped_column(nullable=False)
    device_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the initiator's, if known
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    start_price_fen: Mapped[int] = mapped_column(nullable=False)
    floor_price_fen: Mapped[int] = mapped_column(nullable=False)
    current_price_fen: Mapped[int] = mapped_column(nullable=False)
    helpers_needed: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    help_count: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default=text("0"))
    cuts: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), nullable=False)
    buy_anytime: Mapped[bool] = mapped_column(nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ordered_at: Mapped[datetime | None] = mapped_column(nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)  # when it expired
    order_id: Mapped[int | None] = mapped_column(nullable=True)
    order_no: Mapped[str | None] = mapped_column(String(32), nullable=True)
    orders_cancelled: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default=text("0"))


class Help(Base):
    """One cut: seq 0 is the initiator's opening cut, seq k the k-th helper's. Once per person per bargain."""

    __tablename__ = "bargain_helps"
    __table_args__ = (
        CheckConstraint("seq >= 0 AND cut_fen >= 1 AND price_after_fen >= 0", name="amounts"),
        Index("uq_bargain_helps_once", "bargain_id", "helper_customer_id", unique=True),
        Index("uq_bargain_helps_seq", "bargain_id", "seq", unique=True),
        Index("ix_bargain_helps_helper", "shop_id", "helper_customer_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    bargain_id: Mapped[int] = mapped_column(ForeignKey("bargain_bargains.id"), nullable=False)
    helper_customer_id: Mapped[int] = mapped_column(nullable=False)
    device_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seq: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    cut_fen: Mapped[int] = mapped_column(nullable=False)
    price_after_fen: Mapped[int] = mapped_column(nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class Initiation(Base):
    """Bargains a customer started in a campaign: the per-customer limit, moved by one guarded upsert."""

    __tablename__ = "bargain_initiations"
    __table_args__ = (CheckConstraint("started >= 0", name="started_not_negative"),)

    campaign_id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    started: Mapped[int] = mapped_column(Integer, nullable=False)


class HelpQuota(Base):
    """Helps given per shop and day (Asia/Shanghai) by one helper (``kind = 'helper'``, subject: customer id)
    or from one device (``kind = 'device'``): the daily caps, moved by guarded upserts, never counted."""

    __tablename__ = "bargain_help_quotas"
    __table_args__ = (
        CheckConstraint("kind IN ('helper', 'device')", name="kind"),
        CheckConstraint("used >= 0", name="used_not_negative"),
        Index("ix_bargain_help_quotas_day", "day"),
    )

    shop_id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(6), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    used: Mapped[int] = mapped_column(Integer, nullable=False)
