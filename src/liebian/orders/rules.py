"""Pure order rules: line totals, shipping, and how a refund is spread over lines."""

from __future__ import annotations

from collections.abc import Sequence

from liebian.kit.money import allocate


def shipping_fee(goods_fen: int, fee_fen: int, free_threshold_fen: int | None) -> int:
    if free_threshold_fen is not None and goods_fen >= free_threshold_fen:
        return 0
    return fee_fen


def spread_refund(amount_fen: int, refundable_by_line: Sequence[int]) -> list[int]:
    """Spread a refund over lines in proportion to what each can still refund, never above it.

    Largest remainder keeps the sum exact; because every share is ≤ its weight when
    ``amount ≤ sum(weights)``, no line is refunded more than it paid.
    """
    total = sum(refundable_by_line)
    if amount_fen < 0 or amount_fen > total:
        raise ValueError("refund exceeds what the lines can refund")
    if amount_fen == 0:
        return [0] * len(refundable_by_line)
    return allocate(amount_fen, refundable_by_line)


REFUNDABLE_STATUSES = ("paid", "shipped", "completed")
