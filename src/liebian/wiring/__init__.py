"""The composition root: subscribe reactions, register sweepers, outbox handlers and providers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.analytics import seeding_jobs as analytics_seeding_jobs
from liebian.catalog import service as catalog
from liebian.customers import service as customers
from liebian.distribution import commissions as distribution
from liebian.distribution import withdrawals as distribution_withdrawals
from liebian.events import (
    CustomerIdentified,
    GroupFailed,
    GroupSucceeded,
    OrderCancelled,
    OrderCompleted,
    OrderPaid,
    OrderPlaced,
    OrderRefunded,
    OrderShipped,
    PaymentSucceeded,
    RefundSucceeded,
    TransferEnded,
)
from liebian.fission import attribution, binding, shares
from liebian.groupbuy import campaigns as groupbuy_campaigns
from liebian.groupbuy import groups as groupbuy_groups
from liebian.groupbuy import ports as groupbuy_ports
from liebian.groupbuy import seats as groupbuy_seats
from liebian.kit import jobs, outbox
from liebian.kit.errors import NotFound
from liebian.kit.events import bus
from liebian.miniapp import ports as miniapp_ports
from liebian.miniapp import shipping as miniapp_shipping
from liebian.miniapp import subscribe as miniapp_subscribe
from liebian.orders import contact, lifecycle, queries, refunds
from liebian.orders.pricing import LinePrice, PlacedOrder, PricingContext, Quote, register_price_source
from liebian.payments import service as payments
from liebian.payments.providers import CashOnDeliveryProvider, registry
from liebian.payouts import service as payouts
from liebian.settings import Settings
from liebian.wiring import bargain as bargain_wiring
from liebian.wiring import campaigns as campaigns_wiring
from liebian.wiring import community as community_wiring
from liebian.wiring import coupons as coupons_wiring
from liebian.wiring import flashsale as flashsale_wiring
from liebian.wiring import promotions as promotions_wiring
from liebian.wiring import security as security_wiring
from liebian.wiring import stores as stores_wiring


def install(settings: Settings) -> None:
    """Idempotent: safe to call once per process (API, worker, CLI, tests).

    The ``wechat`` provider is installed by ``liebian.gateways`` (it needs the app in sandbox mode).
    """
    security_wiring.install(settings)
    bus.subscribe(PaymentSucceeded, lifecycle.on_payment_succeeded)
    bus.subscribe(RefundSucceeded, refunds.on_refund_succeeded)
    bus.subscribe(OrderCompleted, customers.on_order_completed)

    jobs.register_sweeper("orders.cancel_unpaid", lifecycle.sweep_unpaid)
    jobs.register_sweeper("orders.complete_shipped", lifecycle.sweep_shipped)
    jobs.register_sweeper("payments.reconcile", payments.sweep_unconfirmed_payments)
    jobs.register_sweeper("payments.refund_outcomes", payments.sweep_processing_refunds)

    outbox.register(payments.REFUND_TOPIC, payments.carry_out_refund)
    outbox.register(payments.CLOSE_TOPIC, payments.close_at_provider)
    outbox.register(payouts.TRANSFER_TOPIC, payouts.carry_out_transfer)
    outbox.register(payouts.CANCEL_TOPIC, payouts.carry_out_cancel)
    jobs.register_sweeper("payouts.reconcile", payouts.sweep_transfers)
    jobs.register_sweeper("analytics.stale_seeding_jobs", analytics_seeding_jobs.sweep_stale)
    payments.register_event_handler("transfer.finished", payouts.on_transfer_event)

    registry.install("cod", CashOnDeliveryProvider())
    _install_miniapp()
    _install_fission()
    _install_groupbuy()
    _install_distribution()
    coupons_wiring.install()
    bargain_wiring.install()
    flashsale_wiring.install()
    stores_wiring.install()
    campaigns_wiring.install()
    community_wiring.install()
    promotions_wiring.install()


async def _product_exists(session: AsyncSession, shop_id: int, product_id: int) -> bool:
    try:
        await catalog.get_product(session, shop_id, product_id, public=True)
    except NotFound:
        return False
    return True


def _install_fission() -> None:
    """Attribution at placement, device visits merged at login, and the targets shares may point at."""
    bus.subscribe(OrderPlaced, attribution.on_order_placed)
    bus.subscribe(CustomerIdentified, binding.on_customer_identified)
    shares.register_target("product", _product_exists)


async def order_facts(session: AsyncSession, shop_id: int, order_id: int) -> miniapp_ports.OrderFacts:
    """``orders`` as the mini-program services see it (they sit beside ``orders`` and cannot import it).

    Read once per transaction: the reactions to one order event (shipping upload, subscribe message)
    share it instead of loading the order and its lines each time.
    """
    known: dict[int, miniapp_ports.OrderFacts] = session.info.setdefault("order_facts", {})
    if order_id not in known:
        known[order_id] = await _order_facts(session, shop_id, order_id)
    return known[order_id]


async def _order_facts(session: AsyncSession, shop_id: int, order_id: int) -> miniapp_ports.OrderFacts:
    order = await queries.get_order(session, shop_id, order_id, with_customer=True)
    payment = order.payment
    return miniapp_ports.OrderFacts(
        order_id=order_id, order_no=order.order_no, customer_id=order.customer_id or 0,
        titles=tuple(line.title for line in order.lines), payable_fen=order.payable_fen, paid_at=order.paid_at,
        shipped_at=order.shipped_at, carrier=order.carrier, tracking_no=order.tracking_no,
        receiver_phone=contact.receiver_phone_of(shop_id, order),
        payment_provider=payment.provider if payment else None, payment_status=payment.status if payment else None,
        out_trade_no=payment.out_trade_no if payment else None)


def _install_miniapp() -> None:
    """Subscribe messages on order events, and the shipping upload WeChat needs to release the money."""
    miniapp_ports.orders.install(order_facts)
    bus.subscribe(OrderPaid, miniapp_subscribe.on_order_paid)
    bus.subscribe(OrderShipped, miniapp_shipping.on_order_shipped)
    bus.subscribe(OrderShipped, miniapp_subscribe.on_order_shipped)
    bus.subscribe(OrderRefunded, miniapp_subscribe.on_order_refunded)
    bus.subscribe(GroupSucceeded, miniapp_subscribe.on_group_succeeded)
    bus.subscribe(GroupFailed, miniapp_subscribe.on_group_failed)
    outbox.register(miniapp_subscribe.SEND_TOPIC, miniapp_subscribe.send_message)
    outbox.register(miniapp_shipping.UPLOAD_TOPIC, miniapp_shipping.upload)


class _OrdersForGroupbuy:
    """``orders`` as group buying sees it (:class:`liebian.groupbuy.ports.OrdersPort`)."""

    async def release_holds(self, session: AsyncSession, shop_id: int, order_ids: list[int]) -> int:
        return await lifecycle.release_holds(session, shop_id, order_ids)

    async def refund(self, session: AsyncSession, shop_id: int, order_id: int, *, amount_fen: int | None,
                     reason: str) -> None:
        await refunds.refund_for_promotion(session, shop_id, order_id, amount_fen=amount_fen, reason=reason)

    async def cancel_unpaid(self, session: AsyncSession, shop_id: int, order_id: int, *, reason: str) -> bool:
        return await lifecycle.cancel(session, shop_id, order_id, reason=reason)


def _seat_request(ctx: PricingContext) -> groupbuy_ports.SeatRequest:
    return groupbuy_ports.SeatRequest(
        shop_id=ctx.shop_id, customer_id=ctx.customer_id, now=ctx.now, params=ctx.params,
        items=tuple(groupbuy_ports.CartItem(sku_id=line.sku_id, product_id=line.product_id, quantity=line.quantity,
                                            list_price_fen=line.list_price_fen) for line in ctx.lines))


class _GroupbuyPriceSource:
    """Checkout's price source for ``promotion.kind = "groupbuy"``, translated to and from group buying's
    own types (it sits beside ``orders`` and cannot import ``orders.pricing``)."""

    kind = groupbuy_seats.KIND

    async def quote(self, session: AsyncSession, ctx: PricingContext) -> Quote:
        seat = await groupbuy_seats.quote(session, _seat_request(ctx))
        return Quote(lines=tuple(LinePrice(unit, discount) for unit, discount in seat.prices), record=seat.record,
                     payment_methods=seat.payment_methods, takes_sku_stock=False,
                     fulfilment_hold=seat.fulfilment_hold)

    async def on_placed(self, session: AsyncSession, ctx: PricingContext, quote: Quote, order: PlacedOrder) -> None:
        await groupbuy_seats.on_placed(session, _seat_request(ctx), quote.record, order_id=order.order_id,
                                       order_no=order.order_no, payable_fen=order.payable_fen)


def _install_groupbuy() -> None:
    """Seats taken at checkout; the group moves with its orders' payments, cancellations and refunds; the
    deadline sweeper closes groups; campaigns that end give back their units."""
    groupbuy_ports.orders.install(_OrdersForGroupbuy())
    register_price_source(_GroupbuyPriceSource())
    bus.subscribe(OrderPaid, groupbuy_groups.on_order_paid)
    bus.subscribe(OrderCancelled, groupbuy_groups.on_order_cancelled)
    bus.subscribe(OrderRefunded, groupbuy_groups.on_order_refunded)
    jobs.register_sweeper("groupbuy.close_due_groups", groupbuy_groups.sweep_due)
    jobs.register_sweeper("groupbuy.end_campaigns", groupbuy_campaigns.sweep_ended)
    outbox.register(groupbuy_groups.CANCEL_TOPIC, groupbuy_groups.cancel_released_order)
    outbox.register(groupbuy_groups.RELEASE_TOPIC, groupbuy_groups.release_seat_later)


def _install_distribution() -> None:
    """Commissions accrue on payment, start their window at completion (and the first completion earns the
    inviter's rebate), shrink with refunds, settle by a sweeper; withdrawals follow their transfer's end."""
    bus.subscribe(OrderPaid, distribution.on_order_paid)
    bus.subscribe(OrderCompleted, distribution.on_order_completed)
    bus.subscribe(OrderRefunded, distribution.on_order_refunded)
    bus.subscribe(TransferEnded, distribution_withdrawals.on_transfer_ended)
    jobs.register_sweeper("distribution.settle", distribution.sweep_settlements)
