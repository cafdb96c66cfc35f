"""Withdrawals of a customer's balance to their WeChat balance (商家转账), on the ledger.

Money: a customer's balance is the credit on ``payable:customer:{id}`` (commissions credit it). A
request moves the amount to ``transfers_in_flight`` in the transaction that records the bill, under
a per-customer lock, so concurrent requests can never take more than the balance. The provider is
called after commit (outbox). A bill ends ``succeeded`` (in flight → cash at the provider) or
``failed``/``cancelled`` (in flight → back to the customer's balance); each movement is posted once,
keyed by the bill number, and each state change is a guarded UPDATE, so notifications, the
reconciler and retries may all report the same ending.

A bill never changes its ``out_bill_no``: after an unknown outcome the same number is asked about
and, if the provider has nothing, created again (``payouts.gateway``). Only a definite refusal or
failure ends a bill and gives the money back; the customer may then ask again, under a new number.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.customers import service as customers
from liebian.events import TransferEnded
from liebian.integrations.wechat.pay.transfers import MAX_REMARK, MIN_TRANSFER_FEN, NAME_REQUIRED_FROM_FEN
from liebian.kit import outbox
from liebian.kit.checks import Violation
from liebian.kit.clock import clock
from liebian.kit.errors import BadRequest, Conflict, Invalid, not_found
from liebian.kit.events import bus
from liebian.kit.ids import order_number, token
from liebian.kit.sql import text
from liebian.ledger import service as ledger
from liebian.ledger.rules import TRANSFERS_IN_FLIGHT, cash, payable_to_customer
from liebian.payments.providers import ProviderEvent
from liebian.payouts.gateway import (
    TransferCommand,
    TransferGateway,
    TransferOutcomeUnknown,
    TransferRefused,
    TransferResult,
    registry,
)
from liebian.payouts.models import OPEN_STATES
from liebian.payouts.wechat import result_from_wechat

log = logging.getLogger(__name__)

TRANSFER_TOPIC = "payouts.transfer"
CANCEL_TOPIC = "payouts.cancel"
# An unconfirmed bill closes at the provider after 24 hours; we ask a little after that if no word came.
CONFIRM_WINDOW = timedelta(hours=24)
CONFIRM_GRACE = timedelta(minutes=10)
# Bills not yet sent are looked at by the reconciler after this, in case their outbox message is stuck.
SAFETY_NET = timedelta(minutes=5)
PROCESSING_RECHECK = timedelta(minutes=1)
# One bill per transaction: each is settled with calls to WeChat while its row is locked, and a
# notification or a cancel for any other bill must not wait behind them.
SWEEP_BATCH = 1
OPEN = repr(OPEN_STATES)  # the SQL list: ('requested', 'wait_user_confirm', 'processing')
_COLUMNS = ("id, shop_id, customer_id, provider, openid, out_bill_no, amount_fen, remark, user_name, state, "
            "package_info, transfer_bill_no, attempts, last_error, created_at, finished_at")


@dataclass(frozen=True)
class TransferView:
    out_bill_no: str
    customer_id: int
    amount_fen: int
    state: str
    package_info: str | None
    transfer_bill_no: str | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


def _view(row: Row[Any]) -> TransferView:
    return TransferView(out_bill_no=row.out_bill_no, customer_id=row.customer_id, amount_fen=row.amount_fen,
                        state=row.state, package_info=row.package_info, transfer_bill_no=row.transfer_bill_no,
                        last_error=row.last_error, created_at=row.created_at, finished_at=row.finished_at)


def new_out_bill_no(now: datetime) -> str:
    """``PO`` + date + random: 24 letters and digits, within WeChat's 32 ``[0-9A-Za-z]``."""
    return "PO" + order_number(now) + token(6)


# --- balances ----------------------------------------------------------------------------------------

async def lock_balance(session: AsyncSession, shop_id: int, customer_id: int) -> None:
    """Serialise everything that takes money out of one customer's balance, until commit.

    Anything else that debits ``payable:customer:{id}`` (a commission reversed by a refund) must
    take this lock first too. Credits need no lock: they cannot make the balance negative.
    """
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                          {"k": f"payouts:{shop_id}:{customer_id}"})


