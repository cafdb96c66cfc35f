"""Coupons at checkout: the price source of kind ``coupon`` (adapted by ``liebian.wiring.coupons``).

Checkout asks for a quote after the promotion's (or the list prices): the coupon takes its discount off the
lines in its scope only, never more than they cost. Once the order row exists, in the same transaction, the
coupon is used by one guarded UPDATE (``available`` → ``used``, with the order): of two checkouts racing with
one coupon exactly one passes (macrozheng #1003); the other's transaction rolls back, stock and all.
A cancelled order gives its coupon back; a refund does not (the purchase happened).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.catalog import service as catalog
from liebian.coupons import rules
from liebian.coupons.ports import CouponQuote, CouponRequest
from liebian.coupons.wallet import coupon_not_found
from liebian.events import GroupFailed, OrderCancelled
from liebian.kit.errors import Conflict, NotFound
from liebian.kit.sql import text


def already_used() -> Conflict:
    return Conflict("coupon_already_used", "This coupon has already been used.")


async def _categories(session: AsyncSession, shop_id: int, product_ids: set[int]) -> dict[int, int | None]:
    """Only for category coupons (a handful of products per order)."""
    found: dict[int, int | None] = {}
    for product_id in sorted(product_ids):
        try:
            found[product_id] = (await catalog.get_product(session, shop_id, product_id, public=False)).category_id
        except NotFound:
            found[product_id] = None
    return found


async def quote(session: AsyncSession, req: CouponRequest) -> CouponQuote:
    """The coupon's discount on each line, or a 4xx problem saying why it cannot apply. Writes nothing."""
    c = (await session.execute(text(
        "SELECT id, kind, amount_fen, percent_bps, cap_fen, threshold_fen, scope_type, scope_ids, stackable, "
        "status, valid_from, valid_to FROM coupons WHERE id = :id AND shop_id = :s AND customer_id = :c"),
        {"id": req.coupon_id, "s": req.shop_id, "c": req.customer_id})).first()
    if c is None:  # another customer's or another shop's coupon is not found either
        raise coupon_not_found()
    if c.status == "used":
        raise already_used()
    if c.valid_to <= req.now:
        raise Conflict("coupon_expired", "This coupon has expired.", valid_to=c.valid_to.isoformat())
    if c.valid_from > req.now:
        raise Conflict("coupon_not_yet_valid", "This coupon cannot be used yet.", valid_from=c.valid_from.isoformat())
    if req.promotion_kind is not None and not c.stackable:
        raise Conflict("coupon_not_stackable", f"This coupon cannot be combined with a {req.promotion_kind} "
                       "promotion.", promotion=req.promotion_kind)
    ids = [int(i) for i in c.scope_ids]
    categories = (await _categories(session, req.shop_id, {i.product_id for i in req.items})
                  if c.scope_type == "category" else {})
    eligible = [rules.in_scope(c.scope_type, ids, i.product_id, categories.get(i.product_id)) for i in req.items]
    terms = rules.Terms(kind=c.kind, amount_fen=c.amount_fen, percent_bps=c.percent_bps, cap_fen=c.cap_fen,
                        threshold_fen=c.threshold_fen)
    try:
        discounts = rules.line_discounts(terms, [i.amount_fen for i in req.items], eligible)
    except rules.Refused as refused:
        raise Conflict(refused.code, refused.detail) from None
    return CouponQuote(discounts=tuple(discounts),
                       record={"coupon_id": c.id, "coupon_discount_fen": sum(discounts)})


async def use(session: AsyncSession, req: CouponRequest, *, order_id: int, order_no: str) -> None:
    """The one statement that decides: only an available, unexpired coupon of this customer becomes used."""
    row = (await session.execute(text(
        "UPDATE coupons SET status = 'used', order_id = :o, order_no = :no, used_at = :now WHERE id = :id "
        "AND shop_id = :s AND customer_id = :c AND status = 'available' AND valid_to > :now RETURNING id"),
        {"o": order_id, "no": order_no, "now": req.now, "id": req.coupon_id, "s": req.shop_id,
         "c": req.customer_id})).first()
    if row is None:
        raise already_used()


async def give_back(session: AsyncSession, shop_id: int, order_id: int) -> int:
    """The order did not happen: its coupon is available again (shown expired if its time is over)."""
    rows = await session.execute(text(
        "UPDATE coupons SET status = 'available', order_id = NULL, order_no = NULL, used_at = NULL "
        "WHERE shop_id = :s AND order_id = :o AND status = 'used' RETURNING id"), {"s": shop_id, "o": order_id})
    return len(rows.all())


async def on_order_cancelled(session: AsyncSession, event: OrderCancelled) -> None:
    if event.promotion and event.promotion.get("coupon_id") is not None:
        await give_back(session, event.shop_id, event.order_id)


async def on_group_failed(session: AsyncSession, event: GroupFailed) -> None:
    """A group that did not fill refunds everyone in full through no fault of theirs: the coupon comes back."""
    await give_back(session, event.shop_id, event.order_id)
