"""Properties of the coupon rules: the discount and its allocation over lines, the double-mean red-packet split,
the luckiest claim, template terms, scope and masking."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liebian.coupons import rules
from liebian.coupons.rules import Claim, Refused, Terms

FAST = settings(max_examples=300, deadline=None)
amounts = st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=20)


@st.composite
def terms(draw: st.DrawFn) -> Terms:
    kind = draw(st.sampled_from(["fixed", "percent", "threshold"]))
    threshold = draw(st.integers(min_value=0, max_value=10**6))
    if kind == "percent":
        return Terms(kind="percent", percent_bps=draw(st.integers(min_value=1, max_value=9999)),
                     cap_fen=draw(st.none() | st.integers(min_value=1, max_value=10**7)), threshold_fen=threshold)
    return Terms(kind=kind, amount_fen=draw(st.integers(min_value=1, max_value=10**8)),
                 threshold_fen=max(threshold, 1) if kind == "threshold" else threshold)


@FAST
@given(terms(), amounts, st.data())
def test_line_discounts_sum_exactly_stay_in_scope_and_never_make_a_line_negative(
        t: Terms, lines: list[int], data: st.DataObject) -> None:
    eligible = data.draw(st.lists(st.booleans(), min_size=len(lines), max_size=len(lines)))
    base = sum(a for a, ok in zip(lines, eligible, strict=True) if ok)
    try:
        parts = rules.line_discounts(t, lines, eligible)
    except Refused as refused:
        assert (refused.code == "coupon_not_applicable" and base == 0) or (
            refused.code == "coupon_threshold_not_met" and base < t.threshold_fen)
        return
    assert base >= t.threshold_fen and base > 0
    total = sum(parts)
    assert total == min(rules.raw_discount(t, base), base)  # macrozheng #1002: never more than the goods in scope
    for part, amount, ok in zip(parts, lines, eligible, strict=True):
        assert 0 <= part <= amount  # payable per line >= 0
        assert ok or part == 0  # only lines in scope
    assert sum(lines) - total >= 0
    if t.kind == "percent" and t.cap_fen is not None:
        assert total <= t.cap_fen


@FAST
@given(amounts, st.integers(min_value=1, max_value=10**8))
def test_a_fixed_discount_is_allocated_in_proportion_within_one_fen(lines: list[int], off: int) -> None:
    eligible = [True] * len(lines)
    if sum(lines) == 0:
        return
    parts = rules.line_discounts(Terms(kind="fixed", amount_fen=off), lines, eligible)
    d, base = sum(parts), sum(lines)
    for part, amount in zip(parts, lines, strict=True):
        assert abs(part * base - d * amount) < base  # within one fen of the exact share


def test_the_named_refusals_and_cases() -> None:
    with pytest.raises(Refused) as e:
        rules.line_discounts(Terms(kind="threshold", amount_fen=500, threshold_fen=5000), [3000, 9000], [True, False])
    assert e.value.code == "coupon_threshold_not_met"
    with pytest.raises(Refused) as e:
        rules.line_discounts(Terms(kind="fixed", amount_fen=500), [3000], [False])
    assert e.value.code == "coupon_not_applicable"
    # 满 50 减 10 on in-scope goods of 60: only the in-scope line pays the discount.
    assert rules.line_discounts(Terms(kind="threshold", amount_fen=1000, threshold_fen=5000),
                                [6000, 9000], [True, False]) == [1000, 0]
    # 20% off, capped at 15 yuan; a 30-yuan coupon on 10 yuan of goods takes 10 yuan, not 30.
    assert rules.line_discounts(Terms(kind="percent", percent_bps=2000, cap_fen=1500), [5000, 5000],
                                [True, True]) == [750, 750]
    assert rules.line_discounts(Terms(kind="fixed", amount_fen=3000), [400, 600], [True, True]) == [400, 600]
    assert rules.line_discounts(Terms(kind="fixed", amount_fen=100), [1, 1, 1], [True] * 3) == [1, 1, 1]
    assert rules.line_discounts(Terms(kind="fixed", amount_fen=2), [1, 1, 1], [True] * 3) == [1, 1, 0]


@FAST
@given(st.integers(min_value=1, max_value=100), st.integers(min_value=1, max_value=1000), st.data())
def test_double_mean_parts_sum_exactly_and_respect_the_minimum(parts: int, min_part: int, data: st.DataObject) -> None:
    total = data.draw(st.integers(min_value=parts * min_part, max_value=parts * min_part + 10**6))
    seed = data.draw(st.integers(min_value=0, max_value=2**64))
    split = rules.split_double_mean(total, parts, min_part, random.Random(seed))
    assert len(split) == parts and sum(split) == total and min(split) >= min_part
    assert split == rules.split_double_mean(total, parts, min_part, random.Random(seed))  # deterministic


@FAST
@given(st.integers(min_value=2, max_value=100), st.integers(min_value=0, max_value=2**32))
def test_no_part_but_the_last_exceeds_twice_the_mean_of_what_was_left(parts: int, seed: int) -> None:
    total, min_part = 100 * parts + 5000, 1
    split = rules.split_double_mean(total, parts, min_part, random.Random(seed))
    left = total
    for k, amount in zip(range(parts, 1, -1), split[:-1], strict=True):
        assert amount - min_part <= 2 * (left - k * min_part) // k
        left -= amount


def test_the_split_refuses_what_cannot_be_split() -> None:
    assert rules.split_problems(9, 10, 1)[0][0] == "total_below_minimum"
    assert rules.split_problems(100, 0, 1)[0][0] == "invalid_parts"
    assert rules.split_problems(100, 101, 1)[0][0] == "invalid_parts"
    assert rules.split_problems(100, 5, 0)[0][0] == "invalid_min_part"
    with pytest.raises(ValueError):
        rules.split_double_mean(9, 10, 1, random.Random(1))
    assert rules.split_double_mean(10, 10, 1, random.Random(1)) == [1] * 10
    assert rules.split_double_mean(777, 1, 5, random.Random(1)) == [777]


def test_the_luckiest_is_the_largest_the_earliest_on_a_tie_and_only_once_settled() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    claims = [Claim(1, 300, t0), Claim(2, 500, t0 + timedelta(seconds=2)), Claim(3, 500, t0 + timedelta(seconds=1))]
    assert rules.luckiest(claims, all_claimed=False, expired=False) is None
    assert rules.luckiest(claims, all_claimed=True, expired=False) == 3
    assert rules.luckiest(claims, all_claimed=False, expired=True) == 3
    assert rules.luckiest([], all_claimed=False, expired=True) is None


def test_terms_problems_scope_state_masking_and_days() -> None:
    assert rules.terms_problems(Terms(kind="fixed", amount_fen=100)) == []
    assert rules.terms_problems(Terms(kind="fixed"))[0][0] == "invalid_amount"
    assert rules.terms_problems(Terms(kind="threshold", amount_fen=100))[0][0] == "threshold_required"
    assert rules.terms_problems(Terms(kind="percent", percent_bps=10000))[0][0] == "invalid_percent"
    assert rules.terms_problems(Terms(kind="percent", percent_bps=100, amount_fen=5))[0][0] == "invalid_terms"
    assert rules.terms_problems(Terms(kind="fixed", amount_fen=5, cap_fen=3))[0][0] == "invalid_terms"
    assert rules.in_scope("shop", [], 1, None)
    assert rules.in_scope("product", [1, 2], 2, None) and not rules.in_scope("product", [1], 2, 7)
    assert rules.in_scope("category", [7], 2, 7) and not rules.in_scope("category", [7], 2, None)
    now = datetime(2026, 1, 1, 15, 59, tzinfo=UTC)
    assert rules.coupon_state("used", now - timedelta(days=1), now) == "used"
    assert rules.coupon_state("available", now, now) == "expired"
    assert rules.coupon_state("available", now + timedelta(seconds=1), now) == "available"
    assert (rules.mask_nickname("张三丰"), rules.mask_nickname("a"), rules.mask_nickname(" ")) == ("张**", "*", "**")
    assert str(rules.shop_day(now)) == "2026-01-01" and str(rules.shop_day(now + timedelta(minutes=1))) == "2026-01-02"
