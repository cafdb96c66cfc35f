"""The API the storefront's shop pages added: checkout quotes, saved addresses, pickup stores, refunds of one
order. Each is what a mini-program could call as well."""

from __future__ import annotations

from typing import Any

from tests.api import bargain_helpers as bargain
from tests.api import coupon_helpers as coupons
from tests.api import flashsale_helpers as flashsale
from tests.api import groupbuy_helpers as gb
from tests.api import store_helpers as stores
from tests.conftest import ADDRESS, ShopHarness, assert_problem


async def _quote(shop: ShopHarness, customer: dict[str, str], expect: int = 200, **body: Any) -> dict[str, Any]:
    r = await shop.client.post(f"{shop.base}/orders/quote", headers=customer, json=body)
    assert r.status_code == expect, r.text
    return dict(r.json())


async def test_quote_prices_the_cart_like_the_order_and_tries_each_coupon(shop: ShopHarness) -> None:
    buyer = await shop.login("报价")
    sku = await shop.sku(price_fen=5000, stock=10)
    fixed = await coupons.coupon_for(shop, buyer, amount_fen=800)
    threshold = await coupons.coupon_for(shop, buyer, name="满100减20", kind="threshold", amount_fen=2000,
                                         threshold_fen=10000)
    lines = [{"sku_id": sku, "quantity": 1}]
    q = await _quote(shop, buyer, lines=lines, coupon_candidates=[fixed, threshold, 999_999])
    assert (q["total_fen"], q["discount_fen"], q["payable_fen"]) == (5000, 0, 5000)
    assert q["lines"][0]["title"] == "测试商品" and q["lines"][0]["stock"] == 10
    assert set(q["payment_methods"]) == {"wechat", "cod"} and q["promotion"] is None
    options = {c["coupon_id"]: c for c in q["coupons"]}
    assert options[fixed]["usable"] and options[fixed]["discount_fen"] == 800
    assert not options[threshold]["usable"] and options[threshold]["code"]
    assert options[999_999]["code"] == "coupon_not_found"

    q = await _quote(shop, buyer, lines=lines, coupon_id=fixed)
    assert (q["discount_fen"], q["coupon_discount_fen"], q["payable_fen"]) == (800, 800, 4200)
    placed = await shop.place(buyer, lines, coupon_id=fixed, payment_method="cod")
    assert (placed["total_fen"], placed["discount_fen"], placed["payable_fen"]) == (5000, 800, 4200)
    assert await shop.count("orders") == 1 and await shop.stock(sku) == 9

    # The coupon is used now: quoting it again says why, as placing would.
    q = await _quote(shop, buyer, lines=lines, coupon_candidates=[fixed])
    assert q["coupons"][0] == {"coupon_id": fixed, "usable": False, "discount_fen": 0,
                               "code": "coupon_already_used", "detail": q["coupons"][0]["detail"]}


async def test_quote_keeps_nothing_of_a_promotion_and_refuses_what_placing_refuses(shop: ShopHarness) -> None:
    leader = await shop.login("团长")
    sku, campaign = await gb.setup(shop, price_fen=1000)
    body: dict[str, Any] = {"lines": [{"sku_id": sku, "quantity": 1}], "promotion": gb.promotion(campaign["id"])}
    q = await _quote(shop, leader, **body)
    assert q["promotion"]["kind"] == "groupbuy" and q["promotion"]["role"] == "leader"
    assert q["payable_fen"] == 800 and q["payment_methods"] == ["wechat"]
    assert await shop.count("groupbuy_groups") == 0 and await shop.count("orders") == 0

    scarce = await shop.sku(stock=2)
    r = await shop.client.post(f"{shop.base}/orders/quote", headers=leader,
                               json={"lines": [{"sku_id": scarce, "quantity": 5}]})
    assert_problem(r, 409, "stock_exhausted")
    r = await shop.client.post(f"{shop.base}/orders/quote", json=body)
    assert_problem(r, 401, "not_authenticated")


async def test_quote_of_a_pickup_cart_has_no_shipping_and_checks_the_store(shop: ShopHarness, other_shop: ShopHarness
                                                                           ) -> None:
    r = await shop.client.patch("/api/v1/console/shop/settings", headers=shop.staff, json={"shipping_fee_fen": 600})
    assert r.status_code == 200, r.text
    buyer = await shop.login("自提")
    sku = await shop.sku(price_fen=2000)
    lines = [{"sku_id": sku, "quantity": 1}]
    assert (await _quote(shop, buyer, lines=lines))["shipping_fen"] == 600
    store = await stores.store(shop)
    q = await _quote(shop, buyer, lines=lines, fulfilment="pickup", store_id=store["id"])
    assert (q["shipping_fen"], q["payable_fen"]) == (0, 2000)
    foreign = await stores.store(other_shop)
    r = await shop.client.post(f"{shop.base}/orders/quote", headers=buyer,
                               json={"lines": lines, "fulfilment": "pickup", "store_id": foreign["id"]})
    assert r.status_code == 404, r.text


async def test_pickup_stores_list_only_open_pickup_stores_of_the_shop(shop: ShopHarness,
                                                                     other_shop: ShopHarness) -> None:
    pickup = await stores.store(shop, name="自提店")
    await stores.store(shop, name="堂食店", pickup=False)
    closed = await stores.store(shop, name="关店")
    r = await shop.client.patch(f"/api/v1/console/stores/{closed['id']}", headers=shop.staff,
                                json={"status": "closed"})
    assert r.status_code == 200, r.text
    await stores.store(other_shop, name="别家店")
    r = await shop.client.get(f"{shop.base}/stores", params={"pickup": "true"})
    assert r.status_code == 200, r.text
    assert [s["id"] for s in r.json()["items"]] == [pickup["id"]] and r.json()["total"] == 1
    r = await shop.client.get(f"{shop.base}/stores")
    assert {s["name"] for s in r.json()["items"]} == {"自提店", "堂食店"}


