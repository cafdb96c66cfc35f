"""The flash sale's counters in Redis (when ``LIEBIAN_REDIS_URL`` is set): each entry is ONE Lua script that
checks the window, the units left and the customer's limit, takes them and queues the entry — no PostgreSQL on
the way in. PostgreSQL stays the truth: the queue drain takes every unit there again by its guarded statement,
so Redis can never oversell PostgreSQL; at worst Redis turns someone away who could have bought.

Keys of campaign ``C`` (one hash slot, ``{C}``):

- ``state`` (hash): ``left``, ``limit``, ``starts``/``ends`` (ms), ``open``, ``shop``, ``stock``, ``epoch``. Its
  presence is the marker that Redis knows the campaign; when it is missing (first entry, Redis restarted
  without persistence, or PostgreSQL changed behind Redis's back) the next entry rebuilds it from PostgreSQL
  under a ``SET NX`` lock, from PostgreSQL's sold and bought counts plus the entries still in the queue.
- ``bought`` (hash): units per customer; ``queue`` (list) entries waiting for their order; ``pending`` (hash)
  entry id → customer, for the ticket's status; ``inval`` a counter bumped whenever ``state`` is dropped, so a
  rebuild that read before the drop does not write stale numbers.

Anything PostgreSQL does that Redis did not (an unpaid order cancelled, a slot ended, a queued entry refused)
drops ``state``: the next entry rebuilds it from the truth. A take whose PostgreSQL transaction rolls back puts
its units back only if ``state`` is still the one it took from (its ``epoch``), never twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.flashsale import rules
from liebian.kit import redis as kit_redis
from liebian.kit.db import after_commit, after_rollback
from liebian.kit.errors import Conflict, NotFound, ServiceUnavailable
from liebian.kit.sql import text

log = logging.getLogger(__name__)

QUEUED_SET = "liebian:fs:queued"  # campaigns whose queue may hold entries
REBUILD_LOCK_MS = 5000
REBUILD_WAIT_S = 3.0
DOWN_FOR_S = 5.0  # after a connection failure, do without Redis this long (PostgreSQL path)
KEEP_AFTER_END_MS = 24 * 3600 * 1000

ENTER = """
local st = redis.call('HMGET', KEYS[1], 'left', 'limit', 'starts', 'ends', 'open', 'shop', 'epoch')
if not st[1] then return {'rebuild', 0, ''} end
if st[6] ~= ARGV[8] then return {'not_found', 0, ''} end
local now = tonumber(ARGV[1])
if st[5] ~= '1' or now >= tonumber(st[4]) then return {'flashsale_ended', 0, st[7]} end
if now < tonumber(st[3]) then return {'flashsale_not_started', 0, st[7]} end
local q = tonumber(ARGV[3])
local left = tonumber(st[1])
if q > left then return {'flashsale_sold_out', left, st[7]} end
local had = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
if had + q > tonumber(st[2]) then return {'flashsale_limit_reached', left, st[7]} end
redis.call('HINCRBY', KEYS[1], 'left', -q)
redis.call('HINCRBY', KEYS[2], ARGV[2], q)
if ARGV[6] == 'queue' then
  redis.call('RPUSH', KEYS[3], ARGV[5])
  redis.call('HSET', KEYS[4], ARGV[4], ARGV[2])
  redis.call('SADD', KEYS[5], ARGV[7])
end
return {'ok', left - q, st[7]}
"""

SNAPSHOT = """
return {redis.call('GET', KEYS[2]) or '0', redis.call('LRANGE', KEYS[1], 0, -1)}
"""

WRITE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if (redis.call('GET', KEYS[3]) or '0') ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[2])
for i = 11, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[1], 'left', ARGV[2], 'limit', ARGV[3], 'starts', ARGV[4], 'ends', ARGV[5], 'open', ARGV[6],
  'shop', ARGV[7], 'epoch', ARGV[8], 'stock', ARGV[9])
redis.call('PEXPIREAT', KEYS[1], ARGV[10])
if #ARGV > 10 then redis.call('PEXPIREAT', KEYS[2], ARGV[10]) end
return 1
"""

INVALIDATE = """
redis.call('DEL', KEYS[1])
return redis.call('INCR', KEYS[2])
"""

PUT_BACK = """
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return 0 end
redis.call('HINCRBY', KEYS[1], 'left', tonumber(ARGV[3]))
redis.call('HINCRBY', KEYS[2], ARGV[2], -tonumber(ARGV[3]))
return 1
"""

