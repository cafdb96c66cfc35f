"""After-sales refunds: requests, approval, partial and full refunds, the ledger after each."""

from __future__ import annotations

from typing import Any

from liebian.ledger import service as ledger
from tests.conftest import ShopHarness


async def paid_order(shop: ShopHarness, buyer: dict[str, str], *, prices: tuple[int, ...] = (3000, 1000)) -> Any:
    lines = [{"sku_id": await shop.sku(price_fen=p, stock=10), "quantity": 1} for p in prices]
    order = await shop.place(buyer, lines)
    await shop.pay(order)
    return order


async def request(shop: ShopHarness, buyer: dict[str, str], order_no: str, **body: Any) -> Any:
    return await shop.client.post(f"{shop.base}/orders/{order_no}/refund-requests", headers=buyer,
                                  json={"reason": "不想要了", **body})


async def balances(shop: ShopHarness) -> dict[str, int]:
    async with shop.db.sessions() as session:
        return await ledger.balances(session, shop.shop_id)


async def test_partial_refund_then_full_refund(shop: ShopHarness) -> None:
    buyer = await shop.login("buyer")
    order = await paid_order(shop, buyer)
    no = order["order_no"]
    r = await request(shop, buyer, no, amount_fen=1000)
    assert r.status_code == 201, r.text
    req = r.json()
    assert (req["status"], req["amount_fen"]) == ("pending", 1000)
    assert (await shop.order(buyer, no))["status"] == "refunding"
    dup = await request(shop, buyer, no, amount_fen=500)
    assert dup.status_code == 409 and dup.json()["code"] == "refund_in_progress"

    r = await shop.client.post(f"/api/v1/console/refunds/{req['id']}/approve", headers=shop.staff)
    assert r.status_code == 200 and r.json()["status"] == "approved"
    await shop.run_due()  # the worker asks the provider, after commit
    view = await shop.order(buyer, no)
    assert (view["status"], view["refunded_fen"]) == ("paid", 1000)
    # Spread over lines in proportion to what each paid: 3000:1000 → 750 + 250.
    assert [line["refunded_fen"] for line in view["lines"]] == [750, 250]
    assert await balances(shop) == {"cash:wechat": 3000, "customer_prepayments": -3000}

    too_much = await request(shop, buyer, no, amount_fen=3001)
    assert too_much.status_code == 422 and too_much.json()["code"] == "refund_amount_too_large"
    r = await request(shop, buyer, no)  # the rest
    assert r.status_code == 201 and r.json()["amount_fen"] == 3000
    await shop.client.post(f"/api/v1/console/refunds/{r.json()['id']}/approve", headers=shop.staff)
    await shop.run_due()
    # WeChat Pay takes refunds of one order at least a minute apart: refused for now, then retried
    # under the same out_refund_no.
    assert (await shop.order(buyer, no))["status"] == "refunding"
    await shop.advance(90)
    await shop.run_due()
    view = await shop.order(buyer, no)
    assert (view["status"], view["refunded_fen"]) == ("refunded", 4000)
    assert [line["refunded_fen"] for line in view["lines"]] == [3000, 1000]
    assert await balances(shop) == {"cash:wechat": 0, "customer_prepayments": 0}
    again = await request(shop, buyer, no)
    assert again.status_code == 409
    listed = await shop.client.get(f"{shop.base}/refund-requests", headers=buyer)
    assert [x["status"] for x in listed.json()] == ["succeeded", "succeeded"]


