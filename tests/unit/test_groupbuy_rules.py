"""Properties of the group-buy rules: the group state machine, tiers and outcomes, ladder refunds, masking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from liebian.groupbuy import rules
from liebian.groupbuy.rules import Seat, Tier

FAST = settings(max_examples=300, deadline=None)


@st.composite
def ladders(draw: st.DrawFn) -> list[Tier]:
    """Valid ladders: sizes strictly up from 2, prices strictly down."""
    n = draw(st.integers(min_value=2, max_value=rules.MAX_LADDER_TIERS))
    sizes = sorted(draw(st.sets(st.integers(min_value=2, max_value=100), min_size=n, max_size=n)))
    prices = sorted(draw(st.sets(st.integers(min_value=0, max_value=10**7), min_size=n, max_size=n)), reverse=True)
    return [Tier(s, p) for s, p in zip(sizes, prices, strict=True)]


@FAST
@given(ladders())
def test_a_well_formed_ladder_is_accepted(ladder: list[Tier]) -> None:
    assert rules.ladder_problems(ladder[-1].size, ladder[0].price_fen, ladder) == []
    assert rules.campaign_problems(group_size=ladder[-1].size, group_price_fen=ladder[0].price_fen,
                                   leader_price_fen=None, ladder=ladder) == []


@FAST
@given(ladders(), st.data())
def test_a_ladder_whose_price_does_not_fall_is_refused(ladder: list[Tier], data: st.DataObject) -> None:
    i = data.draw(st.integers(min_value=1, max_value=len(ladder) - 1))
    broken = [*ladder[:i], Tier(ladder[i].size, ladder[i - 1].price_fen), *ladder[i + 1:]]
    assert rules.ladder_problems(ladder[-1].size, ladder[0].price_fen, broken)


def test_ladder_and_campaign_problems_name_each_mistake() -> None:
    assert rules.ladder_problems(3, 900, [Tier(2, 900)])  # one tier is no ladder
    assert rules.ladder_problems(3, 900, [Tier(2, 800), Tier(3, 700)])  # does not start at the group price
    assert rules.ladder_problems(4, 900, [Tier(2, 900), Tier(3, 700)])  # does not end at the group size
    assert rules.ladder_problems(3, 900, [Tier(3, 900), Tier(3, 700)])  # size does not grow
    codes = [c for c, _ in rules.campaign_problems(group_size=1, group_price_fen=5, leader_price_fen=6, ladder=None)]
    assert codes == ["invalid_group_size", "leader_price_above_group_price"]


@FAST
@given(ladders(), st.lists(st.tuples(st.integers(min_value=0, max_value=10**7), st.integers(min_value=1, max_value=99)),
                           min_size=1, max_size=100), st.data())
def test_ladder_refunds_are_exact_never_negative_and_never_above_what_was_paid(
        ladder: list[Tier], paid: list[tuple[int, int]], data: st.DataObject) -> None:
    final = data.draw(st.sampled_from(ladder)).price_fen
    seats = [Seat(unit, qty) for unit, qty in paid]
    refunds = rules.price_difference_refunds(seats, final)
    assert len(refunds) == len(seats)
    for seat, refund in zip(seats, refunds, strict=True):
        assert 0 <= refund <= seat.unit_price_fen * seat.quantity
        # Each member ends up paying the tier price, or less if they already paid less (a leader's price).
        assert seat.unit_price_fen * seat.quantity - refund == min(seat.unit_price_fen, final) * seat.quantity
    assert sum(s.unit_price_fen * s.quantity for s in seats) - sum(refunds) == sum(
        min(s.unit_price_fen, final) * s.quantity for s in seats)


@FAST
@given(ladders(), st.integers(min_value=0, max_value=100), st.none() | st.integers(min_value=1, max_value=99))
def test_the_deadline_outcome_is_the_highest_tier_reached_else_auto_completion_else_failure(
        ladder: list[Tier], paid: int, percent: int | None) -> None:
    outcome = rules.at_deadline(paid, ladder, percent)
    reached = [t for t in ladder if paid >= t.size]
    if reached:
        assert outcome == rules.Outcome("succeeded", reached[-1].price_fen)
    elif percent is not None and paid >= 1 and paid * 100 >= percent * ladder[0].size:
        assert outcome.status == "succeeded" and outcome.completed_by_shop
        assert outcome.unit_price_fen == ladder[0].price_fen
        assert outcome.shop_paid_slots == ladder[0].size - paid > 0  # the missing places, none invented
    else:
        assert outcome == rules.Outcome("failed")


def test_an_empty_group_is_never_completed_by_the_shop() -> None:
    assert rules.at_deadline(0, [Tier(2, 100)], 1).status == "failed"
    assert rules.at_deadline(1, [Tier(2, 100)], 50) == rules.Outcome("succeeded", 100, 1, True)
    assert rules.at_deadline(1, [Tier(3, 100)], 50).status == "failed"


class GroupMachine(RuleBasedStateMachine):
    """A group driven by random joins, payments, unpaid seats given up and the deadline, with the counters
    kept as the database keeps them and every decision asked of ``rules``."""

    @initialize(size=st.integers(min_value=2, max_value=8), percent=st.none() | st.integers(min_value=1, max_value=99),
                ladder=st.booleans())
    def open_group(self, size: int, percent: int | None, ladder: bool) -> None:
        self.size, self.percent = size, percent
        self.tiers = rules.tiers(size, 1000, [Tier(2, 1000), Tier(size, 900)] if ladder and size > 2 else None)
        self.status: rules.GroupStatus = "pending"
        self.held, self.paid, self.expired = 1, 0, False  # the opener holds the first seat
        self.outcome: rules.Outcome | None = None

    @property
    def taken(self) -> int:
        return self.held + self.paid

    @precondition(lambda self: self.status in ("pending", "open") and not self.expired)
    @rule()
    def join(self) -> None:
        if self.taken < self.size:  # the guarded UPDATE: a seat only while one is free
            self.held += 1

    @precondition(lambda self: self.held > 0 and self.status in ("pending", "open"))
    @rule()
    def pay(self) -> None:
        self.held -= 1
        self.paid += 1
        outcome = rules.after_payment(self.status, self.paid, self.size, before_deadline=not self.expired,
                                      group_tiers=self.tiers)
        self.status = outcome.status
        if outcome.status == "succeeded":
            self.outcome, self.held = outcome, 0

    @precondition(lambda self: self.held > 0 and self.status in ("pending", "open"))
    @rule()
    def give_up_unpaid_seat(self) -> None:
        self.held -= 1
        self.status = rules.after_release(self.status, self.taken)

    @precondition(lambda self: self.status == "open" and not self.expired)
    @rule()
    def deadline(self) -> None:
        self.expired, self.held = True, 0  # unpaid seats are given up at the deadline
        self.outcome = rules.at_deadline(self.paid, self.tiers, self.percent)
        self.status = self.outcome.status

    @precondition(lambda self: self.status in rules.FINAL)
    @rule(event=st.sampled_from(["first_payment", "filled", "deadline_met", "deadline_missed", "abandoned"]))
    def a_closed_group_takes_no_move(self, event: rules.GroupEvent) -> None:
        with pytest.raises(rules.InvalidTransition):
            rules.next_status(self.status, event)

    @invariant()
    def never_over_filled(self) -> None:
        assert 0 <= self.paid <= self.taken <= self.size

    @invariant()
    def open_only_once_someone_paid(self) -> None:
        assert (self.status == "pending") == (self.paid == 0 and self.status not in rules.FINAL)

    @invariant()
    def success_means_full_or_a_tier_or_the_shop_paying(self) -> None:
        if self.status != "succeeded":
            return
        assert self.outcome is not None
        if self.outcome.completed_by_shop:
            assert self.paid + self.outcome.shop_paid_slots == self.tiers[0].size
        else:
            assert self.paid >= self.tiers[0].size
            assert self.outcome.unit_price_fen == [t for t in self.tiers if self.paid >= t.size][-1].price_fen

    @invariant()
    def failure_means_nobody_paid_in_time_enough(self) -> None:
        if self.status == "failed" and self.paid:
            assert self.expired and self.paid < self.tiers[0].size


TestGroupStateMachine = GroupMachine.TestCase
TestGroupStateMachine.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)


@FAST
@given(st.text(min_size=2, max_size=30).filter(lambda s: len(s.strip()) >= 2))
def test_a_masked_nickname_shows_only_its_first_character(name: str) -> None:
    masked = rules.mask_nickname(name)
    assert masked == name.strip()[0] + "**" and name.strip() != masked


def test_masking_short_and_missing_nicknames() -> None:
    assert rules.mask_nickname("李") == "*" and rules.mask_nickname(None) == "**" and rules.mask_nickname(" ") == "**"


def test_a_group_never_runs_past_its_campaign() -> None:
    opened = datetime(2026, 1, 1, tzinfo=UTC)
    assert rules.deadline(opened, 3600, None) == opened + timedelta(hours=1)
    assert rules.deadline(opened, 3600, opened + timedelta(minutes=5)) == opened + timedelta(minutes=5)


def test_leader_prices_and_overflow_choices() -> None:
    assert rules.unit_price("leader", 800, 0) == 0 and rules.unit_price("member", 800, 0) == 800
    assert rules.unit_price("leader", 800, None) == 800
    assert rules.overflow_target("refuse") is None and rules.overflow_target("new_group") == "new_group"