# Only the holder of the drain lock removes what it drained (the head of the queue: entries are only ever
# appended), and only after PostgreSQL committed; it releases the lock in the same step.
TRIM = """
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return -1 end
local n = tonumber(ARGV[2])
if n > 0 then redis.call('LTRIM', KEYS[1], n, -1) end
for i = 5, #ARGV do redis.call('HDEL', KEYS[2], ARGV[i]) end
if ARGV[4] == '1' then
  redis.call('DEL', KEYS[5])
  redis.call('INCR', KEYS[6])
end
local left = redis.call('LLEN', KEYS[1])
if left == 0 then redis.call('SREM', KEYS[4], ARGV[3]) end
redis.call('DEL', KEYS[3])
return left
"""

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Keys:
    campaign_id: int

    def _k(self, name: str) -> str:
        return f"liebian:fs:{{{self.campaign_id}}}:{name}"

    @property
    def state(self) -> str:
        return self._k("state")

    @property
    def bought(self) -> str:
        return self._k("bought")

    @property
    def queue(self) -> str:
        return self._k("queue")

    @property
    def pending(self) -> str:
        return self._k("pending")

    @property
    def inval(self) -> str:
        return self._k("inval")

    @property
    def rebuild_lock(self) -> str:
        return self._k("rebuild")

    @property
    def drain_lock(self) -> str:
        return self._k("drain")


@dataclass(frozen=True)
class Taken:
    left: int
    epoch: str


_down_until = [0.0]  # monotonic time until which Redis is not asked


def client() -> Redis | None:
    """The process's Redis, unless it failed a moment ago (then the PostgreSQL path serves alone)."""
    if time.monotonic() < _down_until[0]:
        return None
    return kit_redis.current()


def mark_down(exc: Exception) -> None:
    _down_until[0] = time.monotonic() + DOWN_FOR_S
    log.warning("Redis unreachable (%s); flash sales run on PostgreSQL alone for %.0f s", exc, DOWN_FOR_S)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def refusal_problem(code: str, left: int = 0) -> Conflict | NotFound:
    if code == "not_found":
        return NotFound("flashsale_not_found", "No such flash sale.")
    details = {"flashsale_not_started": "This flash sale has not started yet.",
               "flashsale_ended": "This flash sale is over.",
               "flashsale_sold_out": "This flash sale has sold out.",
               "flashsale_limit_reached": "You have bought as many as one customer may in this flash sale."}
    if code == "flashsale_sold_out":
        return Conflict(code, details[code], remaining=left)
    return Conflict(code, details.get(code, code))


async def take(session: AsyncSession, r: Redis, *, shop_id: int, campaign_id: int, customer_id: int, quantity: int,
               now: datetime, queue_payload: dict[str, Any] | None) -> Taken:
    """Run the entry script: take ``quantity`` units and the customer's allowance, and queue the entry when
    ``queue_payload`` is given. Rebuilds the counters from PostgreSQL first when Redis does not know the
    campaign. Refusals raise their problem; nothing changes then."""
    keys = Keys(campaign_id)
    payload = json.dumps(queue_payload, ensure_ascii=False, separators=(",", ":")) if queue_payload else ""
    entry_id = queue_payload["id"] if queue_payload else ""
    for _ in range(5):
        code, left, epoch = await r.eval(  # type: ignore[misc]
            ENTER, 5, keys.state, keys.bought, keys.queue, keys.pending, QUEUED_SET, ms(now), customer_id, quantity,
            entry_id, payload, "queue" if queue_payload else "direct", campaign_id, shop_id)
        if code == "ok":
            return Taken(left=int(left), epoch=str(epoch))
        if code != "rebuild":
            raise refusal_problem(str(code), int(left))
        await rebuild(session, r, campaign_id)
    raise ServiceUnavailable("flashsale_busy", "The flash sale is being set up; try again in a moment.")


async def rebuild(session: AsyncSession, r: Redis, campaign_id: int) -> None:
    """Counters from PostgreSQL, by one process at a time (``SET NX``); the others wait for them."""
    keys = Keys(campaign_id)
    token = secrets.token_hex(8)
    if not await r.set(keys.rebuild_lock, token, nx=True, px=REBUILD_LOCK_MS):
        deadline = time.monotonic() + REBUILD_WAIT_S
        # Another process is rebuilding, possibly in another process: poll Redis (no event to wait on).
        while time.monotonic() < deadline and not await r.exists(keys.state):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        return
    try:
        for _ in range(5):
            inval, raw = await r.eval(SNAPSHOT, 2, keys.queue, keys.inval)  # type: ignore[misc]
            queued = [json.loads(x) for x in raw]
            snapshot = await _truth(session, campaign_id, [e["id"] for e in queued])
            if snapshot is None:
                raise NotFound("flashsale_not_found", "No such flash sale.")
            counters = rules.rebuild(snapshot["stock"], snapshot["sold"], snapshot["bought"],
                                     [(int(e["c"]), int(e["q"])) for e in queued if e["id"] not in snapshot["known"]])
            pairs: list[Any] = []
            for customer, units in sorted(counters.bought.items()):
                pairs += [customer, units]
            written = await r.eval(  # type: ignore[misc]
                WRITE, 3, keys.state, keys.bought, keys.inval, inval, counters.left, snapshot["limit"],
                ms(snapshot["starts_at"]), ms(snapshot["ends_at"]), "1" if snapshot["status"] == "active" else "0",
                snapshot["shop_id"], secrets.token_hex(8), snapshot["stock"],
                ms(snapshot["ends_at"]) + KEEP_AFTER_END_MS, *pairs)
            if written != -1:
                return
    finally:
        await r.eval(RELEASE, 1, keys.rebuild_lock, token)  # type: ignore[misc]


