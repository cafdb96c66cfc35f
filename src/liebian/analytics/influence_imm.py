"""IMM: influence maximization in near-linear time (Tang, Shi and Xiao, SIGMOD 2015) under the Independent Cascade
model, with the correction of Chen (2018), a budgeted variant, and Monte Carlo spread.

IMM in two phases (the paper's Algorithms 1-3):
1. Sampling. ε' = √2·ε. For i = 1 .. log2(n) − 1, with x = n / 2^i, grow the RR collection R to
   θ_i = λ' / x sets, run the greedy node selection on R and stop as soon as n·F_R(S_i) ≥ (1 + ε')·x; then
   LB = n·F_R(S_i) / (1 + ε') is a lower bound of OPT (the martingale stopping rule), else LB = 1. Here
   λ' = (2 + 2ε'/3)·(ln C(n, k) + ℓ·ln n + ln log2 n)·n / ε'^2.
2. Selection. θ = λ* / LB with λ* = 2n·((1 − 1/e)·α + β)^2 / ε^2, α = √(ℓ ln n + ln 2),
   β = √((1 − 1/e)·(ln C(n, k) + ℓ ln n + ln 2)); greedy max coverage over θ RR sets.
ℓ is raised to ℓ·(1 + ln 2 / ln n) so that both phases together succeed with probability ≥ 1 − 1/n^ℓ (the
paper's §3.3). Chen (2018) showed that reusing the sampling phase's RR sets in phase 2 breaks the martingale
argument (θ depends on those very sets); as he proposes, phase 2 draws θ FRESH RR sets.

The estimated spread is n · (the covered fraction of the fresh RR sets), unbiased for the chosen set.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from liebian.analytics import influence_kernels as kernels
from liebian.analytics.influence_graph import I32, I64, InfluenceGraph, top_degree, top_pagerank

_ONE_MINUS_INV_E = 1.0 - 1.0 / math.e

Progress = Callable[[float, str], None]  # (fraction of the work done, the stage now running)


@dataclass
class RRCollection:
    """RR sets stored flat: set r is ``nodes[offsets[r]:offsets[r + 1]]``; grown chunk by chunk."""

    nodes: I32 = field(default_factory=lambda: np.empty(0, dtype=np.int32))
    offsets: I64 = field(default_factory=lambda: np.zeros(1, dtype=np.int64))

    @property
    def count(self) -> int:
        return int(self.offsets.shape[0] - 1)

    @property
    def size(self) -> int:
        return int(self.nodes.shape[0])

    def grow_to(self, graph: InfluenceGraph, target: int, state: npt.NDArray[np.uint64]) -> None:
        missing = target - self.count
        if missing <= 0:
            return
        nodes, offsets = kernels.rr_sets(graph.rev_indptr, graph.rev_indices, graph.rev_probs, missing, state)
        self.offsets = np.concatenate([self.offsets, offsets[1:] + self.nodes.shape[0]])
        self.nodes = np.concatenate([self.nodes, nodes])


@dataclass(frozen=True)
class Selection:
    seeds: list[int]  # node indices, in the order greedy chose them
    gains: list[float]  # each seed's marginal gain in expected spread (n · newly covered fraction)
    spread: float  # n · covered fraction


@dataclass(frozen=True)
class ImmResult:
    seeds: list[int]
    gains: list[float]
    estimated_spread: float
    lower_bound: float
    theta: int  # RR sets of the final selection (fresh ones)
    sampling_sets: int  # RR sets drawn by the sampling phase
    ell: float  # ℓ after the adjustment
    cost: float | None = None  # total cost of the seeds (budgeted variant)


def log_binomial(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def lambda_prime(n: int, k: int, eps_prime: float, ell: float) -> float:
    """Equation 9 of the paper."""
    log_log = math.log(max(math.log2(n), 1.0))
    return (2 + 2 * eps_prime / 3) * (log_binomial(n, k) + ell * math.log(n) + log_log) * n / eps_prime**2


def lambda_star(n: int, k: int, eps: float, ell: float) -> float:
    """Equation 6 of the paper (with α and β of Theorem 1)."""
    alpha = math.sqrt(ell * math.log(n) + math.log(2))
    beta = math.sqrt(_ONE_MINUS_INV_E * (log_binomial(n, k) + ell * math.log(n) + math.log(2)))
    return 2 * n * (_ONE_MINUS_INV_E * alpha + beta) ** 2 / eps**2


def adjusted_ell(ell: float, n: int) -> float:
    """ℓ·(1 + ln 2 / ln n): each phase fails with probability ≤ 1/(2n^ℓ), so together ≤ 1/n^ℓ."""
    return ell * (1 + math.log(2) / math.log(n)) if n > 1 else ell


def select(graph: InfluenceGraph, rr: RRCollection, k: int, costs: npt.NDArray[np.float64] | None = None,
           budget: float | None = None) -> Selection:
    """Greedy max coverage of ``rr``: top-k, or cost-effective greedy under a budget with the best single
    affordable node as the fallback (which gives the constant-factor guarantee of Khuller et al.)."""
    n = graph.n
    scale = n / max(rr.count, 1)
    initial = np.bincount(rr.nodes, minlength=n).astype(np.int64)
    budgeted = costs is not None and budget is not None
    weights = costs if costs is not None and budget is not None else np.ones(n)
    limit = float(budget) if budget is not None and budgeted else float(k)
    order = np.argsort(-(initial / weights), kind="stable").astype(np.int64)  # ties: lower index first
    chosen, gains = kernels.greedy_cover(rr.nodes, rr.offsets, initial.copy(), order, weights, limit, k)
    affordable = np.flatnonzero(weights <= limit) if budgeted else np.empty(0, dtype=np.int64)
    if affordable.size:
        best = int(affordable[np.argmax(initial[affordable])])
        if initial[best] > gains.sum():
            return Selection([best], [float(initial[best]) * scale], float(initial[best]) * scale)
    return Selection(chosen.tolist(), (gains * scale).tolist(), float(gains.sum()) * scale)


def _effective_k(costs: npt.NDArray[np.float64], budget: float) -> int:
    """The most seeds a budget can buy (cheapest first): the k that the union bound of the theory must cover."""
    spent = np.cumsum(np.sort(costs))
    return max(1, int(np.searchsorted(spent, budget, side="right")))


def imm(graph: InfluenceGraph, k: int, epsilon: float = 0.5, *, ell: float = 1.0, seed: int = 0,
        costs: npt.NDArray[np.float64] | None = None, budget: float | None = None,
        progress: Progress | None = None) -> ImmResult:
    """IMM with fresh RR sets for the final selection. With ``costs`` and ``budget`` the seeds (at most k) are
    chosen by cost-effective greedy instead, and the theory's k is the most seeds the budget can buy.
    ``progress`` hears the sampling rounds and the final phase (a long job shows a moving bar)."""
    report = progress or (lambda _done, _stage: None)
    if not 0 < epsilon < 1:
        raise ValueError("epsilon must lie in (0, 1)")
    n = graph.n
    if n == 0:
        return ImmResult([], [], 0.0, 0.0, 0, 0, ell)
    k = max(1, min(k, n) if costs is None or budget is None else min(k, _effective_k(costs, budget)))
    ell_adj = adjusted_ell(ell, n)
    state = kernels.rng_state(seed)
    eps_prime = math.sqrt(2) * epsilon
    lam_prime = lambda_prime(n, k, eps_prime, ell_adj)
    sampling, lower = RRCollection(), 1.0
    rounds = max(math.ceil(math.log2(n)), 1)
    for i in range(1, rounds):
        report(0.5 * (i - 1) / rounds, "sampling")
        x = n / 2**i
        sampling.grow_to(graph, math.ceil(lam_prime / x), state)
        spread = select(graph, sampling, k, costs, budget).spread
        if spread >= (1 + eps_prime) * x:
            lower = spread / (1 + eps_prime)
            break
    theta = math.ceil(lambda_star(n, k, epsilon, ell_adj) / lower)
    fresh = RRCollection()
    report(0.5, "fresh_sets")
    fresh.grow_to(graph, theta, state)  # Chen 2018: never the sampling phase's sets
    report(0.9, "selecting")
    chosen = select(graph, fresh, k, costs, budget)
    report(1.0, "selecting")
    spent = float(costs[chosen.seeds].sum()) if costs is not None and budget is not None else None
    return ImmResult(chosen.seeds, chosen.gains, chosen.spread, lower, theta, sampling.count, ell_adj, spent)


@dataclass(frozen=True)
class Spread:
    mean: float
    stderr: float
    runs: int


def monte_carlo_spread(graph: InfluenceGraph, seeds: npt.ArrayLike, runs: int = 10_000, seed: int = 0) -> Spread:
    """Expected number of active nodes (seeds included) over ``runs`` IC simulations, with its standard error."""
    nodes = np.unique(np.asarray(seeds, dtype=np.int64))
    if runs <= 0:
        raise ValueError("runs must be positive")
    if nodes.size and (nodes[0] < 0 or nodes[-1] >= graph.n):
        raise ValueError("seed out of range")
    sizes = kernels.cascade_sizes(graph.fwd_indptr, graph.fwd_indices, graph.fwd_probs, nodes, runs,
                                  kernels.rng_state(seed))
    std = float(sizes.std(ddof=1)) if runs > 1 else 0.0
    return Spread(float(sizes.mean()), std / math.sqrt(runs), runs)


def rr_spread(graph: InfluenceGraph, seeds: npt.ArrayLike, sets: int = 100_000, seed: int = 1) -> float:
    """n · the fraction of ``sets`` fresh RR sets that the seeds cover: a quick unbiased spread estimate."""
    rr = RRCollection()
    rr.grow_to(graph, sets, kernels.rng_state(seed))
    hit = kernels.coverage(rr.nodes, rr.offsets, graph.n, np.asarray(seeds, dtype=np.int64))
    return graph.n * hit / max(rr.count, 1)


@dataclass(frozen=True)
class Comparison:
    """IMM against the two classic heuristics, all three measured by the same Monte Carlo."""

    imm: Spread
    degree_seeds: list[int]
    degree: Spread
    pagerank_seeds: list[int]
    pagerank: Spread


def compare(graph: InfluenceGraph, seeds: list[int], runs: int = 10_000, seed: int = 0) -> Comparison:
    k = len(seeds)
    by_degree, by_rank = top_degree(graph, k).tolist(), top_pagerank(graph, k).tolist()
    return Comparison(monte_carlo_spread(graph, seeds, runs, seed), by_degree,
                      monte_carlo_spread(graph, by_degree, runs, seed), by_rank,
                      monte_carlo_spread(graph, by_rank, runs, seed))
