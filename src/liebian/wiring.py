"""The composition root: subscribe reactions, register sweepers, outbox handlers and providers."""

from __future__ import annotations

from liebian.customers import service as customers
from liebian.events import OrderCompleted, PaymentSucceeded, RefundSucceeded
from liebian.kit import jobs, outbox
from liebian.kit.events import bus
from liebian.orders import lifecycle, refunds
from liebian.payments import service as payments
from liebian.payments.providers import CashOnDeliveryProvider, registry
from liebian.payouts import service as payouts
from liebian.settings import Settings


def install(settings: Settings) -> None:
    """Idempotent: safe to call once per process (API, worker, CLI, tests).

    The ``wechat`` provider is installed by ``liebian.gateways`` (it needs the app in sandbox mode).
    """
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
    payments.register_event_handler("transfer.finished", payouts.on_transfer_event)

    registry.install("cod", CashOnDeliveryProvider())
