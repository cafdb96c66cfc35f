"""CLI of influence maximization: ``liebian analytics im`` and ``liebian analytics spread``.

numpy and numba are imported inside the commands so that ``liebian --help`` and ``liebian serve`` never pay for
them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from liebian.analytics.influence_graph import InfluenceGraph

err = Console(stderr=True)
out = Console()

GraphOpt = Annotated[Path, typer.Option("--graph", help="'u v p' lines, e.g. ../shared/data/nethept/graph_ic.inf")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the random generator (same seed, same answer).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object and nothing else.")]


@contextmanager
def _step(message: str, quiet: bool) -> Iterator[None]:
    if quiet:
        yield
        return
    with err.status(message):
        yield


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(2)


def _load(path: Path, quiet: bool) -> InfluenceGraph:
    from liebian.analytics.influence_graph import GraphFormatError, read_graph

    if not path.is_file():
        raise _fail(f"no graph file at {path}")
    with _step(f"Reading {path}…", quiet):
        try:
            return read_graph(path)
        except (GraphFormatError, ValueError) as exc:
            raise _fail(str(exc)) from exc


def _read_costs(path: Path, graph: InfluenceGraph) -> Any:
    """``node cost`` lines; nodes not listed cost 1."""
    import numpy as np

    costs = np.ones(graph.n)
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            node, cost = line.split()
            costs[graph.index_of([int(node)])[0]] = float(cost)
        except (ValueError, KeyError) as exc:
            raise _fail(f"{path}:{number}: expected 'node cost' with a known node") from exc
    if not np.all(costs > 0):
        raise _fail("every cost must be positive")
    return costs


def _comparison(graph: InfluenceGraph, seeds: list[int], runs: int, seed: int) -> dict[str, Any]:
    from liebian.analytics.influence_imm import compare

    c = compare(graph, seeds, runs, seed)
    labels = graph.labels
    return {"runs": runs,
            "imm": {"spread": c.imm.mean, "stderr": c.imm.stderr},
            "degree": {"seeds": labels[c.degree_seeds].tolist(), "spread": c.degree.mean, "stderr": c.degree.stderr},
            "pagerank": {"seeds": labels[c.pagerank_seeds].tolist(), "spread": c.pagerank.mean,
                         "stderr": c.pagerank.stderr}}


def _print_im(result: dict[str, Any]) -> None:
    table = Table(title=f"IMM: {len(result['seeds'])} seeds, estimated spread {result['estimated_spread']:.1f} "
                        f"({result['seconds']:.3f} s)")
    table.add_column("#", justify="right")
    table.add_column("node", justify="right")
    table.add_column("marginal gain", justify="right")
    for i, (node, gain) in enumerate(zip(result["seeds"], result["marginal_gains"], strict=True), 1):
        table.add_row(str(i), str(node), f"{gain:.1f}")
    out.print(table)
    if "compare" in result:
        c = result["compare"]
        for name in ("imm", "degree", "pagerank"):
            out.print(f"{name:>9}: Monte Carlo spread {c[name]['spread']:.1f} ± {c[name]['stderr']:.1f} "
                      f"({c['runs']} runs)")


def im(graph_file: GraphOpt, k: Annotated[int, typer.Option("--k", min=1, help="Number of seeds.")] = 50,
       epsilon: Annotated[float, typer.Option("--epsilon", min=0.01, max=0.99, help="Approximation slack ε.")] = 0.5,
       seed: SeedOpt = 0, ell: Annotated[float, typer.Option("--ell", min=0.1, help="Confidence 1 - 1/n^ℓ.")] = 1.0,
       compare: Annotated[bool, typer.Option("--compare", help="Also Monte Carlo spread of IMM, top-k "
                                                                "out-degree and top-k PageRank.")] = False,
       runs: Annotated[int, typer.Option("--runs", min=1, help="Monte Carlo runs for --compare.")] = 10_000,
       costs_file: Annotated[Path | None, typer.Option("--costs", help="'node cost' lines (default cost 1).")] = None,
       budget: Annotated[float | None, typer.Option("--budget", min=0, help="Budgeted variant: total cost.")] = None,
       as_json: JsonOpt = False) -> None:
    """Choose k seeds that maximise the expected Independent Cascade spread (IMM, Tang et al. 2015)."""
    from liebian.analytics.influence_imm import imm

    graph = _load(graph_file, as_json)
    if (costs_file is None) != (budget is None):
        raise _fail("--costs and --budget go together")
    costs = _read_costs(costs_file, graph) if costs_file is not None else None
    with _step(f"IMM on {graph.n:,} nodes / {graph.m:,} arcs (k = {k}, ε = {epsilon})…", as_json):
        started = time.perf_counter()
        result = imm(graph, k, epsilon, ell=ell, seed=seed, costs=costs, budget=budget)
        seconds = time.perf_counter() - started
    payload: dict[str, Any] = {
        "seeds": graph.labels[result.seeds].tolist(), "estimated_spread": result.estimated_spread,
        "seconds": seconds, "marginal_gains": result.gains, "n": graph.n, "m": graph.m, "k": len(result.seeds),
        "epsilon": epsilon, "ell": result.ell, "theta": result.theta, "sampling_rr_sets": result.sampling_sets,
        "lower_bound": result.lower_bound}
    if result.cost is not None:
        payload["cost"] = result.cost
    if compare:
        with _step(f"Monte Carlo: {runs:,} runs × 3 seed sets…", as_json):
            payload["compare"] = _comparison(graph, result.seeds, runs, seed)
    if as_json:
        typer.echo(json.dumps(payload))
    else:
        _print_im(payload)


def spread(graph_file: GraphOpt,
           seeds: Annotated[str, typer.Option("--seeds", help="Comma-separated node ids, e.g. 1,2,3.")],
           runs: Annotated[int, typer.Option("--runs", min=1, max=10_000_000)] = 10_000, seed: SeedOpt = 0,
           as_json: JsonOpt = False) -> None:
    """Expected spread of a seed set under the Independent Cascade model, by Monte Carlo simulation."""
    from liebian.analytics.influence_imm import monte_carlo_spread

    try:
        ids = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError as exc:
        raise _fail("--seeds must be comma-separated integers") from exc
    graph = _load(graph_file, as_json)
    try:
        nodes = graph.index_of(ids)
    except KeyError as exc:
        raise _fail(str(exc.args[0])) from exc
    with _step(f"Monte Carlo: {runs:,} runs from {len(ids)} seeds…", as_json):
        started = time.perf_counter()
        result = monte_carlo_spread(graph, nodes, runs, seed)
        seconds = time.perf_counter() - started
    payload = {"seeds": ids, "spread": result.mean, "stderr": result.stderr, "runs": runs, "seconds": seconds}
    if as_json:
        typer.echo(json.dumps(payload))
    else:
        out.print(f"spread {result.mean:.2f} ± {result.stderr:.2f} ({runs:,} runs, {seconds:.2f} s)")


def register(analytics: typer.Typer) -> None:
    """Add this module's commands to ``liebian analytics``."""
    analytics.command("im")(im)
    analytics.command("spread")(spread)
