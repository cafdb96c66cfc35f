"""The fission metrics over a :class:`~liebian.analytics.log.Log`, vectorized with NumPy.

Definitions (the README repeats them for merchants):

- A cascade is the tree of shares under one root share; its channel, campaign, product and promoter are its
  root's. Funnels group every event by its cascade's attributes: ``first_hop`` counts what came through root
  shares only, ``cascade`` what came through any share of the cascade. Funnels count events by their own time
  in the range (shares created, visits made, orders paid), like campaigns' reports.
- K-factor, cycle time, cascades and teams read the cascades *started* in the range (root share created in it)
  with every re-share made before the range's end: a branching process needs whole trees.
- Concentration ranks sharers (customers who shared in the range, or whose share brought an order in it) by
  the GMV of the orders attributed directly to their shares.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from liebian.analytics import cascades as trees
from liebian.analytics import schemas as out
from liebian.analytics.log import Log, from_micros
from liebian.analytics.tally import tally
from liebian.campaigns.rules import bps_decimal
from liebian.kit.money import BPS_DENOMINATOR, round_half_up

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
SECOND = 1_000_000


def ratio_bps(numerator: int, denominator: int) -> int | None:
    return round_half_up(numerator * BPS_DENOMINATOR, denominator) if denominator > 0 else None


def lookup(ids: Ints, keys: Ints) -> Ints:
    """The index of each key in the sorted ``ids``, -1 where absent (or the key is -1).

    Ids of one shop are nearly dense, so a direct table over their span replaces a binary search (whose random
    probes miss the cache) when the span is not much larger than the ids."""
    if ids.size == 0:
        return np.full(keys.size, -1, np.int64)
    low, span = int(ids[0]), int(ids[-1]) - int(ids[0]) + 1
    if span == ids.size:  # no gaps: the index is the offset
        offset = keys - low
        return np.where((offset >= 0) & (offset < span), offset, -1)
    if span <= 8 * ids.size + 1_000_000:
        table = np.full(span + 1, -1, np.int64)  # the last cell answers every key outside the span
        table[ids - low] = np.arange(ids.size, dtype=np.int64)
        offset = keys - low
        return table[np.where((offset >= 0) & (offset < span), offset, span)]
    pos = np.minimum(np.searchsorted(ids, keys), ids.size - 1)
    return np.where((keys >= 0) & (ids[pos] == keys), pos, -1).astype(np.int64)


def unique(values: Ints) -> Ints:
    """Sorted distinct values. (NumPy 2.4's ``np.unique`` takes a hash path that is ten times slower than a
    sort on tens of millions of integers.)"""
    x = np.sort(values)
    return x[np.concatenate([[True], x[1:] != x[:-1]])] if x.size else x


def dense(values: Ints) -> tuple[Ints, Ints]:
    """(sorted distinct values, each value's index among them); by counting when the values span a small
    range (channels, campaigns, a shop's customer ids), else by a sort."""
    if values.size and int(values.max()) - int(values.min()) <= 4 * values.size + 1_000_000:
        low = int(values.min())
        present = np.bincount(values - low) > 0
        rank = np.cumsum(present) - 1
        return (np.flatnonzero(present) + low).astype(np.int64), rank[values - low].astype(np.int64)
    order = np.argsort(values, kind="stable")
    x = values[order]
    change = np.concatenate([[True], x[1:] != x[:-1]]) if x.size else np.zeros(0, np.bool_)
    inverse = np.empty(values.size, np.int64)
    inverse[order] = np.cumsum(change) - 1
    return x[change], inverse


def _cached(log: Log, name: str, compute: Callable[[], Ints]) -> Ints:
    found: Ints | None = log.cache.get(name)
    if found is None:
        found = log.cache[name] = compute()
    return found


def visit_share_at(log: Log) -> Ints:
    return _cached(log, "visit_share_at", lambda: lookup(log.shares.id, log.visits.share))


def order_share_at(log: Log) -> Ints:
    return _cached(log, "order_share_at", lambda: lookup(log.shares.id, log.orders.share))


@dataclass
class Cohort:
    """The cascades started in the range, as a forest over dense node numbers."""

    nodes: Ints  # node -> index into log.shares
    forest: trees.Forest
    node_of_share: Ints  # index into log.shares -> node, -1 outside the cohort
    log: Log

    @cached_property
    def visit_nodes(self) -> Ints:
        """The cohort node of each visit's share, -1 outside the cohort."""
        return _nodes_of(self.node_of_share, visit_share_at(self.log))

    @cached_property
    def order_nodes(self) -> Ints:
        return _nodes_of(self.node_of_share, order_share_at(self.log))


def cohort(log: Log) -> Cohort:
    s = log.shares
    root_at = lookup(s.id, s.root)
    inside = (root_at >= 0) & (s.root_created >= log.lo) & (s.root_created < log.hi)
    nodes = np.flatnonzero(inside).astype(np.int64)
    node_of = np.full(s.id.size, -1, np.int64)
    node_of[nodes] = np.arange(nodes.size, dtype=np.int64)
    parent_at = lookup(s.id, s.parent[nodes])
    parent = np.where(parent_at >= 0, node_of[np.maximum(parent_at, 0)], -1)
    return Cohort(nodes=nodes, forest=trees.forest(parent, s.depth[nodes]), node_of_share=node_of, log=log)


# --- funnel ----------------------------------------------------------------------------------------

def _grouping(log: Log, group_by: str) -> tuple[Ints, Callable[[int], str | None]]:
    s = log.shares
    if group_by == "channel":
        return s.root_channel, lambda v: log.channels[v] if v >= 0 else None
    if group_by == "campaign":
        return s.root_campaign, lambda v: log.campaigns[v] if v >= 0 else None
    if group_by == "product":
        return s.root_target, lambda v: str(v) if v >= 0 else None
    if group_by == "promoter":
        return s.root_sharer, lambda v: str(v) if v >= 0 else None
    raise ValueError(f"unknown grouping {group_by!r}")


def _stage(values: dict[str, int]) -> out.Stage:
    rate = ratio_bps(values["orders"], values["visits"])
    return out.Stage(**values, order_rate_bps=rate, order_rate=bps_decimal(rate))


def _people(log: Log, name: str, who: Ints) -> Ints:
    """Dense people numbers (the tally's bitmaps are indexed by them)."""
    if who.size == 0 or (int(who.min()) >= 0 and int(who.max()) <= 4 * who.size + 1_000_000):
        return who
    return _cached(log, name, lambda: dense(who)[1])


def funnel(log: Log, span: dict[str, Any], group_by: str, limit: int = 100) -> out.Funnel:
    raw, label = _grouping(log, group_by)
    keys, group = dense(raw)
    s, groups = log.shares, keys.size
    hop = s.depth == 0
    made = s.in_range == 1
    shares = np.stack([np.bincount(group[made & hop], minlength=groups), np.bincount(group[made], minlength=groups)])
    v = tally(visit_share_at(log), group, hop, _people(log, "visitors", log.visits.visitor), log.visits.new, groups)
    o = tally(order_share_at(log), group, hop, _people(log, "customers", log.orders.customer), log.orders.gmv_fen,
              groups)

    def columns(row: int) -> dict[str, Ints]:
        return {"shares": shares[row], "visits": v.events[row], "unique_visitors": v.distinct[row],
                "new_customers": v.weight[row], "orders": o.events[row], "buyers": o.distinct[row],
                "gmv_fen": o.weight[row]}

    def totals(row: int) -> out.Stage:
        summed = {k: int(c.sum()) for k, c in columns(row).items()}
        return _stage(summed | {"unique_visitors": int(v.overall[row]), "buyers": int(o.overall[row])})

    hop_columns, whole = columns(0), columns(1)
    order = np.lexsort((keys, -whole["visits"], -whole["gmv_fen"]))[:limit]
    items = [out.FunnelRow(key=label(int(keys[g])), first_hop=_stage({k: int(c[g]) for k, c in hop_columns.items()}),
                           cascade=_stage({k: int(c[g]) for k, c in whole.items()})) for g in order]
    total = out.FunnelRow(key=None, first_hop=totals(0), cascade=totals(1))
    return out.Funnel(**span, group_by=group_by, total=total, items=items)


# --- K-factor and cycle time -----------------------------------------------------------------------

def _median_p90(values: npt.NDArray[Any]) -> tuple[int | None, int | None]:
    """The median and the 90th percentile of microsecond delays, in whole seconds."""
    if values.size == 0:
        return None, None
    median, p90 = np.percentile(values, [50, 90])
    return round(float(median) / SECOND), round(float(p90) / SECOND)


def kfactor(log: Log, span: dict[str, Any], c: Cohort) -> out.KFactor:
    f = c.forest
    created = log.shares.created[c.nodes]
    per_depth = np.bincount(f.depth, minlength=1).astype(np.int64) if f.depth.size else np.zeros(1, np.int64)
    child = np.flatnonzero(f.parent >= 0)
    # Delays grouped by the child's depth with one stable (radix) sort of small integers, not a mask per depth.
    by_depth = np.argsort(np.minimum(f.depth[child], 32767).astype(np.int16), kind="stable")
    delay = (created[child] - created[f.parent[child]])[by_depth]
    starts = np.concatenate([[0], np.cumsum(per_depth[1:])])
    generations = []
    for g in range(per_depth.size if f.depth.size else 0):
        children = int(per_depth[g + 1]) if g + 1 < per_depth.size else 0
        k = ratio_bps(children, int(per_depth[g]))
        median, p90 = _median_p90(delay[starts[g]:starts[g] + children])
        generations.append(out.Generation(depth=g, shares=int(per_depth[g]), children=children, k_bps=k,
                                          k=bps_decimal(k), median_delay_seconds=median, p90_delay_seconds=p90))
    # Harris' estimator of the mean offspring: all children over all parents of the generations that could
    # have had children seen (the last generation's are not).
    offspring, parents = int(per_depth[1:].sum()), int(per_depth[:-1].sum())
    k_all = ratio_bps(offspring, parents)
    ceiling = None
    if parents and offspring < parents:
        ceiling = _decimal2(round_half_up(int(per_depth[0]) * parents * 100, parents - offspring))
    median, p90 = _median_p90(delay)
    return out.KFactor(**span, cascades=int(f.roots.size), shares=int(f.parent.size), k_bps=k_all,
                       k=bps_decimal(k_all), reach_ceiling=ceiling, median_cycle_seconds=median,
                       p90_cycle_seconds=p90, generations=generations)


def _decimal2(hundredths: int) -> str:
    whole, frac = divmod(hundredths, 100)
    return f"{whole}.{frac:02d}"


def _decimal4(value: float) -> str | None:
    return None if np.isnan(value) else f"{value:.4f}"


# --- cascades --------------------------------------------------------------------------------------

def _nodes_of(node_of_share: Ints, share_at: Ints) -> Ints:
    if node_of_share.size == 0:
        return np.full(share_at.size, -1, np.int64)
    return np.where(share_at >= 0, node_of_share[np.maximum(share_at, 0)], -1)


def _per_cascade_events(log: Log, c: Cohort) -> tuple[Ints, Ints, Ints]:
    count, cascade = c.forest.roots.size, c.forest.cascade
    v_node, o_node = c.visit_nodes, c.order_nodes
    kept = o_node >= 0
    return (np.bincount(cascade[v_node[v_node >= 0]], minlength=count).astype(np.int64),
            np.bincount(cascade[o_node[kept]], minlength=count).astype(np.int64),
            np.bincount(cascade[o_node[kept]], weights=log.orders.gmv_fen[kept], minlength=count)
            .round().astype(np.int64))


def _top(values: npt.NDArray[Any], tiebreak: Ints, limit: int) -> Ints:
    """Indices of the ``limit`` largest values (NaN last), ties by ``tiebreak`` ascending, without a full sort."""
    key = np.where(np.isnan(values), -np.inf, values) if values.dtype.kind == "f" else values
    if key.size > 4 * limit and limit > 0:
        kth = np.partition(key, key.size - limit)[key.size - limit]
        candidates = np.flatnonzero(key >= kth)
    else:
        candidates = np.arange(key.size)
    return candidates[np.lexsort((tiebreak[candidates], -key[candidates]))][:limit].astype(np.int64)


def cascade_list(log: Log, span: dict[str, Any], c: Cohort, order_by: str, limit: int, offset: int = 0,
                 channel: str | None = None) -> out.Cascades:
    """The top cascades (``offset`` skips the first ones), of one root channel if asked; the summary is over
    every cascade of the range."""
    f, s = c.forest, log.shares
    nu = trees.virality(f)
    visits, orders, gmv = _per_cascade_events(log, c)
    root_share = c.nodes[f.roots]
    among = np.arange(root_share.size, dtype=np.int64)
    if channel is not None:
        code = log.channels.index(channel) if channel in log.channels else -2
        among = among[s.root_channel[root_share] == code]
    key = (f.nodes if order_by == "size" else nu)[among]
    chosen = among[_top(key, s.id[root_share[among]], offset + limit)[offset:]]
    items = []
    for i in chosen:
        r = int(root_share[i])
        items.append(out.Cascade(
            root_share_id=int(s.id[r]), promoter_id=_opt(s.sharer[r]),
            channel=log.channels[int(s.root_channel[r])] if s.root_channel[r] >= 0 else "unknown",
            campaign=log.campaigns[int(s.root_campaign[r])] if s.root_campaign[r] >= 0 else None,
            product_id=_opt(s.root_target[r]), started_at=from_micros(int(s.created[r])), size=int(f.nodes[i]),
            depth=int(f.deepest[i]), max_breadth=int(f.breadth[i]), virality=_decimal4(float(nu[i])),
            visits=int(visits[i]), orders=int(orders[i]), gmv_fen=int(gmv[i])))
    return out.Cascades(**span, order_by=order_by, summary=_summary(f, nu), total=int(among.size), items=items)


def _opt(value: np.int64) -> int | None:
    return int(value) if value >= 0 else None


def _summary(f: trees.Forest, nu: npt.NDArray[np.float64]) -> out.CascadeSummary:
    count, shares = int(f.roots.size), int(f.parent.size)
    sizes = f.nodes
    buckets = {"1": int((sizes == 1).sum()), "2-9": int(((sizes >= 2) & (sizes < 10)).sum()),
               "10-99": int(((sizes >= 10) & (sizes < 100)).sum()), "100+": int((sizes >= 100).sum())}
    several = nu[~np.isnan(nu)]
    return out.CascadeSummary(
        cascades=count, shares=shares, single_share_bps=ratio_bps(buckets["1"], count),
        max_size=int(sizes.max()) if count else 0, max_depth=int(f.deepest.max()) if count else 0,
        mean_size=_decimal2(round_half_up(shares * 100, count)) if count else None,
        mean_virality=_decimal4(float(several.mean())) if several.size else None, size_buckets=buckets)


# --- concentration and teams -----------------------------------------------------------------------

def _sharer_gmv(log: Log) -> tuple[Ints, Ints, Ints, Ints]:
    """(sharer ids, their direct GMV, each attributed order's sharer index, its parent share's sharer index)."""
    s, o = log.shares, log.orders
    o_at = order_share_at(log)
    attributed = o_at >= 0
    at = o_at[attributed]
    o_sharer, o_parent = s.sharer[at], s.parent_sharer[at]
    candidates = np.concatenate([s.sharer[s.in_range == 1], o_sharer])
    ids = unique(candidates[candidates >= 0])
    sharer_at, parent_at = lookup(ids, o_sharer), lookup(ids, o_parent)
    gmv_o = o.gmv_fen[attributed]
    direct = np.bincount(sharer_at[sharer_at >= 0], weights=gmv_o[sharer_at >= 0], minlength=ids.size)
    return ids, direct.round().astype(np.int64), np.stack([sharer_at, parent_at]), gmv_o


def _top_share(ranked: Ints, fraction_per_mille: int, total: int) -> out.TopShare:
    count = -(-ranked.size * fraction_per_mille // 1000) if ranked.size else 0
    gmv = int(ranked[:count].sum())
    bps = ratio_bps(gmv, total)
    return out.TopShare(sharers=count, gmv_fen=gmv, share_bps=bps, share=bps_decimal(bps))


def gini_bps(values: Ints) -> int | None:
    """Gini = Σ(2i − n − 1)·x_i / (n·Σx) over the values sorted ascending (i from 1), exact in integers."""
    x = np.sort(values)
    n, total = x.size, int(x.sum())
    if n == 0 or total == 0:
        return None
    weights = 2 * np.arange(1, n + 1, dtype=np.int64) - n - 1
    if n * total < 2**62:  # |Σ w·x| <= n·Σx: exact in int64
        return round_half_up(int((weights * x).sum()) * BPS_DENOMINATOR, n * total)
    return round(float(np.dot(weights.astype(np.float64), x.astype(np.float64))) * BPS_DENOMINATOR / (n * total))


def lorenz(values: Ints, step_bps: int = 500) -> list[tuple[int, int]]:
    x = np.sort(values)
    total = int(x.sum())
    cumulative = np.concatenate([[0], np.cumsum(x)])
    points = []
    for p in range(0, BPS_DENOMINATOR + 1, step_bps):
        count = x.size * p // BPS_DENOMINATOR
        points.append((p, ratio_bps(int(cumulative[count]), total) or 0))
    return points


def concentration(log: Log, span: dict[str, Any], m: int = 10) -> out.Concentration:
    ids, direct, order_sharers, gmv_o = _sharer_gmv(log)
    total = int(direct.sum())
    rank = np.lexsort((ids, -direct))
    ranked = direct[rank]
    top_ids = ids[rank[:m]]
    marked = np.zeros(ids.size + 1, np.bool_)  # the last cell answers -1 (no sharer)
    marked[rank[:m]] = True
    near = marked[order_sharers[0]] | marked[order_sharers[1]]
    one_hop = int(gmv_o[near].sum())
    gini = gini_bps(direct)
    return out.Concentration(
        **span, sharers=int(ids.size), gmv_fen=total, top_1_percent=_top_share(ranked, 10, total),
        top_10_percent=_top_share(ranked, 100, total), gini_bps=gini, gini=bps_decimal(gini),
        lorenz=lorenz(direct) if total else [],
        top_m=out.OneHop(m=m, sharer_ids=[int(i) for i in top_ids], direct_gmv_fen=int(ranked[:m].sum()),
                         one_hop_gmv_fen=one_hop, share_bps=ratio_bps(one_hop, total)))


@dataclass
class TeamColumns:
    ids: Ints  # promoters (customer ids), sorted
    shares: Ints
    direct_gmv: Ints
    team_shares: Ints
    team_gmv: Ints


def teams(log: Log, span: dict[str, Any], c: Cohort, limit: int = 20) -> out.Teams:
    """Team (subtree) GMV per promoter over the cascades started in the range: each promoter's shares and
    everything re-shared below them, a subtree counted once when they re-share inside their own tree."""
    t = team_columns(log, c)
    chosen = _top(t.team_gmv, t.ids, limit)
    return out.Teams(**span, items=[out.Team(promoter_id=int(t.ids[i]), shares=int(t.shares[i]),
                                             direct_gmv_fen=int(t.direct_gmv[i]), team_shares=int(t.team_shares[i]),
                                             team_gmv_fen=int(t.team_gmv[i])) for i in chosen])


def team_columns(log: Log, c: Cohort) -> TeamColumns:
    """Every promoter's own shares and GMV and their team's, over the cohort's cascades."""
    f, s = c.forest, log.shares
    sharer = s.sharer[c.nodes]
    o_node = c.order_nodes
    kept = o_node >= 0
    direct = np.bincount(o_node[kept], weights=log.orders.gmv_fen[kept], minlength=f.parent.size)
    direct = direct.round().astype(np.int64)
    below = trees.subtree_sums(f.parent, direct)
    top = trees.topmost_of_sharer(f.parent, sharer)
    people = sharer >= 0
    ids, who = dense(sharer[people])
    top_p = top[people]

    def per(values: Ints, mask: Bools | None = None) -> Ints:
        weights = values[people] if mask is None else np.where(mask, values[people], 0)
        return np.bincount(who, weights=weights, minlength=ids.size).round().astype(np.int64)

    return TeamColumns(ids=ids, shares=np.bincount(who, minlength=ids.size).astype(np.int64), direct_gmv=per(direct),
                       team_shares=per(f.size, top_p), team_gmv=per(below, top_p))


# --- repeat purchases ------------------------------------------------------------------------------

def _repeat(customers: int, repeaters: int) -> out.Repeat:
    rate = ratio_bps(repeaters, customers)
    return out.Repeat(customers=customers, repeat_customers=repeaters, repeat_rate_bps=rate,
                      repeat_rate=bps_decimal(rate))


def retention(log: Log, span: dict[str, Any]) -> out.Retention:
    """A customer is referred when their first order paid in the range was attributed to a share or promoter;
    a repeat customer paid at least two orders in the range."""
    o = log.orders
    if o.customer.size == 0:
        return out.Retention(**span, referred=_repeat(0, 0), not_referred=_repeat(0, 0))
    order = np.lexsort((o.paid, o.customer))
    customer = o.customer[order]
    first = np.concatenate([[True], customer[1:] != customer[:-1]])
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, customer.size))
    referred = o.referred[order][starts] == 1
    repeat = counts >= 2
    return out.Retention(**span, referred=_repeat(int(referred.sum()), int((referred & repeat).sum())),
                         not_referred=_repeat(int((~referred).sum()), int((~referred & repeat).sum())))
