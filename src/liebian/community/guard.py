"""Who may write in the shop's community: bans, and rate limits per customer per minute and per day.

A rate limit is one guarded upsert over both windows' counter rows (``... DO UPDATE SET hits = hits + 1
WHERE hits < cap RETURNING span``): a row not returned is a window already full. The request then fails with
429 and its transaction rolls back, so the other window's increment is undone too: concurrent writers can
never exceed a cap, and a refused write leaves nothing behind. PostgreSQL alone enforces it (no Redis needed).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.community import rules
from liebian.community.schemas import BanOut
from liebian.customers import service as customers
from liebian.kit.clock import clock
from liebian.kit.errors import Forbidden, TooManyRequests, not_found
from liebian.kit.sql import text

_HIT = text(
    "INSERT INTO community_rate_counters (shop_id, customer_id, action, span, started_at, cap, hits) "
    "VALUES (:s, :c, :a, 'minute', :m, :mcap, 1), (:s, :c, :a, 'day', :d, :dcap, 1) "
    "ON CONFLICT (shop_id, customer_id, action, span, started_at) DO UPDATE "
    "SET hits = community_rate_counters.hits + 1 WHERE community_rate_counters.hits < community_rate_counters.cap "
    "RETURNING span")
KEEP = timedelta(days=2)  # counters of windows older than this are swept


def banned() -> Forbidden:
    return Forbidden("banned_from_community", "The shop has banned you from posting and commenting.")


async def ensure_not_banned(session: AsyncSession, shop_id: int, customer_id: int) -> None:
    row = (await session.execute(text("SELECT 1 FROM community_bans WHERE shop_id = :s AND customer_id = :c"),
                                 {"s": shop_id, "c": customer_id})).first()
    if row is not None:
        raise banned()


async def hit(session: AsyncSession, shop_id: int, customer_id: int, action: rules.Action) -> None:
    """Count one write of ``action``; 429 ``rate_limited`` with ``retry_after`` seconds when a window is full."""
    now = clock.now()
    minute, day = rules.windows(rules.LIMITS[action], now)
    counted = set((await session.execute(_HIT, {
        "s": shop_id, "c": customer_id, "a": action, "m": minute.started_at, "mcap": minute.cap,
        "d": day.started_at, "dcap": day.cap})).scalars())
    refused = [w for w in (minute, day) if w.kind not in counted]
    if refused:
        wait = rules.retry_after(refused, now)
        raise TooManyRequests("rate_limited", f"Too many {action}s: at most {minute.cap} a minute and {day.cap} a "
                              f"day. Try again in {wait} seconds.", retry_after=wait, action=action)


async def writer(session: AsyncSession, shop_id: int, customer_id: int, action: rules.Action) -> None:
    """The gate of every customer write: not banned, within the rate limits."""
    await ensure_not_banned(session, shop_id, customer_id)
    await hit(session, shop_id, customer_id, action)


async def sweep_counters(session: AsyncSession, now: datetime) -> int:
    """Forget windows long over (a day window ends a day after it starts)."""
    rows = await session.execute(text(
        "DELETE FROM community_rate_counters WHERE ctid IN (SELECT ctid FROM community_rate_counters "
        "WHERE started_at < :before LIMIT 1000 FOR UPDATE SKIP LOCKED)"), {"before": now - KEEP})
    return int(getattr(rows, "rowcount", 0) or 0)


# --- bans (console) ----------------------------------------------------------------------------------------

async def ban(session: AsyncSession, shop_id: int, customer_id: int, reason: str | None) -> BanOut:
    person = await customers.get(session, shop_id, customer_id)  # another shop's customer: 404
    row = (await session.execute(text(
        "INSERT INTO community_bans (shop_id, customer_id, reason, banned_at) VALUES (:s, :c, :r, :now) "
        "ON CONFLICT (shop_id, customer_id) DO UPDATE SET reason = coalesce(EXCLUDED.reason, community_bans.reason) "
        "RETURNING reason, banned_at"), {"s": shop_id, "c": customer_id, "r": reason, "now": clock.now()})).one()
    return BanOut(customer_id=customer_id, nickname=person.nickname, reason=row.reason, banned_at=row.banned_at)


async def unban(session: AsyncSession, shop_id: int, customer_id: int) -> None:
    row = (await session.execute(text("DELETE FROM community_bans WHERE shop_id = :s AND customer_id = :c "
                                      "RETURNING customer_id"), {"s": shop_id, "c": customer_id})).first()
    if row is None:
        raise not_found("ban")


async def bans(session: AsyncSession, shop_id: int, *, limit: int, offset: int) -> list[BanOut]:
    rows = (await session.execute(text(
        "SELECT customer_id, reason, banned_at FROM community_bans WHERE shop_id = :s ORDER BY banned_at DESC, "
        "customer_id LIMIT :n OFFSET :o"), {"s": shop_id, "n": limit, "o": offset})).all()
    people = await customers.profiles(session, shop_id, [r.customer_id for r in rows])
    return [BanOut(customer_id=r.customer_id, nickname=people[r.customer_id].nickname if r.customer_id in people
                   else "", reason=r.reason, banned_at=r.banned_at) for r in rows]
