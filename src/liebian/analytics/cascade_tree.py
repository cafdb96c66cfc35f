"""One cascade drawn as a tree: its shares breadth first, each with its sharer and what came through it.

Four set-based statements whatever the tree's size: the shares of the root (``ix_fission_shares_root``), their
visits (``ix_fission_visits_share``), their paid orders (``ix_fission_attributions_share``) and the sharers'
nicknames. A very big cascade is cut after ``max_nodes`` shares, level by level, so every node shown has its
parent shown; its size and depth are then counted in the database, and its structural virality is the one the
cascade list gives (it needs the whole tree).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.analytics import schemas as out
from liebian.kit.errors import Invalid, NotFound
from liebian.kit.sql import text

MAX_NODES = 2000

_SHARES = text(
    "SELECT id, parent_id, root_id, depth, sharer_id, channel, campaign, target_type, target_id, created_at "
    "FROM fission_shares WHERE shop_id = :shop AND (id = :root OR root_id = :root) ORDER BY depth, id LIMIT :limit")
_SIZE = text("SELECT count(*) + 1 AS size, coalesce(max(depth), 0) AS depth FROM fission_shares "
             "WHERE shop_id = :shop AND root_id = :root")
_VISITS = text(
    "SELECT share_id, count(*) AS visits, count(DISTINCT coalesce('c' || customer_id, 'd' || device_id)) AS people "
    "FROM fission_visits WHERE shop_id = :shop AND share_id = ANY(:ids) GROUP BY share_id")
_ORDERS = text(
    "SELECT a.share_id, count(*) AS orders, sum(o.payable_fen - o.refunded_fen) AS gmv FROM fission_attributions a "
    "JOIN orders o ON o.id = a.order_id AND o.shop_id = a.shop_id "
    "WHERE a.shop_id = :shop AND a.share_id = ANY(:ids) AND o.paid_at IS NOT NULL GROUP BY a.share_id")
_NICKNAMES = text("SELECT id, nickname FROM customers WHERE shop_id = :shop AND id = ANY(:ids)")


async def nicknames(session: AsyncSession, shop_id: int, ids: list[int]) -> dict[int, str]:
    """The console's staff see their customers' nicknames in full (customers only ever see masked ones)."""
    if not ids:
        return {}
    return {r.id: r.nickname for r in (await session.execute(_NICKNAMES, {"shop": shop_id, "ids": ids})).all()}


def _subtree_sizes(nodes: Sequence[Any]) -> dict[int, int]:
    """Each share's subtree size; children come after their parent in breadth-first order."""
    size = {row.id: 1 for row in nodes}
    for row in reversed(nodes):
        if row.parent_id is not None and row.parent_id in size:
            size[row.parent_id] += size[row.id]
    return size


def _virality(sizes: dict[int, int], root: int) -> str | None:
    """Mean distance between two shares: 2·Σ s(n − s) / (n(n − 1)) over the non-root subtrees (see cascades.py)."""
    n = sizes[root]
    if n < 2:
        return None
    pairs = sum(s * (n - s) for share, s in sizes.items() if share != root)
    return f"{2 * pairs / (n * (n - 1)):.4f}"


async def tree(session: AsyncSession, shop_id: int, root_share_id: int, max_nodes: int) -> out.CascadeTree:
    """404 ``share_not_found`` for a share of another shop or none; 422 ``not_a_root`` for a re-share (the
    answer names its root in ``root_share_id``)."""
    params = {"shop": shop_id, "root": root_share_id}
    rows = (await session.execute(_SHARES, {**params, "limit": max_nodes + 1})).all()
    if not rows or rows[0].id != root_share_id:
        # The first row is the root itself (depth 0, the smallest id of its level) unless it is not a root.
        raise NotFound("share_not_found", "No such share in this shop.")
    root = rows[0]
    if root.root_id is not None:
        raise Invalid("not_a_root", "This share re-shares another; its cascade starts at its root.",
                      root_share_id=root.root_id)
    truncated = len(rows) > max_nodes
    rows = rows[:max_nodes]
    ids = [row.id for row in rows]
    visits = {r.share_id: r for r in (await session.execute(_VISITS, {"shop": shop_id, "ids": ids})).all()}
    orders = {r.share_id: r for r in (await session.execute(_ORDERS, {"shop": shop_id, "ids": ids})).all()}
    names = await nicknames(session, shop_id, sorted({row.sharer_id for row in rows if row.sharer_id is not None}))
    sizes = _subtree_sizes(rows)
    if truncated:
        counted = (await session.execute(_SIZE, params)).one()
        size, depth = int(counted.size), int(counted.depth)
    else:
        size, depth = len(rows), max(row.depth for row in rows)
    nodes = [out.TreeNode(
        share_id=row.id, parent_share_id=row.parent_id, depth=row.depth, sharer_id=row.sharer_id,
        nickname=names.get(row.sharer_id) if row.sharer_id is not None else None, channel=row.channel,
        created_at=row.created_at, subtree_size=None if truncated else sizes[row.id],
        visits=int(visits[row.id].visits) if row.id in visits else 0,
        unique_visitors=int(visits[row.id].people) if row.id in visits else 0,
        orders=int(orders[row.id].orders) if row.id in orders else 0,
        gmv_fen=int(orders[row.id].gmv) if row.id in orders else 0) for row in rows]
    return out.CascadeTree(root_share_id=root.id, channel=root.channel, campaign=root.campaign,
                           target_type=root.target_type, target_id=root.target_id, started_at=root.created_at,
                           size=size, depth=depth, virality=None if truncated else _virality(sizes, root.id),
                           truncated=truncated, nodes=nodes)
