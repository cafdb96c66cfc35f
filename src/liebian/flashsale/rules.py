"""Pure rules of the flash sale: a slot's state and countdown, what an entry may take, campaign validity, and
how the Redis counters are rebuilt from PostgreSQL's.

Plain functions over plain data, tested without a database (``tests/unit/test_flashsale_rules.py``). The same
decisions are made in one guarded SQL statement (PostgreSQL path) and in one Lua script (Redis path); these
functions are their specification, and the tests hold both to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

SlotState = Literal["upcoming", "running", "sold_out", "ended"]
Refusal = Literal["flashsale_not_started", "flashsale_ended", "flashsale_sold_out", "flashsale_limit_reached"]

MAX_STOCK = 10_000_000
MAX_LIMIT = 999
MAX_SLOT_SECONDS = 7 * 24 * 3600


def slot_state(now: datetime, starts_at: datetime, ends_at: datetime, *, open_: bool, remaining: int) -> SlotState:
    """What a customer sees: the window decides first (an ended slot is ended even if units are left)."""
    if not open_ or now >= ends_at:
        return "ended"
    if now < starts_at:
        return "upcoming"
    return "sold_out" if remaining <= 0 else "running"


def countdown(now: datetime, starts_at: datetime, ends_at: datetime) -> tuple[int, int]:
    """(seconds until the slot starts, seconds until it ends), never negative, rounded up so that a
    countdown shows 1 until the very moment."""
    def up(seconds: float) -> int:
        return max(0, -int(-seconds // 1))
    return up((starts_at - now).total_seconds()), up((ends_at - now).total_seconds())


def refusal(now: datetime, starts_at: datetime, ends_at: datetime, *, open_: bool, left: int, bought: int,
            limit: int, quantity: int) -> Refusal | None:
    """Why an entry for ``quantity`` units is refused, or None: it takes them. In this order: window, stock,
    then the customer's limit (a sold-out slot says so even to a customer at their limit)."""
    if not open_ or now >= ends_at:
        return "flashsale_ended"
    if now < starts_at:
        return "flashsale_not_started"
    if quantity > left:
        return "flashsale_sold_out"
    if bought + quantity > limit:
        return "flashsale_limit_reached"
    return None


def campaign_problems(*, price_fen: int, list_price_fen: int, stock: int, per_customer_limit: int,
                      starts_at: datetime, ends_at: datetime, now: datetime) -> list[tuple[str, str]]:
    """(code, detail) for each mistake in a new slot; empty when it can be created."""
    found: list[tuple[str, str]] = []
    if ends_at <= starts_at or ends_at <= now:
        found.append(("invalid_window", "ends_at must be after starts_at and in the future."))
    elif (ends_at - starts_at).total_seconds() > MAX_SLOT_SECONDS:
        found.append(("invalid_window", "A flash-sale slot lasts at most 7 days."))
    if price_fen >= list_price_fen:
        found.append(("flashsale_price_not_below_list_price",
                      f"The flash-sale price must be below the SKU's price ({list_price_fen} fen)."))
    if per_customer_limit > stock:
        found.append(("limit_above_stock", "per_customer_limit cannot exceed the slot's stock."))
    return found


def returned_at_end(stock: int, sold: int) -> int:
    """Units a slot gives back to its SKU when it ends: all it did not sell."""
    return max(0, stock - sold)


@dataclass(frozen=True)
class Counters:
    left: int
    bought: dict[int, int]  # customer id → units


def rebuild(stock: int, sold: int, bought: Mapping[int, int], queued: Iterable[tuple[int, int]]) -> Counters:
    """Redis's counters from the truth: PostgreSQL's sold units and customers' units, plus the entries still in
    the queue that PostgreSQL has not ordered yet (customer, quantity), which hold their units already."""
    merged = {c: q for c, q in bought.items() if q > 0}
    waiting = 0
    for customer, quantity in queued:
        merged[customer] = merged.get(customer, 0) + quantity
        waiting += quantity
    return Counters(left=max(0, stock - sold - waiting), bought=merged)
