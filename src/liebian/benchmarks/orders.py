"""``orders`` and ``orders-hot``: orders placed through HTTP against pgbench running the same statements.

1. A scratch database, migrated, each table's ids in a range of its own (the recording tells rows apart).
2. ``liebian serve --workers 2`` on a free port of 127.0.0.1; through its API: a sandbox shop, 5 products of
   100 SKUs each (``--quick``: 1 of 20), 200 customers who log in (``--quick``: 40).
3. The counting run: in this process, the same application on the same database places a few orders with
   every statement recorded; the last one becomes the floor's pgbench script, and the statements per order
   are counted (pg_stat_statements is not loaded on a server we may not restart).
4. Per repetition: the load generator (``loadgen``: 32 keep-alive clients) posts orders for a random customer
   and a random SKU (``orders-hot``: always the same SKU) for a warm-up and the measured window; then
   ``pgbench -M prepared`` runs the recorded statements with as many connections for as long, for a random
   customer and SKU (the hot one). Orders are cash on delivery: no (fake) WeChat Pay call is measured.
5. Checks per repetition: the orders in the database are exactly the 201s and the pgbench transactions, and
   every unit of stock taken has its order line.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from liebian.benchmarks import harness, loadgen
from liebian.benchmarks.figures import Outcome, Sample, at_least, exactly
from liebian.benchmarks.harness import unlimited_env
from liebian.benchmarks.recording import Recorder, Recording, script, separate_id_ranges
from liebian.benchmarks.scenarios import Options

SLUG = "bench-orders"
PER_PRODUCT = 100
STOCK = 10_000_000
PRICE_FEN = 1990
ADDRESS = {"name": "压测", "phone": "13800138000", "province": "上海市", "city": "上海市", "district": "浦东新区",
           "detail": "世纪大道 1 号"}


@dataclass(frozen=True)
class Seeded:
    shop_id: int
    s0: int  # SKU ids s0 .. s0 + skus - 1; product of SKU s: p0 + (s - s0) / PER_PRODUCT
    skus: int
    p0: int
    customers: tuple[int, int]  # contiguous ids, lo .. hi
    tokens: list[str]


def _expect(response: httpx.Response, status: int) -> Any:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.method} {response.request.url.path} answered "
                           f"{response.status_code}: {response.text[:300]}")
    return response.json()


async def seed(base_url: str, *, skus: int, customers: int) -> Seeded:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        shop = _expect(await client.post("/api/v1/sandbox/shops", json={"slug": SLUG, "name": "压测: 下单"}), 201)
        staff = {"Authorization": f"Bearer {shop['staff_token']}"}
        sku_ids: list[int] = []
        product_ids: list[int] = []
        for first in range(0, skus, PER_PRODUCT):  # one product at a time: ids in order
            n = min(PER_PRODUCT, skus - first)
            product = _expect(await client.post("/api/v1/console/products", headers=staff, json={
                "title": "压测商品", "skus": [{"specs": {"款": f"{first + i}"}, "price_fen": PRICE_FEN, "stock": STOCK}
                                             for i in range(n)]}), 201)
            product_ids.append(int(product["id"]))
            sku_ids += sorted(int(s["id"]) for s in product["skus"])
        limit = asyncio.Semaphore(8)

        async def login(i: int) -> tuple[int, str]:
            async with limit:
                body = _expect(await client.post(f"/api/v1/shops/{SLUG}/auth/wechat-login",
                                                  json={"code": f"sandbox:bench-buyer-{i}"}), 200)
            return int(body["customer"]["id"]), str(body["access_token"])

        logins = await asyncio.gather(*(login(i) for i in range(customers)))
    s0, p0 = sku_ids[0], product_ids[0]
    ids = sorted(c for c, _ in logins)
    if sku_ids != list(range(s0, s0 + skus)) or product_ids != list(range(p0, p0 + len(product_ids))) \
            or ids != list(range(ids[0], ids[0] + len(ids))):
        raise RuntimeError("SKU, product or customer ids are not contiguous; the pgbench floor needs ranges")
    return Seeded(int(shop["shop"]["id"]), s0, skus, p0, (ids[0], ids[-1]), [t for _, t in logins])


def order_body(sku: int) -> bytes:
    return json.dumps({"lines": [{"sku_id": sku, "quantity": 1}], "payment_method": "cod",
                       "address": ADDRESS}, ensure_ascii=False).encode()


def order_requests(seeded: Seeded, *, hot: bool, count: int = 4096, seed: int = 1) -> list[bytes]:
    """Ready requests: a random customer each, a random SKU (or the hot one)."""
    import random

    rng = random.Random(seed)
    path = f"/api/v1/shops/{SLUG}/orders"
    out = []
    for _ in range(count):
        sku = seeded.s0 if hot else seeded.s0 + rng.randrange(seeded.skus)
        token = rng.choice(seeded.tokens)
        out.append(loadgen.request_bytes("POST", path, body=order_body(sku),
                                         headers={"Authorization": f"Bearer {token}"}))
    return out


async def record(url: str, home: Path, seeded: Seeded, *, hot: bool, orders: int = 6) -> list[Recording]:
    """Orders placed by the same application in this process, every statement recorded; the first few warm
    its caches (as the server's are warm), the rest are kept."""
    from liebian.app import create_app
    from liebian.kit.db import Database, make_engine
    from liebian.settings import Mode, Settings

    limits = {k.removeprefix("LIEBIAN_").lower(): v for k, v in unlimited_env().items()}
    settings = Settings(mode=Mode.SANDBOX, database_url=url, home=home).model_copy(update=limits)
    db = Database(make_engine(url, pool_size=2, max_overflow=0))
    app = create_app(settings, db=db)
    recorder = Recorder(db)
    kept: list[Recording] = []
    sku = seeded.s0 if hot else seeded.s0 + seeded.skus // 2
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.local", timeout=60) as client:
            for i in range(orders):
                recording = Recording()
                recorder.current = recording
                response = await client.post(f"/api/v1/shops/{SLUG}/orders", content=order_body(sku), headers={
                    "Authorization": f"Bearer {seeded.tokens[0]}", "Content-Type": "application/json"})
                recorder.current = None
                _expect(response, 201)
                if i >= 3:
                    kept.append(recording)
    finally:
        with suppress(Exception):
            await app.state.wechat.aclose()
        await db.dispose()
    return kept


def floor_script(recording: Recording, seeded: Seeded, *, hot: bool) -> str:
    lo, hi = seeded.customers
    sku = seeded.s0 if hot else seeded.s0 + seeded.skus // 2
    product = seeded.p0 + (sku - seeded.s0) // PER_PRODUCT
    customer = _recorded_customer(recording, seeded)
    if hot:
        head = [f"\\set sku {seeded.s0}", f"\\set prod {seeded.p0}"]
    else:
        head = [f"\\set k random(0, {seeded.skus - 1})", f"\\set sku {seeded.s0} + :k",
                f"\\set prod {seeded.p0} + :k / {PER_PRODUCT}"]
    head.append(f"\\set cust random({lo}, {hi})")
    return script(recording, head, {sku: ":sku", product: ":prod", customer: ":cust"})


def _recorded_customer(recording: Recording, seeded: Seeded) -> int:
    """The customer the recorded order was for (the first seeded token's)."""
    lo, hi = seeded.customers
    for st in recording.statements:
        if st.sql.startswith("INSERT INTO orders "):
            found = [p for p in st.params if isinstance(p, int) and lo <= p <= hi]
            if found:
                return found[0]
    raise RuntimeError("the recorded order names no seeded customer")


async def _counts(url: str) -> tuple[int, int]:
    """(orders, units of stock taken) in the scratch database."""
    conn = await asyncpg.connect(url)
    try:
        orders = int(await conn.fetchval("SELECT count(*) FROM orders"))
        taken = int(await conn.fetchval("SELECT coalesce(sum($1 - stock), 0) FROM skus", STOCK))
        lines = int(await conn.fetchval("SELECT coalesce(sum(quantity), 0) FROM order_lines"))
    finally:
        await conn.close()
    return orders, taken - lines


@dataclass
class Bench:
    """A server on a seeded scratch database, its requests and its floor script, ready for repetitions."""

    url: str
    server: harness.Server
    seeded: Seeded
    requests: list[bytes]
    floor: Path
    recordings: list[Recording]
    work: Path


async def prepare(url: str, work: Path, opts: Options, *, hot: bool, workers: int) -> Bench:
    from liebian.kit.db import Database, make_engine
    from liebian.kit.migrate import upgrade

    await asyncio.to_thread(upgrade, url)
    db = Database(make_engine(url, pool_size=1, max_overflow=0))
    try:
        await separate_id_ranges(db, 0)
    finally:
        await db.dispose()
    server = harness.Server(database_url=url, home=work / "home", workers=workers,
                            env_extra={"LIEBIAN_WORKER_POLL_SECONDS": "5", **unlimited_env()})
    await server.start()
    try:
        seeded = await seed(server.base_url, skus=20 if opts.quick else 500, customers=40 if opts.quick else 200)
        recordings = await record(url, server.home, seeded, hot=hot)
    except BaseException:
        await server.stop()
        raise
    floor = work / "orders-floor.sql"
    floor.write_text(floor_script(recordings[-1], seeded, hot=hot))
    return Bench(url, server, seeded, order_requests(seeded, hot=hot), floor, recordings, work)


async def api_load(bench: Bench, opts: Options, rep: int) -> loadgen.LoadResult:
    return await loadgen.run(bench.server.port, bench.requests, clients=opts.clients, warmup=opts.warmup,
                             seconds=opts.seconds, ok_status=frozenset({201}), seed=rep)


async def repetition(bench: Bench, opts: Options, rep: int, *, hot: bool) -> tuple[list[Sample], dict[str, Any]]:
    """The API's window, then the server is stopped (its connections closed: the server's PostgreSQL is shared
    and pgbench needs as many) and pgbench runs for as long."""
    if bench.server.proc is None or bench.server.proc.poll() is not None:
        await bench.server.start()
    before, _ = await _counts(bench.url)
    api = await api_load(bench, opts, rep)
    await bench.server.stop()
    after_api, _ = await _counts(bench.url)
    pg = await harness.run_pgbench(bench.url, [bench.floor], clients=opts.clients, threads=2,
                                   seconds=opts.pgbench_seconds, work_dir=bench.work)
    after_pg, untracked = await _counts(bench.url)
    answered_201 = api.total.get("201", 0)
    statements = [len(r.statements) for r in bench.recordings]
    target = at_least(0.6 if hot else 0.5)
    floor_is = "pgbench, same statements" + (", hot row" if hot else "")
    errors = sum(v for k, v in api.statuses.items() if k != "201") + sum(api.errors.values()) + pg.failed
    samples = [
        Sample("orders/s", api.per_second, "/s", pg.tps, floor_is, target),
        Sample("p50", api.p50_ms, "ms", pg.p50_ms, "pgbench", inverse=True),
        Sample("p99", api.p99_ms, "ms", pg.p99_ms, "pgbench", inverse=True),
        Sample("SQL per order", max(statements), "", None, "counted in a recorded run, BEGIN/COMMIT apart"),
        Sample("check: orders ≠ 201s, pgbench transactions",
               abs((after_api - before) - answered_201) + abs((after_pg - after_api) - pg.transactions), "",
               target=exactly(0), check=True),
        Sample("check: stock taken ≠ order lines", abs(untracked), "", target=exactly(0), check=True),
        Sample("check: errors", errors, "", target=exactly(0), check=True),
    ]
    detail = {"api": api.as_json(), "floor": {"tps": pg.tps, "transactions": pg.transactions, "failed": pg.failed,
                                              "p50_ms": pg.p50_ms, "p99_ms": pg.p99_ms, "command": pg.command}}
    return samples, detail


async def run(name: str, opts: Options) -> Outcome:
    hot = name == "orders-hot"
    outcome = Outcome(name)
    work = Path(tempfile.mkdtemp(prefix=f"liebian-bench-{name}-"))
    async with harness.scratch_database(harness.admin_url()) as (_database, url):
        bench = await prepare(url, work, opts, hot=hot, workers=2)
        try:
            outcome.details["floor_script"] = bench.floor.read_text()
            outcome.details["statements"] = [[s.sql for s in r.statements] for r in bench.recordings[-1:]]
            outcome.details["round_trips_per_order"] = bench.recordings[-1].round_trips()
            for rep in range(opts.repeat):
                samples, detail = await repetition(bench, opts, rep, hot=hot)
                outcome.reps.append(samples)
                outcome.details.setdefault("reps", []).append(detail)
        finally:
            await bench.server.stop()
    shutil.rmtree(work, ignore_errors=True)
    return outcome
