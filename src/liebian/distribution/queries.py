"""Reading distribution: the promoter centre, commission lists, the leaderboard, and ``liebian check``'s
invariants (commission rows agree with the ledger; every settled commission traces to a completed order
line whose refunds were taken back)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.customers import service as customers
from liebian.distribution import promoters, withdrawals
from liebian.distribution import rules as dist
from liebian.fission import team
from liebian.kit.checks import Violation
from liebian.kit.clock import clock
from liebian.kit.errors import NotFound
from liebian.kit.sql import text
from liebian.ledger import service as ledger
from liebian.ledger.rules import commission_pending, payable_to_customer, promoter_debt, withdrawal_held
from liebian.orders import queries as orders

_NET = "amount_fen - cancelled_fen - reversed_fen"


async def me(session: AsyncSession, shop_id: int, customer_id: int) -> dict[str, Any]:
    """The promoter centre: status, rank, money by state, and the team's size."""
    settings = await promoters.settings_of(session, shop_id)
    row = await promoters.ensure_code(session, shop_id, customer_id)
    status = row.status if row else ("active" if settings.promoter_qualification == "everyone" else "none")
    balances = await ledger.account_balances(session, shop_id, [
        commission_pending(customer_id), payable_to_customer(customer_id), promoter_debt(customer_id),
        withdrawal_held(customer_id)])
    settled = int((await session.execute(
        text(f"SELECT coalesce(sum({_NET}), 0) FROM distribution_commissions WHERE shop_id = :s "
             "AND beneficiary_id = :c AND status = 'settled'"), {"s": shop_id, "c": customer_id})).scalar_one())
    now = clock.now()
    direct = await team.count(session, shop_id, customer_id, level=1, now=now)
    second = await team.count(session, shop_id, customer_id, level=2, now=now) if settings.levels > 1 else 0
    level = dist.level_for_sales(settings.promoter_levels, row.sales_fen if row else 0)
    return {"status": status, "level": level, "level_name": settings.promoter_levels[level].name,
            "invite_code": row.invite_code if row else None, "sales_fen": row.sales_fen if row else 0,
            "pending_fen": -balances[commission_pending(customer_id)], "settled_fen": settled,
            "withdrawable_fen": -balances[payable_to_customer(customer_id)],
            "withdrawing_fen": -balances[withdrawal_held(customer_id)],
            "debt_fen": balances[promoter_debt(customer_id)], "team_size": direct + second,
            "team_direct": direct, "team_second": second}


async def programme(session: AsyncSession, shop_id: int, customer_id: int | None) -> dict[str, Any]:
    """The programme as customers may read it: how one becomes a promoter, the default rates, the ranks, when
    commissions settle and the withdrawal terms; for a signed-in customer, what they took out today."""
    s = await promoters.settings_of(session, shop_id)
    today = None if customer_id is None else await withdrawals.withdrawn_today(session, shop_id, customer_id)
    return {"enabled": s.enabled, "promoter_qualification": s.promoter_qualification,
            "qualification_threshold_fen": s.qualification_threshold_fen, "levels": s.levels,
            "level_rates_bps": s.level_rates_bps,
            "promoter_levels": [lv.model_dump() for lv in s.promoter_levels],
            "settle_after_days": s.settle_after_days, "withdrawal_min_fen": s.withdrawal_min_fen,
            "withdrawal_fee_bps": s.withdrawal_fee_bps, "withdrawal_daily_limit_fen": s.withdrawal_daily_limit_fen,
            "withdrawal_max_fen": withdrawals.MAX_SINGLE_FEN,
            "withdrawal_auto_approve_fen": s.withdrawal_auto_approve_fen, "withdrawn_today_fen": today}


async def commissions(session: AsyncSession, shop_id: int, *, beneficiary_id: int | None = None,
                      order_no: str | None = None, status: str | None = None, limit: int = 20,
                      offset: int = 0) -> list[dict[str, Any]]:
    rows = await session.execute(
        text("SELECT id, kind, order_no, order_line_id, buyer_id, beneficiary_id, level, base_fen, refunded_base_fen, "
             f"rate_bps, amount_fen, cancelled_fen, reversed_fen, {_NET} AS net_fen, status, accrued_at, "
             "settle_due_at, settled_at FROM distribution_commissions WHERE shop_id = :s "
             "AND (CAST(:b AS bigint) IS NULL OR beneficiary_id = :b) "
             "AND (CAST(:no AS text) IS NULL OR order_no = :no) "
             "AND (CAST(:st AS text) IS NULL OR status = :st) ORDER BY id DESC LIMIT :n OFFSET :o"),
        {"s": shop_id, "b": beneficiary_id, "no": order_no, "st": status, "n": limit, "o": offset})
    return [dict(r._mapping) for r in rows]


