"""Replay a real group-buying log through the service layer (``liebian bench groupbuy-replay``).

The log is Beibei's (Zhang et al., ICDE 2021; ``../shared/data/beibei/``): one row per group, its initiator,
its item and, for groups that succeeded, the participants. Each group is replayed as it happened: the
initiator places an order that opens a group and pays it; each participant places an order that joins the
group and pays it; then the sandbox clock moves past the groups' deadline and the due jobs run, so groups
nobody filled fail and every payer is refunded through the payment provider. Orders go through
``orders.checkout.place_order``, payments through ``payments.handle_notification`` (the callback's own
path), the deadline through the sweepers and the outbox: the engine's code, without HTTP.

Payments: ``wechat`` uses the sandbox's fake WeChat Pay end to end (signed requests, verified and
decrypted notifications); ``instant`` (the default, for the whole log) a provider that confirms at once
without cryptography, so the figure measures the engine rather than RSA.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from liebian import checks
from liebian.app import create_app
from liebian.catalog import service as catalog
from liebian.catalog.schemas import ProductIn, SkuIn
from liebian.customers import service as customers
from liebian.customers.addresses import AddressIn
from liebian.groupbuy import campaigns
from liebian.groupbuy.schemas import CampaignIn
from liebian.kit import jobs
from liebian.kit.clock import clock
from liebian.kit.db import Database
from liebian.kit.errors import Unauthorized
from liebian.kit.sql import text
from liebian.orders import checkout
from liebian.orders.schemas import LineIn, PlaceOrderIn, PromotionIn
from liebian.payments import service as payments
from liebian.payments.providers import (
    Capability,
    CreatePayment,
    PaymentIntent,
    PaymentSnapshot,
    ProviderEvent,
    RefundCommand,
    RefundSnapshot,
    registry,
)
from liebian.settings import Settings
from liebian.shops import service as shops
from liebian.shops.service import ShopRef

DURATION_SECONDS = 24 * 3600  # a day to fill a group, as on Pinduoduo and Beibei
SETUP_CHUNK = 1000
ADDRESS = AddressIn(name="贝贝", phone="13800138000", province="浙江省", city="杭州市", district="西湖区",
                    detail="文三路 1 号")


@dataclass(frozen=True)
class LoggedGroup:
    initiator: int
    item: int
    participants: tuple[int, ...]
    succeeded: bool

    @property
    def size(self) -> int:
        # A failed row names nobody but its initiator: any size above one fails the same way; 2 is the common one.
        return 1 + len(self.participants) if self.succeeded else 2


def read_log(succeeded: Path, failed: Path | None, limit: int | None = None) -> list[LoggedGroup]:
    """``initiator item participant...`` rows (succeeded) and ``initiator item`` rows (failed)."""
    groups = list(_rows(succeeded, True, limit))
    if failed is not None:
        groups += _rows(failed, False, limit)
    return groups


def _rows(path: Path, succeeded: bool, limit: int | None) -> list[LoggedGroup]:
    found: list[LoggedGroup] = []
    with path.open() as lines:
        for number, line in enumerate(lines, 1):
            if limit is not None and len(found) >= limit:
                break
            ids = [int(x) for x in line.split()]
            if len(ids) < (3 if succeeded else 2):
                raise ValueError(f"{path}:{number}: expected initiator, item{', participants' if succeeded else ''}")
            found.append(LoggedGroup(ids[0], ids[1], tuple(ids[2:]) if succeeded else (), succeeded))
    return found


def synthetic_log(groups: int, *, seed: int = 7, users: int = 500, items: int = 40) -> list[LoggedGroup]:
    """A log shaped like Beibei's (42% succeeded, nearly all of two people, a few up to nine)."""
    rng = random.Random(seed)
    log = []
    for _ in range(groups):
        initiator, item = rng.randrange(users), rng.randrange(items)
        if rng.random() < 0.42:
            n = 1 if rng.random() < 0.97 else rng.randint(2, 8)
            others = rng.sample([u for u in range(users) if u != initiator], n)
            log.append(LoggedGroup(initiator, item, tuple(others), True))
        else:
            log.append(LoggedGroup(initiator, item, (), False))
    return log


