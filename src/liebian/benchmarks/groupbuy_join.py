"""``groupbuy-join``: buyers joining one hot group, and many groups, against pgbench running the same statements.

Each join is what ``POST orders`` with ``promotion {kind: groupbuy, group_id}`` runs below HTTP, in one
transaction on a driver session (as the hot route runs it): the shop read by slug, then ``checkout.place_order``
(the campaign, the group's guarded seat ``UPDATE``, the customer's units, the order, its line, the member, the
attribution, the SKU's guarded stock ``UPDATE`` taken last, and the payment). Payment intents come from the
replay's instant provider (no WeChat call, no cryptography), as in the group-buy replay and the flash-sale
engine. The clients are coroutines of this process, each with its own connection (no HTTP: the join's own cost,
as ``liebian bench flashsale`` measures entries).

- Groups are opened by their leaders (an order, paid) with the campaign's size (100), then made roomy (their
  ``size`` raised in the database) so that the window measures joins, not refusals of a full group: one hot
  group takes every join of a phase (a fresh one per phase: a customer joins a group once); the many groups
  (200; ``--quick``: 20) each take the joins whose customer falls on them.
- Floor: one join recorded with every statement (``recording``), run by ``pgbench -M prepared`` with as many
  connections for as long, each transaction a new customer (a per-connection counter) on the hot group, or on
  the customer's group among the many.
- Over-fill: a real group of 100 (its own campaign, nowhere else to be seated) raced by 150 joiners from the
  same number of clients: exactly 99 get a seat (the leader holds the first), the rest are refused; the group
  holds exactly as many members as seats taken, never more than its size.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from liebian.benchmarks import harness
from liebian.benchmarks.figures import Outcome, Sample, at_least, exactly
from liebian.benchmarks.orders import ADDRESS
from liebian.benchmarks.recording import Recorder, Recording, script, separate_id_ranges
from liebian.benchmarks.scenarios import Options

GROUP_SIZE = 100
ROOMY = 32_000  # groupbuy_groups.size is a smallint
PRICE_FEN = 2990


@dataclass
class Setup:
    db: Any
    slug: str
    shop_id: int
    campaign: int
    sku: int
    c0: int  # customers c0 .. c0 + customers - 1
    customers: int
    per_client: int  # the floor's customers per connection and phase
    groups: list[int] = field(default_factory=list)  # the many groups, contiguous ids
    pay: Any = None


async def _customers(db: Any, shop_id: int, n: int) -> int:
    from sqlalchemy import text

    from liebian.kit.clock import clock

    async with db.unit_of_work() as session:
        ids = (await session.execute(text(
            "INSERT INTO customers (shop_id, openid, nickname, is_new, created_at, last_login_at) "
            "SELECT :s, 'bench-join-' || g, 'j' || g, true, :now, :now FROM generate_series(1, :n) g RETURNING id"),
            {"s": shop_id, "n": n, "now": clock.now()})).scalars().all()
    ids = sorted(ids)
    if ids != list(range(ids[0], ids[0] + n)):
        raise RuntimeError("customer ids are not contiguous; the floor needs a range")
    return int(ids[0])


def _payer(db: Any) -> Any:
    from liebian.payments import service as payments
    from liebian.payments.providers import registry
    from liebian.replay import InstantPay

    provider = InstantPay()
    registry.install("wechat", provider)

    async def pay(placed: dict[str, Any]) -> None:
        raw = provider.notification(placed["payment"]["out_trade_no"], placed["payable_fen"])
        async with db.unit_of_work() as session:
            await payments.handle_notification(session, provider.name, {provider.HEADER: "1"}, raw)
    return pay


async def join(setup: Setup, customer: int, group: int | None, campaign: int | None = None) -> dict[str, Any]:
    """One join (``group`` None: open a group), as ``POST orders`` runs it below HTTP."""
    from liebian.orders import checkout
    from liebian.orders.schemas import LineIn, PlaceOrderIn, PromotionIn
    from liebian.shops.service import shop_by_slug

    body = PlaceOrderIn(lines=[LineIn(sku_id=setup.sku, quantity=1)], address=ADDRESS, payment_method="wechat",
                        promotion=PromotionIn(kind="groupbuy", campaign_id=campaign or setup.campaign,
                                              group_id=group))
    async with setup.db.driver_unit_of_work() as session:  # as the hot route runs it
        shop = await shop_by_slug(session, setup.slug)
        placed = await checkout.place_order(session, shop, customer, body, None)
    return placed.body


async def open_group(setup: Setup, leader: int, *, campaign: int | None = None, roomy: bool = True) -> int:
    from sqlalchemy import text

    placed = await join(setup, leader, None, campaign)
    await setup.pay(placed)
    group = int(placed["promotion"]["group_id"])
    if roomy:
        async with setup.db.unit_of_work() as session:
            await session.execute(text("UPDATE groupbuy_groups SET size = :n WHERE id = :g"), {"n": ROOMY, "g": group})
    return group


async def prepare(url: str, opts: Options) -> Setup:
    from liebian import wiring
    from liebian.catalog import service as catalog
    from liebian.catalog.schemas import ProductIn, SkuIn
    from liebian.groupbuy import campaigns
    from liebian.groupbuy.schemas import CampaignIn
    from liebian.kit.db import Database, make_engine
    from liebian.kit.migrate import upgrade
    from liebian.settings import Mode, Settings
    from liebian.shops import service as shops

    await asyncio.to_thread(upgrade, url)
    wiring.install(Settings(mode=Mode.SANDBOX, database_url=url))
    db = Database(make_engine(url, pool_size=4, max_overflow=0), driver_pool_size=opts.clients)
    await separate_id_ranges(db, 0)
    slug = f"join-{uuid.uuid4().hex[:8]}"
    async with db.unit_of_work() as session:
        shop, _ = await shops.create_shop(session, slug=slug, name="压测: 拼团", owner_email=f"{slug}@bench.sandbox",
                                          owner_password=uuid.uuid4().hex)
        product = await catalog.create_product(session, shop.id, ProductIn(
            title="拼团商品", skus=[SkuIn(price_fen=PRICE_FEN * 2, stock=10_000_000)]))
        sku = product.skus[0].id
        made = await campaigns.create(session, shop.id, CampaignIn(
            sku_id=sku, group_size=GROUP_SIZE, group_price_fen=PRICE_FEN, duration_seconds=24 * 3600))
    # The floor's connections each take their own customers, a new one per transaction, for a phase.
    per_client = round(500 * max(opts.seconds, 1) * (0.2 if opts.quick else 1)) + 200
    customers = opts.clients * per_client + 2000
    c0 = await _customers(db, shop.id, customers)
    setup = Setup(db, slug, shop.id, made.id, sku, c0, customers, per_client, pay=_payer(db))
    many = 20 if opts.quick else 200
    for i in range(many):  # the leaders are the last customers: the joins never take them
        setup.groups.append(await open_group(setup, c0 + customers - 1 - i))
    if setup.groups != list(range(setup.groups[0], setup.groups[0] + many)):
        raise RuntimeError("group ids are not contiguous; the floor needs a range")
    return setup


# --- joins from this process ------------------------------------------------------------------------------------

@dataclass
class Joins:
    per_second: float
    p50_ms: float | None
    p99_ms: float | None
    ok_in_window: int
    ok_total: int
    refused: dict[str, int]


async def joins(setup: Setup, opts: Options, *, group_of: Any, phase: int) -> Joins:
    """``clients`` coroutines joining for a warm-up and the window; each join a new customer."""
    from liebian.kit.errors import Problem

    next_customer = iter(range(setup.c0, setup.c0 + setup.customers - 2000))  # the floor's range
    start = time.perf_counter()
    window_start, window_end = start + opts.warmup, start + opts.warmup + opts.seconds
    latencies: list[float] = []
    refused: Counter[str] = Counter()
    total = [0]

    async def client() -> None:
        for customer in next_customer:
            t0 = time.perf_counter()
            if t0 >= window_end:
                return
            try:
                await join(setup, customer, group_of(customer, phase))
            except Problem as exc:
                refused[exc.code] += 1
                continue
            t1 = time.perf_counter()
            total[0] += 1
            if window_start <= t1 <= window_end:
                latencies.append(t1 - t0)

    await asyncio.gather(*(client() for _ in range(opts.clients)))
    latencies.sort()
    return Joins(len(latencies) / opts.seconds, harness.percentile(latencies, 50) * 1000 if latencies else None,
                 harness.percentile(latencies, 99) * 1000 if latencies else None, len(latencies), total[0],
                 dict(refused))


# --- the floor ----------------------------------------------------------------------------------------------------

async def record(setup: Setup, group: int) -> Recording:
    recorder = Recorder(setup.db)
    for i in range(4):  # the first ones warm the caches, the last one is kept
        recording = Recording()
        recorder.current = recording
        await join(setup, setup.c0 + setup.customers - 1500 - i, group)
        recorder.current = None
    return recording


def floor_script(recording: Recording, setup: Setup, recorded_group: int, *, hot: bool) -> str:
    customer = next(p for st in recording.statements if st.sql.startswith("INSERT INTO orders ")
                    for p in st.params if isinstance(p, int) and setup.c0 <= p < setup.c0 + setup.customers)
    head = ["\\set n :n + 1", f"\\set cust {setup.c0} + :client_id * {setup.per_client} + :n"]
    if hot:
        head.append("\\set grp :hot")
    else:
        head.append(f"\\set grp {setup.groups[0]} + ((:cust + :phase) % {len(setup.groups)})")
    return script(recording, head, {recorded_group: ":grp", customer: ":cust"})


async def pgbench(url: str, path: Path, opts: Options, work: Path, **variables: int) -> harness.PgbenchResult:
    """The script with ``-D`` variables; ``n``, each connection's counter of its own customers, starts at 0."""
    defines = {"n": 0, **variables}
    return await harness.run_pgbench(url, [path], clients=opts.clients, threads=2, seconds=opts.pgbench_seconds,
                                     work_dir=work, extra_args=[f"-D{k}={v}" for k, v in defines.items()])


