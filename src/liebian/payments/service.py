"""Payment state, the callback inbox and refunds.

Every state change is a guarded UPDATE on ``status``; every notification is stored once by
(provider, event id) before it is acted on; ledger postings are keyed so they happen once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.events import PaymentSucceeded, RefundSucceeded
from liebian.kit import jsonx, outbox
from liebian.kit.checks import Violation
from liebian.kit.clock import clock
from liebian.kit.errors import BadRequest, Conflict, Invalid, NotFound, not_found
from liebian.kit.events import bus
from liebian.kit.sql import text
from liebian.ledger import service as ledger
from liebian.ledger.rules import CUSTOMER_PREPAYMENTS, cash
from liebian.payments.providers import (
    AlreadyPaid,
    Capability,
    CreatePayment,
    EventKind,
    PaymentIntent,
    PaymentSnapshot,
    ProviderEvent,
    RefundCommand,
    RefundSnapshot,
    registry,
)

log = logging.getLogger(__name__)

REFUND_TOPIC = "payments.refund"
CLOSE_TOPIC = "payments.close"
# A payment notification normally arrives within seconds; after this the reconciler asks instead.
FIRST_CHECK_AFTER = timedelta(seconds=60)
# One payment (or refund) per transaction: each is settled by asking the provider while its row is
# locked, and that payment's own notification must not wait behind a batch of other calls.
SWEEP_BATCH = 1

EventHandler = Callable[[AsyncSession, ProviderEvent], Awaitable[None]]
_event_handlers: dict[EventKind, EventHandler] = {}


def register_event_handler(kind: EventKind, handler: EventHandler) -> None:
    """Notifications other modules act on (transfer bills), dispatched after the inbox stored them."""
    _event_handlers[kind] = handler


def _recheck_delay(age: timedelta) -> timedelta:
    """Every minute while a payment is fresh, then every five: WeChat's own retries thin out likewise."""
    return FIRST_CHECK_AFTER if age < timedelta(minutes=10) else timedelta(minutes=5)


def out_trade_no_for(order_no: str) -> str:
    return f"{order_no}P1"


async def create_payment(
    session: AsyncSession, *, shop_id: int, order_id: int, order_no: str, method: str, amount_fen: int,
    description: str, payer_openid: str | None, expires_at: datetime | None,
) -> PaymentIntent:
    provider = registry.for_method(method)
    intent = await provider.create(CreatePayment(
        out_trade_no=out_trade_no_for(order_no), amount_fen=amount_fen, description=description[:127],
        payer_openid=payer_openid, expires_at=expires_at, attach=str(shop_id),
    ))
    now = clock.now()
    next_check = now + FIRST_CHECK_AFTER if Capability.ASYNC_NOTIFY in provider.capabilities else None
    await session.execute(
        text("INSERT INTO payments (shop_id, order_id, out_trade_no, provider, amount_fen, status, description, "
             "payer_openid, client_params, created_at, expires_at, next_check_at) VALUES (:shop, :order, :otn, "
             ":provider, :amount, 'pending', :desc, :openid, CAST(:params AS jsonb), :now, :expires, :next)"),
        {"shop": shop_id, "order": order_id, "otn": intent.out_trade_no, "provider": provider.name,
         "amount": amount_fen, "desc": description[:127], "openid": payer_openid,
         "params": jsonx.dumps(intent.client_params), "now": now, "expires": expires_at, "next": next_check},
    )
    return intent


async def handle_notification(
    session: AsyncSession, provider_name: str, headers: Mapping[str, str], raw: bytes
) -> bool:
    """Verify, store once, and act on a provider notification; False when it was a duplicate."""
    provider = registry.by_name(provider_name)
    if provider is None:
        raise NotFound("provider_not_found", f"No payment provider '{provider_name}'.")
    event = provider.parse_notification(headers, raw)
    if event.merchant_id != provider.merchant_id:
        raise Invalid("merchant_mismatch", "The notification is for another merchant.")
    stored = (await session.execute(
        text("INSERT INTO payment_events (provider, event_id, kind, business_key, payload, received_at) "
             "VALUES (:p, :e, :k, :b, CAST(:payload AS jsonb), :now) ON CONFLICT DO NOTHING RETURNING id"),
        {"p": provider.name, "e": event.event_id, "k": event.kind, "b": event.business_key,
         "payload": json.dumps(event.payload, default=str), "now": clock.now()},
    )).first()
    if stored is None:
        return False
    if event.kind == "payment.succeeded":
        await _payment_succeeded(session, provider.name, event)
    elif event.kind == "refund.succeeded":
        await _refund_outcome(session, event.business_key,
                              RefundSnapshot(event.business_key, "succeeded", event.provider_txn_id))
    elif event.kind == "refund.closed":
        await _refund_outcome(session, event.business_key,
                              RefundSnapshot(event.business_key, "failed", error="CLOSED by WeChat Pay"))
    elif event.kind == "refund.abnormal":
        await _refund_outcome(session, event.business_key, RefundSnapshot(
            event.business_key, "abnormal", event.provider_txn_id,
            error="ABNORMAL: the payer's account cannot receive it"))
    else:
        handler = _event_handlers.get(event.kind)
        if handler is None:
            raise BadRequest("unsupported_notification", f"Notifications of kind {event.kind} are not handled.")
        await handler(session, event)
    return True


