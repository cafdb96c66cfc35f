"""Wiring of flashsale: its price source, event reactions, sweepers and outbox handlers."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.customers.addresses import AddressIn
from liebian.events import OrderCancelled
from liebian.flashsale import campaigns, ports, queue, stock
from liebian.kit import jobs, outbox
from liebian.kit.events import bus
from liebian.kit.sql import text
from liebian.orders import checkout
from liebian.orders.pricing import LinePrice, PlacedOrder, PricingContext, Quote, register_price_source
from liebian.orders.schemas import LineIn, PlaceOrderIn, PromotionIn
from liebian.shops.service import ShopRef


def _request(ctx: PricingContext) -> stock.OrderRequest:
    return stock.OrderRequest(shop_id=ctx.shop_id, customer_id=ctx.customer_id, now=ctx.now,
                              lines=tuple((line.sku_id, line.quantity, line.list_price_fen) for line in ctx.lines),
                              params=ctx.params)


class _FlashsalePriceSource:
    """Checkout's price source for ``promotion.kind = "flashsale"``: the slot's own units (not the SKU's),
    taken in the quote by the guarded statement; WeChat Pay only (an unpaid order must time out and give its
    unit back, which cash on delivery never does)."""

    kind = stock.KIND

    async def quote(self, session: AsyncSession, ctx: PricingContext) -> Quote:
        priced = await stock.quote(session, _request(ctx))
        return Quote(lines=(LinePrice(priced.unit_price_fen, priced.discount_fen),), record=priced.record,
                     payment_methods=frozenset({"wechat"}), takes_sku_stock=False)

    async def on_placed(self, session: AsyncSession, ctx: PricingContext, quote: Quote, order: PlacedOrder) -> None:
        await stock.on_placed(session, _request(ctx), quote.record, order_id=order.order_id, order_no=order.order_no)


class _OrdersForFlashsale:
    """``orders`` as the flash sale sees it (:class:`liebian.flashsale.ports.OrdersPort`)."""

    async def place(self, session: AsyncSession, shop: ShopRef, customer_id: int, *, campaign_id: int, sku_id: int,
                    quantity: int, address: dict[str, Any], payment_method: str) -> dict[str, Any]:
        body = PlaceOrderIn(lines=[LineIn(sku_id=sku_id, quantity=quantity)], address=AddressIn(**address),
                            payment_method="wechat" if payment_method == "wechat" else "cod",
                            promotion=PromotionIn(kind=stock.KIND, campaign_id=campaign_id))
        placed = await checkout.place_order(session, shop, customer_id, body, None)
        return placed.body

    async def live_units(self, session: AsyncSession) -> list[ports.LiveUnits]:
        rows = await session.execute(text(
            "SELECT CAST(o.promotion->>'campaign_id' AS bigint) AS campaign_id, o.customer_id, "
            "sum(l.quantity) AS units "
            "FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE o.promotion->>'kind' = :k "
            "AND o.status <> 'cancelled' GROUP BY 1, 2"), {"k": stock.KIND})
        return [ports.LiveUnits(campaign_id=r.campaign_id, customer_id=r.customer_id, units=int(r.units))
                for r in rows]


async def _on_order_cancelled(session: AsyncSession, event: OrderCancelled) -> None:
    if (event.promotion or {}).get("kind") == stock.KIND:
        await stock.on_order_cancelled(session, event.order_id, event.shop_id)


def install() -> None:
    """Called once per process by :func:`liebian.wiring.install`."""
    ports.orders.install(_OrdersForFlashsale())
    register_price_source(_FlashsalePriceSource())
    bus.subscribe(OrderCancelled, _on_order_cancelled)
    jobs.register_sweeper("flashsale.end_campaigns", campaigns.sweep_ended)
    jobs.register_sweeper("flashsale.drain_queues", queue.sweep_queues)
    outbox.register(stock.GIVE_BACK_TOPIC, stock.give_back_later)
    outbox.register(stock.RESYNC_TOPIC, stock.resync)