async def fill_race(setup: Setup, clients: int) -> dict[str, Any]:
    """150 joiners race for the 99 free seats of a real group of 100, in a campaign of its own."""
    from sqlalchemy import text

    from liebian.groupbuy import campaigns
    from liebian.groupbuy.schemas import CampaignIn
    from liebian.kit.errors import Problem

    async with setup.db.unit_of_work() as session:
        made = await campaigns.create(session, setup.shop_id, CampaignIn(
            sku_id=setup.sku, group_size=GROUP_SIZE, group_price_fen=PRICE_FEN, duration_seconds=3600))
    first = setup.c0 + setup.customers - 1200  # customers no phase used
    group = await open_group(setup, first, campaign=made.id, roomy=False)
    joiners = iter(range(first + 1, first + 151))
    seated: Counter[str] = Counter()

    async def client() -> None:
        for customer in joiners:
            try:
                placed = await join(setup, customer, group, made.id)
                seated["here" if placed["promotion"]["group_id"] == group else "elsewhere"] += 1
            except Problem as exc:
                seated[exc.code] += 1

    await asyncio.gather(*(client() for _ in range(clients)))
    async with setup.db.sessions() as session:
        row = (await session.execute(text(
            "SELECT g.size, g.slots_taken, (SELECT count(*) FROM groupbuy_members m WHERE m.group_id = g.id "
            "AND m.status IN ('held', 'paid')) AS members FROM groupbuy_groups g WHERE g.id = :g"),
            {"g": group})).one()
    return {"size": row.size, "slots_taken": row.slots_taken, "members": row.members, "outcomes": dict(seated)}


