"""A worker process killed with SIGKILL in the middle of a batch: its transaction rolls back as a whole, a fresh
worker finishes the work, and nothing is done twice or lost — checked item by item and by ``liebian check``.

Real processes over real HTTP: the package's deployment (API processes that run no worker, the fake WeChat in
this process so that what reached WeChat can be counted, a scratch database) and ``liebian worker`` processes.
The killed worker is the real worker with small, slowed batches (:mod:`tests.reliability.slow_worker`), so that
the kill lands inside one.

Runs on the machine's PostgreSQL pass of ``make test`` (see ``conftest.PROCESS_PASS``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from liebian.kit.db import Database
from tests.api.distribution_helpers import DAY, enable, money
from tests.conftest import ShopHarness
from tests.reliability.conftest import PROCESS_PASS
from tests.reliability.harness import Cluster, Proc, wait_for

pytestmark = PROCESS_PASS


Checks = Callable[[Database], Awaitable[list[Any]]]


@pytest.fixture
def shop(remote_shop: ShopHarness) -> ShopHarness:
    return remote_shop


async def login(shop: ShopHarness, name: str) -> tuple[dict[str, str], int]:
    r = await shop.client.post(f"{shop.base}/auth/wechat-login", json={"code": f"sandbox:{name}"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}, int(r.json()["customer"]["id"])


async def invite(shop: ShopHarness, inviter: dict[str, str], invitee: dict[str, str]) -> None:
    r = await shop.client.get(f"{shop.base}/promoter/me", headers=inviter)
    assert r.status_code == 200, r.text
    r = await shop.client.post(f"{shop.base}/promoter/invitations", json={"code": r.json()["invite_code"]},
                               headers=invitee)
    assert r.status_code == 200, r.text


def markers(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def unfinished_batch(path: Path, sweep: str) -> list[str] | None:
    """The items of the batch in progress (begun, items done, not returned), or None between batches."""
    lines = [m for m in markers(path) if len(m) >= 2 and m[1] == sweep]
    begins = [i for i, m in enumerate(lines) if m[0] == "begin"]
    if not begins or any(m[0] == "end" for m in lines[begins[-1]:]):
        return None
    return [m[2] for m in lines[begins[-1]:] if m[0] == "item"]


async def kill_inside_a_batch(worker: Proc, path: Path, sweep: str, committed: Any) -> list[str]:
    """SIGKILL the worker once a batch has committed and the next one has done some items, not yet returned;
    returns those items (their work must vanish with the transaction)."""

    async def ready() -> list[str] | None:
        assert worker.popen.poll() is None, worker.output()
        if await committed() == 0:
            return None
        items = unfinished_batch(path, sweep)
        return items or None

    items: list[str] = await wait_for(ready, timeout=90, interval=0.02, what=f"a {sweep} batch in progress")
    worker.kill9()
    return items


async def scalar(shop: ShopHarness, sql: str, **params: Any) -> int:
    return int(await shop.scalar(sql, **params) or 0)


# --- settlements -----------------------------------------------------------------------------------------------

async def test_a_worker_killed_inside_a_settlement_batch_settles_nothing_twice(
        shop: ShopHarness, deployment: Cluster, tmp_path: Path, violations: Checks) -> None:
    await enable(shop)  # two levels, 10% and 5%, settled 7 days after completion
    a, id_a = await login(shop, "a")
    b, id_b = await login(shop, "b")
    await invite(shop, a, b)
    cheap, dear = await shop.sku(price_fen=1000, stock=100), await shop.sku(price_fen=2300, stock=100)
    orders = []
    for i in range(10):
        buyer, _ = await login(shop, f"buyer{i}")
        await invite(shop, b, buyer)
        order = await shop.place(buyer, [{"sku_id": cheap, "quantity": 1}, {"sku_id": dear, "quantity": 1}])
        await shop.pay(order)
        await shop.ship_and_receive(buyer, order["order_no"])
        orders.append(order["order_no"])
    rows = "SELECT count(*) FROM distribution_commissions WHERE shop_id = :shop"
    assert await scalar(shop, rows + " AND status = 'pending'") == 40  # 10 orders x 2 lines x 2 levels
    await shop.advance(8 * DAY)

    path = tmp_path / "markers"
    # Batches of 8 rows = 2 orders (an order's rows are due together), each order followed by a pause.
    worker = deployment.start_worker(slow=True, RELIABILITY_BATCH="8", RELIABILITY_DELAY="0.4",
                                     RELIABILITY_MARKERS=str(path))
    in_flight = await kill_inside_a_batch(
        worker, path, "settle", lambda: scalar(shop, rows + " AND status = 'settled'"))
    settled_orders = {no for no, in await shop.rows(
        "SELECT DISTINCT order_no FROM distribution_commissions WHERE shop_id = :shop AND status = 'settled'")}
    assert settled_orders and set(in_flight) <= set(orders) and not settled_orders & set(in_flight), \
        (settled_orders, in_flight)  # what the killed batch did is gone with its transaction
    assert await scalar(shop, rows + " AND status = 'settled'") == 4 * len(settled_orders)
    assert await scalar(shop, "SELECT count(*) FROM ledger_transactions WHERE shop_id = :shop "
                              "AND kind = 'commission.settle'") == len(settled_orders)

    fresh = deployment.start_worker()
    await wait_for(lambda: _none_pending(shop, rows), timeout=90, what="the fresh worker to settle the rest")
    assert fresh.stop() == 0, fresh.output()

    assert await scalar(shop, rows + " AND status = 'settled'") == 40
    postings = await shop.rows("SELECT ref FROM ledger_transactions WHERE shop_id = :shop "
                               "AND kind = 'commission.settle'")
    assert len(postings) == 10 == len({r for r, in postings})  # one settlement per order, none twice
    for customer, share in ((id_b, 330), (id_a, 165)):  # 10% / 5% of 1000 + 2300 per order
        balances = await money(shop, customer)
        assert balances == {"pending": 0, "withdrawable": 10 * share, "debt": 0}, (customer, balances)
    # Sales volume is counted outside the ledger: a batch run twice would have counted it twice.
    assert await scalar(shop, "SELECT sales_fen FROM distribution_promoters WHERE shop_id = :shop "
                              "AND customer_id = :c", c=id_b) == 10 * 3300
    assert await violations(shop.db) == []


async def _none_pending(shop: ShopHarness, rows: str) -> bool:
    return await scalar(shop, rows + " AND status = 'pending'") == 0


# --- group deadlines and the refunds they start ----------------------------------------------------------------

async def test_a_worker_killed_inside_a_deadline_sweep_and_after_asking_for_a_refund_refunds_each_once(
        shop: ShopHarness, deployment: Cluster, tmp_path: Path, violations: Checks) -> None:
    fake = deployment.fake
    assert fake is not None
    sku = await shop.sku(price_fen=1000, stock=50)
    r = await shop.client.post("/api/v1/console/groupbuy/campaigns", headers=shop.staff, json={
        "sku_id": sku, "group_size": 3, "group_price_fen": 800, "duration_seconds": 3600})
    assert r.status_code == 201, r.text
    campaign = r.json()["id"]
    leaders, joiners = [], []
    for i in range(8):  # 8 groups: the leader paid, a second member joined and never paid
        leader, _ = await login(shop, f"leader{i}")
        joiner, _ = await login(shop, f"joiner{i}")
        opened = await _group_order(shop, leader, sku, campaign)
        await shop.pay(opened)
        leaders.append(opened)
        joiners.append(await _group_order(shop, joiner, sku, campaign, opened["promotion"]["group_id"]))
    assert await shop.stock(sku) == 50 - 16
    groups = "SELECT count(*) FROM groupbuy_groups WHERE shop_id = :shop"
    assert await scalar(shop, groups + " AND status = 'open'") == 8
    await shop.advance(3601)

    path = tmp_path / "markers"
    worker = deployment.start_worker(slow=True, RELIABILITY_BATCH="3", RELIABILITY_DELAY="0.4",
                                     RELIABILITY_MARKERS=str(path))
    in_flight = await kill_inside_a_batch(worker, path, "close",
                                          lambda: scalar(shop, groups + " AND status = 'failed'"))
    failed = {g for g, in await shop.rows("SELECT id FROM groupbuy_groups WHERE shop_id = :shop "
                                          "AND status = 'failed'")}
    assert failed and not failed & {int(g) for g in in_flight}, (failed, in_flight)
    assert await scalar(shop, "SELECT count(*) FROM payment_refunds WHERE shop_id = :shop") == len(failed)

    # Again, killed this time right after WeChat Pay was asked for a refund, before that was recorded.
    path = tmp_path / "markers-refund"
    worker = deployment.start_worker(slow=True, RELIABILITY_BATCH="10", RELIABILITY_DELAY="0",
                                     RELIABILITY_REFUND_DELAY="2", RELIABILITY_MARKERS=str(path))
    asked = await wait_for(lambda: _refund_asked(path), timeout=90, interval=0.02, what="a refund asked")
    worker.kill9()
    assert await scalar(shop, "SELECT count(*) FROM payment_refunds WHERE id = :id AND status = 'pending'",
                        id=asked) == 1  # our side never heard the answer

    fresh = deployment.start_worker()
    await wait_for(lambda: _all_settled(shop, leaders, joiners), timeout=120, what="every group closed and refunded")
    assert fresh.stop() == 0, fresh.output()

    assert await scalar(shop, groups + " AND status = 'failed'") == 8
    for order in leaders:
        otn = order["payment"]["out_trade_no"]
        assert await shop.rows("SELECT status, amount_fen FROM payment_refunds WHERE out_refund_no LIKE :p",
                               p=f"{otn}R%") == [("succeeded", 800)]
        assert [r.out_refund_no for r in fake.refunds().values() if r.out_trade_no == otn] == [f"{otn}R1"]
    asked_no = await shop.scalar("SELECT out_refund_no FROM payment_refunds WHERE id = :id", id=asked)
    # Asked again after the kill (the same out_refund_no: the same refund), unless WeChat's notification of it
    # came first and the retry found it settled; one refund either way.
    assert fake.refund_calls()[asked_no] in (1, 2)
    assert await scalar(shop, "SELECT count(*) FROM ledger_transactions WHERE shop_id = :shop AND kind = 'refund'") == 8
    assert await shop.stock(sku) == 50  # every unit back once: 8 refunded leaders, 8 released seats
    async with shop.db.sessions() as session:
        from liebian.ledger import service as ledger

        assert (await ledger.balances(session, shop.shop_id)).get("cash:wechat", 0) == 0
    assert await violations(shop.db) == []


async def _group_order(shop: ShopHarness, buyer: dict[str, str], sku: int, campaign: int,
                       group: int | None = None) -> dict[str, Any]:
    promotion: dict[str, Any] = {"kind": "groupbuy", "campaign_id": campaign}
    if group is not None:
        promotion["group_id"] = group
    return await shop.place(buyer, [{"sku_id": sku, "quantity": 1}], promotion=promotion)


async def _refund_asked(path: Path) -> int | None:
    asked = [m for m in markers(path) if m[0] == "refund-asked"]
    return int(asked[-1][1]) if asked else None


async def _all_settled(shop: ShopHarness, leaders: list[dict[str, Any]], joiners: list[dict[str, Any]]) -> bool:
    statuses = dict(await shop.rows("SELECT order_no, status FROM orders WHERE shop_id = :shop"))
    return all(statuses[o["order_no"]] == "refunded" for o in leaders) and \
        all(statuses[o["order_no"]] == "cancelled" for o in joiners) and \
        await scalar(shop, "SELECT count(*) FROM kit_outbox WHERE shop_id = :shop AND done_at IS NULL") == 0
