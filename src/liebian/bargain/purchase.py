"""The initiator buys at the reached price: the bargain's price source, and what a cancelled order gives back.

``POST orders {promotion: {kind: "bargain", bargain_id}}`` with one line, quantity 1, of the campaign's SKU.
Only the initiator, only one live order per bargain: one guarded UPDATE moves the bargain to ``ordered``
(``WHERE customer_id = :me AND (status = 'complete' OR (status = 'active' AND buy_anytime)) AND expires_at >
:now``), so two concurrent purchases serialise on the row and the second finds it ordered. The unit comes
from the campaign's own stock while the campaign runs with one (a guarded UPDATE, ``takes_sku_stock =
False``), else checkout takes the SKU's. An order cancelled unpaid gives the bargain back as the cutting left
it (active or complete while time is left, else expired) and the unit back where it came from.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.bargain import campaigns, rules
from liebian.bargain.bargains import bargain_not_found, expired
from liebian.bargain.ports import PurchaseQuote, PurchaseRequest
from liebian.events import OrderCancelled
from liebian.kit.clock import clock
from liebian.kit.errors import Conflict, Forbidden, Invalid
from liebian.kit.sql import text

KIND = "bargain"


async def quote(session: AsyncSession, req: PurchaseRequest) -> PurchaseQuote:
    bargain_id = req.params.get("bargain_id")
    if bargain_id is None:
        raise Invalid("bargain_required", "A bargain order names its bargain_id.")
    if req.params.get("campaign_id") is not None or req.params.get("group_id") is not None:
        raise Invalid("invalid_promotion", "A bargain order takes bargain_id only.")
    if len(req.items) != 1 or req.items[0].quantity != 1:
        raise Invalid("bargain_one_item", "A bargain buys exactly one unit of the campaign's SKU.")
    item = req.items[0]
    row = (await session.execute(
        text("UPDATE bargain_bargains b SET status = 'ordered', ordered_at = :now FROM bargain_campaigns c "
             "WHERE b.id = :b AND b.shop_id = :s AND b.customer_id = :cust AND b.expires_at > :now "
             "AND c.id = b.campaign_id AND c.sku_id = :sku "
             "AND (b.status = 'complete' OR (b.status = 'active' AND b.buy_anytime)) "
             "RETURNING b.campaign_id, b.current_price_fen, b.help_count, b.helpers_needed, c.stock, c.status AS cs, "
             "c.ends_at"),
        {"b": bargain_id, "s": req.shop_id, "cust": req.customer_id, "now": req.now, "sku": item.sku_id})).first()
    if row is None:
        raise await _why_not(session, req, bargain_id, item.sku_id)
    own_stock = row.stock is not None and row.cs == "active" and (row.ends_at is None or row.ends_at > req.now)
    if own_stock and not await campaigns.take_unit(session, row.campaign_id):
        raise Conflict("stock_exhausted", "This bargain has sold out.", sku_id=item.sku_id)
    unit = row.current_price_fen
    # Shown as the list price less a discount, so the order says what the friends cut.
    price = (item.list_price_fen, item.list_price_fen - unit) if unit <= item.list_price_fen else (unit, 0)
    return PurchaseQuote(unit_price_fen=price[0], discount_fen=price[1], takes_sku_stock=not own_stock, record={
        "bargain_id": bargain_id, "campaign_id": row.campaign_id, "unit_price_fen": unit,
        "reached_floor": row.help_count >= row.helpers_needed})


async def _why_not(session: AsyncSession, req: PurchaseRequest, bargain_id: int, sku_id: int) -> Exception:
    """Why the guarded UPDATE took nothing (read after it, so it sees what beat this purchase)."""
    b = (await session.execute(
        text("SELECT b.customer_id, b.status, b.expires_at, b.buy_anytime, c.sku_id FROM bargain_bargains b "
             "JOIN bargain_campaigns c ON c.id = b.campaign_id WHERE b.id = :b AND b.shop_id = :s"),
        {"b": bargain_id, "s": req.shop_id})).first()
    if b is None:
        return bargain_not_found()
    if b.customer_id != req.customer_id:
        return Forbidden("not_bargain_initiator", "Only the customer who started this bargain can buy it.")
    if b.sku_id != sku_id:
        return Invalid("sku_not_in_campaign", f"This bargain sells SKU {b.sku_id}.", sku_id=sku_id)
    state = rules.effective_status(cast(rules.BargainStatus, b.status), b.expires_at, req.now)
    if state == "expired":
        return expired()
    if state == "ordered":
        return Conflict("bargain_already_ordered", "This bargain already has an order; pay or cancel it first.")
    return Conflict("bargain_not_complete", "Friends have not cut this bargain to its floor yet.")


async def on_placed(session: AsyncSession, req: PurchaseRequest, record: dict[str, Any], *, order_id: int,
                    order_no: str) -> None:
    """The ordered bargain names its order (the unique index keeps one bargain per order)."""
    row = (await session.execute(
        text("UPDATE bargain_bargains SET order_id = :o, order_no = :no WHERE id = :b AND shop_id = :s "
             "AND status = 'ordered' AND order_id IS NULL RETURNING id"),
        {"o": order_id, "no": order_no, "b": record["bargain_id"], "s": req.shop_id})).first()
    if row is None:  # cannot happen: quote moved it to ordered in this transaction
        raise Conflict("bargain_already_ordered", "This bargain already has an order.")


def _is_bargain_order(promotion: dict[str, object] | None) -> bool:
    return (promotion or {}).get("kind") == KIND


async def on_order_cancelled(session: AsyncSession, event: OrderCancelled) -> None:
    """An unpaid order was cancelled: the bargain can be bought again while it runs; its unit goes back."""
    if not _is_bargain_order(event.promotion):
        return
    back = (await session.execute(
        text("UPDATE bargain_bargains b SET status = CASE WHEN b.expires_at <= :now THEN 'expired' "
             "WHEN b.help_count >= b.helpers_needed THEN 'complete' ELSE 'active' END, "
             "closed_at = CASE WHEN b.expires_at <= :now THEN :now END, order_id = NULL, order_no = NULL, "
             "ordered_at = NULL, orders_cancelled = b.orders_cancelled + 1 FROM bargain_campaigns c "
             "WHERE b.order_id = :o AND b.shop_id = :s AND b.status = 'ordered' AND c.id = b.campaign_id "
             "RETURNING b.campaign_id, c.sku_id"),
        {"o": event.order_id, "s": event.shop_id, "now": clock.now()})).first()
    if back is not None and (event.promotion or {}).get("own_stock"):
        await campaigns.give_back_unit(session, event.shop_id, back.campaign_id, back.sku_id)
