"""Reading orders: one statement for the orders, one for their lines, one for their payments."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit.checks import Violation
from liebian.kit.errors import not_found
from liebian.kit.sql import text
from liebian.orders import contact
from liebian.orders.schemas import OrderLineOut, OrderOut, OrderPage, PaymentOut
from liebian.payments import service as payments

_COLUMNS = (
    "id, order_no, status, payment_method, total_fen, discount_fen, shipping_fen, payable_fen, refunded_fen, "
    "address, promotion, share_code, note, created_at, payment_deadline, paid_at, shipped_at, carrier, "
    "tracking_no, auto_complete_at, completed_at, cancelled_at, cancel_reason, fulfilment_hold, customer_id, "
    "fulfilment, store_id, pickup_no"
)


async def order_id_by_no(session: AsyncSession, shop_id: int, order_no: str, customer_id: int | None = None) -> int:
    row = (await session.execute(
        text("SELECT id, customer_id FROM orders WHERE shop_id = :s AND order_no = :no"),
        {"s": shop_id, "no": order_no})).first()
    if row is None or (customer_id is not None and row.customer_id != customer_id):
        raise not_found("order")
    return int(row.id)


async def get_order(session: AsyncSession, shop_id: int, order_id: int, *, with_customer: bool = False) -> OrderOut:
    orders = await _load(session, shop_id, "id = :id", {"id": order_id}, with_customer=with_customer)
    if not orders:
        raise not_found("order")
    return orders[0]


async def list_orders(
    session: AsyncSession, shop_id: int, *, customer_id: int | None = None, status: str | None = None,
    order_no: str | None = None, limit: int = 20, offset: int = 0,
) -> OrderPage:
    clauses: list[str] = ["TRUE"]
    params: dict[str, Any] = {}
    if order_no:
        # The console's search box: the shop's order numbers that start with what was typed.
        clauses.append("order_no LIKE :no ESCAPE '\\'")
        params["no"] = order_no.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if customer_id is not None:
        clauses.append("customer_id = :c")
        params["c"] = customer_id
    if status is not None:
        clauses.append("status = :st")
        params["st"] = status
    where = " AND ".join(clauses)
    total = int((await session.execute(
        text(f"SELECT count(*) FROM orders WHERE shop_id = :s AND {where}"),
        {"s": shop_id, **params})).scalar_one())
    items = await _load(session, shop_id, where, params, limit=limit, offset=offset,
                        with_customer=customer_id is None)
    return OrderPage(items=items, total=total, limit=limit, offset=offset)


async def _load(
    session: AsyncSession, shop_id: int, where: str, params: dict[str, Any], *, limit: int = 1, offset: int = 0,
    with_customer: bool,
) -> list[OrderOut]:
    rows = (await session.execute(
        text(f"SELECT {_COLUMNS} FROM orders WHERE shop_id = :s AND {where} "
             "ORDER BY id DESC LIMIT :limit OFFSET :offset"),
        {"s": shop_id, "limit": limit, "offset": offset, **params})).all()
    if not rows:
        return []
    ids = [r.id for r in rows]
    lines: defaultdict[int, list[OrderLineOut]] = defaultdict(list)
    for line in await session.execute(
        text("SELECT id, order_id, sku_id, product_id, title, specs, image, unit_price_fen, quantity, total_fen, "
             "discount_fen, payable_fen, refunded_fen FROM order_lines WHERE order_id = ANY(:ids) ORDER BY line_no"),
        {"ids": ids}):
        data = dict(line._mapping)
        lines[data.pop("order_id")].append(OrderLineOut(**data))
    pays: dict[int, PaymentOut] = {}
    for p in await session.execute(
        text("SELECT DISTINCT ON (order_id) order_id, out_trade_no, provider, status, client_params "
             "FROM payments WHERE order_id = ANY(:ids) ORDER BY order_id, id DESC"), {"ids": ids}):
        pays[p.order_id] = PaymentOut(out_trade_no=p.out_trade_no, provider=p.provider, status=p.status,
                                      params=p.client_params if p.status == "pending" else None)
    result = []
    for r in rows:
        data = dict(r._mapping)
        order_id = data.pop("id")
        customer_id = data.pop("customer_id")
        payment_status = "free" if r.payable_fen == 0 else ("paid" if r.paid_at else "unpaid")
        stored, data["address"] = data["address"], contact.public(data["address"])  # masked for everyone
        order = OrderOut(**data, lines=lines[order_id], payment=pays.get(order_id),
                         payment_status=payment_status, customer_id=customer_id if with_customer else None)
        order._stored_address, order._buyer_id = stored, customer_id
        result.append(order)
    return result


async def consistency_violations(session: AsyncSession) -> list[Violation]:
    """Paid orders have a paid payment; lines never refund more than their order."""
    found: list[Violation] = []
    paid = (await session.execute(text(
        "SELECT id, shop_id, order_no FROM orders WHERE paid_at IS NOT NULL AND payable_fen > 0"))).all()
    with_payment = await payments.paid_order_ids(session, [r.id for r in paid])
    found += [Violation("paid_order_has_payment", f"shop {r.shop_id} order {r.order_no} is paid without a payment")
              for r in paid if r.id not in with_payment]
    for r in await session.execute(text(
            "SELECT o.shop_id, o.order_no, o.refunded_fen, sum(l.refunded_fen) AS lines "
            "FROM orders o JOIN order_lines l ON l.order_id = o.id GROUP BY o.id "
            "HAVING sum(l.refunded_fen) > o.refunded_fen LIMIT 50")):
        found.append(Violation("line_refunds_within_order",
                               f"shop {r.shop_id} order {r.order_no}: lines refunded {r.lines} > {r.refunded_fen}"))
    return found