async def leaderboard(session: AsyncSession, shop_id: int, *, limit: int = 20) -> list[dict[str, Any]]:
    """Promoters by settled commission (what real, completed, unrefunded sales earned them)."""
    rows = (await session.execute(
        text(f"SELECT beneficiary_id, sum({_NET}) AS fen, count(DISTINCT order_id) AS orders "
             "FROM distribution_commissions WHERE shop_id = :s AND status = 'settled' GROUP BY beneficiary_id "
             f"HAVING sum({_NET}) > 0 ORDER BY fen DESC, beneficiary_id LIMIT :n"), {"s": shop_id, "n": limit})).all()
    names = await customers.profiles(session, shop_id, [r.beneficiary_id for r in rows])
    return [{"rank": i, "customer_id": r.beneficiary_id, "settled_fen": int(r.fen), "orders": r.orders,
             "nickname": names[r.beneficiary_id].nickname if r.beneficiary_id in names else None}
            for i, r in enumerate(rows, start=1)]


async def console_promoters(session: AsyncSession, shop_id: int, *, status: str | None, limit: int,
                            offset: int) -> dict[str, Any]:
    """The console's promoter list: each with nickname, rank, team size and money by state, read for the
    whole page in a fixed number of statements."""
    settings = await promoters.settings_of(session, shop_id)
    params = {"s": shop_id, "st": status, "n": limit, "o": offset}
    where = "shop_id = :s AND (CAST(:st AS text) IS NULL OR status = :st)"
    total = int((await session.execute(text(f"SELECT count(*) FROM distribution_promoters WHERE {where}"),
                                       params)).scalar_one())
    rows = (await session.execute(
        text("SELECT customer_id, status, level, sales_fen, invite_code, applied_at, decided_at "
             f"FROM distribution_promoters WHERE {where} ORDER BY applied_at DESC, customer_id LIMIT :n OFFSET :o"),
        params)).all()
    ids = [r.customer_id for r in rows]
    names = await customers.profiles(session, shop_id, ids)
    teams = await team.counts(session, shop_id, ids, now=clock.now())
    money = {r.beneficiary_id: r for r in await session.execute(
        text("SELECT beneficiary_id, coalesce(sum(amount_fen - cancelled_fen) FILTER (WHERE status = 'pending'), 0) "
             f"AS pending, coalesce(sum({_NET}) FILTER (WHERE status = 'settled'), 0) AS settled "
             "FROM distribution_commissions WHERE shop_id = :s AND beneficiary_id = ANY(:ids) GROUP BY beneficiary_id"),
        {"s": shop_id, "ids": ids})} if ids else {}
    balances = await ledger.account_balances(session, shop_id, [payable_to_customer(c) for c in ids]) if ids else {}
    items = []
    for r in rows:
        level = dist.level_for_sales(settings.promoter_levels, r.sales_fen)
        direct, second = teams.get(r.customer_id, (0, 0))
        m = money.get(r.customer_id)
        items.append({**r._mapping, "nickname": names[r.customer_id].nickname if r.customer_id in names else None,
                      "level": level, "level_name": settings.promoter_levels[level].name,
                      "team_direct": direct, "team_second": second, "team_size": direct + second,
                      "pending_fen": int(m.pending) if m else 0, "settled_fen": int(m.settled) if m else 0,
                      "withdrawable_fen": -balances.get(payable_to_customer(r.customer_id), 0)})
    return {"items": items, "total": total, "limit": limit, "offset": offset}


# --- invariants ---------------------------------------------------------------------------------------------

