"""Distribution's pure rules under Hypothesis: splits exact and within the cap, never a third level, refunds
taking back exactly their share whatever the path, and reversals restoring the balances."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from liebian.distribution import rules
from liebian.distribution.rules import Beneficiary, DistributionSettings, Line, ProductRule, PromoterLevel
from liebian.kit.money import BPS_DENOMINATOR, apply_bps

rates = st.integers(min_value=0, max_value=BPS_DENOMINATOR)


@st.composite
def orders(draw: st.DrawFn) -> tuple[DistributionSettings, list[Line], list[Beneficiary], dict[int, ProductRule]]:
    levels = draw(st.sampled_from([1, 2]))
    config = DistributionSettings(enabled=True, levels=levels, level_rates_bps=draw(st.lists(rates, min_size=levels,
                                                                                             max_size=levels)),
                                  commission_cap_bps=draw(rates))
    n = draw(st.integers(min_value=1, max_value=6))
    lines = [Line(line_id=i + 1, product_id=draw(st.integers(1, 4)), quantity=draw(st.integers(1, 20)),
                  base_fen=draw(st.integers(0, 10**7))) for i in range(n)]
    # Up to three levels offered: the third must never be paid, whatever the settings say.
    who = [Beneficiary(level=lv, customer_id=100 + lv, multiplier_bps=draw(st.integers(BPS_DENOMINATOR,
                                                                                      3 * BPS_DENOMINATOR)))
           for lv in draw(st.lists(st.integers(1, 3), unique=True, max_size=3))]
    product_rules = {pid: ProductRule(mode=draw(st.sampled_from(["rate", "fixed", "none"])),
                                      values=(draw(st.integers(0, 10**5)), draw(st.integers(0, 10**5))))
                     for pid in draw(st.lists(st.integers(1, 4), unique=True, max_size=4))}
    product_rules = {pid: r if r.mode != "rate" else ProductRule("rate", tuple(min(v, BPS_DENOMINATOR)
                                                                                for v in r.values))
                     for pid, r in product_rules.items()}
    return config, lines, who, product_rules


@given(orders())
@settings(max_examples=400)
def test_commissions_stay_within_the_cap_each_line_and_two_levels(
        case: tuple[DistributionSettings, list[Line], list[Beneficiary], dict[int, ProductRule]]) -> None:
    config, lines, who, product_rules = case
    shares = rules.commission_shares(config, lines, who, product_rules)
    goods = sum(line.base_fen for line in lines)
    assert sum(s.amount_fen for s in shares) <= goods * config.commission_cap_bps // BPS_DENOMINATOR
    assert all(s.amount_fen > 0 for s in shares)
    assert all(1 <= s.level <= config.levels <= rules.MAX_LEVELS for s in shares)
    for line in lines:
        assert sum(s.amount_fen for s in shares if s.line_id == line.line_id) <= line.base_fen
    keys = [(s.line_id, s.customer_id, s.level) for s in shares]
    assert len(keys) == len(set(keys))  # one row per (line, beneficiary, level)


@given(orders())
@settings(max_examples=300)
def test_a_capped_order_splits_the_cap_exactly_in_proportion(
        case: tuple[DistributionSettings, list[Line], list[Beneficiary], dict[int, ProductRule]]) -> None:
    config, lines, who, product_rules = case
    uncapped = rules.commission_shares(config.model_copy(update={"commission_cap_bps": BPS_DENOMINATOR}), lines,
                                       who, product_rules)
    capped = rules.commission_shares(config, lines, who, product_rules)
    cap = sum(line.base_fen for line in lines) * config.commission_cap_bps // BPS_DENOMINATOR
    total = sum(s.amount_fen for s in uncapped)
    if total <= cap:
        assert capped == uncapped
        return
    assert sum(s.amount_fen for s in capped) == cap  # largest remainder: the parts sum to the whole
    wanted = {(s.line_id, s.level): s.amount_fen for s in uncapped}
    for s in capped:  # nobody gets more than uncapped, and each within one fen of the exact share
        exact = wanted[(s.line_id, s.level)] * cap / total
        assert s.amount_fen <= wanted[(s.line_id, s.level)] and abs(s.amount_fen - exact) < 1


def test_the_default_rates_on_a_simple_order() -> None:
    config = DistributionSettings(enabled=True, levels=2, level_rates_bps=[1000, 500])
    shares = rules.commission_shares(config, [Line(1, 1, 1, 9999)], [Beneficiary(1, 7), Beneficiary(2, 8)], {})
    assert [(s.customer_id, s.amount_fen, s.rate_bps) for s in shares] == [(7, 1000, 1000), (8, 500, 500)]
    fixed = rules.commission_shares(config, [Line(1, 1, 3, 9000)], [Beneficiary(1, 7, 15_000)],
                                    {1: ProductRule("fixed", (200, 100))})
    assert [s.amount_fen for s in fixed] == [900]  # 200 fen per unit × 3 × 1.5
    assert rules.commission_shares(config, [Line(1, 1, 1, 9000)], [Beneficiary(1, 7)],
                                   {1: ProductRule("none", (0, 0))}) == []


def test_a_third_level_is_refused_by_validation() -> None:
    with pytest.raises(ValidationError, match="at most 2 levels"):
        DistributionSettings(levels=3, level_rates_bps=[1000, 500, 100])
    with pytest.raises(ValidationError):
        DistributionSettings(levels=2, level_rates_bps=[1000])
    with pytest.raises(ValidationError):
        DistributionSettings(promoter_levels=[PromoterLevel(name="a", min_sales_fen=10)])
    with pytest.raises(ValidationError):
        DistributionSettings(commission_cap_bps=10_001)


@given(st.integers(1, 10**7), st.integers(1, 10**7), st.lists(st.integers(0, 10**7), max_size=6))
def test_refunds_take_back_exactly_their_share_whatever_the_path(amount: int, base: int, parts: list[int]) -> None:
    refunded, left, taken = 0, amount, 0
    for part in parts:
        refunded = min(refunded + part, base)
        now_left = rules.remaining_after_refund(amount, base, refunded)
        assert 0 <= now_left <= left  # monotone: a refund never gives commission back
        taken += left - now_left
        left = now_left
    assert taken + left == amount
    assert left == rules.remaining_after_refund(amount, base, refunded)  # one refund of the sum: the same
    assert rules.remaining_after_refund(amount, base, base) == 0
    assert rules.remaining_after_refund(amount, base, 0) == amount


@given(st.lists(st.tuples(st.sampled_from(["settle", "withdraw", "reverse"]), st.integers(0, 10**6)), max_size=30))
def test_reversals_restore_balances_and_shortfalls_become_debt(steps: list[tuple[str, int]]) -> None:
    """A promoter's (balance, debt) under any sequence; reversing everything settled leaves them owing exactly
    what they withdrew — nothing absorbed, nothing invented."""
    balance = debt = settled = withdrawn = 0
    for action, amount in steps:
        if action == "settle":
            s = rules.settle(amount, debt)
            assert s.repays_debt_fen + s.to_balance_fen == amount and s.repays_debt_fen <= debt
            debt -= s.repays_debt_fen
            balance += s.to_balance_fen
            settled += amount
        elif action == "withdraw":
            take = min(amount, balance)
            balance -= take
            withdrawn += take
        else:
            r = rules.reverse(min(amount, settled), balance)
            assert r.from_balance_fen <= balance
            balance -= r.from_balance_fen
            debt += r.to_debt_fen
            settled -= r.from_balance_fen + r.to_debt_fen
        assert balance >= 0 and debt >= 0
        assert balance - debt == settled - withdrawn
    r = rules.reverse(settled, balance)
    balance, debt = balance - r.from_balance_fen, debt + r.to_debt_fen
    assert balance >= 0 and debt >= 0 and balance - debt == -withdrawn
    assert balance == 0 or debt == 0  # a debt exists only once the balance is used up


@given(st.lists(st.integers(1, 10**9), unique=True, max_size=5), st.integers(0, 10**10))
def test_rank_follows_sales_volume_only(thresholds: list[int], sales: int) -> None:
    levels = [PromoterLevel(name="L0", min_sales_fen=0)] + [
        PromoterLevel(name=f"L{i + 1}", min_sales_fen=t) for i, t in enumerate(sorted(thresholds))]
    index = rules.level_for_sales(levels, sales)
    assert levels[index].min_sales_fen <= sales
    assert all(lv.min_sales_fen > sales for lv in levels[index + 1:])
    assert rules.level_for_sales(levels, sales + 1) >= index


@given(st.integers(1, 10**7), st.integers(0, 10**7), st.integers(0, 10**7), st.integers(0, 2000))
def test_withdrawal_rules(amount: int, today: int, available: int, fee_bps: int) -> None:
    config = DistributionSettings(withdrawal_min_fen=100, withdrawal_daily_limit_fen=10**6, withdrawal_fee_bps=fee_bps)
    refusal = rules.check_withdrawal(config, amount, today, available)
    fine = amount >= 100 and today + amount <= 10**6 and amount <= available \
        and amount - apply_bps(amount, fee_bps) >= 10
    assert (refusal is None) == fine


def test_rebates_never_exceed_the_order() -> None:
    assert rules.rebate_amount(DistributionSettings(rebate_mode="fixed", rebate_fixed_fen=500), 300) == 300
    assert rules.rebate_amount(DistributionSettings(rebate_mode="rate", rebate_rate_bps=250), 10_000) == 250
    assert rules.rebate_amount(DistributionSettings(rebate_mode="off", rebate_fixed_fen=500), 10_000) == 0


def test_who_may_earn() -> None:
    assert rules.may_earn("everyone", None) and rules.may_earn("apply", "active")
    assert not rules.may_earn("apply", None) and not rules.may_earn("everyone", "disabled")
    assert not rules.may_earn("threshold", "pending")
