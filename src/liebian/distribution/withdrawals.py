"""Promoters' withdrawals: minimum, fee, daily limit, console approval (or auto-approval up to a limit), and
the payout through ``payouts`` (sandbox, or a WeChat merchant transfer the promoter confirms within 24 h).

No double spend: a request holds its amount off the withdrawable balance (``withdrawal_held``) in the
transaction that checks the balance, under the payouts per-customer lock, so two concurrent requests
see each other's hold and cannot take the same money. Approval releases the hold into a transfer bill
(amount − fee) and the fee, in one transaction; rejection releases it back. A transfer that fails or
expires unconfirmed gives the bill's amount back (``payouts``) and the fee with it (here).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.customers import service as customers
from liebian.distribution import promoters
from liebian.distribution import rules as dist
from liebian.events import TransferEnded
from liebian.integrations.wechat.pay.transfers import NAME_REQUIRED_FROM_FEN
from liebian.kit.clock import clock
from liebian.kit.errors import Conflict, Invalid, not_found
from liebian.kit.ids import SHANGHAI
from liebian.kit.sql import text
from liebian.ledger import service as ledger
from liebian.ledger.rules import WITHDRAWAL_FEES, payable_to_customer, withdrawal_held
from liebian.payouts import service as payouts

REMARK = "推广佣金提现"
_COLUMNS = ("id, shop_id, customer_id, amount_fen, fee_fen, state, out_bill_no, auto_approved, reject_reason, "
            "created_at, decided_at, finished_at")
_CONFLICTS = {"withdrawal_daily_limit": "This would pass the shop's daily withdrawal limit.",
              "insufficient_balance": "The withdrawable balance is smaller than the amount asked for."}


def view(row: Row[Any]) -> dict[str, Any]:
    data = dict(row._mapping)
    data.pop("shop_id", None)
    data["net_fen"] = data["amount_fen"] - data["fee_fen"]
    return data


def _day_start(now: datetime) -> datetime:
    """Midnight in Shanghai: a promoter's "day" is the one on their phone."""
    local = now.astimezone(SHANGHAI)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


async def _withdrawn_today(session: AsyncSession, shop_id: int, customer_id: int, now: datetime) -> int:
    return int((await session.execute(
        text("SELECT coalesce(sum(amount_fen), 0) FROM distribution_withdrawals WHERE shop_id = :s "
             "AND customer_id = :c "
             "AND created_at >= :since AND state NOT IN ('rejected', 'failed')"),
        {"s": shop_id, "c": customer_id, "since": _day_start(now)})).scalar_one())


MAX_SINGLE_FEN = NAME_REQUIRED_FROM_FEN - 1  # the largest single withdrawal (see ``request``)


async def withdrawn_today(session: AsyncSession, shop_id: int, customer_id: int) -> int:
    """What counts against the customer's daily limit right now."""
    return await _withdrawn_today(session, shop_id, customer_id, clock.now())


async def request(session: AsyncSession, shop_id: int, customer_id: int, amount_fen: int) -> dict[str, Any]:
    settings = await promoters.settings_of(session, shop_id)
    if amount_fen >= NAME_REQUIRED_FROM_FEN:  # WeChat would need the payee's real name; we keep none
        raise Invalid("withdrawal_too_large", "A single withdrawal is below 2,000 CNY; split larger amounts.",
                      max_fen=MAX_SINGLE_FEN)
    await payouts.lock_balance(session, shop_id, customer_id)
    now = clock.now()
    available = await payouts.available_fen(session, shop_id, customer_id)
    refusal = dist.check_withdrawal(settings, amount_fen, await _withdrawn_today(session, shop_id, customer_id, now),
                                    available)
    if refusal == "withdrawal_below_minimum":
        raise Invalid(refusal, f"A withdrawal is at least {settings.withdrawal_min_fen} fen (after the fee, 10).",
                      min_fen=settings.withdrawal_min_fen)
    if refusal is not None:
        raise Conflict(refusal, _CONFLICTS[refusal], available_fen=available)
    row = (await session.execute(
        text("INSERT INTO distribution_withdrawals (shop_id, customer_id, amount_fen, fee_fen, state, created_at) "
             f"VALUES (:s, :c, :a, :f, 'pending_review', :now) RETURNING {_COLUMNS}"),
        {"s": shop_id, "c": customer_id, "a": amount_fen,
         "f": dist.withdrawal_fee(amount_fen, settings.withdrawal_fee_bps), "now": now})).one()
    await ledger.post(session, shop_id=shop_id, kind="withdrawal.hold", ref=f"w:{row.id}", memo="withdrawal held",
                      legs=[(payable_to_customer(customer_id), amount_fen),
                            (withdrawal_held(customer_id), -amount_fen)])
    if amount_fen <= settings.withdrawal_auto_approve_fen:
        return await _approve(session, row, auto=True)
    return view(row)


async def _locked(session: AsyncSession, shop_id: int, withdrawal_id: int) -> Row[Any]:
    row = (await session.execute(
        text(f"SELECT {_COLUMNS} FROM distribution_withdrawals WHERE id = :id AND shop_id = :s FOR UPDATE"),
        {"id": withdrawal_id, "s": shop_id})).first()
    if row is None:
        raise not_found("withdrawal")
    if row.state != "pending_review":
        raise Conflict("withdrawal_decided", f"This withdrawal is already {row.state}.", state=row.state)
    return row


def _release(row: Row[Any]) -> list[tuple[str, int]]:
    return [(withdrawal_held(row.customer_id), row.amount_fen), (payable_to_customer(row.customer_id), -row.amount_fen)]