async def members_of(setup: Setup, groups: list[int]) -> int:
    from sqlalchemy import text

    async with setup.db.sessions() as session:
        return int((await session.execute(text(
            "SELECT count(*) FROM groupbuy_members WHERE group_id = ANY(:g) AND status IN ('held', 'paid')"),
            {"g": groups})).scalar_one())


async def repetition(setup: Setup, url: str, work: Path, scripts: dict[str, Path], opts: Options,
                     rep: int) -> tuple[list[Sample], dict[str, Any]]:
    samples: list[Sample] = []
    detail: dict[str, Any] = {}
    mismatch = errors = 0
    top = setup.c0 + setup.customers  # the leaders of the hot groups are among the last customers
    for mode in ("hot", "many"):
        phase = rep * 2
        groups = [await open_group(setup, top - 300 - 2 * rep)] if mode == "hot" else setup.groups
        before = await members_of(setup, groups)
        api = await joins(setup, opts, phase=phase, group_of=(
            (lambda c, p, g=groups[0]: g) if mode == "hot"
            else (lambda c, p: setup.groups[0] + (c + p) % len(setup.groups))))
        mismatch += abs(await members_of(setup, groups) - before - api.ok_total)
        if mode == "hot":
            groups = [await open_group(setup, top - 301 - 2 * rep)]
        before = await members_of(setup, groups)
        await setup.db.dispose()  # pgbench needs the connections
        pg = await pgbench(url, scripts[mode], opts, work, hot=groups[0], phase=phase + 1)
        mismatch += abs(await members_of(setup, groups) - before - pg.transactions)
        errors += sum(api.refused.values()) + pg.failed
        label = "one hot group" if mode == "hot" else f"{len(setup.groups)} groups"
        samples += [
            Sample(f"{label}: joins/s", api.per_second, "/s", pg.tps, "pgbench, same statements", at_least(0.5)),
            Sample(f"{label}: p99", api.p99_ms, "ms", pg.p99_ms, "pgbench", inverse=True),
        ]
        detail[mode] = {"api": api.__dict__, "floor": {"tps": pg.tps, "transactions": pg.transactions,
                                                      "failed": pg.failed, "p99_ms": pg.p99_ms}}
    race = await fill_race(setup, opts.clients)
    detail["fill_race"] = race
    over = max(0, race["members"] - race["size"]) + abs(race["members"] - race["slots_taken"])
    samples += [
        Sample("check: over-fill (a group of 100 raced by 150)", over, "", target=exactly(0), check=True),
        Sample("check: seats taken in the raced group ≠ 99", abs(race["outcomes"].get("here", 0) - (GROUP_SIZE - 1)),
               "", target=exactly(0), check=True),
        Sample("check: members ≠ joins, pgbench transactions", mismatch, "", target=exactly(0), check=True),
        Sample("check: errors", errors, "", target=exactly(0), check=True),
    ]
    return samples, detail


async def run(name: str, opts: Options) -> Outcome:
    from liebian.payments.providers import registry

    outcome = Outcome(name)
    work = Path(tempfile.mkdtemp(prefix="liebian-bench-join-"))
    async with harness.scratch_database(harness.admin_url()) as (_database, url):
        with registry.preserved():
            setup = await prepare(url, opts)
            try:
                recorded_group = setup.groups[0]
                recording = await record(setup, recorded_group)
                scripts = {}
                for mode in ("hot", "many"):
                    scripts[mode] = work / f"join-{mode}.sql"
                    scripts[mode].write_text(floor_script(recording, setup, recorded_group, hot=mode == "hot"))
                outcome.details["floor_script"] = scripts["many"].read_text()
                statements = len(recording.statements)
                for rep in range(opts.repeat):
                    samples, detail = await repetition(setup, url, work, scripts, opts, rep)
                    outcome.reps.append([*samples, Sample("SQL per join", statements, "", None,
                                                          "counted in a recorded run, BEGIN/COMMIT apart")])
                    outcome.details.setdefault("reps", []).append(detail)
            finally:
                await setup.db.dispose()
    shutil.rmtree(work, ignore_errors=True)
    return outcome