async def _truth(session: AsyncSession, campaign_id: int, queued_ids: list[str]) -> dict[str, Any] | None:
    """PostgreSQL's counts in ONE statement (one snapshot): the campaign, its buyers' units and which of the
    queued entries it has already decided (those are counted in ``sold``, not again as queued)."""
    row = (await session.execute(
        text("SELECT c.shop_id, c.stock, c.sold, c.per_customer_limit, c.starts_at, c.ends_at, c.status, "
             "(SELECT coalesce(json_object_agg(b.customer_id, b.bought), '{}') FROM flashsale_buyers b "
             "WHERE b.campaign_id = c.id AND b.bought > 0) AS bought, "
             "(SELECT coalesce(array_agg(e.id), '{}') FROM flashsale_entries e WHERE e.id = ANY(:ids)) AS known "
             "FROM flashsale_campaigns c WHERE c.id = :c"), {"c": campaign_id, "ids": queued_ids})).first()
    if row is None:
        return None
    bought = row.bought if isinstance(row.bought, dict) else json.loads(row.bought)
    return {"shop_id": row.shop_id, "stock": row.stock, "sold": row.sold, "limit": row.per_customer_limit,
            "starts_at": row.starts_at, "ends_at": row.ends_at, "status": row.status,
            "bought": {int(k): int(v) for k, v in bought.items()}, "known": set(row.known)}


def put_back_on_rollback(session: AsyncSession, r: Redis, campaign_id: int, customer_id: int, quantity: int,
                         taken: Taken) -> None:
    """If the order's transaction rolls back (a later refusal, an error), the units taken in Redis go back —
    once, and only into the counters they were taken from."""
    keys = Keys(campaign_id)

    async def put_back() -> None:
        try:
            await r.eval(PUT_BACK, 2, keys.state, keys.bought, taken.epoch, customer_id, quantity)  # type: ignore[misc]
        except RedisError as exc:  # the counters stay low (safe); the next rebuild corrects them
            log.warning("flash sale %s: units not put back in Redis: %s", campaign_id, exc)

    def on_rollback() -> None:
        task = asyncio.get_running_loop().create_task(put_back())
        _background.add(task)
        task.add_done_callback(_background.discard)

    after_rollback(session, on_rollback)


_background: set[asyncio.Task[Any]] = set()


async def invalidate(r: Redis, campaign_ids: Iterable[int]) -> None:
    """PostgreSQL changed behind Redis's back: the next entry rebuilds these campaigns' counters."""
    for campaign_id in campaign_ids:
        keys = Keys(campaign_id)
        await r.eval(INVALIDATE, 2, keys.state, keys.inval)  # type: ignore[misc]


def invalidate_after_commit(session: AsyncSession, campaign_ids: Sequence[int]) -> None:
    r = kit_redis.current()
    if r is None:
        return
    ids = list(campaign_ids)

    async def run() -> None:
        try:
            await invalidate(r, ids)
        except RedisError as exc:
            log.warning("flash sales %s: Redis not told of a change: %s", ids, exc)

    after_commit(session, run)


async def lefts(campaign_ids: Sequence[int]) -> Mapping[int, int]:
    """Units left as Redis counts them (entries still queued hold theirs), for campaigns it knows."""
    r = client()
    if r is None or not campaign_ids:
        return {}
    try:
        async with r.pipeline(transaction=False) as pipe:
            for campaign_id in campaign_ids:
                pipe.hget(Keys(campaign_id).state, "left")
            values = await pipe.execute()
    except RedisError as exc:
        mark_down(exc)
        return {}
    return {c: int(v) for c, v in zip(campaign_ids, values, strict=True) if v is not None}


async def pending_customer(r: Redis, campaign_id: int, entry_id: str) -> int | None:
    value = await r.hget(Keys(campaign_id).pending, entry_id)  # type: ignore[misc]
    return None if value is None else int(value)
