"""The order state machine after placement, as guarded UPDATEs on ``status``.

pending_payment → paid (payment) | cancelled (customer, shop, or payment timeout)
paid → shipped → completed (customer confirms or N days after shipping)
paid | shipped | completed → refunding → previous status (partial) | refunded (full)
Cash on delivery: pending_payment → shipped; the shop records the cash; then completed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.catalog import service as catalog
from liebian.events import OrderCancelled, OrderCompleted, OrderPaid, OrderShipped, PaymentSucceeded
from liebian.kit.clock import clock
from liebian.kit.errors import Conflict, not_found
from liebian.kit.events import bus
from liebian.kit.sql import text
from liebian.ledger import service as ledger
from liebian.ledger.rules import CUSTOMER_PREPAYMENTS, REVENUE
from liebian.payments import service as payments

SWEEP_BATCH = 100


async def _order_status(session: AsyncSession, shop_id: int, order_id: int) -> Row[Any]:
    row = (await session.execute(
        text("SELECT id, order_no, status, customer_id, payment_method, paid_at, promotion, fulfilment_hold, "
             "fulfilment FROM orders WHERE id = :id AND shop_id = :s"), {"id": order_id, "s": shop_id})).first()
    if row is None:
        raise not_found("order")
    return row


async def on_payment_succeeded(session: AsyncSession, event: PaymentSucceeded) -> None:
    row = (await session.execute(
        text("UPDATE orders SET status = CASE WHEN status = 'pending_payment' THEN 'paid' ELSE status END, "
             "paid_at = :at, payment_deadline = NULL WHERE id = :id AND shop_id = :s AND paid_at IS NULL "
             "AND status IN ('pending_payment', 'shipped') RETURNING order_no, customer_id, payable_fen, promotion"),
        {"at": event.paid_at, "id": event.order_id, "s": event.shop_id})).first()
    if row is not None:
        await bus.publish(session, OrderPaid(
            shop_id=event.shop_id, order_id=event.order_id, order_no=row.order_no, customer_id=row.customer_id,
            payable_fen=row.payable_fen, paid_at=event.paid_at, promotion=row.promotion))
        return
    order = await _order_status(session, event.shop_id, event.order_id)
    if order.status == "cancelled":
        # Paid after it was cancelled (the payment raced the timeout): give the money back in full.
        await payments.start_refund(session, shop_id=event.shop_id, order_id=event.order_id,
                                    amount_fen=event.amount_fen, reason="order_cancelled_before_payment",
                                    refund_request_id=None)


async def cancel(session: AsyncSession, shop_id: int, order_id: int, *, reason: str,
                 customer_id: int | None = None) -> bool:
    """pending_payment and unpaid → cancelled; stock returned, payment closed. False if not cancellable."""
    customer_clause = "AND customer_id = :c" if customer_id is not None else ""
    row = (await session.execute(
        text("UPDATE orders SET status = 'cancelled', cancelled_at = :now, cancel_reason = :reason, "
             f"payment_deadline = NULL WHERE id = :id AND shop_id = :s {customer_clause} "
             "AND status = 'pending_payment' AND paid_at IS NULL "
             "RETURNING order_no, customer_id, promotion"),
        {"now": clock.now(), "reason": reason, "id": order_id, "s": shop_id, "c": customer_id})).first()
    if row is None:
        return False
    takes_stock = not (row.promotion or {}).get("own_stock", False)
    if takes_stock:
        lines = await session.execute(
            text("SELECT sku_id, quantity FROM order_lines WHERE order_id = :o"), {"o": order_id})
        await catalog.return_stock(session, shop_id, [(r.sku_id, r.quantity) for r in lines])
    await payments.close_for_order(session, shop_id, order_id)
    await bus.publish(session, OrderCancelled(shop_id=shop_id, order_id=order_id, order_no=row.order_no,
                                              customer_id=row.customer_id, reason=reason, promotion=row.promotion))
    return True


async def cancel_or_explain(session: AsyncSession, shop_id: int, order_id: int, *, reason: str,
                            customer_id: int | None = None) -> None:
    if not await cancel(session, shop_id, order_id, reason=reason, customer_id=customer_id):
        order = await _order_status(session, shop_id, order_id)
        if customer_id is not None and order.customer_id != customer_id:
            raise not_found("order")
        raise Conflict("order_not_cancellable",
                       f"An order in status '{order.status}' cannot be cancelled; request a refund instead.")


async def ship(session: AsyncSession, shop_id: int, order_id: int, *, carrier: str, tracking_no: str,
               auto_complete_days: int, fulfilment: str = "delivery") -> None:
    """Hand the goods over: to a carrier (``delivery``), or to the buyer at the store (``pickup``)."""
    now = clock.now()
    row = (await session.execute(
        text("UPDATE orders SET status = 'shipped', shipped_at = :now, carrier = :carrier, tracking_no = :t, "
             "auto_complete_at = :auto WHERE id = :id AND shop_id = :s AND fulfilment_hold IS NULL AND "
             "fulfilment = :f AND (status = 'paid' OR (status = 'pending_payment' AND payment_method = 'cod')) "
             "RETURNING order_no, customer_id"),
        {"now": now, "carrier": carrier, "t": tracking_no, "auto": now + timedelta(days=auto_complete_days),
         "id": order_id, "s": shop_id, "f": fulfilment})).first()
    if row is None:
        order = await _order_status(session, shop_id, order_id)
        if order.fulfilment != fulfilment:
            raise Conflict("pickup_order_not_shipped" if order.fulfilment == "pickup" else "not_a_pickup_order",
                           "A pickup order is handed over at its store (picked-up), not shipped."
                           if order.fulfilment == "pickup" else "This order is delivered, not picked up.")
        if order.fulfilment_hold is not None and order.status == "paid":
            raise Conflict("order_on_hold", f"This order is held by its promotion ({order.fulfilment_hold}) and "
                           "cannot ship until the promotion releases it.", hold=order.fulfilment_hold)
        raise Conflict("order_not_shippable", f"An order in status '{order.status}' cannot be shipped.")
    await bus.publish(session, OrderShipped(shop_id=shop_id, order_id=order_id, order_no=row.order_no,
                                            customer_id=row.customer_id))


async def release_holds(session: AsyncSession, shop_id: int, order_ids: list[int]) -> int:
    """A promotion lifts its hold (the group filled): these orders may now ship. Returns how many moved."""
    if not order_ids:
        return 0
    rows = await session.execute(
        text("UPDATE orders SET fulfilment_hold = NULL WHERE shop_id = :s AND id = ANY(:ids) "
             "AND fulfilment_hold IS NOT NULL RETURNING id"), {"s": shop_id, "ids": order_ids})
    return len(rows.all())


async def complete(session: AsyncSession, shop_id: int, order_id: int, *, customer_id: int | None = None) -> bool:
    """shipped and paid → completed; revenue is recognised for what was not refunded."""
    now = clock.now()
    customer_clause = "AND customer_id = :c" if customer_id is not None else ""
    row = (await session.execute(
        text("UPDATE orders SET status = 'completed', completed_at = :now WHERE id = :id AND shop_id = :s "
             f"{customer_clause} AND status = 'shipped' AND paid_at IS NOT NULL "
             "RETURNING order_no, customer_id, payable_fen - refunded_fen AS earned"),
        {"now": now, "id": order_id, "s": shop_id, "c": customer_id})).first()
    if row is None:
        return False
    if row.earned > 0:
        await ledger.post(session, shop_id=shop_id, kind="revenue", ref=row.order_no, order_id=order_id,
                          legs=[(CUSTOMER_PREPAYMENTS, row.earned), (REVENUE, -row.earned)])
    await bus.publish(session, OrderCompleted(shop_id=shop_id, order_id=order_id, order_no=row.order_no,
                                              customer_id=row.customer_id, completed_at=now))
    return True


async def confirm_receipt(session: AsyncSession, shop_id: int, order_id: int, customer_id: int) -> None:
    if not await complete(session, shop_id, order_id, customer_id=customer_id):
        order = await _order_status(session, shop_id, order_id)
        if order.customer_id != customer_id:
            raise not_found("order")
        if order.status == "shipped" and order.paid_at is None:
            raise Conflict("cod_not_collected", "The cash for this order has not been recorded as collected.")
        raise Conflict("order_not_shipped", f"An order in status '{order.status}' cannot be confirmed as received.")


async def collect_cash(session: AsyncSession, shop_id: int, order_id: int) -> None:
    order = await _order_status(session, shop_id, order_id)
    if order.status == "cancelled":
        raise Conflict("order_cancelled", "This order was cancelled.")
    await payments.collect_cash(session, shop_id, order_id)


async def sweep_unpaid(session: AsyncSession, now: datetime) -> int:
    """Cancel orders whose payment deadline passed; SKIP LOCKED lets several workers share the work."""
    ids = (await session.execute(
        text("SELECT id, shop_id FROM orders WHERE status = 'pending_payment' AND payment_deadline <= :now "
             "ORDER BY payment_deadline LIMIT :n FOR UPDATE SKIP LOCKED"), {"now": now, "n": SWEEP_BATCH})).all()
    for row in ids:
        await cancel(session, row.shop_id, row.id, reason="payment_timeout")
    return len(ids)


async def sweep_shipped(session: AsyncSession, now: datetime) -> int:
    """Complete orders N days after shipping (paid ones only; an open refund holds them in 'refunding')."""
    ids = (await session.execute(
        text("SELECT id, shop_id FROM orders WHERE status = 'shipped' AND auto_complete_at <= :now "
             "AND paid_at IS NOT NULL ORDER BY auto_complete_at LIMIT :n FOR UPDATE SKIP LOCKED"),
        {"now": now, "n": SWEEP_BATCH})).all()
    for row in ids:
        await complete(session, row.shop_id, row.id)
    return len(ids)
