"""What every benchmark needs: a scratch database, a ``liebian serve`` of its own, CPU accounting from
``/proc``, pgbench, and a place for the results (``bench/results/``).

Standard library, ``asyncpg`` and ``httpx`` only. ``bench/harness.py`` re-exports this module for the scripts in
``bench/``; nothing here is imported by the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx


def _repo() -> Path:
    """The checkout this package runs from (``src/liebian/benchmarks`` → the root), else the working directory."""
    here = Path(__file__).resolve().parents[3]
    return here if (here / "bench").is_dir() else Path.cwd()


REPO = _repo()
BENCH_DIR = REPO / "bench"
RESULTS = Path(os.environ.get("LIEBIAN_BENCH_RESULTS") or BENCH_DIR / "results")  # the tests send them elsewhere
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def unlimited_env() -> dict[str, str]:
    """Every abuse limit of the server raised out of reach (still checked, so its cost is measured): a load
    test from one address, a few hundred customers visiting again and again, is exactly what they stop."""
    from liebian.settings import Settings

    return {f"LIEBIAN_{name.upper()}": "100000000/60" for name in Settings.model_fields if name.startswith("limit_")}


def shared_data(*parts: str) -> Path | None:
    """A file or folder of the shared real data (``$LIEBIAN_SHARED_DATA``, ``../shared/data``,
    ``/work/shared/data``), or None when it is not on this machine."""
    roots = [Path(os.environ["LIEBIAN_SHARED_DATA"])] if os.environ.get("LIEBIAN_SHARED_DATA") else []
    roots += [REPO.parent / "shared" / "data", Path("/work/shared/data")]
    for root in roots:
        if (root.joinpath(*parts)).exists():
            return root.joinpath(*parts)
    return None


def admin_url() -> str:
    """The server scratch databases are made on: ``BENCH_DATABASE_URL``, default the machine's PostgreSQL."""
    return os.environ.get("BENCH_DATABASE_URL") or DEFAULT_ADMIN_URL


# --- scratch database ------------------------------------------------------------------------------

def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@contextlib.asynccontextmanager
async def scratch_database(admin_url: str, *, keep: bool = False) -> AsyncIterator[tuple[str, str]]:
    """``liebian_bench_<random>`` on the server of ``admin_url``; dropped (with its connections) at the end."""
    name = f"liebian_bench_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield name, with_database(admin_url, name)
    finally:
        if not keep:
            conn = await asyncpg.connect(admin_url)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()


# --- the server under test -------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def liebian_executable() -> str:
    beside = Path(sys.executable).parent / "liebian"
    if beside.exists():
        return str(beside)
    found = shutil.which("liebian")
    if found is None:
        raise SystemExit("cannot find the 'liebian' command: run with the project's .venv/bin/python")
    return found


@dataclass
class Server:
    """``liebian serve`` in its own process group, logging to ``{home}/serve.log``."""

    database_url: str
    home: Path
    workers: int
    env_extra: dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.home / "serve.log"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    async def start(self, wait_seconds: float = 180.0) -> None:
        self.port = self.port or free_port()
        self.home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "LIEBIAN_DATABASE_URL": self.database_url, "LIEBIAN_HOME": str(self.home),
               "LIEBIAN_MODE": "sandbox", **self.env_extra}
        for key in ("LIEBIAN_SANDBOX_WECHAT_URL", "LIEBIAN_PUBLIC_BASE_URL"):
            env.pop(key, None)
        cmd = [liebian_executable(), "serve", "--host", self.host, "--port", str(self.port),
               "--workers", str(self.workers)]
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(  # noqa: ASYNC220 (starts the server, does not wait for it)
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.home,
            start_new_session=True)
        log.close()
        deadline = time.monotonic() + wait_seconds
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2.0) as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"liebian serve exited with {self.proc.returncode}:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/healthz")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"liebian serve did not answer /healthz in {wait_seconds:.0f} s:\n{self.log_tail()}")
                await asyncio.sleep(0.25)

    def pids(self) -> set[int]:
        """The serve process and everything below it (uvicorn's workers, multiprocessing helpers)."""
        if self.proc is None:
            return set()
        return descendants(self.proc.pid) | {self.proc.pid}

    async def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)  # the group this harness created, nothing else
        for _ in range(100):
            if self.proc.poll() is not None:
                return
            await asyncio.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