async def _payment_succeeded(session: AsyncSession, provider: str, event: ProviderEvent) -> None:
    row = (await session.execute(
        text("SELECT id, shop_id, order_id, amount_fen, status FROM payments "
             "WHERE out_trade_no = :otn AND provider = :p"),
        {"otn": event.business_key, "p": provider},
    )).first()
    if row is None:
        raise NotFound("payment_not_found", "No payment with this out_trade_no.")
    if row.amount_fen != event.amount_fen:
        raise Invalid("amount_mismatch",
                      f"Notified amount {event.amount_fen} differs from the payment's {row.amount_fen} fen.")
    await session.execute(text("UPDATE payment_events SET shop_id = :s WHERE provider = :p AND event_id = :e"),
                          {"s": row.shop_id, "p": provider, "e": event.event_id})
    await mark_paid(session, payment_id=row.id, provider_txn_id=event.provider_txn_id, paid_at=event.occurred_at)


async def mark_paid(
    session: AsyncSession, *, payment_id: int, provider_txn_id: str | None, paid_at: datetime
) -> bool:
    """pending/closed → paid once; posts the ledger and publishes ``PaymentSucceeded``.

    A payment that was closed (its order cancelled) and is paid anyway is still money received:
    it is recorded, and the order module refunds it.
    """
    row = (await session.execute(
        text("UPDATE payments SET status = 'paid', paid_at = :at, provider_txn_id = :txn, next_check_at = NULL "
             "WHERE id = :id AND status IN ('pending', 'closed') "
             "RETURNING shop_id, order_id, out_trade_no, provider, amount_fen"),
        {"at": paid_at, "txn": provider_txn_id, "id": payment_id},
    )).first()
    if row is None:
        return False
    await ledger.post(session, shop_id=row.shop_id, kind="payment", ref=row.out_trade_no, order_id=row.order_id,
                      legs=[(cash(row.provider), row.amount_fen), (CUSTOMER_PREPAYMENTS, -row.amount_fen)])
    await bus.publish(session, PaymentSucceeded(
        shop_id=row.shop_id, payment_id=payment_id, order_id=row.order_id, out_trade_no=row.out_trade_no,
        provider=row.provider, amount_fen=row.amount_fen, paid_at=paid_at))
    return True


async def collect_cash(session: AsyncSession, shop_id: int, order_id: int) -> bool:
    """The shop records the cash of a cash-on-delivery order as collected."""
    row = (await session.execute(
        text("SELECT id, status FROM payments WHERE shop_id = :s AND order_id = :o AND provider = 'cod' "
             "ORDER BY id DESC LIMIT 1"), {"s": shop_id, "o": order_id})).first()
    if row is None:
        raise Conflict("not_cash_on_delivery", "This order is not paid by cash on delivery.")
    if row.status == "paid":
        return False
    if row.status != "pending":
        raise Conflict("payment_closed", "This order's payment was closed.")
    return await mark_paid(session, payment_id=row.id, provider_txn_id=None, paid_at=clock.now())


async def close_for_order(session: AsyncSession, shop_id: int, order_id: int) -> None:
    """Close the pending payment of a cancelled order, after commit, here and at the provider.

    Not done in the cancelling transaction: that one holds the order row, and a payment callback
    holds the payment row before it touches the order, so taking both here could deadlock. A payment
    that succeeds in between is refunded by the order module.
    """
    await outbox.enqueue(session, CLOSE_TOPIC, {"shop_id": shop_id, "order_id": order_id}, shop_id=shop_id,
                         dedupe_key=f"order:{order_id}")


