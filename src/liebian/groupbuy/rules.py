"""Pure rules of group buying: price tiers, the group state machine, outcomes, refunds, masking.

Plain functions over plain data, tested without a database (``tests/unit/test_groupbuy_rules.py``).
The service keeps the counters in guarded UPDATEs and asks these functions what a count means.

A group: ``pending`` (opened, nobody paid yet) → ``open`` (the first payment starts its countdown) →
``succeeded`` (the last seat paid before the deadline, or at the deadline a ladder tier reached or the
auto-completion threshold met) or ``failed`` (the deadline came too early; or, while still pending,
every seat was given up unpaid). ``succeeded`` and ``failed`` are final.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Literal

GroupStatus = Literal["pending", "open", "succeeded", "failed"]
Role = Literal["leader", "member"]
Overflow = Literal["other_group", "new_group", "refuse"]
GroupEvent = Literal["first_payment", "filled", "deadline_met", "deadline_missed", "abandoned"]

MIN_GROUP_SIZE, MAX_GROUP_SIZE = 2, 100
MAX_LADDER_TIERS = 10
FINAL: frozenset[GroupStatus] = frozenset({"succeeded", "failed"})

# (status, event) → next status. Anything else is not a move a group can make.
TRANSITIONS: dict[tuple[GroupStatus, GroupEvent], GroupStatus] = {
    ("pending", "first_payment"): "open",
    ("pending", "abandoned"): "failed",
    ("open", "filled"): "succeeded",
    ("open", "deadline_met"): "succeeded",
    ("open", "deadline_missed"): "failed",
}


class InvalidTransition(ValueError):
    pass


def next_status(status: GroupStatus, event: GroupEvent) -> GroupStatus:
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise InvalidTransition(f"a {status} group cannot take '{event}'") from None


@dataclass(frozen=True)
class Tier:
    """The unit price of a group that closes with at least ``size`` paid members."""

    size: int
    price_fen: int


def tiers(group_size: int, group_price_fen: int, ladder: Sequence[Tier] | None) -> tuple[Tier, ...]:
    """A plain campaign has one tier: the full group at the group price."""
    return tuple(ladder) if ladder else (Tier(group_size, group_price_fen),)


def campaign_problems(*, group_size: int, group_price_fen: int, leader_price_fen: int | None,
                      ladder: Sequence[Tier] | None) -> list[tuple[str, str]]:
    """Why these prices and sizes cannot make a campaign, as (code, detail); empty when they can."""
    problems: list[tuple[str, str]] = []
    if not MIN_GROUP_SIZE <= group_size <= MAX_GROUP_SIZE:
        problems.append(("invalid_group_size", f"A group has {MIN_GROUP_SIZE} to {MAX_GROUP_SIZE} members."))
    if leader_price_fen is not None and leader_price_fen > group_price_fen:
        problems.append(("leader_price_above_group_price", "The leader's price cannot exceed the group price."))
    if ladder:
        problems += [("invalid_ladder", p) for p in ladder_problems(group_size, group_price_fen, ladder)]
    return problems


def ladder_problems(group_size: int, group_price_fen: int, ladder: Sequence[Tier]) -> list[str]:
    """A ladder starts at the group price (what joiners pay) and ends at the group size; each further
    tier needs more members and costs less, so the price only falls as the final group grows."""
    if not 2 <= len(ladder) <= MAX_LADDER_TIERS:
        return [f"A ladder has 2 to {MAX_LADDER_TIERS} tiers."]
    found = []
    if ladder[0].price_fen != group_price_fen:
        found.append("The first tier's price is the group price (what every member pays when joining).")
    if ladder[-1].size != group_size:
        found.append("The last tier's size is the group size (a full group closes at once).")
    if ladder[0].size < MIN_GROUP_SIZE:
        found.append(f"A tier has at least {MIN_GROUP_SIZE} members.")
    for lower, upper in pairwise(ladder):
        if upper.size <= lower.size or upper.price_fen >= lower.price_fen:
            found.append("Each tier needs more members and costs less than the one before.")
            break
    if any(t.price_fen < 0 for t in ladder):
        found.append("Tier prices cannot be negative.")
    return found


def unit_price(role: Role, group_price_fen: int, leader_price_fen: int | None) -> int:
    return leader_price_fen if role == "leader" and leader_price_fen is not None else group_price_fen


def deadline(opened_at: datetime, duration_seconds: int, campaign_ends_at: datetime | None) -> datetime:
    """A group runs for the campaign's duration from its first payment, never past the campaign's end."""
    due = opened_at + timedelta(seconds=duration_seconds)
    return min(due, campaign_ends_at) if campaign_ends_at is not None else due


@dataclass(frozen=True)
class Outcome:
    status: GroupStatus
    unit_price_fen: int | None = None  # the tier price members end up paying (None when failed)
    shop_paid_slots: int = 0
    completed_by_shop: bool = False


def after_payment(status: GroupStatus, paid: int, size: int, *, before_deadline: bool,
                  group_tiers: Sequence[Tier]) -> Outcome:
    """A seat was paid. The first payment opens a pending group; the last one, in time, fills it."""
    if status == "pending":
        status = next_status(status, "first_payment")
    if status == "open" and paid >= size and before_deadline:
        return Outcome(next_status(status, "filled"), group_tiers[-1].price_fen)
    return Outcome(status)


def after_release(status: GroupStatus, seats_taken: int) -> GroupStatus:
    """A pending group whose every seat was given up unpaid is over; an open one waits for its deadline."""
    if status == "pending" and seats_taken == 0:
        return next_status(status, "abandoned")
    return status


def at_deadline(paid: int, group_tiers: Sequence[Tier], auto_complete_percent: int | None) -> Outcome:
    """The deadline of an open group: the highest tier its paid members reached, else auto-completion
    when at least ``auto_complete_percent`` of the smallest tier paid (the shop pays the missing places
    and the group says so; no member is invented), else failure."""
    reached = [t for t in group_tiers if paid >= t.size]
    if reached:
        return Outcome(next_status("open", "deadline_met"), reached[-1].price_fen)
    first = group_tiers[0]
    if auto_complete_percent is not None and paid >= 1 and paid * 100 >= auto_complete_percent * first.size:
        return Outcome(next_status("open", "deadline_met"), first.price_fen, shop_paid_slots=first.size - paid,
                       completed_by_shop=True)
    return Outcome(next_status("open", "deadline_missed"))


@dataclass(frozen=True)
class Seat:
    unit_price_fen: int  # what the member paid per unit
    quantity: int


def price_difference_refunds(seats: Sequence[Seat], final_unit_price_fen: int) -> list[int]:
    """What each member gets back when the group closes at a lower tier price: the difference per unit.

    Nobody ends up paying more than they paid (a leader already below the tier keeps their price), so
    every refund is between zero and what the member paid for the goods.
    """
    return [max(0, s.unit_price_fen - final_unit_price_fen) * s.quantity for s in seats]


def mask_nickname(nickname: str | None) -> str:
    """``张三丰`` → ``张**``: other customers see who joined, not who they are."""
    name = (nickname or "").strip()
    if not name:
        return "**"
    return name[0] + "**" if len(name) > 1 else "*"


def overflow_target(setting: Overflow) -> Literal["other_group", "new_group"] | None:
    """Where a buyer goes when the group they chose filled up first; None: refused (``group_full``)."""
    return None if setting == "refuse" else setting
