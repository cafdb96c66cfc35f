"""Pure rules of coupons and red packets: template terms, scope, the discount and its allocation over lines,
the double-mean red-packet split, the luckiest claim, masking and days.

Plain functions over plain data, tested without a database (``tests/unit/test_coupon_rules.py``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from liebian.kit.money import BPS_DENOMINATOR, MAX_FEN, allocate, apply_bps

Kind = Literal["fixed", "percent", "threshold"]
ScopeType = Literal["shop", "category", "product"]
CouponState = Literal["available", "used", "expired"]

MAX_PARTS = 100
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Terms:
    """What a coupon takes off: ``fixed`` and ``threshold`` (满减) take ``amount_fen``; ``percent`` takes
    ``percent_bps`` of the in-scope amount, at most ``cap_fen``. ``threshold_fen`` is the in-scope amount
    needed first (required for ``threshold``, optional for the others)."""

    kind: Kind
    amount_fen: int | None = None
    percent_bps: int | None = None
    cap_fen: int | None = None
    threshold_fen: int = 0


def terms_problems(t: Terms) -> list[tuple[str, str]]:
    """Why these terms cannot make a coupon, as (code, detail); empty when they can."""
    if t.kind in ("fixed", "threshold"):
        if t.amount_fen is None or not 0 < t.amount_fen <= MAX_FEN:
            return [("invalid_amount", f"A {t.kind} coupon takes a positive amount_fen.")]
        if t.percent_bps is not None or t.cap_fen is not None:
            return [("invalid_terms", f"A {t.kind} coupon takes no percent_bps or cap_fen.")]
        if t.kind == "threshold" and t.threshold_fen <= 0:
            return [("threshold_required", "A threshold coupon (满减) takes a positive threshold_fen.")]
        return []
    if t.percent_bps is None or not 0 < t.percent_bps < BPS_DENOMINATOR:
        return [("invalid_percent", "A percent coupon takes percent_bps between 1 and 9999 (the share taken off).")]
    if t.amount_fen is not None:
        return [("invalid_terms", "A percent coupon takes no amount_fen; cap it with cap_fen.")]
    if t.cap_fen is not None and t.cap_fen <= 0:
        return [("invalid_cap", "cap_fen must be positive.")]
    return []


def in_scope(scope_type: ScopeType, scope_ids: Sequence[int], product_id: int, category_id: int | None) -> bool:
    if scope_type == "shop":
        return True
    if scope_type == "product":
        return product_id in scope_ids
    return category_id is not None and category_id in scope_ids


class Refused(ValueError):
    """The coupon cannot apply to this cart: ``code`` is the problem's stable code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def raw_discount(t: Terms, eligible_fen: int) -> int:
    """What the coupon would take off ``eligible_fen`` of in-scope goods, before the in-scope cap."""
    if t.kind == "percent":
        assert t.percent_bps is not None
        off = apply_bps(eligible_fen, t.percent_bps)
        return off if t.cap_fen is None else min(off, t.cap_fen)
    assert t.amount_fen is not None
    return t.amount_fen


def line_discounts(t: Terms, amounts: Sequence[int], eligible: Sequence[bool]) -> list[int]:
    """The coupon's discount on each line (``amounts``: what each line costs after any promotion).

    Only lines in scope get a share; the discount never exceeds what the in-scope lines cost (macrozheng
    #1002: a payable below zero), so no line's share exceeds the line; shares are split in proportion to
    the lines by the largest remainder and sum exactly to the discount.
    """
    if len(amounts) != len(eligible):
        raise ValueError("one eligibility flag per line")
    if any(a < 0 for a in amounts):
        raise ValueError("line amounts must not be negative")
    weights = [a if ok else 0 for a, ok in zip(amounts, eligible, strict=True)]
    base = sum(weights)
    if base == 0:  # nothing in scope, or nothing in scope left to pay for
        raise Refused("coupon_not_applicable", "This coupon does not apply to any item in this order.")
    if base < t.threshold_fen:
        raise Refused("coupon_threshold_not_met", f"This coupon needs {t.threshold_fen} fen of eligible items; "
                                                  f"this order has {base}.")
    return allocate(min(raw_discount(t, base), base), weights)


def split_double_mean(total_fen: int, parts: int, min_part_fen: int, rng: random.Random) -> list[int]:
    """Split a red packet by the double-mean method (二倍均值法): each part but the last draws its amount
    above the minimum uniformly from 0 to twice the mean of what is left above the minimum; the last part
    takes the rest. Every part is at least ``min_part_fen`` and the parts sum exactly to ``total_fen``.
    Deterministic given ``rng``."""
    problems = split_problems(total_fen, parts, min_part_fen)
    if problems:
        raise ValueError(problems[0][1])
    out: list[int] = []
    left, k = total_fen, parts
    while k > 1:
        spare = left - k * min_part_fen  # what the remaining parts share above their minimums
        extra = rng.randint(0, min(spare, 2 * spare // k))
        out.append(min_part_fen + extra)
        left -= out[-1]
        k -= 1
    out.append(left)
    return out


def split_problems(total_fen: int, parts: int, min_part_fen: int) -> list[tuple[str, str]]:
    if not 1 <= parts <= MAX_PARTS:
        return [("invalid_parts", f"A red packet has 1 to {MAX_PARTS} parts.")]
    if min_part_fen < 1:
        return [("invalid_min_part", "Every part is at least 1 fen.")]
    if total_fen < parts * min_part_fen:
        return [("total_below_minimum", f"{parts} parts of at least {min_part_fen} fen need {parts * min_part_fen} "
                                        "fen in total.")]
    if total_fen > MAX_FEN:
        return [("invalid_total", "The total is too large.")]
    return []


@dataclass(frozen=True)
class Claim:
    part_no: int
    amount_fen: int
    claimed_at: datetime


def luckiest(claims: Sequence[Claim], *, all_claimed: bool, expired: bool) -> int | None:
    """The part of the luckiest friend (手气最佳): the largest amount, the earlier claim on a tie; only
    named once the packet is settled (every part claimed, or its time is up), so it cannot change."""
    if not claims or not (all_claimed or expired):
        return None
    return min(claims, key=lambda c: (-c.amount_fen, c.claimed_at, c.part_no)).part_no


def coupon_state(status: str, valid_to: datetime, now: datetime) -> CouponState:
    if status == "used":
        return "used"
    return "expired" if valid_to <= now else "available"


def mask_nickname(nickname: str | None) -> str:
    """``张三丰`` → ``张**``: friends see who claimed, not who they are."""
    name = (nickname or "").strip()
    if not name:
        return "**"
    return name[0] + "**" if len(name) > 1 else "*"


def shop_day(now: datetime) -> date:
    """The calendar day the daily caps count in (Asia/Shanghai)."""
    return now.astimezone(SHANGHAI).date()