async def start_refund(
    session: AsyncSession, *, shop_id: int, order_id: int, amount_fen: int, reason: str,
    refund_request_id: int | None,
) -> str:
    """Reserve the amount on the order's paid payment and ask the provider, after commit, to refund it.

    The reservation is one guarded UPDATE, so concurrent refunds can never exceed what was paid.
    """
    row = (await session.execute(
        text("UPDATE payments SET refunded_fen = refunded_fen + :a "
             "WHERE id = (SELECT id FROM payments WHERE shop_id = :s AND order_id = :o AND status = 'paid' "
             "ORDER BY id DESC LIMIT 1) AND refunded_fen + :a <= amount_fen "
             "RETURNING id, out_trade_no, provider, amount_fen, refunded_fen"),
        {"a": amount_fen, "s": shop_id, "o": order_id},
    )).first()
    if row is None:
        raise Conflict("refund_exceeds_payment", "Nothing or not that much is left to refund on this payment.")
    # Numbered per payment; the payment row is locked by the UPDATE above, so the count cannot race.
    # (Not derived from refunded_fen: a failed refund gives its reservation back.)
    refund = (await session.execute(
        text("INSERT INTO payment_refunds (shop_id, payment_id, order_id, refund_request_id, out_refund_no, "
             "amount_fen, reason, status, created_at) SELECT :s, :p, :o, :rr, "
             ":otn || 'R' || (count(*) + 1), :a, :reason, 'pending', :now FROM payment_refunds "
             "WHERE payment_id = :p RETURNING id, out_refund_no"),
        {"s": shop_id, "p": row.id, "o": order_id, "rr": refund_request_id, "otn": row.out_trade_no,
         "a": amount_fen, "reason": reason[:80], "now": clock.now()},
    )).one()
    refund_id, out_refund_no = int(refund.id), str(refund.out_refund_no)
    await outbox.enqueue(session, REFUND_TOPIC, {"refund_id": refund_id}, shop_id=shop_id, dedupe_key=out_refund_no)
    return out_refund_no