async def _approve(session: AsyncSession, row: Row[Any], *, auto: bool) -> dict[str, Any]:
    """Hold → the transfer bill (amount − fee) and the fee, in this transaction, under the balance lock."""
    await payouts.lock_balance(session, row.shop_id, row.customer_id)
    await ledger.post(session, shop_id=row.shop_id, kind="withdrawal.release", ref=f"w:{row.id}", legs=_release(row))
    if row.fee_fen:
        await ledger.post(session, shop_id=row.shop_id, kind="withdrawal.fee", ref=f"w:{row.id}",
                          legs=[(payable_to_customer(row.customer_id), row.fee_fen), (WITHDRAWAL_FEES, -row.fee_fen)])
    bill = await payouts.request_transfer(session, shop_id=row.shop_id, customer_id=row.customer_id,
                                          amount_fen=row.amount_fen - row.fee_fen, remark=REMARK)
    done = (await session.execute(
        text("UPDATE distribution_withdrawals SET state = 'transferring', out_bill_no = :no, auto_approved = :auto, "
             f"decided_at = :now WHERE id = :id AND state = 'pending_review' RETURNING {_COLUMNS}"),
        {"no": bill.out_bill_no, "auto": auto, "now": clock.now(), "id": row.id})).one()
    return view(done)


async def approve(session: AsyncSession, shop_id: int, withdrawal_id: int) -> dict[str, Any]:
    return await _approve(session, await _locked(session, shop_id, withdrawal_id), auto=False)


async def reject(session: AsyncSession, shop_id: int, withdrawal_id: int, reason: str) -> dict[str, Any]:
    row = await _locked(session, shop_id, withdrawal_id)
    await ledger.post(session, shop_id=shop_id, kind="withdrawal.release", ref=f"w:{row.id}", legs=_release(row))
    done = (await session.execute(
        text("UPDATE distribution_withdrawals SET state = 'rejected', reject_reason = :r, decided_at = :now, "
             f"finished_at = :now WHERE id = :id RETURNING {_COLUMNS}"),
        {"r": reason, "now": clock.now(), "id": row.id})).one()
    return view(done)


async def on_transfer_ended(session: AsyncSession, event: TransferEnded) -> None:
    """The bill is final: paid, or its amount is back in the balance — and then so is the fee."""
    row = (await session.execute(
        text("UPDATE distribution_withdrawals SET state = :st, finished_at = :now WHERE shop_id = :s "
             "AND out_bill_no = :no AND state = 'transferring' RETURNING id, customer_id, fee_fen"),
        {"st": "paid" if event.state == "succeeded" else "failed", "now": clock.now(), "s": event.shop_id,
         "no": event.out_bill_no})).first()
    if row is None or event.state == "succeeded" or not row.fee_fen:
        return
    await ledger.post(session, shop_id=event.shop_id, kind="withdrawal.fee_return", ref=f"w:{row.id}",
                      legs=[(WITHDRAWAL_FEES, row.fee_fen), (payable_to_customer(row.customer_id), -row.fee_fen)])


async def list_withdrawals(session: AsyncSession, shop_id: int, *, customer_id: int | None = None,
                           state: str | None = None, limit: int = 20, offset: int = 0) -> list[dict[str, Any]]:
    rows = await session.execute(
        text(f"SELECT {_COLUMNS} FROM distribution_withdrawals WHERE shop_id = :s "
             "AND (CAST(:c AS bigint) IS NULL OR customer_id = :c) AND (CAST(:st AS text) IS NULL OR state = :st) "
             "ORDER BY id DESC LIMIT :n OFFSET :o"),
        {"s": shop_id, "c": customer_id, "st": state, "n": limit, "o": offset})
    return [view(r) for r in rows]


async def get(session: AsyncSession, shop_id: int, withdrawal_id: int,
              customer_id: int | None = None) -> dict[str, Any]:
    row = (await session.execute(
        text(f"SELECT {_COLUMNS} FROM distribution_withdrawals WHERE id = :id AND shop_id = :s "
             "AND (CAST(:c AS bigint) IS NULL OR customer_id = :c)"),
        {"id": withdrawal_id, "s": shop_id, "c": customer_id})).first()
    if row is None:
        raise not_found("withdrawal")
    return view(row)



async def console_list(session: AsyncSession, shop_id: int, *, state: str | None, limit: int,
                       offset: int) -> dict[str, Any]:
    """The console's review list: waiting ones first (oldest first among them: first come, first paid),
    then the rest newest first; each with the promoter's nickname and its transfer bill's state."""
    params = {"s": shop_id, "st": state, "n": limit, "o": offset}
    where = "shop_id = :s AND (CAST(:st AS text) IS NULL OR state = :st)"
    total = int((await session.execute(text(f"SELECT count(*) FROM distribution_withdrawals WHERE {where}"),
                                       params)).scalar_one())
    rows = (await session.execute(
        text(f"SELECT {_COLUMNS} FROM distribution_withdrawals WHERE {where} ORDER BY state = 'pending_review' DESC, "
             "CASE WHEN state = 'pending_review' THEN id END, id DESC LIMIT :n OFFSET :o"), params)).all()
    names = await customers.profiles(session, shop_id, sorted({r.customer_id for r in rows}))
    bills = await payouts.transfer_states(session, shop_id=shop_id,
                                          out_bill_nos=[r.out_bill_no for r in rows if r.out_bill_no])
    items = [view(r) | {"nickname": names[r.customer_id].nickname if r.customer_id in names else None,
                        "transfer_state": bills.get(r.out_bill_no) if r.out_bill_no else None} for r in rows]
    return {"items": items, "total": total, "limit": limit, "offset": offset}