async def test_saved_addresses_default_dedupe_limit_and_scoping(shop: ShopHarness, other_shop: ShopHarness) -> None:
    me = await shop.login("地址")
    base = f"{shop.base}/me/addresses"
    r = await shop.client.get(base, headers=me)
    assert r.status_code == 200 and r.json() == []
    r = await shop.client.post(base, headers=me, json=ADDRESS)
    first = r.json()
    assert r.status_code == 201 and first["is_default"]  # the first one kept is the default
    r = await shop.client.post(base, headers=me, json={**ADDRESS, "detail": "另一个地址 2 号"})
    second = r.json()
    assert r.status_code == 201 and not second["is_default"]
    r = await shop.client.post(base, headers=me, json={**ADDRESS, "detail": "另一个地址 2 号", "is_default": True})
    assert r.json()["id"] == second["id"] and r.json()["is_default"]  # the same address: reused, now default
    listed = (await shop.client.get(base, headers=me)).json()
    assert [(a["id"], a["is_default"]) for a in listed] == [(second["id"], True), (first["id"], False)]

    r = await shop.client.post(base, headers=me, json={**ADDRESS, "phone": "12345"})
    problem = assert_problem(r, 422, "validation_error")
    assert any(e["loc"][-1] == "phone" for e in problem["errors"])
    r = await shop.client.put(f"{base}/{first['id']}", headers=me, json={**ADDRESS, "name": "王五", "is_default": True})
    assert r.status_code == 200 and r.json()["name"] == "王五" and r.json()["is_default"]
    r = await shop.client.delete(f"{base}/{first['id']}", headers=me)
    assert r.status_code == 204
    listed = (await shop.client.get(base, headers=me)).json()
    assert [(a["id"], a["is_default"]) for a in listed] == [(second["id"], True)]  # the default moved on

    stranger = await shop.login("路人")
    r = await shop.client.delete(f"{base}/{second['id']}", headers=stranger)
    assert_problem(r, 404, "address_not_found")
    other = await other_shop.login("地址")
    r = await other_shop.client.put(f"{other_shop.base}/me/addresses/{second['id']}", headers=other, json=ADDRESS)
    assert_problem(r, 404, "address_not_found")
    for i in range(19):
        r = await shop.client.post(base, headers=me, json={**ADDRESS, "detail": f"第 {i} 号"})
        assert r.status_code == 201, r.text
    r = await shop.client.post(base, headers=me, json={**ADDRESS, "detail": "太多了"})
    assert_problem(r, 409, "address_limit_reached")


async def test_refund_requests_of_one_order(shop: ShopHarness) -> None:
    buyer = await shop.login("退款")
    sku = await shop.sku(price_fen=3000)
    first = await coupons.paid_order(shop, buyer, sku)
    second = await coupons.paid_order(shop, buyer, sku)
    r = await shop.client.post(f"{shop.base}/orders/{first['order_no']}/refund-requests", headers=buyer,
                               json={"reason": "不想要了", "amount_fen": 1000})
    assert r.status_code == 201, r.text
    r = await shop.client.get(f"{shop.base}/refund-requests", headers=buyer, params={"order_no": first["order_no"]})
    assert r.status_code == 200 and [x["amount_fen"] for x in r.json()] == [1000]
    r = await shop.client.get(f"{shop.base}/refund-requests", headers=buyer, params={"order_no": second["order_no"]})
    assert r.status_code == 200 and r.json() == []
    stranger = await shop.login("别人")
    r = await shop.client.get(f"{shop.base}/refund-requests", headers=stranger,
                              params={"order_no": first["order_no"]})
    assert r.status_code == 404


async def test_products_name_the_promotions_running_on_them(shop: ShopHarness) -> None:
    product = await shop.product(title="促销商品", price_fen=3000)
    plain = await shop.product(title="普通商品")
    sku = product["skus"][0]["id"]
    group = await gb.campaign(shop, sku, group_size=3, group_price_fen=1990)
    haggle = await bargain.campaign(shop, sku, start_price_fen=3000, floor_price_fen=990)
    slot = await flashsale.campaign(shop, sku, price_fen=990)
    soon = await shop.product(title="即将秒杀")
    await flashsale.campaign(shop, soon["skus"][0]["id"], start_in=3600)

    r = await shop.client.get(f"{shop.base}/products/{product['id']}")
    assert r.status_code == 200, r.text
    promotions = {p["kind"]: p for p in r.json()["promotions"]}
    assert set(promotions) == {"groupbuy", "bargain", "flashsale"}
    assert (promotions["groupbuy"]["id"], promotions["groupbuy"]["group_price_fen"]) == (group["id"], 1990)
    assert (promotions["bargain"]["id"], promotions["bargain"]["floor_price_fen"]) == (haggle["id"], 990)
    assert (promotions["flashsale"]["id"], promotions["flashsale"]["state"]) == (slot["id"], "running")

    r = await shop.client.get(f"{shop.base}/products")
    by_id = {p["id"]: p for p in r.json()["items"]}
    assert sorted(p["kind"] for p in by_id[product["id"]]["promotions"]) == ["bargain", "flashsale", "groupbuy"]
    assert by_id[plain["id"]]["promotions"] == []
    assert [(p["kind"], p["state"]) for p in by_id[soon["id"]]["promotions"]] == [("flashsale", "upcoming")]
