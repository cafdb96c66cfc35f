"""Nearby stores at scale: the indexed query (GiST on ``ll_to_earth``) against the same query as a sequential scan.

    .venv/bin/python bench/nearby.py [--stores 1000000] [--shops 1] [--queries 300] [--seq-queries 15]
                                     [--radius 5000] [--keep]

Creates a scratch database on BENCH_DATABASE_URL's server (default the local system PostgreSQL), migrates it to
the stores revision (so the table, its partial GiST index and the ``cube`` / ``earthdistance`` extensions are
exactly the application's), drops the index, COPYs N stores spread over real Chinese city clusters (Gaussian
around each city centre, weighted by size) plus 10% uniform noise over China, rebuilds the index, ANALYZEs, then
times ``liebian.stores.queries.NEARBY_SQL`` (the statement the API runs) at random points drawn like the stores:

1. indexed: the planner's choice (a bitmap or index scan of ``ix_stores_earth``);
2. sequential: the same statement with ``enable_indexscan`` and ``enable_bitmapscan`` off, so every row's
   box and distance are computed (what a table without the index would cost).

Prints p50/p99 per plan and the speedup, and writes bench/results/nearby-*.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

from liebian.kit.migrate import upgrade
from liebian.stores.queries import NEARBY_SQL

console = Console()
STORES_REVISION = "0011"
# (name, lat, lng, weight, spread in km): the store-dense metropolitan areas, WGS-84 centres.
CITIES = [
    ("上海", 31.2304, 121.4737, 10, 25), ("北京", 39.9042, 116.4074, 10, 25), ("广州", 23.1291, 113.2644, 8, 20),
    ("深圳", 22.5431, 114.0579, 8, 18), ("成都", 30.5728, 104.0668, 7, 20), ("重庆", 29.5630, 106.5516, 6, 25),
    ("杭州", 30.2741, 120.1551, 6, 18), ("武汉", 30.5928, 114.3055, 6, 20), ("西安", 34.3416, 108.9398, 5, 18),
    ("南京", 32.0603, 118.7969, 5, 16), ("天津", 39.3434, 117.3616, 5, 18), ("苏州", 31.2989, 120.5853, 4, 15),
    ("长沙", 28.2282, 112.9388, 4, 15), ("郑州", 34.7466, 113.6254, 4, 15), ("沈阳", 41.8057, 123.4315, 3, 15),
    ("青岛", 36.0671, 120.3826, 3, 15), ("厦门", 24.4798, 118.0894, 2, 10), ("昆明", 25.0389, 102.7183, 2, 12),
    ("哈尔滨", 45.8038, 126.5349, 2, 15), ("乌鲁木齐", 43.8256, 87.6168, 1, 12),
]
NOISE_SHARE = 0.10
CHINA_BOX = (18.2, 53.5, 73.7, 134.7)  # lat min/max, lng min/max


def _point(rng: random.Random) -> tuple[float, float]:
    if rng.random() < NOISE_SHARE:
        return rng.uniform(CHINA_BOX[0], CHINA_BOX[1]), rng.uniform(CHINA_BOX[2], CHINA_BOX[3])
    _, lat, lng, _, spread = rng.choices(CITIES, weights=[c[3] for c in CITIES])[0]
    d_lat = rng.gauss(0, spread) / 111.195
    d_lng = rng.gauss(0, spread) / (111.195 * math.cos(math.radians(lat)))
    return max(-90.0, min(90.0, lat + d_lat)), lng + d_lng


def _positional(sql: str) -> str:
    """NEARBY_SQL's named parameters as asyncpg's positional ones."""
    order = {"lat": 1, "lng": 2, "r": 3, "s": 4, "limit": 5}
    return re.sub(r":(lat|lng|r|s|limit)\b", lambda m: f"${order[m.group(1)]}", sql)


async def load(url: str, stores: int, shops: int, progress: Progress, rng: random.Random) -> dict[str, float]:
    conn = await asyncpg.connect(url)
    timings: dict[str, float] = {}
    try:
        await conn.execute("DROP INDEX ix_stores_earth")  # a bulk load builds the index once, at the end
        task = progress.add_task("COPY stores", total=stores)
        started, batch, created = time.perf_counter(), 50_000, datetime(2026, 11, 23, tzinfo=UTC)
        for first in range(0, stores, batch):
            rows = []
            for i in range(first, min(stores, first + batch)):
                lat, lng = _point(rng)
                rows.append((i % shops + 1, f"store {i}", f"address {i}", lat, lng, True,
                             "closed" if i % 50 == 49 else "open", created, created))
            await conn.copy_records_to_table("stores", records=rows, columns=[
                "shop_id", "name", "address", "lat", "lng", "pickup", "status", "created_at", "updated_at"])
            progress.advance(task, len(rows))
        timings["copy_s"] = time.perf_counter() - started
        task = progress.add_task("GiST index + ANALYZE", total=None)
        started = time.perf_counter()
        await conn.execute("SET maintenance_work_mem = '256MB'")
        await conn.execute("CREATE INDEX ix_stores_earth ON stores USING gist (ll_to_earth(lat, lng)) "
                           "WHERE status = 'open'")
        timings["index_s"] = time.perf_counter() - started
        await conn.execute("ANALYZE stores")
        timings["index_and_analyze_s"] = time.perf_counter() - started
        progress.update(task, total=1, completed=1)
        timings["table_mb"] = float(await conn.fetchval("SELECT pg_total_relation_size('stores') / 1048576.0"))
        timings["index_mb"] = float(await conn.fetchval("SELECT pg_relation_size('ix_stores_earth') / 1048576.0"))
    finally:
        await conn.close()
    return timings


async def time_queries(url: str, points: list[tuple[float, float]], *, radius: float, shop: int, seq: bool,
                       progress: Progress, label: str) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        if seq:
            await conn.execute("SET enable_indexscan = off; SET enable_bitmapscan = off")
        stmt = await conn.prepare(_positional(NEARBY_SQL))
        plan = await conn.fetchval("EXPLAIN (FORMAT JSON) " + _positional(NEARBY_SQL), *points[0], radius, shop, 20)
        lat0, lng0 = points[0]
        await stmt.fetch(lat0, lng0, radius, shop, 20)  # warm the cache and the plan
        task = progress.add_task(label, total=len(points))
        times, found = [], []
        for lat, lng in points:
            started = time.perf_counter()
            rows = await stmt.fetch(lat, lng, radius, shop, 20)
            times.append((time.perf_counter() - started) * 1000)
            found.append(len(rows))
            progress.advance(task)
    finally:
        await conn.close()
    times.sort()
    return {"queries": len(points), "p50_ms": harness.percentile(times, 50), "p99_ms": harness.percentile(times, 99),
            "mean_ms": sum(times) / len(times), "max_ms": times[-1], "mean_rows": sum(found) / len(found),
            "plan_nodes": _nodes(plan)}


def _nodes(plan: Any) -> list[str]:
    out: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        out.append(node["Node Type"] + (f" on {node['Index Name']}" if "Index Name" in node else ""))
        for child in node.get("Plans", []):
            walk(child)

    walk(json.loads(plan)[0]["Plan"])
    return out


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stores", type=int, default=1_000_000)
    parser.add_argument("--shops", type=int, default=1, help="stores are dealt round-robin; shop 1 is queried")
    parser.add_argument("--queries", type=int, default=300, help="indexed queries timed")
    parser.add_argument("--seq-queries", type=int, default=15, help="sequential-scan queries timed")
    parser.add_argument("--radius", type=float, default=5000.0, help="metres")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--repeat", type=int, default=1, help="time the queries this many times (one load)")
    parser.add_argument("--out", type=Path, help="also write the result JSON here (liebian bench nearby reads it)")
    args = parser.parse_args()
    admin = os.environ.get("BENCH_DATABASE_URL", harness.DEFAULT_ADMIN_URL)
    rng = random.Random(args.seed)
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    async with harness.scratch_database(admin, keep=args.keep) as (name, url):
        console.print(f"scratch database [bold]{name}[/bold], migrating to {STORES_REVISION}")
        await asyncio.to_thread(upgrade, url, STORES_REVISION)
        with Progress(*columns, console=console) as progress:
            loaded = await load(url, args.stores, args.shops, progress, rng)
            reps = []
            for rep in range(args.repeat):  # fresh points each time, the same load
                points = [_point(rng) for _ in range(args.queries)]
                indexed = await time_queries(url, points, radius=args.radius, shop=1, seq=False,
                                             progress=progress, label=f"indexed ({rep + 1}/{args.repeat})")
                seq = await time_queries(url, points[:args.seq_queries], radius=args.radius, shop=1, seq=True,
                                         progress=progress, label=f"sequential scan ({rep + 1}/{args.repeat})")
                reps.append({"indexed": indexed, "sequential": seq, "speedup_p50": seq["p50_ms"] / indexed["p50_ms"]})
        version = await harness.server_version(url)
    speedup = seq["p50_ms"] / indexed["p50_ms"]
    table = Table(title=f"nearby: {args.stores:,} stores, radius {args.radius:.0f} m, LIMIT 20")
    for col in ("plan", "queries", "p50 ms", "p99 ms", "mean ms", "rows/query", "scan"):
        table.add_column(col, justify="right" if col not in ("plan", "scan") else "left")
    for label, r in (("indexed", indexed), ("sequential", seq)):
        table.add_row(label, str(r["queries"]), f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}", f"{r['mean_ms']:.2f}",
                      f"{r['mean_rows']:.1f}", ", ".join(n for n in r["plan_nodes"] if "Scan" in n))
    console.print(table)
    console.print(f"speedup (p50 sequential / p50 indexed): [bold]{speedup:,.0f}x[/bold]; load: COPY "
                  f"{loaded['copy_s']:.1f} s, index {loaded['index_s']:.1f} s, table {loaded['table_mb']:.0f} MB, "
                  f"index {loaded['index_mb']:.0f} MB")
    result = {
        "benchmark": "nearby", "stores": args.stores, "shops": args.shops, "radius_m": args.radius,
        "seed": args.seed, "load": loaded, "indexed": indexed, "sequential": seq, "speedup_p50": speedup,
        "reps": reps, "server_version": version, "machine": harness.machine_info(), "git": harness.git_state(),
        "background": await harness.background_load(1.0)}
    path = harness.write_result("nearby", result)
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, default=str))
    console.print(f"written {path.relative_to(harness.REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
