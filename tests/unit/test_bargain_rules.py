"""Properties of the bargain rules: the cut plan above all (length, sum, ≥ 1 fen each, the last cut on the
floor), campaign validation, states, the caps' day, masking."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liebian.bargain import rules

FAST = settings(max_examples=500, deadline=None)
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@st.composite
def campaigns(draw: st.DrawFn) -> tuple[int, int, int]:
    """Valid (start, floor, helpers_needed): the gap leaves at least 1 fen for every cut, tight gaps included."""
    helpers = draw(st.integers(min_value=rules.MIN_HELPERS, max_value=rules.MAX_HELPERS))
    floor = draw(st.integers(min_value=0, max_value=10**9))
    gap = draw(st.one_of(st.integers(min_value=rules.cuts_for(helpers), max_value=rules.cuts_for(helpers) + 3),
                         st.integers(min_value=rules.cuts_for(helpers), max_value=10**10)))
    return floor + gap, floor, helpers


@FAST
@given(campaigns(), st.integers(min_value=0, max_value=2**32))
def test_the_plan_lands_exactly_on_the_floor_with_every_cut_at_least_one_fen(
        campaign: tuple[int, int, int], seed: int) -> None:
    start, floor, helpers = campaign
    assert rules.campaign_problems(start_price_fen=start, floor_price_fen=floor, helpers_needed=helpers) == []
    plan = rules.cut_plan(start - floor, rules.cuts_for(helpers), random.Random(seed))
    assert len(plan) == helpers + 1  # the opening cut and one per helper
    assert all(isinstance(cut, int) and cut >= 1 for cut in plan)
    assert sum(plan) == start - floor
    prices = rules.prices_after(start, plan)
    assert prices[-1] == floor  # the last required helper lands on the floor
    assert all(p > floor for p in prices[:-1])  # and nobody before them does
    assert all(a > b for a, b in zip([start, *prices], prices, strict=False))  # every cut lowers the price


@FAST
@given(st.integers(min_value=1, max_value=200), st.integers(min_value=0, max_value=10**6),
       st.integers(min_value=0, max_value=2**32))
def test_any_total_at_least_the_number_of_cuts_is_planned_exactly(cuts: int, extra: int, seed: int) -> None:
    plan = rules.cut_plan(cuts + extra, cuts, random.Random(seed))
    assert len(plan) == cuts and sum(plan) == cuts + extra and min(plan) >= 1


@FAST
@given(st.integers(min_value=1, max_value=100), st.data())
def test_a_total_below_one_fen_per_cut_is_refused(cuts: int, data: st.DataObject) -> None:
    total = data.draw(st.integers(min_value=-5, max_value=cuts - 1))
    with pytest.raises(ValueError):
        rules.cut_plan(total, cuts, random.Random(0))


@FAST
@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=1, max_value=100), st.data())
def test_a_gap_too_small_for_the_cuts_is_refused(floor: int, helpers: int, data: st.DataObject) -> None:
    gap = data.draw(st.integers(min_value=1, max_value=rules.cuts_for(helpers) - 1))
    problems = rules.campaign_problems(start_price_fen=floor + gap, floor_price_fen=floor, helpers_needed=helpers)
    assert [code for code, _ in problems] == ["price_gap_too_small"]


@pytest.mark.parametrize(("start", "floor", "helpers", "code"), [
    (100, 100, 1, "floor_not_below_start"),
    (100, 200, 1, "floor_not_below_start"),
    (100, -1, 1, "invalid_floor_price"),
    (1000, 0, 0, "invalid_helpers_needed"),
    (1000, 0, 101, "invalid_helpers_needed"),
])
def test_bad_campaigns_are_refused_with_a_code(start: int, floor: int, helpers: int, code: str) -> None:
    problems = rules.campaign_problems(start_price_fen=start, floor_price_fen=floor, helpers_needed=helpers)
    assert code in [c for c, _ in problems]


def test_the_floor_used_as_a_random_minimum_cannot_happen() -> None:
    """yudao drew each cut between bounds that involved the floor price; with a floor far above the gap such a
    cut overshoots. Here a cut is a share of the gap, whatever the floor."""
    for seed in range(200):
        plan = rules.cut_plan(10, 10, random.Random(seed))  # a 10-fen gap, 10 cuts: 1 fen each, exactly
        assert plan == [1] * 10
        plan = rules.cut_plan(99_900, 11, random.Random(seed))  # start 1000.00, floor 1.00 (yuan)
        assert rules.prices_after(100_000, plan)[-1] == 100


def test_the_opening_cut_is_the_big_one_on_average() -> None:
    rng = random.Random(7)
    plans = [rules.cut_plan(9_000, 11, rng) for _ in range(300)]
    opening = sum(p[0] for p in plans) / len(plans)
    last = sum(p[-1] for p in plans) / len(plans)
    assert opening > 3 * last


def test_the_same_seed_gives_the_same_plan() -> None:
    assert rules.cut_plan(5000, 8, random.Random(42)) == rules.cut_plan(5000, 8, random.Random(42))


def test_states() -> None:
    later = NOW + timedelta(hours=1)
    assert rules.effective_status("active", later, NOW) == "active"
    assert rules.effective_status("complete", NOW, NOW) == "expired"
    assert rules.effective_status("ordered", NOW - timedelta(days=1), NOW) == "ordered"
    assert rules.can_buy("complete", False) and rules.can_buy("active", True)
    assert not rules.can_buy("active", False) and not rules.can_buy("ordered", True)
    assert not rules.can_buy("expired", True)
    assert rules.after_cancelled_order(3, 3, later, NOW) == "complete"
    assert rules.after_cancelled_order(2, 3, later, NOW) == "active"
    assert rules.after_cancelled_order(3, 3, NOW, NOW) == "expired"


def test_expiry_never_outlives_the_campaign() -> None:
    assert rules.expiry(NOW, 3600, None) == NOW + timedelta(hours=1)
    assert rules.expiry(NOW, 3600, NOW + timedelta(minutes=5)) == NOW + timedelta(minutes=5)


def test_the_caps_day_is_shanghais() -> None:
    assert rules.help_day(datetime(2026, 11, 23, 15, 59, tzinfo=UTC)).isoformat() == "2026-11-23"
    assert rules.help_day(datetime(2026, 11, 23, 16, 0, tzinfo=UTC)).isoformat() == "2026-11-24"


def test_masking() -> None:
    assert rules.mask_nickname("张三丰") == "张**"
    assert rules.mask_nickname("A") == "*"
    assert rules.mask_nickname(None) == "**"
