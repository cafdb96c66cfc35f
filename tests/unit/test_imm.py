"""IMM, RR sets, greedy max coverage and Monte Carlo spread on graphs small enough to know the answer exactly
(by enumerating every live-edge world), plus the file format and the shop model's formula."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liebian.analytics import influence_kernels as kernels
from liebian.analytics.influence_graph import (
    GraphFormatError,
    InfluenceGraph,
    from_arcs,
    from_labelled_arcs,
    pagerank,
    read_graph,
    top_degree,
    weighted_cascade,
)
from liebian.analytics.influence_imm import (
    RRCollection,
    adjusted_ell,
    imm,
    lambda_star,
    monte_carlo_spread,
    rr_spread,
    select,
)
from liebian.analytics.influence_shop import Records, choose_model, estimated_probabilities, shop_graph


def exact_spread(graph: InfluenceGraph, seeds: list[int]) -> float:
    """σ(S) = Σ over the 2^m live-edge worlds of P(world) · |nodes reachable from S in it|."""
    total = 0.0
    for live in itertools.product((False, True), repeat=graph.m):
        weight = math.prod(p if on else 1 - p for p, on in zip(graph.prob.tolist(), live, strict=True))
        reached, frontier = set(seeds), list(seeds)
        while frontier:
            u = frontier.pop()
            for e in range(graph.m):
                if live[e] and graph.src[e] == u and int(graph.dst[e]) not in reached:
                    reached.add(int(graph.dst[e]))
                    frontier.append(int(graph.dst[e]))
        total += weight * len(reached)
    return total


def path3() -> InfluenceGraph:
    return from_arcs([0, 1], [1, 2], [0.5, 0.5])


def star(leaves: int = 6, p: float = 0.5) -> InfluenceGraph:
    return from_arcs([0] * leaves, list(range(1, leaves + 1)), [p] * leaves)


def test_the_exact_spread_of_a_path_of_three() -> None:
    g = path3()
    assert exact_spread(g, [0]) == pytest.approx(1 + 0.5 + 0.25)
    assert exact_spread(g, [1]) == pytest.approx(1.5) and exact_spread(g, [2]) == pytest.approx(1.0)
    assert exact_spread(g, [0, 2]) == pytest.approx(2.5)


@pytest.mark.parametrize(("seeds", "expected"), [([0], 1.75), ([1], 1.5), ([2], 1.0), ([0, 2], 2.5), ([0, 1, 2], 3)])
def test_monte_carlo_agrees_with_the_exact_spread_on_the_path(seeds: list[int], expected: float) -> None:
    got = monte_carlo_spread(path3(), seeds, runs=200_000, seed=7)
    assert abs(got.mean - expected) <= 5 * got.stderr + 1e-12
    assert got.stderr < 0.01 or expected == len(seeds)


def test_rr_sets_estimate_the_exact_spread() -> None:
    """E[n · 1{S ∩ R ≠ ∅}] = σ(S) (Borgs et al.): the identity IMM stands on."""
    g = from_arcs([0, 0, 1, 2, 3], [1, 2, 3, 3, 4], [0.6, 0.3, 0.5, 0.9, 0.4])
    for seeds in ([0], [1], [2, 4], [0, 3]):
        assert rr_spread(g, seeds, sets=200_000, seed=3) == pytest.approx(exact_spread(g, seeds), rel=0.02)


def test_the_centre_of_a_star_is_the_seed() -> None:
    g = star()
    result = imm(g, 1, 0.3, seed=1)
    assert result.seeds == [0]
    # 1 + 6 · 0.5 = 4; θ is only a few hundred RR sets on 7 nodes, hence the loose bound.
    assert result.estimated_spread == pytest.approx(exact_spread(g, [0]), rel=0.15)
    assert exact_spread(g, [0]) == pytest.approx(4.0)
    assert result.gains[0] == pytest.approx(result.estimated_spread)
    assert monte_carlo_spread(g, [0], runs=50_000).mean == pytest.approx(4.0, rel=0.02)


def test_two_stars_two_centres_and_the_gains_add_up() -> None:
    left = ([0] * 4, [1, 2, 3, 4])
    right = ([5] * 3, [6, 7, 8])
    g = from_arcs(left[0] + right[0], left[1] + right[1], [0.7] * 7)
    result = imm(g, 2, 0.3, seed=2)
    assert sorted(result.seeds) == [0, 5] and result.seeds[0] == 0  # the bigger star first
    assert sum(result.gains) == pytest.approx(result.estimated_spread)
    assert result.estimated_spread == pytest.approx(exact_spread(g, [0, 5]), rel=0.05)


def test_imm_finds_the_exact_optimum_of_a_small_graph() -> None:
    rng = np.random.default_rng(5)
    src, dst = [], []
    while len(src) < 11:
        u, v = (int(x) for x in rng.integers(0, 7, 2))
        if u != v and (u, v) not in zip(src, dst, strict=True):
            src.append(u)
            dst.append(v)
    g = from_arcs(src, dst, rng.uniform(0.2, 0.9, len(src)), n=7)
    best = max(exact_spread(g, list(pair)) for pair in itertools.combinations(range(7), 2))
    got = exact_spread(g, imm(g, 2, 0.2, seed=4).seeds)
    assert got >= (1 - 1 / math.e - 0.2) * best and got >= 0.97 * best


def test_same_seed_same_answer_and_fresh_sets_differ() -> None:
    g = from_labelled_arcs(np.arange(200) % 37, (np.arange(200) * 7 + 3) % 41, np.full(200, 0.2))
    a, b = imm(g, 5, 0.5, seed=9), imm(g, 5, 0.5, seed=9)
    assert a == b and len(set(a.seeds)) == 5
    assert a.theta > 0 and a.sampling_sets > 0 and a.lower_bound >= 1
    s1, s2 = kernels.rng_state(1), kernels.rng_state(1)
    first = kernels.rr_sets(g.rev_indptr, g.rev_indices, g.rev_probs, 50, s1)
    again = kernels.rr_sets(g.rev_indptr, g.rev_indices, g.rev_probs, 50, s2)
    assert np.array_equal(first[0], again[0])
    later = kernels.rr_sets(g.rev_indptr, g.rev_indices, g.rev_probs, 50, s1)  # the stream goes on
    assert not np.array_equal(first[0], later[0])


def test_the_parameters_of_the_paper() -> None:
    n, k, eps = 15229, 50, 0.5
    assert adjusted_ell(1.0, n) == pytest.approx(1 + math.log(2) / math.log(n))
    ell = adjusted_ell(1.0, n)
    log_cnk = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
    alpha = math.sqrt(ell * math.log(n) + math.log(2))
    beta = math.sqrt((1 - 1 / math.e) * (log_cnk + ell * math.log(n) + math.log(2)))
    assert lambda_star(n, k, eps, ell) == pytest.approx(2 * n * ((1 - 1 / math.e) * alpha + beta) ** 2 / eps**2)


def collection(sets: list[list[int]]) -> RRCollection:
    offsets = np.zeros(len(sets) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(s) for s in sets])
    return RRCollection(np.asarray([v for s in sets for v in s], dtype=np.int32), offsets)


def brute_force(sets: list[list[int]], n: int, k: int) -> int:
    return max(sum(1 for s in sets if set(s) & set(c)) for c in itertools.combinations(range(n), k))


@pytest.mark.parametrize(("sets", "k", "expected"), [
    ([[0, 1], [0, 2], [3], [3, 4], [3, 5], [1]], 2, {3, 0}),
    ([[0], [0], [0], [1, 2], [1], [2], [2, 3]], 2, {0, 2}),
    ([[4], [4, 1], [1, 2], [2, 3], [3], [3, 0]], 3, None),  # {3, 1, 4} and {3, 2, 4} both cover all six
])
def test_greedy_max_coverage_picks_the_optimum_of_hand_made_collections(sets: list[list[int]], k: int,
                                                                        expected: set[int] | None) -> None:
    g = from_arcs([], [], [], n=6)
    chosen = select(g, collection(sets), k)
    assert expected is None or set(chosen.seeds) == expected
    covered = sum(1 for s in sets if set(s) & set(chosen.seeds))
    assert covered == brute_force(sets, 6, k)
    assert chosen.spread == pytest.approx(6 * covered / len(sets))
    assert sum(chosen.gains) == pytest.approx(chosen.spread) and chosen.gains == sorted(chosen.gains, reverse=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sets(st.integers(0, 5), min_size=1, max_size=4).map(sorted), min_size=1, max_size=12),
       st.integers(1, 3))
def test_greedy_coverage_is_within_1_minus_1_over_e_of_the_optimum(sets: list[list[int]], k: int) -> None:
    chosen = select(from_arcs([], [], [], n=6), collection(sets), k)
    covered = sum(1 for s in sets if set(s) & set(chosen.seeds))
    assert covered >= (1 - 1 / math.e) * brute_force(sets, 6, k) - 1e-9
    assert covered == pytest.approx(chosen.spread * len(sets) / 6)


def test_the_budgeted_variant_falls_back_to_the_best_single_node() -> None:
    # Node 0 covers 1 set for cost 1 (ratio 1); node 1 covers 9 for cost 10 (ratio 0.9): cost-effective greedy
    # takes node 0 and then cannot afford node 1; the single best affordable node is the better answer.
    sets = [[0]] + [[1]] * 9
    g = from_arcs([], [], [], n=3)
    costs = np.array([1.0, 10.0, 5.0])
    assert select(g, collection(sets), 3, costs, 10.0).seeds == [1]
    assert select(g, collection(sets), 3, costs, 11.0).seeds == [0, 1]
    assert select(g, collection(sets), 3, costs, 0.5).seeds == []


def test_budgeted_imm_stays_within_the_budget() -> None:
    g = star(6)  # the centre alone reaches 4 in expectation, the six leaves together 6
    cheap_leaves = np.array([10.0] + [1.0] * 6)
    result = imm(g, 7, 0.3, seed=3, costs=cheap_leaves, budget=10.0)
    assert sorted(result.seeds) == [1, 2, 3, 4, 5, 6] and result.cost == 6.0
    # k still caps the count: three leaves (3) lose to the centre alone (4), the best single node check.
    assert imm(g, 3, 0.3, seed=3, costs=cheap_leaves, budget=10.0).seeds == [0]
    dear_leaves = np.array([10.0] + [5.0] * 6)
    result = imm(g, 7, 0.3, seed=3, costs=dear_leaves, budget=10.0)
    assert result.seeds == [0] and result.cost == 10.0


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 9).flatmap(lambda n: st.tuples(
    st.just(n),
    st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.floats(0, 1)), max_size=20),
    st.sets(st.integers(0, n - 1), max_size=n))))
def test_monte_carlo_spread_lies_between_the_seed_count_and_n(case: tuple[int, list[tuple[int, int, float]],
                                                                            set[int]]) -> None:
    n, arcs, seeds = case
    g = from_arcs([a[0] for a in arcs], [a[1] for a in arcs], [a[2] for a in arcs], n=n)
    got = monte_carlo_spread(g, sorted(seeds), runs=200, seed=1)
    assert len(seeds) <= got.mean <= n and got.stderr >= 0
    if all(a[2] == 0 for a in arcs):
        assert got.mean == len(seeds)


def test_certain_arcs_reach_everything_downstream() -> None:
    g = from_arcs([0, 1, 2, 3], [1, 2, 3, 0], [1.0] * 4)
    assert monte_carlo_spread(g, [2], runs=10).mean == 4 and monte_carlo_spread(g, [2], runs=10).stderr == 0


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="epsilon"):
        imm(path3(), 1, 1.5)
    with pytest.raises(ValueError, match="range"):
        monte_carlo_spread(path3(), [3])
    with pytest.raises(GraphFormatError):
        from_arcs([0], [1], [1.5])
    assert imm(from_arcs([], [], [], n=0), 3).seeds == []
    assert imm(path3(), 10, 0.5).seeds.__len__() == 3  # k is capped at n


def test_the_file_format(tmp_path: Path) -> None:
    plain = tmp_path / "plain.inf"
    plain.write_text("0 1 0.5\n1 2 0.5\n")
    g = read_graph(plain)
    assert (g.n, g.m) == (3, 2) and g.labels.tolist() == [0, 1, 2]
    header = tmp_path / "header.inf"
    header.write_text("5 2\n0 1 0.5\n1 2 0.25\n")
    assert read_graph(header).n == 5  # nodes 3 and 4 exist, isolated
    sparse = tmp_path / "sparse.inf"
    sparse.write_text("# ids are customer ids\n100 7 0.5\n7 31 1\n")
    g = read_graph(sparse)
    assert g.labels.tolist() == [7, 31, 100] and g.index_of([100, 31]).tolist() == [2, 1]
    with pytest.raises(KeyError):
        g.index_of([8])
    for bad in ("0 1\n0 1 0.5 9\n", "0 1 x\n", "0.5 1 0.2\n", "0 1 2\n"):
        path = tmp_path / "bad.inf"
        path.write_text(bad)
        with pytest.raises(GraphFormatError):
            read_graph(path)


def test_weighted_cascade_baselines_and_pagerank() -> None:
    src, dst = np.array([0, 0, 0, 1, 2]), np.array([1, 2, 3, 3, 3])
    assert weighted_cascade(src, dst, 4).tolist() == [1.0, 1.0, 1 / 3, 1 / 3, 1 / 3]
    g = from_arcs(src, dst, weighted_cascade(src, dst, 4))
    assert top_degree(g, 2).tolist() == [0, 1]
    rank = pagerank(g)
    assert rank.sum() == pytest.approx(1.0) and int(np.argmax(rank)) == 0  # the influencer, not the influenced


def test_the_shop_model_smooths_conversions_and_falls_back_when_thin() -> None:
    # Sharer 0 converted 2 of 2 visitors, sharer 1 converted 0 of 8: the shop rate is (2 + 1) / (10 + 2) = 0.25.
    src = np.array([0, 0] + [1] * 8, dtype=np.int32)
    won = np.array([1, 1] + [0] * 8, dtype=np.float64)
    p = estimated_probabilities(src, won, 2)
    assert p[0] == pytest.approx((2 + 10 * 0.25) / (2 + 10)) and p[2] == pytest.approx((0 + 2.5) / (8 + 10))
    assert 0 < p[2] < p[0] < 1
    assert choose_model(49, 10, "auto")[0] == "weighted_cascade"
    assert choose_model(50, 4, "auto")[0] == "weighted_cascade"
    assert choose_model(50, 5, "auto")[0] == "estimated" and choose_model(0, 0, "estimated")[0] == "estimated"
    graph, used, _ = shop_graph(Records([11, 11, 12], [12, 13, 13], [True, False, False]), "auto")
    assert used == "weighted_cascade" and graph.labels.tolist() == [11, 12, 13]
    assert sorted(graph.prob.tolist()) == [0.5, 0.5, 1.0]  # 13 has two in-arcs, 12 one
