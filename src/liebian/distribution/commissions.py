"""Commissions and rebates on the ledger: accrued when paid, settled after the after-sales window,
cancelled or reversed by refunds, each movement once.

Accounts (``liebian.ledger.rules``), positive = debit:

- accrue:  commission_expense +a,  commission_pending:customer:{b} −a
- cancel (before settlement): the reverse of the accrual for the refunded part
- settle:  commission_pending +s,  promoter_debt −(what it repays),  payable:customer −(the rest)
- reverse (after settlement): payable +(as far as the balance goes),  promoter_debt +(the rest),
  commission_expense −r — never silently absorbed: a shortfall is the promoter's explicit debt.

Exactly once: a commission row is unique per (order line, beneficiary, level) and a rebate per invitee
(``INSERT ... ON CONFLICT DO NOTHING``); only the rows a statement inserted are posted, so a payment
callback delivered five times accrues once. Rows change under ``FOR UPDATE`` (the settlement sweeper
claims them with ``SKIP LOCKED``), states move by guarded updates, and every posting is keyed by
(kind, ref) in the ledger. Anything that debits a promoter's balance takes the payouts balance lock,
in ascending customer order, after the row locks.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.customers import links
from liebian.customers import service as customers
from liebian.distribution import promoters
from liebian.distribution import rules as dist
from liebian.events import OrderCompleted, OrderPaid, OrderRefunded
from liebian.fission import attribution, binding
from liebian.kit import audit
from liebian.kit.clock import clock
from liebian.kit.errors import NotFound
from liebian.kit.sql import text
from liebian.ledger import service as ledger
from liebian.ledger.rules import COMMISSION_EXPENSE, commission_pending, payable_to_customer, promoter_debt
from liebian.orders import contact as order_contact
from liebian.orders import queries as orders
from liebian.orders.schemas import OrderOut
from liebian.payouts import service as payouts

log = logging.getLogger(__name__)

SWEEP_BATCH = 200
# An order whose window has passed but which has an open refund is looked at again after this.
RECHECK = timedelta(hours=1)
_ROW = ("id, kind, order_id, order_no, order_line_id, buyer_id, beneficiary_id, level, base_fen, refunded_base_fen, "
        "amount_fen, cancelled_fen, reversed_fen, status, settle_due_at")


# --- accrual ----------------------------------------------------------------------------------------------

async def _beneficiaries(session: AsyncSession, shop_id: int, settings: dist.DistributionSettings,
                         buyer_id: int, bound: int | None) -> list[dist.Beneficiary]:
    """Level 1: the promoter the buyer was bound to at placement (or the buyer, with self-purchase
    commission); level 2: the promoter level 1 is bound to. Only those who may earn are paid; a level
    whose promoter may not earn is left unpaid, never shifted to someone else."""
    now = clock.now()
    chain: list[int | None] = []
    buyer = await promoters.get(session, shop_id, buyer_id) if settings.self_purchase_commission else None
    if settings.self_purchase_commission and dist.may_earn(settings.promoter_qualification,
                                                           buyer.status if buyer else None):
        chain = [buyer_id, bound]
    elif bound is not None and bound != buyer_id:
        chain = [bound, await binding.current_promoter(session, shop_id, bound, now)]
    chain = chain[:settings.levels]
    known = await promoters.statuses(session, shop_id, [c for c in chain if c is not None])
    found = []
    for level, customer_id in enumerate(chain, start=1):
        if customer_id is None or (level > 1 and customer_id in chain[:level - 1]):
            continue
        row = known.get(customer_id)
        if not dist.may_earn(settings.promoter_qualification, row.status if row else None):
            continue
        # The rank from today's thresholds (the shop may have changed them since the last sale).
        rank = settings.promoter_levels[dist.level_for_sales(settings.promoter_levels, row.sales_fen if row else 0)]
        found.append(dist.Beneficiary(level=level, customer_id=customer_id, multiplier_bps=rank.multiplier_bps))
    return found


async def _product_rules(session: AsyncSession, shop_id: int, product_ids: list[int]) -> dict[int, dist.ProductRule]:
    rows = await session.execute(
        text("SELECT product_id, mode, level1, level2 FROM distribution_product_rules "
             "WHERE shop_id = :s AND product_id = ANY(:ids)"), {"s": shop_id, "ids": product_ids})
    return {r.product_id: dist.ProductRule(mode=r.mode, values=(r.level1, r.level2)) for r in rows}


async def set_product_rule(session: AsyncSession, shop_id: int, product_id: int, mode: str | None,
                           values: tuple[int, int]) -> None:
    """A product's own commission (``None`` removes it: the shop's rates apply again)."""
    if mode is None:
        await session.execute(text("DELETE FROM distribution_product_rules WHERE shop_id = :s AND product_id = :p"),
                              {"s": shop_id, "p": product_id})
        return
    await session.execute(
        text("INSERT INTO distribution_product_rules (shop_id, product_id, mode, level1, level2, updated_at) "
             "VALUES (:s, :p, :m, :a, :b, :now) ON CONFLICT (shop_id, product_id) DO UPDATE SET mode = :m, "
             "level1 = :a, level2 = :b, updated_at = :now"),
        {"s": shop_id, "p": product_id, "m": mode, "a": values[0], "b": values[1], "now": clock.now()})


async def _bound_at_placement(session: AsyncSession, shop_id: int, order_no: str) -> int | None:
    try:
        found = await attribution.by_order_no(session, shop_id, order_no)
    except NotFound:
        return None
    bound: int | None = found["bound_promoter_id"]
    return bound


_INSERT = text(
    "INSERT INTO distribution_commissions (shop_id, kind, order_id, order_no, order_line_id, buyer_id, beneficiary_id, "
    "level, base_fen, rate_bps, amount_fen, status, accrued_at) "
    "SELECT :s, 'commission', :o, :no, l, :buyer, b, lv, base, rate, amount, 'pending', :now FROM unnest("
    "CAST(:lines AS bigint[]), CAST(:bens AS bigint[]), CAST(:levels AS int[]), CAST(:bases AS bigint[]), "
    "CAST(:rates AS int[]), CAST(:amounts AS bigint[])) AS x(l, b, lv, base, rate, amount) "
    "ON CONFLICT ON CONSTRAINT uq_distribution_commissions_line DO NOTHING RETURNING beneficiary_id, amount_fen")


async def on_order_paid(session: AsyncSession, event: OrderPaid) -> None:
    settings = await promoters.settings_of(session, event.shop_id)
    if not settings.enabled:
        return
    bound = await _bound_at_placement(session, event.shop_id, event.order_no)
    payees = await _beneficiaries(session, event.shop_id, settings, event.customer_id, bound)
    if not payees:
        return
    order = await orders.get_order(session, event.shop_id, event.order_id)
    payees = await _without_alt_accounts(session, event.shop_id, event.customer_id, order, payees)
    if not payees:
        return
    lines = [dist.Line(line_id=ln.id, product_id=ln.product_id, quantity=ln.quantity, base_fen=ln.payable_fen)
             for ln in order.lines if ln.payable_fen > 0]
    rules_ = await _product_rules(session, event.shop_id, sorted({ln.product_id for ln in lines}))
    shares = dist.commission_shares(settings, lines, payees, rules_)
    if not shares:
        return
    inserted = (await session.execute(_INSERT, {
        "s": event.shop_id, "o": event.order_id, "no": event.order_no, "buyer": event.customer_id,
        "now": clock.now(), "lines": [s.line_id for s in shares], "bens": [s.customer_id for s in shares],
        "levels": [s.level for s in shares], "bases": [s.base_fen for s in shares],
        "rates": [s.rate_bps for s in shares], "amounts": [s.amount_fen for s in shares]})).all()
    # Only what this statement inserted is posted: a repeated event inserts nothing and posts nothing.
    await _post_accrual(session, event.shop_id, event.order_id, f"order:{event.order_id}",
                        [(r.beneficiary_id, r.amount_fen) for r in inserted])


async def _without_alt_accounts(session: AsyncSession, shop_id: int, buyer_id: int, order: OrderOut,
                                payees: list[dist.Beneficiary]) -> list[dist.Beneficiary]:
    """Nobody earns on a purchase by their own other account (the same device or phone as the buyer, directly or
    through one more account, the order's phone included): that level is left unpaid and the refusal audited."""
    found = await links.linked(session, shop_id, buyer_id, [p.customer_id for p in payees],
                               phone_hash=order_contact.phone_hash(order))
    if not found:
        return payees
    await audit.record(session, *[audit.Event(
        shop_id=shop_id, kind=audit.SELF_REFERRAL, reason=f"alt_account_{found[p.customer_id]}",
        actor=f"customer:{p.customer_id}", target=f"order:{order.order_no}",
        details={"level": p.level, "buyer_id": buyer_id, "linked_by": found[p.customer_id]})
        for p in payees if p.customer_id in found])
    return [p for p in payees if p.customer_id not in found]


async def _post_accrual(session: AsyncSession, shop_id: int, order_id: int, ref: str,
                        amounts: Sequence[tuple[int, int]]) -> None:
    per = _per_beneficiary(amounts)
    if not per:
        return
    legs = [(COMMISSION_EXPENSE, sum(per.values()))] + [(commission_pending(b), -a) for b, a in sorted(per.items())]
    await ledger.post(session, shop_id=shop_id, kind="commission.accrue", ref=ref, legs=legs, order_id=order_id)


def _per_beneficiary(amounts: Sequence[tuple[int, int]]) -> dict[int, int]:
    per: defaultdict[int, int] = defaultdict(int)
    for beneficiary, amount in amounts:
        per[beneficiary] += amount
    return {b: a for b, a in per.items() if a}


# --- completion: the window starts; the invitee's first completed order earns the inviter's rebate ----------

async def on_order_completed(session: AsyncSession, event: OrderCompleted) -> None:
    settings = await promoters.settings_of(session, event.shop_id)
    due = event.completed_at + timedelta(days=settings.settle_after_days)
    await session.execute(
        text("UPDATE distribution_commissions SET settle_due_at = :due WHERE order_id = :o AND status = 'pending'"),
        {"due": due, "o": event.order_id})
    if settings.enabled and settings.rebate_mode != "off":
        await _accrue_rebate(session, event, settings, due)


async def _accrue_rebate(session: AsyncSession, event: OrderCompleted, settings: dist.DistributionSettings,
                         due: datetime) -> None:
    first = await customers.first_completed_order_at(session, event.shop_id, event.customer_id)
    if first is not None and first != event.completed_at:
        return  # not the first completed order: invites alone, or later orders, earn nothing
    inviter = await _bound_at_placement(session, event.shop_id, event.order_no)
    if inviter is None or inviter == event.customer_id:
        return
    order = await orders.get_order(session, event.shop_id, event.order_id)
    if not await _without_alt_accounts(session, event.shop_id, event.customer_id, order,
                                       [dist.Beneficiary(level=0, customer_id=inviter, multiplier_bps=10_000)]):
        return  # inviting one's own other account earns no rebate
    base = sum(ln.payable_fen - ln.refunded_fen for ln in order.lines)
    amount = dist.rebate_amount(settings, base)
    if amount <= 0:
        return
    row = (await session.execute(
        text("INSERT INTO distribution_commissions (shop_id, kind, order_id, order_no, buyer_id, beneficiary_id, "
             "level, base_fen, amount_fen, status, accrued_at, settle_due_at) VALUES (:s, 'rebate', :o, :no, :buyer, "
             ":b, 0, :base, :a, 'pending', :now, :due) ON CONFLICT DO NOTHING RETURNING id"),
        {"s": event.shop_id, "o": event.order_id, "no": event.order_no, "buyer": event.customer_id, "b": inviter,
         "base": base, "a": amount, "now": clock.now(), "due": due})).first()
    if row is not None:
        await _post_accrual(session, event.shop_id, event.order_id, f"rebate:{row.id}", [(inviter, amount)])


# --- refunds ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Change:
    row_id: int
    beneficiary_id: int
    settled: bool
    refunded_base_fen: int
    take_fen: int
    sales_fen: int  # the sales volume the refund takes back from a settled level-1 commission


def _changes(rows: Sequence[Row[Any]], deltas: dict[int, int]) -> list[_Change]:
    changes = []
    order_delta = sum(deltas.values())
    for r in rows:
        delta = order_delta if r.kind == "rebate" else deltas.get(r.order_line_id, 0)
        refunded = min(r.refunded_base_fen + delta, r.base_fen)
        if refunded == r.refunded_base_fen:
            continue
        left = r.amount_fen - r.cancelled_fen - r.reversed_fen
        take = max(left - dist.remaining_after_refund(r.amount_fen, r.base_fen, refunded), 0)
        sales = refunded - r.refunded_base_fen if (r.status == "settled" and r.level == 1) else 0
        changes.append(_Change(r.id, r.beneficiary_id, r.status == "settled", refunded, take, sales))
    return changes


async def on_order_refunded(session: AsyncSession, event: OrderRefunded) -> None:
    """Shrink the order's commissions in proportion to what each line refunded: the pending part is
    cancelled, the settled part reversed (from the balance, the shortfall as debt)."""
    rows = (await session.execute(
        text(f"SELECT {_ROW} FROM distribution_commissions WHERE order_id = :o AND shop_id = :s "
             "AND status IN ('pending', 'settled') ORDER BY id FOR UPDATE"),
        {"o": event.order_id, "s": event.shop_id})).all()
    if not rows:
        return
    changes = _changes(rows, dict(event.line_amounts))
    if not changes:
        return
    await session.execute(
        text("UPDATE distribution_commissions c SET refunded_base_fen = x.refunded, "
             "cancelled_fen = c.cancelled_fen + CASE WHEN c.status = 'pending' THEN x.take ELSE 0 END, "
             "reversed_fen = c.reversed_fen + CASE WHEN c.status = 'settled' THEN x.take ELSE 0 END, "
             "status = CASE WHEN c.status = 'pending' AND c.amount_fen - c.cancelled_fen - x.take = 0 "
             "THEN 'cancelled' ELSE c.status END "
             "FROM unnest(CAST(:ids AS bigint[]), CAST(:refunded AS bigint[]), CAST(:takes AS bigint[])) "
             "AS x(id, refunded, take) WHERE c.id = x.id"),
        {"ids": [c.row_id for c in changes], "refunded": [c.refunded_base_fen for c in changes],
         "takes": [c.take_fen for c in changes]})
    ref = f"order:{event.order_id}:{event.refunded_total_fen}"
    cancelled = _per_beneficiary([(c.beneficiary_id, c.take_fen) for c in changes if not c.settled])
    if cancelled:
        legs = [(commission_pending(b), a) for b, a in sorted(cancelled.items())]
        await ledger.post(session, shop_id=event.shop_id, kind="commission.cancel", ref=ref, order_id=event.order_id,
                          legs=[*legs, (COMMISSION_EXPENSE, -sum(cancelled.values()))])
    await _reverse(session, event.shop_id, event.order_id, ref, [c for c in changes if c.settled])


async def _lock_balances(session: AsyncSession, shop_id: int, customer_ids: Sequence[int]) -> None:
    for customer_id in sorted(set(customer_ids)):  # one order everywhere: no deadlock between two lockers
        await payouts.lock_balance(session, shop_id, customer_id)


async def _reverse(session: AsyncSession, shop_id: int, order_id: int, ref: str, changes: Sequence[_Change]) -> None:
    per = _per_beneficiary([(c.beneficiary_id, c.take_fen) for c in changes])
    # Balance locks before promoter rows, as the settlement sweeper takes them.
    await _lock_balances(session, shop_id, [c.beneficiary_id for c in changes])
    for c in changes:
        if c.sales_fen:
            await promoters.add_sales(session, shop_id, c.beneficiary_id, -c.sales_fen)
    if not per:
        return
    legs: list[tuple[str, int]] = []
    for beneficiary, amount in sorted(per.items()):
        available = await payouts.available_fen(session, shop_id, beneficiary)
        split = dist.reverse(amount, available)
        if split.from_balance_fen:
            legs.append((payable_to_customer(beneficiary), split.from_balance_fen))
        if split.to_debt_fen:
            legs.append((promoter_debt(beneficiary), split.to_debt_fen))
    legs.append((COMMISSION_EXPENSE, -sum(per.values())))
    await ledger.post(session, shop_id=shop_id, kind="commission.reverse", ref=ref, order_id=order_id, legs=legs)


# --- settlement ---------------------------------------------------------------------------------------------

async def sweep_settlements(session: AsyncSession, now: datetime) -> int:
    """Settle commissions whose window closed, order by order; ``SKIP LOCKED`` lets workers share the work
    and a row another worker holds is simply not seen, so nothing settles twice."""
    rows = (await session.execute(
        text(f"SELECT {_ROW}, shop_id FROM distribution_commissions WHERE status = 'pending' AND settle_due_at <= :now "
             "ORDER BY settle_due_at, id LIMIT :n FOR UPDATE SKIP LOCKED"), {"now": now, "n": SWEEP_BATCH})).all()
    by_order: defaultdict[tuple[int, int], list[Row[Any]]] = defaultdict(list)
    payees: defaultdict[int, set[int]] = defaultdict(set)
    for r in rows:
        by_order[(r.shop_id, r.order_id)].append(r)
        payees[r.shop_id].add(r.beneficiary_id)
    # Every balance lock of the claim first, in one order, before any promoter row is touched: a worker
    # holding a promoter's row while waiting for their balance lock would deadlock with another worker.
    for shop_id in sorted(payees):
        await _lock_balances(session, shop_id, list(payees[shop_id]))
    for (shop_id, order_id), order_rows in by_order.items():
        order = await orders.get_order(session, shop_id, order_id)
        if order.status != "completed":
            # An open refund holds the window (or the order was refunded and its rows will be cancelled).
            await session.execute(
                text("UPDATE distribution_commissions SET settle_due_at = :later WHERE id = ANY(:ids)"),
                {"later": now + RECHECK, "ids": [r.id for r in order_rows]})
            continue
        await _settle(session, shop_id, order, order_rows, now)
    return len(rows)


async def _settle(session: AsyncSession, shop_id: int, order: OrderOut, rows: Sequence[Row[Any]],
                  now: datetime) -> None:
    live = [r for r in rows if r.amount_fen - r.cancelled_fen > 0]
    await session.execute(
        text("UPDATE distribution_commissions SET status = CASE WHEN amount_fen - cancelled_fen > 0 "
             "THEN 'settled' ELSE 'cancelled' END, settled_at = :now WHERE id = ANY(:ids) AND status = 'pending'"),
        {"now": now, "ids": [r.id for r in rows]})
    per = _per_beneficiary([(r.beneficiary_id, r.amount_fen - r.cancelled_fen) for r in live])
    if not per:
        return
    await _lock_balances(session, shop_id, list(per))  # already held since the claim: re-entrant
    for r in live:
        if r.kind == "commission" and r.level == 1:
            await promoters.add_sales(session, shop_id, r.beneficiary_id, r.base_fen - r.refunded_base_fen)
    debts = await ledger.account_balances(session, shop_id, [promoter_debt(b) for b in per])
    legs: list[tuple[str, int]] = []
    for beneficiary, amount in sorted(per.items()):
        split = dist.settle(amount, debts[promoter_debt(beneficiary)])
        legs.append((commission_pending(beneficiary), amount))
        if split.repays_debt_fen:
            legs.append((promoter_debt(beneficiary), -split.repays_debt_fen))
        if split.to_balance_fen:
            legs.append((payable_to_customer(beneficiary), -split.to_balance_fen))
    # Rows are settled once (status guard under the row lock), so the smallest row id makes the key unique.
    await ledger.post(session, shop_id=shop_id, kind="commission.settle", ref=f"order:{order.order_no}:"
                      f"{min(r.id for r in live)}", order_id=rows[0].order_id, legs=legs)
