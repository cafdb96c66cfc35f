"""A hot flash-sale slot on both paths, beside its floors (pgbench and redis-benchmark): ``liebian bench flashsale``
on a scratch database and a private Redis.

    .venv/bin/python bench/flashsale.py [--attempts 20000] [--units 1000] [--clients 64] [--trials 3] [--keep]

Needs a PostgreSQL where the user of BENCH_DATABASE_URL may create databases, ``pgbench``, and ``redis-server`` /
``redis-benchmark`` on the PATH (without ``redis-server``, pass ``--redis URL``; ``--no-redis``: PostgreSQL only).
Results go to bench/results/flashsale-*.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.redis_server import BINARY, RedisServer  # noqa: E402  (the tests' private redis-server)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attempts", type=int, default=20_000)
    parser.add_argument("--units", type=int, default=1_000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--redis", default=None, help="an existing Redis (default: a private redis-server)")
    parser.add_argument("--no-redis", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    admin = os.environ.get("BENCH_DATABASE_URL", harness.DEFAULT_ADMIN_URL)
    server = None
    redis_url = args.redis
    if not args.no_redis and redis_url is None:
        if BINARY is None:
            print("no redis-server: pass --redis URL or --no-redis", file=sys.stderr)
            return 2
        server = RedisServer()
        server.start()
        redis_url = server.url
    try:
        async with harness.scratch_database(admin, keep=args.keep) as (_, url):
            cmd = [str(ROOT / ".venv" / "bin" / "liebian"), "bench", "flashsale", "--json", "--attempts",
                   str(args.attempts), "--units", str(args.units), "--clients", str(args.clients), "--trials",
                   str(args.trials), *(["--no-redis"] if args.no_redis else ["--redis", str(redis_url)])]
            env = {**os.environ, "LIEBIAN_DATABASE_URL": url, "LIEBIAN_MODE": "sandbox",
                   "LIEBIAN_HOME": tempfile.mkdtemp(prefix="liebian-bench-home-")}
            done = await asyncio.to_thread(subprocess.run, cmd, env=env, capture_output=True, text=True, check=False)
    finally:
        if server is not None:
            server.stop()
    if not done.stdout.strip():
        print(done.stderr, file=sys.stderr)
        return 1
    result = json.loads(done.stdout)
    harness.RESULTS.mkdir(parents=True, exist_ok=True)
    out = harness.RESULTS / f"flashsale-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    for path, p in result["paths"].items():
        print(f"{path:10} exact={p['all_exact']} oversold={p['oversold']} max/customer={p['max_per_customer']} "
              f"orders/s={p['orders_per_s']} entries/s={p['entries_per_s']} p99={p['entry_p99_ms']} ms "
              f"floor={p['floor_per_s']}/s (p99 {p['floor_p99_ms']} ms) ratio={p['ratio_entries_to_floor']}")
    print(f"results: {out}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
