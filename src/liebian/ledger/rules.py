"""Accounts and the balance rule, as plain data (no database)."""

from __future__ import annotations

from collections.abc import Sequence

CUSTOMER_PREPAYMENTS = "customer_prepayments"  # liability: paid by customers, not yet earned
REVENUE = "revenue"
COMMISSION_EXPENSE = "commission_expense"  # what the shop spends on promoters' commissions
TRANSFERS_IN_FLIGHT = "transfers_in_flight"  # withdrawals sent to the provider, outcome not yet final


def cash(provider: str) -> str:
    """Money held at a payment provider (WeChat Pay, cash collected by couriers, ...)."""
    return f"cash:{provider}"


def payable_to_customer(customer_id: int) -> str:
    """Liability: what the shop owes a customer (credited by commissions, debited by withdrawals)."""
    return f"payable:customer:{customer_id}"


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
