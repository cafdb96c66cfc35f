"""WeChat Pay end to end through the app, its database and the embedded fake (wechat.md §9 items 11-17).

Every payment here is a real v3 JSAPI order at the fake, paid with a paySign the fake verifies, and
confirmed by a signed, AES-GCM-encrypted notification posted to ``/api/v1/callbacks/wechat/pay``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from liebian.integrations.wechat import crypto
from liebian.integrations.wechat.fake import FakeError
from liebian.integrations.wechat.fake import pay as fake_pay
from liebian.kit import jobs
from liebian.ledger import service as ledger
from liebian.payments import service as payments
from tests.conftest import ShopHarness, assert_problem

CALLBACK = "/api/v1/callbacks/wechat/pay"


async def balances(shop: ShopHarness) -> dict[str, int]:
    async with shop.db.sessions() as session:
        return await ledger.balances(session, shop.shop_id)


async def placed(shop: ShopHarness, price_fen: int = 2590) -> tuple[dict[str, str], dict[str, Any]]:
    sku = await shop.sku(price_fen=price_fen, stock=10)
    buyer = await shop.login("buyer")
    return buyer, await shop.place(buyer, [{"sku_id": sku, "quantity": 1}], payment_method="wechat")


async def test_an_order_is_paid_through_wechat_pay_v3_end_to_end(shop: ShopHarness) -> None:
    buyer, order = await placed(shop)
    params = order["payment"]["params"]
    creds = shop.fake.credentials
    # The genuine wx.requestPayment parameters: RSA paySign over appId, timeStamp, nonceStr, package.
    assert params["package"].startswith("prepay_id=wx") and params["signType"] == "RSA"
    assert params["appId"] == creds.appid and len(params["timeStamp"]) == 10 and len(params["nonceStr"]) == 32
    message = crypto.pay_sign_message(params["appId"], params["timeStamp"], params["nonceStr"], params["package"])
    assert crypto.rsa_verify(creds.merchant_public_key, message, params["paySign"])
    otn = order["payment"]["out_trade_no"]
    txn = fake_pay.state(shop.fake).transactions[otn]
    assert txn.total == order["payable_fen"] and txn.state == "NOTPAY"
    assert txn.openid == await shop.scalar("SELECT openid FROM customers WHERE shop_id = :shop")

    await shop.pay(order)  # the fake checks the paySign, takes the money and posts the notification

    view = await shop.order(buyer, order["order_no"])
    assert view["status"] == "paid" and view["payment_status"] == "paid"
    assert await shop.scalar("SELECT provider_txn_id FROM payments WHERE shop_id = :shop") == txn.transaction_id
    assert await shop.count("payment_events") == 1
    assert await balances(shop) == {"cash:wechat": 2590, "customer_prepayments": -2590}
    assert shop.fake.deliveries[-1].outcomes == [204]


async def test_a_notification_delivered_five_times_and_concurrently_pays_once(shop: ShopHarness) -> None:
    buyer, order = await placed(shop)
    shop.fake.controls.duplicate_callbacks = 4  # five copies of one notification, at the same moment
    await shop.pay(order)
    delivery = shop.fake.deliveries[-1]
    assert delivery.outcomes == [204] * 5
    headers, raw = shop.paid_notification(order)  # and once more, one after another
    for _ in range(5):
        r = await shop.client.post(CALLBACK, content=raw, headers=headers)
        assert r.status_code == 204
    assert await shop.count("payment_events") == 2  # the original event id and the replayed one, each once
    assert await shop.scalar("SELECT count(*) FROM ledger_transactions WHERE shop_id = :shop AND kind = 'payment'") == 1
    assert (await shop.order(buyer, order["order_no"]))["status"] == "paid"


async def test_a_lost_notification_is_recovered_by_the_reconciler(shop: ShopHarness) -> None:
    buyer, order = await placed(shop)
    shop.fake.controls.drop_callbacks = 1
    await shop.pay(order)
    assert (await shop.order(buyer, order["order_no"]))["status"] == "pending_payment"
    await shop.run_due()
    assert (await shop.order(buyer, order["order_no"]))["status"] == "pending_payment"  # not asked yet
    await shop.advance(61)
    await shop.run_due()
    assert (await shop.order(buyer, order["order_no"]))["status"] == "paid"
    assert await balances(shop) == {"cash:wechat": 2590, "customer_prepayments": -2590}
    assert await shop.scalar("SELECT next_check_at FROM payments WHERE shop_id = :shop") is None


async def test_an_unpaid_payment_is_asked_about_again_later(shop: ShopHarness) -> None:
    _, order = await placed(shop)
    await shop.advance(61)
    await shop.run_due()
    first = await shop.scalar("SELECT next_check_at FROM payments WHERE shop_id = :shop")
    await shop.run_due()  # nothing due: it is not asked again at once
    assert await shop.scalar("SELECT next_check_at FROM payments WHERE shop_id = :shop") == first
    assert order["status"] == "pending_payment"


async def test_a_tampered_notification_is_refused_and_the_genuine_retry_is_processed(shop: ShopHarness) -> None:
    buyer, order = await placed(shop)
    shop.fake.controls.tamper_callbacks = 1
    await shop.pay(order)
    assert shop.fake.deliveries[-1].outcomes == [401]
    assert (await shop.order(buyer, order["order_no"]))["status"] == "pending_payment"
    assert await shop.count("payment_events") == 0
    await shop.advance(15)
    await shop.run_due()  # WeChat's retry 15 s later, signed afresh
    assert shop.fake.deliveries[-1].outcomes == [401, 204]
    assert (await shop.order(buyer, order["order_no"]))["status"] == "paid"


async def test_probes_forgeries_and_foreign_notifications_change_nothing(shop: ShopHarness) -> None:
    buyer, order = await placed(shop)
    assert await shop.fake.send_probe("http://test" + CALLBACK) == 401
    headers, raw = shop.paid_notification(order)
    forged = dict(headers, **{"Wechatpay-Signature": crypto.rsa_sign(crypto.generate_private_key(), "x")})
    assert_problem(await shop.client.post(CALLBACK, content=raw, headers=forged), 401, "invalid_notification_signature")
    unknown_serial = dict(headers, **{"Wechatpay-Serial": "PUB_KEY_ID_0000000000"})
    assert_problem(
        await shop.client.post(CALLBACK, content=raw, headers=unknown_serial), 401, "invalid_notification_signature"
    )
    txn = fake_pay.state(shop.fake).transactions[order["payment"]["out_trade_no"]]
    resource = fake_pay.transaction_view(shop.fake, txn)
    for changes, status, code in (
        ({"out_trade_no": "NOSUCHORDER1"}, 404, "payment_not_found"),
        ({"mchid": "1900000999"}, 422, "merchant_mismatch"),
        ({"appid": "wx0000000000000000"}, 422, "merchant_mismatch"),
        ({"amount": {"total": 1, "currency": "CNY"}}, 422, "amount_mismatch"),
        ({"trade_state": "NOTPAY"}, 422, "unexpected_trade_state"),
    ):
        h, body = shop.fake.signed_notification(
            "TRANSACTION.SUCCESS", "transaction", "支付成功", {**resource, **changes}
        )
        assert_problem(await shop.client.post(CALLBACK, content=body, headers=h), status, code)
    undecryptable = raw.replace(b'"ciphertext": "', b'"ciphertext": "AAAA', 1)
    h = shop.fake.sign_headers(undecryptable)
    assert_problem(await shop.client.post(CALLBACK, content=undecryptable, headers=h), 400, "invalid_notification")
    assert (await shop.order(buyer, order["order_no"]))["status"] == "pending_payment"
    assert await shop.count("payment_events") == 0
    r = await shop.client.post(CALLBACK, content=raw, headers=headers)  # the genuine one still works
    assert r.status_code == 204


async def test_an_expired_order_is_closed_at_wechat_and_cannot_be_paid(shop: ShopHarness) -> None:
    buyer, order = await placed(shop)
    otn = order["payment"]["out_trade_no"]
    await shop.advance(31 * 60)
    await shop.run_due()
    assert (await shop.order(buyer, order["order_no"]))["status"] == "cancelled"
    assert fake_pay.state(shop.fake).transactions[otn].state == "CLOSED"
    assert_problem(await shop.client.post(f"/api/v1/sandbox/wechat/payments/{otn}/succeed"), 409, "payment_closed")
    with pytest.raises(FakeError):
        fake_pay.pay(shop.fake, otn, order["payment"]["params"])


async def test_closing_an_order_the_payer_just_paid_records_and_refunds_it(shop: ShopHarness) -> None:
    """The buyer cancels while WeChat already took the money: ORDERPAID, so the payment is recorded and
    the cancelled order refunded in full."""
    buyer, order = await placed(shop)
    shop.fake.controls.drop_callbacks = 1
    await shop.pay(order)
    r = await shop.client.post(f"{shop.base}/orders/{order['order_no']}/cancel", headers=buyer)
    assert r.status_code == 200, r.text
    await shop.run_due()
    view = await shop.order(buyer, order["order_no"])
    assert view["status"] == "cancelled" and view["refunded_fen"] == 2590
    assert await balances(shop) == {"cash:wechat": 0, "customer_prepayments": 0}


async def test_prepay_failure_answers_502_and_changes_nothing(shop: ShopHarness) -> None:
    sku = await shop.sku(price_fen=100, stock=3)
    buyer = await shop.login("buyer")
    shop.fake.inject_failure(500)
    r = await shop.client.post(
        f"{shop.base}/orders",
        headers=buyer,
        json={"lines": [{"sku_id": sku, "quantity": 1}], "address": _address(), "payment_method": "wechat"},
    )
    assert_problem(r, 502, "wechat_pay_error")
    assert await shop.count("orders") == 0 and await shop.stock(sku) == 3


def _address() -> dict[str, str]:
    from tests.conftest import ADDRESS

    return ADDRESS


async def refund_all(shop: ShopHarness, buyer: dict[str, str], order_no: str) -> dict[str, Any]:
    r = await shop.client.post(
        f"{shop.base}/orders/{order_no}/refund-requests", headers=buyer, json={"reason": "不要了"}
    )
    assert r.status_code == 201, r.text
    r = await shop.client.post(f"/api/v1/console/refunds/{r.json()['id']}/approve", headers=shop.staff)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_refunds_go_through_wechat_once_per_out_refund_no(shop: ShopHarness) -> None:
    buyer, order = await placed(shop)
    await shop.pay(order)
    await refund_all(shop, buyer, order["order_no"])
    await shop.run_due()  # asks WeChat (PROCESSING), the bank settles, REFUND.SUCCESS arrives
    view = await shop.order(buyer, order["order_no"])
    assert (view["status"], view["refunded_fen"]) == ("refunded", 2590)
    otn = order["payment"]["out_trade_no"]
    refund_id = await shop.scalar("SELECT id FROM payment_refunds WHERE shop_id = :shop")
    async with shop.db.unit_of_work() as session:  # the outbox job runs again (a crash after the call)
        await payments.carry_out_refund(session, {"refund_id": refund_id})
    refunds = [r for r in fake_pay.state(shop.fake).refunds.values() if r.out_trade_no == otn]
    assert len(refunds) == 1 and refunds[0].status == "SUCCESS" and refunds[0].out_refund_no == f"{otn}R1"
    assert await balances(shop) == {"cash:wechat": 0, "customer_prepayments": 0}


async def test_an_abnormal_refund_holds_its_money_until_wechat_settles_it(shop: ShopHarness) -> None:
    buyer, order = await placed(shop)
    await shop.pay(order)
    fake_pay.state(shop.fake).complete_refunds_after = None
    try:
        await refund_all(shop, buyer, order["order_no"])
        await shop.run_due()
        no = f"{order['payment']['out_trade_no']}R1"
        fake_pay.complete_refund(shop.fake, no, "ABNORMAL")
        await shop.run_due()
        assert (await shop.order(buyer, order["order_no"]))["status"] == "refunding"
        row = await shop.scalar(
            "SELECT status || ':' || coalesce(last_error, '') FROM payment_refunds WHERE shop_id = :shop"
        )
        assert row.startswith("processing:ABNORMAL")
        assert await shop.scalar("SELECT refunded_fen FROM payments WHERE shop_id = :shop") == 2590  # still held
        fake_pay.complete_refund(shop.fake, no, "SUCCESS")  # the merchant redirected it; WeChat paid it out
        shop.fake.controls.drop_callbacks = 1  # ...and its notification is lost: the poller finds out
        await shop.fake.tick()
        await shop.advance(3601)
        await shop.run_due()
        view = await shop.order(buyer, order["order_no"])
        assert (view["status"], view["refunded_fen"]) == ("refunded", 2590)
    finally:
        fake_pay.state(shop.fake).complete_refunds_after = 0.0


async def test_racing_reconcilers_and_notifications_pay_once(shop: ShopHarness) -> None:
    buyer, order = await placed(shop)
    shop.fake.controls.drop_callbacks = 1
    await shop.pay(order)
    headers, raw = shop.paid_notification(order)
    await shop.advance(61)
    await asyncio.gather(
        *(jobs.run_due(shop.db) for _ in range(3)),
        *(shop.client.post(CALLBACK, content=raw, headers=headers) for _ in range(3)),
    )
    assert (await shop.order(buyer, order["order_no"]))["status"] == "paid"
    assert await shop.scalar("SELECT count(*) FROM ledger_transactions WHERE shop_id = :shop AND kind = 'payment'") == 1


async def test_logs_carry_no_openid_key_or_authorization(shop: ShopHarness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    buyer, order = await placed(shop)
    shop.fake.controls.tamper_callbacks = 1
    await shop.pay(order)
    await shop.advance(15)
    await shop.run_due()
    await refund_all(shop, buyer, order["order_no"])
    await shop.run_due()
    creds = shop.fake.credentials
    openid = await shop.scalar("SELECT openid FROM customers WHERE shop_id = :shop")
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert caplog.records  # the flow did log
    for secret in (
        openid,
        creds.apiv3_key,
        creds.app_secret,
        "WECHATPAY2-SHA256-RSA2048",
        "PRIVATE KEY",
        order["payment"]["params"]["paySign"],
    ):
        assert secret not in text


async def test_the_fakes_controls_are_reachable_over_http_in_sandbox_mode(shop: ShopHarness) -> None:
    """What a tester with curl has: the fake mounted at /api/v1/sandbox/wechat/fake."""
    fake_api = "/api/v1/sandbox/wechat/fake/_fake"
    buyer, order = await placed(shop)
    r = await shop.client.post(f"{fake_api}/callbacks", json={"drop": 1})
    assert r.status_code == 200 and r.json()["drop"] == 1
    await shop.pay(order)
    assert (await shop.order(buyer, order["order_no"]))["status"] == "pending_payment"  # the callback was lost
    r = await shop.client.post(f"{fake_api}/callbacks/probe", json={"url": "http://test" + CALLBACK})
    assert r.json() == {"answered": 401}
    r = await shop.client.post(f"{fake_api}/fail-next", json={"status": 500})
    assert r.json() == {"pending_failures": 1}
    sku = await shop.sku(price_fen=100, stock=1)
    r = await shop.client.post(f"{shop.base}/orders", headers=buyer, json={
        "lines": [{"sku_id": sku, "quantity": 1}], "address": _address(), "payment_method": "wechat"})
    assert_problem(r, 502, "wechat_pay_error")
    await shop.advance(61)
    r = await shop.client.post(f"{fake_api}/tick")
    assert r.status_code == 200
    await shop.run_due()
    assert (await shop.order(buyer, order["order_no"]))["status"] == "paid"  # the reconciler asked
