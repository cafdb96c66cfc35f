"""Wiring of bargain: its price source, event reactions, sweepers and the fission target.

Bargaining sits beside ``orders`` and ``fission`` in the layers and cannot import them; this is where
checkout's :class:`~liebian.orders.pricing.PriceSource` is adapted to :mod:`liebian.bargain.purchase` and
bargains become a share target. Helping earns nothing (WeChat's rules on induced sharing): no reward is
wired to a help or to a share of a bargain.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.bargain import bargains, campaigns, purchase, queries
from liebian.bargain.ports import CartItem, PurchaseRequest
from liebian.events import OrderCancelled
from liebian.fission import shares
from liebian.kit import jobs
from liebian.kit.events import bus
from liebian.orders.pricing import LinePrice, PlacedOrder, PricingContext, Quote, register_price_source


def _request(ctx: PricingContext) -> PurchaseRequest:
    return PurchaseRequest(
        shop_id=ctx.shop_id, customer_id=ctx.customer_id, now=ctx.now, params=ctx.params,
        items=tuple(CartItem(sku_id=line.sku_id, product_id=line.product_id, quantity=line.quantity,
                             list_price_fen=line.list_price_fen) for line in ctx.lines))


class BargainPriceSource:
    """Checkout's price source for ``promotion.kind = "bargain"``."""

    kind = purchase.KIND

    async def quote(self, session: AsyncSession, ctx: PricingContext) -> Quote:
        q = await purchase.quote(session, _request(ctx))
        return Quote(lines=(LinePrice(q.unit_price_fen, q.discount_fen),), record=q.record,
                     takes_sku_stock=q.takes_sku_stock)

    async def on_placed(self, session: AsyncSession, ctx: PricingContext, quote: Quote, order: PlacedOrder) -> None:
        await purchase.on_placed(session, _request(ctx), quote.record, order_id=order.order_id,
                                 order_no=order.order_no)


def install() -> None:
    """Called once per process by :func:`liebian.wiring.install`."""
    register_price_source(BargainPriceSource())
    bus.subscribe(OrderCancelled, purchase.on_order_cancelled)
    jobs.register_sweeper("bargain.expire", bargains.sweep_expired)
    jobs.register_sweeper("bargain.end_campaigns", campaigns.sweep_ended)
    jobs.register_sweeper("bargain.prune_help_quotas", bargains.sweep_old_quotas)
    shares.register_target("bargain", queries.exists)
