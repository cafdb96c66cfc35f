"""The console's fission views over a loaded :class:`~liebian.analytics.log.Log`: K per period (a time series
of the branching factor, from one load of the range instead of a request per week) and the KOL leaderboard.

Same definitions as :mod:`liebian.analytics.metrics`: K reads cascades by the day their root share was made,
with every re-share made before the range's end (the last periods' cascades have had less time to grow, so
their K is a lower bound); the leaderboard ranks the sharers of the concentration (who shared in the range, or
whose share brought an order in it) by the GMV their own shares brought, as the Lorenz curve does.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from liebian.analytics import metrics
from liebian.analytics import schemas as out
from liebian.analytics.log import Log
from liebian.campaigns.rules import bps_decimal

Ints = npt.NDArray[np.int64]
DAY = 86_400 * metrics.SECOND
INTERVAL_DAYS = {"day": 1, "week": 7}


def _generations(per_depth: Ints) -> tuple[list[out.GenerationK], int | None]:
    """Per generation K (children over parents) and Harris' estimator over them, as :func:`metrics.kfactor`."""
    deepest = int(np.flatnonzero(per_depth)[-1]) if per_depth.any() else -1
    counts = per_depth[:deepest + 1]
    rows = []
    for g in range(counts.size):
        children = int(counts[g + 1]) if g + 1 < counts.size else 0
        k = metrics.ratio_bps(children, int(counts[g]))
        rows.append(out.GenerationK(depth=g, shares=int(counts[g]), children=children, k_bps=k, k=bps_decimal(k)))
    return rows, metrics.ratio_bps(int(counts[1:].sum()), int(counts[:-1].sum())) if counts.size else None


def kfactor_series(log: Log, span: dict[str, Any], interval: str, channel: str | None) -> out.KSeries:
    """K per day or per week of the range (periods start on the range's first day)."""
    c = metrics.cohort(log)
    f, s = c.forest, log.shares
    step = INTERVAL_DAYS[interval] * DAY
    periods = max(1, -(-(log.hi - log.lo) // step))
    keep = np.ones(c.nodes.size, np.bool_)
    if channel is not None:
        keep = s.root_channel[c.nodes] == (log.channels.index(channel) if channel in log.channels else -2)
    period = ((s.root_created[c.nodes] - log.lo) // step).astype(np.int64)
    depths = int(f.depth.max()) + 1 if f.depth.size else 1
    table = np.bincount(period[keep] * depths + f.depth[keep], minlength=periods * depths).reshape(periods, depths)
    roots = np.bincount(period[keep & (f.parent < 0)], minlength=periods)
    # Cycle times: each re-share's delay after its parent, grouped by its cascade's period with one sort.
    child = np.flatnonzero(keep & (f.parent >= 0))
    created = s.created[c.nodes]
    order = np.argsort(period[child], kind="stable")
    delay, child_period = (created[child] - created[f.parent[child]])[order], period[child][order]
    bounds = np.searchsorted(child_period, np.arange(periods + 1))
    first = span["from_"]
    points = []
    for p in range(periods):
        generations, k = _generations(table[p])
        median, _ = metrics._median_p90(delay[bounds[p]:bounds[p + 1]])
        start = first + timedelta(days=p * INTERVAL_DAYS[interval])
        end = min(start + timedelta(days=INTERVAL_DAYS[interval] - 1), span["to"])
        points.append(out.KPoint(from_=start, to=end, cascades=int(roots[p]), shares=int(table[p].sum()), k_bps=k,
                                 k=bps_decimal(k), median_cycle_seconds=median, generations=generations))
    return out.KSeries(**span, interval=interval, channel=channel, points=points)


def _reach(log: Log, sharer_at: Ints, people: int) -> tuple[Ints, Ints, Ints]:
    """Per sharer index: visits through their shares, distinct visitors, visits that were someone's first."""
    v = log.visits
    share_at = metrics.visit_share_at(log)
    through = share_at >= 0
    who = np.full(v.share.size, -1, np.int64)
    who[through] = sharer_at[share_at[through]]
    mine = who >= 0
    visits = np.bincount(who[mine], minlength=people).astype(np.int64)
    new = np.bincount(who[mine], weights=v.new[mine], minlength=people).round().astype(np.int64)
    span = int(v.visitor.max()) + 1 if v.visitor.size else 1
    pairs = metrics.unique(who[mine] * span + v.visitor[mine])
    distinct = np.bincount(pairs // span, minlength=people).astype(np.int64)
    return visits, distinct, new


def kols(log: Log, span: dict[str, Any], order_by: str, limit: int, offset: int) -> tuple[out.Kols, list[int]]:
    """The leaderboard page (nicknames left empty for the caller to fill) and its customer ids."""
    ids, direct, order_sharers, _ = metrics._sharer_gmv(log)
    s = log.shares
    sharer_at = metrics.lookup(ids, s.sharer)  # each share's sharer index, -1 for the shop's own codes
    made = (s.in_range == 1) & (sharer_at >= 0)
    shares = np.bincount(sharer_at[made], minlength=ids.size).astype(np.int64)
    visits, reach, new = _reach(log, sharer_at, ids.size)
    by_order = order_sharers[0]
    orders = np.bincount(by_order[by_order >= 0], minlength=ids.size).astype(np.int64)
    team = metrics.team_columns(log, metrics.cohort(log))
    at = metrics.lookup(team.ids, ids)
    team_shares = np.where(at >= 0, team.team_shares[np.maximum(at, 0)], 0) if team.ids.size else np.zeros_like(ids)
    team_gmv = np.where(at >= 0, team.team_gmv[np.maximum(at, 0)], 0) if team.ids.size else np.zeros_like(ids)
    key = {"gmv": direct, "team_gmv": team_gmv, "reach": reach}[order_by]
    chosen = metrics._top(key, ids, offset + limit)[offset:]
    total = int(direct.sum())
    items = [out.Kol(rank=offset + n + 1, customer_id=int(ids[i]), nickname=None, shares=int(shares[i]),
                     visits=int(visits[i]), unique_visitors=int(reach[i]), new_customers=int(new[i]),
                     orders=int(orders[i]), direct_gmv_fen=int(direct[i]),
                     gmv_share_bps=metrics.ratio_bps(int(direct[i]), total), team_shares=int(team_shares[i]),
                     team_gmv_fen=int(team_gmv[i])) for n, i in enumerate(chosen)]
    board = out.Kols(**span, order_by=order_by, total=int(ids.size), gmv_fen=total,
                     items=items)
    return board, [item.customer_id for item in items]
