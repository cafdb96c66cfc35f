"""A shop's influence graph from its fission records, and "who should we seed next" over it.

Nodes are customers. There is an arc u → v when v arrived (``fission_visits.customer_id``) through a share of u
(``fission_visits.sharer_id``, copied from ``fission_shares.sharer_id``); shares of the shop's own codes, anonymous
visitors and one's own link are left out. The arc is one trial of u's persuasion: it succeeded when v went on to
pay an order attributed to u (``fission_attributions.sharer_id = u``, ``orders.paid_at`` set). So the model reads
share → visit (the arc exists) → order (the trial converted).

Propagation probability of the ESTIMATED model (Beta-smoothed conversion of the sharer, pooled over the shop):
    m = (C + 1) / (T + 2)                  the shop's conversion rate (Laplace-smoothed), C of T trials converted
    p(u, v) = (c_u + s·m) / (t_u + s)      u's own c_u of t_u trials, shrunk towards m with s = 10 pseudo-trials
so a sharer with two lucky visitors does not get p = 1, and one with hundreds is judged on their own record.
When the data are thin (fewer than 50 trials or fewer than 5 conversions in the shop) the conversion rates mean
nothing and the WEIGHTED CASCADE p(u, v) = 1 / indeg(v) is used instead (the IMM paper's model); ``model`` forces
either one.

Two set-based SELECTs read the records (arcs with their outcome, then the chosen nicknames); the CPU work runs
in a worker thread (numba releases the GIL), at most two at a time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.distribution.rules import mask_nickname
from liebian.kit.sql import text

if TYPE_CHECKING:
    from liebian.analytics.influence_graph import F64, I32, InfluenceGraph

Model = Literal["auto", "estimated", "weighted_cascade"]
PRIOR_STRENGTH = 10.0  # s: pseudo-trials of the shop's rate added to every sharer's record
MIN_TRIALS = 50  # below this many (sharer, visitor) pairs in the shop the estimate is too thin
MIN_CONVERSIONS = 5
MC_RUNS = 2000  # Monte Carlo runs of the comparison (shop graphs are small)
_CPU = asyncio.Semaphore(2)  # two cores: more concurrent selections would only queue inside the CPU

_ARCS = text(
    "WITH pairs AS (SELECT DISTINCT sharer_id AS u, customer_id AS v FROM fission_visits "
    "  WHERE shop_id = :shop AND sharer_id IS NOT NULL AND customer_id IS NOT NULL AND customer_id <> sharer_id), "
    "converted AS (SELECT DISTINCT a.sharer_id AS u, a.customer_id AS v FROM fission_attributions a "
    "  JOIN orders o ON o.id = a.order_id AND o.shop_id = a.shop_id "
    "  WHERE a.shop_id = :shop AND a.sharer_id IS NOT NULL AND o.paid_at IS NOT NULL) "
    "SELECT p.u, p.v, (c.u IS NOT NULL) AS won FROM pairs p LEFT JOIN converted c ON c.u = p.u AND c.v = p.v "
    "ORDER BY p.u, p.v")
_NICKNAMES = text("SELECT id, nickname FROM customers WHERE shop_id = :shop AND id = ANY(:ids)")


class SeedOut(BaseModel):
    customer_id: int
    nickname: str  # masked: 张**
    marginal_gain: float  # expected extra customers reached by adding this one to those before
    followers: int  # distinct customers who came through this one's shares
    cost_fen: int | None = None  # budgeted variant only


class BaselineOut(BaseModel):
    customer_ids: list[int]
    expected_reach: float  # Monte Carlo mean
    stderr: float


class ComparisonOut(BaseModel):
    runs: int
    imm: BaselineOut
    degree: BaselineOut
    pagerank: BaselineOut


class GraphOut(BaseModel):
    nodes: int
    arcs: int
    trials: int
    conversions: int


class SeedingOut(BaseModel):
    model: Literal["estimated", "weighted_cascade"]
    model_reason: str
    graph: GraphOut
    k: int
    epsilon: float
    seeds: list[SeedOut]
    expected_reach: float  # IMM's estimate: n · the covered fraction of fresh RR sets
    budget_fen: int | None = None
    spent_fen: int | None = None
    comparison: ComparisonOut | None
    seconds: float


@dataclass(frozen=True)
class Records:
    sharers: list[int]
    visitors: list[int]
    won: list[bool]


@dataclass(frozen=True)
class Costs:
    budget_fen: int
    per_seed_fen: int
    per_follower_fen: int


async def read_records(session: AsyncSession, shop_id: int) -> Records:
    rows = (await session.execute(_ARCS, {"shop": shop_id})).all()
    return Records([r.u for r in rows], [r.v for r in rows], [bool(r.won) for r in rows])


def choose_model(trials: int, conversions: int, wanted: Model) -> tuple[Literal["estimated", "weighted_cascade"], str]:
    if wanted == "estimated":
        return "estimated", "asked for"
    if wanted == "weighted_cascade":
        return "weighted_cascade", "asked for"
    if trials >= MIN_TRIALS and conversions >= MIN_CONVERSIONS:
        return "estimated", f"{trials} trials and {conversions} conversions are enough to estimate"
    return "weighted_cascade", (f"thin data: {trials} trials and {conversions} conversions "
                                f"(need {MIN_TRIALS} and {MIN_CONVERSIONS})")


def estimated_probabilities(src: I32, won: F64, n: int) -> F64:
    """p(u, v) = (c_u + s·m) / (t_u + s), with m the shop's Laplace-smoothed conversion rate (see the module)."""
    import numpy as np

    trials = np.bincount(src, minlength=n).astype(np.float64)
    wins = np.bincount(src, weights=won, minlength=n)
    rate = (won.sum() + 1) / (won.size + 2)
    per_sharer = (wins + PRIOR_STRENGTH * rate) / (trials + PRIOR_STRENGTH)
    return np.asarray(per_sharer[src], dtype=np.float64)