class InstantPay:
    """A payment provider that confirms at once and refunds at once, without cryptography.

    Its notifications go through ``payments.handle_notification`` like WeChat's: stored once in the inbox,
    then the payment, the ledger, the order and its reactions.
    """

    name = "sandbox"
    merchant_id = "liebian-replay"
    HEADER = "x-liebian-replay"
    capabilities = frozenset({Capability.ONLINE, Capability.REFUND, Capability.ASYNC_NOTIFY})

    async def create(self, req: CreatePayment) -> PaymentIntent:
        return PaymentIntent(provider=self.name, out_trade_no=req.out_trade_no,
                             client_params={"out_trade_no": req.out_trade_no, "amount_fen": req.amount_fen})

    async def close(self, out_trade_no: str) -> None:
        return None

    async def query(self, out_trade_no: str) -> PaymentSnapshot | None:
        return None

    async def refund(self, req: RefundCommand) -> RefundSnapshot:
        return RefundSnapshot(req.out_refund_no, "succeeded", provider_refund_id=f"instant-{req.out_refund_no}")

    async def query_refund(self, out_refund_no: str) -> RefundSnapshot:
        return RefundSnapshot(out_refund_no, "succeeded", provider_refund_id=f"instant-{out_refund_no}")

    def parse_notification(self, headers: Mapping[str, str], raw: bytes) -> ProviderEvent:
        try:
            body = json.loads(raw)
            if headers.get(self.HEADER) != "1" or not isinstance(body, dict) or "event_id" not in body:
                raise ValueError("not a replay notification")
        except ValueError as exc:  # someone else's (a retry of the fake WeChat's): refused, retried later
            raise Unauthorized("not_a_replay_notification", "Only the replay's own notifications.") from exc
        return ProviderEvent(kind="payment.succeeded", event_id=body["event_id"], business_key=body["out_trade_no"],
                             amount_fen=body["amount_fen"], merchant_id=self.merchant_id,
                             provider_txn_id=body["event_id"], occurred_at=clock.now())

    @staticmethod
    def notification(out_trade_no: str, amount_fen: int) -> bytes:
        return json.dumps({"event_id": uuid.uuid4().hex, "out_trade_no": out_trade_no,
                           "amount_fen": amount_fen}).encode()


@dataclass
class ReplayResult:
    groups: int
    succeeded: int
    failed: int
    refunded_fen: int
    wall_s: float
    groups_per_s: float
    invariants_ok: bool | None  # None: not checked (--no-check)
    expected_succeeded: int
    expected_failed: int
    mismatched_groups: int
    orders: int
    refunds: int
    payments: str
    concurrency: int
    wave: int
    setup_s: float
    buying_s: float  # of wall_s: opening, joining and paying
    deadline_s: float  # of wall_s: the due jobs after each wave (failures, refunds)
    check_s: float
    violations: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Progress = Callable[[int], None]


@dataclass
class _Replay:
    db: Database
    shop: ShopRef
    customer_ids: dict[int, int]
    campaign_of: dict[tuple[int, int], tuple[int, int]]  # (item, size) → (campaign id, sku id)
    pay: Callable[[dict[str, Any]], Awaitable[None]]
    mismatched: int = 0
    buying_s: float = 0.0
    deadline_s: float = 0.0

    async def place(self, user: int, item: int, size: int, group_id: int | None) -> dict[str, Any]:
        campaign_id, sku_id = self.campaign_of[(item, size)]
        body = PlaceOrderIn(lines=[LineIn(sku_id=sku_id, quantity=1)], address=ADDRESS, payment_method="wechat",
                            promotion=PromotionIn(kind="groupbuy", campaign_id=campaign_id, group_id=group_id))
        async with self.db.unit_of_work() as session:
            placed = await checkout.place_order(session, self.shop, self.customer_ids[user], body, None)
        return placed.body

    async def group(self, g: LoggedGroup) -> int:
        opened = await self.place(g.initiator, g.item, g.size, None)
        group_id = int(opened["promotion"]["group_id"])
        await self.pay(opened)
        for participant in g.participants:
            joined = await self.place(participant, g.item, g.size, group_id)
            if joined["promotion"]["group_id"] != group_id:
                self.mismatched += 1  # seated elsewhere: the log says they joined this group
            await self.pay(joined)
        return group_id