async def test_rejected_request_restores_the_order(shop: ShopHarness) -> None:
    buyer = await shop.login("buyer")
    order = await paid_order(shop, buyer)
    await shop.ship(order["order_no"])
    req = (await request(shop, buyer, order["order_no"])).json()
    r = await shop.client.post(f"/api/v1/console/refunds/{req['id']}/reject", headers=shop.staff,
                               json={"reason": "已签收且无质量问题"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert (await shop.order(buyer, order["order_no"]))["status"] == "shipped"
    twice = await shop.client.post(f"/api/v1/console/refunds/{req['id']}/approve", headers=shop.staff)
    assert twice.status_code == 409 and twice.json()["code"] == "refund_request_decided"
    await shop.run_due()
    assert (await shop.order(buyer, order["order_no"]))["refunded_fen"] == 0


async def test_refund_after_completion_reverses_revenue(shop: ShopHarness) -> None:
    buyer = await shop.login("buyer")
    order = await paid_order(shop, buyer, prices=(5000,))
    no = order["order_no"]
    await shop.ship_and_receive(buyer, no)
    r = await shop.client.post(f"/api/v1/console/orders/{no}/refunds", headers=shop.staff,
                               json={"reason": "商家主动退款", "amount_fen": 2000})
    assert r.status_code == 201 and r.json()["initiated_by"] == "shop"
    await shop.run_due()
    view = await shop.order(buyer, no)
    assert (view["status"], view["refunded_fen"]) == ("completed", 2000)
    assert await balances(shop) == {"cash:wechat": 3000, "customer_prepayments": 0, "revenue": -3000}


async def test_unpaid_and_foreign_orders_cannot_be_refunded(shop: ShopHarness) -> None:
    buyer, stranger = await shop.login("buyer"), await shop.login("stranger")
    sku = await shop.sku(stock=5)
    unpaid = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}])
    r = await request(shop, buyer, unpaid["order_no"])
    assert r.status_code == 409 and r.json()["code"] == "order_not_refundable"
    paid = await paid_order(shop, buyer)
    r = await request(shop, stranger, paid["order_no"])
    assert r.status_code == 404
    assert await shop.count("refund_requests") == 0


async def test_refund_window_closes_after_completion(shop: ShopHarness) -> None:
    buyer = await shop.login("buyer")
    order = await paid_order(shop, buyer, prices=(1000,))
    no = order["order_no"]
    await shop.ship_and_receive(buyer, no)
    await shop.advance(16 * 86400)
    buyer = await shop.login("buyer")
    r = await request(shop, buyer, no)
    assert r.status_code == 409 and r.json()["code"] == "refund_window_closed"


async def test_cod_refund_is_recorded_offline(shop: ShopHarness) -> None:
    buyer = await shop.login("buyer")
    sku = await shop.sku(price_fen=2000, stock=5)
    order = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}], payment_method="cod")
    no = order["order_no"]
    await shop.ship(no)
    r = await request(shop, buyer, no)
    assert r.status_code == 409  # nothing was paid yet
    await shop.client.post(f"/api/v1/console/orders/{no}/cash-collected", headers=shop.staff)
    r = await shop.client.post(f"/api/v1/console/orders/{no}/refunds", headers=shop.staff,
                               json={"reason": "拒收"})
    assert r.status_code == 201
    await shop.run_due()
    view = await shop.order(buyer, no)
    assert (view["status"], view["refunded_fen"]) == ("refunded", 2000)
    assert await balances(shop) == {"cash:cod": 0, "customer_prepayments": 0}


async def test_a_failed_refund_can_be_retried_under_a_new_refund_number(shop: ShopHarness) -> None:
    """A provider refusal gives the reservation back; the retry must not reuse the failed refund's number."""
    from liebian.payments import service as payments
    from liebian.payments.providers import RefundSnapshot

    buyer = await shop.login("buyer")
    order = await paid_order(shop, buyer, prices=(1000,))
    order_id = await shop.scalar("SELECT id FROM orders WHERE shop_id = :shop AND order_no = :no",
                                 no=order["order_no"])
    async with shop.db.unit_of_work() as session:
        first = await payments.start_refund(session, shop_id=shop.shop_id, order_id=order_id, amount_fen=1000,
                                            reason="test", refund_request_id=None)
        await payments._refund_outcome(session, first, RefundSnapshot(first, "failed"))
    async with shop.db.unit_of_work() as session:
        second = await payments.start_refund(session, shop_id=shop.shop_id, order_id=order_id, amount_fen=1000,
                                             reason="test", refund_request_id=None)
    assert second != first
    await shop.run_due()
    view = await shop.order(buyer, order["order_no"])
    assert view["refunded_fen"] == 1000
    assert await shop.scalar("SELECT refunded_fen FROM payments WHERE shop_id = :shop") == 1000
