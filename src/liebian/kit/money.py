"""Money is integer fen; rates are basis points; one rounding rule; splits always sum to the whole."""

from __future__ import annotations

from collections.abc import Sequence

BPS_DENOMINATOR = 10_000
MAX_FEN = 10**13  # 100 billion yuan: far above any order, far below BIGINT


def round_half_up(numerator: int, denominator: int) -> int:
    """The project's one rounding rule: integer division rounding halves away from zero."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder * 2 >= denominator:
        quotient += 1
    return sign * quotient


def apply_bps(amount_fen: int, bps: int) -> int:
    """``amount × bps / 10000`` in fen, rounded by :func:`round_half_up`."""
    return round_half_up(amount_fen * bps, BPS_DENOMINATOR)


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` by the largest-remainder rule.

    The parts always sum to ``total``; each part is within one fen of its exact share; ties in the
    remainders go to the earlier weight, so the result is deterministic. Zero weights get zero unless
    every weight is zero, which is refused.
    """
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    weight_sum = sum(weights)
    if not weights or weight_sum == 0:
        raise ValueError("at least one weight must be positive")
    if total < 0:
        return [-part for part in allocate(-total, weights)]
    floors = [total * w // weight_sum for w in weights]
    remainders = [total * w % weight_sum for w in weights]
    short = total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:short]:
        floors[i] += 1
    return floors


def yuan(fen: int) -> str:
    """Display only: ``12345`` → ``"123.45"``."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"