async def replay(settings: Settings, db: Database, log: Sequence[LoggedGroup], *, concurrency: int = 8,
                 workers: int = 2, wave: int = 2000, payments_mode: str = "instant", seed: int = 1,
                 progress: Progress | None = None, check: bool = True, app: Any = None) -> ReplayResult:
    """Replay ``log`` into a new sandbox shop; the figures, the outcome of every group, and the invariants.

    ``app``: an application already built on ``db`` (its fake WeChat receives the payments); else one is made.
    The payment providers in place before are back in place after.
    """
    if not settings.sandbox:
        raise RuntimeError("the replay creates a sandbox shop and moves the sandbox clock: sandbox mode only")
    own_app = app is None
    with registry.preserved():
        app = create_app(settings, db=db) if own_app else app
        try:
            return await _replay(db, log, _payer(app, db, payments_mode), concurrency=concurrency, workers=workers,
                                 wave=wave, payments_mode=payments_mode, seed=seed, progress=progress, check=check)
        finally:
            if own_app:
                await app.state.wechat.aclose()


async def _replay(db: Database, log: Sequence[LoggedGroup], pay: Callable[[dict[str, Any]], Awaitable[None]], *,
                  concurrency: int, workers: int, wave: int, payments_mode: str, seed: int,
                  progress: Progress | None, check: bool) -> ReplayResult:
    started = time.perf_counter()
    ctx = await _setup(db, log, pay)
    setup_s = time.perf_counter() - started
    order = list(range(len(log)))
    random.Random(seed).shuffle(order)  # succeeded and failed groups interleaved, as they happened
    group_ids: dict[int, int] = {}
    started = time.perf_counter()
    for first in range(0, len(order), wave):
        await _wave(ctx, log, order[first:first + wave], group_ids, concurrency, workers, progress)
    wall_s = time.perf_counter() - started
    started = time.perf_counter()
    outcome = await _tally(db, ctx.shop.id, log, group_ids)
    if check:
        # Hundreds of thousands of rows written in minutes: fresh statistics first, as autovacuum would
        # give them (without, the checks' per-order lookups can pick a plan that scans the whole shop).
        async with db.unit_of_work() as session:
            await session.execute(text("ANALYZE"))
    found = await _violations(db) if check else []
    check_s = time.perf_counter() - started
    return ReplayResult(
        groups=len(log), succeeded=outcome["succeeded"], failed=outcome["failed"], refunded_fen=outcome["refunded_fen"],
        wall_s=round(wall_s, 3), groups_per_s=round(len(log) / wall_s, 1) if wall_s else 0.0,
        invariants_ok=not found if check else None, expected_succeeded=sum(g.succeeded for g in log),
        expected_failed=sum(not g.succeeded for g in log), mismatched_groups=outcome["mismatched"] + ctx.mismatched,
        orders=outcome["orders"], refunds=outcome["refunds"], payments=payments_mode, concurrency=concurrency,
        wave=wave, setup_s=round(setup_s, 3), buying_s=round(ctx.buying_s, 3), deadline_s=round(ctx.deadline_s, 3),
        check_s=round(check_s, 3), violations=found[:20])


def _payer(app: Any, db: Database, mode: str) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """How a buyer pays: the fake WeChat end to end, or the instant provider's notification."""
    if mode == "wechat":
        control = app.state.wechat.control

        async def pay_wechat(placed: dict[str, Any]) -> None:
            await control.pay(placed["payment"]["out_trade_no"], placed["payment"]["params"])
        return pay_wechat
    if mode != "instant":
        raise ValueError(f"unknown payments mode {mode!r}")
    provider = InstantPay()
    registry.install("wechat", provider)

    async def pay_instant(placed: dict[str, Any]) -> None:
        raw = provider.notification(placed["payment"]["out_trade_no"], placed["payable_fen"])
        async with db.unit_of_work() as session:
            await payments.handle_notification(session, provider.name, {provider.HEADER: "1"}, raw)
    return pay_instant