async def carry_out_refund(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Outbox handler: ask the provider to refund (idempotent on out_refund_no), then record the outcome."""
    refund = (await session.execute(
        text("SELECT r.id, r.out_refund_no, r.amount_fen, r.reason, r.status, p.out_trade_no, p.amount_fen AS "
             "total_fen, p.provider FROM payment_refunds r JOIN payments p ON p.id = r.payment_id "
             "WHERE r.id = :id FOR UPDATE OF r"), {"id": payload["refund_id"]},
    )).first()
    if refund is None or refund.status not in ("pending", "processing"):
        return
    provider = registry.by_name(refund.provider)
    if provider is None:
        raise LookupError(f"payment provider {refund.provider!r} is not installed")
    snapshot = await provider.refund(RefundCommand(
        out_trade_no=refund.out_trade_no, out_refund_no=refund.out_refund_no, refund_fen=refund.amount_fen,
        total_fen=refund.total_fen, reason=refund.reason))
    await _refund_outcome(session, refund.out_refund_no, snapshot)


async def _refund_outcome(session: AsyncSession, out_refund_no: str, snapshot: RefundSnapshot) -> None:
    if snapshot.status in ("processing", "abnormal"):
        # An abnormal refund keeps its reservation: the money left the merchant and waits for the
        # merchant to redirect it (WeChat's apply-abnormal-refund); we look again hourly.
        later = FIRST_CHECK_AFTER if snapshot.status == "processing" else timedelta(hours=1)
        await session.execute(
            text("UPDATE payment_refunds SET status = 'processing', next_check_at = :next, "
                 "last_error = coalesce(:err, last_error), "
                 "provider_refund_id = coalesce(:pid, provider_refund_id) "
                 "WHERE out_refund_no = :no AND status IN ('pending', 'processing')"),
            {"pid": snapshot.provider_refund_id, "no": out_refund_no, "err": snapshot.error,
             "next": clock.now() + later})
        return
    if snapshot.status == "failed":
        failed = (await session.execute(
            text("UPDATE payment_refunds SET status = 'failed', last_error = :err, next_check_at = NULL "
                 "WHERE out_refund_no = :no AND status IN ('pending', 'processing') RETURNING payment_id, amount_fen"),
            {"no": out_refund_no, "err": snapshot.error})).first()
        if failed is not None:  # release the reservation so the refund can be tried again
            await session.execute(text("UPDATE payments SET refunded_fen = refunded_fen - :a WHERE id = :p"),
                                  {"a": failed.amount_fen, "p": failed.payment_id})
        return
    row = (await session.execute(
        text("UPDATE payment_refunds r SET status = 'succeeded', succeeded_at = :now, next_check_at = NULL, "
             "last_error = NULL, provider_refund_id = coalesce(:pid, r.provider_refund_id) "
             "FROM payments p WHERE r.out_refund_no = :no AND r.status IN ('pending', 'processing') "
             "AND p.id = r.payment_id RETURNING r.id, r.shop_id, r.order_id, r.amount_fen, r.refund_request_id, "
             "p.provider"),
        {"now": clock.now(), "pid": snapshot.provider_refund_id, "no": out_refund_no},
    )).first()
    if row is None:
        return
    await ledger.post(session, shop_id=row.shop_id, kind="refund", ref=out_refund_no, order_id=row.order_id,
                      legs=[(CUSTOMER_PREPAYMENTS, row.amount_fen), (cash(row.provider), -row.amount_fen)])
    await bus.publish(session, RefundSucceeded(
        shop_id=row.shop_id, refund_id=row.id, order_id=row.order_id, out_refund_no=out_refund_no,
        amount_fen=row.amount_fen, refund_request_id=row.refund_request_id))


async def close_at_provider(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Outbox handler: pending → closed here, then at the provider; a payment that beat us is recorded.

    A last query comes first (WeChat may have taken the money while its notification is still on the
    way), and ORDERPAID on close means the same. Either way the payment is marked paid, and the order
    module refunds the cancelled order. A failure rolls the whole handler back and the outbox retries.
    """
    rows = (await session.execute(
        text("UPDATE payments SET status = 'closed', closed_at = :now, next_check_at = NULL "
             "WHERE shop_id = :s AND order_id = :o AND status = 'pending' "
             "RETURNING id, out_trade_no, provider, amount_fen"),
        {"now": clock.now(), "s": payload["shop_id"], "o": payload["order_id"]})).all()
    for row in rows:
        provider = registry.by_name(row.provider)
        if provider is None or Capability.ONLINE not in provider.capabilities:
            continue
        snapshot = await provider.query(row.out_trade_no)
        if snapshot is None or not snapshot.paid:
            try:
                await provider.close(row.out_trade_no)
                continue
            except AlreadyPaid:
                snapshot = await provider.query(row.out_trade_no)
        await _record_queried_payment(session, row.id, row.amount_fen, snapshot)


async def _record_queried_payment(session: AsyncSession, payment_id: int, amount_fen: int,
                                  snapshot: PaymentSnapshot | None) -> bool:
    if snapshot is None or not snapshot.paid:
        return False
    if snapshot.amount_fen != amount_fen:
        log.error("payment %s: provider reports %s fen paid, expected %s", payment_id, snapshot.amount_fen, amount_fen)
        return False
    return await mark_paid(session, payment_id=payment_id, provider_txn_id=snapshot.provider_txn_id,
                           paid_at=snapshot.paid_at or clock.now())


async def sweep_unconfirmed_payments(session: AsyncSession, now: datetime) -> int:
    """The reconciler: ask the provider about pending payments whose notification has not come."""
    rows = (await session.execute(
        text("SELECT id, out_trade_no, provider, amount_fen, created_at FROM payments "
             "WHERE status = 'pending' AND next_check_at <= :now ORDER BY next_check_at LIMIT :n "
             "FOR UPDATE SKIP LOCKED"), {"now": now, "n": SWEEP_BATCH})).all()
    for row in rows:
        provider = registry.by_name(row.provider)
        snapshot = None
        if provider is not None:
            try:
                snapshot = await provider.query(row.out_trade_no)
            except Exception as exc:  # one unreachable answer must not stop the sweep
                log.warning("payment %s: query failed (%s); will ask again", row.id, type(exc).__name__)
        if not await _record_queried_payment(session, row.id, row.amount_fen, snapshot):
            await session.execute(text("UPDATE payments SET next_check_at = :next WHERE id = :id"),
                                  {"next": now + _recheck_delay(now - row.created_at), "id": row.id})
    return len(rows)


async def sweep_processing_refunds(session: AsyncSession, now: datetime) -> int:
    """Refunds accepted but never confirmed by notification: ask the provider for the outcome."""
    rows = (await session.execute(
        text("SELECT r.id, r.out_refund_no, p.provider FROM payment_refunds r JOIN payments p ON p.id = r.payment_id "
             "WHERE r.status = 'processing' AND r.next_check_at <= :now ORDER BY r.next_check_at LIMIT :n "
             "FOR UPDATE OF r SKIP LOCKED"), {"now": now, "n": SWEEP_BATCH})).all()
    for row in rows:
        provider = registry.by_name(row.provider)
        try:
            if provider is None:
                raise LookupError(row.provider)
            snapshot = await provider.query_refund(row.out_refund_no)
        except Exception as exc:
            log.warning("refund %s: query failed (%s); will ask again", row.id, type(exc).__name__)
            snapshot = RefundSnapshot(row.out_refund_no, "processing")
        await _refund_outcome(session, row.out_refund_no, snapshot)
    return len(rows)


@dataclass(frozen=True)
class PaymentRef:
    id: int
    provider: str
    status: str
    amount_fen: int
    client_params: dict[str, Any]


async def payment_by_out_trade_no(session: AsyncSession, out_trade_no: str) -> PaymentRef:
    row = (await session.execute(
        text("SELECT id, provider, status, amount_fen, client_params FROM payments WHERE out_trade_no = :o"),
        {"o": out_trade_no})).first()
    if row is None:
        raise not_found("payment")
    return PaymentRef(id=row.id, provider=row.provider, status=row.status, amount_fen=row.amount_fen,
                      client_params=dict(row.client_params))


async def ledger_violations(session: AsyncSession) -> list[Violation]:
    """Every paid payment has its payment entry for the full amount; refunds match succeeded refunds.

    One statement for all payments (``liebian check`` after an incident must not issue a query per payment)."""
    found: list[Violation] = []
    rows = await session.execute(text(
        "WITH led AS (SELECT e.shop_id, e.order_id, e.account, "
        "coalesce(sum(e.amount_fen) FILTER (WHERE t.kind = 'payment'), 0) AS paid, "
        "-coalesce(sum(e.amount_fen) FILTER (WHERE t.kind = 'refund'), 0) AS refunded "
        "FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id "
        "WHERE t.kind IN ('payment', 'refund') AND e.order_id IS NOT NULL GROUP BY 1, 2, 3), "
        "p AS (SELECT p.shop_id, p.order_id, p.out_trade_no, p.provider, p.amount_fen, "
        "coalesce((SELECT sum(amount_fen) FROM payment_refunds r WHERE r.payment_id = p.id "
        "AND r.status = 'succeeded'), 0) AS refunded FROM payments p WHERE p.status = 'paid') "
        "SELECT p.shop_id, p.out_trade_no, p.amount_fen, p.refunded, coalesce(l.paid, 0) AS led_paid, "
        "coalesce(l.refunded, 0) AS led_refunded FROM p LEFT JOIN led l ON l.shop_id = p.shop_id "
        "AND l.order_id = p.order_id AND l.account = :cash || p.provider "
        "WHERE coalesce(l.paid, 0) <> p.amount_fen OR coalesce(l.refunded, 0) <> p.refunded"), {"cash": cash("")})
    for r in rows:
        if r.led_paid != r.amount_fen:
            found.append(Violation("paid_payment_has_entries",
                                   f"shop {r.shop_id} {r.out_trade_no}: ledger has {r.led_paid} of {r.amount_fen} fen"))
        if r.led_refunded != r.refunded:
            found.append(Violation("refunds_match_ledger",
                                   f"shop {r.shop_id} {r.out_trade_no}: ledger refunds {r.led_refunded}, "
                                   f"succeeded refunds {r.refunded} fen"))
    return found


async def refund_totals(session: AsyncSession, order_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per order: fen refunded or on its way back (reserved on its payments), and refunds not failed."""
    rows = await session.execute(
        text("SELECT p.order_id, p.refunded_fen, count(r.id) FILTER (WHERE r.status <> 'failed') AS refunds "
             "FROM payments p LEFT JOIN payment_refunds r ON r.payment_id = p.id WHERE p.order_id = ANY(:ids) "
             "GROUP BY p.id"), {"ids": order_ids})
    totals: dict[int, tuple[int, int]] = {}
    for r in rows:
        reserved, refunds = totals.get(r.order_id, (0, 0))
        totals[r.order_id] = (reserved + int(r.refunded_fen), refunds + int(r.refunds))
    return totals


async def paid_order_ids(session: AsyncSession, order_ids: list[int]) -> set[int]:
    rows = await session.execute(
        text("SELECT order_id FROM payments WHERE status = 'paid' AND order_id = ANY(:ids)"), {"ids": order_ids})
    return {r.order_id for r in rows}