async def keepalive_probe(base_url: str, requests: int = 20) -> dict[str, Any]:
    """GET /healthz again and again on one keep-alive connection, the server otherwise idle.

    The first request rides a fresh connection (TCP quick-ACK); if the later ones take ~40 ms, the server's
    accepted sockets have Nagle's algorithm on (no TCP_NODELAY) and every response waits for the client's
    delayed ACK: uvicorn's ``--workers N`` path does that (github.com/Kludex/uvicorn/issues/3149).
    """
    times: list[float] = []
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=10) as client:
        for _ in range(requests):
            t0 = time.perf_counter()
            (await client.get("/healthz")).raise_for_status()
            times.append(time.perf_counter() - t0)
    later = sorted(times[1:])
    p50 = later[len(later) // 2] * 1000
    return {"first_request_ms": round(times[0] * 1000, 2), "keepalive_p50_ms": round(p50, 2),
            "nagle_suspected": p50 > 20}


# --- CPU accounting from /proc ---------------------------------------------------------------------

@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    comm: str
    ticks: int  # utime + stime
    child_ticks: int  # cutime + cstime: children that exited and were waited for


def read_proc(pid: int) -> Proc | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1:raw.rindex(")")]
    rest = raw[raw.rindex(")") + 2:].split()
    return Proc(pid=pid, ppid=int(rest[1]), comm=comm, ticks=int(rest[11]) + int(rest[12]),
                child_ticks=int(rest[13]) + int(rest[14]))


def all_procs() -> dict[int, Proc]:
    out: dict[int, Proc] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            p = read_proc(int(entry))
            if p is not None:
                out[p.pid] = p
    return out


def descendants(root: int, procs: dict[int, Proc] | None = None) -> set[int]:
    procs = procs if procs is not None else all_procs()
    children: dict[int, list[int]] = {}
    for p in procs.values():
        children.setdefault(p.ppid, []).append(p.pid)
    found: set[int] = set()
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs, from the first line of /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user
    return total - idle, total


@dataclass
class CpuSnapshot:
    at: float
    procs: dict[int, Proc]
    machine: tuple[int, int]


def cpu_snapshot() -> CpuSnapshot:
    return CpuSnapshot(at=time.monotonic(), procs=all_procs(), machine=machine_ticks())


def cpu_split(start: CpuSnapshot, end: CpuSnapshot, groups: dict[str, Callable[[Proc], bool]]) -> dict[str, Any]:
    """CPU used between two snapshots, as % of one core, per group (first matching group wins).

    A process born in between counts from zero. One that died in between is found in its parent's children
    times once reaped: PostgreSQL backends that exited (connection churn) are shown as a group of their own.
    Per-process times are sampled by the kernel at each tick, so the parts can add up to a little more or less
    than the machine's busy time.
    """
    wall = end.at - start.at
    groups = groups | {"kernel threads (I/O, virtio)": lambda p: p.ppid == 2 or p.pid == 2}
    used: dict[str, float] = {name: 0.0 for name in groups}
    used["other processes"] = 0.0
    exited = "postgres: backends that exited in the window (all databases)"
    used[exited] = 0.0
    for pid, p in end.procs.items():
        before = start.procs.get(pid)
        same = before is not None and before.comm == p.comm
        delta = p.ticks - (before.ticks if same and before else 0)
        if p.comm == "postgres" and p.ppid == 1 and same and before:  # the postmaster reaps the backends
            used[exited] += max(0, p.child_ticks - before.child_ticks) / CLK_TCK
        if delta <= 0:
            continue
        name = next((g for g, match in groups.items() if match(p)), "other processes")
        used[name] += delta / CLK_TCK
    busy = (end.machine[0] - start.machine[0]) / CLK_TCK
    total = (end.machine[1] - start.machine[1]) / CLK_TCK
    cores = os.cpu_count() or 1
    return {
        "wall_s": round(wall, 3),
        "cores": cores,
        "pct_of_one_core": {k: round(100 * v / wall, 1) for k, v in used.items()},
        "machine_busy_pct_of_all_cores": round(100 * busy / total, 1) if total else None,
    }


def _socket_inodes(port: int, state: str) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] == state:
                inodes.add(f[9])
    return inodes


def _pid_has_socket(pid: int, inodes: set[str]) -> int:
    n = 0
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    n += 1
    return n


def tcp_listening(port: int, pid: int) -> bool:
    return _pid_has_socket(pid, _socket_inodes(port, "0A")) > 0


def tcp_connections_per_pid(port: int, pids: set[int]) -> dict[int, int]:
    """Established TCP connections on local ``port`` held by each of ``pids`` (from /proc/net/tcp and fds)."""
    inodes = _socket_inodes(port, "01")
    return {pid: _pid_has_socket(pid, inodes) for pid in pids}


async def database_sessions(admin_url: str, database: str) -> int | None:
    """Sessions ever opened to ``database`` (pg_stat_database.sessions, PostgreSQL 14+)."""
    conn = await asyncpg.connect(admin_url)
    try:
        with contextlib.suppress(asyncpg.PostgresError):
            return int(await conn.fetchval("SELECT sessions FROM pg_stat_database WHERE datname = $1", database))
        return None
    finally:
        await conn.close()


