"""The fission metrics on a hand-made log: funnel, K per generation, cycle time, concentration (top shares,
Gini, Lorenz, one hop of the top m), teams, repeat purchases; and the synthetic log's shape."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from liebian.analytics import metrics, synthetic
from liebian.analytics.log import Log, Orders, Shares, Visits
from liebian.analytics.service import analyze

S = 1_000_000
SPAN: dict[str, Any] = {"from_": date(2026, 1, 1), "to": date(2026, 1, 30)}
CHANNELS = ["friend", "group_chat", "moments"]

# id: (parent, sharer, channel, campaign, product, created seconds)
SHARES = {10: (-1, 1, 0, -1, 5, 0), 11: (10, 2, 0, -1, 5, 100), 12: (10, 3, 0, -1, 5, 300),
          13: (11, 4, 0, -1, 5, 400), 14: (12, 1, 0, -1, 5, 1000), 20: (-1, -1, 2, 0, -1, 50),
          30: (-1, 5, 0, -1, 7, 2000)}
VISITS = [(10, 2, 1), (10, 3, 1), (10, 9, 1), (11, 4, 1), (11, 4, 0), (20, 6, 1), (20, 7, 0)]  # share, visitor, new
# share, customer, GMV, paid seconds, referred
ORDERS = [(10, 9, 1000, 10, 1), (11, 4, 3000, 20, 1), (13, 8, 6000, 30, 1), (20, 6, 500, 40, 1),
          (-1, 9, 2000, 50, 0), (-1, 10, 700, 60, 0)]


def _array(values: list[int]) -> Any:
    return np.array(values, np.int64)


def hand_made() -> Log:
    ids = sorted(SHARES)
    depth: dict[int, int] = {}
    root: dict[int, int] = {}
    for i in ids:
        p = SHARES[i][0]
        depth[i], root[i] = (depth[p] + 1, root[p]) if p >= 0 else (0, i)
    col = {name: _array([SHARES[i][k] for i in ids]) for k, name in
           enumerate(("parent", "sharer", "channel", "campaign", "product", "created"))}
    of_root = {name: _array([SHARES[root[i]][k] for i in ids]) for k, name in
               enumerate(("parent", "sharer", "channel", "campaign", "product", "created"))}
    shares = Shares(id=_array(ids), parent=col["parent"], root=_array([root[i] for i in ids]),
                    depth=_array([depth[i] for i in ids]), sharer=col["sharer"],
                    parent_sharer=_array([SHARES[SHARES[i][0]][1] if SHARES[i][0] >= 0 else -1 for i in ids]),
                    created=col["created"] * S, in_range=_array([1] * len(ids)), root_created=of_root["created"] * S,
                    root_sharer=of_root["sharer"], root_channel=of_root["channel"],
                    root_campaign=of_root["campaign"], root_target=of_root["product"])
    visits = Visits(share=_array([v[0] for v in VISITS]), visitor=_array([v[1] for v in VISITS]),
                    created=_array([5 * S] * len(VISITS)), new=_array([v[2] for v in VISITS]))
    orders = Orders(share=_array([o[0] for o in ORDERS]), customer=_array([o[1] for o in ORDERS]),
                    gmv_fen=_array([o[2] for o in ORDERS]), paid=_array([o[3] * S for o in ORDERS]),
                    referred=_array([o[4] for o in ORDERS]))
    return Log(lo=0, hi=10**12, shares=shares, visits=visits, orders=orders, channels=CHANNELS,
               campaigns=["spring"])


def test_funnel_by_channel_first_hop_and_whole_cascade() -> None:
    result = metrics.funnel(hand_made(), SPAN, "channel")
    friend, moments = result.items
    assert friend.key == "friend" and moments.key == "moments"
    assert friend.cascade.model_dump() == {"shares": 6, "visits": 5, "unique_visitors": 4, "new_customers": 4,
                                           "orders": 3, "buyers": 3, "gmv_fen": 10000, "order_rate_bps": 6000,
                                           "order_rate": "0.6000"}
    hop = friend.first_hop
    assert (hop.shares, hop.visits, hop.unique_visitors, hop.new_customers, hop.orders, hop.buyers, hop.gmv_fen) == (
        2, 3, 3, 3, 1, 1, 1000)
    assert (moments.cascade.shares, moments.cascade.visits, moments.cascade.gmv_fen) == (1, 2, 500)
    total = result.total.cascade
    assert (total.shares, total.visits, total.unique_visitors, total.new_customers, total.orders, total.buyers,
            total.gmv_fen) == (7, 7, 6, 5, 4, 4, 10500)
    assert result.total.first_hop.unique_visitors == 5  # 2, 3, 9 via share 10; 6, 7 via share 20


def test_funnel_by_campaign_product_and_promoter() -> None:
    log = hand_made()
    assert [(r.key, r.cascade.gmv_fen) for r in metrics.funnel(log, SPAN, "campaign").items] == [
        (None, 10000), ("spring", 500)]
    assert [(r.key, r.cascade.shares) for r in metrics.funnel(log, SPAN, "product").items] == [
        ("5", 5), (None, 1), ("7", 1)]
    assert [r.key for r in metrics.funnel(log, SPAN, "promoter").items] == ["1", None, "5"]


def test_k_per_generation_cycle_time_and_reach_ceiling() -> None:
    k = metrics.kfactor(hand_made(), SPAN, metrics.cohort(hand_made()))
    assert [(g.depth, g.shares, g.children, g.k_bps, g.k) for g in k.generations] == [
        (0, 3, 2, 6667, "0.6667"), (1, 2, 2, 10000, "1.0000"), (2, 2, 0, 0, "0.0000")]
    assert [(g.median_delay_seconds, g.p90_delay_seconds) for g in k.generations[:2]] == [(200, 280), (500, 660)]
    assert (k.cascades, k.shares, k.k_bps, k.k, k.reach_ceiling) == (3, 7, 8000, "0.8000", "15.00")
    assert (k.median_cycle_seconds, k.p90_cycle_seconds) == (300, 580)


def _branching(generations: list[int]) -> Log:
    """A known branching process: every share of generation g has ``generations[g]`` children."""
    parents, level = [-1], [0]
    for children in generations:
        nxt = []
        for p in level:
            for _ in range(children):
                parents.append(p)
                nxt.append(len(parents) - 1)
        level = nxt
    n = len(parents)
    ids = np.arange(n, dtype=np.int64)
    parent = np.array(parents, np.int64)
    depth = np.zeros(n, np.int64)
    for i in range(1, n):
        depth[i] = depth[parent[i]] + 1
    zero, ones = np.zeros(n, np.int64), np.ones(n, np.int64)
    shares = Shares(id=ids, parent=parent, root=zero, depth=depth, sharer=ids, parent_sharer=np.maximum(parent, -1),
                    created=ids * S, in_range=ones, root_created=zero, root_sharer=zero, root_channel=zero,
                    root_campaign=zero - 1, root_target=zero - 1)
    empty = np.zeros(0, np.int64)
    return Log(lo=0, hi=10**12, shares=shares, visits=Visits(empty, empty, empty, empty),
               orders=Orders(empty, empty, empty, empty, empty), channels=CHANNELS)


def test_k_on_a_known_branching_process() -> None:
    log = _branching([3, 2, 1])  # 1, 3, 6, 6 shares
    k = metrics.kfactor(log, SPAN, metrics.cohort(log))
    assert [(g.shares, g.k_bps) for g in k.generations] == [(1, 30000), (3, 20000), (6, 10000), (6, 0)]
    # Harris: the last generation's children are not seen yet, so its shares are not counted as parents
    assert k.k == "1.5000" and k.reach_ceiling is None  # 15 children of 10 parents: no ceiling above 1


def test_cascades_ranked_by_size_and_virality() -> None:
    log = hand_made()
    c = metrics.cohort(log)
    result = metrics.cascade_list(log, SPAN, c, "size", 2)
    top = result.items[0]
    assert (top.root_share_id, top.size, top.depth, top.max_breadth, top.virality) == (10, 5, 2, 2, "2.0000")
    assert (top.visits, top.orders, top.gmv_fen, top.promoter_id, top.product_id) == (5, 3, 10000, 1, 5)
    assert result.items[1].root_share_id == 20 and result.items[1].virality is None  # ties by id
    assert result.summary.size_buckets == {"1": 2, "2-9": 1, "10-99": 0, "100+": 0}
    assert (result.summary.cascades, result.summary.mean_size, result.summary.single_share_bps) == (3, "2.33", 6667)
    by_virality = metrics.cascade_list(log, SPAN, c, "virality", 3)
    assert [x.root_share_id for x in by_virality.items] == [10, 20, 30]


def test_concentration_top_shares_gini_lorenz_and_one_hop() -> None:
    result = metrics.concentration(hand_made(), SPAN, m=2)
    assert (result.sharers, result.gmv_fen) == (5, 10000)
    assert result.top_1_percent.model_dump() == {"sharers": 1, "gmv_fen": 6000, "share_bps": 6000, "share": "0.6000"}
    assert result.top_10_percent.sharers == 1 and result.gini_bps == 6000 and result.gini == "0.6000"
    lorenz = dict(result.lorenz)
    assert len(result.lorenz) == 21 and lorenz[0] == 0 and lorenz[2000] == 0 and lorenz[4000] == 0
    assert lorenz[6000] == 1000 and lorenz[8000] == 4000 and lorenz[10000] == 10000
    assert result.top_m.sharer_ids == [4, 2] and result.top_m.direct_gmv_fen == 9000
    assert result.top_m.one_hop_gmv_fen == 9000 and result.top_m.share_bps == 9000
    one = metrics.concentration(hand_made(), SPAN, m=1).top_m
    assert (one.sharer_ids, one.one_hop_gmv_fen) == ([4], 6000)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=60))
def test_gini_matches_the_mean_absolute_difference(values: list[int]) -> None:
    x = np.array(values, np.int64)
    got = metrics.gini_bps(x)
    if x.sum() == 0:
        assert got is None
        return
    expected = np.abs(x[:, None] - x[None, :]).sum() / (2 * x.size * x.sum())
    assert got is not None and abs(got - expected * 10000) <= 0.5 + 1e-9
    points = metrics.lorenz(x)
    assert points[-1] == (10000, 10000) and all(a[1] <= b[1] for a, b in itertools.pairwise(points))


def test_teams_count_a_subtree_once_per_promoter() -> None:
    log = hand_made()
    items = metrics.teams(log, SPAN, metrics.cohort(log)).items
    assert [(t.promoter_id, t.shares, t.direct_gmv_fen, t.team_shares, t.team_gmv_fen) for t in items] == [
        (1, 2, 1000, 5, 10000), (2, 1, 3000, 2, 9000), (4, 1, 6000, 1, 6000), (3, 1, 0, 2, 0), (5, 1, 0, 1, 0)]


def test_repeat_purchase_rate_of_referred_and_not_referred_customers() -> None:
    result = metrics.retention(hand_made(), SPAN)
    assert result.referred.model_dump() == {"customers": 4, "repeat_customers": 1, "repeat_rate_bps": 2500,
                                            "repeat_rate": "0.2500"}
    assert (result.not_referred.customers, result.not_referred.repeat_customers) == (1, 0)


def test_the_synthetic_log_is_heavy_tailed_and_mostly_shallow() -> None:
    log = synthetic.generate(100_000)
    assert log.events == 100_000
    report = analyze(log, SPAN)
    summary = report.cascades.summary
    assert summary.size_buckets["1"] * 2 > summary.cascades and summary.max_depth >= 8
    assert report.concentration.top_10_percent.share_bps is not None
    assert report.concentration.top_10_percent.share_bps > 5000  # a tenth of sharers bring most of the GMV
    assert report.kfactor.k_bps is not None and 4000 < report.kfactor.k_bps < 7000