async def available_fen(session: AsyncSession, shop_id: int, customer_id: int) -> int:
    """What the shop owes the customer and they may withdraw (the liability's credit balance)."""
    total = (await session.execute(
        text("SELECT coalesce(sum(amount_fen), 0) FROM ledger_entries WHERE shop_id = :s AND account = :a"),
        {"s": shop_id, "a": payable_to_customer(customer_id)})).scalar_one()
    return -int(total)


# --- requesting --------------------------------------------------------------------------------------

def _check_request(amount_fen: int, remark: str, user_name: str | None) -> None:
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen < MIN_TRANSFER_FEN:
        raise Invalid("transfer_too_small", f"A withdrawal is at least {MIN_TRANSFER_FEN} fen (0.1 CNY).")
    if amount_fen >= NAME_REQUIRED_FROM_FEN and not (user_name and user_name.strip()):
        raise Invalid("real_name_required", "Withdrawals of 2,000 CNY or more need the payee's real name.")
    if user_name is not None and not 0 < len(user_name) <= 64:
        raise Invalid("invalid_real_name", "The real name must be 1-64 characters.")
    if not 0 < len(remark) <= MAX_REMARK:
        raise Invalid("invalid_remark", f"The remark (shown to the customer) must be 1-{MAX_REMARK} characters.")


async def request_transfer(
    session: AsyncSession, *, shop_id: int, customer_id: int, amount_fen: int, remark: str,
    user_name: str | None = None,
) -> TransferView:
    """Take ``amount_fen`` out of the customer's balance and send it to their WeChat balance after commit.

    The payee is always the customer's own payer openid, read from the customers service, never taken
    from a caller. Raises ``Invalid`` (amount, remark, real name), ``NotFound`` (customer), ``Conflict``
    ``insufficient_balance``, ``ServiceUnavailable`` when no gateway is installed.
    """
    _check_request(amount_fen, remark, user_name)
    gateway = registry.default()
    openid = (await customers.payer(session, shop_id, customer_id)).openid
    await lock_balance(session, shop_id, customer_id)
    available = await available_fen(session, shop_id, customer_id)
    if amount_fen > available:
        raise Conflict("insufficient_balance", "The balance is smaller than the amount asked for.",
                       available_fen=available)
    now = clock.now()
    row = (await session.execute(
        text("INSERT INTO transfer_bills (shop_id, customer_id, provider, openid, out_bill_no, amount_fen, remark, "
             "user_name, state, created_at, updated_at, next_check_at) VALUES (:s, :c, :p, :o, :no, :a, :r, :u, "
             f"'requested', :now, :now, :next) RETURNING {_COLUMNS}"),
        {"s": shop_id, "c": customer_id, "p": gateway.name, "o": openid, "no": new_out_bill_no(now),
         "a": amount_fen, "r": remark, "u": user_name, "now": now, "next": now + SAFETY_NET},
    )).one()
    await ledger.post(session, shop_id=shop_id, kind="transfer", ref=row.out_bill_no, memo="withdrawal",
                      legs=[(payable_to_customer(customer_id), amount_fen), (TRANSFERS_IN_FLIGHT, -amount_fen)])
    await outbox.enqueue(session, TRANSFER_TOPIC, {"bill_id": row.id}, shop_id=shop_id, dedupe_key=row.out_bill_no)
    return _view(row)


async def _locked(session: AsyncSession, where: str, params: Mapping[str, Any]) -> Row[Any] | None:
    return (await session.execute(
        text(f"SELECT {_COLUMNS} FROM transfer_bills WHERE {where} FOR UPDATE"), dict(params))).first()


def _gateway(provider: str) -> TransferGateway:
    gateway = registry.by_name(provider)
    if gateway is None:
        raise LookupError(f"transfer gateway {provider!r} is not installed")
    return gateway


