"""A promoter's team as the bindings draw it: direct members (bound to the promoter) and the second level
(bound to a direct member). Read-only; distribution's promoter centre and commission rules use it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit.sql import text

_ACTIVE = "(b.expires_at IS NULL OR b.expires_at > :now)"


@dataclass(frozen=True)
class Member:
    customer_id: int
    bound_at: datetime
    via_customer_id: int | None  # for the second level: the direct member they are bound to


def _level_sql(level: int) -> str:
    if level == 1:
        return (f"SELECT b.customer_id, b.bound_at, CAST(NULL AS bigint) AS via FROM fission_bindings b "
                f"WHERE b.shop_id = :s AND b.promoter_id = :p AND {_ACTIVE}")
    if level == 2:
        return (f"SELECT b.customer_id, b.bound_at, d.customer_id AS via FROM fission_bindings d "
                f"JOIN fission_bindings b ON b.shop_id = d.shop_id AND b.promoter_id = d.customer_id "
                f"WHERE d.shop_id = :s AND d.promoter_id = :p AND (d.expires_at IS NULL OR d.expires_at > :now) "
                f"AND {_ACTIVE} AND b.customer_id <> :p")
    raise ValueError("a team has two levels")


async def members(session: AsyncSession, shop_id: int, promoter_id: int, *, level: int, limit: int, offset: int,
                  now: datetime) -> list[Member]:
    rows = await session.execute(
        text(f"{_level_sql(level)} ORDER BY bound_at DESC, customer_id LIMIT :n OFFSET :o"),
        {"s": shop_id, "p": promoter_id, "now": now, "n": limit, "o": offset})
    return [Member(customer_id=r.customer_id, bound_at=r.bound_at, via_customer_id=r.via) for r in rows]


async def count(session: AsyncSession, shop_id: int, promoter_id: int, *, level: int, now: datetime) -> int:
    return int((await session.execute(text(f"SELECT count(*) FROM ({_level_sql(level)}) t"),
                                       {"s": shop_id, "p": promoter_id, "now": now})).scalar_one())


async def counts(session: AsyncSession, shop_id: int, promoter_ids: list[int], *,
                 now: datetime) -> dict[int, tuple[int, int]]:
    """(direct, second-level) team sizes of many promoters in two grouped statements (a console page)."""
    if not promoter_ids:
        return {}
    params = {"s": shop_id, "ids": promoter_ids, "now": now}
    direct = {r.promoter_id: int(r.n) for r in await session.execute(text(
        f"SELECT b.promoter_id, count(*) AS n FROM fission_bindings b WHERE b.shop_id = :s "
        f"AND b.promoter_id = ANY(:ids) AND {_ACTIVE} GROUP BY b.promoter_id"), params)}
    second = {r.promoter_id: int(r.n) for r in await session.execute(text(
        "SELECT d.promoter_id, count(*) AS n FROM fission_bindings d JOIN fission_bindings b "
        "ON b.shop_id = d.shop_id AND b.promoter_id = d.customer_id WHERE d.shop_id = :s "
        "AND d.promoter_id = ANY(:ids) AND (d.expires_at IS NULL OR d.expires_at > :now) "
        f"AND {_ACTIVE} AND b.customer_id <> d.promoter_id GROUP BY d.promoter_id"), params)}
    return {p: (direct.get(p, 0), second.get(p, 0)) for p in promoter_ids}
