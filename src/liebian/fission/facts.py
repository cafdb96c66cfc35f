"""The append-only facts the analytics module reads: one narrow row per share, visit, binding, order."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit.sql import text

if TYPE_CHECKING:
    from liebian.fission.shares import ShareRow


async def record(session: AsyncSession, *, shop_id: int, kind: str, at: datetime, share: ShareRow | None = None,
                 customer_id: int | None = None, sharer_id: int | None = None, order_id: int | None = None,
                 amount_fen: int | None = None) -> None:
    await session.execute(
        text("INSERT INTO fission_facts (shop_id, at, kind, customer_id, sharer_id, share_id, root_share_id, channel, "
             "target_type, target_id, order_id, amount_fen) VALUES (:s, :at, :k, :c, :sharer, :share, :root, :ch, "
             ":tt, :tid, :o, :a)"),
        {"s": shop_id, "at": at, "k": kind, "c": customer_id, "sharer": sharer_id,
         "share": share.id if share else None, "root": share.root if share else None,
         "ch": share.channel if share else None, "tt": share.target_type if share else None,
         "tid": share.target_id if share else None, "o": order_id, "a": amount_fen},
    )
