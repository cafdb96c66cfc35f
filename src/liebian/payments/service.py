"""Payment state, the callback inbox and refunds.

Every state change is a guarded UPDATE on ``status``; every notification is stored once by
(provider, event id) before it is acted on; ledger postings are keyed so they happen once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.events import PaymentSucceeded, RefundSucceeded
from liebian.kit import outbox
from liebian.kit.checks import Violation
from liebian.kit.clock import clock
from liebian.kit.errors import Conflict, Invalid, NotFound, not_found
from liebian.kit.events import bus
from liebian.ledger import service as ledger
from liebian.ledger.rules import CUSTOMER_PREPAYMENTS, cash
from liebian.payments.providers import (
    CreatePayment,
    PaymentIntent,
    ProviderEvent,
    RefundCommand,
    RefundSnapshot,
    registry,
)

REFUND_TOPIC = "payments.refund"
CLOSE_TOPIC = "payments.close"


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
    await session.execute(
        text("INSERT INTO payments (shop_id, order_id, out_trade_no, provider, amount_fen, status, description, "
             "payer_openid, client_params, created_at, expires_at) VALUES (:shop, :order, :otn, :provider, "
             ":amount, 'pending', :desc, :openid, CAST(:params AS jsonb), :now, :expires)"),
        {"shop": shop_id, "order": order_id, "otn": intent.out_trade_no, "provider": provider.name,
         "amount": amount_fen, "desc": description[:127], "openid": payer_openid,
         "params": json.dumps(intent.client_params), "now": clock.now(), "expires": expires_at},
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
    elif event.kind in ("refund.closed", "refund.abnormal"):
        await _refund_outcome(session, event.business_key, RefundSnapshot(event.business_key, "failed"))
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
        text("UPDATE payments SET status = 'paid', paid_at = :at, provider_txn_id = :txn "
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
    if snapshot.status == "processing":
        await session.execute(
            text("UPDATE payment_refunds SET status = 'processing', provider_refund_id = :pid "
                 "WHERE out_refund_no = :no AND status = 'pending'"),
            {"pid": snapshot.provider_refund_id, "no": out_refund_no})
        return
    if snapshot.status == "failed":
        failed = (await session.execute(
            text("UPDATE payment_refunds SET status = 'failed' WHERE out_refund_no = :no "
                 "AND status IN ('pending', 'processing') RETURNING payment_id, amount_fen"),
            {"no": out_refund_no})).first()
        if failed is not None:  # release the reservation so the refund can be tried again
            await session.execute(text("UPDATE payments SET refunded_fen = refunded_fen - :a WHERE id = :p"),
                                  {"a": failed.amount_fen, "p": failed.payment_id})
        return
    row = (await session.execute(
        text("UPDATE payment_refunds r SET status = 'succeeded', succeeded_at = :now, provider_refund_id = :pid "
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
    """Outbox handler: pending → closed here, then close the order at the provider (idempotent there)."""
    rows = (await session.execute(
        text("UPDATE payments SET status = 'closed', closed_at = :now "
             "WHERE shop_id = :s AND order_id = :o AND status = 'pending' RETURNING out_trade_no, provider"),
        {"now": clock.now(), "s": payload["shop_id"], "o": payload["order_id"]})).all()
    for row in rows:
        provider = registry.by_name(row.provider)
        if provider is not None:
            await provider.close(row.out_trade_no)


async def payment_by_out_trade_no(session: AsyncSession, out_trade_no: str) -> tuple[int, str, str, int]:
    row = (await session.execute(
        text("SELECT id, provider, status, amount_fen FROM payments WHERE out_trade_no = :o"),
        {"o": out_trade_no})).first()
    if row is None:
        raise not_found("payment")
    return row.id, row.provider, row.status, row.amount_fen


async def ledger_violations(session: AsyncSession) -> list[Violation]:
    """Every paid payment has its payment entry for the full amount; refunds match succeeded refunds."""
    found: list[Violation] = []
    rows = await session.execute(text(
        "SELECT p.shop_id, p.order_id, p.out_trade_no, p.provider, p.amount_fen, "
        "coalesce((SELECT sum(amount_fen) FROM payment_refunds r WHERE r.payment_id = p.id "
        "AND r.status = 'succeeded'), 0) AS refunded FROM payments p WHERE p.status = 'paid'"))
    for r in rows:
        entries = await ledger.order_entries(session, r.shop_id, r.order_id)
        account = cash(r.provider)
        paid = sum(a for kind, acc, a in entries if kind == "payment" and acc == account)
        refunded = -sum(a for kind, acc, a in entries if kind == "refund" and acc == account)
        if paid != r.amount_fen:
            found.append(Violation("paid_payment_has_entries",
                                   f"shop {r.shop_id} {r.out_trade_no}: ledger has {paid} of {r.amount_fen} fen"))
        if refunded != r.refunded:
            found.append(Violation("refunds_match_ledger",
                                   f"shop {r.shop_id} {r.out_trade_no}: ledger refunds {refunded}, "
                                   f"succeeded refunds {r.refunded} fen"))
    return found


async def paid_order_ids(session: AsyncSession, order_ids: list[int]) -> set[int]:
    rows = await session.execute(
        text("SELECT order_id FROM payments WHERE status = 'paid' AND order_id = ANY(:ids)"), {"ids": order_ids})
    return {r.order_id for r in rows}
