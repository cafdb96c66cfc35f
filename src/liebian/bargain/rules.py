"""Pure rules of bargaining: the cut plan, campaign validation, the states of a bargain, the caps' day.

Plain functions over plain data, tested without a database (``tests/unit/test_bargain_rules.py``).

The cuts are random but planned: when a bargain starts, :func:`cut_plan` decides every cut at once, the
initiator's opening cut first and then one per required helper. Every cut is at least 1 fen and they sum
exactly to ``start - floor``, so the last required helper lands on the floor, never below it and never short
of it. Nothing is drawn at help time, so there is no random minimum or maximum to get wrong (the yudao bug of
drawing each cut with the floor price as its lower bound cannot happen: a cut is a share of what is left to
cut, never a price).

A bargain: ``active`` (being cut) → ``complete`` (the floor is reached) → ``ordered`` (the initiator placed
the order). With ``buy_anytime`` an active bargain may be ordered before the floor. Past ``expires_at``
without an order it is ``expired``. An order cancelled unpaid gives the bargain back (active or complete
again while time is left, else expired): the price the friends cut is not lost to a payment timeout.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from liebian.kit.money import allocate

BargainStatus = Literal["active", "complete", "ordered", "expired"]

MIN_HELPERS, MAX_HELPERS = 1, 100
JITTER = (50, 150)  # each cut's weight varies ±50 % around its place on the slope
OPENING_BOOST = 3  # the initiator's opening cut weighs triple: the big first cut people expect (PDD style)
LOCAL = ZoneInfo("Asia/Shanghai")  # the caps' "day" is the shop's calendar day


def cuts_for(helpers_needed: int) -> int:
    """The initiator's opening cut plus one per required helper."""
    return helpers_needed + 1


def cut_plan(total_fen: int, cuts: int, rng: random.Random) -> list[int]:
    """``cuts`` integer cuts, each ≥ 1 fen, summing exactly to ``total_fen``: a decreasing share.

    Each cut first gets 1 fen; the rest is split by largest remainder over integer weights that fall
    linearly with the cut's position (from 2n down to n + 1) and are jittered by ±50 %, the opening cut
    weighing triple. Early cuts are large, late ones small; the sum is exact by construction.
    """
    if cuts < 1:
        raise ValueError("a plan has at least one cut")
    if total_fen < cuts:
        raise ValueError(f"{total_fen} fen cannot be cut {cuts} times at 1 fen or more each")
    weights = [rng.randint(*JITTER) * (2 * cuts - i) for i in range(cuts)]
    if cuts > 1:
        weights[0] *= OPENING_BOOST
    return [1 + part for part in allocate(total_fen - cuts, weights)]


def prices_after(start_price_fen: int, plan: list[int]) -> list[int]:
    """The price after each cut of the plan; the last one is the floor."""
    prices, price = [], start_price_fen
    for cut in plan:
        price -= cut
        prices.append(price)
    return prices


def campaign_problems(*, start_price_fen: int, floor_price_fen: int, helpers_needed: int) -> list[tuple[str, str]]:
    """Why these prices cannot make a bargain campaign, as (code, detail); empty when they can."""
    problems: list[tuple[str, str]] = []
    if not MIN_HELPERS <= helpers_needed <= MAX_HELPERS:
        problems.append(("invalid_helpers_needed", f"A bargain needs {MIN_HELPERS} to {MAX_HELPERS} helpers."))
    if floor_price_fen < 0:
        problems.append(("invalid_floor_price", "The floor price cannot be negative."))
    if floor_price_fen >= start_price_fen:
        problems.append(("floor_not_below_start", "The floor price must be below the start price."))
    elif start_price_fen - floor_price_fen < cuts_for(helpers_needed):
        problems.append(("price_gap_too_small", (
            f"The initiator and {helpers_needed} helper(s) each cut at least 1 fen: the start price must be at "
            f"least {cuts_for(helpers_needed)} fen above the floor.")))
    return problems


def expiry(started_at: datetime, duration_seconds: int, campaign_ends_at: datetime | None) -> datetime:
    """A bargain runs for the campaign's duration from its start, never past the campaign's end."""
    due = started_at + timedelta(seconds=duration_seconds)
    return min(due, campaign_ends_at) if campaign_ends_at is not None else due


def effective_status(status: BargainStatus, expires_at: datetime, now: datetime) -> BargainStatus:
    """What a bargain is now: one past its time and not ordered is expired, swept or not yet."""
    if status in ("active", "complete") and expires_at <= now:
        return "expired"
    return status


def can_buy(status: BargainStatus, buy_anytime: bool) -> bool:
    """The initiator may order a complete bargain, or an active one when the campaign allows it."""
    return status == "complete" or (status == "active" and buy_anytime)


def after_cancelled_order(help_count: int, helpers_needed: int, expires_at: datetime,
                          now: datetime) -> BargainStatus:
    """The bargain's order was cancelled unpaid: back to where the cutting left it, if time is left."""
    if expires_at <= now:
        return "expired"
    return "complete" if help_count >= helpers_needed else "active"


def help_day(now: datetime) -> date:
    """The calendar day in Shanghai that the daily help caps count in."""
    return now.astimezone(LOCAL).date()


def mask_nickname(nickname: str | None) -> str:
    """``张三丰`` → ``张**``: friends see who cut, not who they are."""
    name = (nickname or "").strip()
    if not name:
        return "**"
    return name[0] + "**" if len(name) > 1 else "*"
