"""``liebian bench flashsale``: a hot slot hammered by many clients, on the PostgreSQL path and the Redis path,
beside its floors — ``pgbench`` running the same guarded statement on the same hot row, and
``redis-benchmark`` running the same Lua script (EVALSHA) on the same hot key. Every trial must sell exactly the
units, nobody over the limit; the figures are successful orders/s and entry latencies, and the ratios.

Each attempt is what ``POST flashsale/campaigns/{id}/entries`` does below HTTP: one transaction, the shop read
by id, then the entry (PostgreSQL: the order at once; Redis: the Lua script and the queue, the orders made by
two drains meanwhile). Orders/s counts from the first attempt until the last order is committed.
"""

from __future__ import annotations

import asyncio
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import Redis

from liebian.catalog import service as catalog
from liebian.catalog.schemas import ProductIn, SkuIn
from liebian.customers.addresses import AddressIn
from liebian.flashsale import campaigns, queries, queue, redis_stock
from liebian.flashsale.schemas import CampaignIn, EntryIn
from liebian.flashsale.stock import TAKE
from liebian.kit import redis as kit_redis
from liebian.kit.clock import clock
from liebian.kit.db import Database
from liebian.kit.errors import Problem
from liebian.kit.sql import text
from liebian.shops import service as shops
from liebian.shops.service import ShopRef

ADDRESS = AddressIn(name="秒杀", phone="13800138000", province="上海市", city="上海市", district="浦东新区",
                    detail="世纪大道 1 号")
LIST_PRICE = 9900


@dataclass(frozen=True)
class Options:
    attempts: int
    units: int
    clients: int
    trials: int
    customers: int


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


async def _shop(db: Database, n_customers: int) -> tuple[ShopRef, list[int]]:
    async with db.unit_of_work() as session:
        shop, _ = await shops.create_shop(session, slug=f"flash-{uuid.uuid4().hex[:10]}", name="秒杀压测",
                                          owner_email=f"flash-{uuid.uuid4().hex[:10]}@bench.sandbox",
                                          owner_password=uuid.uuid4().hex)
        ids = (await session.execute(text(
            "INSERT INTO customers (shop_id, openid, nickname, is_new, created_at, last_login_at) "
            "SELECT :s, 'bench-' || g, 'b' || g, true, :now, :now FROM generate_series(1, :n) g RETURNING id"),
            {"s": shop.id, "n": n_customers, "now": clock.now()})).scalars().all()
    return shop, list(ids)


async def _slot(db: Database, shop: ShopRef, units: int) -> tuple[int, int]:
    now = clock.now()
    async with db.unit_of_work() as session:
        product = await catalog.create_product(session, shop.id, ProductIn(
            title=f"秒杀商品 {uuid.uuid4().hex[:6]}", skus=[SkuIn(price_fen=LIST_PRICE, stock=units)]))
        sku = product.skus[0].id
        made = await campaigns.create(session, shop.id, CampaignIn(
            sku_id=sku, price_fen=100, stock=units, per_customer_limit=1, starts_at=now - timedelta(seconds=1),
            ends_at=now + timedelta(hours=1)))
    return made.id, sku


async def trial(db: Database, shop: ShopRef, customers: list[int], opts: Options, r: Redis | None,
                seed: int) -> dict[str, Any]:
    """One sale: ``attempts`` entries by random customers from ``clients`` clients."""
    campaign_id, _ = await _slot(db, shop, opts.units)
    rng = random.Random(seed)
    todo = iter([rng.choice(customers) for _ in range(opts.attempts)])
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    body = EntryIn(quantity=1, address=ADDRESS)
    entering = asyncio.Event()
    last_order = [0.0]  # when the last order was committed

    async def client() -> None:
        for customer in todo:
            started = time.perf_counter()
            try:
                async with db.unit_of_work() as session:
                    await shops.shop_by_id(session, shop.id)
                    status, _ = await queue.enter(session, shop, customer, campaign_id, body)
                outcomes[str(status)] += 1
                if status == 201:
                    last_order[0] = time.perf_counter()
            except Problem as exc:
                outcomes[exc.code] += 1
            latencies.append(time.perf_counter() - started)

    async def drainer() -> None:
        assert r is not None
        while True:
            async with db.unit_of_work() as session:
                handled = await queue.drain_batch(session, r, campaign_id)
            if handled:
                last_order[0] = time.perf_counter()
            if handled == 0:
                if entering.is_set() and not await r.llen(redis_stock.Keys(campaign_id).queue):  # type: ignore[misc]
                    return
                await asyncio.sleep(0.005)

    kit_redis.install(r)
    started = time.perf_counter()
    drains = [asyncio.create_task(drainer()) for _ in range(2 if r is not None else 0)]
    await asyncio.gather(*(client() for _ in range(opts.clients)))
    entries_s = time.perf_counter() - started
    entering.set()
    await asyncio.gather(*drains)
    wall_s = time.perf_counter() - started
    orders_s = max(last_order[0] - started, 1e-6)
    return {"campaign_id": campaign_id, "outcomes": dict(outcomes),
            "entries_per_s": round(opts.attempts / entries_s, 1), "orders_per_s": round(opts.units / orders_s, 1),
            "entry_p50_ms": _pct(latencies, 0.50),
            "entry_p99_ms": _pct(latencies, 0.99), "orders_done_s": round(orders_s, 3), "wall_s": round(wall_s, 3),
            **await _verify(db, shop.id, campaign_id, opts.units)}


