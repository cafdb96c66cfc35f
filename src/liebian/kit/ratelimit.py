"""Fixed-window rate limits: logins, bargain helps, coupon and red-packet claims (shared by every API process,
exact under concurrency), and share visits (counted in each process, which costs no I/O on the hottest path).

A rule is ``<count>/<seconds>`` (``LIEBIAN_LIMIT_*``; ``off`` disables it). A window is the epoch divided
into slices of ``seconds``, read from the injectable clock (the sandbox can move it).

The shared counter lives in Redis when ``LIEBIAN_REDIS_URL`` is set (one Lua ``INCR``/``EXPIRE`` per key),
else in PostgreSQL: one guarded upsert per request, ``INSERT ... ON CONFLICT (key) DO UPDATE SET hits =
CASE WHEN window_start = EXCLUDED.window_start THEN hits + 1 ELSE 1 END RETURNING hits``, in a transaction
of its own (a request that then fails must still have counted). The row lock makes concurrent hits of one
key take distinct counts, so exactly ``count`` of them pass in a window. Keys are stored as hashes: no
email or IP address is kept. A refusal answers 429 with ``Retry-After`` (the seconds left in the window).
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit import audit
from liebian.kit.clock import clock
from liebian.kit.db import Database
from liebian.kit.errors import TooManyRequests
from liebian.kit.sql import text

log = logging.getLogger(__name__)

RULE_NAMES = ("console_login", "customer_login", "visit_customer", "visit_device", "visit_ip", "help_customer",
              "help_ip", "claim_customer", "claim_ip")
_SPEC = re.compile(r"^(off|(\d{1,9})/(\d{1,7}))$")
# For ``responses=`` of a limited route: documented in OpenAPI.
RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {"description": "Over a rate limit: `rate_limited`, with `Retry-After` (seconds)"}}
LOCAL_KEYS_KEPT = 200_000  # the per-process counters forget finished windows beyond this many keys
KEEP_ROWS_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Rule:
    name: str
    limit: int  # 0: off
    window_seconds: int

    @classmethod
    def parse(cls, name: str, spec: str) -> Rule:
        found = _SPEC.match(spec.strip())
        if found is None or (found.group(2) is not None and int(found.group(3)) < 1):
            raise ValueError(f"rate limit {name!r}: {spec!r} is not '<count>/<seconds>' or 'off'")
        if found.group(1) == "off":
            return cls(name, 0, 1)
        return cls(name, int(found.group(2)), int(found.group(3)))

    @property
    def off(self) -> bool:
        return self.limit <= 0

    def window(self, now: float) -> tuple[int, int]:
        """(the window's start, the seconds until it ends, at least 1)."""
        start = int(now // self.window_seconds) * self.window_seconds
        return start, max(1, math.ceil(start + self.window_seconds - now))


@dataclass(frozen=True)
class Verdict:
    rule: Rule
    hits: int
    retry_after: int

    @property
    def allowed(self) -> bool:
        return self.rule.off or self.hits <= self.rule.limit

    @property
    def first_refusal(self) -> bool:
        """The window's first refusal: the one that is audited (an attacker's next thousand are not)."""
        return not self.rule.off and self.hits == self.rule.limit + 1


def _hashed(rule: Rule, key: str) -> str:
    return f"{rule.name}:{hashlib.sha256(key.encode()).hexdigest()[:40]}"


class LocalLimiter:
    """Counters in this process only (no I/O): with N API processes a key may pass N times the limit."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], tuple[int, int]] = {}

    def hit(self, rule: Rule, key: str, now: float) -> int:
        """This key's hits in the current window, this one included (a few dict operations: the visit's path)."""
        start = int(now) // rule.window_seconds * rule.window_seconds
        slot = (rule.name, key)
        seen = self._counts.get(slot)
        if seen is None and len(self._counts) >= LOCAL_KEYS_KEPT:
            self._forget_finished(now)
        hits = seen[1] + 1 if seen is not None and seen[0] == start else 1
        self._counts[slot] = (start, hits)
        return hits

    def _forget_finished(self, now: float) -> None:
        self._counts = {k: v for k, v in self._counts.items() if v[0] + 3600 > now}
        if len(self._counts) >= LOCAL_KEYS_KEPT:  # a flood of distinct keys within the hour
            self._counts.clear()


_REDIS_HIT = """
local out = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, ARGV[i]) end
  out[i] = n
