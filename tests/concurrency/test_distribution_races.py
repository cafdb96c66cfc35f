"""Distribution's races on real PostgreSQL connections: replayed payment callbacks, withdrawals of one
balance at once, and two settlement workers."""

from __future__ import annotations

import asyncio

import pytest

from liebian.distribution import commissions
from liebian.events import OrderPaid
from liebian.kit.clock import clock
from liebian.kit.money import apply_bps
from tests.api.distribution_helpers import DAY, assert_checks, buy, enable, invite, money, whoami
from tests.conftest import ShopHarness

pytestmark = pytest.mark.concurrency


async def test_a_payment_callback_replayed_five_times_at_once_accrues_each_commission_once(
        shop: ShopHarness) -> None:
    await enable(shop)
    a, b, c = await shop.login("a"), await shop.login("b"), await shop.login("c")
    await invite(shop, a, b)
    await invite(shop, b, c)
    order = await shop.place(c, [{"sku_id": await shop.sku(price_fen=7777), "quantity": 2},
                                 {"sku_id": await shop.sku(price_fen=1234), "quantity": 1}])
    headers, raw = shop.paid_notification(order)
    responses = await asyncio.gather(*(shop.client.post("/api/v1/callbacks/wechat/pay", content=raw, headers=headers)
                                       for _ in range(5)))
    assert {r.status_code for r in responses} == {204}
    assert await shop.count("distribution_commissions") == 4  # 2 lines × 2 levels
    assert await shop.scalar("SELECT count(*) FROM ledger_transactions WHERE shop_id = :shop "
                             "AND kind = 'commission.accrue'") == 1
    paid = 7777 * 2 + 1234
    assert (await money(shop, whoami(shop, b)))["pending"] == apply_bps(7777 * 2, 1000) + apply_bps(1234, 1000)
    assert (await money(shop, whoami(shop, a)))["pending"] == apply_bps(7777 * 2, 500) + apply_bps(1234, 500)
    assert paid > 0
    # The same event handled again (a retried reaction) inserts and posts nothing.
    async with shop.db.unit_of_work() as session:
        order_id = await shop.scalar("SELECT id FROM orders WHERE order_no = :no", no=order["order_no"])
        await commissions.on_order_paid(session, OrderPaid(
            shop_id=shop.shop_id, order_id=order_id, order_no=order["order_no"], customer_id=whoami(shop, c),
            payable_fen=paid, paid_at=clock.now()))
    assert await shop.count("distribution_commissions") == 4
    await assert_checks(shop)


async def test_ten_concurrent_withdrawals_of_the_whole_balance_pay_out_once(shop: ShopHarness) -> None:
    await enable(shop, levels=1, level_rates_bps=[1000], withdrawal_auto_approve_fen=100_000)
    p, buyer = await shop.login("p"), await shop.login("buyer")
    await invite(shop, p, buyer)
    order = await buy(shop, buyer, [{"sku_id": await shop.sku(price_fen=30_000), "quantity": 1}])
    await shop.ship_and_receive(buyer, order["order_no"])
    await shop.advance(8 * DAY)
    await shop.run_due()
    p = await shop.login("p")
    pid = whoami(shop, p)
    assert (await money(shop, pid))["withdrawable"] == 3000

    async def withdraw(i: int) -> int:
        r = await shop.client.post(f"{shop.base}/promoter/withdrawals", json={"amount_fen": 3000},
                                   headers={**p, "Idempotency-Key": f"withdraw-all-{i:02d}"})
        assert r.status_code in (201, 409), r.text
        if r.status_code == 409:
            assert r.json()["code"] in ("insufficient_balance", "withdrawal_daily_limit")
        return r.status_code

    codes = await asyncio.gather(*(withdraw(i) for i in range(10)))
    assert codes.count(201) == 1 and codes.count(409) == 9
    assert await shop.count("distribution_withdrawals") == 1 and await shop.count("transfer_bills") == 1
    assert await money(shop, pid) == {"pending": 0, "withdrawable": 0, "debt": 0}
    await assert_checks(shop)


async def test_two_settlement_workers_racing_settle_each_commission_once(
        shop: ShopHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commissions, "SWEEP_BATCH", 2)  # small claims, so the two workers interleave
    await enable(shop)
    a, b = await shop.login("a"), await shop.login("b")
    await invite(shop, a, b)
    buyers = [await shop.login(f"c{i}") for i in range(6)]
    for buyer in buyers:
        await invite(shop, b, buyer)
        order = await buy(shop, buyer, [{"sku_id": await shop.sku(price_fen=1000), "quantity": 1}])
        await shop.ship_and_receive(buyer, order["order_no"])
    ida, idb = whoami(shop, a), whoami(shop, b)
    await shop.advance(8 * DAY)

    async def worker() -> int:
        total = 0
        while True:
            async with shop.db.unit_of_work() as session:
                handled = await commissions.sweep_settlements(session, clock.now())
            total += handled
            if handled == 0:
                return total

    handled = await asyncio.gather(worker(), worker())
    assert sum(handled) >= 12  # this shop's rows (other tests' due rows may be swept too)
    assert await shop.scalar("SELECT count(*) FROM distribution_commissions WHERE shop_id = :shop "
                             "AND status = 'settled'") == 12
    assert await money(shop, idb) == {"pending": 0, "withdrawable": 600, "debt": 0}
    assert await money(shop, ida) == {"pending": 0, "withdrawable": 300, "debt": 0}
    settle_postings = await shop.scalar("SELECT count(*) FROM ledger_transactions WHERE shop_id = :shop "
                                        "AND kind = 'commission.settle'")
    assert 6 <= settle_postings <= 12  # per order, or per row when a claim split an order
    await assert_checks(shop)


async def test_a_refund_racing_the_settlement_worker_ends_cancelled_or_reversed_never_both(
        shop: ShopHarness) -> None:
    """The window has closed; the buyer's refund and the settlement sweeper run at once on their own
    connections. Whichever wins, the commission that survives is exactly the unrefunded share."""
    await enable(shop, levels=1, level_rates_bps=[1000])
    p, c = await shop.login("p"), await shop.login("c")
    await invite(shop, p, c)
    order = await buy(shop, c, [{"sku_id": await shop.sku(price_fen=8000), "quantity": 1}])
    await shop.ship_and_receive(c, order["order_no"])
    pid = whoami(shop, p)
    await shop.advance(7 * DAY + 60)
    c = await shop.login("c")

    async def refund() -> None:
        r = await shop.client.post(f"{shop.base}/orders/{order['order_no']}/refund-requests", headers=c,
                                   json={"reason": "少了一件", "amount_fen": 2000})
        assert r.status_code == 201, r.text
        r = await shop.client.post(f"/api/v1/console/refunds/{r.json()['id']}/approve", headers=shop.staff)
        assert r.status_code == 200, r.text

    async def sweep() -> None:
        async with shop.db.unit_of_work() as session:
            await commissions.sweep_settlements(session, clock.now())

    await asyncio.gather(refund(), sweep(), sweep())
    await shop.run_due()  # the refund reaches the provider; a deferred settlement comes back later
    await shop.advance(2 * 3600)
    await shop.run_due()
    kept = 800 - 200  # 10% of what was not refunded
    assert await money(shop, pid) == {"pending": 0, "withdrawable": kept, "debt": 0}
    assert await shop.scalar("SELECT status FROM distribution_commissions WHERE shop_id = :shop") == "settled"
    await assert_checks(shop)
