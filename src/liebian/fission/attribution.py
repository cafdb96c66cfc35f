"""Order attribution, fixed at placement: which share (and chain, channel, campaign) brought the order.

Precedence: the share code the order carries; else the customer's latest visit through someone else's
share within the shop's window (last touch); else the promoter the customer is bound to. The bound
promoter is recorded in every case, since commissions follow the binding rules.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.events import OrderPlaced
from liebian.fission.shares import SELECT_SHARE, ShareRow, by_code, share_by_id
from liebian.kit.clock import clock
from liebian.kit.errors import not_found
from liebian.kit.sql import text
from liebian.shops import service as shops

_SHARE_FIELDS = ("id", "shop_id", "code", "sharer_id", "target_type", "target_id", "channel", "campaign",
                 "parent_id", "root_id", "depth", "created_at", "root_sharer_id")

# One statement for both candidates: the latest visit through someone else's share within the window,
# and the current binding with the share that made it.
_TOUCHES = text(
    f"SELECT (SELECT row_to_json(x) FROM ({SELECT_SHARE} JOIN fission_visits v ON v.share_id = s.id "
    "WHERE v.shop_id = :shop AND v.customer_id = :c AND v.created_at >= :since "
    "AND v.sharer_id IS DISTINCT FROM :c ORDER BY v.created_at DESC, v.id DESC LIMIT 1) x) AS last_visit, "
    "(SELECT row_to_json(b) FROM (SELECT promoter_id, expires_at, share_id FROM fission_bindings "
    "WHERE shop_id = :shop AND customer_id = :c) b) AS binding")

# Attribution and its analytics fact in one statement.
_RECORD = text(
    "WITH a AS (INSERT INTO fission_attributions (order_id, shop_id, order_no, customer_id, source, share_id, "
    "sharer_id, channel, campaign, root_sharer_id, depth, bound_promoter_id, payable_fen, created_at) "
    "VALUES (:o, :s, :no, :c, :src, :share, :sharer, :ch, :camp, :root, :depth, :bound, :amount, :now) "
    "RETURNING order_id) "
    "INSERT INTO fission_facts (shop_id, at, kind, customer_id, sharer_id, share_id, root_share_id, channel, "
    "target_type, target_id, order_id, amount_fen) SELECT :s, :now, 'order', :c, :sharer, :share, :root_share, :ch, "
    ":tt, :tid, a.order_id, :amount FROM a")


def _share(data: dict[str, Any] | None) -> ShareRow | None:
    if data is None:
        return None
    values = {k: data[k] for k in _SHARE_FIELDS}
    values["created_at"] = datetime.fromisoformat(values["created_at"])
    return ShareRow(**values)


async def _touches(session: AsyncSession, event: OrderPlaced, since: datetime,
                   now: datetime) -> tuple[ShareRow | None, int | None, int | None]:
    """(the last visit's share, the bound promoter, the binding's share id)."""
    row = (await session.execute(_TOUCHES, {"shop": event.shop_id, "c": event.customer_id, "since": since})).one()
    binding = row.binding
    active = binding is not None and (binding["expires_at"] is None
                                      or datetime.fromisoformat(binding["expires_at"]) > now)
    return (_share(row.last_visit), binding["promoter_id"] if active else None,
            binding["share_id"] if active else None)


async def on_order_placed(session: AsyncSession, event: OrderPlaced) -> None:
    """An unknown or other shop's share code fails the order with 404 (nothing is written)."""
    now = clock.now()
    share, source = None, "none"
    if event.share_code is not None:
        share, source = await by_code(session, event.shop_id, event.share_code), "share_code"
        if share.sharer_id == event.customer_id:  # one's own link brings nobody
            share, source = None, "none"
    settings = (await shops.shop_by_id(session, event.shop_id)).settings
    last_visit, bound, binding_share = await _touches(
        session, event, now - timedelta(days=settings.attribution_window_days), now)
    if share is None and last_visit is not None:
        share, source = last_visit, "last_visit"
    if share is None and bound is not None:
        share = await share_by_id(session, binding_share) if binding_share is not None else None
        source = "binding"
    await session.execute(_RECORD, {
        "o": event.order_id, "s": event.shop_id, "no": event.order_no, "c": event.customer_id, "src": source,
        "share": share.id if share else None, "sharer": share.sharer_id if share else bound,
        "ch": share.channel if share else None, "camp": share.campaign if share else None,
        "root": share.root_sharer_id if share else None, "root_share": share.root if share else None,
        "depth": share.depth if share else None, "bound": bound, "amount": event.payable_fen, "now": now,
        "tt": share.target_type if share else None, "tid": share.target_id if share else None})


async def by_order_no(session: AsyncSession, shop_id: int, order_no: str) -> dict[str, Any]:
    row = (await session.execute(
        text("SELECT a.order_no, a.source, a.sharer_id, a.channel, a.campaign, a.root_sharer_id, a.depth, "
             "a.bound_promoter_id, a.payable_fen, a.created_at, s.code AS share_code FROM fission_attributions a "
             "LEFT JOIN fission_shares s ON s.id = a.share_id WHERE a.shop_id = :s AND a.order_no = :no"),
        {"s": shop_id, "no": order_no})).first()
    if row is None:
        raise not_found("order")
    return dict(row._mapping)