async def background_load(seconds: float = 2.0) -> dict[str, Any]:
    """How busy the machine is before the benchmark starts, and by what (other runs make every figure lower)."""
    start = cpu_snapshot()
    await asyncio.sleep(seconds)
    end = cpu_snapshot()
    wall = end.at - start.at
    busy = (end.machine[0] - start.machine[0]) / max(1, end.machine[1] - start.machine[1])
    top: list[tuple[float, str]] = []
    for pid, p in end.procs.items():
        before = start.procs.get(pid)
        delta = p.ticks - (before.ticks if before is not None and before.comm == p.comm else 0)
        if delta > 0 and pid != os.getpid() and p.ppid != 2 and pid != 2:  # kernel threads' figures mislead in VMs
            top.append((100 * delta / CLK_TCK / wall, f"{p.comm} ({pid})"))
    top.sort(reverse=True)
    return {"machine_busy_pct_of_all_cores": round(100 * busy, 1),
            "top_processes_pct_of_one_core": {name: round(pct, 1) for pct, name in top[:5]}}


async def database_backend_pids(admin_url: str, database: str) -> set[int]:
    conn = await asyncpg.connect(admin_url)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
    finally:
        await conn.close()
    return {r["pid"] for r in rows}


# --- pgbench ---------------------------------------------------------------------------------------

PGBENCH_PROGRESS = re.compile(r"progress: ([\d.]+) s, ([\d.]+) tps")


@dataclass
class PgbenchResult:
    tps: float
    transactions: int
    failed: int
    latency_avg_ms: float | None
    p50_ms: float | None
    p99_ms: float | None
    command: list[str]
    output: str


def _latency_percentiles(log_dir: Path) -> tuple[float | None, float | None]:
    samples: list[int] = []
    for log in log_dir.glob("pgbench_log*"):
        for line in log.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[2].isdigit():  # client, transaction, latency in µs, ...
                samples.append(int(parts[2]))
    if not samples:
        return None, None
    samples.sort()
    return percentile(samples, 50) / 1000, percentile(samples, 99) / 1000


async def run_pgbench(url: str, scripts: list[Path], *, clients: int, threads: int, seconds: int, work_dir: Path,
                      on_progress: Callable[[float, float], None] | None = None,
                      sampling_rate: float | None = 0.25, extra_args: list[str] | None = None) -> PgbenchResult:
    """``pgbench -n -M prepared`` over ``scripts`` (equal weights: pgbench picks one at random per transaction)."""
    pgbench = shutil.which("pgbench")
    if pgbench is None:
        raise SystemExit("pgbench is not installed (Debian: apt-get install postgresql-client)")
    log_dir = work_dir / f"pgbench-{secrets.token_hex(3)}"
    log_dir.mkdir(parents=True)
    cmd = [pgbench, "-n", "-M", "prepared", "-c", str(clients), "-j", str(threads), "-T", str(seconds), "-P", "1"]
    if sampling_rate is not None:
        cmd += ["-l", "--sampling-rate", str(sampling_rate), "--log-prefix", str(log_dir / "pgbench_log")]
    cmd += extra_args or []
    for script in scripts:
        cmd += ["-f", f"{script}@1"]
    cmd.append(url)
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    err_lines: list[str] = []

    async def read_err() -> None:
        assert proc.stderr is not None
        async for raw in proc.stderr:
            line = raw.decode(errors="replace").rstrip()
            match = PGBENCH_PROGRESS.search(line)
            if match and on_progress is not None:
                on_progress(float(match.group(1)), float(match.group(2)))
            elif not match:
                err_lines.append(line)

    err_task = asyncio.create_task(read_err())
    out = (await proc.stdout.read()).decode(errors="replace")
    await err_task
    await proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"pgbench failed ({proc.returncode}):\n{out}\n" + "\n".join(err_lines[-20:]))
    tps = re.search(r"^tps = ([\d.]+)", out, re.M)
    done = re.search(r"number of transactions actually processed: (\d+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    lat = re.search(r"latency average = ([\d.]+) ms", out)
    if tps is None or done is None:
        raise RuntimeError(f"cannot read pgbench's output:\n{out}")
    p50, p99 = _latency_percentiles(log_dir) if sampling_rate is not None else (None, None)
    shutil.rmtree(log_dir, ignore_errors=True)
    return PgbenchResult(tps=float(tps.group(1)), transactions=int(done.group(1)),
                         failed=int(failed.group(1)) if failed else 0,
                         latency_avg_ms=float(lat.group(1)) if lat else None, p50_ms=p50, p99_ms=p99,
                         command=[c if c != url else "<scratch database url>" for c in cmd], output=out)


# --- small things ------------------------------------------------------------------------------------

def percentile(sorted_values: list[Any], pct: float) -> Any:
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, round(pct / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def git_state() -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(status) if status is not None else None}


async def server_version(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def machine_info() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}


def write_result(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    return path
