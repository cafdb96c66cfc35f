"""Slots: the console creates, lists, reads and ends them; customers list the current and upcoming ones.

A slot's units are its own: carved out of the SKU by a guarded UPDATE when it is created (ordinary orders
cannot sell them twice, and the SKU's stock never goes negative), given back to the SKU when it ends — by the
console or by the sweeper once ``ends_at`` has passed. Units of orders cancelled after the end go to the SKU too
(``stock.give_back``). Two active slots of one SKU never overlap: the exclusion constraint decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.catalog import service as catalog
from liebian.flashsale import redis_stock, rules
from liebian.flashsale.schemas import (
    CampaignIn,
    CampaignOut,
    CampaignPage,
    CampaignPatch,
    CampaignStats,
    ConsoleCampaignDetail,
    ConsoleCampaignOut,
    ConsoleCampaignPage,
)
from liebian.kit.clock import clock
from liebian.kit.errors import Conflict, Invalid, NotFound
from liebian.kit.sql import text

SWEEP_BATCH = 50
COLUMNS = ("id, shop_id, product_id, sku_id, title, price_fen, stock, sold, returned, per_customer_limit, starts_at, "
           "ends_at, status, created_at, ended_at")
ConsoleFilter = Literal["upcoming", "running", "ended"]


def campaign_not_found() -> NotFound:
    return NotFound("flashsale_not_found", "No such flash sale.")


@dataclass(frozen=True)
class CampaignRow:
    id: int
    shop_id: int
    product_id: int
    sku_id: int
    title: str | None
    price_fen: int
    stock: int
    sold: int
    returned: int
    per_customer_limit: int
    starts_at: datetime
    ends_at: datetime
    status: str
    created_at: datetime
    ended_at: datetime | None

    @property
    def open(self) -> bool:
        return self.status == "active"


def row_of(r: Any) -> CampaignRow:
    return CampaignRow(**{name: getattr(r, name) for name in CampaignRow.__dataclass_fields__})


def out(c: CampaignRow, now: datetime, left: int | None = None) -> CampaignOut:
    """``left``: Redis's count, when it has one (it includes entries still queued)."""
    return CampaignOut(**_public(c, now, left))


def console_out(c: CampaignRow, now: datetime, left: int | None = None) -> ConsoleCampaignOut:
    return ConsoleCampaignOut(**_public(c, now, left), sold=c.sold, returned=c.returned, created_at=c.created_at,
                              ended_at=c.ended_at)


def _public(c: CampaignRow, now: datetime, left: int | None) -> dict[str, Any]:
    remaining = (c.stock - c.sold if left is None else min(left, c.stock - c.sold)) if c.open else 0
    to_start, to_end = rules.countdown(now, c.starts_at, c.ends_at)
    return {"id": c.id, "product_id": c.product_id, "sku_id": c.sku_id, "title": c.title, "price_fen": c.price_fen,
            "stock": c.stock, "remaining": max(0, remaining), "per_customer_limit": c.per_customer_limit,
            "starts_at": c.starts_at, "ends_at": c.ends_at, "status": c.status,
            "state": rules.slot_state(now, c.starts_at, c.ends_at, open_=c.open, remaining=remaining),
            "seconds_to_start": to_start, "seconds_to_end": to_end}


async def get_row(session: AsyncSession, shop_id: int, campaign_id: int) -> CampaignRow:
    """One statement; slots of other shops are not found."""
    row = (await session.execute(text(f"SELECT {COLUMNS} FROM flashsale_campaigns WHERE id = :id AND shop_id = :s"),
                                 {"id": campaign_id, "s": shop_id})).first()
    if row is None:
        raise campaign_not_found()
    return row_of(row)


async def create(session: AsyncSession, shop_id: int, body: CampaignIn) -> ConsoleCampaignOut:
    now = clock.now()
    sku = (await catalog.skus_for_sale(session, shop_id, [body.sku_id])).get(body.sku_id)
    if sku is None:
        raise Invalid("sku_not_found", f"No SKU {body.sku_id} in this shop.", sku_id=body.sku_id)
    problems = rules.campaign_problems(price_fen=body.price_fen, list_price_fen=sku.price_fen, stock=body.stock,
                                       per_customer_limit=body.per_customer_limit, starts_at=body.starts_at,
                                       ends_at=body.ends_at, now=now)
    if problems:
        code = problems[0][0]
        raise Invalid(code, " ".join(detail for c, detail in problems if c == code))
    if not await catalog.take_stock(session, shop_id, body.sku_id, body.stock):
        raise Conflict("sku_stock_insufficient", f"The SKU has {sku.stock} units; the slot asks for {body.stock}.",
                       sku_stock=sku.stock)
    try:
        async with session.begin_nested():
            row = (await session.execute(
                text("INSERT INTO flashsale_campaigns (shop_id, product_id, sku_id, title, price_fen, stock, "
                     "per_customer_limit, starts_at, ends_at, status, created_at) VALUES (:s, :p, :sku, :title, "
                     f":price, :stock, :limit, :starts, :ends, 'active', :now) RETURNING {COLUMNS}"),
                {"s": shop_id, "p": sku.product_id, "sku": body.sku_id, "title": body.title, "price": body.price_fen,
                 "stock": body.stock, "limit": body.per_customer_limit, "starts": body.starts_at,
                 "ends": body.ends_at, "now": now})).one()
    except IntegrityError as exc:  # the exclusion constraint: another active slot of this SKU overlaps
        raise Conflict("flashsale_slot_overlaps", "Another flash-sale slot of this SKU overlaps this window; "
                       "slots of one SKU follow each other.") from exc
    return console_out(row_of(row), now)


