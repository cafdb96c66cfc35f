"""Tables of coupons and share red packets (owned by this module).

Counters move only by guarded single-statement UPDATEs or upserts; the CHECK constraints are the last line of
defence: a template can never issue more than its total, a customer never holds more than the limit.
A coupon copies its template's terms when it is claimed, so changing or disabling a template never changes
coupons already in people's hands.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from liebian.kit.db import Base

KINDS = ("fixed", "percent", "threshold")
SCOPES = ("shop", "category", "product")
TEMPLATE_STATUSES = ("active", "disabled")
COUPON_STATUSES = ("available", "used")  # "expired" is computed from valid_to, never stored
PACKET_SOURCES = ("order", "community")
# A buyer's packet names its offer, order and buyer; a packet from another source names that source instead.
PACKET_SOURCE = (f"source IN {PACKET_SOURCES!r} AND CASE WHEN source = 'order' THEN offer_id IS NOT NULL AND "
                 "order_id IS NOT NULL AND order_no IS NOT NULL AND customer_id IS NOT NULL AND source_id IS NULL "
                 "ELSE order_id IS NULL AND source_id IS NOT NULL END")

_TERMS = ("(kind = 'fixed' AND amount_fen > 0) OR (kind = 'threshold' AND amount_fen > 0 AND threshold_fen > 0) "
          "OR (kind = 'percent' AND percent_bps BETWEEN 1 AND 9999 AND (cap_fen IS NULL OR cap_fen > 0))")


class Template(Base):
    """What the shop offers: the terms, how many exist, how many one customer may hold, how long they last."""

    __tablename__ = "coupon_templates"
    __table_args__ = (
        CheckConstraint(f"kind IN {KINDS!r}", name="kind"),
        CheckConstraint(f"scope_type IN {SCOPES!r}", name="scope_type"),
        CheckConstraint(f"status IN {TEMPLATE_STATUSES!r}", name="status"),
        CheckConstraint(_TERMS, name="terms"),
        CheckConstraint("threshold_fen >= 0", name="threshold"),
        CheckConstraint("total_quantity > 0 AND issued >= 0 AND issued <= total_quantity", name="never_over_issued"),
        CheckConstraint("per_customer_limit >= 1", name="per_customer_limit"),
        CheckConstraint("(valid_days IS NOT NULL AND valid_days > 0) OR (valid_to IS NOT NULL AND "
                        "(valid_from IS NULL OR valid_from < valid_to))", name="validity"),
        Index("ix_coupon_templates_shop", "shop_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    name: Mapped[str] = mapped_column(String(60), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    amount_fen: Mapped[int | None] = mapped_column(nullable=True)
    percent_bps: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the share taken off: 2000 = 20% off
    cap_fen: Mapped[int | None] = mapped_column(nullable=True)
    threshold_fen: Mapped[int] = mapped_column(nullable=False, server_default=text("0"))
    scope_type: Mapped[str] = mapped_column(String(10), nullable=False, server_default="shop")
    scope_ids: Mapped[list[Any]] = mapped_column(nullable=False, server_default=text("'[]'::jsonb"))
    stackable: Mapped[bool] = mapped_column(nullable=False, server_default=text("false"))  # with a promotion
    total_quantity: Mapped[int] = mapped_column(nullable=False)
    issued: Mapped[int] = mapped_column(nullable=False, server_default=text("0"))
    per_customer_limit: Mapped[int] = mapped_column(Integer, nullable=False)
    valid_days: Mapped[int | None] = mapped_column(Integer, nullable=True)  # N days after the claim
    valid_from: Mapped[datetime | None] = mapped_column(nullable=True)
    valid_to: Mapped[datetime | None] = mapped_column(nullable=True)  # also the last moment it can be claimed
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="active")
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    disabled_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Holding(Base):
    """How many coupons of a template a customer has claimed: the per-customer limit, race-safe."""

    __tablename__ = "coupon_holdings"
    __table_args__ = (CheckConstraint("claimed >= 0", name="claimed_not_negative"),)

    template_id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    claimed: Mapped[int] = mapped_column(Integer, nullable=False)


class Coupon(Base):
    """One coupon in a customer's hands: claimed from a template, or a part of a red packet.

    ``available`` → ``used`` by one guarded UPDATE in the order's transaction; back to ``available`` when
    that order is cancelled. Past ``valid_to`` an available coupon is shown as ``expired``.
    """

    __tablename__ = "coupons"
    __table_args__ = (
        CheckConstraint(f"status IN {COUPON_STATUSES!r}", name="status"),
        CheckConstraint(f"kind IN {KINDS!r}", name="kind"),
        CheckConstraint(f"scope_type IN {SCOPES!r}", name="scope_type"),
        CheckConstraint(_TERMS, name="terms"),
        CheckConstraint("(status = 'used') = (order_id IS NOT NULL)", name="used_by_an_order"),
        CheckConstraint("(template_id IS NULL) <> (red_packet_id IS NULL)", name="one_source"),
        Index("ix_coupons_customer", "shop_id", "customer_id", "id"),
        Index("ix_coupons_template", "template_id", postgresql_where=text("template_id IS NOT NULL")),
        Index("ix_coupons_order", "order_id", postgresql_where=text("order_id IS NOT NULL")),
        # A red-packet part becomes exactly one coupon.
        Index("uq_coupons_red_packet_part", "red_packet_id", "part_no", unique=True,
              postgresql_where=text("red_packet_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    customer_id: Mapped[int] = mapped_column(nullable=False)
    template_id: Mapped[int | None] = mapped_column(nullable=True)
    red_packet_id: Mapped[int | None] = mapped_column(nullable=True)
    part_no: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    name: Mapped[str] = mapped_column(String(60), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    amount_fen: Mapped[int | None] = mapped_column(nullable=True)
    percent_bps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cap_fen: Mapped[int | None] = mapped_column(nullable=True)
    threshold_fen: Mapped[int] = mapped_column(nullable=False, server_default=text("0"))
    scope_type: Mapped[str] = mapped_column(String(10), nullable=False)
    scope_ids: Mapped[list[Any]] = mapped_column(nullable=False, server_default=text("'[]'::jsonb"))
    stackable: Mapped[bool] = mapped_column(nullable=False, server_default=text("false"))
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    valid_from: Mapped[datetime] = mapped_column(nullable=False)
    valid_to: Mapped[datetime] = mapped_column(nullable=False)
    claimed_at: Mapped[datetime] = mapped_column(nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    order_id: Mapped[int | None] = mapped_column(nullable=True)
    order_no: Mapped[str | None] = mapped_column(String(32), nullable=True)


class RedPacketOffer(Base):
    """The shop's share-red-packet offer: what a buyer is granted after a paid order."""

    __tablename__ = "coupon_red_packet_offers"
    __table_args__ = (
        CheckConstraint("parts BETWEEN 1 AND 100 AND min_part_fen >= 1 AND total_fen >= parts * min_part_fen",
                        name="split"),
        CheckConstraint("min_order_fen >= 0 AND coupon_threshold_fen >= 0", name="thresholds"),
        CheckConstraint("claim_hours >= 1 AND coupon_valid_days >= 1", name="durations"),
        CheckConstraint("daily_claims_per_customer >= 1 AND daily_claims_per_device >= 1", name="caps"),
        Index("ix_coupon_red_packet_offers_shop", "shop_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    name: Mapped[str | None] = mapped_column(String(60), nullable=True)
    total_fen: Mapped[int] = mapped_column(nullable=False)
    parts: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    min_part_fen: Mapped[int] = mapped_column(nullable=False)
    min_order_fen: Mapped[int] = mapped_column(nullable=False, server_default=text("0"))
    claim_hours: Mapped[int] = mapped_column(Integer, nullable=False)
    coupon_valid_days: Mapped[int] = mapped_column(Integer, nullable=False)
    coupon_threshold_fen: Mapped[int] = mapped_column(nullable=False, server_default=text("0"))
    daily_claims_per_customer: Mapped[int] = mapped_column(Integer, nullable=False)
    daily_claims_per_device: Mapped[int] = mapped_column(Integer, nullable=False)
    enabled: Mapped[bool] = mapped_column(nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)


class RedPacket(Base):
    """A red packet of coupons, its parts split when it is granted. ``source`` says why it exists: ``order``,
    a buyer's packet granted once per paid order (offer, order and buyer set); or another source not tied
    to an order (``community``: the shop sent it to community ``source_id``; no offer, order or owner), whose
    claimers must pass the source's audience check (see ``redpackets.register_audience``)."""

    __tablename__ = "coupon_red_packets"
    __table_args__ = (
        CheckConstraint("parts BETWEEN 1 AND 100 AND total_fen >= parts", name="split"),
        CheckConstraint(PACKET_SOURCE, name="source"),
        Index("uq_coupon_red_packets_code", "code", unique=True),
        Index("uq_coupon_red_packets_order", "order_id", unique=True),  # once per order
        Index("ix_coupon_red_packets_owner", "shop_id", "customer_id", "id"),
        Index("ix_coupon_red_packets_source", "shop_id", "source", "source_id",
              postgresql_where=text("source <> 'order'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    source: Mapped[str] = mapped_column(String(10), nullable=False, server_default="order")
    source_id: Mapped[int | None] = mapped_column(nullable=True)
    title: Mapped[str | None] = mapped_column(String(60), nullable=True)
    offer_id: Mapped[int | None] = mapped_column(nullable=True)
    code: Mapped[str] = mapped_column(String(16), nullable=False)
    order_id: Mapped[int | None] = mapped_column(nullable=True)
    order_no: Mapped[str | None] = mapped_column(String(32), nullable=True)
    customer_id: Mapped[int | None] = mapped_column(nullable=True)  # the buyer it was granted to
    total_fen: Mapped[int] = mapped_column(nullable=False)
    parts: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    min_part_fen: Mapped[int] = mapped_column(nullable=False)
    coupon_valid_days: Mapped[int] = mapped_column(Integer, nullable=False)
    coupon_threshold_fen: Mapped[int] = mapped_column(nullable=False)
    daily_claims_per_customer: Mapped[int] = mapped_column(Integer, nullable=False)
    daily_claims_per_device: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)


class RedPacketPart(Base):
    """One part of a packet, split when the packet is granted; claimed by one friend, once."""

    __tablename__ = "coupon_red_packet_parts"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("(customer_id IS NULL) = (claimed_at IS NULL)", name="claimed_together"),
        # One part per friend per packet, and one per device (a person's alt accounts on one phone).
        Index("uq_coupon_red_packet_parts_customer", "packet_id", "customer_id", unique=True),
        Index("uq_coupon_red_packet_parts_device", "packet_id", "device_id", unique=True),
    )

    packet_id: Mapped[int] = mapped_column(ForeignKey("coupon_red_packets.id"), primary_key=True)
    part_no: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    amount_fen: Mapped[int] = mapped_column(nullable=False)
    customer_id: Mapped[int | None] = mapped_column(nullable=True)
    device_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(nullable=True)


class DailyClaims(Base):
    """Red-packet parts claimed per customer or device per day (Asia/Shanghai): the daily caps, race-safe."""

    __tablename__ = "coupon_daily_claims"
    __table_args__ = (CheckConstraint("claims >= 0", name="claims_not_negative"),)

    shop_id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(80), primary_key=True)  # "c:<customer id>" or "d:<device id>"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    claims: Mapped[int] = mapped_column(Integer, nullable=False)