async def _setup(db: Database, log: Sequence[LoggedGroup], pay: Callable[[dict[str, Any]], Awaitable[None]]
                 ) -> _Replay:
    """A shop, a customer per user, a product per item (stock for every group), a campaign per (item, size)."""
    async with db.unit_of_work() as session:
        shop, _ = await shops.create_shop(session, slug=f"replay-{uuid.uuid4().hex[:10]}", name="贝贝拼团回放",
                                          owner_email=f"replay-{uuid.uuid4().hex[:10]}@replay.sandbox",
                                          owner_password=uuid.uuid4().hex)
    users = sorted({u for g in log for u in (g.initiator, *g.participants)})
    customer_ids: dict[int, int] = {}
    for chunk in _chunks(users, SETUP_CHUNK):
        async with db.unit_of_work() as session:
            for user in chunk:
                customer_ids[user] = (await customers.login(session, shop_id=shop.id, openid=f"beibei-{user}",
                                                            unionid=None, nickname=f"贝贝用户{user}")).id
    units = Counter(g.item for g in log for _ in range(1 + len(g.participants)))
    sizes = sorted({(g.item, g.size) for g in log})
    sku_of: dict[int, int] = {}
    campaign_of: dict[tuple[int, int], tuple[int, int]] = {}
    for chunk in _chunks(sizes, SETUP_CHUNK // 2):
        async with db.unit_of_work() as session:
            for item, size in chunk:
                price = _price(item)
                if item not in sku_of:
                    product = await catalog.create_product(session, shop.id, ProductIn(
                        title=f"贝贝商品 {item}", skus=[SkuIn(price_fen=price, stock=units[item])]))
                    sku_of[item] = product.skus[0].id
                made = await campaigns.create(session, shop.id, CampaignIn(
                    sku_id=sku_of[item], group_size=size, group_price_fen=price * 8 // 10,
                    duration_seconds=DURATION_SECONDS))
                campaign_of[(item, size)] = (made.id, sku_of[item])
    return _Replay(db=db, shop=shop, customer_ids=customer_ids, campaign_of=campaign_of, pay=pay)


def _price(item: int) -> int:
    return 990 + (item % 90) * 100


def _chunks(values: Sequence[Any], n: int) -> Iterable[Sequence[Any]]:
    for first in range(0, len(values), n):
        yield values[first:first + n]


async def _wave(ctx: _Replay, log: Sequence[LoggedGroup], rows: list[int], group_ids: dict[int, int],
                concurrency: int, workers: int, progress: Progress | None) -> None:
    """Every group of the wave opened, joined and paid by ``concurrency`` buyers at a time; then the
    deadline passes and ``workers`` workers run the due jobs, sharing them with ``SKIP LOCKED``."""
    queue = iter(rows)
    started = time.perf_counter()

    async def buyer() -> None:
        for row in queue:
            group_ids[row] = await ctx.group(log[row])
            if progress is not None:
                progress(1)

    await asyncio.gather(*(buyer() for _ in range(concurrency)))
    ctx.buying_s += time.perf_counter() - started
    started = time.perf_counter()
    async with ctx.db.unit_of_work() as session:
        await clock.advance(session, DURATION_SECONDS + 1)

    async def worker() -> None:
        while await jobs.run_due(ctx.db):
            pass

    await asyncio.gather(*(worker() for _ in range(workers)))
    ctx.deadline_s += time.perf_counter() - started


async def _tally(db: Database, shop_id: int, log: Sequence[LoggedGroup], group_ids: dict[int, int]) -> dict[str, int]:
    """What became of every group, against what the log says; money back for the failed ones."""
    async with db.sessions() as session:
        status = {r.id: r.status for r in await session.execute(
            text("SELECT id, status FROM groupbuy_groups WHERE shop_id = :s"), {"s": shop_id})}
        money = (await session.execute(text(
            "SELECT count(*) AS orders, coalesce(sum(refunded_fen) FILTER (WHERE status = 'refunded'), 0) AS refunded, "
            "count(*) FILTER (WHERE status = 'refunded' AND refunded_fen = payable_fen) AS refunded_orders "
            "FROM orders WHERE shop_id = :s"), {"s": shop_id})).one()
        refunds = int((await session.execute(text(
            "SELECT count(*) FROM payment_refunds WHERE shop_id = :s AND status = 'succeeded'"),
            {"s": shop_id})).scalar_one())
    counts = Counter(status[gid] for gid in group_ids.values())
    mismatched = sum(status[group_ids[row]] != ("succeeded" if g.succeeded else "failed") for row, g in enumerate(log))
    expected_refunds = sum(not g.succeeded for g in log)
    mismatched += abs(money.refunded_orders - expected_refunds) + abs(refunds - expected_refunds)
    return {"succeeded": counts["succeeded"], "failed": counts["failed"], "refunded_fen": int(money.refunded),
            "orders": int(money.orders), "refunds": refunds, "mismatched": mismatched}


async def _violations(db: Database) -> list[str]:
    """``liebian check``'s invariants, each in its own session: one that cannot run is reported, not fatal."""
    found: list[str] = []
    for name, check in checks.CHECKS:
        try:
            async with db.sessions() as session:
                found += [f"{name}: {v.detail}" for v in await check(session)]
        except Exception as exc:  # an invariant that cannot be checked is not an invariant that holds
            found.append(f"{name}: could not run ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})")
    return found
