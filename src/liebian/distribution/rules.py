"""Distribution (分销) as plain data: the shop's settings, who earns what on an order, how refunds shrink it.

No database here; every function is tested with Hypothesis. Money is integer fen, rates basis points, and
the only rounding is :func:`liebian.kit.money.round_half_up`; splits use the largest-remainder
:func:`liebian.kit.money.allocate`, so parts always sum to their whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from liebian.kit.money import BPS_DENOMINATOR, allocate, apply_bps, round_half_up

MAX_LEVELS = 2  # compliance (DESIGN §7): commission depth is at most two levels
ONE_X = BPS_DENOMINATOR  # a multiplier of 10000 bp leaves a rate unchanged


class PromoterLevel(BaseModel):
    """A rank earned by sales volume only (never by head count); its multiplier raises the rates."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=20)
    min_sales_fen: int = Field(ge=0, le=10**12)
    multiplier_bps: int = Field(default=ONE_X, ge=ONE_X, le=3 * ONE_X)


def _default_levels() -> list[PromoterLevel]:
    return [PromoterLevel(name="普通", min_sales_fen=0)]


class DistributionSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    # ``levels`` is validated below (not with ``le``) so that asking for three says why it is refused.
    levels: int = Field(default=2, ge=1)
    level_rates_bps: list[int] = Field(default_factory=lambda: [1000, 500], min_length=1, max_length=10)
    promoter_qualification: Literal["everyone", "apply", "threshold"] = "apply"
    qualification_threshold_fen: int = Field(default=0, ge=0, le=10**10)
    promoter_levels: list[PromoterLevel] = Field(default_factory=_default_levels, min_length=1, max_length=10)
    commission_cap_bps: int = Field(default=3000, ge=0, le=BPS_DENOMINATOR)
    settle_after_days: int = Field(default=7, ge=0, le=365)
    self_purchase_commission: bool = False
    rebate_mode: Literal["off", "fixed", "rate"] = "off"
    rebate_fixed_fen: int = Field(default=0, ge=0, le=10**8)
    rebate_rate_bps: int = Field(default=0, ge=0, le=BPS_DENOMINATOR)
    withdrawal_min_fen: int = Field(default=100, ge=10, le=10**8)
    withdrawal_fee_bps: int = Field(default=0, ge=0, le=2000)
    withdrawal_daily_limit_fen: int = Field(default=500_000, ge=10, le=10**10)
    # Requests up to this amount are approved at once; larger ones wait for the console. 0: all wait.
    withdrawal_auto_approve_fen: int = Field(default=0, ge=0, le=10**10)

    @model_validator(mode="after")
    def _consistent(self) -> DistributionSettings:
        if self.levels > MAX_LEVELS:
            raise ValueError(f"commission depth is at most {MAX_LEVELS} levels")
        if len(self.level_rates_bps) != self.levels:
            raise ValueError("level_rates_bps needs one rate per level")
        if any(not 0 <= r <= BPS_DENOMINATOR for r in self.level_rates_bps):
            raise ValueError("each rate is 0-10000 basis points")
        mins = [lv.min_sales_fen for lv in self.promoter_levels]
        if mins[0] != 0 or any(b <= a for a, b in pairwise(mins)):
            raise ValueError("promoter levels start at 0 sales and rise strictly")
        return self


@dataclass(frozen=True)
class ProductRule:
    """A product's own commission: a rate (bp of the line's base) or a fixed amount (fen per unit), per level;
    ``none`` pays nothing on it."""

    mode: Literal["rate", "fixed", "none"]
    values: tuple[int, ...]  # one per level


@dataclass(frozen=True)
class Line:
    line_id: int
    product_id: int
    quantity: int
    base_fen: int  # what the customer actually paid for the line, after every discount


@dataclass(frozen=True)
class Beneficiary:
    level: int  # 1 or 2
    customer_id: int
    multiplier_bps: int = ONE_X


@dataclass(frozen=True)
class Share:
    """One commission row: (line, beneficiary, level) → amount."""

    line_id: int
    level: int
    customer_id: int
    base_fen: int
    rate_bps: int | None
    amount_fen: int


def level_for_sales(levels: Sequence[PromoterLevel], sales_fen: int) -> int:
    """Index of the highest rank whose threshold the sales volume reaches."""
    index = 0
    for i, level in enumerate(levels):
        if sales_fen >= level.min_sales_fen:
            index = i
    return index


def _raw(line: Line, who: Beneficiary, settings: DistributionSettings,
         rule: ProductRule | None) -> tuple[int, int | None]:
    """(uncapped amount, the rate used if any) for one line and one beneficiary."""
    if rule is not None and rule.mode == "none":
        return 0, None
    if rule is not None and rule.mode == "fixed":
        amount = apply_bps(rule.values[who.level - 1] * line.quantity, who.multiplier_bps)
        return min(amount, line.base_fen), None
    rate = rule.values[who.level - 1] if rule is not None else settings.level_rates_bps[who.level - 1]
    rate = min(apply_bps(rate, who.multiplier_bps), BPS_DENOMINATOR)
    return apply_bps(line.base_fen, rate), rate