async def end(session: AsyncSession, shop_id: int, campaign_id: int) -> ConsoleCampaignOut:
    """The shop ends a slot now: no more entries; what it did not sell goes back to the SKU."""
    if not await _finish(session, "id = :id AND shop_id = :s", {"id": campaign_id, "s": shop_id}, wait=True):
        await get_row(session, shop_id, campaign_id)
        raise Conflict("flashsale_ended", "This flash sale has already ended.")
    return console_out(await get_row(session, shop_id, campaign_id), clock.now())


async def _finish(session: AsyncSession, where: str, params: dict[str, Any], *, wait: bool = False) -> int:
    """active → ended in one guarded UPDATE per row (read under its lock), unsold units back to the SKU, then
    Redis is told after commit. The console's end waits for entries holding the row; the sweeper skips it."""
    lock = "FOR UPDATE" if wait else "FOR UPDATE SKIP LOCKED"
    rows = (await session.execute(
        text(f"WITH old AS (SELECT id FROM flashsale_campaigns WHERE {where} AND status = 'active' ORDER BY id "
             f"LIMIT :n {lock}) UPDATE flashsale_campaigns c SET status = 'ended', ended_at = :now, "
             "returned = c.stock - c.sold FROM old WHERE c.id = old.id "
             "RETURNING c.id, c.shop_id, c.sku_id, c.returned"),
        {**params, "now": clock.now(), "n": SWEEP_BATCH})).all()
    by_shop: dict[int, list[tuple[int, int]]] = {}
    for r in rows:
        if r.returned:
            by_shop.setdefault(r.shop_id, []).append((r.sku_id, r.returned))
    for shop_id, units in sorted(by_shop.items()):
        await catalog.return_stock(session, shop_id, units)  # SKUs in id order: sweepers cannot deadlock
    if rows:
        redis_stock.invalidate_after_commit(session, [r.id for r in rows])
    return len(rows)


async def sweep_ended(session: AsyncSession, now: datetime) -> int:
    """Slots whose end has come give their unsold units back."""
    return await _finish(session, "ends_at <= :at", {"at": now})


async def list_public(session: AsyncSession, shop_id: int, *, product_id: int | None, limit: int, offset: int
                      ) -> CampaignPage:
    """Running and upcoming slots, soonest first, with what is left (Redis's count when it keeps one)."""
    now = clock.now()
    clauses = "shop_id = :s AND status = 'active' AND ends_at > :now" + (
        " AND product_id = :p" if product_id is not None else "")
    params = {"s": shop_id, "now": now, "p": product_id, "limit": limit, "offset": offset}
    total = int((await session.execute(text(f"SELECT count(*) FROM flashsale_campaigns WHERE {clauses}"),
                                       params)).scalar_one())
    rows = [row_of(r) for r in await session.execute(
        text(f"SELECT {COLUMNS} FROM flashsale_campaigns WHERE {clauses} ORDER BY starts_at, id "
             "LIMIT :limit OFFSET :offset"), params)]
    left = await redis_stock.lefts([c.id for c in rows])
    return CampaignPage(items=[out(c, now, left.get(c.id)) for c in rows], total=total, limit=limit, offset=offset)


async def list_console(session: AsyncSession, shop_id: int, *, state: ConsoleFilter | None, sku_id: int | None,
                       limit: int, offset: int) -> ConsoleCampaignPage:
    now = clock.now()
    clauses = ["shop_id = :s"]
    params: dict[str, Any] = {"s": shop_id, "now": now, "limit": limit, "offset": offset, "sku": sku_id}
    states = {"upcoming": "status = 'active' AND starts_at > :now",
              "running": "status = 'active' AND starts_at <= :now AND ends_at > :now",
              "ended": "(status = 'ended' OR ends_at <= :now)"}
    if state is not None:
        clauses.append(states[state])
    if sku_id is not None:
        clauses.append("sku_id = :sku")
    where = " AND ".join(clauses)
    total = int((await session.execute(text(f"SELECT count(*) FROM flashsale_campaigns WHERE {where}"),
                                       params)).scalar_one())
    rows = [row_of(r) for r in await session.execute(
        text(f"SELECT {COLUMNS} FROM flashsale_campaigns WHERE {where} ORDER BY starts_at DESC, id DESC "
             "LIMIT :limit OFFSET :offset"), params)]
    left = await redis_stock.lefts([c.id for c in rows])
    return ConsoleCampaignPage(items=[console_out(c, now, left.get(c.id)) for c in rows], total=total, limit=limit,
                               offset=offset)


