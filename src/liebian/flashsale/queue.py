"""Entering a flash sale: ``POST flashsale/campaigns/{id}/entries``.

Without Redis the entry places its order at once, on the PostgreSQL path (the guarded statement of
``stock.quote``): 201 with the order. With Redis the entry is one Lua script (window, units, the customer's
limit, take, enqueue) and the answer is 202 with a ticket; orders are then made from the queue in batches by a
drain — kicked in this process right after the entry, and run by the worker's sweeper for anything left — each
entry in its own savepoint, its id the idempotency key, through the same checkout as ``POST orders``.

A drain holds the campaign's drain lock (``SET NX PX``), reads the head of the queue without removing it,
commits the orders, and only then removes what it drained (fenced by its lock token). A drain that crashes
before removing leaves the entries in the queue; the next one finds their rows and skips them. An entry that
PostgreSQL refuses is recorded as failed and Redis is rebuilt from PostgreSQL (they disagreed).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.flashsale import campaigns, ports, redis_stock
from liebian.flashsale.redis_stock import QUEUED_SET, TRIM, Keys
from liebian.flashsale.schemas import EntryIn, EntryOut
from liebian.flashsale.stock import ENTRY, EntryContext, campaign_of_entry, new_entry_id
from liebian.kit import crypto
from liebian.kit import redis as kit_redis
from liebian.kit.clock import clock
from liebian.kit.db import Database, after_commit
from liebian.kit.errors import NotFound, Problem
from liebian.kit.sql import text
from liebian.shops import service as shops
from liebian.shops.service import ShopRef

log = logging.getLogger(__name__)

BATCH = 100
DRAIN_LOCK_MS = 15_000


def _context(shop_id: int, customer_id: int) -> str:
    return f"flashsale-entry:{shop_id}:{customer_id}"


def entry_not_found() -> NotFound:
    return NotFound("flashsale_entry_not_found", "No such flash-sale entry.")


async def enter(session: AsyncSession, shop: ShopRef, customer_id: int, campaign_id: int, body: EntryIn
                ) -> tuple[int, EntryOut]:
    """(HTTP status, the entry): 202 queued (Redis), or 201 with its order (PostgreSQL)."""
    now = clock.now()
    r = redis_stock.client()
    if r is not None:
        entry_id = new_entry_id(campaign_id)
        # The phone travels sealed through Redis, as orders keep it (liebian.kit.crypto).
        address = crypto.vault().seal_contact(body.address.model_dump(), _context(shop.id, customer_id))
        payload = {"id": entry_id, "c": customer_id, "q": body.quantity, "a": address,
                   "pm": body.payment_method, "t": now.timestamp()}
        try:
            await redis_stock.take(session, r, shop_id=shop.id, campaign_id=campaign_id, customer_id=customer_id,
                                   quantity=body.quantity, now=now, queue_payload=payload)
        except RedisError as exc:
            redis_stock.mark_down(exc)
        else:
            return 202, EntryOut(id=entry_id, campaign_id=campaign_id, status="queued", quantity=body.quantity)
    campaign = await campaigns.get_row(session, shop.id, campaign_id)
    entry = EntryContext(id=new_entry_id(campaign_id), entered_at=now, queued=False)
    session.info[ENTRY] = entry
    try:
        placed = await ports.orders.get().place(
            session, shop, customer_id, campaign_id=campaign_id, sku_id=campaign.sku_id, quantity=body.quantity,
            address=body.address.model_dump(), payment_method=body.payment_method)
    finally:
        session.info.pop(ENTRY, None)
    return 201, EntryOut(id=entry.id, campaign_id=campaign_id, status="ordered", quantity=body.quantity,
                         order_no=placed["order_no"], order=placed)


async def get_entry(session: AsyncSession, shop_id: int, customer_id: int, entry_id: str) -> EntryOut:
    """The ticket: ordered / failed / returned once PostgreSQL decided, queued while it waits in Redis."""
    campaign_id = campaign_of_entry(entry_id)
    if campaign_id is None:
        raise entry_not_found()
    row = (await session.execute(
        text("SELECT id, campaign_id, status, quantity, order_no, failure_code FROM flashsale_entries "
             "WHERE id = :id AND shop_id = :s AND customer_id = :c"),
        {"id": entry_id, "s": shop_id, "c": customer_id})).first()
    if row is not None:
        return EntryOut(id=row.id, campaign_id=row.campaign_id, status=row.status, quantity=row.quantity,
                        order_no=row.order_no, failure_code=row.failure_code)
    r = redis_stock.client()
    if r is not None:
        try:
            raw = await redis_stock.pending_customer(r, campaign_id, entry_id)
        except RedisError as exc:
            redis_stock.mark_down(exc)
            raw = None
        if raw == customer_id:
            await campaigns.get_row(session, shop_id, campaign_id)  # another shop's campaign is not found
            return EntryOut(id=entry_id, campaign_id=campaign_id, status="queued", quantity=0)
    raise entry_not_found()


# --- the drain --------------------------------------------------------------------------------------------


async def drain_batch(session: AsyncSession, r: Redis, campaign_id: int, *, batch: int = BATCH) -> int:
    """Orders for up to ``batch`` queued entries of one campaign, in ``session``'s transaction; the entries leave
    the queue after it commits. Returns how many entries were handled (0: nothing queued, or another drain
    holds the campaign)."""
    keys = Keys(campaign_id)
    token = secrets.token_hex(8)
    if not await r.set(keys.drain_lock, token, nx=True, px=DRAIN_LOCK_MS):
        return 0
    try:
        raw: list[str] = await r.lrange(keys.queue, 0, batch - 1)  # type: ignore[misc]
        if not raw:
            await _trim(r, keys, token, campaign_id, 0, [], invalidate=False)
            return 0
        entries = [json.loads(x) for x in raw]
        refused = await _order_all(session, campaign_id, entries)
    except BaseException:
        await r.eval(redis_stock.RELEASE, 1, keys.drain_lock, token)  # type: ignore[misc]
        raise
    ids = [e["id"] for e in entries]

    async def trim() -> None:
        await _trim(r, keys, token, campaign_id, len(raw), ids, invalidate=refused)

    after_commit(session, trim)
    return len(raw)


async def _trim(r: Redis, keys: Keys, token: str, campaign_id: int, n: int, ids: list[str], *,
                invalidate: bool) -> int:
    result = await r.eval(TRIM, 6, keys.queue, keys.pending, keys.drain_lock, QUEUED_SET,  # type: ignore[misc]
                          keys.state, keys.inval, token, n, campaign_id, "1" if invalidate else "0", *ids)
    return int(result)


async def _order_all(session: AsyncSession, campaign_id: int, entries: list[dict[str, Any]]) -> bool:
    """Each entry not decided yet gets its order in a savepoint; True if PostgreSQL refused one."""
    decided = set((await session.execute(text("SELECT id FROM flashsale_entries WHERE id = ANY(:ids)"),
                                         {"ids": [e["id"] for e in entries]})).scalars())
    row = (await session.execute(text("SELECT shop_id, sku_id FROM flashsale_campaigns WHERE id = :c"),
                                 {"c": campaign_id})).first()
    if row is None:  # cannot happen (campaigns are never deleted); drop the entries rather than loop on them
        return True
    shop = await shops.shop_by_id(session, row.shop_id)
    refused = False
    for e in entries:
        if e["id"] not in decided:
            refused |= not await _order_one(session, shop, campaign_id, row.sku_id, e)
    return refused


async def _order_one(session: AsyncSession, shop: ShopRef, campaign_id: int, sku_id: int, e: dict[str, Any]) -> bool:
    entered_at = datetime.fromtimestamp(float(e["t"]), UTC)
    session.info[ENTRY] = EntryContext(id=e["id"], entered_at=entered_at, queued=True)
    try:
        async with session.begin_nested():
            await ports.orders.get().place(session, shop, int(e["c"]), campaign_id=campaign_id, sku_id=sku_id,
                                           quantity=int(e["q"]), payment_method=e["pm"],
                                           address=crypto.vault().open_contact(e["a"], _context(shop.id, int(e["c"]))))
        return True
    except Exception as exc:
        code = exc.code if isinstance(exc, Problem) else "internal_error"
        if not isinstance(exc, Problem):
            log.exception("flash sale %s: entry %s could not be ordered", campaign_id, e["id"])
        if code == "flashsale_entry_decided":  # another drain ordered it meanwhile
            return True
        await session.execute(
            text("INSERT INTO flashsale_entries (id, shop_id, campaign_id, customer_id, quantity, status, queued, "
                 "failure_code, entered_at, decided_at) VALUES (:id, :s, :c, :cust, :q, 'failed', true, :code, "
                 ":entered, :now) ON CONFLICT (id) DO NOTHING"),
            {"id": e["id"], "s": shop.id, "c": campaign_id, "cust": int(e["c"]), "q": int(e["q"]), "code": code[:40],
             "entered": entered_at, "now": clock.now()})
        return False
    finally:
        session.info.pop(ENTRY, None)


async def sweep_queues(session: AsyncSession, now: datetime) -> int:
    """Worker: one batch of each campaign with queued entries (their drain locks keep drains apart)."""
    r = redis_stock.client()
    if r is None:
        return 0
    try:
        queued = sorted(int(c) for c in await r.smembers(QUEUED_SET))  # type: ignore[misc]
        handled = 0
        for campaign_id in queued:
            handled += await drain_batch(session, r, campaign_id)
            if handled:
                break  # one campaign per transaction: its trim runs after this commit
        return handled
    except RedisError as exc:
        redis_stock.mark_down(exc)
        return 0


# --- the in-process kick ----------------------------------------------------------------------------------


@dataclass
class _Draining:
    again: bool = False
    task: asyncio.Task[None] | None = None


_running: dict[tuple[int, int], _Draining] = {}


def kick(db: Database, campaign_id: int) -> None:
    """Drain this campaign now, in the background of this process (one drain task per campaign; a kick while
    it runs makes it look again before it stops)."""
    r = redis_stock.client()
    if r is None:
        return
    key = (id(db), campaign_id)
    running = _running.get(key)
    if running is not None:
        running.again = True
        return
    state = _running[key] = _Draining()
    state.task = asyncio.get_running_loop().create_task(_drain_loop(db, r, campaign_id, key, state))


async def _drain_loop(db: Database, r: Redis, campaign_id: int, key: tuple[int, int], state: _Draining) -> None:
    try:
        while True:
            state.again = False
            try:
                async with db.unit_of_work() as session:
                    handled = await drain_batch(session, r, campaign_id)
            except Exception:
                log.exception("flash sale %s: drain failed; the worker's sweep will retry", campaign_id)
                return
            if handled == 0 and not state.again:
                if not await r.llen(Keys(campaign_id).queue):  # type: ignore[misc]
                    return
                await asyncio.sleep(0.05)  # another process's drain holds the lock
    finally:
        _running.pop(key, None)


async def stop_drains() -> None:
    """Before the Redis client closes: let running drains finish their batch."""
    tasks = [s.task for s in list(_running.values()) if s.task is not None]
    if tasks:
        await asyncio.wait(tasks, timeout=10)


kit_redis.on_close(stop_drains)
