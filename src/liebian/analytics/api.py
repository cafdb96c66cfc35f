"""HTTP endpoints of analytics: console routes (``/api/v1/console/analytics/...``), the signed-in staff's shop.

Each answer loads the shop's fission log for the range in bulk and computes in memory; the range is
Asia/Shanghai days (``from`` and ``to`` included, the last 30 days by default, at most 366).
The numerical modules (NumPy, numba) are imported on the first request, not when the app starts.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from liebian.analytics import schemas as out
from liebian.analytics.log import Log
from liebian.fission.rules import Channel
from liebian.kit.web import DbSession
from liebian.shops.deps import ConsoleShop

console = APIRouter(prefix="/api/v1/console/analytics", tags=["console: analytics"])

From = Annotated[date | None, Query(alias="from", description="first Asia/Shanghai day (YYYY-MM-DD)")]
To = Annotated[date | None, Query(description="last Asia/Shanghai day, included")]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=100_000, description="skip this many (paging)")]
OfChannel = Annotated[Channel | None, Query(description="only cascades whose root share is on this channel")]


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
                   order_by: Literal["size", "virality"] = "size", offset: Offset = 0,
                   channel: OfChannel = None) -> out.Cascades:
    """The largest (or most viral) cascades started in the range (of one root channel if asked; ``total`` of
    them, ``offset`` to page), and a summary of all of them."""
    from liebian.analytics import metrics
    from liebian.analytics.cascade_tree import nicknames

    log, span = await _prepared(session, shop.id, from_, to)
    found = metrics.cascade_list(log, span, metrics.cohort(log), order_by, limit, offset,
                                 channel.value if channel else None)
    names = await nicknames(session, shop.id, sorted({c.promoter_id for c in found.items if c.promoter_id}))
    for item in found.items:
        item.nickname = names.get(item.promoter_id) if item.promoter_id else None
    return found


@console.get("/cascades/{root_share_id}/tree", response_model=out.CascadeTree)
async def cascade_tree(shop: ConsoleShop, session: DbSession,
                       root_share_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
                       max_nodes: Annotated[int, Query(ge=1, le=2000)] = 500) -> out.CascadeTree:
    """One cascade as a tree, breadth first: every share with its sharer, visits and paid orders (over all
    time), cut after ``max_nodes`` shares. 404 ``share_not_found``; 422 ``not_a_root`` for a re-share."""
    from liebian.analytics import cascade_tree as trees

    return await trees.tree(session, shop.id, root_share_id, max_nodes)


@console.get("/kfactor/series", response_model=out.KSeries)
async def kfactor_series(shop: ConsoleShop, session: DbSession, from_: From = None, to: To = None,
                         interval: Literal["day", "week"] = "week", channel: OfChannel = None) -> out.KSeries:
    """K over time: per day or week of the range, the K (and K per generation) of the cascades started then,
    from one read of the range."""
    from liebian.analytics import console_metrics

    log, span = await _prepared(session, shop.id, from_, to)
    return console_metrics.kfactor_series(log, span, interval, channel.value if channel else None)


@console.get("/kols", response_model=out.Kols)
async def kols(shop: ConsoleShop, session: DbSession, from_: From = None, to: To = None, limit: Limit = 20,
               offset: Offset = 0, order_by: Literal["gmv", "team_gmv", "reach"] = "gmv") -> out.Kols:
    """The KOL leaderboard: the sharers of the range by the GMV their own shares brought (or their team's,
    or their reach), with shares, visits, distinct visitors, new customers and orders; ``total`` sharers."""
    from liebian.analytics import cascade_tree, console_metrics

    log, span = await _prepared(session, shop.id, from_, to)
    board, ids = console_metrics.kols(log, span, order_by, limit, offset)
    names = await cascade_tree.nicknames(session, shop.id, ids)
    for item in board.items:
        item.nickname = names.get(item.customer_id)
    return board


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
