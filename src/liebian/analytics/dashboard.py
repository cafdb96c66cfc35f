"""The console's dashboard: GMV, paid orders, new customers and visits per day, today against yesterday.

One statement reads the whole range: a row per day (days without anything are zeros), each metric summed
from its own table over the range's instants, so every index used is a ``(shop_id, time)`` one. Days are
Asia/Shanghai calendar days, the days every other report of Liebian counts in (shops have no time zone
setting of their own).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.campaigns.rules import day_bounds, local_day
from liebian.kit.clock import clock
from liebian.kit.money import BPS_DENOMINATOR, round_half_up
from liebian.kit.sql import text
from liebian.kit.web import DbSession
from liebian.shops.deps import ConsoleShop

console = APIRouter(prefix="/api/v1/console", tags=["console: analytics"])
TIMEZONE = "Asia/Shanghai"
MAX_DAYS = 90
METRICS = ("gmv_fen", "paid_orders", "new_customers", "visits", "visitors")

# GMV is what paid orders were to pay (payable_fen), on the day they were paid: refunds later do not take it
# back. Visits are arrivals through share links (fission_visits); visitors count each customer (or anonymous
# device) once a day.
_SQL = text("""
WITH days AS (
  SELECT CAST(d AS date) AS day FROM generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 day') d
), paid AS (
  SELECT CAST(paid_at AT TIME ZONE :tz AS date) AS day, sum(payable_fen) AS gmv_fen, count(*) AS paid_orders
  FROM orders WHERE shop_id = :shop AND paid_at >= :start AND paid_at < :end GROUP BY 1
), joined AS (
  SELECT CAST(created_at AT TIME ZONE :tz AS date) AS day, count(*) AS new_customers
  FROM customers WHERE shop_id = :shop AND created_at >= :start AND created_at < :end GROUP BY 1
), visited AS (
  SELECT CAST(created_at AT TIME ZONE :tz AS date) AS day, count(*) AS visits,
         count(DISTINCT COALESCE('c' || customer_id, 'd' || device_id)) AS visitors
  FROM fission_visits WHERE shop_id = :shop AND created_at >= :start AND created_at < :end GROUP BY 1
)
SELECT days.day, COALESCE(paid.gmv_fen, 0) AS gmv_fen, COALESCE(paid.paid_orders, 0) AS paid_orders,
       COALESCE(joined.new_customers, 0) AS new_customers, COALESCE(visited.visits, 0) AS visits,
       COALESCE(visited.visitors, 0) AS visitors
FROM days LEFT JOIN paid USING (day) LEFT JOIN joined USING (day) LEFT JOIN visited USING (day)
ORDER BY days.day
""")


class DayOut(BaseModel):
    day: date
    gmv_fen: int
    paid_orders: int
    new_customers: int
    visits: int
    visitors: int


class CompareOut(BaseModel):
    today: int
    yesterday: int
    change_bps: int | None = Field(description="(today - yesterday) / yesterday in basis points; "
                                   "null when yesterday is 0")


class DashboardOut(BaseModel):
    timezone: str
    today: date
    compare: dict[str, CompareOut] = Field(description="gmv_fen, paid_orders, new_customers, visits, visitors")
    days: list[DayOut] = Field(description="oldest first, one per day up to today, zeros included")


def change_bps(today: int, yesterday: int) -> int | None:
    if yesterday == 0:
        return None
    return round_half_up((today - yesterday) * BPS_DENOMINATOR, yesterday)


async def dashboard(session: AsyncSession, shop_id: int, days: int) -> DashboardOut:
    today = local_day(clock.now())
    first = today - timedelta(days=days - 1)
    start, end = day_bounds(first, today)
    rows = [DayOut(**r._mapping) for r in await session.execute(
        _SQL, {"first": first, "last": today, "tz": TIMEZONE, "shop": shop_id, "start": start, "end": end})]
    now_row = rows[-1]
    before = rows[-2] if len(rows) > 1 else None
    compare = {}
    for name in METRICS:
        value: int = getattr(now_row, name)
        previous: int = getattr(before, name) if before is not None else 0
        compare[name] = CompareOut(today=value, yesterday=previous, change_bps=change_bps(value, previous))
    return DashboardOut(timezone=TIMEZONE, today=today, compare=compare, days=rows)


@console.get("/dashboard", response_model=DashboardOut)
async def get_dashboard(shop: ConsoleShop, session: DbSession,
                        days: Annotated[int, Query(ge=2, le=MAX_DAYS, description="days shown, today included")] = 14
                        ) -> DashboardOut:
    """Today against yesterday, and the last ``days`` days (14 by default) for the trend chart."""
    return await dashboard(session, shop.id, days)
