"""Posting balanced transactions exactly once, and reading balances and invariants."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit.checks import Violation
from liebian.kit.clock import clock
from liebian.kit.sql import text
from liebian.ledger.rules import check_balanced


async def post(
    session: AsyncSession, *, shop_id: int, kind: str, ref: str, legs: Sequence[tuple[str, int]],
    order_id: int | None = None, memo: str | None = None,
) -> bool:
    """Post a balanced transaction once per (shop, kind, ref); returns False if it was already posted."""
    check_balanced(legs)
    txn_id = (await session.execute(
        text("INSERT INTO ledger_transactions (shop_id, kind, ref, order_id, memo, created_at) "
             "VALUES (:shop, :kind, :ref, :order, :memo, :now) ON CONFLICT DO NOTHING RETURNING id"),
        {"shop": shop_id, "kind": kind, "ref": ref, "order": order_id, "memo": memo, "now": clock.now()},
    )).scalar()
    if txn_id is None:
        return False
    await session.execute(
        text("INSERT INTO ledger_entries (transaction_id, shop_id, account, amount_fen, currency, order_id) "
             "SELECT :txn, :shop, a, f, 'CNY', :order FROM unnest(CAST(:accounts AS text[]), "
             "CAST(:amounts AS bigint[])) AS l(a, f)"),
        {"txn": txn_id, "shop": shop_id, "order": order_id,
         "accounts": [a for a, _ in legs], "amounts": [f for _, f in legs]},
    )
    return True


async def balances(session: AsyncSession, shop_id: int) -> dict[str, int]:
    rows = await session.execute(
        text("SELECT account, sum(amount_fen) AS balance FROM ledger_entries WHERE shop_id = :s "
             "GROUP BY account ORDER BY account"), {"s": shop_id})
    return {r.account: int(r.balance) for r in rows}


async def account_balances(session: AsyncSession, shop_id: int, accounts: Sequence[str]) -> dict[str, int]:
    """Several accounts' balances in one statement (0 for an account with no entries)."""
    rows = await session.execute(
        text("SELECT account, sum(amount_fen) AS balance FROM ledger_entries WHERE shop_id = :s "
             "AND account = ANY(:a) GROUP BY account"), {"s": shop_id, "a": list(accounts)})
    found = {r.account: int(r.balance) for r in rows}
    return {a: found.get(a, 0) for a in accounts}


async def order_entries(session: AsyncSession, shop_id: int, order_id: int) -> list[tuple[str, str, int]]:
    rows = await session.execute(
        text("SELECT t.kind, e.account, e.amount_fen FROM ledger_entries e "
             "JOIN ledger_transactions t ON t.id = e.transaction_id "
             "WHERE e.shop_id = :s AND e.order_id = :o ORDER BY e.id"), {"s": shop_id, "o": order_id})
    return [(r.kind, r.account, int(r.amount_fen)) for r in rows]


async def invariant_violations(session: AsyncSession) -> list[Violation]:
    """The ledger's own invariants: every currency sums to zero, and so does every transaction."""
    found: list[Violation] = []
    for r in await session.execute(
        text("SELECT currency, sum(amount_fen) AS s FROM ledger_entries GROUP BY currency HAVING sum(amount_fen) <> 0")
    ):
        found.append(Violation("ledger_sums_to_zero", f"{r.currency} entries sum to {r.s} fen"))
    for r in await session.execute(
        text("SELECT t.shop_id, t.kind, t.ref, coalesce(sum(e.amount_fen), 0) AS s, count(e.id) AS n "
             "FROM ledger_transactions t LEFT JOIN ledger_entries e ON e.transaction_id = t.id "
             "GROUP BY t.id HAVING coalesce(sum(e.amount_fen), 0) <> 0 OR count(e.id) < 2 LIMIT 50")
    ):
        found.append(Violation("transaction_balanced",
                               f"shop {r.shop_id} {r.kind} {r.ref}: {r.n} legs summing to {r.s} fen"))
    return found
