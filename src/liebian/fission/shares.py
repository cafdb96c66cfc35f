"""Share codes: create one (a root, or a re-share under the share one arrived through), look one up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.fission import facts, rules
from liebian.kit.clock import clock
from liebian.kit.db import DriverConnection
from liebian.kit.errors import Invalid, NotFound
from liebian.kit.sql import text

TargetCheck = Callable[[AsyncSession, int, int], Awaitable[bool]]
_target_checks: dict[str, TargetCheck] = {}


def register_target(target_type: str, check: TargetCheck) -> None:
    """A module that owns a target kind says which ids exist (products now; groups, stores... later)."""
    _target_checks[target_type] = check


@dataclass(frozen=True)
class ShareRow:
    id: int
    shop_id: int
    code: str
    sharer_id: int | None
    target_type: str
    target_id: int
    channel: str
    campaign: str | None
    parent_id: int | None
    root_id: int | None
    depth: int
    created_at: datetime
    root_sharer_id: int | None  # who started the chain (the sharer itself for a root share)

    @property
    def root(self) -> int:
        return self.root_id or self.id


_COLUMNS = ("id, shop_id, code, sharer_id, target_type, target_id, channel, campaign, parent_id, root_id, depth, "
            "created_at")
# For reads: the share ``s`` with its root's sharer (join ``fission_shares r ON r.id = s.root_id``).
SELECT_SHARE = ("SELECT s.id, s.shop_id, s.code, s.sharer_id, s.target_type, s.target_id, s.channel, s.campaign, "
                "s.parent_id, s.root_id, s.depth, s.created_at, coalesce(r.sharer_id, s.sharer_id) AS root_sharer_id "
                "FROM fission_shares s LEFT JOIN fission_shares r ON r.id = s.root_id")


def share_not_found() -> NotFound:
    return NotFound("share_not_found", "No share with this code in this shop.")


_SHARE_BY_CODE = f"{SELECT_SHARE} WHERE s.code = $1 AND s.shop_id = $2"


async def by_code(session: AsyncSession, shop_id: int, code: str) -> ShareRow:
    """Malformed, unknown and other shops' codes all answer the same 404."""
    if not rules.is_code(code):
        raise share_not_found()
    row = (await (await session.connection()).exec_driver_sql(_SHARE_BY_CODE, (code, shop_id))).first()
    if row is None:
        raise share_not_found()
    return ShareRow(**row._mapping)


async def by_code_on(conn: DriverConnection, shop_id: int, code: str) -> ShareRow:
    """The same, on a hot path's driver connection."""
    if not rules.is_code(code):
        raise share_not_found()
    row = await conn.fetchrow(_SHARE_BY_CODE, code, shop_id)
    if row is None:
        raise share_not_found()
    return ShareRow(**row)


async def share_by_id(session: AsyncSession, share_id: int) -> ShareRow:
    row = (await session.execute(text(f"{SELECT_SHARE} WHERE s.id = :id"), {"id": share_id})).one()
    return ShareRow(**row._mapping)


async def _check_target(session: AsyncSession, shop_id: int, target_type: str, target_id: int) -> None:
    check = _target_checks.get(target_type)
    if target_type == rules.TargetType.SHOP:
        if target_id not in (0, shop_id):
            raise Invalid("invalid_target", "A shop share targets this shop (target_id 0 or the shop's id).")
        return
    if target_id <= 0 or (check is not None and not await check(session, shop_id, target_id)):
        raise NotFound("target_not_found", f"No {target_type} {target_id} in this shop.")


async def _parent(session: AsyncSession, shop_id: int, parent_code: str, sharer_id: int | None,
                  target_type: str, target_id: int) -> ShareRow:
    """A re-share hangs under a share its author really arrived through: a forged code cannot graft a
    share onto someone else's tree."""
    parent = await by_code(session, shop_id, parent_code)
    if (parent.target_type, parent.target_id) != (target_type, target_id):
        raise Invalid("parent_target_mismatch", "A re-share must share the same thing as its parent.")
    visited = sharer_id is not None and (await session.execute(
        text("SELECT 1 FROM fission_visits WHERE shop_id = :s AND share_id = :p AND customer_id = :c LIMIT 1"),
        {"s": shop_id, "p": parent.id, "c": sharer_id})).first() is not None
    if not visited:
        raise Invalid("parent_not_visited", "You can only re-share a share you opened.")
    return parent


async def create(session: AsyncSession, *, shop_id: int, sharer_id: int | None, target_type: str, target_id: int,
                 channel: str, campaign: str | None, parent_code: str | None) -> ShareRow:
    await _check_target(session, shop_id, target_type, target_id)
    target_id = shop_id if target_type == rules.TargetType.SHOP else target_id
    parent = (await _parent(session, shop_id, parent_code, sharer_id, target_type, target_id)
              if parent_code else None)
    now = clock.now()
    for _ in range(5):  # a collision of 10 random base62 characters is astronomically rare; retry anyway
        row = (await session.execute(
            text("INSERT INTO fission_shares (shop_id, code, sharer_id, target_type, target_id, channel, campaign, "
                 "parent_id, root_id, depth, created_at) VALUES (:s, :code, :sharer, :tt, :tid, :ch, :camp, :parent, "
                 f":root, :depth, :now) ON CONFLICT (code) DO NOTHING RETURNING {_COLUMNS}"),
            {"s": shop_id, "code": rules.new_code(), "sharer": sharer_id, "tt": target_type, "tid": target_id,
             "ch": channel, "camp": campaign, "parent": parent.id if parent else None,
             "root": parent.root if parent else None, "depth": parent.depth + 1 if parent else 0, "now": now},
        )).first()
        if row is not None:
            root_sharer = parent.root_sharer_id if parent else sharer_id
            share = ShareRow(**row._mapping, root_sharer_id=root_sharer)
            await facts.record(session, shop_id=shop_id, kind="share", at=now, sharer_id=sharer_id, share=share)
            return share
    raise RuntimeError("could not draw an unused share code")
