"""Pickup (queue) numbers: 1, 2, 3... per store per Asia/Shanghai day, given when a pickup order is placed.

One upsert on the (store, day) counter both creates the day's row and moves it, so concurrent orders at one
store queue on that row and each gets the next number; the unique index on orders (store, day, number) is
the last line of defence. Numbers are given at placement, not payment: cash-at-the-counter (COD) and free
orders never see a payment, and the kitchen starts on an order once it exists. An order cancelled unpaid
leaves a gap in the day's numbers, which the counter staff can live with (a reused number cannot be).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit.sql import text
from liebian.stores import rules


async def next_pickup_no(session: AsyncSession, shop_id: int, store_id: int, at: datetime) -> tuple[date, int]:
    """The next queue number of this store for the Beijing day of ``at`` (the row stays locked until the
    order's transaction ends, so take it as late as possible in checkout)."""
    day = rules.pickup_day(at)
    last = (await session.execute(
        text("INSERT INTO store_pickup_counters (store_id, day, shop_id, last) VALUES (:st, :day, :s, 1) "
             "ON CONFLICT (store_id, day) DO UPDATE SET last = store_pickup_counters.last + 1 RETURNING last"),
        {"st": store_id, "day": day, "s": shop_id})).scalar_one()
    return day, int(last)