async def _verify(db: Database, shop_id: int, campaign_id: int, units: int) -> dict[str, Any]:
    async with db.sessions() as session:
        row = (await session.execute(text(
            "SELECT (SELECT sold FROM flashsale_campaigns WHERE id = :c) AS sold, count(*) AS orders, "
            "coalesce(max(n), 0) AS max_per_customer FROM (SELECT o.customer_id, sum(l.quantity) AS n FROM orders o "
            "JOIN order_lines l ON l.order_id = o.id WHERE o.shop_id = :s AND o.promotion->>'campaign_id' = :cs "
            "GROUP BY o.customer_id) per"), {"c": campaign_id, "s": shop_id, "cs": str(campaign_id)})).one()
        orders = int((await session.execute(text(
            "SELECT count(*) FROM orders WHERE shop_id = :s AND promotion->>'campaign_id' = :cs"),
            {"s": shop_id, "cs": str(campaign_id)})).scalar_one())
        found = [v.detail for v in await queries.violations(session) if f"flash sale {campaign_id}:" in v.detail]
    return {"sold": int(row.sold), "orders": orders, "oversold": max(0, orders - units),
            "max_per_customer": int(row.max_per_customer), "violations": found,
            "exact": int(row.sold) == units and orders == units and int(row.max_per_customer) <= 1 and not found}


async def run(db: Database, database_url: str, *, opts: Options, redis_url: str | None) -> dict[str, Any]:
    shop, customers = await _shop(db, opts.customers)
    r = kit_redis.connect(redis_url) if redis_url else None
    paths: dict[str, list[dict[str, Any]]] = {"postgresql": []}
    if r is not None:
        paths["redis"] = []
    try:
        for n in range(opts.trials):
            for path, results in paths.items():
                results.append(await trial(db, shop, customers, opts, r if path == "redis" else None, seed=n))
        kit_redis.install(None)
        await db.engine.dispose()  # the floors need the connections
        floors = {"pgbench": await _pgbench(db, database_url, shop.id, customers, opts)}
        if r is not None and redis_url is not None:
            floors["redis_benchmark"] = await _redis_benchmark(r, redis_url, shop.id, opts)
    finally:
        if r is not None:
            await r.aclose()
    return _summary(paths, floors, opts)


def _summary(paths: dict[str, list[dict[str, Any]]], floors: dict[str, Any], opts: Options) -> dict[str, Any]:
    out: dict[str, Any] = {"options": opts.__dict__, "floors": floors, "paths": {}}
    floor_of = {"postgresql": floors.get("pgbench"), "redis": floors.get("redis_benchmark")}
    for path, trials in paths.items():
        floor = floor_of[path] or {}
        entries = statistics.median(t["entries_per_s"] for t in trials)
        out["paths"][path] = {
            "trials": trials, "all_exact": all(t["exact"] for t in trials),
            "oversold": max(t["oversold"] for t in trials),
            "max_per_customer": max(t["max_per_customer"] for t in trials),
            "orders_per_s": statistics.median(t["orders_per_s"] for t in trials),
            "entries_per_s": entries, "entry_p99_ms": statistics.median(t["entry_p99_ms"] for t in trials),
            "floor_per_s": floor.get("per_s"), "floor_p99_ms": floor.get("p99_ms"),
            "ratio_entries_to_floor": round(entries / floor["per_s"], 3) if floor.get("per_s") else None}
    return out


