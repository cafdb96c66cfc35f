"""``flashsale``: a hot flash-sale slot, on both paths, against its floors and the API's own ping ceiling.

Per repetition, on a scratch database and a private ``redis-server`` (no persistence):

1. The engine (``liebian.flashsale.bench``, what ``POST flashsale/.../entries`` runs below HTTP): a fresh slot,
   ``attempts`` entries by random customers from ``clients`` clients on the PostgreSQL path, then on the Redis
   path; floors ``pgbench -M prepared`` running the same guarded statement on a fresh hot row and
   ``redis-benchmark`` running the same Lua script (EVALSHA) on a fresh hot key. Exactly the units sold,
   nobody over the limit of 1.
2. Through HTTP, the Redis path (``liebian serve --workers 2`` with ``LIEBIAN_REDIS_URL``): a fresh slot, then
   the load generator's clients post entries for random customers for a warm-up and the measured window,
   every answer decided (202 queued, 409 sold out or over the limit) counted; then ``GET /healthz`` (a
   route doing nothing) with the same generator, clients and window: the API's own ping ceiling. Target:
   entries/s ≥ 0.6 of the ping ceiling. Once the drains have made the orders: no oversell, at most one each.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from liebian.benchmarks import harness, loadgen
from liebian.benchmarks.figures import Outcome, Sample, at_least, exactly
from liebian.benchmarks.harness import unlimited_env
from liebian.benchmarks.orders import ADDRESS
from liebian.benchmarks.scenarios import Options

SLUG = "bench-flashsale"


class PrivateRedis:
    """``redis-server`` on a free port of 127.0.0.1, nothing saved; killed at the end."""

    def __init__(self, work: Path) -> None:
        self.binary = shutil.which("redis-server")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.work = work
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        if self.binary is None:
            raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server)")
        self.proc = subprocess.Popen(  # noqa: ASYNC220 (a server: started, not waited for)
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.work), "--protected-mode", "yes", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        for _ in range(200):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


# --- 1. the engine and its floors ----------------------------------------------------------------------------

async def engine(url: str, redis_url: str, opts: Options, rep: int) -> dict[str, Any]:
    from liebian import wiring
    from liebian.flashsale import bench
    from liebian.kit.db import Database, make_engine
    from liebian.payments.providers import registry
    from liebian.replay import InstantPay
    from liebian.settings import Mode, Settings

    attempts = 1000 if opts.quick else max(2000, round(1000 * opts.seconds))
    units = max(50, attempts // 20)
    engine_opts = bench.Options(attempts=attempts, units=units, clients=opts.clients, trials=1,
                                customers=max(units, attempts // 4))
    wiring.install(Settings(mode=Mode.SANDBOX, database_url=url, redis_url=redis_url))
    db = Database(make_engine(url, pool_size=opts.clients + 4, max_overflow=0))
    try:
        with registry.preserved():
            registry.install("wechat", InstantPay())  # payment intents without cryptography (as the replay)
            result: dict[str, Any] = await bench.run(db, url, opts=engine_opts, redis_url=redis_url)
    finally:
        await db.dispose()
    result["rep"] = rep
    return result


def engine_samples(result: dict[str, Any]) -> list[Sample]:
    pg, rd = result["paths"]["postgresql"], result["paths"]["redis"]
    floors = result["floors"]
    out = [
        Sample("PostgreSQL path: entries/s", pg["entries_per_s"], "/s", pg["floor_per_s"],
               "pgbench, same guarded statement, hot row"),
        Sample("PostgreSQL path: orders/s", pg["orders_per_s"], "/s"),
        Sample("PostgreSQL path: entry p99", pg["entry_p99_ms"], "ms"),
        Sample("Redis path: entries/s (engine)", rd["entries_per_s"], "/s", rd["floor_per_s"],
               "redis-benchmark, same Lua (EVALSHA)"),
        Sample("Redis path: orders/s (engine)", rd["orders_per_s"], "/s"),
        Sample("Redis path: entry p99 (engine)", rd["entry_p99_ms"], "ms", rd["floor_p99_ms"], "redis-benchmark",
               inverse=True),
        Sample("check: oversold (engine, both paths)", max(pg["oversold"], rd["oversold"]), "", target=exactly(0),
               check=True),
        Sample("check: not exact (engine)", int(not (pg["all_exact"] and rd["all_exact"])), "", target=exactly(0),
               check=True),
        Sample("check: floors oversold", max(floors.get("pgbench", {}).get("oversold", 0) or 0,
                                             floors.get("redis_benchmark", {}).get("oversold", 0) or 0), "",
               target=exactly(0), check=True),
    ]
    return out


# --- 2. through HTTP, against the ping ceiling ------------------------------------------------------------------

@dataclass(frozen=True)
class Shop:
    staff: dict[str, str]
    sku: int
    tokens: list[str]
    customers: list[int]


async def seed(base_url: str, customers: int) -> Shop:
    from liebian.benchmarks.orders import _expect

    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        shop = _expect(await client.post("/api/v1/sandbox/shops", json={"slug": SLUG, "name": "压测: 秒杀"}), 201)
        staff = {"Authorization": f"Bearer {shop['staff_token']}"}
        product = _expect(await client.post("/api/v1/console/products", headers=staff, json={
            "title": "秒杀商品", "skus": [{"specs": {}, "price_fen": 9900, "stock": 10_000_000}]}), 201)
        limit = asyncio.Semaphore(8)

        async def login(i: int) -> tuple[int, str]:
            async with limit:
                body = _expect(await client.post(f"/api/v1/shops/{SLUG}/auth/wechat-login",
                                                  json={"code": f"sandbox:flash-buyer-{i}"}), 200)
            return int(body["customer"]["id"]), str(body["access_token"])

        logins = await asyncio.gather(*(login(i) for i in range(customers)))
    return Shop(staff, int(product["skus"][0]["id"]), [t for _, t in logins], [c for c, _ in logins])


async def new_slot(base_url: str, shop: Shop, units: int) -> int:
    from liebian.benchmarks.orders import _expect

    now = datetime.now(UTC)
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        # A product of its own per repetition: two live slots of one SKU may not overlap (the shop's rule).
        product = _expect(await client.post("/api/v1/console/products", headers=shop.staff, json={
            "title": "秒杀商品", "skus": [{"specs": {}, "price_fen": 9900, "stock": 10_000_000}]}), 201)
        made = _expect(await client.post("/api/v1/console/flashsale/campaigns", headers=shop.staff, json={
            "sku_id": int(product["skus"][0]["id"]), "price_fen": 100, "stock": units, "per_customer_limit": 1,
            "starts_at": (now - timedelta(minutes=5)).isoformat(),
            "ends_at": (now + timedelta(hours=2)).isoformat()}), 201)
    return int(made["id"])


def entry_requests(shop: Shop, campaign: int, count: int = 4096) -> list[bytes]:
    import random

    rng = random.Random(campaign)
    body = json.dumps({"quantity": 1, "address": ADDRESS}, ensure_ascii=False).encode()
    path = f"/api/v1/shops/{SLUG}/flashsale/campaigns/{campaign}/entries"
    return [loadgen.request_bytes("POST", path, body=body,
                                  headers={"Authorization": f"Bearer {rng.choice(shop.tokens)}"})
            for _ in range(count)]


async def settled(url: str, campaign: int, seconds: float = 60) -> dict[str, Any]:
    """Once the drains are done (the orders stop changing): sold, orders, the most one customer bought."""
    conn = await asyncpg.connect(url)
    try:
        last, stable, deadline = None, 0, time.monotonic() + seconds
        while time.monotonic() < deadline:
            row = await conn.fetchrow(
                "SELECT (SELECT sold FROM flashsale_campaigns WHERE id = $1) AS sold, (SELECT stock FROM "
                "flashsale_campaigns WHERE id = $1) AS units, count(*) AS orders, coalesce(max(n), 0) AS most, "
                "extract(epoch FROM max(last) - min(first)) AS span FROM (SELECT o.customer_id, count(*) AS n, "
                "min(o.created_at) AS first, max(o.created_at) AS last FROM orders o "
                "WHERE o.promotion->>'campaign_id' = $2 GROUP BY o.customer_id) per", campaign, str(campaign))
            state = dict(row)
            stable = stable + 1 if state == last else 0
            if stable >= 4:
                break
            last = state
            await asyncio.sleep(0.5)
    finally:
        await conn.close()
    orders = int(state["orders"])
    return {"sold": int(state["sold"] or 0), "units": int(state["units"]), "orders": orders,
            "most_per_customer": int(state["most"]), "span_s": float(state["span"] or 0)}


async def http_rep(server: harness.Server, url: str, shop: Shop, opts: Options, rep: int,
                   details: dict[str, Any]) -> list[Sample]:
    units = max(20, len(shop.customers) // 2)
    campaign = await new_slot(server.base_url, shop, units)
    ping = await loadgen.run(server.port, [loadgen.request_bytes("GET", "/healthz")], clients=opts.clients,
                             warmup=opts.warmup, seconds=opts.seconds, ok_status=frozenset({200}), seed=rep)
    entries = await loadgen.run(server.port, entry_requests(shop, campaign), clients=opts.clients,
                                warmup=opts.warmup, seconds=opts.seconds, ok_status=frozenset({201, 202, 409}),
                                seed=rep)
    done = await settled(url, campaign)
    details.update(ping=ping.as_json(), entries=entries.as_json(), settled=done, units=units)
    orders_per_s = done["orders"] / done["span_s"] if done["span_s"] > 0 else None
    unexpected = sum(v for k, v in entries.statuses.items() if k not in ("201", "202", "409"))
    return [
        Sample("Redis path through HTTP: entries/s", entries.per_second, "/s", ping.per_second,
               "GET /healthz, same load generator", at_least(0.6)),
        Sample("Redis path through HTTP: entry p99", entries.p99_ms, "ms", ping.p99_ms, "GET /healthz",
               inverse=True),
        Sample("Redis path through HTTP: orders/s", orders_per_s, "/s"),
        Sample("check: oversold (HTTP)", max(0, done["orders"] - done["units"]) + abs(done["orders"] - done["sold"]),
               "", target=exactly(0), check=True),
        Sample("check: over the limit of 1 (HTTP)", max(0, done["most_per_customer"] - 1), "", target=exactly(0),
               check=True),
        Sample("check: errors (HTTP)", unexpected + sum(entries.errors.values()) + sum(ping.errors.values()), "",
               target=exactly(0), check=True),
    ]


async def run(name: str, opts: Options) -> Outcome:
    if shutil.which("redis-server") is None:
        return Outcome(name, skipped="redis-server is not installed (Debian: apt-get install redis-server)")
    outcome = Outcome(name)
    work = Path(tempfile.mkdtemp(prefix="liebian-bench-flashsale-"))
    redis = PrivateRedis(work)
    await redis.start()
    try:
        async with harness.scratch_database(harness.admin_url()) as (_database, url):
            from liebian.kit.migrate import upgrade

            await asyncio.to_thread(upgrade, url)
            server = harness.Server(database_url=url, home=work / "home", workers=2, env_extra={
                "LIEBIAN_REDIS_URL": redis.url, "LIEBIAN_WORKER_POLL_SECONDS": "1", **unlimited_env()})
            shop: Shop | None = None
            for rep in range(opts.repeat):
                await server.start()
                try:
                    shop = shop or await seed(server.base_url, 40 if opts.quick else 400)
                    http: dict[str, Any] = {}
                    outcome.details.setdefault("http", []).append(http)
                    samples = await http_rep(server, url, shop, opts, rep, http)
                finally:
                    await server.stop()  # the engine and its floors need the connections and the cores
                result = await engine(url, redis.url, opts, rep)
                outcome.details.setdefault("engine", []).append(result)
                outcome.reps.append(engine_samples(result) + samples)
    finally:
        redis.stop()
        shutil.rmtree(work, ignore_errors=True)
    return outcome
