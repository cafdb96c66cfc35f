"""Races on real PostgreSQL connections: every request below holds its own connection and transaction."""

from __future__ import annotations

import asyncio

import pytest

from liebian.checks import run as run_checks
from liebian.integrations.wechat.fake import pay as fake_pay
from liebian.kit import jobs
from liebian.ledger import service as ledger
from tests.conftest import ADDRESS, ShopHarness

pytestmark = pytest.mark.concurrency


async def test_fifty_buyers_for_the_last_ten_units_buy_exactly_ten(shop: ShopHarness) -> None:
    sku = await shop.sku(price_fen=100, stock=10)
    buyers = [await shop.login(f"buyer{i}") for i in range(50)]

    async def buy(headers: dict[str, str]) -> int:
        r = await shop.client.post(f"{shop.base}/orders", headers=headers,
                                   json={"lines": [{"sku_id": sku, "quantity": 1}], "address": ADDRESS})
        assert r.status_code in (201, 409), r.text
        if r.status_code == 409:
            assert r.json()["code"] == "stock_exhausted"
        return r.status_code

    codes = await asyncio.gather(*(buy(b) for b in buyers))
    assert codes.count(201) == 10 and codes.count(409) == 40
    assert await shop.stock(sku) == 0
    assert await shop.count("orders") == 10 and await shop.count("payments") == 10


async def test_multi_line_orders_racing_in_opposite_orders_neither_deadlock_nor_oversell(shop: ShopHarness) -> None:
    a, b = await shop.sku(stock=15), await shop.sku(stock=15)
    buyers = [await shop.login(f"b{i}") for i in range(30)]

    async def buy(i: int) -> int:
        lines = [{"sku_id": a, "quantity": 1}, {"sku_id": b, "quantity": 1}]
        r = await shop.client.post(f"{shop.base}/orders", headers=buyers[i],
                                   json={"lines": lines if i % 2 else lines[::-1], "address": ADDRESS})
        return r.status_code

    codes = await asyncio.gather(*(buy(i) for i in range(30)))
    assert codes.count(201) == 15 and set(codes) == {201, 409}
    assert (await shop.stock(a), await shop.stock(b)) == (0, 0)


async def test_twenty_requests_with_one_idempotency_key_make_one_order(shop: ShopHarness) -> None:
    sku = await shop.sku(stock=100)
    buyer = await shop.login("buyer")
    headers = {**buyer, "Idempotency-Key": "same-key-for-all-20"}
    body = {"lines": [{"sku_id": sku, "quantity": 2}], "address": ADDRESS}
    responses = await asyncio.gather(*(shop.client.post(f"{shop.base}/orders", headers=headers, json=body)
                                       for _ in range(20)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["order_no"] for r in responses}) == 1
    assert await shop.count("orders") == 1 and await shop.stock(sku) == 98


async def test_one_payment_notification_delivered_five_times_at_once_pays_once(shop: ShopHarness) -> None:
    sku = await shop.sku(price_fen=8800, stock=5)
    buyer = await shop.login("buyer")
    order = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}])
    headers, raw = shop.paid_notification(order)
    responses = await asyncio.gather(*(shop.client.post("/api/v1/callbacks/wechat/pay", content=raw,
                                                        headers=headers) for _ in range(5)))
    assert {r.status_code for r in responses} == {204}
    assert (await shop.order(buyer, order["order_no"]))["status"] == "paid"
    assert await shop.count("payment_events") == 1
    assert await shop.scalar("SELECT count(*) FROM ledger_transactions WHERE shop_id = :shop AND kind = 'payment'") == 1
    async with shop.db.sessions() as session:
        assert await ledger.balances(session, shop.shop_id) == {"cash:wechat": 8800, "customer_prepayments": -8800}


