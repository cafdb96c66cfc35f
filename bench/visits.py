"""Share visits recorded per second through the HTTP API, against pgbench running the same SQL (the floor).

    .venv/bin/python bench/visits.py [--clients 32] [--seconds 15] [--warmup 3] [--workers 2]

Creates a scratch database on BENCH_DATABASE_URL's server, starts ``liebian serve`` on a free port, seeds one
shop through the sandbox API (a product, P promoters each with one share code, V visitors), then:

1. API: C keep-alive HTTP/1.1 clients (httpx, asyncio) post ``/api/v1/shops/{slug}/visits`` for a random
   visitor and a random code, for a warm-up and then the measured window; only 201s count.
2. API again with wrk, when ``wrk`` is installed (a C load generator: less CPU taken from the server).
3. Floor: the server is stopped and pgbench runs, with C connections, the statements one visit runs on its
   fast path (the visitor already bound): shop by slug, share by code with its root, INSERT visit, INSERT
   fact, SELECT binding, in one transaction, over the same codes and visitors.

Prints both figures and their ratio, the latencies and the CPU split, and writes bench/results/visits-*.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

console = Console()
SLUG = "bench-visits"


# --- seeding through the sandbox API ---------------------------------------------------------------

@dataclass
class Seed:
    slug: str
    shop_id: int
    product_id: int
    codes: list[str]
    promoter_ids: list[int]
    visitor_ids: list[int]
    visitor_tokens: list[str]


def _expect(response: httpx.Response, status: int) -> dict[str, Any]:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.method} {response.request.url} answered {response.status_code}: "
                           f"{response.text[:500]}")
    body: dict[str, Any] = response.json()
    return body


async def seed(base_url: str, promoters: int, visitors: int, progress: Progress) -> Seed:
    task = progress.add_task("seeding through the API", total=2 + promoters * 2 + visitors)
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        shop = _expect(await client.post("/api/v1/sandbox/shops", json={"slug": SLUG, "name": "Bench: visits"}), 201)
        staff = {"Authorization": f"Bearer {shop['staff_token']}"}
        progress.advance(task)
        product = _expect(await client.post("/api/v1/console/products", headers=staff, json={
            "title": "Bench product", "skus": [{"specs": {}, "price_fen": 100, "stock": 10}]}), 201)
        progress.advance(task)
        limit = asyncio.Semaphore(8)

        async def login(name: str) -> tuple[int, str]:
            async with limit:
                body = _expect(await client.post(f"/api/v1/shops/{SLUG}/auth/wechat-login",
                                                 json={"code": f"sandbox:{name}"}), 200)
            progress.advance(task)
            return int(body["customer"]["id"]), str(body["access_token"])

        async def share(token: str) -> str:
            async with limit:
                body = _expect(await client.post(
                    f"/api/v1/shops/{SLUG}/shares", headers={"Authorization": f"Bearer {token}"},
                    json={"target_type": "product", "target_id": product["id"], "channel": "friend"}), 201)
            progress.advance(task)
            return str(body["code"])

        promoter_logins = await asyncio.gather(*(login(f"promoter-{i}") for i in range(promoters)))
        codes = await asyncio.gather(*(share(token) for _, token in promoter_logins))
        visitor_logins = await asyncio.gather(*(login(f"visitor-{i}") for i in range(visitors)))
    return Seed(slug=SLUG, shop_id=int(shop["shop"]["id"]), product_id=int(product["id"]), codes=list(codes),
                promoter_ids=[i for i, _ in promoter_logins], visitor_ids=[i for i, _ in visitor_logins],
                visitor_tokens=[t for _, t in visitor_logins])


# --- load through the API (Python) -------------------------------------------------------------------

@dataclass
class LoadResult:
    generator: str
    clients: int
    seconds: float
    ok_in_window: int
    per_second: float
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    statuses_in_window: dict[str, int]
    statuses_total: dict[str, int]
    errors: dict[str, int]
    ok_total: int
    cpu: dict[str, Any] = field(default_factory=dict)
    server_db_connections: int | None = None
    server_db_sessions_opened: int | None = None
    http_connections_per_worker: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


async def python_load(base_url: str, seed: Seed, *, clients: int, warmup: float, seconds: float, progress: Progress,
                      cpu_groups: Callable[[], dict[str, Callable[[harness.Proc], bool]]],
                      backends: Callable[[], Any], sessions: Callable[[], Any],
                      http_connections: Callable[[], dict[str, int]]) -> LoadResult:
    path = f"/api/v1/shops/{seed.slug}/visits"
    bodies = [json.dumps({"share_code": code}).encode() for code in seed.codes]
    headers = [{"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
               for token in seed.visitor_tokens]
    start = time.perf_counter()
    window_start, window_end = start + warmup, start + warmup + seconds
    latencies: list[float] = []
    in_window: Counter[str] = Counter()
    total: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    samples: list[str] = []
    done = [0]

    async def client_loop(i: int) -> None:
        rng = random.Random(i)
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        # Clients arrive one by one over the first half of the warm-up, as real ones would: connections opened
        # all at once are all accepted by whichever API process wakes first, and stay there (keep-alive).
        await asyncio.sleep(i * warmup / 2 / clients)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
            while True:
                t0 = time.perf_counter()
                if t0 >= window_end:
                    return
                try:
                    response = await client.post(path, content=rng.choice(bodies), headers=rng.choice(headers))
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] += 1
                    continue
                t1 = time.perf_counter()
                status = str(response.status_code)
                total[status] += 1
                done[0] += 1
                if response.status_code != 201 and len(samples) < 5:
                    samples.append(f"{status}: {response.text[:300]}")
                if window_start <= t1 <= window_end:
                    in_window[status] += 1
                    if response.status_code == 201:
                        latencies.append(t1 - t0)

    warm = progress.add_task(f"API warm-up ({clients} clients)", total=warmup)
    measure = progress.add_task(f"API measured ({clients} httpx clients)", total=seconds, visible=False)
    cpu: dict[str, Any] = {}
    connections: list[int] = []
    opened: list[int | None] = []
    per_worker: dict[str, int] = {}

    async def monitor() -> None:
        last_t, last_n = time.perf_counter(), 0
        snap = None
        sessions_at_start = None
        while True:
            await asyncio.sleep(0.25)
            now = time.perf_counter()
            rate = (done[0] - last_n) / (now - last_t)
            last_t, last_n = now, done[0]
            if now < window_start:
                progress.update(warm, completed=now - start, rate=f"{rate:,.0f} req/s")
                continue
            if snap is None:
                snap = harness.cpu_snapshot()
                sessions_at_start = await sessions()
                per_worker.update(http_connections())
                progress.update(warm, completed=warmup)
                progress.update(measure, visible=True)
            if now < window_end:
                progress.update(measure, completed=now - window_start, rate=f"{rate:,.0f} req/s")
                continue
            end_snap = harness.cpu_snapshot()
            pids = await backends()
            connections.append(len(pids))
            sessions_at_end = await sessions()
            opened.append(None if sessions_at_end is None or sessions_at_start is None
                          else sessions_at_end - sessions_at_start)
            cpu.update(harness.cpu_split(snap, end_snap, {
                "postgres: this benchmark's backends": lambda p, pids=pids: p.pid in pids} | cpu_groups()))
            progress.update(measure, completed=seconds, rate=f"{len(latencies) / seconds:,.0f} visits/s")
            return

    await asyncio.gather(monitor(), *(client_loop(i) for i in range(clients)))
    latencies.sort()
    return LoadResult(
        generator="python-httpx", clients=clients, seconds=seconds, ok_in_window=len(latencies),
        per_second=len(latencies) / seconds, p50_ms=_ms(harness.percentile(latencies, 50)),
        p90_ms=_ms(harness.percentile(latencies, 90)), p99_ms=_ms(harness.percentile(latencies, 99)),
        max_ms=_ms(latencies[-1] if latencies else None), statuses_in_window=dict(in_window),
        statuses_total=dict(total), errors=dict(errors), ok_total=total.get("201", 0), cpu=cpu,
        server_db_connections=connections[0] if connections else None,
        server_db_sessions_opened=opened[0] if opened else None, http_connections_per_worker=per_worker,
        error_samples=samples)


# --- load through the API (wrk, when installed) --------------------------------------------------------

WRK_LUA = """
local tokens = {%(tokens)s}
local codes = {%(codes)s}
local path = "%(path)s"
math.randomseed(os.time())
request = function()
  local t = tokens[math.random(#tokens)]
  local c = codes[math.random(#codes)]
  return wrk.format("POST", path, {["Authorization"] = "Bearer " .. t, ["Content-Type"] = "application/json"},
                    '{"share_code":"' .. c .. '"}')
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK-JSON {"requests":%%d,"duration_us":%%d,"non2xx":%%d,"connect":%%d,"read":%%d,' ..
    '"write":%%d,"timeout":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"max_us":%%d}\\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


async def wrk_load(base_url: str, seed: Seed, work: Path, *, clients: int, warmup: float, seconds: float,
                   progress: Progress, cpu_groups: Callable[[], dict[str, Callable[[harness.Proc], bool]]],
                   backends: Callable[[], Any], sessions: Callable[[], Any],
                   http_connections: Callable[[], dict[str, int]]) -> LoadResult:
    """wrk opens its connections all at once (the split over the API processes is luck, and is shown)."""
    wrk = shutil.which("wrk")
    assert wrk is not None
    script = work / "visits.lua"
    script.write_text(WRK_LUA % {"tokens": ",".join(f'"{t}"' for t in seed.visitor_tokens),
                                 "codes": ",".join(f'"{c}"' for c in seed.codes),
                                 "path": f"/api/v1/shops/{seed.slug}/visits"})
    threads = str(min(2, clients))

    async def run(duration: float, label: str) -> tuple[dict[str, Any], dict[str, Any]]:
        task = progress.add_task(label, total=duration)
        proc = await asyncio.create_subprocess_exec(
            wrk, "-t", threads, "-c", str(clients), "-d", f"{int(duration)}s", "--timeout", "30s", "-s", str(script),
            base_url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        start = time.perf_counter()
        snap = harness.cpu_snapshot()
        sessions_at_start = await sessions()
        cpu: dict[str, Any] = {}
        reader = asyncio.ensure_future(proc.communicate())
        while not reader.done():
            await asyncio.sleep(0.25)
            elapsed = time.perf_counter() - start
            progress.update(task, completed=min(elapsed, duration))
            if elapsed >= 1 and "http_connections" not in cpu:
                cpu["http_connections"] = http_connections()
            if "pct_of_one_core" not in cpu and elapsed >= duration - 0.3:
                pids = await backends()
                cpu |= harness.cpu_split(snap, harness.cpu_snapshot(), {
                    "postgres: this benchmark's backends": lambda p, pids=pids: p.pid in pids,
                    "load generator (wrk)": lambda p: p.comm == "wrk"} | cpu_groups())
                cpu["server_db_connections"] = len(pids)
                at_end = await sessions()
                cpu["sessions_opened"] = (None if at_end is None or sessions_at_start is None
                                          else at_end - sessions_at_start)
        out = (await reader)[0].decode(errors="replace")
        progress.update(task, completed=duration)
        line = next((ln for ln in out.splitlines() if ln.startswith("WRK-JSON ")), None)
        if proc.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed ({proc.returncode}):\n{out}")
        return json.loads(line.removeprefix("WRK-JSON ")), cpu

    warm, _ = await run(warmup, f"API warm-up with wrk ({clients} connections)")
    stats, cpu = await run(seconds, f"API measured with wrk ({clients} connections)")
    warm_ok = warm["requests"] - warm["non2xx"] - sum(warm[k] for k in ("connect", "read", "write", "timeout"))
    errors = {k: stats[k] for k in ("connect", "read", "write", "timeout") if stats[k]}
    ok = stats["requests"] - stats["non2xx"] - sum(errors.values())
    duration = stats["duration_us"] / 1e6
    return LoadResult(
        generator="wrk", clients=clients, seconds=round(duration, 3), ok_in_window=ok, per_second=ok / duration,
        p50_ms=stats["p50_us"] / 1000, p90_ms=stats["p90_us"] / 1000, p99_ms=stats["p99_us"] / 1000,
        max_ms=stats["max_us"] / 1000, statuses_in_window={"2xx": ok, "non-2xx": stats["non2xx"]},
        statuses_total={}, errors=errors, ok_total=ok + warm_ok, cpu=cpu,
        server_db_connections=cpu.pop("server_db_connections", None),
        server_db_sessions_opened=cpu.pop("sessions_opened", None),
        http_connections_per_worker=cpu.pop("http_connections", {}))


# --- the floor: pgbench --------------------------------------------------------------------------------

# The statements of POST /visits on its fast path, as the API sends them (see src/liebian/fission/binding.py,
# shares.py, facts.py, shops/service.py; checked with log_statement=all). The API passes its clock's time as a
# parameter where this says now(); the share's root is the share itself (every seeded share is a root).
FLOOR_SCRIPT = """\
\\set c random({lo}, {hi})
BEGIN;
SELECT id, slug, name, settings FROM shops WHERE slug = '{slug}' \\gset shop_
SELECT s.id, s.shop_id, s.code, s.sharer_id, s.target_type, s.target_id, s.channel, s.campaign, s.parent_id, \
s.root_id, s.depth, s.created_at, coalesce(r.sharer_id, s.sharer_id) AS root_sharer_id \
FROM fission_shares s LEFT JOIN fission_shares r ON r.id = s.root_id WHERE s.code = '{code}' AND s.shop_id = :shop_id \
\\gset share_
SELECT promoter_id, bound_at, expires_at, protected_until FROM fission_bindings WHERE shop_id = :shop_id \
AND customer_id = :c;
WITH v AS (INSERT INTO fission_visits (shop_id, share_id, sharer_id, customer_id, device_id, channel, scene, \
created_at) VALUES (:shop_id, :share_id, :share_sharer_id, :c, NULL, :share_channel, NULL, now()) RETURNING id), \
f AS (INSERT INTO fission_facts (shop_id, at, kind, customer_id, sharer_id, share_id, root_share_id, channel, \
target_type, target_id) VALUES (:shop_id, now(), 'visit', :c, :share_sharer_id, :share_id, :share_id, \
:share_channel, :share_target_type, :share_target_id)) SELECT id FROM v;
COMMIT;
"""


def floor_scripts(seed: Seed, work: Path) -> list[Path]:
    """One script per share code (pgbench variables are numbers; the code is a string): pgbench picks one at
    random for each transaction, and each picks a random visitor."""
    lo, hi = min(seed.visitor_ids), max(seed.visitor_ids)
    if hi - lo + 1 != len(set(seed.visitor_ids)):
        raise RuntimeError("the visitors' customer ids are not contiguous; the pgbench floor needs a range")
    out = []
    for i, code in enumerate(seed.codes):
        path = work / f"visit-{i:03d}.sql"
        path.write_text(FLOOR_SCRIPT.format(lo=lo, hi=hi, slug=seed.slug, code=code))
        out.append(path)
    return out


async def floor(url: str, seed: Seed, work: Path, *, clients: int, threads: int, warmup: int, seconds: int,
                progress: Progress, backends: Callable[[], Any]) -> tuple[harness.PgbenchResult, dict[str, Any], int]:
    scripts = floor_scripts(seed, work)
    warm = progress.add_task(f"pgbench warm-up ({clients} connections)", total=warmup)
    first = await harness.run_pgbench(url, scripts, clients=clients, threads=threads, seconds=warmup, work_dir=work,
                                      on_progress=lambda t, tps: progress.update(warm, completed=t,
                                                                                 rate=f"{tps:,.0f} tps"),
                                      sampling_rate=None)
    progress.update(warm, completed=warmup)
    measure = progress.add_task(f"pgbench measured ({clients} connections, same statements)", total=seconds)
    cpu: dict[str, Any] = {}

    async def sample_cpu() -> None:
        """From 1 s in (connections made) to 1 s before the end."""
        await asyncio.sleep(1)
        snap = harness.cpu_snapshot()
        await asyncio.sleep(max(1, seconds - 2))
        end = harness.cpu_snapshot()
        pids = await backends()
        cpu.update(harness.cpu_split(snap, end, {
            "load generator (pgbench)": lambda p: p.comm == "pgbench",
            "postgres: this benchmark's backends": lambda p: p.pid in pids,
            "postgres: other (background, other databases)": lambda p: p.comm == "postgres",
            "this process (harness)": lambda p: p.pid == os.getpid(),
        }))

    sampler = asyncio.create_task(sample_cpu())
    result = await harness.run_pgbench(
        url, scripts, clients=clients, threads=threads, seconds=seconds, work_dir=work,
        on_progress=lambda t, tps: progress.update(measure, completed=t, rate=f"{tps:,.0f} tps"))
    await sampler
    progress.update(measure, completed=seconds, rate=f"{result.tps:,.0f} tps")
    return result, cpu, first.transactions


# --- the run -----------------------------------------------------------------------------------------------

class RateColumn(ProgressColumn):
    """The live rate a task reports in its ``rate`` field, if any."""

    def render(self, task: Task) -> Text:
        return Text(str(task.fields.get("rate", "")), style="cyan")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=int(os.environ.get("BENCH_CLIENTS", "32")),
                   help="concurrent HTTP clients, and pgbench connections (default 32)")
    p.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", "15")), help="measured window")
    p.add_argument("--warmup", type=int, default=int(os.environ.get("BENCH_WARMUP", "3")), help="warm-up before it")
    p.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", "2")),
                   help="liebian serve --workers (default 2)")
    p.add_argument("--promoters", type=int, default=50, help="promoters, one share code each")
    p.add_argument("--visitors", type=int, default=200, help="customers who open the codes")
    p.add_argument("--pgbench-threads", type=int, default=2)
    p.add_argument("--worker-poll-seconds", type=float, default=float(os.environ.get("BENCH_WORKER_POLL_SECONDS", "5")),
                   help="LIEBIAN_WORKER_POLL_SECONDS for the server's in-process job worker (default 5)")
    p.add_argument("--no-wrk", action="store_true", help="skip the wrk run even if wrk is installed")
    p.add_argument("--keep", action="store_true", help="keep the scratch database and work directory")
    p.add_argument("--out", type=Path, help="also write the result JSON here (liebian bench visits reads it)")
    return p.parse_args()


async def main() -> int:
    args = parse_args()
    admin_url = os.environ.get("BENCH_DATABASE_URL", harness.DEFAULT_ADMIN_URL)
    use_wrk = shutil.which("wrk") is not None and not args.no_wrk
    work = Path(tempfile.mkdtemp(prefix="liebian-bench-visits-"))
    result: dict[str, Any] = {
        "benchmark": "visits", "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "what": "share visits recorded per second: POST /api/v1/shops/{slug}/visits vs pgbench running the same "
                "statements (fast path) on the same data",
        "config": {"clients": args.clients, "seconds": args.seconds, "warmup": args.warmup,
                   "serve_workers": args.workers, "promoters": args.promoters, "visitors": args.visitors,
                   "pgbench_threads": args.pgbench_threads, "worker_poll_seconds": args.worker_poll_seconds,
                   "wrk": use_wrk},
        "machine": harness.machine_info(), "git": harness.git_state(),
    }
    result["config"]["postgres"] = await harness.server_version(admin_url)
    result["config"]["liebian_env"] = {k: v for k, v in os.environ.items() if k.startswith("LIEBIAN_")
                                       and not any(w in k for w in ("SECRET", "KEY", "DATABASE_URL"))}
    with console.status("measuring how busy the machine is before starting…"):
        result["machine"]["before_start"] = before = await harness.background_load()
    if before["machine_busy_pct_of_all_cores"] > 15:
        busiest = ", ".join(f"{k} {v}%" for k, v in before["top_processes_pct_of_one_core"].items())
        console.print(f"[yellow]the machine is already {before['machine_busy_pct_of_all_cores']}% busy "
                      f"({busiest}): every figure below will be lower and noisier[/yellow]")
    console.print(f"[bold]share visits: API vs pgbench[/bold]  PostgreSQL {result['config']['postgres']}, "
                  f"{result['machine']['cpus']} CPUs, liebian serve --workers {args.workers}, "
                  f"{args.clients} clients, {args.warmup}+{args.seconds} s")
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                        RateColumn(), console=console, refresh_per_second=4)

    async with harness.scratch_database(admin_url, keep=args.keep) as (database, url):
        console.print(f"scratch database [bold]{database}[/bold]; work directory {work}")
        server = harness.Server(database_url=url, home=work / "home", workers=args.workers,
                                env_extra={"LIEBIAN_WORKER_POLL_SECONDS": str(args.worker_poll_seconds),
                                           **harness.unlimited_env()})
        try:
            with progress:
                boot = progress.add_task(f"starting liebian serve --workers {args.workers} (migrating)", total=None)
                await server.start()
                progress.update(boot, total=1, completed=1,
                                description=f"liebian serve --workers {args.workers} on {server.base_url}")
                seeded = await seed(server.base_url, args.promoters, args.visitors, progress)
                result["server_probe"] = probe = await harness.keepalive_probe(server.base_url)
                if probe["nagle_suspected"]:
                    progress.console.print(
                        f"[yellow]GET /healthz on a kept-alive connection takes {probe['keepalive_p50_ms']} ms "
                        f"(the first request on it: {probe['first_request_ms']} ms): Nagle's algorithm is on for "
                        "the server's sockets and each response waits for the client's delayed ACK "
                        "(uvicorn --workers N leaves TCP_NODELAY off: github.com/Kludex/uvicorn/issues/3149)[/yellow]")

                def worker_pids() -> list[int]:
                    """uvicorn's worker processes: the children of serve that listen on the port (or serve itself,
                    with --workers 1)."""
                    parent = server.proc.pid if server.proc else -1
                    children = sorted(pid for pid in server.pids() if pid != parent
                                      and harness.tcp_listening(server.port, pid))
                    return children or [parent]

                def server_groups() -> dict[str, Callable[[harness.Proc], bool]]:
                    pids = server.pids()
                    parent = server.proc.pid if server.proc else -1
                    groups: dict[str, Callable[[harness.Proc], bool]] = {}
                    for n, pid in enumerate(worker_pids(), 1):
                        groups[f"liebian serve: API worker {n} (pid {pid})"] = lambda p, pid=pid: p.pid == pid
                    groups["liebian serve: parent (supervisor, fake WeChat), helpers"] = lambda p: p.pid in pids
                    if args.workers == 1:
                        groups = {f"liebian serve: the API process (pid {parent})": lambda p: p.pid in pids}
                    return groups

                def http_connections() -> dict[str, int]:
                    counts = harness.tcp_connections_per_pid(server.port, set(worker_pids()))
                    return {f"worker {n} (pid {pid})": counts[pid] for n, pid in enumerate(sorted(counts), 1)}

                async def sessions() -> int | None:
                    return await harness.database_sessions(admin_url, database)

                def groups_with_generator() -> dict[str, Callable[[harness.Proc], bool]]:
                    return server_groups() | {"load generator (this process)": lambda p: p.pid == os.getpid()}

                async def backends() -> set[int]:
                    return await harness.database_backend_pids(admin_url, database)

                def with_pg_other(
                        groups: dict[str, Callable[[harness.Proc], bool]]) -> dict[str, Callable[[harness.Proc], bool]]:
                    return groups | {"postgres: other (background, other databases)": lambda p: p.comm == "postgres"}

                api = await python_load(server.base_url, seeded, clients=args.clients, warmup=args.warmup,
                                        seconds=args.seconds, progress=progress,
                                        cpu_groups=lambda: with_pg_other(groups_with_generator()), backends=backends,
                                        sessions=sessions, http_connections=http_connections)
                api_wrk = None
                if use_wrk:
                    api_wrk = await wrk_load(server.base_url, seeded, work, clients=args.clients, warmup=args.warmup,
                                             seconds=args.seconds, progress=progress,
                                             cpu_groups=lambda: with_pg_other(server_groups()), backends=backends,
                                             sessions=sessions, http_connections=http_connections)
                stop = progress.add_task("stopping liebian serve", total=None)
                await server.stop()
                progress.update(stop, total=1, completed=1)
                conn = await asyncpg.connect(url)
                try:
                    visits_after_api = await conn.fetchval("SELECT count(*) FROM fission_visits")
                    bindings = await conn.fetchval("SELECT count(*) FROM fission_bindings")
                finally:
                    await conn.close()
                pg, pg_cpu, pg_warm_tx = await floor(url, seeded, work, clients=args.clients,
                                                     threads=args.pgbench_threads, warmup=args.warmup,
                                                     seconds=args.seconds, progress=progress, backends=backends)
            conn = await asyncpg.connect(url)
            try:
                visits_after_floor = await conn.fetchval("SELECT count(*) FROM fission_visits")
            finally:
                await conn.close()
        finally:
            await server.stop()

    api_ok_total = api.ok_total + (api_wrk.ok_total if api_wrk else 0)
    checks = {
        "visits_rows_after_api": visits_after_api,
        "api_201_total_all_phases": api_ok_total,
        # wrk stops with requests in flight that the server may still commit: a few more rows than it counted
        "api_rows_match_201s": (visits_after_api == api_ok_total if not api_wrk
                                else 0 <= visits_after_api - api_ok_total <= 2 * args.clients),
        "bindings": bindings,
        "visits_rows_added_by_pgbench": visits_after_floor - visits_after_api,
        "pgbench_transactions_all_phases": pg.transactions + pg_warm_tx,
        "pgbench_rows_match": visits_after_floor - visits_after_api == pg.transactions + pg_warm_tx,
    }
    ratio = api.per_second / pg.tps if pg.tps else None
    result["api"] = api.as_json()
    result["api_wrk"] = api_wrk.as_json() if api_wrk else None
    result["floor"] = {"tool": "pgbench", "tps": pg.tps, "transactions": pg.transactions, "failed": pg.failed,
                       "latency_avg_ms": pg.latency_avg_ms, "p50_ms": pg.p50_ms, "p99_ms": pg.p99_ms,
                       "command": pg.command, "cpu": pg_cpu, "script": FLOOR_SCRIPT}
    result["ratio"] = round(ratio, 3) if ratio is not None else None
    result["ratio_wrk"] = round(api_wrk.per_second / pg.tps, 3) if api_wrk and pg.tps else None
    result["checks"] = checks
    report(result, api, api_wrk, pg, pg_cpu)
    path = harness.write_result("visits", result)
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, default=str))
    console.print(f"result written to {path.relative_to(harness.REPO)}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        console.print(f"kept {work} (server log: {work / 'home' / 'serve.log'})")
    return 0


def _fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}{unit}"


def report(result: dict[str, Any], api: LoadResult, api_wrk: LoadResult | None, pg: harness.PgbenchResult,
           pg_cpu: dict[str, Any]) -> None:
    cfg = result["config"]
    table = Table(title=f"share visits per second (liebian serve --workers {cfg['serve_workers']}, "
                        f"{cfg['clients']} clients/connections, {cfg['seconds']} s measured)")
    table.add_column("")
    table.add_column("API (httpx clients)", justify="right")
    if api_wrk:
        table.add_column("API (wrk)", justify="right")
    table.add_column("floor: pgbench, same SQL", justify="right")

    def row(label: str, a: str, w: str, f: str) -> None:
        table.add_row(label, a, *([w] if api_wrk else []), f)

    def ratio_cell(value: float | None) -> str:
        if value is None:
            return "-"
        colour = "green" if value >= 0.5 else "red"
        return f"[bold {colour}]{value:.2f}[/]"

    row("visits/s (201s) | tps", _fmt(api.per_second, digits=0), _fmt(api_wrk.per_second if api_wrk else None,
        digits=0), _fmt(pg.tps, digits=0))
    row("ratio to floor (target ≥ 0.5)", ratio_cell(result["ratio"]), ratio_cell(result["ratio_wrk"]), "1.00")
    row("p50 latency", _fmt(api.p50_ms, " ms", 2), _fmt(api_wrk.p50_ms if api_wrk else None, " ms", 2),
        _fmt(pg.p50_ms, " ms", 2))
    row("p99 latency", _fmt(api.p99_ms, " ms", 2), _fmt(api_wrk.p99_ms if api_wrk else None, " ms", 2),
        _fmt(pg.p99_ms, " ms", 2))
    row("counted", f"{api.ok_in_window:,}", f"{api_wrk.ok_in_window:,}" if api_wrk else "", f"{pg.transactions:,}")
    api_err = sum(v for k, v in api.statuses_in_window.items() if k != "201") + sum(api.errors.values())
    wrk_err = (api_wrk.statuses_in_window.get("non-2xx", 0) + sum(api_wrk.errors.values())) if api_wrk else 0
    row("errors", str(api_err), str(wrk_err), str(pg.failed))
    row("DB connections (at the end)", str(api.server_db_connections or "-"),
        str(api_wrk.server_db_connections or "-") if api_wrk else "", str(cfg["clients"]))
    row("DB sessions opened in the window", _fmt(api.server_db_sessions_opened, digits=0),
        _fmt(api_wrk.server_db_sessions_opened if api_wrk else None, digits=0), "0")
    row("HTTP connections per API worker", " / ".join(str(v) for v in api.http_connections_per_worker.values()),
        " / ".join(str(v) for v in api_wrk.http_connections_per_worker.values()) if api_wrk else "", "")
    console.print(table)
    if api.error_samples:
        console.print("[yellow]non-201 answers (first few):[/yellow]")
        for s in api.error_samples:
            console.print(f"  {s}")

    phases = [("API (httpx)", api.cpu)] + ([("API (wrk)", api_wrk.cpu)] if api_wrk else []) + [("pgbench", pg_cpu)]
    names: list[str] = []
    for _, cpu in phases:
        for name in cpu.get("pct_of_one_core", {}):
            if name not in names:
                names.append(name)
    cpu_table = Table(title=f"CPU during the measured window, % of one core ({result['machine']['cpus']} cores = "
                            f"{100 * (result['machine']['cpus'] or 1)}%)")
    cpu_table.add_column("")
    for label, _ in phases:
        cpu_table.add_column(label, justify="right")
    for name in names:
        cpu_table.add_row(name, *(_fmt(cpu.get("pct_of_one_core", {}).get(name), "%") if name in
                                  cpu.get("pct_of_one_core", {}) else "" for _, cpu in phases))
    cpu_table.add_row("machine busy, % of all cores",
                      *(_fmt(cpu.get("machine_busy_pct_of_all_cores"), "%") for _, cpu in phases))
    console.print(cpu_table)
    checks = result["checks"]
    ok = checks["pgbench_rows_match"] and checks["api_rows_match_201s"] is not False
    console.print(("[green]" if ok else "[red]") + "rows check: " + ", ".join(f"{k}={v}" for k, v in checks.items()
                                                                             if v is not None))


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except KeyboardInterrupt:
        sys.exit(130)