def shop_graph(records: Records, model: Model) -> tuple[InfluenceGraph, Literal["estimated", "weighted_cascade"], str]:
    import numpy as np

    from liebian.analytics.influence_graph import from_arcs, from_labelled_arcs, weighted_cascade

    src, dst = np.asarray(records.sharers, dtype=np.int64), np.asarray(records.visitors, dtype=np.int64)
    won = np.asarray(records.won, dtype=np.float64)
    used, reason = choose_model(int(src.size), int(won.sum()), model)
    skeleton = from_labelled_arcs(src, dst, np.zeros(src.size))
    if used == "estimated":
        prob = estimated_probabilities(skeleton.src, won, skeleton.n)
    else:
        prob = weighted_cascade(skeleton.src, skeleton.dst, skeleton.n)
    return from_arcs(skeleton.src, skeleton.dst, prob, n=skeleton.n, labels=skeleton.labels), used, reason


@dataclass(frozen=True)
class Chosen:
    graph: InfluenceGraph
    model: Literal["estimated", "weighted_cascade"]
    reason: str
    seeds: list[int]  # customer ids
    gains: list[float]
    followers: list[int]
    costs: list[int] | None
    reach: float
    comparison: ComparisonOut | None
    seconds: float


def _baseline(graph: InfluenceGraph, nodes: list[int], runs: int) -> BaselineOut:
    from liebian.analytics.influence_imm import monte_carlo_spread

    spread = monte_carlo_spread(graph, nodes, runs)
    return BaselineOut(customer_ids=graph.labels[nodes].tolist(), expected_reach=spread.mean, stderr=spread.stderr)


Progress = Callable[[float, str], None]  # (fraction of the whole selection done, the stage now running)


def _no_progress(_done: float, _stage: str) -> None:
    return None


