"""The flash-sale price source: checkout asks for a quote, and the unit is taken right then, in PostgreSQL by
ONE guarded statement — the campaign's ``sold`` and the customer's units move together or not at all:

    WITH c AS (UPDATE flashsale_campaigns SET sold = sold + :q WHERE id = :c ... AND now within the window
               AND sold + :q <= stock AND :q <= per_customer_limit RETURNING ...),
         b AS (INSERT INTO flashsale_buyers ... SELECT ... FROM c ON CONFLICT (campaign_id, customer_id)
               DO UPDATE SET bought = bought + :q WHERE bought + :q <= limit RETURNING bought)
    SELECT ... FROM c LEFT JOIN b

No row from ``c``: not this shop's, not now, or sold out (one more read says which). A row without ``b``: over
the customer's limit; the transaction rolls back and takes the unit back with it. Never check-then-write.

With Redis configured, an order placed directly (``POST orders``) first takes its unit in Redis by the same Lua
script as an entry (so the two never disagree), then in PostgreSQL; an order made by the queue drain took its
Redis unit when the customer entered, so only PostgreSQL is asked — which is why Redis can never oversell it.

Locks, in the order every path takes them: the order row (cancellation), the entry, the campaign, the SKU
(only after the slot ended), the customer's units.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.catalog import service as catalog
from liebian.flashsale import redis_stock, rules
from liebian.flashsale.campaigns import campaign_not_found
from liebian.kit import outbox
from liebian.kit import redis as kit_redis
from liebian.kit.clock import clock
from liebian.kit.errors import Conflict, Invalid
from liebian.kit.sql import text

KIND = "flashsale"
ENTRY = "flashsale_entry"  # session.info key: the entry an order is being placed for
RESYNC_TOPIC = "flashsale.redis_resync"
GIVE_BACK_TOPIC = "flashsale.give_back"

TAKE = (
    "WITH c AS (UPDATE flashsale_campaigns SET sold = sold + :q WHERE id = :c AND shop_id = :s AND sku_id = :sku "
    "AND status = 'active' AND starts_at <= :at AND ends_at > :at AND sold + :q <= stock "
    "AND :q <= per_customer_limit RETURNING id, price_fen, per_customer_limit), "
    "b AS (INSERT INTO flashsale_buyers (campaign_id, customer_id, shop_id, bought) SELECT c.id, :cust, :s, :q FROM c "
    "ON CONFLICT (campaign_id, customer_id) DO UPDATE SET bought = flashsale_buyers.bought + EXCLUDED.bought "
    "WHERE flashsale_buyers.bought + EXCLUDED.bought <= (SELECT per_customer_limit FROM c) RETURNING bought) "
    "SELECT c.price_fen, c.per_customer_limit, b.bought FROM c LEFT JOIN b ON true")


@dataclass(frozen=True)
class EntryContext:
    """Set in ``session.info[ENTRY]`` while an entry's order is placed: its id (the idempotency key), when the
    customer entered (the window is checked then), and whether it came through the Redis queue."""

    id: str
    entered_at: datetime
    queued: bool


@dataclass(frozen=True)
class OrderRequest:
    """A checkout asking for a flash-sale price (``orders.pricing.PricingContext``)."""

    shop_id: int
    customer_id: int
    now: datetime
    lines: tuple[tuple[int, int, int], ...]  # (sku id, quantity, list price)
    params: dict[str, Any]


@dataclass(frozen=True)
class Priced:
    unit_price_fen: int
    discount_fen: int
    record: dict[str, Any]


def new_entry_id(campaign_id: int) -> str:
    """Unguessable, and names its campaign (a ticket is looked up without a search)."""
    return f"{campaign_id}-{secrets.token_hex(12)}"


def campaign_of_entry(entry_id: str) -> int | None:
    head, _, tail = entry_id.partition("-")
    return int(head) if head.isdigit() and 0 < len(head) <= 19 and len(tail) == 24 else None


async def quote(session: AsyncSession, req: OrderRequest) -> Priced:
    campaign_id = req.params.get("campaign_id")
    if campaign_id is None:
        raise Invalid("campaign_required", "A flash-sale order names its campaign_id.")
    if req.params.get("group_id") is not None or req.params.get("bargain_id") is not None:
        raise Invalid("invalid_promotion", "A flash-sale order takes campaign_id only.")
    if len(req.lines) != 1:
        raise Invalid("flashsale_one_line", "A flash-sale order has exactly one line: the campaign's SKU.")
    sku_id, quantity, list_price = req.lines[0]
    entry: EntryContext | None = session.info.get(ENTRY)
    at = entry.entered_at if entry is not None else req.now
    if entry is None or not entry.queued:
        await _take_in_redis(session, req, campaign_id, quantity)
    price = await _take(session, req, campaign_id, sku_id, quantity, at)
    # Shown as the list price less a discount, so the order says what the flash sale saves.
    unit, discount = (list_price, (list_price - price) * quantity) if price <= list_price else (price, 0)
    return Priced(unit, discount, {"campaign_id": campaign_id, "unit_price_fen": price})


async def _take(session: AsyncSession, req: OrderRequest, campaign_id: int, sku_id: int, quantity: int,
                at: datetime) -> int:
    """The guarded statement; the flash-sale unit price, or the refusal (nothing changed)."""
    row = (await session.execute(text(TAKE), {
        "q": quantity, "c": campaign_id, "s": req.shop_id, "sku": sku_id, "at": at, "cust": req.customer_id,
    })).first()
    if row is not None and row.bought is not None:
        return int(row.price_fen)
    if row is not None:  # the campaign took the unit; the customer's limit did not: the caller's rollback undoes it
        raise redis_stock.refusal_problem("flashsale_limit_reached")
    raise await _why_not(session, req, campaign_id, sku_id, quantity, at)


async def _why_not(session: AsyncSession, req: OrderRequest, campaign_id: int, sku_id: int, quantity: int,
                   at: datetime) -> Exception:
    c = (await session.execute(
        text("SELECT c.sku_id, c.status, c.starts_at, c.ends_at, c.stock - c.sold AS left, c.per_customer_limit, "
             "coalesce((SELECT b.bought FROM flashsale_buyers b WHERE b.campaign_id = c.id AND b.customer_id = :cust),"
             " 0) AS bought FROM flashsale_campaigns c WHERE c.id = :c AND c.shop_id = :s"),
        {"c": campaign_id, "s": req.shop_id, "cust": req.customer_id})).first()
    if c is None:
        return campaign_not_found()
    if c.sku_id != sku_id:
        return Invalid("sku_not_in_campaign", f"This flash sale sells SKU {c.sku_id}.", sku_id=sku_id)
    code = rules.refusal(at, c.starts_at, c.ends_at, open_=c.status == "active", left=c.left, bought=c.bought,
                         limit=c.per_customer_limit, quantity=quantity)
    return redis_stock.refusal_problem(code or "flashsale_sold_out", max(0, c.left))


async def _take_in_redis(session: AsyncSession, req: OrderRequest, campaign_id: int, quantity: int) -> None:
    r = redis_stock.client()
    if r is None:
        return
    try:
        taken = await redis_stock.take(session, r, shop_id=req.shop_id, campaign_id=campaign_id,
                                       customer_id=req.customer_id, quantity=quantity, now=req.now, queue_payload=None)
    except RedisError as exc:  # PostgreSQL decides alone; Redis is rebuilt when it disagrees
        redis_stock.mark_down(exc)
        return
    redis_stock.put_back_on_rollback(session, r, campaign_id, req.customer_id, quantity, taken)


async def on_placed(session: AsyncSession, req: OrderRequest, record: dict[str, Any], *, order_id: int,
                    order_no: str) -> None:
    """The entry row: the order holds its unit. For a queued entry its id is the idempotency key: a second
    drain of the same entry finds it and places nothing (its transaction rolls back)."""
    entry: EntryContext | None = session.info.get(ENTRY)
    entry_id = entry.id if entry is not None else new_entry_id(int(record["campaign_id"]))
    row = (await session.execute(
        text("INSERT INTO flashsale_entries (id, shop_id, campaign_id, customer_id, quantity, status, queued, "
             "order_id, order_no, entered_at, decided_at) VALUES (:id, :s, :c, :cust, :q, 'ordered', :queued, :o, "
             ":no, :entered, :now) ON CONFLICT (id) DO NOTHING RETURNING id"),
        {"id": entry_id, "s": req.shop_id, "c": record["campaign_id"], "cust": req.customer_id,
         "q": req.lines[0][1], "queued": entry is not None and entry.queued, "o": order_id, "no": order_no,
         "entered": entry.entered_at if entry is not None else req.now, "now": req.now})).first()
    if row is None:
        raise Conflict("flashsale_entry_decided", "This entry already has its order.")


async def on_order_cancelled(session: AsyncSession, order_id: int, shop_id: int) -> None:
    """An unpaid order was cancelled: its unit goes back to the slot (to the SKU if the slot has ended) and the
    customer's allowance is freed; Redis is told after commit.

    The unpaid-order sweeper cancels many orders in one transaction and another worker others: waiting here for
    a campaign row that transaction holds could close a cycle. A campaign held elsewhere gets its unit back
    after commit instead, in a transaction of its own (the outbox).
    """
    locked = (await session.execute(
        text("SELECT c.id FROM flashsale_entries e JOIN flashsale_campaigns c ON c.id = e.campaign_id "
             "WHERE e.order_id = :o AND e.status = 'ordered' FOR UPDATE OF c SKIP LOCKED"), {"o": order_id})).first()
    if locked is None:
        held = (await session.execute(text("SELECT 1 FROM flashsale_entries WHERE order_id = :o AND status = "
                                           "'ordered'"), {"o": order_id})).first()
        if held is not None:
            await outbox.enqueue(session, GIVE_BACK_TOPIC, {"order_id": order_id}, shop_id=shop_id,
                                 dedupe_key=f"order:{order_id}")
        return
    await give_back(session, order_id)


async def give_back(session: AsyncSession, order_id: int) -> None:
    """ordered → returned once (the guarded UPDATE on the entry), and the counts with it, in one statement."""
    row = (await session.execute(
        text("WITH e AS (UPDATE flashsale_entries SET status = 'returned', decided_at = :now WHERE order_id = :o "
             "AND status = 'ordered' RETURNING campaign_id, customer_id, quantity), "
             "c AS (UPDATE flashsale_campaigns c SET sold = c.sold - e.quantity, returned = c.returned + "
             "CASE WHEN c.status = 'ended' THEN e.quantity ELSE 0 END FROM e WHERE c.id = e.campaign_id "
             "RETURNING c.id, c.shop_id, c.sku_id, c.status), "
             "b AS (UPDATE flashsale_buyers b SET bought = b.bought - e.quantity FROM e WHERE b.campaign_id = "
             "e.campaign_id AND b.customer_id = e.customer_id RETURNING b.customer_id) "
             "SELECT c.id, c.shop_id, c.sku_id, c.status, e.quantity, (SELECT count(*) FROM b) AS b FROM c, e"),
        {"o": order_id, "now": clock.now()})).first()
    if row is None:
        return
    if row.status == "ended":
        await catalog.return_stock(session, row.shop_id, [(row.sku_id, row.quantity)])
    if kit_redis.current() is not None:
        await outbox.enqueue(session, RESYNC_TOPIC, {"campaign_id": row.id}, shop_id=row.shop_id,
                             dedupe_key=f"order:{order_id}")


async def resync(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Outbox: PostgreSQL gave a unit back; Redis rebuilds this campaign's counters at its next entry."""
    r = kit_redis.current()
    if r is not None:
        await redis_stock.invalidate(r, [int(payload["campaign_id"])])


async def give_back_later(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Outbox: the unit of an order cancelled while its campaign row was busy."""
    await give_back(session, int(payload["order_id"]))