async def test_distinct_notifications_for_one_payment_race_and_post_once(shop: ShopHarness) -> None:
    sku = await shop.sku(price_fen=500, stock=5)
    buyer = await shop.login("buyer")
    order = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}])
    shop.paid_notification(order)  # the buyer pays; the notifications below are delivered by hand
    txn = fake_pay.state(shop.fake).transactions[order["payment"]["out_trade_no"]]
    resource = fake_pay.transaction_view(shop.fake, txn)
    deliveries = [shop.fake.signed_notification("TRANSACTION.SUCCESS", "transaction", "支付成功", resource)
                  for _ in range(5)]  # five different event ids for one payment
    responses = await asyncio.gather(*(shop.client.post("/api/v1/callbacks/wechat/pay", content=raw, headers=h)
                                       for h, raw in deliveries))
    assert {r.status_code for r in responses} == {204}
    assert await shop.scalar("SELECT count(*) FROM ledger_transactions WHERE shop_id = :shop AND kind = 'payment'") == 1


async def test_tampered_or_stale_notifications_change_nothing(shop: ShopHarness) -> None:
    sku = await shop.sku(price_fen=500, stock=5)
    buyer = await shop.login("buyer")
    order = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}])
    headers, raw = shop.paid_notification(order)
    tampered = raw.replace("支付成功".encode(), "支付失败".encode())
    r = await shop.client.post("/api/v1/callbacks/wechat/pay", content=tampered, headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "invalid_notification_signature"
    wrong_amount_headers, wrong_amount = shop.fake.signed_notification(
        "TRANSACTION.SUCCESS", "transaction", "支付成功",
        {**fake_pay.transaction_view(shop.fake, fake_pay.state(shop.fake).transactions[
            order["payment"]["out_trade_no"]]), "amount": {"total": 499, "currency": "CNY"}})
    r = await shop.client.post("/api/v1/callbacks/wechat/pay", content=wrong_amount, headers=wrong_amount_headers)
    assert r.status_code == 422 and r.json()["code"] == "amount_mismatch"
    await shop.advance(600)
    r = await shop.client.post("/api/v1/callbacks/wechat/pay", content=raw, headers=headers)
    assert r.status_code == 401  # older than five minutes
    buyer = await shop.login("buyer")
    assert (await shop.order(buyer, order["order_no"]))["status"] == "pending_payment"
    assert await shop.count("payment_events") == 0


async def test_concurrent_refunds_never_exceed_what_was_paid(shop: ShopHarness) -> None:
    sku = await shop.sku(price_fen=1000, stock=5)
    buyer = await shop.login("buyer")
    order = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}])
    await shop.pay(order)
    no = order["order_no"]
    customer_requests = await asyncio.gather(*(
        shop.client.post(f"{shop.base}/orders/{no}/refund-requests", headers=buyer, json={"reason": "x"})
        for _ in range(10)))
    assert sorted(r.status_code for r in customer_requests) == [201] + [409] * 9
    request_id = next(r.json()["id"] for r in customer_requests if r.status_code == 201)
    approvals = await asyncio.gather(*(
        shop.client.post(f"/api/v1/console/refunds/{request_id}/approve", headers=shop.staff) for _ in range(10)))
    assert sorted(r.status_code for r in approvals) == [200] + [409] * 9
    await asyncio.gather(*(jobs.run_due(shop.db) for _ in range(4)))
    view = await shop.order(buyer, no)
    assert (view["status"], view["refunded_fen"]) == ("refunded", 1000)
    assert await shop.count("payment_refunds") == 1
    async with shop.db.sessions() as session:
        assert await ledger.balances(session, shop.shop_id) == {"cash:wechat": 0, "customer_prepayments": 0}


async def test_workers_racing_on_expired_orders_cancel_each_once(shop: ShopHarness) -> None:
    sku = await shop.sku(stock=40)
    buyers = [await shop.login(f"b{i}") for i in range(8)]
    for i in range(40):
        await shop.place(buyers[i % 8], [{"sku_id": sku, "quantity": 1}])
    assert await shop.stock(sku) == 0
    await shop.advance(3600)
    await asyncio.gather(*(jobs.run_due(shop.db) for _ in range(4)))
    assert await shop.stock(sku) == 40  # returned exactly once per order
    assert await shop.scalar(
        "SELECT count(*) FROM orders WHERE shop_id = :shop AND status = 'cancelled'") == 40
    assert await shop.scalar(
        "SELECT count(*) FROM payments WHERE shop_id = :shop AND status = 'closed'") == 40