def compute(records: Records, k: int, epsilon: float, model: Model, costs: Costs | None, seed: int,
            progress: Progress | None = None) -> Chosen:
    """The CPU part (run in a worker thread). ``progress`` is called from that thread as the stages pass:
    the graph, IMM (most of the time on big graphs), then the Monte Carlo comparison."""
    import numpy as np

    from liebian.analytics.influence_graph import top_degree, top_pagerank
    from liebian.analytics.influence_imm import imm

    report = progress or _no_progress
    started = time.perf_counter()
    report(0.02, "graph")
    graph, used, reason = shop_graph(records, model)
    followers = np.diff(graph.fwd_indptr)
    node_costs = None if costs is None else costs.per_seed_fen + costs.per_follower_fen * followers.astype(np.float64)
    result = imm(graph, k, epsilon, seed=seed, costs=node_costs,
                 budget=None if costs is None else float(costs.budget_fen),
                 progress=lambda done, stage: report(0.05 + 0.6 * done, stage))
    comparison = None
    if result.seeds:
        size = len(result.seeds)
        report(0.7, "monte_carlo_imm")
        imm_spread = _baseline(graph, result.seeds, MC_RUNS)
        report(0.8, "monte_carlo_degree")
        degree = _baseline(graph, top_degree(graph, size).tolist(), MC_RUNS)
        report(0.9, "monte_carlo_pagerank")
        comparison = ComparisonOut(runs=MC_RUNS, imm=imm_spread, degree=degree,
                                   pagerank=_baseline(graph, top_pagerank(graph, size).tolist(), MC_RUNS))
    return Chosen(graph, used, reason, graph.labels[result.seeds].tolist(), result.gains,
                  followers[result.seeds].tolist(),
                  None if node_costs is None else node_costs[result.seeds].astype(np.int64).tolist(),
                  result.estimated_spread, comparison, time.perf_counter() - started)


async def who_to_seed(session: AsyncSession, shop_id: int, *, k: int, epsilon: float, model: Model = "auto",
                      costs: Costs | None = None, seed: int = 0) -> SeedingOut:
    """The promoters to seed next, with the expected reach; a shop without arcs gets an empty answer."""
    records = await read_records(session, shop_id)
    chosen = await choose(records, k=k, epsilon=epsilon, model=model, costs=costs, seed=seed)
    return await answer(session, shop_id, records, chosen, k=k, epsilon=epsilon, model=model, costs=costs)


async def choose(records: Records, *, k: int, epsilon: float, model: Model, costs: Costs | None, seed: int,
                 progress: Progress | None = None) -> Chosen | None:
    """The CPU work in a worker thread (no database connection held meanwhile); None without any arc."""
    if not records.sharers:
        return None
    async with _CPU:
        return await asyncio.to_thread(compute, records, k, epsilon, model, costs, seed, progress)


async def answer(session: AsyncSession, shop_id: int, records: Records, chosen: Chosen | None, *, k: int,
                 epsilon: float, model: Model, costs: Costs | None) -> SeedingOut:
    """The answer of a selection: the seeds named, the graph described."""
    trials, conversions = len(records.won), sum(records.won)
    if chosen is None:
        used, reason = choose_model(trials, conversions, model)
        return SeedingOut(model=used, model_reason=reason, graph=GraphOut(nodes=0, arcs=0, trials=0, conversions=0),
                          k=k, epsilon=epsilon, seeds=[], expected_reach=0.0, comparison=None, seconds=0.0,
                          budget_fen=costs.budget_fen if costs else None, spent_fen=0 if costs else None)
    found = await session.execute(_NICKNAMES, {"shop": shop_id, "ids": chosen.seeds})
    names: dict[int, str] = {row.id: row.nickname for row in found}
    seeds = [SeedOut(customer_id=c, nickname=mask_nickname(names.get(c)), marginal_gain=g, followers=f,
                     cost_fen=None if chosen.costs is None else chosen.costs[i])
             for i, (c, g, f) in enumerate(zip(chosen.seeds, chosen.gains, chosen.followers, strict=True))]
    return SeedingOut(model=chosen.model, model_reason=chosen.reason,
                      graph=GraphOut(nodes=chosen.graph.n, arcs=chosen.graph.m, trials=trials, conversions=conversions),
                      k=k, epsilon=epsilon, seeds=seeds, expected_reach=chosen.reach, comparison=chosen.comparison,
                      seconds=chosen.seconds, budget_fen=costs.budget_fen if costs else None,
                      spent_fen=sum(chosen.costs) if chosen.costs is not None else None)
