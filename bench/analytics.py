"""Fission analytics: the report over a synthetic log in memory, and reading a shop's log from PostgreSQL.

    .venv/bin/python bench/analytics.py [--events 10000000] [--db-events 1000000] [--skip-db] [--keep]

1. In memory (``liebian bench analytics``): the whole report at ``--events`` and a tenth of it, each in a
   fresh process; floor: one scattered pass over the log (a count per share of its re-shares, visits, orders).
2. From the database: a scratch database with one shop's ``--db-events`` (30% shares in cascades, 70% visits;
   no orders, whose rows need the whole checkout), then ``analytics.service.load`` (the three binary COPYs
   with their joins) and the analysis; floor: a plain binary COPY of the same shares and visits rows, no join.
Results go to bench/results/analytics-*.json.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

FIRST, LAST = date(2026, 11, 1), date(2026, 11, 30)


def _seed_sql(shares: int, visits: int) -> list[str]:
    """Shares over 20 days, 55% of them re-shares of one of the previous 2000 (so trees, some deep), then the
    roots and depths; visits one hour after a pseudo-random share, by 100k-ish customers."""
    parent = "CASE WHEN i > 1 AND (i * 13) % 100 < 55 THEN greatest(1, i - 1 - (i * 31) % 2000) END"
    return [
        "INSERT INTO fission_shares (id, shop_id, code, sharer_id, target_type, target_id, channel, parent_id, "
        f"root_id, depth, created_at) SELECT i, 1, 'c' || i, 1 + (i * 7919) % greatest(1, {shares} / 4), "
        f"'product', 1 + i % 500, 'friend', {parent}, NULL, 0, "
        f"timestamptz '2026-11-01 00:00+08' + make_interval(secs => i * 20 * 86400.0 / {shares}) "
        f"FROM generate_series(1::bigint, {shares}) i",
        "WITH RECURSIVE t AS (SELECT id, id AS root, 0 AS depth FROM fission_shares WHERE parent_id IS NULL "
        "UNION ALL SELECT s.id, t.root, t.depth + 1 FROM fission_shares s JOIN t ON s.parent_id = t.id) "
        "UPDATE fission_shares s SET root_id = CASE WHEN t.root = s.id THEN NULL ELSE t.root END, depth = t.depth "
        "FROM t WHERE t.id = s.id",
        "INSERT INTO fission_visits (shop_id, share_id, sharer_id, customer_id, channel, created_at) "
        f"SELECT 1, s.id, s.sharer_id, 100000 + (i * 104729) % greatest(1, {visits} / 3), 'friend', "
        f"s.created_at + interval '1 hour' FROM generate_series(1::bigint, {visits}) i "
        f"JOIN fission_shares s ON s.id = 1 + (i * 2654435761) % {shares}",
        "ANALYZE",
    ]


_FLOOR = ("SELECT id, parent_id, root_id, depth, sharer_id, created_at FROM fission_shares WHERE shop_id = 1",
          "SELECT share_id, customer_id, created_at FROM fission_visits WHERE shop_id = 1")


async def _database(admin_url: str, events: int, keep: bool) -> dict[str, Any]:
    import asyncpg

    from liebian.analytics import service
    from liebian.kit.db import Database, make_engine
    from liebian.kit.migrate import upgrade

    async with harness.scratch_database(admin_url, keep=keep) as (_name, url):
        await asyncio.to_thread(upgrade, url)
        conn = await asyncpg.connect(url)
        started = time.perf_counter()
        for sql in _seed_sql(events * 30 // 100, events - events * 30 // 100):
            await conn.execute(sql)
        seeded = time.perf_counter() - started
        floors = []
        for _ in range(2):
            started = time.perf_counter()
            for sql in _FLOOR:
                await conn.copy_from_query(sql, output=io.BytesIO(), format="binary")
            floors.append(time.perf_counter() - started)
        await conn.close()
        db = Database(make_engine(url, pool_size=1, max_overflow=0))
        runs = []
        try:
            for _ in range(2):  # the second run reads warm pages, as a console user's second click does
                async with db.sessions() as session:
                    started = time.perf_counter()
                    log = await service.load(session, 1, FIRST, LAST)
                    loaded = time.perf_counter() - started
                started = time.perf_counter()
                service.analyze(log, service.span(FIRST, LAST))
                runs.append({"events": log.events, "load_seconds": round(loaded, 3),
                             "analyze_seconds": round(time.perf_counter() - started, 3)})
        finally:
            await db.dispose()
        floor = min(floors)
        best = min(r["load_seconds"] for r in runs)
        return {"seed_seconds": round(seeded, 1), "runs": runs, "floor_copy_seconds": round(floor, 3),
                "load_ratio": round(best / floor, 1) if floor else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--db-events", type=int, default=1_000_000)
    parser.add_argument("--skip-db", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = parser.parse_args()
    from liebian.analytics.bench import run

    result: dict[str, Any] = {"memory": run(args.events), "machine": harness.machine_info()}
    if not args.skip_db:
        admin = os.environ.get("BENCH_DATABASE_URL", harness.DEFAULT_ADMIN_URL)
        result["database"] = asyncio.run(_database(admin, args.db_events, args.keep))
    path = harness.write_result("analytics", result)
    print(json.dumps(result, indent=2))
    if not args.json:
        print(f"written to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
