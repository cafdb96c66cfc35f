"""The scenarios that other issues built their own benchmark for: run as they are, their figures read back.

- ``groupbuy-replay``: ``bench/groupbuy.py`` (the Beibei log replayed through the service layer; floor: pgbench
  running the recorded statements of one succeeded and one failed group). Target: ratio ≥ 0.3.
- ``visits``: ``bench/visits.py`` (share visits through HTTP; floor: pgbench running the visit's statements).
  Target: ratio ≥ 0.5 (the wrk figure when wrk is installed, else the Python generator's).
- ``nearby``: ``bench/nearby.py`` (1,000,000 stores; floor: the same query as a sequential scan). The issue set
  no target; the ratio is the speedup.
- ``analytics``: ``liebian.analytics.bench`` through ``bench/analytics.py`` (the report over 10M events; floor:
  one pass over the log; and 1M events read from PostgreSQL against a plain ``COPY``). Targets: ≤ 5 s and ≤ 4 GB.
- ``im``: ``bench/imm.py`` (IMM on NetHEPT against the paper's figure and the degree and PageRank seeds measured
  in the same run; a synthetic 1M-node / 10M-arc graph). Targets: within 5% of the paper, beating PageRank.

Each repetition is one run of the script, in a child process (its own servers and scratch databases, dropped by
it); a script that does not finish in time is killed with its process group.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from liebian.benchmarks import harness
from liebian.benchmarks.figures import Outcome, Sample, at_least, exactly, value_at_most
from liebian.benchmarks.scenarios import Options


async def script(name: str, args: list[str], *, within: float) -> tuple[int, str, str]:
    """``python bench/<name> args...`` in its own process group; (exit code, stdout, stderr's tail)."""
    path = harness.BENCH_DIR / name
    if not path.exists():
        raise RuntimeError(f"{path} is not here: the benchmark scripts are in the repository's bench/ folder")
    env = {**os.environ, "BENCH_DATABASE_URL": harness.admin_url(), "COLUMNS": "160"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(path), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=env, cwd=str(harness.REPO), start_new_session=True)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), within)
    except BaseException:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)  # the script's finally blocks stop its servers, drop its databases
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        raise
    return proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")[-3000:]


async def _reps(outcome: Outcome, opts: Options, one: Callable[[int], Any]) -> Outcome:
    for rep in range(opts.repeat):
        samples, detail = await one(rep)
        outcome.reps.append(samples)
        outcome.details.setdefault("reps", []).append(detail)
    return outcome


def _out_file() -> Path:
    handle, name = tempfile.mkstemp(prefix="liebian-bench-", suffix=".json")
    os.close(handle)
    return Path(name)


def _read(path: Path, code: int, err: str, what: str) -> dict[str, Any]:
    try:
        result: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"{what} exited with {code} and wrote no result: {err[-1500:]}") from exc
    finally:
        path.unlink(missing_ok=True)
    return result


# --- groupbuy-replay ------------------------------------------------------------------------------------------

async def groupbuy_replay(name: str, opts: Options) -> Outcome:
    beibei = harness.shared_data("beibei", "succeeded_groups.tsv")
    if beibei is None:
        return Outcome(name, skipped="the Beibei log is not on this machine (../shared/data/beibei)")
    limit = 100 if opts.quick else 500

    async def one(rep: int) -> tuple[list[Sample], dict[str, Any]]:
        out = _out_file()
        code, _, err = await script("groupbuy.py", [
            "--file", str(beibei), "--failed", str(beibei.with_name("failed_groups.tsv")), "--limit", str(limit),
            "--concurrency", str(opts.buyers), "--seconds", str(opts.pgbench_seconds), "--out", str(out)],
            within=3600)
        result = _read(out, code, err, "bench/groupbuy.py")
        replay, floor = result["replay"], result["floor"]
        samples = [
            Sample(f"groups/s (first {limit} rows of each file)", replay["groups_per_s"], "/s", floor["tps"],
                   "pgbench, recorded statements", at_least(0.3)),
            Sample("check: groups not as logged", replay["mismatched_groups"]
                   + abs(replay["succeeded"] - replay["expected_succeeded"])
                   + abs(replay["failed"] - replay["expected_failed"]), "", target=exactly(0), check=True),
            Sample("check: liebian check violations", len(replay.get("violations") or [])
                   + (0 if replay["invariants_ok"] else 1), "", target=exactly(0), check=True),
        ]
        return samples, {"replay": replay, "floor": {k: v for k, v in floor.items() if k != "scripts"}}

    return await _reps(Outcome(name), opts, one)


# --- visits -----------------------------------------------------------------------------------------------------

