"""Wiring of coupons: its price source, event reactions, and red packets as a share target."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.coupons import ports, redeem, redpackets
from liebian.events import GroupFailed, OrderCancelled, OrderPaid, OrderRefunded
from liebian.fission import landing, shares
from liebian.fission.rules import TargetType
from liebian.kit.events import bus
from liebian.orders.pricing import COUPON, LinePrice, PlacedOrder, PricingContext, Quote, register_price_source


def _request(ctx: PricingContext) -> ports.CouponRequest:
    base = ctx.base or tuple(LinePrice(line.list_price_fen) for line in ctx.lines)
    items = []
    for line, price in zip(ctx.lines, base, strict=True):
        total = price.unit_price_fen * line.quantity
        items.append(ports.CartItem(sku_id=line.sku_id, product_id=line.product_id, quantity=line.quantity,
                                    amount_fen=total - min(price.discount_fen, total)))
    return ports.CouponRequest(shop_id=ctx.shop_id, customer_id=ctx.customer_id, now=ctx.now,
                               coupon_id=int(ctx.params["coupon_id"]), items=tuple(items),
                               promotion_kind=ctx.promotion_kind)


class _CouponPriceSource:
    """Checkout's price source for ``coupon_id``: a discount on the lines in scope, applied after the promotion's
    prices; the coupon is used once the order exists (coupons sit beside ``orders`` and cannot import it)."""

    kind = COUPON

    async def quote(self, session: AsyncSession, ctx: PricingContext) -> Quote:
        answer = await redeem.quote(session, _request(ctx))
        base = ctx.base or tuple(LinePrice(line.list_price_fen) for line in ctx.lines)
        return Quote(lines=tuple(LinePrice(price.unit_price_fen, discount)
                                 for price, discount in zip(base, answer.discounts, strict=True)),
                     record=answer.record)

    async def on_placed(self, session: AsyncSession, ctx: PricingContext, quote: Quote, order: PlacedOrder) -> None:
        await redeem.use(session, _request(ctx), order_id=order.order_id, order_no=order.order_no)


def install() -> None:
    """Called once per process by :func:`liebian.wiring.install`."""
    register_price_source(_CouponPriceSource())
    bus.subscribe(OrderCancelled, redeem.on_order_cancelled)
    bus.subscribe(GroupFailed, redeem.on_group_failed)
    bus.subscribe(OrderPaid, redpackets.on_order_paid)
    bus.subscribe(OrderRefunded, redpackets.on_order_refunded)
    shares.register_target(TargetType.RED_PACKET, redpackets.exists)
    landing.register_page(TargetType.RED_PACKET, redpackets.page_path)