async def ledger_violations(session: AsyncSession) -> list[Violation]:
    """Per beneficiary: the pending account equals the pending rows; what settle and reverse moved into the
    balance and the debt equals the settled rows, net of reversals; the expense equals every row's net."""
    found: list[Violation] = []
    rows = await session.execute(text(
        "WITH r AS (SELECT shop_id, beneficiary_id AS c, "
        "sum(amount_fen - cancelled_fen) FILTER (WHERE status = 'pending') AS pending, "
        f"sum({_NET}) FILTER (WHERE status = 'settled') AS settled, sum({_NET}) AS net "
        "FROM distribution_commissions GROUP BY shop_id, beneficiary_id), "
        "l AS (SELECT e.shop_id, split_part(e.account, ':', 3)::bigint AS c, "
        "sum(e.amount_fen) FILTER (WHERE e.account LIKE 'commission_pending:%') AS pending, "
        "sum(e.amount_fen) FILTER (WHERE e.account LIKE 'promoter_debt:%' OR (e.account LIKE 'payable:customer:%' "
        "AND t.kind IN ('commission.settle', 'commission.reverse'))) AS settled "
        "FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id "
        "WHERE t.kind LIKE 'commission.%' AND (e.account LIKE 'commission_pending:%' OR e.account LIKE "
        "'promoter_debt:%' OR e.account LIKE 'payable:customer:%') GROUP BY 1, 2) "
        "SELECT coalesce(r.shop_id, l.shop_id) AS shop_id, coalesce(r.c, l.c) AS c, coalesce(r.pending, 0) AS rp, "
        "coalesce(-l.pending, 0) AS lp, coalesce(r.settled, 0) AS rs, coalesce(-l.settled, 0) AS ls "
        "FROM r FULL JOIN l ON l.shop_id = r.shop_id AND l.c = r.c "
        "WHERE coalesce(r.pending, 0) <> coalesce(-l.pending, 0) OR coalesce(r.settled, 0) <> coalesce(-l.settled, 0) "
        "LIMIT 50"))
    for r in rows:
        found.append(Violation("commission_rows_match_ledger",
                               f"shop {r.shop_id} customer {r.c}: pending rows {r.rp} vs ledger {r.lp}, "
                               f"settled rows {r.rs} vs ledger {r.ls}"))
    for r in await session.execute(text(
            f"WITH r AS (SELECT shop_id, sum({_NET}) AS net FROM distribution_commissions GROUP BY shop_id), "
            "l AS (SELECT e.shop_id, sum(e.amount_fen) AS net FROM ledger_entries e JOIN ledger_transactions t "
            "ON t.id = e.transaction_id WHERE t.kind LIKE 'commission.%' AND e.account = 'commission_expense' "
            "GROUP BY e.shop_id) SELECT coalesce(r.shop_id, l.shop_id) AS shop_id, coalesce(r.net, 0) AS rn, "
            "coalesce(l.net, 0) AS ln FROM r FULL JOIN l ON l.shop_id = r.shop_id "
            "WHERE coalesce(r.net, 0) <> coalesce(l.net, 0)")):
        found.append(Violation("commission_expense_matches_rows",
                               f"shop {r.shop_id}: rows net {r.rn} fen, commission expense {r.ln} fen"))
    return found


async def settled_trace_violations(session: AsyncSession) -> list[Violation]:
    """Every settled commission belongs to a completed order (or one refunded after completion), its line's
    refunds are the ones it recorded, and exactly the refunded part was reversed."""
    found: list[Violation] = []
    rows = (await session.execute(text(
        "SELECT id, shop_id, kind, order_id, order_no, order_line_id, base_fen, refunded_base_fen, amount_fen, "
        "cancelled_fen, reversed_fen FROM distribution_commissions WHERE status = 'settled' ORDER BY order_id"))).all()
    by_order: defaultdict[tuple[int, int], list[Any]] = defaultdict(list)
    for r in rows:
        by_order[(r.shop_id, r.order_id)].append(r)
    for (shop_id, order_id), settled in by_order.items():
        try:
            order = await orders.get_order(session, shop_id, order_id)
        except NotFound:
            found.append(Violation("settled_commission_has_order", f"shop {shop_id} order {order_id} is missing"))
            continue
        lines = {ln.id: ln for ln in order.lines}
        if order.completed_at is None:
            found.append(Violation("settled_commission_order_completed",
                                   f"shop {shop_id} order {order.order_no} ({order.status}) was never completed"))
        for r in settled:
            refunded = (lines[r.order_line_id].refunded_fen if r.order_line_id in lines else None) \
                if r.kind == "commission" else sum(ln.refunded_fen for ln in order.lines)
            expected = dist.remaining_after_refund(r.amount_fen, r.base_fen, r.refunded_base_fen)
            if (r.kind == "commission" and refunded != r.refunded_base_fen) or \
                    r.amount_fen - r.cancelled_fen - r.reversed_fen != expected:
                found.append(Violation("settled_commission_traces_to_sale",
                                       f"shop {shop_id} order {r.order_no} commission {r.id}: line refunded "
                                       f"{refunded}, recorded {r.refunded_base_fen}, net "
                                       f"{r.amount_fen - r.cancelled_fen - r.reversed_fen} vs {expected}"))
    return found
