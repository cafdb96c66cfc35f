"""Client CPU per statement round trip: asyncpg (as the driver sessions use it) against pgbench's C client.

Why the ``orders`` ratio has a ceiling below 1 that no SQL change moves: every statement an order sends costs
the API process the driver's CPU, and the floor's client (pgbench) far less. One connection, one prepared
``SELECT $1::int`` after another, the server otherwise idle; CPU is the client process's own (user + system),
so the server's share is left out of both.

    .venv/bin/python bench/roundtrip.py [--url postgresql://postgres@127.0.0.1:5432/postgres] [--statements 20000]

Prints one JSON object: µs of client CPU per round trip for asyncpg's public ``fetchrow``, for
``Connection._execute`` (what ``DriverSession`` used before), for the protocol call it makes now, and for
pgbench ``-M prepared``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import uvloop

from liebian.kit.driver_session import Row

QUERY = "SELECT $1::int AS n"


async def _cpu_per_call(n: int, call: Callable[[int], Awaitable[Any]]) -> float:
    for i in range(200):  # prepared and warm
        await call(i)
    started = time.process_time()
    for i in range(n):
        await call(i)
    return (time.process_time() - started) / n * 1e6


async def asyncpg_costs(url: str, n: int) -> dict[str, float]:
    conn = await asyncpg.connect(url)
    try:
        statement_key = (QUERY, Row, False)

        async def direct(i: int) -> Any:
            statement = conn._stmt_cache.get(statement_key)
            if statement is None:
                return await conn._execute(QUERY, (i,), 0, None, return_status=True, record_class=Row)
            return await conn._protocol.bind_execute(statement, (i,), "", 0, True, None)

        return {
            "asyncpg_fetchrow_us": await _cpu_per_call(n, lambda i: conn.fetchrow(QUERY, i)),
            "asyncpg_execute_us": await _cpu_per_call(
                n, lambda i: conn._execute(QUERY, (i,), 0, None, return_status=True, record_class=Row)),
            "asyncpg_protocol_us": await _cpu_per_call(n, direct),
        }
    finally:
        await conn.close()


def pgbench_cost(url: str, n: int) -> float | None:
    pgbench = shutil.which("pgbench")
    if pgbench is None:
        return None
    with tempfile.TemporaryDirectory() as work:
        script = os.path.join(work, "select.sql")
        with open(script, "w") as f:
            f.write("\\set i random(1, 1000)\nSELECT :i::int AS n;\n")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([pgbench, "-n", "-M", "prepared", "-c", "1", "-t", str(n), "-f", script, url],
                       check=True, capture_output=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL",
                                                        "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--statements", type=int, default=20_000)
    args = parser.parse_args()
    result: dict[str, Any] = {"statements": args.statements}
    result |= uvloop.run(asyncpg_costs(args.url, args.statements))
    result["pgbench_us"] = pgbench_cost(args.url, args.statements)
    print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in result.items()}))


if __name__ == "__main__":
    main()
