"""``oscar``: Liebian's orders per second in one process against django-oscar's ``OrderCreator`` in one process.

django-oscar is installed into ``bench/.oscar-venv`` (gitignored; ``bench/oscar/requirements.txt``, pinned) the
first time this scenario runs, never into the project's venv and never by the tests; if it cannot be installed
(no registry, no network) the scenario says so and reports no figure. ``bench/oscar/`` holds the smallest Django
project Oscar runs in and ``place_orders.py``, which places orders through ``OrderCreator`` (see its docstring).

Per repetition, each on its own scratch database of the same PostgreSQL server: Liebian's ``orders`` scenario
with ``liebian serve --workers 1`` (one API process, which also runs its job worker), 32 HTTP clients, random
SKUs, for the window; then Oscar placing orders one after the other for as long, random products and users.
Liebian's figure includes HTTP, authentication and JSON; Oscar's includes none of them, nor the basket it
submits (timed apart). The target is Liebian ≥ 50× Oscar per process; the ratio is reported as measured.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from liebian.benchmarks import harness, orders
from liebian.benchmarks.figures import Outcome, Sample, at_least, exactly
from liebian.benchmarks.scenarios import Options

VENV = harness.BENCH_DIR / ".oscar-venv"
PROJECT = harness.BENCH_DIR / "oscar"
PYTHON = VENV / "bin" / "python"


async def _run(cmd: list[str], *, within: float, env: dict[str, str] | None = None,
               cwd: Path | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                env=env, cwd=str(cwd) if cwd else None)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), within)
    except BaseException:
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")[-2000:]


async def ensure_venv() -> str | None:
    """None once django-oscar imports in ``bench/.oscar-venv``; else why it could not be installed."""
    if PYTHON.exists() and (await _run([str(PYTHON), "-c", "import oscar, psycopg"], within=120))[0] == 0:
        return None
    if not (PROJECT / "requirements.txt").exists():
        return f"{PROJECT} is not here (the repository's bench/ folder)"
    code, _, err = await _run([sys.executable, "-m", "venv", str(VENV)], within=300)
    if code != 0:
        return f"cannot create {VENV}: {err.strip()[-300:]}"
    code, _, err = await _run([str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                               "-r", str(PROJECT / "requirements.txt")], within=1800)
    if code != 0:
        return f"pip install django-oscar failed: {err.strip()[-300:]}"
    return None


async def oscar(url: str, *args: str) -> dict[str, Any]:
    env = {"PATH": "/usr/bin:/bin", "OSCAR_BENCH_DATABASE_URL": url, "PYTHONDONTWRITEBYTECODE": "1"}
    code, out, err = await _run([str(PYTHON), str(PROJECT / "place_orders.py"), *args], within=3600, env=env,
                                cwd=PROJECT)
    if code != 0 or not out.strip():
        raise RuntimeError(f"place_orders.py {args[0]} exited with {code}: {err.strip()[-1200:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


async def run(name: str, opts: Options) -> Outcome:
    reason = await ensure_venv()
    if reason is not None:
        return Outcome(name, skipped=reason)
    outcome = Outcome(name)
    work = Path(tempfile.mkdtemp(prefix="liebian-bench-oscar-"))
    products, users = (20, 40) if opts.quick else (500, 200)
    try:
        async with harness.scratch_database(harness.admin_url()) as (_oscar_db, oscar_url):
            outcome.details["oscar_setup"] = await oscar(oscar_url, "setup", "--products", str(products),
                                                         "--users", str(users))
            async with harness.scratch_database(harness.admin_url()) as (_database, url):
                bench = await orders.prepare(url, work, opts, hot=False, workers=1)
                try:
                    placed = 0
                    for rep in range(opts.repeat):
                        if bench.server.proc is None or bench.server.proc.poll() is not None:
                            await bench.server.start()
                        api = await orders.api_load(bench, opts, rep)
                        await bench.server.stop()
                        peer = await oscar(oscar_url, "run", "--seconds", str(opts.seconds), "--seed", str(rep))
                        placed += peer["orders"] + 3  # and its 3 warm-up orders, which allocate stock too
                        outcome.reps.append(samples(api, peer, placed, bench, opts.clients))
                        outcome.details.setdefault("reps", []).append({"liebian": api.as_json(), "oscar": peer})
                finally:
                    await bench.server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return outcome


def samples(api: Any, peer: dict[str, Any], placed: int, bench: orders.Bench, clients: int) -> list[Sample]:
    return [
        Sample(f"Liebian orders/s, one process (HTTP, {clients} clients)", api.per_second, "/s", peer["orders_per_s"],
               "django-oscar OrderCreator, one process", at_least(50)),
        Sample("django-oscar orders/s with its basket", peer["orders_per_s_with_basket"], "/s"),
        Sample("SQL per order: Liebian", max(len(r.statements) for r in bench.recordings), ""),
        Sample("SQL per order: django-oscar (placement; + basket)", peer["sql_per_order"], "", None,
               f"+ {peer['sql_per_basket']:.0f} for the basket"),
        Sample("check: Oscar's orders, stock allocated ≠ its count", abs(peer["orders_in_database"] - peer["orders"])
               + abs(peer["allocated_units"] - placed), "", target=exactly(0), check=True),
    ]
