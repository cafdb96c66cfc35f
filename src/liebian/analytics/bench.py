"""``liebian bench analytics``: the whole report over a synthetic fission log, in memory (no database).

Each size runs in a fresh Python process so that its peak RSS is its own: the parent reads the child's
``ru_maxrss`` (``RUSAGE_CHILDREN``, the largest child so far: sizes run smallest first). Generation, numba's
compilation (cached on disk after the first run) and the analysis are timed apart; ``seconds`` is the
analysis alone, what a report costs once the log is in memory; ``floor_seconds`` is one scattered pass over
the log (a count per share of its re-shares, visits and orders), and ``ratio`` the report over it.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from datetime import date
from typing import Any

CHILD = "liebian.analytics.bench"


def _measure(events: int) -> dict[str, Any]:
    from liebian.analytics import synthetic
    from liebian.analytics.service import analyze

    started = time.perf_counter()
    warm = synthetic.generate(1000, seed=2)  # compiles (or loads) the numba kernels before the clock starts
    analyze(warm, {"from_": date(2026, 1, 1), "to": date(2026, 1, 30)})
    jit = time.perf_counter() - started
    started = time.perf_counter()
    log = synthetic.generate(events)
    generated = time.perf_counter() - started
    rss_generated = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    report = analyze(log, {"from_": date(2026, 1, 1), "to": date(2026, 1, 30)})
    seconds = time.perf_counter() - started
    floor = _floor(log)
    return {"events": log.events, "shares": int(log.shares.id.size), "visits": int(log.visits.share.size),
            "orders": int(log.orders.share.size), "cascades": report.cascades.summary.cascades,
            "max_depth": report.cascades.summary.max_depth, "max_cascade": report.cascades.summary.max_size,
            "top_10_percent_gmv_bps": report.concentration.top_10_percent.share_bps,
            "seconds": round(seconds, 3), "floor_seconds": round(floor, 3),
            "ratio": round(seconds / floor, 1) if floor else None, "generate_seconds": round(generated, 3),
            "jit_seconds": round(jit, 3),
            "rss_after_generation_mb": round(rss_generated, 1)}


def _floor(log: Any) -> float:
    """The least any per-share analysis costs: one count per share of every event that hangs off a share
    (re-shares, visits, orders), i.e. one scattered pass over the log."""
    import numpy as np

    started = time.perf_counter()
    size = log.shares.id.size
    for keys in (log.shares.parent, log.visits.share, log.orders.share):
        np.bincount(keys[keys >= 0], minlength=size)
    return time.perf_counter() - started


def _child(events: int) -> dict[str, Any]:
    command = [sys.executable, "-m", CHILD, str(int(events))]  # our interpreter and module, an integer
    done = subprocess.run(command, check=True, capture_output=True, text=True)  # noqa: S603
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    return result


def run(events: int) -> dict[str, Any]:
    """The report at ``events`` and at a tenth of it, each in its own process (the tenth first)."""
    tenth = _child(max(1, events // 10))
    full = _child(events)
    return {**full, "tenth": tenth,
            "growth": round(full["seconds"] / tenth["seconds"], 2) if tenth["seconds"] else None}


if __name__ == "__main__":
    print(json.dumps(_measure(int(sys.argv[1]))))
