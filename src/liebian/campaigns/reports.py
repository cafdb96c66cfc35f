"""Reports per campaign and per channel over a range of Asia/Shanghai days, from fission's records.

Definitions (the README repeats them for merchants). For a campaign, "its traffic" is every visit through
one of its landing codes; for a channel, every visit through any share on that channel.

- visits: visits in the range. unique_visitors: distinct visitors among them (a customer, or an anonymous
  device; a device's visits become its customer's when it logs in).
- new_customers: customers whose first visit in the shop ever (through any share) is one of these visits,
  made in the range, and who had placed no order in the shop before it that was paid.
- first_orders: those new customers whose first paid order in the shop was paid by the end of the range
  (each counts once, whatever brought the order): the new paying customers, CAC's denominator.
- orders, paying_customers: paid orders attributed to this traffic (fission's attribution at placement:
  the order's share code, else the last visit within the window), paid in the range; their customers.
- gross_fen: what those orders paid; refunded_fen: what has been refunded of them so far; gmv_fen = gross −
  refunded.
- spend_fen: spend booked on days in the range (a channel's: its campaigns' spend).
- cac_fen = spend / first_orders (None when 0); roi_bps = (gmv − spend) / spend in basis points (None when
  spend is 0), ``roi`` the same as a decimal string.

Four statements whatever the size: visits, new customers with their first orders, attributed orders,
spend (and one for the campaigns' names).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.campaigns import rules
from liebian.campaigns.schemas import Report, ReportRow
from liebian.kit.errors import Invalid
from liebian.kit.sql import text

GroupBy = Literal["campaign", "channel"]


@dataclass(frozen=True)
class _Shape:
    """How a statement finds the group of a visit or an attribution: through the campaign's codes, or by
    the channel recorded on the row."""

    visits: str
    attributions: str
    group_v: str
    group_a: str


_BY_CAMPAIGN = _Shape(
    visits="fission_visits v JOIN campaign_codes k ON k.share_id = v.share_id AND k.shop_id = :s "
           "AND (CAST(:only AS bigint) IS NULL OR k.campaign_id = :only)",
    attributions="fission_attributions a JOIN campaign_codes k ON k.share_id = a.share_id AND k.shop_id = :s "
                 "AND (CAST(:only AS bigint) IS NULL OR k.campaign_id = :only)",
    group_v="CAST(k.campaign_id AS text)", group_a="CAST(k.campaign_id AS text)")
_BY_CHANNEL = _Shape(visits="fission_visits v", attributions="fission_attributions a", group_v="v.channel",
                     group_a="a.channel")


def _visits_sql(shape: _Shape) -> str:
    return (f"SELECT {shape.group_v} AS grp, count(*) AS visits, count(DISTINCT coalesce('c' || v.customer_id, "
            f"'d' || v.device_id)) AS visitors FROM {shape.visits} WHERE v.shop_id = :s AND v.created_at >= :lo "
            "AND v.created_at < :hi GROUP BY 1")


def _new_customers_sql(shape: _Shape) -> str:
    # The earliest of these visits per customer, kept only if nothing came before it in the shop: no visit
    # through any share, no paid order placed before it (placement time: payment times come from WeChat to
    # the second, too coarse to order against a visit). Then each one's first paid order up to the range's end.
    return (
        f"WITH cand AS (SELECT DISTINCT ON (v.customer_id) v.customer_id, {shape.group_v} AS grp, v.created_at, v.id "
        f"FROM {shape.visits} WHERE v.shop_id = :s AND v.customer_id IS NOT NULL AND v.created_at >= :lo "
        "AND v.created_at < :hi ORDER BY v.customer_id, v.created_at, v.id), "
        "new AS (SELECT c.customer_id, c.grp, c.created_at FROM cand c "
        "WHERE NOT EXISTS (SELECT 1 FROM fission_visits e WHERE e.shop_id = :s AND e.customer_id = c.customer_id "
        "AND (e.created_at, e.id) < (c.created_at, c.id)) "
        "AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.shop_id = :s AND o.customer_id = c.customer_id "
        "AND o.paid_at IS NOT NULL AND o.created_at < c.created_at)) "
        "SELECT n.grp, count(*) AS new_customers, count(f.paid) AS first_orders FROM new n LEFT JOIN LATERAL "
        "(SELECT 1 AS paid FROM orders o WHERE o.shop_id = :s AND o.customer_id = n.customer_id "
        "AND o.paid_at IS NOT NULL AND o.paid_at < :hi LIMIT 1) f ON TRUE GROUP BY n.grp")


def _orders_sql(shape: _Shape) -> str:
    return (f"SELECT {shape.group_a} AS grp, count(*) AS orders, count(DISTINCT o.customer_id) AS payers, "
            "coalesce(sum(o.payable_fen), 0) AS gross, coalesce(sum(o.refunded_fen), 0) AS refunded "
            f"FROM {shape.attributions} JOIN orders o ON o.id = a.order_id AND o.shop_id = :s "
            f"WHERE a.shop_id = :s AND {shape.group_a} IS NOT NULL AND o.paid_at >= :lo AND o.paid_at < :hi "
            "GROUP BY 1")


def _spend_sql(group_by: GroupBy) -> str:
    group = "CAST(c.id AS text)" if group_by == "campaign" else "c.channel"
    return (f"SELECT {group} AS grp, sum(p.amount_fen) AS spend FROM campaign_spend p JOIN campaigns c "
            "ON c.id = p.campaign_id WHERE p.shop_id = :s AND p.day BETWEEN :first AND :last "
            "AND (CAST(:only AS bigint) IS NULL OR c.id = :only) GROUP BY 1")


async def _by_group(session: AsyncSession, sql: str, params: dict[str, Any]) -> dict[str, Any]:
    return {r.grp: r for r in await session.execute(text(sql), params)}


def check_range(first: date, last: date) -> None:
    problem = rules.range_problem(first, last)
    if problem is not None:
        raise Invalid("invalid_range", f"Invalid report range: {problem}.")


def _row(key: str, *, campaign: Any | None, visits: Any, new: Any, orders: Any, spend: Any) -> ReportRow:
    spend_fen = int(spend.spend) if spend else 0
    gross = int(orders.gross) if orders else 0
    refunded = int(orders.refunded) if orders else 0
    first_orders = int(new.first_orders) if new else 0
    roi = rules.roi_bps(gross - refunded, spend_fen)
    return ReportRow(
        campaign_id=campaign.id if campaign else None, campaign_key=campaign.key if campaign else None,
        name=campaign.name if campaign else None, channel=campaign.channel if campaign else key,
        visits=int(visits.visits) if visits else 0, unique_visitors=int(visits.visitors) if visits else 0,
        new_customers=int(new.new_customers) if new else 0, first_orders=first_orders,
        orders=int(orders.orders) if orders else 0, paying_customers=int(orders.payers) if orders else 0,
        gross_fen=gross, refunded_fen=refunded, gmv_fen=gross - refunded, spend_fen=spend_fen,
        cac_fen=rules.cac_fen(spend_fen, first_orders), roi_bps=roi, roi=rules.bps_decimal(roi))


async def report(session: AsyncSession, shop_id: int, *, first: date, last: date, group_by: GroupBy,
                 only: int | None = None) -> Report:
    """Rows for every campaign of the shop (or only one), or for every channel with traffic or spend."""
    check_range(first, last)
    lo, hi = rules.day_bounds(first, last)
    params = {"s": shop_id, "lo": lo, "hi": hi, "first": first, "last": last, "only": only}
    shape = _BY_CAMPAIGN if group_by == "campaign" else _BY_CHANNEL
    visits = await _by_group(session, _visits_sql(shape), params)
    new = await _by_group(session, _new_customers_sql(shape), params)
    orders = await _by_group(session, _orders_sql(shape), params)
    spend = await _by_group(session, _spend_sql(group_by), params)
    if group_by == "campaign":
        campaigns = (await session.execute(
            text("SELECT id, key, name, channel FROM campaigns WHERE shop_id = :s "
                 "AND (CAST(:only AS bigint) IS NULL OR id = :only) ORDER BY id"), params)).all()
        items = [_row(str(c.id), campaign=c, visits=visits.get(str(c.id)), new=new.get(str(c.id)),
                      orders=orders.get(str(c.id)), spend=spend.get(str(c.id))) for c in campaigns]
    else:
        keys = sorted(set(visits) | set(new) | set(orders) | set(spend))
        items = [_row(k, campaign=None, visits=visits.get(k), new=new.get(k), orders=orders.get(k),
                      spend=spend.get(k)) for k in keys]
    return Report(from_=first, to=last, group_by=group_by, items=items)


CSV_COLUMNS = ("campaign_id", "campaign_key", "name", "channel", "visits", "unique_visitors", "new_customers",
               "first_orders", "orders", "paying_customers", "gross_fen", "refunded_fen", "gmv_fen", "spend_fen",
               "cac_fen", "roi_bps", "roi")


def _cell(column: str, value: object) -> object:
    """Empty for None; a name starting like a formula is quoted so that a spreadsheet shows it, not runs it."""
    if value is None:
        return ""
    if column == "name" and isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def as_csv(result: Report) -> str:
    """The same rows as CSV (fen and basis points as integers; empty cells for None), for spreadsheets."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in result.items:
        data = item.model_dump()
        writer.writerow([_cell(c, data[c]) for c in CSV_COLUMNS])
    return buffer.getvalue()
