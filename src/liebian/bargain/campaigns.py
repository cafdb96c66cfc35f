"""Bargain campaigns: the console creates, lists, reads and closes them; bargains and checkout read them.

A campaign with ``stock`` holds its own units, carved out of the SKU when it is created and given back
when it closes or ends; without ``stock`` its orders take the SKU's stock at checkout. Prices, helpers
and duration never change once created: bargains already running were started on those terms. Closing
stops new bargains; running ones go on to their own expiry (their orders then take the SKU's stock).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.bargain import rules
from liebian.bargain.schemas import (
    CampaignDetail,
    CampaignIn,
    CampaignOut,
    CampaignPage,
    CampaignPatch,
    CampaignState,
    CampaignStats,
    ConsoleCampaignPage,
)
from liebian.catalog import service as catalog
from liebian.catalog.reserved import move_campaign_stock
from liebian.kit.clock import clock
from liebian.kit.db import equal_filters
from liebian.kit.errors import Conflict, Invalid, NotFound
from liebian.kit.sql import text

SWEEP_BATCH = 50
COLUMNS = ("id, shop_id, product_id, sku_id, title, start_price_fen, floor_price_fen, helpers_needed, "
           "duration_seconds, starts_at, ends_at, initiations_per_customer, helps_per_helper_per_day, "
           "helps_per_device_per_day, buy_anytime, stock, stock_left, status, created_at, closed_at")


def campaign_not_found() -> NotFound:
    return NotFound("campaign_not_found", "No such bargain campaign.")


@dataclass(frozen=True)
class CampaignRow:
    id: int
    shop_id: int
    product_id: int
    sku_id: int
    title: str | None
    start_price_fen: int
    floor_price_fen: int
    helpers_needed: int
    duration_seconds: int
    starts_at: datetime
    ends_at: datetime | None
    initiations_per_customer: int
    helps_per_helper_per_day: int | None
    helps_per_device_per_day: int | None
    buy_anytime: bool
    stock: int | None
    stock_left: int | None
    status: str
    created_at: datetime
    closed_at: datetime | None

    @property
    def own_stock(self) -> bool:
        return self.stock is not None

    def state(self, now: datetime) -> CampaignState:
        if self.status == "closed":
            return "closed"
        if self.status == "ended" or (self.ends_at is not None and self.ends_at <= now):
            return "ended"
        return "scheduled" if self.starts_at > now else "active"


def row_of(r: Any) -> CampaignRow:
    return CampaignRow(**{name: getattr(r, name) for name in CampaignRow.__dataclass_fields__})


def out(c: CampaignRow, now: datetime) -> CampaignOut:
    fields = {name: getattr(c, name) for name in CampaignOut.model_fields if name != "status"}
    return CampaignOut(**fields, status=c.state(now))


async def get_row(session: AsyncSession, shop_id: int, campaign_id: int) -> CampaignRow:
    """One statement; campaigns of other shops are not found."""
    row = (await session.execute(text(f"SELECT {COLUMNS} FROM bargain_campaigns WHERE id = :id AND shop_id = :s"),
                                 {"id": campaign_id, "s": shop_id})).first()
    if row is None:
        raise campaign_not_found()
    return row_of(row)


async def create(session: AsyncSession, shop_id: int, body: CampaignIn) -> CampaignOut:
    now = clock.now()
    problems = rules.campaign_problems(start_price_fen=body.start_price_fen, floor_price_fen=body.floor_price_fen,
                                       helpers_needed=body.helpers_needed)
    if problems:
        code = problems[0][0]
        raise Invalid(code, " ".join(detail for c, detail in problems if c == code))
    starts_at = body.starts_at or now
    if body.ends_at is not None and (body.ends_at <= starts_at or body.ends_at <= now):
        raise Invalid("invalid_window", "ends_at must be in the future and after starts_at.")
    sku = (await catalog.skus_for_sale(session, shop_id, [body.sku_id])).get(body.sku_id)
    if sku is None:
        raise Invalid("sku_not_found", f"No SKU {body.sku_id} in this shop.", sku_id=body.sku_id)
    if body.start_price_fen > sku.price_fen:
        raise Invalid("start_price_above_list_price", f"The start price cannot exceed the SKU's price "
                      f"({sku.price_fen} fen).", list_price_fen=sku.price_fen)
    if body.stock is not None and not await catalog.take_stock(session, shop_id, body.sku_id, body.stock):
        raise Conflict("sku_stock_insufficient", f"The SKU has {sku.stock} units; the campaign asks for "
                       f"{body.stock}.", sku_stock=sku.stock)
    row = (await session.execute(
        text("INSERT INTO bargain_campaigns (shop_id, product_id, sku_id, title, start_price_fen, floor_price_fen, "
             "helpers_needed, duration_seconds, starts_at, ends_at, initiations_per_customer, "
             "helps_per_helper_per_day, helps_per_device_per_day, buy_anytime, stock, stock_left, status, "
             "created_at) VALUES (:s, :p, :sku, :title, :start, :floor, :helpers, :dur, :starts, :ends, :inits, "
             f":hcap, :dcap, :anytime, :stock, :stock, 'active', :now) RETURNING {COLUMNS}"),
        {"s": shop_id, "p": sku.product_id, "sku": body.sku_id, "title": body.title, "start": body.start_price_fen,
         "floor": body.floor_price_fen, "helpers": body.helpers_needed, "dur": body.duration_seconds,
         "starts": starts_at, "ends": body.ends_at, "inits": body.initiations_per_customer,
         "hcap": body.helps_per_helper_per_day, "dcap": body.helps_per_device_per_day, "anytime": body.buy_anytime,
         "stock": body.stock, "now": now})).one()
    return out(row_of(row), now)


async def close(session: AsyncSession, shop_id: int, campaign_id: int) -> CampaignOut:
    """No new bargains; running ones go on to their expiry; unsold units go back to the SKU."""
    if not await _finish(session, "closed", "id = :id AND shop_id = :s", {"id": campaign_id, "s": shop_id},
                         wait=True):
        current = await get_row(session, shop_id, campaign_id)
        raise Conflict("campaign_over", f"This campaign is already {current.status}.")
    return out(await get_row(session, shop_id, campaign_id), clock.now())


async def _finish(session: AsyncSession, status: str, where: str, params: dict[str, Any], *,
                  wait: bool = False) -> int:
    """active → closed/ended, its unsold units back to the SKU; the old count is read under the row lock.
    The shop's close waits for a checkout that holds the row; the sweeper skips it and comes back."""
    lock = "FOR UPDATE" if wait else "FOR UPDATE SKIP LOCKED"
    rows = (await session.execute(
        text(f"WITH old AS (SELECT id, stock_left FROM bargain_campaigns WHERE {where} AND status = 'active' "
             f"ORDER BY id LIMIT :n {lock}) "
             "UPDATE bargain_campaigns c SET status = :status, closed_at = :now, "
             "stock_left = CASE WHEN c.stock_left IS NULL THEN NULL ELSE 0 END FROM old WHERE c.id = old.id "
             "RETURNING c.shop_id, c.sku_id, old.stock_left AS returned"),
        {**params, "status": status, "now": clock.now(), "n": SWEEP_BATCH})).all()
    by_shop: dict[int, list[tuple[int, int]]] = {}
    for r in rows:
        if r.returned:
            by_shop.setdefault(r.shop_id, []).append((r.sku_id, r.returned))
    for shop_id, units in sorted(by_shop.items()):
        await catalog.return_stock(session, shop_id, units)  # SKUs in id order: sweepers cannot deadlock
    return len(rows)