async def detail(session: AsyncSession, shop_id: int, campaign_id: int) -> ConsoleCampaignDetail:
    campaign = await get_row(session, shop_id, campaign_id)
    s = (await session.execute(
        text("SELECT count(*) FILTER (WHERE status = 'ordered') AS orders, count(*) FILTER (WHERE status = "
             "'returned') AS returned, count(*) FILTER (WHERE status = 'failed') AS failed, "
             "count(DISTINCT customer_id) FILTER (WHERE status = 'ordered') AS buyers "
             "FROM flashsale_entries WHERE campaign_id = :c"),
        {"c": campaign_id})).one()
    left: Mapping[int, int] = await redis_stock.lefts([campaign_id])
    return ConsoleCampaignDetail(
        **console_out(campaign, clock.now(), left.get(campaign_id)).model_dump(),
        stats=CampaignStats(orders=s.orders, returned_orders=s.returned, failed_entries=s.failed, buyers=s.buyers))


# --- console: changes (console-marketing) ---------------------------------------------------------------

_BEFORE_START = ("price_fen", "per_customer_limit", "starts_at")


async def update(session: AsyncSession, shop_id: int, campaign_id: int, body: CampaignPatch) -> ConsoleCampaignOut:
    """Change a slot that has not ended: its title and end; before it starts, also its price, limit and start.

    Units never move here (they were carved out of the SKU when the slot was made). Redis is told after commit
    (its counters hold the window and the limit).
    """
    now = clock.now()
    current = await get_row(session, shop_id, campaign_id)
    if not current.open or current.ends_at <= now:
        raise Conflict("flashsale_ended", "This flash sale has already ended.")
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if any(changes.get(name, 0) is None for name in (*_BEFORE_START, "ends_at")):
        raise Invalid("invalid_field", "price_fen, per_customer_limit, starts_at and ends_at cannot be null.")
    before_start = [name for name in _BEFORE_START if name in changes]
    if before_start and current.starts_at <= now:
        raise Conflict("flashsale_started", "A running slot's price, limit and start can no longer change.",
                       fields=before_start)
    merged: dict[str, Any] = {"price_fen": current.price_fen, "per_customer_limit": current.per_customer_limit,
              "starts_at": current.starts_at, "ends_at": current.ends_at} | changes
    list_price = current.price_fen + 1  # the price was checked when the slot was made; check it again if it moves
    if "price_fen" in changes:
        sku = (await catalog.skus_for_sale(session, shop_id, [current.sku_id])).get(current.sku_id)
        if sku is None:
            raise Invalid("sku_not_found", f"The slot's SKU {current.sku_id} is no longer for sale.")
        list_price = sku.price_fen
    problems = rules.campaign_problems(price_fen=merged["price_fen"], list_price_fen=list_price, stock=current.stock,
                                       per_customer_limit=merged["per_customer_limit"], starts_at=merged["starts_at"],
                                       ends_at=merged["ends_at"], now=now)
    if problems:
        code = problems[0][0]
        raise Invalid(code, " ".join(detail for c, detail in problems if c == code))
    if changes:
        await _apply_changes(session, current, changes, guard_start=bool(before_start), now=now)
    redis_stock.invalidate_after_commit(session, [campaign_id])
    return console_out(await get_row(session, shop_id, campaign_id), now)


async def _apply_changes(session: AsyncSession, current: CampaignRow, changes: dict[str, Any], *, guard_start: bool,
                         now: datetime) -> None:
    """One guarded UPDATE: still open, and not started when the start-sensitive fields move."""
    assignments = ", ".join(f"{name} = :{name}" for name in changes)  # names come from the schema only
    guard = " AND starts_at > :now" if guard_start else ""
    try:
        async with session.begin_nested():
            row = (await session.execute(
                text(f"UPDATE flashsale_campaigns SET {assignments} WHERE id = :id AND shop_id = :s "
                     f"AND status = 'active' AND ends_at > :now{guard} RETURNING id"),
                {**changes, "id": current.id, "s": current.shop_id, "now": now})).first()
    except IntegrityError as exc:  # the exclusion constraint: another active slot of this SKU overlaps
        raise Conflict("flashsale_slot_overlaps", "Another flash-sale slot of this SKU overlaps this window; "
                       "slots of one SKU follow each other.") from exc
    if row is None:
        raise Conflict("flashsale_started", "The slot started or ended meanwhile; reload it.")
