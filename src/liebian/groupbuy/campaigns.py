"""Campaigns: the console creates, changes, lists and closes them; checkout reads them.

A campaign with ``stock`` holds its own units, carved out of the SKU when it is created (so ordinary
orders cannot sell them twice) and given back when it closes or ends; without ``stock`` its orders take
the SKU's stock. Prices, size, ladder and duration never change once created: groups already running
were joined on those terms.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.catalog import service as catalog
from liebian.catalog.reserved import move_campaign_stock
from liebian.groupbuy import rules
from liebian.groupbuy.rules import Tier
from liebian.groupbuy.schemas import (
    CampaignDetail,
    CampaignIn,
    CampaignOut,
    CampaignPage,
    CampaignPatch,
    CampaignState,
    CampaignStats,
    ConsoleCampaignPage,
    TierOut,
)
from liebian.kit.clock import clock
from liebian.kit.db import equal_filters
from liebian.kit.errors import Conflict, Invalid, NotFound
from liebian.kit.sql import text

SWEEP_BATCH = 50
COLUMNS = ("id, shop_id, product_id, sku_id, title, group_size, min_size, group_price_fen, leader_price_fen, "
            "ladder, duration_seconds, starts_at, ends_at, stock, stock_left, per_customer_limit, new_customers_only, "
            "auto_complete_percent, status, created_at, closed_at")


def campaign_not_found() -> NotFound:
    return NotFound("campaign_not_found", "No such group-buy campaign.")


@dataclass(frozen=True)
class CampaignRow:
    """A campaign as the rest of the module uses it."""

    id: int
    shop_id: int
    product_id: int
    sku_id: int
    title: str | None
    group_size: int
    min_size: int
    group_price_fen: int
    leader_price_fen: int | None
    tiers: tuple[Tier, ...]
    has_ladder: bool
    duration_seconds: int
    starts_at: datetime
    ends_at: datetime | None
    stock: int | None
    stock_left: int | None
    per_customer_limit: int | None
    new_customers_only: bool
    auto_complete_percent: int | None
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
    ladder = [Tier(int(t["size"]), int(t["price_fen"])) for t in r.ladder] if r.ladder else None
    return CampaignRow(
        id=r.id, shop_id=r.shop_id, product_id=r.product_id, sku_id=r.sku_id, title=r.title,
        group_size=r.group_size, min_size=r.min_size, group_price_fen=r.group_price_fen,
        leader_price_fen=r.leader_price_fen, tiers=rules.tiers(r.group_size, r.group_price_fen, ladder),
        has_ladder=ladder is not None, duration_seconds=r.duration_seconds, starts_at=r.starts_at, ends_at=r.ends_at,
        stock=r.stock, stock_left=r.stock_left, per_customer_limit=r.per_customer_limit,
        new_customers_only=r.new_customers_only, auto_complete_percent=r.auto_complete_percent, status=r.status,
        created_at=r.created_at, closed_at=r.closed_at)


def out(c: CampaignRow, now: datetime) -> CampaignOut:
    return CampaignOut(
        id=c.id, product_id=c.product_id, sku_id=c.sku_id, title=c.title, status=c.state(now),
        group_size=c.group_size, min_size=c.min_size, group_price_fen=c.group_price_fen,
        leader_price_fen=c.leader_price_fen, free_for_leader=c.leader_price_fen == 0,
        ladder=[TierOut(size=t.size, price_fen=t.price_fen) for t in c.tiers] if c.has_ladder else None,
        duration_seconds=c.duration_seconds, starts_at=c.starts_at, ends_at=c.ends_at, stock=c.stock,
        stock_left=c.stock_left, per_customer_limit=c.per_customer_limit, new_customers_only=c.new_customers_only,
        auto_complete_percent=c.auto_complete_percent, created_at=c.created_at, closed_at=c.closed_at)


async def get_row(session: AsyncSession, shop_id: int, campaign_id: int) -> CampaignRow:
    """One statement; campaigns of other shops are not found."""
    row = (await session.execute(text(f"SELECT {COLUMNS} FROM groupbuy_campaigns WHERE id = :id AND shop_id = :s"),
                                 {"id": campaign_id, "s": shop_id})).first()
    if row is None:
        raise campaign_not_found()
    return row_of(row)


async def rows_by_id(session: AsyncSession, ids: list[int]) -> dict[int, CampaignRow]:
    rows = await session.execute(text(f"SELECT {COLUMNS} FROM groupbuy_campaigns WHERE id = ANY(:ids)"),
                                 {"ids": ids})
    return {r.id: row_of(r) for r in rows}


async def create(session: AsyncSession, shop_id: int, body: CampaignIn) -> CampaignOut:
    now = clock.now()
    ladder = [Tier(t.size, t.price_fen) for t in body.ladder] if body.ladder else None
    problems = rules.campaign_problems(group_size=body.group_size, group_price_fen=body.group_price_fen,
                                       leader_price_fen=body.leader_price_fen, ladder=ladder)
    if problems:
        code = problems[0][0]
        raise Invalid(code, " ".join(detail for c, detail in problems if c == code))
    starts_at = body.starts_at or now
    if body.ends_at is not None and (body.ends_at <= starts_at or body.ends_at <= now):
        raise Invalid("invalid_window", "ends_at must be in the future and after starts_at.")
    sku = (await catalog.skus_for_sale(session, shop_id, [body.sku_id])).get(body.sku_id)
    if sku is None:
        raise Invalid("sku_not_found", f"No SKU {body.sku_id} in this shop.", sku_id=body.sku_id)
    if body.group_price_fen > sku.price_fen:
        raise Invalid("group_price_above_list_price", f"The group price cannot exceed the SKU's price "
                      f"({sku.price_fen} fen).")
    if body.stock is not None and not await catalog.take_stock(session, shop_id, body.sku_id, body.stock):
        raise Conflict("sku_stock_insufficient", f"The SKU has {sku.stock} units; the campaign asks for "
                       f"{body.stock}.", sku_stock=sku.stock)
    tiers = rules.tiers(body.group_size, body.group_price_fen, ladder)
    row = (await session.execute(
        text("INSERT INTO groupbuy_campaigns (shop_id, product_id, sku_id, title, group_size, min_size, "
             "group_price_fen, leader_price_fen, ladder, duration_seconds, starts_at, ends_at, stock, stock_left, "
             "per_customer_limit, new_customers_only, auto_complete_percent, status, created_at) "
             "VALUES (:s, :p, :sku, :title, :size, :min, :price, :leader, CAST(:ladder AS jsonb), :dur, :starts, "
             f":ends, :stock, :stock, :limit, :new, :auto, 'active', :now) RETURNING {COLUMNS}"),
        {"s": shop_id, "p": sku.product_id, "sku": body.sku_id, "title": body.title, "size": body.group_size,
         "min": tiers[0].size, "price": body.group_price_fen, "leader": body.leader_price_fen,
         "ladder": json.dumps([{"size": t.size, "price_fen": t.price_fen} for t in ladder]) if ladder else None,
         "dur": body.duration_seconds, "starts": starts_at, "ends": body.ends_at, "stock": body.stock,
         "limit": body.per_customer_limit, "new": body.new_customers_only, "auto": body.auto_complete_percent,
         "now": now})).one()
    return out(row_of(row), now)


async def update(session: AsyncSession, shop_id: int, campaign_id: int, body: CampaignPatch) -> CampaignOut:
    """Change what can change while groups run: title, end, limit, new-customer rule, auto-completion, stock."""
    now = clock.now()
    current = await get_row(session, shop_id, campaign_id)
    if current.state(now) in ("ended", "closed"):
        raise Conflict("campaign_over", "This campaign is over and can no longer change.")
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    add_stock = changes.pop("add_stock", None)
    ends_at = changes.get("ends_at")
    if ends_at is not None and (ends_at <= now or ends_at <= current.starts_at):
        raise Invalid("invalid_window", "ends_at must be in the future and after starts_at.")
    if changes.get("title", "") is None or changes.get("new_customers_only", False) is None:
        raise Invalid("invalid_field", "title and new_customers_only cannot be null.")
    if changes:
        assignments = ", ".join(f"{name} = :{name}" for name in changes)
        await session.execute(text(f"UPDATE groupbuy_campaigns SET {assignments} WHERE id = :id AND shop_id = :s"),
                              {**changes, "id": campaign_id, "s": shop_id})
    if add_stock:
        await move_campaign_stock(session, "groupbuy_campaigns", campaign_id=current.id, shop_id=current.shop_id,
                                  sku_id=current.sku_id, own_stock=current.own_stock, delta=add_stock)
    return out(await get_row(session, shop_id, campaign_id), now)


async def close(session: AsyncSession, shop_id: int, campaign_id: int) -> CampaignOut:
    """No new groups and no new joins; groups already running finish by their deadline."""
    if not await _finish(session, "closed", "id = :id AND shop_id = :s", {"id": campaign_id, "s": shop_id},
                         wait=True):
        current = await get_row(session, shop_id, campaign_id)
        raise Conflict("campaign_over", f"This campaign is already {current.status}.")
    return out(await get_row(session, shop_id, campaign_id), clock.now())


async def _finish(session: AsyncSession, status: str, where: str, params: dict[str, Any], *,
                  wait: bool = False) -> int:
    """active → closed/ended, its unsold units back to the SKU; the old count is read under the row lock.

    The shop's close waits for an order that holds the row; the sweeper skips it and comes back.
    """
    lock = "FOR UPDATE" if wait else "FOR UPDATE SKIP LOCKED"
    rows = (await session.execute(
        text(f"WITH old AS (SELECT id, stock_left FROM groupbuy_campaigns WHERE {where} AND status = 'active' "
             f"ORDER BY id LIMIT :n {lock}) "
             "UPDATE groupbuy_campaigns c SET status = :status, closed_at = :now, "
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


async def delete(session: AsyncSession, shop_id: int, campaign_id: int) -> None:
    """Only a campaign nobody ever joined can go (groups keep their history); its units go back."""
    try:
        async with session.begin_nested():
            row = (await session.execute(
                text("DELETE FROM groupbuy_campaigns WHERE id = :id AND shop_id = :s RETURNING sku_id, stock_left, "
                     "status"), {"id": campaign_id, "s": shop_id})).first()
    except IntegrityError as exc:  # a group references it (the foreign key decides, even mid-race)
        raise Conflict("campaign_has_groups", "Groups were opened in this campaign; close it instead.") from exc
    if row is None:
        raise campaign_not_found()
    if row.status == "active" and row.stock_left:
        await catalog.return_stock(session, shop_id, [(row.sku_id, row.stock_left)])


async def list_campaigns(
    session: AsyncSession, shop_id: int, *, state: CampaignState | None = None, sku_id: int | None = None,
    product_id: int | None = None, new_customers_only: bool | None = None, public: bool = False,
    limit: int = 20, offset: int = 0,
) -> CampaignPage:
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
    equal_filters(clauses, params, {"sku_id": sku_id, "product_id": product_id,
                                     "new_customers_only": new_customers_only})
    where = " AND ".join(clauses)
    total = int((await session.execute(text(f"SELECT count(*) FROM groupbuy_campaigns WHERE {where}"),
                                       params)).scalar_one())
    rows = await session.execute(
        text(f"SELECT {COLUMNS} FROM groupbuy_campaigns WHERE {where} ORDER BY id DESC LIMIT :limit OFFSET :offset"),
        params)
    return CampaignPage(items=[out(row_of(r), now) for r in rows], total=total, limit=limit, offset=offset)


async def detail(session: AsyncSession, shop_id: int, campaign_id: int) -> CampaignDetail:
    campaign = await get_row(session, shop_id, campaign_id)
    s = (await session.execute(
        text("SELECT count(*) AS groups, count(*) FILTER (WHERE status = 'pending') AS pending, "
             "count(*) FILTER (WHERE status = 'open') AS open, "
             "count(*) FILTER (WHERE status = 'succeeded') AS succeeded, "
             "count(*) FILTER (WHERE status = 'failed') AS failed, count(*) FILTER (WHERE completed_by_shop) AS cbs "
             "FROM groupbuy_groups WHERE campaign_id = :c"), {"c": campaign_id})).one()
    m = (await session.execute(
        text("SELECT count(*) FILTER (WHERE paid_at IS NOT NULL) AS paid, count(*) FILTER (WHERE status = 'refunded') "
             "AS refunded FROM groupbuy_members WHERE campaign_id = :c"), {"c": campaign_id})).one()
    stats = CampaignStats(groups=s.groups, pending=s.pending, open=s.open, succeeded=s.succeeded, failed=s.failed,
                          completed_by_shop=s.cbs, members_paid=m.paid, members_refunded=m.refunded)
    return CampaignDetail(**out(campaign, clock.now()).model_dump(), stats=stats)


async def stats_of(session: AsyncSession, campaign_ids: list[int]) -> dict[int, CampaignStats]:
    """The live counters of many campaigns in two grouped statements (a console page, not one per row)."""
    if not campaign_ids:
        return {}
    groups = {r.campaign_id: r for r in await session.execute(
        text("SELECT campaign_id, count(*) AS groups, count(*) FILTER (WHERE status = 'pending') AS pending, "
             "count(*) FILTER (WHERE status = 'open') AS open, "
             "count(*) FILTER (WHERE status = 'succeeded') AS succeeded, "
             "count(*) FILTER (WHERE status = 'failed') AS failed, count(*) FILTER (WHERE completed_by_shop) AS cbs "
             "FROM groupbuy_groups WHERE campaign_id = ANY(:ids) GROUP BY campaign_id"), {"ids": campaign_ids})}
    members = {r.campaign_id: r for r in await session.execute(
        text("SELECT campaign_id, count(*) FILTER (WHERE paid_at IS NOT NULL) AS paid, "
             "count(*) FILTER (WHERE status = 'refunded') AS refunded FROM groupbuy_members "
             "WHERE campaign_id = ANY(:ids) GROUP BY campaign_id"), {"ids": campaign_ids})}
    found: dict[int, CampaignStats] = {}
    for cid in campaign_ids:
        g, m = groups.get(cid), members.get(cid)
        found[cid] = CampaignStats(
            groups=g.groups if g else 0, pending=g.pending if g else 0, open=g.open if g else 0,
            succeeded=g.succeeded if g else 0, failed=g.failed if g else 0, completed_by_shop=g.cbs if g else 0,
            members_paid=m.paid if m else 0, members_refunded=m.refunded if m else 0)
    return found


async def console_list(session: AsyncSession, shop_id: int, **filters: Any) -> ConsoleCampaignPage:
    """The console's list: :func:`list_campaigns` with each campaign's live counters."""
    page = await list_campaigns(session, shop_id, **filters)
    stats = await stats_of(session, [c.id for c in page.items])
    return ConsoleCampaignPage(items=[CampaignDetail(**c.model_dump(), stats=stats[c.id]) for c in page.items],
                               total=page.total, limit=page.limit, offset=page.offset)
