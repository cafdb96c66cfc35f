"""The invariants of coupons and red packets, for ``liebian check``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit.checks import Violation
from liebian.kit.sql import text

LIMIT = 50

# (check name, query returning (shop_id, detail)) — each must return no rows.
_CHECKS: tuple[tuple[str, str], ...] = (
    ("coupon_template_never_over_issued",
     "SELECT t.shop_id, format('template %s: total %s, issued counter %s, coupons %s', t.id, t.total_quantity, "
     "t.issued, count(c.id)) FROM coupon_templates t LEFT JOIN coupons c ON c.template_id = t.id GROUP BY t.id "
     "HAVING t.issued > t.total_quantity OR t.issued <> count(c.id)"),
    ("coupon_per_customer_limit",
     "SELECT t.shop_id, format('template %s customer %s: limit %s, counter %s, coupons %s', t.id, h.customer_id, "
     "t.per_customer_limit, h.claimed, (SELECT count(*) FROM coupons c WHERE c.template_id = t.id "
     "AND c.customer_id = h.customer_id)) FROM coupon_holdings h JOIN coupon_templates t ON t.id = h.template_id "
     "WHERE h.claimed > t.per_customer_limit OR h.claimed <> (SELECT count(*) FROM coupons c "
     "WHERE c.template_id = t.id AND c.customer_id = h.customer_id)"),
    ("coupon_used_by_one_order",
     "SELECT shop_id, format('order %s uses %s coupons', order_id, count(*)) FROM coupons WHERE order_id IS NOT NULL "
     "GROUP BY shop_id, order_id HAVING count(*) > 1"),
    ("red_packet_split_exact",
     "SELECT p.shop_id, format('packet %s: total %s in %s parts (min %s), parts sum %s in %s rows, smallest %s', "
     "p.id, p.total_fen, p.parts, p.min_part_fen, sum(x.amount_fen), count(x.part_no), min(x.amount_fen)) "
     "FROM coupon_red_packets p LEFT JOIN coupon_red_packet_parts x ON x.packet_id = p.id GROUP BY p.id "
     "HAVING coalesce(sum(x.amount_fen), 0) <> p.total_fen OR count(x.part_no) <> p.parts "
     "OR min(x.amount_fen) < p.min_part_fen"),
    ("red_packet_claim_is_one_coupon",
     "SELECT x.shop_id, format('packet %s part %s: claimed by %s, coupon %s of %s fen for %s', x.packet_id, "
     "x.part_no, x.customer_id, c.id, c.amount_fen, c.customer_id) FROM coupon_red_packet_parts x "
     "LEFT JOIN coupons c ON c.red_packet_id = x.packet_id AND c.part_no = x.part_no "
     "WHERE (x.customer_id IS NULL) <> (c.id IS NULL) OR c.amount_fen <> x.amount_fen "
     "OR c.customer_id <> x.customer_id"),
)


async def violations(session: AsyncSession) -> list[Violation]:
    """Templates never over-issued and their counters equal to the coupons; nobody over the per-customer limit;
    a coupon on at most one order; every red packet split exactly into its parts, each at least the minimum;
    every claimed part exactly one coupon of its amount, in its claimer's hands."""
    found: list[Violation] = []
    for name, sql in _CHECKS:
        rows = await session.execute(text(f"{sql} LIMIT {LIMIT}"))
        found += [Violation(name, f"shop {shop_id} {detail}") for shop_id, detail in rows]
    return found