async def visits(name: str, opts: Options) -> Outcome:
    async def one(rep: int) -> tuple[list[Sample], dict[str, Any]]:
        out = _out_file()
        code, _, err = await script("visits.py", [
            "--clients", str(opts.clients), "--seconds", str(opts.pgbench_seconds),
            "--warmup", str(max(1, round(opts.warmup))), *(["--promoters", "10", "--visitors", "40"] if opts.quick
                                                           else []), "--out", str(out)], within=1800)
        result = _read(out, code, err, "bench/visits.py")
        api, wrk, floor = result["api"], result.get("api_wrk"), result["floor"]
        best = wrk or api
        generator = "wrk" if wrk else "Python"
        checks = result["checks"]
        samples = [
            Sample(f"visits/s ({generator} load generator)", best["per_second"], "/s", floor["tps"],
                   "pgbench, same statements", at_least(0.5)),
            Sample(f"p99 ({generator})", best["p99_ms"], "ms", floor["p99_ms"], "pgbench", inverse=True),
            Sample("check: rows ≠ 201s, pgbench transactions",
                   int(not checks["pgbench_rows_match"]) + int(checks["api_rows_match_201s"] is False), "",
                   target=exactly(0), check=True),
        ]
        if wrk:
            samples.insert(1, Sample("visits/s (Python load generator)", api["per_second"], "/s", floor["tps"],
                                     "pgbench, same statements"))
        return samples, {k: result.get(k) for k in ("api", "api_wrk", "checks", "ratio", "ratio_wrk")} | {
            "floor": {k: v for k, v in floor.items() if k != "script"}}

    return await _reps(Outcome(name), opts, one)


# --- nearby -----------------------------------------------------------------------------------------------------

async def nearby(name: str, opts: Options) -> Outcome:
    out = _out_file()
    stores = 20_000 if opts.quick else 1_000_000
    code, _, err = await script("nearby.py", [
        "--stores", str(stores), "--queries", "30" if opts.quick else "300",
        "--seq-queries", "2" if opts.quick else "5",
        "--repeat", str(opts.repeat), "--out", str(out)], within=3600)
    result = _read(out, code, err, "bench/nearby.py")
    outcome = Outcome(name, details={"load": result["load"], "reps": result["reps"]})
    for rep in result["reps"]:
        indexed, seq = rep["indexed"], rep["sequential"]
        outcome.reps.append([
            Sample(f"p50 among {stores:,} stores (GiST index)", indexed["p50_ms"], "ms", seq["p50_ms"],
                   "the same query, sequential scan", inverse=True),
            Sample("p99 (GiST index)", indexed["p99_ms"], "ms", seq["p99_ms"], "sequential scan", inverse=True),
        ])
    return outcome


# --- analytics --------------------------------------------------------------------------------------------------

async def analytics(name: str, opts: Options) -> Outcome:
    events = 1_000_000 if opts.quick else 10_000_000
    db_events = 100_000 if opts.quick else 1_000_000
    label = f"{events // 1_000_000}M events"

    async def one(rep: int) -> tuple[list[Sample], dict[str, Any]]:
        code, stdout, err = await script("analytics.py", [
            "--events", str(events), "--db-events", str(db_events), "--json"], within=3600)
        try:
            result: dict[str, Any] = json.loads(stdout)
        except ValueError as exc:
            raise RuntimeError(f"bench/analytics.py exited with {code}: {err[-1500:]}") from exc
        memory, database = result["memory"], result.get("database") or {}
        loaded = min((r["load_seconds"] for r in database.get("runs", [])), default=None)
        samples = [
            Sample(f"report over {label}", memory["seconds"], "s", memory["floor_seconds"],
                   "one scattered pass over the log", None if opts.quick else value_at_most(5), inverse=True),
            Sample(f"peak RSS, {label}", memory["peak_rss_mb"], "MB", target=None if opts.quick
                   else value_at_most(4096)),
            Sample(f"{db_events // 1000:,}k events read from PostgreSQL", loaded, "s",
                   database.get("floor_copy_seconds"), "a plain binary COPY of the rows", inverse=True),
        ]
        return samples, result

    return await _reps(Outcome(name), opts, one)


# --- im -------------------------------------------------------------------------------------------------------------

async def im(name: str, opts: Options) -> Outcome:
    if harness.shared_data("nethept", "graph_ic.inf") is None:
        return Outcome(name, skipped="NetHEPT is not on this machine (../shared/data/nethept)")

    async def one(rep: int) -> tuple[list[Sample], dict[str, Any]]:
        code, stdout, err = await script("imm.py", [
            "--json", "--seed", str(rep), *(["--runs", "1000", "--skip-synthetic"] if opts.quick else [])],
            within=3600)
        try:
            result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
        except (ValueError, IndexError) as exc:
            raise RuntimeError(f"bench/imm.py exited with {code}: {err[-1500:]}") from exc
        nethept = result["nethept"]
        k50 = next(r for r in nethept["rows"] if r["k"] == 50)
        samples = [
            Sample("NetHEPT k = 50: spread (Monte Carlo)", k50["spread"], "", k50["paper"],
                   "the paper's figure (IMM, SIGMOD 2015)", at_least(0.95)),
            Sample("NetHEPT k = 50: spread against PageRank's top 50", k50["spread"], "", nethept["pagerank_k50"],
                   "top-50 PageRank, same run", at_least(1.0)),
            Sample("NetHEPT k = 50: IMM time (warm)", k50["seconds"], "s", 0.070, "the paper's C++ (its figure)",
                   inverse=True),
            Sample("NetHEPT k = 2…50: largest gap to the paper", max(abs(r["gap_percent"]) for r in nethept["rows"]),
                   "%"),
        ]
        if "synthetic" in result:
            samples.append(Sample("1M nodes / 10M arcs: IMM k = 50", result["synthetic"]["imm_seconds"], "s"))
        return samples, result

    return await _reps(Outcome(name), opts, one)


RUNNERS = {"groupbuy-replay": groupbuy_replay, "visits": visits, "nearby": nearby, "analytics": analytics, "im": im}


async def run(name: str, opts: Options) -> Outcome:
    return await RUNNERS[name](name, opts)