async def sweep_ended(session: AsyncSession, now: datetime) -> int:
    """Campaigns whose end has come give their unsold units back."""
    return await _finish(session, "ended", "ends_at <= :at", {"at": now})


async def take_unit(session: AsyncSession, campaign_id: int) -> bool:
    """One of the campaign's own units, by one guarded UPDATE; False when none is left (or it stopped)."""
    return (await session.execute(
        text("UPDATE bargain_campaigns SET stock_left = stock_left - 1 WHERE id = :c AND status = 'active' "
             "AND stock_left >= 1 RETURNING id"), {"c": campaign_id})).first() is not None


async def give_back_unit(session: AsyncSession, shop_id: int, campaign_id: int, sku_id: int) -> None:
    """A unit of an order cancelled unpaid: to the campaign while it runs, else to the SKU."""
    back = (await session.execute(
        text("UPDATE bargain_campaigns SET stock_left = stock_left + 1 WHERE id = :c AND status = 'active' "
             "AND stock_left IS NOT NULL RETURNING id"), {"c": campaign_id})).first()
    if back is None:
        await catalog.return_stock(session, shop_id, [(sku_id, 1)])


async def list_campaigns(session: AsyncSession, shop_id: int, *, state: CampaignState | None = None,
                         sku_id: int | None = None, product_id: int | None = None, public: bool = False,
                         limit: int = 20, offset: int = 0) -> CampaignPage:
    now = clock.now()
    clauses = ["shop_id = :s"]
    params: dict[str, Any] = {"s": shop_id, "now": now, "limit": limit, "offset": offset}
    state_clauses = {
        "closed": "status = 'closed'",
        "ended": "(status = 'ended' OR (status = 'active' AND ends_at <= :now))",
        "scheduled": "(status = 'active' AND starts_at > :now)",
        "active": "(status = 'active' AND starts_at <= :now AND (ends_at IS NULL OR ends_at > :now))",
    }
    if public:
        state = "active"
    if state is not None:
        clauses.append(state_clauses[state])
    equal_filters(clauses, params, {"sku_id": sku_id, "product_id": product_id})
    where = " AND ".join(clauses)
    total = int((await session.execute(text(f"SELECT count(*) FROM bargain_campaigns WHERE {where}"),
                                       params)).scalar_one())
    rows = await session.execute(
        text(f"SELECT {COLUMNS} FROM bargain_campaigns WHERE {where} ORDER BY id DESC LIMIT :limit OFFSET :offset"),
        params)
    return CampaignPage(items=[out(row_of(r), now) for r in rows], total=total, limit=limit, offset=offset)


