"""HTTP endpoints of analytics: console routes (``/api/v1/console/analytics/...``), the signed-in staff's shop.

Each answer loads the shop's fission log for the range in bulk and computes in memory; the range is
Asia/Shanghai days (``from`` and ``to`` included, the last 30 days by default, at most 366).
The numerical modules (NumPy, numba) are imported on the first request, not when the app starts.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from liebian.analytics import schemas as out
from liebian.analytics.log import Log
from liebian.kit.web import DbSession
from liebian.shops.deps import ConsoleShop

console = APIRouter(prefix="/api/v1/console/analytics", tags=["console: analytics"])

From = Annotated[date | None, Query(alias="from", description="first Asia/Shanghai day (YYYY-MM-DD)")]
To = Annotated[date | None, Query(description="last Asia/Shanghai day, included")]
Limit = Annotated[int, Query(ge=1, le=500)]


async def _prepared(session: DbSession, shop_id: int, from_: date | None, to: date | None
                    ) -> tuple[Log, dict[str, Any]]:
    from liebian.analytics import service

    first, last = service.days(from_, to)
    return await service.load(session, shop_id, first, last), service.span(first, last)


@console.get("/funnel", response_model=out.Funnel)
async def funnel(shop: ConsoleShop, session: DbSession, from_: From = None, to: To = None,
                 group_by: out.GroupBy = "channel", limit: Limit = 100) -> out.Funnel:
    """Shares → visits → new customers → orders → GMV per channel, campaign, product or promoter (the
    cascade's root's), through root shares only (``first_hop``) and through the whole cascade."""
    from liebian.analytics import metrics

    log, span = await _prepared(session, shop.id, from_, to)
    return metrics.funnel(log, span, group_by, limit=limit)


@console.get("/kfactor", response_model=out.KFactor)
async def kfactor(shop: ConsoleShop, session: DbSession, from_: From = None, to: To = None) -> out.KFactor:
    """K per generation of the cascades started in the range, viral cycle time and the reach ceiling."""
    from liebian.analytics import metrics

    log, span = await _prepared(session, shop.id, from_, to)
    return metrics.kfactor(log, span, metrics.cohort(log))


@console.get("/cascades", response_model=out.Cascades)
async def cascades(shop: ConsoleShop, session: DbSession, from_: From = None, to: To = None, limit: Limit = 20,
                   order_by: Literal["size", "virality"] = "size") -> out.Cascades:
    """The largest (or most viral) cascades started in the range, and a summary of all of them."""
    from liebian.analytics import metrics

    log, span = await _prepared(session, shop.id, from_, to)
    return metrics.cascade_list(log, span, metrics.cohort(log), order_by, limit)


@console.get("/concentration", response_model=out.Concentration)
async def concentration(shop: ConsoleShop, session: DbSession, from_: From = None, to: To = None,
                        m: Annotated[int, Query(ge=1, le=500)] = 10) -> out.Concentration:
    """How much of the GMV the top sharers bring: top 1% and 10%, Gini, the Lorenz curve, the top m's reach."""
    from liebian.analytics import metrics

    log, span = await _prepared(session, shop.id, from_, to)
    return metrics.concentration(log, span, m)


@console.get("/teams", response_model=out.Teams)
async def teams(shop: ConsoleShop, session: DbSession, from_: From = None, to: To = None,
                limit: Limit = 20) -> out.Teams:
    """Team (share subtree) GMV per promoter over the cascades started in the range."""
    from liebian.analytics import metrics

    log, span = await _prepared(session, shop.id, from_, to)
    return metrics.teams(log, span, metrics.cohort(log), limit)


@console.get("/cac", response_model=out.Cac)
async def cac(shop: ConsoleShop, session: DbSession, from_: From = None, to: To = None) -> out.Cac:
    """CAC and ROI per channel and per campaign: campaigns' reports over the same range."""
    from liebian.analytics import service

    first, last = service.days(from_, to)
    return await service.cac(session, shop.id, first, last)


@console.get("/retention", response_model=out.Retention)
async def retention(shop: ConsoleShop, session: DbSession, from_: From = None, to: To = None) -> out.Retention:
    """Repeat-purchase rate of referred and not referred customers."""
    from liebian.analytics import metrics

    log, span = await _prepared(session, shop.id, from_, to)
    return metrics.retention(log, span)


@console.get("/report", response_model=out.Report)
async def report(shop: ConsoleShop, session: DbSession, from_: From = None, to: To = None,
                 group_by: out.GroupBy = "channel", limit: Limit = 20) -> out.Report:
    """Everything above in one answer (what ``liebian analytics report --json`` prints)."""
    from liebian.analytics import service

    first, last = service.days(from_, to)
    return await service.report(session, shop.id, first, last, group_by=group_by, limit=limit)
