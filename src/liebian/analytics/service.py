"""The analytics of a shop over a range of Asia/Shanghai days: load the log in bulk, compute in memory.

CAC and ROI are campaigns' reports (:mod:`liebian.campaigns.reports`), not recomputed here: the same
definitions (first orders of new customers, spend booked on the range's days) answer in both places.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.analytics import loading, metrics
from liebian.analytics import schemas as out
from liebian.analytics.log import Log
from liebian.campaigns import reports
from liebian.campaigns.rules import local_day
from liebian.kit.clock import clock
from liebian.kit.errors import Invalid

MAX_LIMIT = 500


def days(first: date | None, last: date | None) -> tuple[date, date]:
    """The range asked for; by default the last 30 days. 422 ``invalid_range`` for a backwards or too long one."""
    today = local_day(clock.now())
    last = last or max(today, first or today)
    first = first or min(today - timedelta(days=29), last)
    reports.check_range(first, last)
    return first, last


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid("invalid_limit", f"limit is between 1 and {MAX_LIMIT}.")


def span(first: date, last: date) -> dict[str, Any]:
    return {"from_": first, "to": last}


def analyze(log: Log, when: dict[str, Any], *, group_by: str = "channel", order_by: str = "size", limit: int = 20,
            m: int = 10) -> out.Report:
    """Every metric of one log (CAC aside, which needs the database)."""
    c = metrics.cohort(log)
    return out.Report(**when, events=log.events, funnel=metrics.funnel(log, when, group_by, limit=limit),
                      kfactor=metrics.kfactor(log, when, c),
                      cascades=metrics.cascade_list(log, when, c, order_by, limit),
                      concentration=metrics.concentration(log, when, m), teams=metrics.teams(log, when, c, limit),
                      retention=metrics.retention(log, when))


async def load(session: AsyncSession, shop_id: int, first: date, last: date) -> Log:
    return await loading.load(session, shop_id, first, last)


async def cac(session: AsyncSession, shop_id: int, first: date, last: date) -> out.Cac:
    by_channel = await reports.report(session, shop_id, first=first, last=last, group_by="channel")
    by_campaign = await reports.report(session, shop_id, first=first, last=last, group_by="campaign")
    return out.Cac(**span(first, last), by_channel=by_channel, by_campaign=by_campaign)


async def report(session: AsyncSession, shop_id: int, first: date, last: date, *, group_by: str = "channel",
                 order_by: str = "size", limit: int = 20, m: int = 10) -> out.Report:
    log = await load(session, shop_id, first, last)
    result = analyze(log, span(first, last), group_by=group_by, order_by=order_by, limit=limit, m=m)
    result.cac = await cac(session, shop_id, first, last)
    return result
