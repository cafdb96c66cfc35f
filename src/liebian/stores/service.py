"""Stores: the console creates, changes, lists and closes them; other modules ask whether one exists.

``get_store`` and ``store_exists`` are the stable entry points other modules use (campaigns validate a
geo-targeted campaign's store with them; checkout reads the pickup store through :func:`store_for_pickup`).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit.clock import clock
from liebian.kit.errors import Conflict, Invalid, NotFound
from liebian.kit.sql import text
from liebian.stores import rules
from liebian.stores.schemas import HoursIn, HoursOut, StoreIn, StoreOut, StorePage, StorePatch

COLUMNS = "id, shop_id, name, address, lat, lng, phone, hours, pickup, status, share_code, created_at"
MAX_STORES_PER_SHOP = 100_000  # a guard against runaway imports, far above any real chain


def store_not_found() -> NotFound:
    return NotFound("store_not_found", "No such store in this shop.")


def spans(hours: list[Any] | None) -> tuple[rules.Span, ...] | None:
    if hours is None:
        return None
    return tuple(rules.Span(tuple(h["weekdays"]), h["opens"], h["closes"]) for h in hours)


def store_out(row: Row[Any]) -> StoreOut:
    """A store row (with :data:`COLUMNS`) as the API shows it; ``open_now`` at the clock's now."""
    m = row._mapping
    g_lat, g_lng = rules.wgs84_to_gcj02(m["lat"], m["lng"])
    open_now = m["status"] == "open" and rules.open_at(spans(m["hours"]), rules.local_time(clock.now()))
    return StoreOut(id=m["id"], name=m["name"], address=m["address"], lat=m["lat"], lng=m["lng"],
                    gcj02_lat=round(g_lat, 7), gcj02_lng=round(g_lng, 7), phone=m["phone"],
                    hours=[HoursOut(**h) for h in m["hours"]] if m["hours"] is not None else None,
                    pickup=m["pickup"], status=m["status"], open_now=open_now, share_code=m["share_code"],
                    created_at=m["created_at"])


async def _row(session: AsyncSession, shop_id: int, store_id: int, *, lock: bool = False) -> Row[Any]:
    row = (await session.execute(
        text(f"SELECT {COLUMNS} FROM stores WHERE id = :id AND shop_id = :s" + (" FOR UPDATE" if lock else "")),
        {"id": store_id, "s": shop_id})).first()
    if row is None:
        raise store_not_found()
    return row


async def get_store(session: AsyncSession, shop_id: int, store_id: int) -> StoreOut:
    """One store of this shop (closed ones too); another shop's or a missing one raises ``store_not_found``."""
    return store_out(await _row(session, shop_id, store_id))


async def store_exists(session: AsyncSession, shop_id: int, store_id: int) -> bool:
    """Whether this shop has this store (open or closed)."""
    return (await session.execute(text("SELECT 1 FROM stores WHERE id = :id AND shop_id = :s"),
                                  {"id": store_id, "s": shop_id})).first() is not None


async def store_for_pickup(session: AsyncSession, shop_id: int, store_id: int) -> StoreOut:
    """The store a pickup order names: this shop's, open, and offering pickup (read with a share lock so the
    merchant cannot close it between this check and the order's commit)."""
    row = (await session.execute(
        text(f"SELECT {COLUMNS} FROM stores WHERE id = :id AND shop_id = :s FOR SHARE"),
        {"id": store_id, "s": shop_id})).first()
    if row is None:
        raise store_not_found()
    if row.status != "open":
        raise Conflict("store_closed", "This store is closed.")
    if not row.pickup:
        raise Conflict("pickup_not_offered", "This store does not offer pickup.")
    return store_out(row)


def _hours_json(hours: list[HoursIn] | None) -> str | None:
    return json.dumps([h.model_dump() for h in hours]) if hours is not None else None


async def create_store(session: AsyncSession, shop_id: int, body: StoreIn) -> StoreOut:
    lat, lng = rules.to_wgs84(body.lat, body.lng, body.coord_system)
    now = clock.now()
    row = (await session.execute(
        text("INSERT INTO stores (shop_id, name, address, lat, lng, phone, hours, pickup, status, created_at, "
             "updated_at) SELECT :s, :name, :address, :lat, :lng, :phone, CAST(:hours AS jsonb), :pickup, 'open', "
             f":now, :now WHERE (SELECT count(*) FROM stores WHERE shop_id = :s) < :cap RETURNING {COLUMNS}"),
        {"s": shop_id, "name": body.name, "address": body.address, "lat": lat, "lng": lng, "phone": body.phone,
         "hours": _hours_json(body.hours), "pickup": body.pickup, "now": now, "cap": MAX_STORES_PER_SHOP})).first()
    if row is None:
        raise Conflict("too_many_stores", f"A shop can have at most {MAX_STORES_PER_SHOP} stores.")
    return store_out(row)


async def set_share_code(session: AsyncSession, shop_id: int, store_id: int, code: str) -> None:
    await session.execute(text("UPDATE stores SET share_code = :c WHERE id = :id AND shop_id = :s"),
                          {"c": code, "id": store_id, "s": shop_id})


async def patch_store(session: AsyncSession, shop_id: int, store_id: int, body: StorePatch) -> StoreOut:
    changes: dict[str, Any] = {}
    for name in ("name", "address", "phone", "pickup"):
        if name in body.model_fields_set:
            value = getattr(body, name)
            if value is None and name != "phone":
                raise Invalid("invalid_patch", f"{name} cannot be null.")
            changes[name] = value
    if body.lat is not None and body.lng is not None:
        changes["lat"], changes["lng"] = rules.to_wgs84(body.lat, body.lng, body.coord_system)
    if "hours" in body.model_fields_set:
        changes["hours"] = _hours_json(body.hours)
    if body.status is not None:
        changes["status"] = body.status
    sets = [f"{k} = CAST(:{k} AS jsonb)" if k == "hours" else f"{k} = :{k}" for k in changes]
    sets.append("updated_at = :now")
    if "status" in changes:  # closed_at records the last closing; reopening clears it
        sets.append("closed_at = CASE WHEN CAST(:status AS varchar) = 'closed' THEN coalesce(closed_at, :now) END")
    row = (await session.execute(
        text(f"UPDATE stores SET {', '.join(sets)} WHERE id = :id AND shop_id = :s RETURNING {COLUMNS}"),
        {**changes, "now": clock.now(), "id": store_id, "s": shop_id})).first()
    if row is None:
        raise store_not_found()
    return store_out(row)


async def list_stores(session: AsyncSession, shop_id: int, *, status: str | None, limit: int,
                      offset: int, pickup: bool | None = None) -> StorePage:
    where = "shop_id = :s"
    params: dict[str, Any] = {"s": shop_id, "limit": limit, "offset": offset}
    if status is not None:
        where += " AND status = :status"
        params["status"] = status
    if pickup is not None:
        where += " AND pickup = :pickup"
        params["pickup"] = pickup
    rows = (await session.execute(
        text(f"SELECT {COLUMNS}, count(*) OVER () AS total FROM stores WHERE {where} ORDER BY id "
             "LIMIT :limit OFFSET :offset"), params)).all()
    total = rows[0].total if rows else (await session.execute(
        text(f"SELECT count(*) FROM stores WHERE {where}"), params)).scalar_one()
    return StorePage(items=[store_out(r) for r in rows], total=total)