async def _pgbench(db: Database, url: str, shop_id: int, customers: list[int], opts: Options) -> dict[str, Any]:
    """The guarded statement (campaign + the customer's units) on a fresh hot row, one per transaction."""
    if shutil.which("pgbench") is None:
        return {"skipped": "pgbench not on the PATH"}
    async with db.sessions() as session:
        shop = await shops.shop_by_id(session, shop_id)
    campaign_id, sku = await _slot(db, shop, opts.units)
    await db.engine.dispose()
    sql = TAKE
    for name, value in {":q": "1", ":c": str(campaign_id), ":s": str(shop_id), ":sku": str(sku), ":at": "now()",
                        ":cust": ":cust"}.items():
        sql = re.sub(re.escape(name) + r"\b", value, sql)
    script = f"\\set cust random({min(customers)}, {max(customers)})\n{sql};\n"
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
    parts = urlsplit(url)
    cmd = ["pgbench", "-n", "-M", "prepared", "-c", str(opts.clients), "-j", "2",
           "-t", str(max(1, opts.attempts // opts.clients)), "-f", f.name, "-h", parts.hostname or "127.0.0.1",
           "-p", str(parts.port or 5432), "-U", parts.username or "postgres", parts.path.lstrip("/")]
    done = await asyncio.to_thread(subprocess.run, cmd, capture_output=True, text=True, check=False)
    tps = re.search(r"tps = ([\d.]+) \(without initial", done.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    async with db.sessions() as session:
        sold = (await session.execute(text("SELECT sold FROM flashsale_campaigns WHERE id = :c"),
                                      {"c": campaign_id})).scalar_one()
    return {"per_s": float(tps.group(1)) if tps else None,
            "latency_avg_ms": float(latency.group(1)) if latency else None, "p99_ms": None, "sold": int(sold),
            "oversold": max(0, int(sold) - opts.units), "script": script,
            "error": None if tps else (done.stderr or done.stdout)[-2000:]}


async def _redis_benchmark(r: Redis, url: str, shop_id: int, opts: Options) -> dict[str, Any]:
    """The entry script by EVALSHA on a fresh hot key (the counters set as a rebuild would), queueing."""
    if shutil.which("redis-benchmark") is None:
        return {"skipped": "redis-benchmark not on the PATH"}
    keys = redis_stock.Keys(10**15 + random.randrange(10**9))
    now = redis_stock.ms(clock.now())
    await r.hset(keys.state, mapping={"left": opts.units, "limit": 1, "starts": now - 1000, "ends": now + 3600_000,  # type: ignore[misc]
                                      "open": "1", "shop": shop_id, "epoch": "bench", "stock": opts.units})
    sha = await r.script_load(redis_stock.ENTER)
    parts = urlsplit(url)
    payload = '{"id":"bench","c":1,"q":1,"a":{},"pm":"wechat","t":0}'
    cmd = ["redis-benchmark", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 6379), "-c",
           str(opts.clients), "-n", str(opts.attempts), "-r", str(opts.customers), "--csv", "EVALSHA", sha, "5",
           keys.state, keys.bought, keys.queue, keys.pending, "liebian:fs:bench-queued", str(now), "__rand_int__", "1",
           "bench-__rand_int__", payload, "queue", str(keys.campaign_id), str(shop_id)]
    done = await asyncio.to_thread(subprocess.run, cmd, capture_output=True, text=True, check=False)
    # The first field is the command line (the payload's quotes unescaped): the figures are the last seven.
    rows = [[f.strip('"') for f in line.split(",")[-7:]] for line in done.stdout.splitlines()
            if line.startswith('"EVALSHA')]
    left = int(await r.hget(keys.state, "left") or 0)  # type: ignore[misc]
    queued = int(await r.llen(keys.queue))  # type: ignore[misc]
    await r.delete(keys.state, keys.bought, keys.queue, keys.pending, "liebian:fs:bench-queued")
    if not rows:
        return {"per_s": None, "error": (done.stderr or done.stdout)[-2000:]}
    fields = rows[0]
    return {"per_s": float(fields[0]), "p50_ms": float(fields[3]), "p99_ms": float(fields[5]), "left": left,
            "taken": queued, "oversold": max(0, queued - opts.units)}
