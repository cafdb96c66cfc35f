"""Order lifecycle through the HTTP API: pricing, payment, cancel, fulfilment, COD, ledger."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from liebian.ledger import service as ledger
from liebian.orders.pricing import LinePrice, PricingContext, Quote, register_price_source, unregister_price_source
from tests.conftest import ShopHarness


async def ledger_balances(shop: ShopHarness) -> dict[str, int]:
    async with shop.db.sessions() as session:
        return await ledger.balances(session, shop.shop_id)


async def test_prices_come_from_the_server(shop: ShopHarness) -> None:
    sku = await shop.sku(price_fen=2500, stock=10)
    buyer = await shop.login("buyer")
    order = await shop.place(buyer, [{"sku_id": sku, "quantity": 3, "price_fen": 1, "unit_price_fen": 1}],
                             total_fen=1, payable_fen=1)
    assert (order["total_fen"], order["discount_fen"], order["payable_fen"]) == (7500, 0, 7500)
    view = await shop.order(buyer, order["order_no"])
    assert view["lines"][0]["unit_price_fen"] == 2500
    assert view["lines"][0]["title"] == "测试商品" and view["lines"][0]["specs"] == {"规格": "标准"}


async def test_line_snapshot_survives_catalog_changes(shop: ShopHarness) -> None:
    product = await shop.product(price_fen=1000, stock=10, title="旧标题")
    sku = product["skus"][0]["id"]
    buyer = await shop.login("buyer")
    order = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}])
    r = await shop.client.patch(f"/api/v1/console/products/{product['id']}", json={"title": "新标题"},
                                headers=shop.staff)
    assert r.status_code == 200
    r = await shop.client.patch(f"/api/v1/console/products/{product['id']}/skus/{sku}", json={"price_fen": 9},
                                headers=shop.staff)
    assert r.status_code == 200
    line = (await shop.order(buyer, order["order_no"]))["lines"][0]
    assert (line["title"], line["unit_price_fen"]) == ("旧标题", 1000)


async def test_duplicate_lines_are_merged_and_multi_line_totals(shop: ShopHarness) -> None:
    a = await shop.sku(price_fen=100, stock=10)
    b = await shop.sku(price_fen=250, stock=10)
    buyer = await shop.login("buyer")
    order = await shop.place(buyer, [{"sku_id": a, "quantity": 1}, {"sku_id": b, "quantity": 2},
                                     {"sku_id": a, "quantity": 2}])
    assert order["payable_fen"] == 3 * 100 + 2 * 250
    view = await shop.order(buyer, order["order_no"])
    assert [(line["sku_id"], line["quantity"]) for line in view["lines"]] == [(a, 3), (b, 2)]
    assert (await shop.stock(a), await shop.stock(b)) == (7, 8)


async def test_stock_exhausted_is_a_conflict_and_writes_nothing(shop: ShopHarness) -> None:
    sku = await shop.sku(stock=2)
    buyer = await shop.login("buyer")
    r = await shop.client.post(f"{shop.base}/orders", headers=buyer, json={
        "lines": [{"sku_id": sku, "quantity": 3}], "address": {"name": "a", "phone": "13800138000", "province": "p",
                                                              "city": "c", "district": "d", "detail": "x"}})
    assert r.status_code == 409 and r.json()["code"] == "stock_exhausted"
    assert await shop.stock(sku) == 2 and await shop.count("orders") == 0


async def test_shipping_fee_and_free_threshold(shop: ShopHarness) -> None:
    r = await shop.client.patch("/api/v1/console/shop/settings", headers=shop.staff,
                                json={"shipping_fee_fen": 800, "free_shipping_threshold_fen": 5000})
    assert r.status_code == 200, r.text
    sku = await shop.sku(price_fen=1000, stock=20)
    buyer = await shop.login("buyer")
    small = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}])
    big = await shop.place(buyer, [{"sku_id": sku, "quantity": 5}])
    assert (small["shipping_fen"], small["payable_fen"]) == (800, 1800)
    assert (big["shipping_fen"], big["payable_fen"]) == (0, 5000)


async def test_payment_marks_paid_and_posts_ledger(shop: ShopHarness) -> None:
    sku = await shop.sku(price_fen=1999, stock=5)
    buyer = await shop.login("buyer")
    order = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}])
    assert order["payment"]["params"]["package"].startswith("prepay_id=")
    await shop.pay(order)
    view = await shop.order(buyer, order["order_no"])
    assert view["status"] == "paid" and view["payment_status"] == "paid" and view["paid_at"]
    assert await ledger_balances(shop) == {"cash:wechat": 1999, "customer_prepayments": -1999}
    # Paying again is harmless.
    await shop.pay(order)
    assert await ledger_balances(shop) == {"cash:wechat": 1999, "customer_prepayments": -1999}


async def test_customer_cancel_returns_stock_and_closes_payment(shop: ShopHarness) -> None:
    sku = await shop.sku(stock=5)
    buyer = await shop.login("buyer")
    order = await shop.place(buyer, [{"sku_id": sku, "quantity": 2}])
    assert await shop.stock(sku) == 3
    r = await shop.client.post(f"{shop.base}/orders/{order['order_no']}/cancel", headers=buyer)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert r.json()["cancel_reason"] == "customer_cancelled"
    assert await shop.stock(sku) == 5
    await shop.run_due()  # the payment is closed after commit, by the worker
    r = await shop.client.post(f"/api/v1/sandbox/wechat/payments/{order['payment']['out_trade_no']}/succeed")
    assert r.status_code == 409 and r.json()["code"] == "payment_closed"
    again = await shop.client.post(f"{shop.base}/orders/{order['order_no']}/cancel", headers=buyer)
    assert again.status_code == 409 and again.json()["code"] == "order_not_cancellable"
    assert await shop.stock(sku) == 5


async def test_other_customers_cannot_see_or_touch_an_order(shop: ShopHarness) -> None:
    sku = await shop.sku(stock=5)
    buyer, stranger = await shop.login("buyer"), await shop.login("stranger")
    order = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}])
    for method, path in (("GET", ""), ("POST", "/cancel"), ("POST", "/confirm-receipt")):
        r = await shop.client.request(method, f"{shop.base}/orders/{order['order_no']}{path}", headers=stranger)
        assert r.status_code == 404 and r.json()["code"] == "order_not_found"
    assert await shop.stock(sku) == 4


async def test_unpaid_orders_are_cancelled_after_the_shop_timeout(shop: ShopHarness) -> None:
    r = await shop.client.patch("/api/v1/console/shop/settings", headers=shop.staff, json={"auto_cancel_minutes": 15})
    assert r.status_code == 200
    sku = await shop.sku(stock=5)
    buyer = await shop.login("buyer")
    order = await shop.place(buyer, [{"sku_id": sku, "quantity": 2}])
    await shop.advance(14 * 60)
    await shop.run_due()
    assert (await shop.order(buyer, order["order_no"]))["status"] == "pending_payment"
    await shop.advance(2 * 60)
    await shop.run_due()
    view = await shop.order(buyer, order["order_no"])
    assert (view["status"], view["cancel_reason"]) == ("cancelled", "payment_timeout")
    assert await shop.stock(sku) == 5
    assert await shop.scalar("SELECT status FROM payments WHERE shop_id = :shop") == "closed"


async def test_payment_arriving_after_cancellation_is_refunded_in_full(shop: ShopHarness) -> None:
    """The buyer pays at the last second and WeChat's notification is late: the expiry job's final
    query finds the money, records it, and the cancelled order is refunded in full; the late
    notification then changes nothing."""
    sku = await shop.sku(price_fen=3000, stock=5)
    buyer = await shop.login("buyer")
    order = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}])
    shop.fake.controls.delay_callbacks_seconds = 3600
    await shop.advance(29 * 60)
    await shop.pay(order)
    await shop.advance(2 * 60)
    await shop.run_due()
    view = await shop.order(buyer, order["order_no"])
    assert view["status"] == "cancelled" and view["refunded_fen"] == 3000
    assert await ledger_balances(shop) == {"cash:wechat": 0, "customer_prepayments": 0}
    await shop.advance(3600)
    await shop.run_due()  # the delayed notification arrives: a duplicate of what the query found
    assert await shop.count("payment_refunds") == 1
    assert await ledger_balances(shop) == {"cash:wechat": 0, "customer_prepayments": 0}


async def test_ship_confirm_complete_recognises_revenue_and_customer_is_not_new(shop: ShopHarness) -> None:
    sku = await shop.sku(price_fen=5000, stock=5)
    buyer = await shop.login("buyer")
    order = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}])
    no = order["order_no"]
    early = await shop.client.post(f"{shop.base}/orders/{no}/confirm-receipt", headers=buyer)
    assert early.status_code == 409 and early.json()["code"] == "order_not_shipped"
    unpaid_ship = await shop.client.post(f"/api/v1/console/orders/{no}/ship", headers=shop.staff,
                                         json={"carrier": "SF", "tracking_no": "SF123"})
    assert unpaid_ship.status_code == 409 and unpaid_ship.json()["code"] == "order_not_shippable"
    await shop.pay(order)
    r = await shop.client.post(f"/api/v1/console/orders/{no}/ship", headers=shop.staff,
                               json={"carrier": "顺丰", "tracking_no": "SF1234567890"})
    assert r.status_code == 200 and r.json()["status"] == "shipped" and r.json()["auto_complete_at"]
    r = await shop.client.post(f"{shop.base}/orders/{no}/confirm-receipt", headers=buyer)
    assert r.status_code == 200 and r.json()["status"] == "completed"
    me = await shop.client.get(f"{shop.base}/me", headers=buyer)
    assert me.json()["is_new"] is False
    assert await ledger_balances(shop) == {"cash:wechat": 5000, "customer_prepayments": 0, "revenue": -5000}


async def test_shipped_orders_complete_automatically_after_n_days(shop: ShopHarness) -> None:
    sku = await shop.sku(stock=5)
    buyer = await shop.login("buyer")
    order = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}])
    await shop.pay(order)
    await shop.client.post(f"/api/v1/console/orders/{order['order_no']}/ship", headers=shop.staff,
                           json={"carrier": "SF", "tracking_no": "SF1"})
    await shop.advance(6 * 86400)
    await shop.run_due()
    buyer = await shop.login("buyer")  # the old token expired while the clock moved
    assert (await shop.order(buyer, order["order_no"]))["status"] == "shipped"
    await shop.advance(86400 + 60)
    await shop.run_due()
    buyer = await shop.login("buyer")
    assert (await shop.order(buyer, order["order_no"]))["status"] == "completed"


async def test_cash_on_delivery(shop: ShopHarness) -> None:
    sku = await shop.sku(price_fen=4200, stock=5)
    buyer = await shop.login("buyer")
    order = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}], payment_method="cod")
    no = order["order_no"]
    assert order["status"] == "pending_payment" and order["payment"]["provider"] == "cod"
    assert order["payment_deadline"] is None
    await shop.advance(3 * 86400)
    await shop.run_due()  # never auto-cancelled: it waits for delivery
    buyer = await shop.login("buyer")
    r = await shop.client.post(f"/api/v1/console/orders/{no}/ship", headers=shop.staff,
                               json={"carrier": "SF", "tracking_no": "SF9"})
    assert r.status_code == 200 and r.json()["payment_status"] == "unpaid"
    r = await shop.client.post(f"{shop.base}/orders/{no}/confirm-receipt", headers=buyer)
    assert r.status_code == 409 and r.json()["code"] == "cod_not_collected"
    assert await ledger_balances(shop) == {}
    r = await shop.client.post(f"/api/v1/console/orders/{no}/cash-collected", headers=shop.staff)
    assert r.status_code == 200 and r.json()["payment_status"] == "paid" and r.json()["status"] == "shipped"
    r = await shop.client.post(f"/api/v1/console/orders/{no}/cash-collected", headers=shop.staff)
    assert r.status_code == 200
    assert await ledger_balances(shop) == {"cash:cod": 4200, "customer_prepayments": -4200}
    r = await shop.client.post(f"{shop.base}/orders/{no}/confirm-receipt", headers=buyer)
    assert r.status_code == 200 and r.json()["status"] == "completed"


async def test_cod_can_be_disabled_by_the_shop(shop: ShopHarness) -> None:
    await shop.client.patch("/api/v1/console/shop/settings", headers=shop.staff, json={"cod_enabled": False})
    sku = await shop.sku(stock=5)
    buyer = await shop.login("buyer")
    r = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}], payment_method="cod", expect=422)
    assert r["code"] == "payment_method_not_allowed"
    assert await shop.stock(sku) == 5


async def test_idempotency_key_replays_the_first_answer(shop: ShopHarness) -> None:
    sku = await shop.sku(stock=5)
    buyer = await shop.login("buyer")
    first = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}], key="order-key-0001")
    again = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}], key="order-key-0001")
    assert again == first
    assert await shop.count("orders") == 1 and await shop.stock(sku) == 4
    # The key belongs to its customer: another customer's identical key is a different request.
    other = await shop.login("other")
    await shop.place(other, [{"sku_id": sku, "quantity": 1}], key="order-key-0001")
    assert await shop.count("orders") == 2


async def test_console_lists_and_reads_orders_of_its_shop_only(shop: ShopHarness, other_shop: ShopHarness) -> None:
    sku = await shop.sku(stock=5)
    buyer = await shop.login("buyer")
    order = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}])
    r = await shop.client.get("/api/v1/console/orders?status=pending_payment", headers=shop.staff)
    assert r.status_code == 200 and [o["order_no"] for o in r.json()["items"]] == [order["order_no"]]
    r = await shop.client.get(f"/api/v1/console/orders/{order['order_no']}", headers=other_shop.staff)
    assert r.status_code == 404
    r = await shop.client.post(f"/api/v1/console/orders/{order['order_no']}/ship", headers=other_shop.staff,
                               json={"carrier": "SF", "tracking_no": "1"})
    assert r.status_code == 404


class HalfPriceForTests:
    """A price source as a promotion module would register it: half price, own campaign stock."""

    kind = "test_half_price"

    def __init__(self) -> None:
        self.placed: list[str] = []

    async def quote(self, session: Any, ctx: PricingContext) -> Quote:
        if ctx.params.get("campaign_id") != 7:
            from liebian.kit.errors import Conflict

            raise Conflict("campaign_not_active", "No such campaign.")
        return Quote(lines=tuple(LinePrice(line.list_price_fen // 2) for line in ctx.lines),
                     record={"label": "half"}, payment_methods=frozenset({"wechat"}), takes_sku_stock=False)

    async def on_placed(self, session: Any, ctx: PricingContext, quote: Quote, order: Any) -> None:
        await session.execute(text("SELECT 1"))
        self.placed.append(order.order_no)


@pytest.fixture
def half_price() -> Any:
    source = HalfPriceForTests()
    register_price_source(source)
    yield source
    unregister_price_source(source.kind)


async def test_promotion_seam_prices_the_order(shop: ShopHarness, half_price: HalfPriceForTests) -> None:
    sku = await shop.sku(price_fen=1001, stock=5)
    buyer = await shop.login("buyer")
    order = await shop.place(buyer, [{"sku_id": sku, "quantity": 2}],
                             promotion={"kind": "test_half_price", "campaign_id": 7})
    assert order["payable_fen"] == 1000 and half_price.placed == [order["order_no"]]
    assert order["promotion"] == {"kind": "test_half_price", "campaign_id": 7, "label": "half", "own_stock": True}
    assert await shop.stock(sku) == 5  # the promotion holds its own stock
    view = await shop.order(buyer, order["order_no"])
    assert view["promotion"]["kind"] == "test_half_price"
    r = await shop.client.post(f"{shop.base}/orders/{order['order_no']}/cancel", headers=buyer)
    assert r.status_code == 200 and await shop.stock(sku) == 5
    bad = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}], expect=409,
                           promotion={"kind": "test_half_price", "campaign_id": 8})
    assert bad["code"] == "campaign_not_active"
    cod = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}], expect=422, payment_method="cod",
                           promotion={"kind": "test_half_price", "campaign_id": 7})
    assert cod["code"] == "payment_method_not_allowed"
    assert await shop.count("orders") == 1


async def test_a_promotion_with_its_own_stock_sells_when_the_sku_has_none(
    shop: ShopHarness, half_price: HalfPriceForTests
) -> None:
    sku = await shop.sku(price_fen=1000, stock=0)
    buyer = await shop.login("buyer")
    order = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}],
                             promotion={"kind": "test_half_price", "campaign_id": 7})
    assert order["payable_fen"] == 500 and await shop.stock(sku) == 0
    plain = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}], expect=409)
    assert plain["code"] == "stock_exhausted"


async def test_overlong_order_numbers_are_refused_not_truncated(shop: ShopHarness) -> None:
    buyer = await shop.login("buyer")
    r = await shop.client.get(f"{shop.base}/orders/{'9' * 33}", headers=buyer)
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    r = await shop.client.post(f"/api/v1/sandbox/wechat/payments/{'9' * 33}/succeed")
    assert r.status_code == 422


async def test_a_blank_carrier_is_refused_before_anything_is_stored(shop: ShopHarness) -> None:
    sku = await shop.sku(price_fen=100)
    buyer = await shop.login("buyer")
    order = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}])
    await shop.pay(order)
    r = await shop.client.post(f"/api/v1/console/orders/{order['order_no']}/ship", headers=shop.staff,
                               json={"carrier": "   ", "tracking_no": "SF1"})
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    assert (await shop.order(buyer, order["order_no"]))["status"] == "paid"
    shipped = await shop.client.post(f"/api/v1/console/orders/{order['order_no']}/ship", headers=shop.staff,
                                     json={"carrier": " 顺丰 ", "tracking_no": "SF1"})
    assert shipped.json()["carrier"] == "顺丰"
