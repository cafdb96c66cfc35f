"""Tables of stores: the stores themselves (WGS-84 coordinates, GiST-indexed on the earth), their table codes
and the per-store, per-day pickup (queue) number counters.

The nearby search reads ``ix_stores_earth``: a GiST index on ``ll_to_earth(lat, lng)`` (extensions ``cube`` and
``earthdistance``), partial on open stores, so a radius query is a box probe plus an exact distance recheck.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Date, Double, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from liebian.kit.db import Base

STORE_STATUSES = ("open", "closed")


class Store(Base):
    """A physical store of a shop. ``status`` is the merchant's switch (closed: hidden from nearby, no pickup);
    opening hours decide ``open_now`` and are advisory for ordering."""

    __tablename__ = "stores"
    __table_args__ = (
        CheckConstraint(f"status IN {STORE_STATUSES!r}", name="status"),
        CheckConstraint("lat BETWEEN -90 AND 90 AND lng BETWEEN -180 AND 180", name="coordinates"),
        Index("ix_stores_shop", "shop_id", "id"),
        Index("ix_stores_earth", text("ll_to_earth(lat, lng)"), postgresql_using="gist",
              postgresql_where=text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    name: Mapped[str] = mapped_column(String(60), nullable=False)
    address: Mapped[str] = mapped_column(String(200), nullable=False)
    lat: Mapped[float] = mapped_column(Double, nullable=False)  # WGS-84 degrees, whatever the input system was
    lng: Mapped[float] = mapped_column(Double, nullable=False)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    hours: Mapped[list[Any] | None] = mapped_column(nullable=True)  # [{"weekdays": [1..7], "opens", "closes"}]
    pickup: Mapped[bool] = mapped_column(nullable=False, server_default=text("true"))
    status: Mapped[str] = mapped_column(String(8), nullable=False, server_default="open")
    # The store's offline QR code (a fission share code, channel offline_qr); made when the store is created.
    share_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)


class StoreTable(Base):
    """A table (or counter) of a store with its own QR code; the scan is attributed on channel offline_qr."""

    __tablename__ = "store_tables"
    __table_args__ = (
        Index("uq_store_tables_label", "store_id", "label", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), nullable=False)
    label: Mapped[str] = mapped_column(String(30), nullable=False)
    share_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class PickupCounter(Base):
    """The last pickup number given out at a store on one Asia/Shanghai day; moved only by one upsert."""

    __tablename__ = "store_pickup_counters"
    __table_args__ = (CheckConstraint("last > 0", name="last_positive"),)

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    last: Mapped[int] = mapped_column(Integer, nullable=False)
