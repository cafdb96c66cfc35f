"""Customers cannot act for other customers of their own shop: another's order, group seat, bargain price,
withdrawal, address or coupon is not found (404) or refused (4xx), and nothing of theirs changes."""

from __future__ import annotations

from typing import Any

from tests.api import bargain_helpers, coupon_helpers, groupbuy_helpers
from tests.api.distribution_helpers import enable, whoami
from tests.conftest import ADDRESS, ShopHarness, assert_problem
from tests.security.busy_shop import _insert


async def rows(shop: ShopHarness, sql: str) -> list[tuple[Any, ...]]:
    return await shop.rows(sql)


async def test_another_customers_order(shop: ShopHarness) -> None:
    owner, other = await shop.login("订单主人"), await shop.login("别人")
    order = await shop.place(owner, [{"sku_id": await shop.sku(), "quantity": 1}])
    await shop.pay(order)
    no = order["order_no"]
    before = await rows(shop, "SELECT status, refunded_fen FROM orders WHERE shop_id = :shop")
    assert_problem(await shop.client.get(f"{shop.base}/orders/{no}", headers=other), 404, "order_not_found")
    for action, body in (("cancel", None), ("confirm-receipt", None),
                         ("refund-requests", {"reason": "冒充", "amount_fen": 1})):
        r = await shop.client.post(f"{shop.base}/orders/{no}/{action}", headers=other, json=body)
        assert_problem(r, 404, "order_not_found")
    r = await shop.client.get(f"{shop.base}/refund-requests", params={"order_no": no}, headers=other)
    assert_problem(r, 404, "order_not_found")
    assert (await shop.client.get(f"{shop.base}/orders", headers=other)).json()["items"] == []
    assert await rows(shop, "SELECT status, refunded_fen FROM orders WHERE shop_id = :shop") == before
    assert await shop.count("refund_requests") == 0


async def test_another_customers_address(shop: ShopHarness) -> None:
    owner, other = await shop.login("地址主人"), await shop.login("别人")
    saved = (await shop.client.post(f"{shop.base}/me/addresses", headers=owner, json=ADDRESS)).json()
    r = await shop.client.put(f"{shop.base}/me/addresses/{saved['id']}", headers=other,
                              json={**ADDRESS, "detail": "改到我家"})
    assert_problem(r, 404, "address_not_found")
    assert_problem(await shop.client.delete(f"{shop.base}/me/addresses/{saved['id']}", headers=other),
                   404, "address_not_found")
    assert (await shop.client.get(f"{shop.base}/me/addresses", headers=other)).json() == []
    mine = (await shop.client.get(f"{shop.base}/me/addresses", headers=owner)).json()
    assert [(a["id"], a["detail"]) for a in mine] == [(saved["id"], ADDRESS["detail"])]


async def test_another_customers_coupon(shop: ShopHarness) -> None:
    owner, other = await shop.login("券主人"), await shop.login("别人")
    template = await coupon_helpers.template(shop, amount_fen=500)
    coupon = await coupon_helpers.claim(shop, owner, template["id"])
    assert_problem(await shop.client.get(f"{shop.base}/coupons/{coupon['id']}", headers=other), 404,
                   "coupon_not_found")
    r = await shop.client.post(f"{shop.base}/orders", headers=other, json={
        "lines": [{"sku_id": await shop.sku(), "quantity": 1}], "address": ADDRESS, "coupon_id": coupon["id"]})
    assert 400 <= r.status_code < 500 and r.status_code != 403, r.text
    assert await shop.count("orders") == 0
    assert await coupon_helpers.status_of(shop, owner, coupon["id"]) == "available"


async def test_another_customers_bargain_price(shop: ShopHarness) -> None:
    owner, other = await shop.login("砍价主人"), await shop.login("别人")
    sku, campaign = await bargain_helpers.setup(shop, helpers_needed=2, buy_anytime=True)
    bargain = await bargain_helpers.start(shop, owner, campaign["id"])
    r = await bargain_helpers.buy_response(shop, other, sku, bargain["id"])
    assert_problem(r, 403, "not_bargain_initiator")  # the bargain is public in its shop; its price is not
    assert await shop.count("orders") == 0
    assert (await shop.client.get(f"{shop.base}/bargains", headers=other)).json() == []
    page = await bargain_helpers.page(shop, bargain["id"], other)
    assert "customer_id" not in page and "openid" not in str(page)


async def test_another_customers_group(shop: ShopHarness) -> None:
    """Joining a group is what it is for; acting on its members' orders is not, and its page names no one."""
    leader, other = await shop.login("团长"), await shop.login("别人")
    sku, campaign = await groupbuy_helpers.setup(shop, group_size=3)
    opened = await groupbuy_helpers.order(shop, leader, sku, campaign["id"])
    await shop.pay(opened)
    group_id = opened["promotion"]["group_id"]
    for action in ("cancel", "confirm-receipt"):
        r = await shop.client.post(f"{shop.base}/orders/{opened['order_no']}/{action}", headers=other)
        assert_problem(r, 404, "order_not_found")
    page = await groupbuy_helpers.group(shop, group_id)
    openid = await shop.scalar("SELECT openid FROM customers WHERE id = :c", c=whoami(shop, leader))
    assert openid not in str(page) and all("customer_id" not in m for m in page["members"])
    assert (await shop.client.get(f"{shop.base}/orders", headers=other)).json()["items"] == []
    assert await shop.scalar("SELECT status FROM orders WHERE shop_id = :shop") == "paid"


async def test_another_customers_withdrawal(shop: ShopHarness) -> None:
    await enable(shop)
    owner, other = await shop.login("提现人"), await shop.login("别人")
    withdrawal = await _insert(shop, "INSERT INTO distribution_withdrawals (shop_id, customer_id, amount_fen, fee_fen, "
                                     "state, created_at) VALUES (:shop, :c, 100, 0, 'pending_review', now()) "
                                     "RETURNING id", c=whoami(shop, owner))
    for path in (f"promoter/withdrawals/{withdrawal}", f"promoter/withdrawals/{withdrawal}/confirm-params"):
        r = await shop.client.get(f"{shop.base}/{path}", headers=other)
        assert r.status_code == 404, r.text
    assert (await shop.client.get(f"{shop.base}/promoter/withdrawals", headers=other)).json()["items"] == []
    assert (await shop.client.get(f"{shop.base}/promoter/withdrawals/{withdrawal}", headers=owner)).status_code == 200