end
return out
"""
_REDIS_GIVE_BACK = "if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then return redis.call('DECR', KEYS[1]) end " \
                   "return 0"
_PG_HIT = text(
    "INSERT INTO kit_rate_limits AS r (key, window_start, hits) "
    "SELECT k, w, 1 FROM unnest(CAST(:keys AS text[]), CAST(:windows AS bigint[])) AS x(k, w) ORDER BY k "
    "ON CONFLICT (key) DO UPDATE SET hits = CASE WHEN r.window_start = EXCLUDED.window_start THEN r.hits + 1 "
    "ELSE 1 END, window_start = EXCLUDED.window_start RETURNING key, hits")
_PG_GIVE_BACK = text("UPDATE kit_rate_limits SET hits = hits - 1 WHERE key = :k AND window_start = :w AND hits > 0")


class SharedLimiter:
    """Counters every API process shares: Redis when there is one (PostgreSQL if it fails), else PostgreSQL."""

    def __init__(self, db: Database, redis: Redis | None) -> None:
        self._db = db
        self._redis = redis

    async def hit(self, checks: Sequence[tuple[Rule, str]]) -> list[Verdict]:
        live = [(rule, key) for rule, key in checks if not rule.off]
        if not live:
            return []
        now = clock.now().timestamp()
        windows = [rule.window(now) for rule, _ in live]
        keys = [_hashed(rule, key) for rule, key in live]
        counts = await self._redis_hits(keys, windows, live) if self._redis is not None else None
        if counts is None:
            async with self._db.unit_of_work() as session:
                rows = (await session.execute(_PG_HIT, {"keys": keys, "windows": [w for w, _ in windows]})).all()
            by_key = {r.key: int(r.hits) for r in rows}
            counts = [by_key[k] for k in keys]
        return [Verdict(rule, hits, left) for (rule, _), hits, (_, left) in zip(live, counts, windows, strict=True)]

    async def _redis_hits(self, keys: list[str], windows: list[tuple[int, int]],
                          live: list[tuple[Rule, str]]) -> list[int] | None:
        assert self._redis is not None
        names = [f"lb:rl:{k}:{w}" for k, (w, _) in zip(keys, windows, strict=True)]
        ttls = [rule.window_seconds + 5 for rule, _ in live]
        try:
            result = await self._redis.eval(_REDIS_HIT, len(names), *names, *ttls)  # type: ignore[misc]
        except (RedisError, OSError) as exc:
            log.warning("rate limits fall back to PostgreSQL: Redis failed (%s)", type(exc).__name__)
            return None
        return [int(n) for n in result]

    async def give_back(self, rule: Rule, key: str) -> None:
        """Uncount one hit of this window (a login that succeeded is not an attempt to guess)."""
        if rule.off:
            return
        start, _ = rule.window(clock.now().timestamp())
        hashed = _hashed(rule, key)
        if self._redis is not None:
            try:
                await self._redis.eval(_REDIS_GIVE_BACK, 1, f"lb:rl:{hashed}:{start}")  # type: ignore[misc]
                return
            except (RedisError, OSError):
                pass
        async with self._db.unit_of_work() as session:
            await session.execute(_PG_GIVE_BACK, {"k": hashed, "w": start})


class RateLimits:
    """The process's rules and limiters (``app.state.rate_limits``)."""

    def __init__(self, specs: Mapping[str, str], db: Database, redis: Redis | None) -> None:
        self.rules = {name: Rule.parse(name, specs[name]) for name in RULE_NAMES}
        self.local = LocalLimiter()
        self.shared = SharedLimiter(db, redis)
        self.db = db


def rate_limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


def client_ip(request: Request) -> str:
    """The peer's address (behind a proxy, uvicorn's ``--forwarded-allow-ips`` makes it the client's)."""
    return request.client.host if request.client is not None else "unknown"


def refused(verdict: Verdict, code: str, what: str) -> TooManyRequests:
    return TooManyRequests(code, f"Too many {what}; try again in {verdict.retry_after} s.",
                           retry_after=verdict.retry_after, limit=verdict.rule.limit,
                           window_seconds=verdict.rule.window_seconds)


def _event(verdict: Verdict, shop_id: int | None, kind: str, actor: str | None, target: str | None) -> audit.Event:
    return audit.Event(shop_id=shop_id, kind=kind, reason=f"limit_{verdict.rule.name}", actor=actor, target=target,
                       details={"limit": verdict.rule.limit, "window_seconds": verdict.rule.window_seconds})


async def enforce(request: Request, checks: Sequence[tuple[str, str | None]], *, shop_id: int | None,
                  actor: str | None, target: str | None, what: str, code: str = "rate_limited",
                  kind: str = audit.RATE_LIMITED) -> None:
    """Count one request against the shared rules named in ``checks`` (a None key is not counted)."""
    limits = rate_limits(request)
    verdicts = await limits.shared.hit([(limits.rules[name], key) for name, key in checks if key is not None])
    await _refuse_if_over(limits, verdicts, shop_id, kind, actor, target, what, code)


def count_local(request: Request, checks: Sequence[tuple[str, str | None]]) -> list[Verdict]:
    """The same against this process's counters (no I/O, for the share visit): the rules it is over, if any."""
    limits = rate_limits(request)
    now = clock.now().timestamp()
    over = []
    for name, key in checks:
        rule = limits.rules[name]
        if key is None or rule.limit <= 0:
            continue
        hits = limits.local.hit(rule, key, now)
        if hits > rule.limit:
            over.append(Verdict(rule, hits, rule.window(now)[1]))
    return over


async def refuse_local(request: Request, verdicts: list[Verdict], *, shop_id: int | None, actor: str | None,
                       target: str | None, what: str) -> None:
    await _refuse_if_over(rate_limits(request), verdicts, shop_id, audit.RATE_LIMITED, actor, target, what,
                          "rate_limited")


async def _refuse_if_over(limits: RateLimits, verdicts: list[Verdict], shop_id: int | None, kind: str,
                          actor: str | None, target: str | None, what: str, code: str) -> None:
    over = [v for v in verdicts if not v.allowed]
    if not over:
        return
    first = [v for v in over if v.first_refusal]
    if first:
        await audit.write(limits.db, [_event(v, shop_id, kind, actor, target) for v in first])
    raise refused(max(over, key=lambda v: v.retry_after), code, what)


async def sweep_old_counters(session: AsyncSession, now: datetime) -> int:
    """Counters of windows long gone (a key not seen for a day)."""
    rows = (await session.execute(text(
        "DELETE FROM kit_rate_limits WHERE ctid = ANY(ARRAY(SELECT ctid FROM kit_rate_limits "
        "WHERE window_start < :before LIMIT 1000 FOR UPDATE SKIP LOCKED)) RETURNING 1"),
        {"before": int(now.timestamp()) - KEEP_ROWS_SECONDS})).all()
    return len(rows)
