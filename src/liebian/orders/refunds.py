"""After-sales refunds: a request holds the order in 'refunding'; approval moves the money."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.catalog import service as catalog
from liebian.events import OrderCancelled, OrderRefunded, RefundSucceeded
from liebian.kit.clock import clock
from liebian.kit.db import equal_filters
from liebian.kit.errors import Conflict, Invalid, not_found
from liebian.kit.events import bus
from liebian.kit.sql import text
from liebian.ledger import service as ledger
from liebian.ledger.rules import CUSTOMER_PREPAYMENTS, REVENUE
from liebian.orders.rules import REFUNDABLE_STATUSES, spread_refund
from liebian.payments import service as payments
from liebian.shops.service import ShopRef, shop_by_id


async def _locked_order(session: AsyncSession, shop_id: int, order_id: int) -> Row[Any] | None:
    return (await session.execute(
        text("SELECT id, order_no, status, customer_id, payable_fen, refunded_fen, paid_at, completed_at, promotion, "
             "fulfilment_hold FROM orders WHERE id = :id AND shop_id = :s FOR UPDATE"),
        {"id": order_id, "s": shop_id})).first()


async def request_refund(
    session: AsyncSession, shop: ShopRef, order_id: int, *, amount_fen: int | None, reason: str,
    customer_id: int | None, approve: bool = False,
) -> int:
    """Open a refund request (customer) or refund at once (shop, ``approve=True``); returns its id."""
    order = await _locked_order(session, shop.id, order_id)
    if order is None or (customer_id is not None and order.customer_id != customer_id):
        raise not_found("order")
    if order.fulfilment_hold is not None:
        # Its promotion decides first (a group that fails refunds everyone in full, automatically).
        raise Conflict("order_on_hold", f"This order is held by its promotion ({order.fulfilment_hold}), which "
                       "refunds it in full by itself if it does not complete.", hold=order.fulfilment_hold)
    return await _open_request(session, shop, order, amount_fen=amount_fen, reason=reason,
                               by_customer=customer_id is not None, approve=approve)


async def _open_request(session: AsyncSession, shop: ShopRef, order: Row[Any], *, amount_fen: int | None,
                        reason: str, by_customer: bool, approve: bool, lift_hold: bool = False) -> int:
    order_id = order.id
    if order.status == "refunding":
        raise Conflict("refund_in_progress", "This order already has an open refund request.")
    if order.status not in REFUNDABLE_STATUSES or order.paid_at is None:
        raise Conflict("order_not_refundable", f"An order in status '{order.status}' cannot be refunded.")
    window = timedelta(days=shop.settings.refund_window_days)
    if by_customer and order.completed_at is not None and clock.now() > order.completed_at + window:
        raise Conflict("refund_window_closed", "The after-sales window for this order has closed.")
    refundable = order.payable_fen - order.refunded_fen
    amount = refundable if amount_fen is None else amount_fen
    if refundable <= 0:
        raise Conflict("nothing_to_refund", "This order has nothing left to refund.")
    if amount > refundable:
        raise Invalid("refund_amount_too_large", f"At most {refundable} fen can be refunded.",
                      refundable_fen=refundable)
    now = clock.now()
    try:
        async with session.begin_nested():
            request_id = (await session.execute(
                text("INSERT INTO refund_requests (shop_id, order_id, customer_id, amount_fen, reason, status, "
                     "initiated_by, created_at, decided_at) VALUES (:s, :o, :c, :a, :r, :st, :by, :now, :dec) "
                     "RETURNING id"),
                {"s": shop.id, "o": order_id, "c": order.customer_id, "a": amount, "r": reason,
                 "st": "approved" if approve else "pending", "by": "customer" if by_customer else "shop",
                 "now": now, "dec": now if approve else None})).scalar_one()
    except IntegrityError as exc:
        raise Conflict("refund_in_progress", "This order already has an open refund request.") from exc
    await session.execute(
        text("UPDATE orders SET status_before_refund = status, status = 'refunding', "
             "fulfilment_hold = CASE WHEN :lift THEN NULL ELSE fulfilment_hold END WHERE id = :id"),
        {"id": order_id, "lift": lift_hold})
    if approve:
        await payments.start_refund(session, shop_id=shop.id, order_id=order_id, amount_fen=amount,
                                    reason=reason, refund_request_id=request_id)
    return int(request_id)


async def refund_for_promotion(session: AsyncSession, shop_id: int, order_id: int, *, amount_fen: int | None,
                               reason: str) -> None:
    """A promotion gives money back on its own terms, at once, whatever its hold says: everything when its
    group failed (``amount_fen=None``; the hold goes with it), or a price difference when a ladder group
    closed at a lower tier. An order that cost nothing (a free leader's) has nothing to refund: it is
    cancelled instead."""
    order = await _locked_order(session, shop_id, order_id)
    if order is None:
        raise not_found("order")
    if amount_fen is None and order.payable_fen == 0 and order.status == "paid":
        await _cancel_free_order(session, shop_id, order, reason)
        return
    shop = await shop_by_id(session, shop_id)
    await _open_request(session, shop, order, amount_fen=amount_fen, reason=reason, by_customer=False,
                        approve=True, lift_hold=amount_fen is None)


async def _cancel_free_order(session: AsyncSession, shop_id: int, order: Row[Any], reason: str) -> None:
    await session.execute(
        text("UPDATE orders SET status = 'cancelled', cancelled_at = :now, cancel_reason = :r, fulfilment_hold = NULL "
             "WHERE id = :id"), {"now": clock.now(), "r": reason[:50], "id": order.id})
    if not (order.promotion or {}).get("own_stock", False):
        lines = await session.execute(text("SELECT sku_id, quantity FROM order_lines WHERE order_id = :o"),
                                      {"o": order.id})
        await catalog.return_stock(session, shop_id, [(r.sku_id, r.quantity) for r in lines])
    await bus.publish(session, OrderCancelled(shop_id=shop_id, order_id=order.id, order_no=order.order_no,
                                              customer_id=order.customer_id, reason=reason, promotion=order.promotion))


async def approve(session: AsyncSession, shop_id: int, request_id: int) -> None:
    row = (await session.execute(
        text("UPDATE refund_requests SET status = 'approved', decided_at = :now WHERE id = :id AND shop_id = :s "
             "AND status = 'pending' RETURNING order_id, amount_fen, reason"),
        {"now": clock.now(), "id": request_id, "s": shop_id})).first()
    if row is None:
        await _explain_not_pending(session, shop_id, request_id)
        return
    await payments.start_refund(session, shop_id=shop_id, order_id=row.order_id, amount_fen=row.amount_fen,
                                reason=row.reason, refund_request_id=request_id)


async def reject(session: AsyncSession, shop_id: int, request_id: int, reason: str) -> None:
    row = (await session.execute(
        text("UPDATE refund_requests SET status = 'rejected', decided_at = :now, reject_reason = :r "
             "WHERE id = :id AND shop_id = :s AND status = 'pending' RETURNING order_id"),
        {"now": clock.now(), "r": reason, "id": request_id, "s": shop_id})).first()
    if row is None:
        await _explain_not_pending(session, shop_id, request_id)
        return
    await session.execute(
        text("UPDATE orders SET status = status_before_refund, status_before_refund = NULL "
             "WHERE id = :id AND status = 'refunding'"), {"id": row.order_id})


async def _explain_not_pending(session: AsyncSession, shop_id: int, request_id: int) -> None:
    status = (await session.execute(
        text("SELECT status FROM refund_requests WHERE id = :id AND shop_id = :s"),
        {"id": request_id, "s": shop_id})).scalar()
    if status is None:
        raise not_found("refund_request")
    raise Conflict("refund_request_decided", f"This refund request is already {status}.")


async def on_refund_succeeded(session: AsyncSession, event: RefundSucceeded) -> None:
    """Money went back: spread it over lines, settle the request, move the order on."""
    order = (await session.execute(
        text("UPDATE orders SET refunded_fen = refunded_fen + :a WHERE id = :id AND shop_id = :s "
             "RETURNING order_no, customer_id, status, status_before_refund, payable_fen, refunded_fen, promotion"),
        {"a": event.amount_fen, "id": event.order_id, "s": event.shop_id})).one()
    line_amounts = await _spread_over_lines(session, event.order_id, event.amount_fen)
    if event.refund_request_id is not None:
        await session.execute(
            text("UPDATE refund_requests SET status = 'succeeded', succeeded_at = :now WHERE id = :id"),
            {"now": clock.now(), "id": event.refund_request_id})
    fully = order.refunded_fen >= order.payable_fen
    if order.status == "refunding":
        next_status = "refunded" if fully else order.status_before_refund
        await session.execute(
            text("UPDATE orders SET status = :st, status_before_refund = NULL WHERE id = :id"),
            {"st": next_status, "id": event.order_id})
    if order.status_before_refund == "completed" or order.status == "completed":
        # Revenue was recognised at completion: take back the refunded part.
        await ledger.post(session, shop_id=event.shop_id, kind="revenue_reversal", ref=event.out_refund_no,
                          order_id=event.order_id,
                          legs=[(REVENUE, event.amount_fen), (CUSTOMER_PREPAYMENTS, -event.amount_fen)])
    await bus.publish(session, OrderRefunded(
        shop_id=event.shop_id, order_id=event.order_id, order_no=order.order_no, customer_id=order.customer_id,
        amount_fen=event.amount_fen, refunded_total_fen=order.refunded_fen, fully_refunded=fully,
        line_amounts=tuple(line_amounts), promotion=order.promotion))


async def _spread_over_lines(session: AsyncSession, order_id: int, amount_fen: int) -> list[tuple[int, int]]:
    lines = (await session.execute(
        text("SELECT id, payable_fen - refunded_fen AS left FROM order_lines WHERE order_id = :o ORDER BY line_no"),
        {"o": order_id})).all()
    goods_left = sum(r.left for r in lines)
    # Shipping is refunded last: lines first, up to what they can take.
    parts = spread_refund(min(amount_fen, goods_left), [r.left for r in lines]) if goods_left else []
    pairs = [(r.id, part) for r, part in zip(lines, parts, strict=True) if part]
    if pairs:
        await session.execute(
            text("UPDATE order_lines l SET refunded_fen = l.refunded_fen + p.amount FROM "
                 "unnest(CAST(:ids AS bigint[]), CAST(:amounts AS bigint[])) AS p(id, amount) WHERE l.id = p.id"),
            {"ids": [p[0] for p in pairs], "amounts": [p[1] for p in pairs]})
    return pairs


async def list_requests(
    session: AsyncSession, shop_id: int, *, status: str | None = None, order_id: int | None = None,
    customer_id: int | None = None, request_id: int | None = None, limit: int = 50, offset: int = 0,
) -> list[dict[str, Any]]:
    clauses = ["r.shop_id = :s"]
    params: dict[str, Any] = {"s": shop_id, "limit": limit, "offset": offset}
    equal_filters(clauses, params, {"status": status, "order_id": order_id, "customer_id": customer_id,
                                     "id": request_id}, alias="r.")
    rows = await session.execute(
        text("SELECT r.id, o.order_no, r.amount_fen, r.reason, r.status, r.initiated_by, r.reject_reason, "
             "r.created_at, r.decided_at, r.succeeded_at FROM refund_requests r JOIN orders o ON o.id = r.order_id "
             f"WHERE {' AND '.join(clauses)} ORDER BY r.id DESC LIMIT :limit OFFSET :offset"),
        params)
    return [dict(r._mapping) for r in rows]


async def get_request(session: AsyncSession, shop_id: int, request_id: int) -> dict[str, Any]:
    found = await list_requests(session, shop_id, request_id=request_id, limit=1)
    if not found:
        raise not_found("refund_request")
    return found[0]