async def detail(session: AsyncSession, shop_id: int, campaign_id: int) -> CampaignDetail:
    now = clock.now()
    campaign = await get_row(session, shop_id, campaign_id)
    s = (await session.execute(
        text("SELECT count(*) AS bargains, "
             "count(*) FILTER (WHERE status = 'active' AND expires_at > :now) AS active, "
             "count(*) FILTER (WHERE status = 'complete' AND expires_at > :now) AS complete, "
             "count(*) FILTER (WHERE status = 'ordered') AS ordered, "
             "count(*) FILTER (WHERE status = 'expired' OR (status IN ('active', 'complete') "
             "AND expires_at <= :now)) AS expired, coalesce(sum(help_count), 0) AS helps "
             "FROM bargain_bargains WHERE campaign_id = :c"), {"c": campaign_id, "now": now})).one()
    return CampaignDetail(**out(campaign, now).model_dump(), stats=CampaignStats(
        bargains=s.bargains, active=s.active, complete=s.complete, ordered=s.ordered, expired=s.expired,
        helps=int(s.helps)))


# --- console: changes and the live list (console-marketing) -----------------------------------------------

_NOT_NULL = ("title", "initiations_per_customer", "buy_anytime")


async def update(session: AsyncSession, shop_id: int, campaign_id: int, body: CampaignPatch) -> CampaignOut:
    """Change what can change while bargains run: title, end, limits, buy-anytime (new bargains), stock.

    The daily help caps may be cleared with an explicit null (no cap); prices, helpers and duration never change.
    """
    now = clock.now()
    current = await get_row(session, shop_id, campaign_id)
    if current.state(now) in ("ended", "closed"):
        raise Conflict("campaign_over", "This campaign is over and can no longer change.")
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    add_stock = changes.pop("add_stock", None)
    if any(name in changes and changes[name] is None for name in _NOT_NULL):
        raise Invalid("invalid_field", "title, initiations_per_customer and buy_anytime cannot be null.")
    if "ends_at" in changes:
        ends_at = changes["ends_at"]
        if ends_at is not None and (ends_at <= now or ends_at <= current.starts_at):
            raise Invalid("invalid_window", "ends_at must be in the future and after starts_at.")
    if changes:
        assignments = ", ".join(f"{name} = :{name}" for name in changes)  # names come from the schema only
        await session.execute(text(f"UPDATE bargain_campaigns SET {assignments} WHERE id = :id AND shop_id = :s"),
                              {**changes, "id": campaign_id, "s": shop_id})
    if add_stock:
        await move_campaign_stock(session, "bargain_campaigns", campaign_id=current.id, shop_id=current.shop_id,
                                  sku_id=current.sku_id, own_stock=current.own_stock, delta=add_stock)
    return out(await get_row(session, shop_id, campaign_id), now)


async def stats_of(session: AsyncSession, campaign_ids: list[int]) -> dict[int, CampaignStats]:
    """The live counters of many campaigns in one grouped statement (as :func:`detail` counts one)."""
    if not campaign_ids:
        return {}
    rows = {r.campaign_id: r for r in await session.execute(
        text("SELECT campaign_id, count(*) AS bargains, "
             "count(*) FILTER (WHERE status = 'active' AND expires_at > :now) AS active, "
             "count(*) FILTER (WHERE status = 'complete' AND expires_at > :now) AS complete, "
             "count(*) FILTER (WHERE status = 'ordered') AS ordered, "
             "count(*) FILTER (WHERE status = 'expired' OR (status IN ('active', 'complete') "
             "AND expires_at <= :now)) AS expired, coalesce(sum(help_count), 0) AS helps "
             "FROM bargain_bargains WHERE campaign_id = ANY(:ids) GROUP BY campaign_id"),
        {"ids": campaign_ids, "now": clock.now()})}
    empty = CampaignStats(bargains=0, active=0, complete=0, ordered=0, expired=0, helps=0)
    return {cid: CampaignStats(bargains=r.bargains, active=r.active, complete=r.complete, ordered=r.ordered,
                               expired=r.expired, helps=int(r.helps)) if (r := rows.get(cid)) else empty
            for cid in campaign_ids}


async def console_list(session: AsyncSession, shop_id: int, **filters: Any) -> ConsoleCampaignPage:
    """The console's list: :func:`list_campaigns` with each campaign's live counters."""
    page = await list_campaigns(session, shop_id, **filters)
    stats = await stats_of(session, [c.id for c in page.items])
    return ConsoleCampaignPage(items=[CampaignDetail(**c.model_dump(), stats=stats[c.id]) for c in page.items],
                               total=page.total, limit=page.limit, offset=page.offset)