async def test_cancel_racing_payment_ends_consistent(shop: ShopHarness) -> None:
    """Cancel and pay at the same instant: paid, or cancelled and refunded in full; never money kept."""
    sku = await shop.sku(price_fen=700, stock=20)
    buyer = await shop.login("buyer")
    outcomes = set()
    for _ in range(10):
        order = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}])
        headers, raw = shop.paid_notification(order)
        await asyncio.gather(
            shop.client.post(f"{shop.base}/orders/{order['order_no']}/cancel", headers=buyer),
            shop.client.post("/api/v1/callbacks/wechat/pay", content=raw, headers=headers))
        await jobs.run_due(shop.db)
        view = await shop.order(buyer, order["order_no"])
        outcomes.add(view["status"])
        if view["status"] == "cancelled":
            paid = await shop.scalar("SELECT status FROM payments WHERE order_id = (SELECT id FROM orders "
                                     "WHERE order_no = :no)", no=order["order_no"])
            assert view["refunded_fen"] == (700 if paid == "paid" else 0)
        else:
            assert view["status"] == "paid"
    assert outcomes <= {"paid", "cancelled"}
    paid_orders = await shop.scalar("SELECT count(*) FROM orders WHERE shop_id = :shop AND status = 'paid'")
    assert await shop.stock(sku) == 20 - paid_orders
    async with shop.db.sessions() as session:
        assert all(not found for _, found in await run_checks(session))


async def test_stock_adjustments_racing_purchases_never_go_negative(shop: ShopHarness) -> None:
    sku = await shop.sku(stock=10)
    buyers = [await shop.login(f"b{i}") for i in range(10)]

    async def buy(headers: dict[str, str]) -> int:
        r = await shop.client.post(f"{shop.base}/orders", headers=headers,
                                   json={"lines": [{"sku_id": sku, "quantity": 1}], "address": ADDRESS})
        return r.status_code

    async def remove_five() -> int:
        r = await shop.client.post(f"/api/v1/console/skus/{sku}/stock-adjustments", headers=shop.staff,
                                   json={"delta": -5})
        return r.status_code

    results = await asyncio.gather(remove_five(), *(buy(b) for b in buyers))
    removed = 5 if results[0] == 200 else 0
    assert results[0] in (200, 409)
    sold = results[1:].count(201)
    assert sold + removed + await shop.stock(sku) == 10
    assert await shop.stock(sku) >= 0 and sold == await shop.count("orders")


async def test_cash_recorded_five_times_at_once_is_posted_once(shop: ShopHarness) -> None:
    sku = await shop.sku(price_fen=2500, stock=5)
    buyer = await shop.login("buyer")
    order = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}], payment_method="cod")
    await shop.ship(order["order_no"])
    responses = await asyncio.gather(*(
        shop.client.post(f"/api/v1/console/orders/{order['order_no']}/cash-collected", headers=shop.staff)
        for _ in range(5)))
    assert {r.status_code for r in responses} == {200}
    assert await shop.scalar("SELECT count(*) FROM ledger_transactions WHERE shop_id = :shop") == 1
    async with shop.db.sessions() as session:
        assert await ledger.balances(session, shop.shop_id) == {"cash:cod": 2500, "customer_prepayments": -2500}


async def test_a_first_login_sent_ten_times_at_once_makes_one_customer(shop: ShopHarness) -> None:
    responses = await asyncio.gather(*(
        shop.client.post(f"{shop.base}/auth/wechat-login", json={"code": "sandbox:新客"}) for _ in range(10)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["customer"]["id"] for r in responses}) == 1
    assert await shop.count("customers") == 1