async def carry_out_transfer(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Outbox handler: create the bill at the provider (idempotent on out_bill_no) and record the answer."""
    bill = await _locked(session, "id = :id", {"id": payload["bill_id"]})
    if bill is None or bill.state != "requested":
        return
    await _attempt(session, bill, attempted_before=bill.attempts > 0)


async def _attempt(session: AsyncSession, bill: Row[Any], *, attempted_before: bool) -> None:
    gateway = _gateway(bill.provider)
    await session.execute(text("UPDATE transfer_bills SET attempts = attempts + 1 WHERE id = :id"), {"id": bill.id})
    cmd = TransferCommand(out_bill_no=bill.out_bill_no, openid=bill.openid, amount_fen=bill.amount_fen,
                          remark=bill.remark, user_name=bill.user_name)
    try:
        result = await gateway.transfer(cmd, attempted_before=attempted_before)
    except TransferOutcomeUnknown as exc:
        log.warning("transfer %s: outcome unknown (%s); will ask again", bill.id, exc)
        await _retry_later(session, bill.id, bill.attempts + 1, str(exc))
        return
    except TransferRefused as exc:
        # Definite: no bill exists under this number, so the money can go back to the customer.
        result = TransferResult(out_bill_no=bill.out_bill_no, state="failed", reason=f"{exc.code}: {exc.message}")
    await _apply(session, bill, result)


async def _retry_later(session: AsyncSession, bill_id: int, attempts: int, error: str) -> None:
    delay = timedelta(minutes=min(2 ** min(attempts, 6), 60))
    await session.execute(
        text("UPDATE transfer_bills SET next_check_at = :next, last_error = :err, updated_at = :now "
             f"WHERE id = :id AND state IN {OPEN}"),
        {"next": clock.now() + delay, "err": error[:500], "now": clock.now(), "id": bill_id})


# --- outcomes ----------------------------------------------------------------------------------------

async def _apply(session: AsyncSession, bill: Row[Any], result: TransferResult, event_id: str | None = None) -> bool:
    """Record what the provider says; True when the bill reached its final state now."""
    if result.amount_fen is not None and result.amount_fen != bill.amount_fen:
        log.error("transfer %s: provider reports %s fen, bill is %s", bill.out_bill_no, result.amount_fen,
                  bill.amount_fen)
        raise Invalid("transfer_amount_mismatch", "The provider reports another amount for this bill.")
    now = clock.now()
    params = {"id": bill.id, "st": result.state, "tb": result.transfer_bill_no, "ev": event_id, "now": now}
    if not result.final:
        # Waiting for the customer: look again once the provider's 24 hours are over, unless told sooner.
        deadline = bill.created_at + CONFIRM_WINDOW + CONFIRM_GRACE
        later = max(deadline, now + CONFIRM_GRACE) if result.state == "wait_user_confirm" else now + PROCESSING_RECHECK
        await session.execute(
            text("UPDATE transfer_bills SET state = :st, package_info = coalesce(:pkg, package_info), "
                 "transfer_bill_no = coalesce(:tb, transfer_bill_no), last_event_id = coalesce(:ev, last_event_id), "
                 f"next_check_at = :next, last_error = NULL, updated_at = :now WHERE id = :id AND state IN {OPEN}"),
            {**params, "pkg": result.package_info, "next": later})
        return False
    row = (await session.execute(
        text("UPDATE transfer_bills SET state = :st, finished_at = :now, updated_at = :now, next_check_at = NULL, "
             "package_info = NULL, user_name = NULL, last_error = :err, "
             "transfer_bill_no = coalesce(:tb, transfer_bill_no), last_event_id = coalesce(:ev, last_event_id) "
             f"WHERE id = :id AND state IN {OPEN} RETURNING shop_id, customer_id, out_bill_no, amount_fen, provider"),
        {**params, "err": result.reason})).first()
    if row is None:
        if bill.state != result.state:  # e.g. refused here, yet the provider paid: people must look
            log.error("transfer %s: already %s, provider now says %s", bill.out_bill_no, bill.state, result.state)
        return False
    await _post_ending(session, row, result.state)
    return True


async def _post_ending(session: AsyncSession, row: Row[Any], state: str) -> None:
    amount = row.amount_fen
    # Paid out: the provider's cash goes down. Failed or cancelled: the customer is owed it again.
    kind, to = (("transfer.paid", cash(row.provider)) if state == "succeeded"
                else ("transfer.returned", payable_to_customer(row.customer_id)))
    legs = [(TRANSFERS_IN_FLIGHT, amount), (to, -amount)]
    await ledger.post(session, shop_id=row.shop_id, kind=kind, ref=row.out_bill_no, legs=legs)
    # Whoever asked for the transfer (distribution's withdrawals) settles its own books in this transaction.
    await bus.publish(session, TransferEnded(shop_id=row.shop_id, customer_id=row.customer_id,
                                             out_bill_no=row.out_bill_no, amount_fen=amount, state=state))


async def on_transfer_finished(session: AsyncSession, resource: Mapping[str, Any], event_id: str) -> bool:
    """A verified, decrypted ``MCHTRANSFER.BILL.FINISHED`` resource; True when it changed the bill.

    Idempotent: duplicates and endings the reconciler already recorded change nothing.
    """
    result = result_from_wechat(resource)
    if not result.out_bill_no:
        raise BadRequest("invalid_notification", "The transfer notification names no bill.")
    bill = await _locked(session, "out_bill_no = :no", {"no": result.out_bill_no})
    if bill is None:
        raise not_found("transfer")
    if resource.get("openid") not in (None, bill.openid):
        raise Invalid("transfer_payee_mismatch", "The notification names another payee for this bill.")
    return await _apply(session, bill, result, event_id)


async def on_transfer_event(session: AsyncSession, event: ProviderEvent) -> None:
    """The payments inbox's handler for ``transfer.finished`` (it has verified and stored the event)."""
    await on_transfer_finished(session, event.payload, event.event_id)


# --- the reconciler ----------------------------------------------------------------------------------

async def sweep_transfers(session: AsyncSession, now: datetime) -> int:
    """Ask the provider about bills with no word: unknown outcomes, past 24 h unconfirmed, processing."""
    rows = (await session.execute(
        text(f"SELECT {_COLUMNS} FROM transfer_bills WHERE state IN {OPEN} AND next_check_at <= :now "
             "ORDER BY next_check_at LIMIT :n FOR UPDATE SKIP LOCKED"), {"now": now, "n": SWEEP_BATCH})).all()
    for bill in rows:
        try:
            async with session.begin_nested():
                if bill.package_info is None:
                    # Sent, maybe (or accepted without a package): ask about the same number, and create
                    # it again only under that number — which also recovers a missing package_info.
                    await _attempt(session, bill, attempted_before=True)
                else:
                    await _reconcile(session, bill)
        except Exception as exc:  # one unreachable answer must not stop the sweep
            log.warning("transfer %s: reconcile failed (%s); will ask again", bill.id, type(exc).__name__)
            await _retry_later(session, bill.id, bill.attempts + 1, f"{type(exc).__name__}: {exc}")
    return len(rows)


async def _reconcile(session: AsyncSession, bill: Row[Any]) -> None:
    result = await _gateway(bill.provider).query(bill.out_bill_no)
    if result is None:
        # The provider has no such bill although it accepted it once (or it is past its 30-day query window).
        log.error("transfer %s: unknown to the provider while %s", bill.out_bill_no, bill.state)
        await _retry_later(session, bill.id, 6, "the provider does not know this bill")
        return
    await _apply(session, bill, result)


# --- the customer's side -----------------------------------------------------------------------------

async def get_transfer(session: AsyncSession, *, shop_id: int, out_bill_no: str) -> TransferView:
    row = (await session.execute(
        text(f"SELECT {_COLUMNS} FROM transfer_bills WHERE shop_id = :s AND out_bill_no = :no"),
        {"s": shop_id, "no": out_bill_no})).first()
    if row is None:
        raise not_found("transfer")
    return _view(row)


async def transfer_states(session: AsyncSession, *, shop_id: int, out_bill_nos: list[str]) -> dict[str, str]:
    """The state of several bills in one statement (the console's withdrawal list)."""
    if not out_bill_nos:
        return {}
    rows = await session.execute(text("SELECT out_bill_no, state FROM transfer_bills WHERE shop_id = :s "
                                      "AND out_bill_no = ANY(:nos)"), {"s": shop_id, "nos": out_bill_nos})
    return {r.out_bill_no: r.state for r in rows}


async def confirm_params(session: AsyncSession, *, shop_id: int, customer_id: int, out_bill_no: str) -> dict[str, str]:
    """The ``wx.requestMerchantTransfer`` parameters for a bill waiting for this customer."""
    row = (await session.execute(
        text("SELECT provider, openid, state, package_info FROM transfer_bills "
             "WHERE shop_id = :s AND customer_id = :c AND out_bill_no = :no"),
        {"s": shop_id, "c": customer_id, "no": out_bill_no})).first()
    if row is None:
        raise not_found("transfer")
    if row.state != "wait_user_confirm" or not row.package_info:
        raise Conflict("transfer_not_awaiting_confirmation", "This withdrawal is not waiting for confirmation.")
    return _gateway(row.provider).confirm_params(row.package_info, row.openid)


async def cancel_transfer(session: AsyncSession, *, shop_id: int, customer_id: int, out_bill_no: str) -> TransferView:
    """Withdraw a bill the customer has not accepted; the money returns when the provider confirms."""
    bill = await _locked(session, "shop_id = :s AND customer_id = :c AND out_bill_no = :no",
                         {"s": shop_id, "c": customer_id, "no": out_bill_no})
    if bill is None:
        raise not_found("transfer")
    if bill.state == "cancelled":
        return _view(bill)
    if bill.state != "wait_user_confirm":
        raise Conflict("transfer_not_cancellable", "Only a withdrawal waiting for confirmation can be cancelled.")
    await outbox.enqueue(session, CANCEL_TOPIC, {"bill_id": bill.id}, shop_id=shop_id, dedupe_key=out_bill_no)
    return _view(bill)


async def carry_out_cancel(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Outbox handler: cancel at the provider; if it is too late (accepted meanwhile), record what happened."""
    bill = await _locked(session, "id = :id", {"id": payload["bill_id"]})
    if bill is None or bill.state != "wait_user_confirm":
        return
    gateway = _gateway(bill.provider)
    try:
        result: TransferResult | None = await gateway.cancel(bill.out_bill_no)
    except TransferRefused as exc:
        log.info("transfer %s: cancel refused (%s); asking for its state", bill.id, exc.code)
        result = await gateway.query(bill.out_bill_no)
    if result is not None:
        await _apply(session, bill, result)


# --- invariants --------------------------------------------------------------------------------------

async def ledger_violations(session: AsyncSession) -> list[Violation]:
    """Open bills hold their amount in flight, ended ones posted exactly their ending; no balance below zero."""
    found: list[Violation] = []
    rows = await session.execute(text(
        "SELECT b.shop_id, b.out_bill_no, b.state, b.amount_fen, "
        "coalesce(sum(e.amount_fen) FILTER (WHERE e.account = :flight), 0) AS flight, "
        "count(DISTINCT t.id) FILTER (WHERE t.kind = 'transfer') AS sent, "
        "count(DISTINCT t.id) FILTER (WHERE t.kind = 'transfer.paid') AS paid, "
        "count(DISTINCT t.id) FILTER (WHERE t.kind = 'transfer.returned') AS returned "
        "FROM transfer_bills b LEFT JOIN ledger_transactions t ON t.shop_id = b.shop_id AND t.ref = b.out_bill_no "
        "AND t.kind IN ('transfer', 'transfer.paid', 'transfer.returned') "
        "LEFT JOIN ledger_entries e ON e.transaction_id = t.id GROUP BY b.id"), {"flight": TRANSFERS_IN_FLIGHT})
    for r in rows:
        open_ = r.state in OPEN_STATES
        expected = (-r.amount_fen if open_ else 0, 1, int(r.state == "succeeded"),
                    int(r.state in ("failed", "cancelled")))
        if (int(r.flight), r.sent, r.paid, r.returned) != expected:
            found.append(Violation("transfer_matches_ledger",
                                   f"shop {r.shop_id} {r.out_bill_no} ({r.state}): in flight {r.flight}, "
                                   f"posted {r.sent}/{r.paid}/{r.returned}"))
    for r in await session.execute(text(
            "SELECT shop_id, account, sum(amount_fen) AS s FROM ledger_entries WHERE account LIKE 'payable:customer:%' "
            "GROUP BY shop_id, account HAVING sum(amount_fen) > 0")):
        found.append(Violation("customer_balance_not_negative", f"shop {r.shop_id} {r.account}: {-r.s} fen"))
    return found
