"""Properties of the money rules: splits sum to the whole, one rounding rule, refunds never overshoot."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from liebian.kit.money import MAX_FEN, allocate, apply_bps, round_half_up
from liebian.ledger.rules import UnbalancedError, check_balanced
from liebian.orders.rules import spread_refund

FAST = settings(max_examples=200, deadline=None)

totals = st.integers(min_value=-MAX_FEN, max_value=MAX_FEN)
weight_lists = st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=12).filter(
    lambda ws: sum(ws) > 0
)


def exact_share(total: int, weight: int, weight_sum: int) -> Fraction:
    return Fraction(total * weight, weight_sum)


# ---- allocate ----

@FAST
@given(totals, weight_lists)
@example(1, [1, 1])
@example(-1, [1, 1])
@example(100, [1, 1, 1])
@example(-100, [1, 1, 1])
@example(MAX_FEN, [1, 0, 3])
def test_allocate_parts_sum_to_total(total: int, weights: list[int]) -> None:
    parts = allocate(total, weights)
    assert len(parts) == len(weights)
    assert sum(parts) == total


@FAST
@given(totals, weight_lists)
@example(-7, [1, 1, 1])
@example(10, [3, 3, 3])
def test_allocate_each_part_within_one_fen_of_exact_share(total: int, weights: list[int]) -> None:
    weight_sum = sum(weights)
    for part, weight in zip(allocate(total, weights), weights, strict=True):
        assert abs(part - exact_share(total, weight, weight_sum)) < 1


@FAST
@given(totals, weight_lists)
def test_allocate_parts_never_change_sign(total: int, weights: list[int]) -> None:
    parts = allocate(total, weights)
    if total >= 0:
        assert all(p >= 0 for p in parts)
    else:
        assert all(p <= 0 for p in parts)


@FAST
@given(totals, weight_lists, st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=5))
def test_allocate_zero_weights_get_zero(total: int, weights: list[int], zeros_at: list[int]) -> None:
    for position in zeros_at:
        weights.insert(min(position, len(weights)), 0)
    for part, weight in zip(allocate(total, weights), weights, strict=True):
        if weight == 0:
            assert part == 0


@FAST
@given(totals, weight_lists)
def test_allocate_is_deterministic(total: int, weights: list[int]) -> None:
    assert allocate(total, weights) == allocate(total, list(weights))
    assert allocate(total, weights) == allocate(total, tuple(weights))


@FAST
@given(totals, weight_lists)
def test_allocate_negative_total_mirrors_positive(total: int, weights: list[int]) -> None:
    assert allocate(-total, weights) == [-p for p in allocate(total, weights)]


def test_allocate_ties_go_to_the_earlier_weight() -> None:
    assert allocate(1, [1, 1, 1]) == [1, 0, 0]
    assert allocate(2, [1, 1, 1]) == [1, 1, 0]
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(-100, [1, 1, 1]) == [-34, -33, -33]


@FAST
@given(totals, st.integers(min_value=1, max_value=12))
def test_allocate_refuses_all_zero_weights(total: int, n: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        allocate(total, [0] * n)


@FAST
@given(totals)
def test_allocate_refuses_empty_weights(total: int) -> None:
    with pytest.raises(ValueError):
        allocate(total, [])


@FAST
@given(totals, weight_lists, st.integers(min_value=-10**9, max_value=-1), st.data())
def test_allocate_refuses_negative_weights(
    total: int, weights: list[int], negative: int, data: st.DataObject
) -> None:
    position = data.draw(st.integers(min_value=0, max_value=len(weights)))
    with pytest.raises(ValueError, match="negative"):
        allocate(total, [*weights[:position], negative, *weights[position:]])


# ---- round_half_up ----

def decimal_half_up(numerator: int, denominator: int) -> int:
    with localcontext() as ctx:
        ctx.prec = 200  # exact for every integer the strategies draw
        return int((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@FAST
@given(st.integers(min_value=-(10**30), max_value=10**30), st.integers(min_value=1, max_value=10**15))
@example(5, 10)
@example(-5, 10)
@example(15, 10)
@example(-15, 10)
@example(1, 2)
@example(-1, 2)
@example(1, 3)
@example(-2, 3)
@example(0, 7)
def test_round_half_up_matches_decimal(numerator: int, denominator: int) -> None:
    assert round_half_up(numerator, denominator) == decimal_half_up(numerator, denominator)


@FAST
@given(st.integers(min_value=-(10**12), max_value=10**12), st.integers(min_value=-(10**6), max_value=0))
def test_round_half_up_refuses_non_positive_denominator(numerator: int, denominator: int) -> None:
    with pytest.raises(ValueError):
        round_half_up(numerator, denominator)


# ---- apply_bps ----

@FAST
@given(st.integers(min_value=0, max_value=MAX_FEN), st.integers(min_value=0, max_value=10_000))
@example(1, 5000)
@example(1, 4999)
@example(MAX_FEN, 10_000)
def test_apply_bps_is_between_zero_and_amount(amount: int, bps: int) -> None:
    result = apply_bps(amount, bps)
    assert 0 <= result <= amount
    assert result == decimal_half_up(amount * bps, 10_000)


@FAST
@given(st.integers(min_value=0, max_value=MAX_FEN))
def test_apply_bps_edges(amount: int) -> None:
    assert apply_bps(amount, 0) == 0
    assert apply_bps(amount, 10_000) == amount


@FAST
@given(st.integers(min_value=0, max_value=MAX_FEN), st.integers(min_value=0, max_value=9_999))
def test_apply_bps_is_monotonic_in_rate(amount: int, bps: int) -> None:
    assert apply_bps(amount, bps) <= apply_bps(amount, bps + 1)


# ---- spread_refund ----

refundables = st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=10)


def check_spread(amount: int, lines: list[int]) -> None:
    parts = spread_refund(amount, lines)
    assert len(parts) == len(lines)
    assert sum(parts) == amount
    for part, refundable in zip(parts, lines, strict=True):
        assert 0 <= part <= refundable


@FAST
@given(refundables, st.data())
def test_spread_refund_is_exact_and_never_above_a_line(lines: list[int], data: st.DataObject) -> None:
    check_spread(data.draw(st.integers(min_value=0, max_value=sum(lines))), lines)


@pytest.mark.parametrize(("amount", "lines"), [
    (1, [1, 1]), (1, [0, 5, 0]), (3, [1, 1, 1]), (2, [1, 1, 1]), (0, [0, 0]), (0, [7, 3]),
    (5, [1, 10**9]), (10**9, [1, 10**9]),
])
def test_spread_refund_examples(amount: int, lines: list[int]) -> None:
    check_spread(amount, lines)


@FAST
@given(refundables)
def test_spread_refund_of_everything_refunds_every_line_in_full(lines: list[int]) -> None:
    assert spread_refund(sum(lines), lines) == lines


@FAST
@given(refundables, st.integers(min_value=1, max_value=10**9))
def test_spread_refund_refuses_more_than_the_lines_hold(lines: list[int], excess: int) -> None:
    with pytest.raises(ValueError):
        spread_refund(sum(lines) + excess, lines)


@FAST
@given(refundables, st.integers(min_value=1, max_value=10**9))
def test_spread_refund_refuses_negative_amounts(lines: list[int], amount: int) -> None:
    with pytest.raises(ValueError):
        spread_refund(-amount, lines)


# ---- check_balanced ----

accounts = st.sampled_from(["cash:wechat", "cash:cod", "customer_prepayments", "revenue", "commissions"])
nonzero = st.integers(min_value=-MAX_FEN, max_value=MAX_FEN).filter(lambda a: a != 0)


@st.composite
def balanced_legs(draw: st.DrawFn) -> list[tuple[str, int]]:
    legs = [(draw(accounts), draw(nonzero)) for _ in range(draw(st.integers(min_value=1, max_value=6)))]
    closing = -sum(amount for _, amount in legs)
    assume(closing != 0)
    return [*legs, (draw(accounts), closing)]


@FAST
@given(balanced_legs())
def test_check_balanced_accepts_balanced_legs(legs: list[tuple[str, int]]) -> None:
    check_balanced(legs)


@FAST
@given(balanced_legs(), st.integers(min_value=-(10**6), max_value=10**6).filter(lambda d: d != 0), st.data())
def test_check_balanced_refuses_unbalanced_legs(
    legs: list[tuple[str, int]], drift: int, data: st.DataObject
) -> None:
    i = data.draw(st.integers(min_value=0, max_value=len(legs) - 1))
    account, amount = legs[i]
    assume(amount + drift != 0)
    legs[i] = (account, amount + drift)
    with pytest.raises(UnbalancedError):
        check_balanced(legs)


@FAST
@given(balanced_legs(), accounts, st.data())
def test_check_balanced_refuses_a_zero_leg(
    legs: list[tuple[str, int]], account: str, data: st.DataObject
) -> None:
    i = data.draw(st.integers(min_value=0, max_value=len(legs)))
    with pytest.raises(UnbalancedError):  # the legs sum to zero: only the zero leg is wrong
        check_balanced([*legs[:i], (account, 0), *legs[i:]])


@FAST
@given(accounts, st.integers(min_value=-MAX_FEN, max_value=MAX_FEN))
def test_check_balanced_refuses_a_single_leg(account: str, amount: int) -> None:
    with pytest.raises(UnbalancedError):
        check_balanced([(account, amount)])


def test_check_balanced_refuses_no_legs() -> None:
    with pytest.raises(UnbalancedError):
        check_balanced([])


def test_unbalanced_error_is_a_value_error() -> None:
    assert issubclass(UnbalancedError, ValueError)