def commission_shares(settings: DistributionSettings, lines: Sequence[Line], beneficiaries: Sequence[Beneficiary],
                      product_rules: dict[int, ProductRule]) -> list[Share]:
    """Every (line, beneficiary) commission of one order, within the shop's per-order cap.

    Levels beyond the shop's depth (and any third level) earn nothing. No line pays out more than its
    base. When the total passes the cap (``commission_cap_bps`` of the order's paid goods), the cap is
    split over the rows in proportion to what each would have earned, by the largest remainder.
    """
    payees = [b for b in beneficiaries if 1 <= b.level <= min(settings.levels, MAX_LEVELS)]
    candidates: list[Share] = []
    for line in lines:
        row_amounts = []
        for who in payees:
            amount, rate = _raw(line, who, settings, product_rules.get(line.product_id))
            row_amounts.append((who, amount, rate))
        room = line.base_fen
        for who, wanted, rate in row_amounts:  # level 1 first: a line never pays more than it brought in
            amount = min(wanted, room)
            room -= amount
            candidates.append(Share(line.line_id, who.level, who.customer_id, line.base_fen, rate, amount))
    cap = sum(line.base_fen for line in lines) * settings.commission_cap_bps // BPS_DENOMINATOR
    total = sum(s.amount_fen for s in candidates)
    if total > cap:
        capped = allocate(cap, [s.amount_fen for s in candidates]) if cap else [0] * len(candidates)
        candidates = [Share(s.line_id, s.level, s.customer_id, s.base_fen, s.rate_bps, a)
                      for s, a in zip(candidates, capped, strict=True)]
    return [s for s in candidates if s.amount_fen > 0]


def rebate_amount(settings: DistributionSettings, order_goods_fen: int) -> int:
    """The inviter's reward for an invitee's first completed order; never more than the order paid."""
    if settings.rebate_mode == "fixed":
        return min(settings.rebate_fixed_fen, order_goods_fen)
    if settings.rebate_mode == "rate":
        return apply_bps(order_goods_fen, settings.rebate_rate_bps)
    return 0


def remaining_after_refund(amount_fen: int, base_fen: int, refunded_base_fen: int) -> int:
    """What a commission is still worth once ``refunded_base_fen`` of its base has been refunded.

    Proportional and path-independent: it depends only on the cumulative refund, so two partial
    refunds take exactly what one refund of their sum would, and a full refund leaves nothing.
    """
    if base_fen <= 0:
        return 0
    kept_base = max(base_fen - refunded_base_fen, 0)
    return round_half_up(amount_fen * kept_base, base_fen)


@dataclass(frozen=True)
class Reversal:
    """A settled commission taken back: from the balance as far as it goes, the rest becomes debt."""

    from_balance_fen: int
    to_debt_fen: int


def reverse(amount_fen: int, available_fen: int) -> Reversal:
    take = min(amount_fen, max(available_fen, 0))
    return Reversal(from_balance_fen=take, to_debt_fen=amount_fen - take)


@dataclass(frozen=True)
class Settlement:
    """A commission settling: what it repays of the promoter's debt first, and what reaches the balance."""

    repays_debt_fen: int
    to_balance_fen: int


def settle(amount_fen: int, debt_fen: int) -> Settlement:
    repay = min(amount_fen, max(debt_fen, 0))
    return Settlement(repays_debt_fen=repay, to_balance_fen=amount_fen - repay)


def withdrawal_fee(amount_fen: int, fee_bps: int) -> int:
    return apply_bps(amount_fen, fee_bps)


def check_withdrawal(settings: DistributionSettings, amount_fen: int, withdrawn_today_fen: int,
                     available_fen: int) -> str | None:
    """The stable error code that refuses a withdrawal, or None."""
    if amount_fen < settings.withdrawal_min_fen:
        return "withdrawal_below_minimum"
    if withdrawn_today_fen + amount_fen > settings.withdrawal_daily_limit_fen:
        return "withdrawal_daily_limit"
    if amount_fen > available_fen:
        return "insufficient_balance"
    if amount_fen - withdrawal_fee(amount_fen, settings.withdrawal_fee_bps) < 10:
        return "withdrawal_below_minimum"  # what reaches WeChat must be at least 0.1 CNY
    return None


def may_earn(qualification: str, status: str | None) -> bool:
    """Whether a customer with this promoter status earns commissions under the shop's mode."""
    if status == "active":
        return True
    return qualification == "everyone" and status is None


def mask_nickname(nickname: str | None) -> str:
    """``张三丰`` → ``张**``: a public leaderboard shows that someone earned, not who they are."""
    name = (nickname or "").strip()
    if not name:
        return "**"
    return name[0] + "**" if len(name) > 1 else "*"
