"""Nearby search, and the invariants ``liebian check`` verifies.

Nearby is one statement: the GiST index ``ix_stores_earth`` answers the bounding-box probe
``earth_box(centre, r) @> ll_to_earth(lat, lng)`` and the exact great-circle distance rechecks the few rows
in the box's corners, so the cost follows the stores near the point, not the stores in the table; the index
also yields them nearest first (a KNN scan), so only the first ``limit`` are read.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit.checks import Violation
from liebian.kit.sql import text
from liebian.stores import rules
from liebian.stores.schemas import NearbyPage, NearbyStore
from liebian.stores.service import COLUMNS, store_out

# The partial index covers open stores only, so the query says ``status = 'open'`` in the same words. The order
# is cube's ``<->`` (straight-line distance through the earth, which ranks exactly as the great-circle distance
# does): the GiST index hands rows out nearest first, so LIMIT stops early instead of sorting every store in the
# circle (thousands in a city centre at a million stores).
NEARBY_SQL = (
    f"SELECT {COLUMNS}, earth_distance(ll_to_earth(:lat, :lng), ll_to_earth(lat, lng)) AS distance_m "
    "FROM stores WHERE shop_id = :s AND status = 'open' "
    "AND earth_box(ll_to_earth(:lat, :lng), :r) @> ll_to_earth(lat, lng) "
    "AND earth_distance(ll_to_earth(:lat, :lng), ll_to_earth(lat, lng)) <= :r "
    "ORDER BY ll_to_earth(lat, lng) <-> ll_to_earth(:lat, :lng) LIMIT :limit"
)


async def nearby(session: AsyncSession, shop_id: int, *, lat: float, lng: float, radius_m: int,
                 coord_system: rules.CoordSystem, limit: int) -> NearbyPage:
    """This shop's open stores within ``radius_m`` of the point, nearest first (closed stores are hidden)."""
    lat, lng = rules.to_wgs84(lat, lng, coord_system)
    rows = await session.execute(text(NEARBY_SQL), {"lat": lat, "lng": lng, "r": float(radius_m), "s": shop_id,
                                                     "limit": limit})
    items = [NearbyStore(**store_out(r).model_dump(), distance_m=round(r.distance_m)) for r in rows]
    return NearbyPage(items=items, radius_m=radius_m)


async def violations(session: AsyncSession) -> list[Violation]:
    """Pickup numbers unique per store and day and never ahead of the day's counter; pickup orders name a store
    of their own shop."""
    found = [Violation("pickup_numbers_unique", f"store {r.store_id} day {r.pickup_day}: number {r.pickup_no} "
                       f"given {r.n} times")
             for r in await session.execute(text(
                 "SELECT store_id, pickup_day, pickup_no, count(*) AS n FROM orders WHERE pickup_no IS NOT NULL "
                 "GROUP BY 1, 2, 3 HAVING count(*) > 1 LIMIT 50"))]
    found += [Violation("pickup_counter_ahead", f"store {r.store_id} day {r.pickup_day}: number {r.top} given, "
                        f"counter at {r.last}")
              for r in await session.execute(text(
                  "SELECT o.store_id, o.pickup_day, max(o.pickup_no) AS top, c.last FROM orders o "
                  "LEFT JOIN store_pickup_counters c ON c.store_id = o.store_id AND c.day = o.pickup_day "
                  "WHERE o.pickup_no IS NOT NULL GROUP BY o.store_id, o.pickup_day, c.last "
                  "HAVING c.last IS NULL OR max(o.pickup_no) > c.last LIMIT 50"))]
    found += [Violation("pickup_store_of_shop", f"shop {r.shop_id} order {r.order_no}: store {r.store_id} is not "
                        "one of its stores")
              for r in await session.execute(text(
                  "SELECT o.shop_id, o.order_no, o.store_id FROM orders o LEFT JOIN stores s ON s.id = o.store_id "
                  "WHERE o.fulfilment = 'pickup' AND (s.id IS NULL OR s.shop_id <> o.shop_id) LIMIT 50"))]
    return found
