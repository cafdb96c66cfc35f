"""Accounts and the balance rule, as plain data (no database)."""

from __future__ import annotations

from collections.abc import Sequence

CUSTOMER_PREPAYMENTS = "customer_prepayments"  # liability: paid by customers, not yet earned
REVENUE = "revenue"
COMMISSION_EXPENSE = "commission_expense"  # what the shop spends on promoters' commissions
TRANSFERS_IN_FLIGHT = "transfers_in_flight"  # withdrawals sent to the provider, outcome not yet final
WITHDRAWAL_FEES = "withdrawal_fees"  # income: the shop's fee on promoters' withdrawals


def cash(provider: str) -> str:
    """Money held at a payment provider (WeChat Pay, cash collected by couriers, ...)."""
    return f"cash:{provider}"


def payable_to_customer(customer_id: int) -> str:
    """Liability: what the shop owes a customer (credited by commissions, debited by withdrawals)."""
    return f"payable:customer:{customer_id}"


def commission_pending(customer_id: int) -> str:
    """Liability: commissions accrued to a promoter that the after-sales window has not released yet."""
    return f"commission_pending:customer:{customer_id}"


def promoter_debt(customer_id: int) -> str:
    """Asset: what a promoter owes the shop (a settled commission reversed after it was withdrawn);
    repaid first by their next settled commissions."""
    return f"promoter_debt:customer:{customer_id}"


def withdrawal_held(customer_id: int) -> str:
    """Liability: a withdrawal waiting for the console's approval, out of the withdrawable balance."""
    return f"withdrawal_held:customer:{customer_id}"


class UnbalancedError(ValueError):
    pass


def check_balanced(legs: Sequence[tuple[str, int]]) -> None:
    """A transaction's legs are non-zero and sum to zero; positive is a debit, negative a credit."""
    if len(legs) < 2:
        raise UnbalancedError("a transaction needs at least two legs")
    if any(amount == 0 for _, amount in legs):
        raise UnbalancedError("a leg cannot be zero")
    if sum(amount for _, amount in legs) != 0:
        raise UnbalancedError(f"legs sum to {sum(a for _, a in legs)}, not zero")
