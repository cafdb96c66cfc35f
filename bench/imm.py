"""IMM against the paper on NetHEPT, and at scale on a synthetic 1M-node / 10M-arc graph.

    .venv/bin/python bench/imm.py [--data ../shared/data] [--runs 10000] [--seed 0]
                                  [--nodes 1000000] [--arcs 10000000] [--skip-synthetic] [--json]

1. NetHEPT (Tang, Shi and Xiao, SIGMOD 2015, Figure 5a: IC model, weighted cascade, ε = 0.5, ℓ = 1): for
   k = 2, 5, 10, 20, 30, 40, 50 the seeds' Monte Carlo spread (``--runs`` simulations) next to the paper's, the
   gap in %, and IMM's time; then k = 50 at ε = 0.1, and top-k out-degree and PageRank at k = 50. The very first
   IMM call is timed on its own: it compiles the numba kernels, or loads them from the cache on later runs.
2. A synthetic graph of ``--nodes`` nodes and ``--arcs`` arcs (heavy-tailed out-degrees, Chung-Lu style, no
   duplicate arcs or self-loops, weighted-cascade probabilities): generation, CSR build and IMM k = 50, ε = 0.5.

The machine is shared: timings are wall-clock on whatever is free.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from liebian.analytics.influence_graph import (  # noqa: E402
    InfluenceGraph,
    from_arcs,
    read_graph,
    top_degree,
    top_pagerank,
    weighted_cascade,
)
from liebian.analytics.influence_imm import imm, monte_carlo_spread  # noqa: E402

PAPER = {2: 83, 5: 175, 10: 308, 20: 512, 30: 674, 40: 824, 50: 948}
console = Console(stderr=True)


def _data_dir(given: str | None) -> Path:
    candidates = [Path(given)] if given else []
    if os.environ.get("LIEBIAN_SHARED_DATA"):
        candidates.append(Path(os.environ["LIEBIAN_SHARED_DATA"]))
    candidates += [ROOT.parent / "shared" / "data", Path("/work/shared/data")]
    return next((c for c in candidates if (c / "nethept" / "graph_ic.inf").is_file()), candidates[0])


def _timed_imm(graph: InfluenceGraph, k: int, eps: float, seed: int) -> tuple[Any, float]:
    started = time.perf_counter()
    result = imm(graph, k, eps, seed=seed)
    return result, time.perf_counter() - started


def nethept(path: Path, runs: int, seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    graph = read_graph(path)
    load = time.perf_counter() - started
    _, first = _timed_imm(graph, 50, 0.5, seed)  # compile, or load the compiled kernels from the cache
    rows = []
    table = Table(title=f"IMM on NetHEPT (n = {graph.n:,}, m = {graph.m:,}, ε = 0.5, ℓ = 1, {runs:,} MC runs)")
    for column in ("k", "paper", "Monte Carlo", "± s.e.", "gap", "IMM estimate", "θ", "IMM s (warm)"):
        table.add_column(column, justify="right")
    for k, paper in PAPER.items():
        result, seconds = min((_timed_imm(graph, k, 0.5, seed) for _ in range(3)), key=lambda r: r[1])
        mc = monte_carlo_spread(graph, result.seeds, runs, seed)
        gap = (mc.mean - paper) / paper * 100
        rows.append({"k": k, "paper": paper, "spread": mc.mean, "stderr": mc.stderr, "gap_percent": gap,
                     "estimate": result.estimated_spread, "theta": result.theta, "seconds": seconds})
        table.add_row(str(k), str(paper), f"{mc.mean:.1f}", f"{mc.stderr:.1f}", f"{gap:+.1f}%",
                      f"{result.estimated_spread:.1f}", f"{result.theta:,}", f"{seconds:.3f}")
    console.print(table)
    tenth, tenth_s = _timed_imm(graph, 50, 0.1, seed)
    tenth_mc = monte_carlo_spread(graph, tenth.seeds, runs, seed)
    degree = monte_carlo_spread(graph, top_degree(graph, 50), runs, seed)
    rank = monte_carlo_spread(graph, top_pagerank(graph, 50), runs, seed)
    started = time.perf_counter()
    monte_carlo_spread(graph, tenth.seeds, runs, seed)
    mc_seconds = time.perf_counter() - started
    console.print(f"load {load:.3f} s; first IMM call (k = 50, compile or cache load) {first:.3f} s; "
                  f"Monte Carlo {runs:,} runs of 50 seeds {mc_seconds:.2f} s")
    console.print(f"k = 50, ε = 0.1: spread {tenth_mc.mean:.1f} ± {tenth_mc.stderr:.1f} (paper: TIM+ 962, TIM 964) "
                  f"in {tenth_s:.3f} s, θ = {tenth.theta:,}")
    console.print(f"k = 50 baselines: top out-degree {degree.mean:.1f}, top PageRank {rank.mean:.1f}")
    return {"n": graph.n, "m": graph.m, "load_seconds": load, "first_call_seconds": first, "rows": rows,
            "eps_0_1": {"spread": tenth_mc.mean, "stderr": tenth_mc.stderr, "seconds": tenth_s, "theta": tenth.theta},
            "degree_k50": degree.mean, "pagerank_k50": rank.mean, "mc_seconds": mc_seconds, "runs": runs}


def synthetic_graph(nodes: int, arcs: int, seed: int) -> InfluenceGraph:
    """Out-degrees heavy-tailed (weights ∝ rank^-0.75, a few hubs), in-degrees near-uniform."""
    rng = np.random.default_rng(seed)
    weights = np.arange(1, nodes + 1, dtype=np.float64) ** -0.75
    weights /= weights.sum()
    drawn = int(arcs * 1.05) + 1000  # a few are dropped as self-loops or duplicates
    src = rng.choice(nodes, size=drawn, p=weights).astype(np.int64)
    dst = rng.integers(0, nodes, size=drawn, dtype=np.int64)
    keys = np.unique((src * nodes + dst)[src != dst])[:arcs]
    keys = rng.permutation(keys)
    src, dst = keys // nodes, keys % nodes
    return from_arcs(src, dst, weighted_cascade(src, dst, nodes), n=nodes)


def synthetic(nodes: int, arcs: int, seed: int) -> dict[str, Any]:
    with console.status(f"Generating {nodes:,} nodes / {arcs:,} arcs…"):
        started = time.perf_counter()
        graph = synthetic_graph(nodes, arcs, seed)
        build = time.perf_counter() - started
    with console.status("IMM k = 50, ε = 0.5…"):
        result, seconds = _timed_imm(graph, 50, 0.5, seed)
    with console.status("Monte Carlo check, 200 runs…"):
        mc = monte_carlo_spread(graph, result.seeds, 200, seed)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print(f"synthetic n = {graph.n:,}, m = {graph.m:,}: generated in {build:.1f} s; IMM k = 50 in "
                  f"{seconds:.1f} s (θ = {result.theta:,}, sampling {result.sampling_sets:,} RR sets), estimate "
                  f"{result.estimated_spread:.0f}, Monte Carlo {mc.mean:.0f} ± {mc.stderr:.0f}; peak RSS {rss:.0f} MB")
    return {"n": graph.n, "m": graph.m, "build_seconds": build, "imm_seconds": seconds, "theta": result.theta,
            "sampling_rr_sets": result.sampling_sets, "estimate": result.estimated_spread, "spread_mc": mc.mean,
            "peak_rss_mb": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="the shared data directory (holds nethept/)")
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--arcs", type=int, default=10_000_000)
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON on stdout")
    args = parser.parse_args()
    out: dict[str, Any] = {}
    path = _data_dir(args.data) / "nethept" / "graph_ic.inf"
    if path.is_file():
        out["nethept"] = nethept(path, args.runs, args.seed)
    else:
        console.print(f"[yellow]NetHEPT not found at {path}: paper check skipped[/yellow]")
    if not args.skip_synthetic:
        out["synthetic"] = synthetic(args.nodes, args.arcs, args.seed)
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
