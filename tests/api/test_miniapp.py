"""Mini-program services through the API, the database and the embedded fake WeChat (wechat.md §9 items 9,
11, 24, 26, 28): the phone number encrypted at rest, subscribe messages with one-time grants, and the
order-shipping upload with its single correction.

The fake is shared by the whole session and sandbox openids are the same in every shop, so each test
uses template ids of its own.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import httpx
import pytest

from liebian.events import OrderShipped
from liebian.integrations.wechat.fake import openapi as fake_openapi
from liebian.integrations.wechat.miniprogram import MiniProgramClient
from liebian.miniapp import phone as phone_service
from liebian.miniapp import ports, rules, shipping
from liebian.miniapp.vault import PhoneVault, e164, mask
from tests.conftest import SECRET, ShopHarness, assert_problem

PHONE = "13812345678"
SEND = "/cgi-bin/message/subscribe/send"


async def openid_of(shop: ShopHarness, name: str) -> str:
    return str(await shop.scalar("SELECT openid FROM customers WHERE shop_id = :shop AND nickname = :n", n=name))


async def customer_id_of(shop: ShopHarness, name: str) -> int:
    return int(await shop.scalar("SELECT id FROM customers WHERE shop_id = :shop AND nickname = :n", n=name))


async def bind_phone(shop: ShopHarness, customer: dict[str, str], code: str) -> httpx.Response:
    return await shop.client.post(f"{shop.base}/auth/phone", json={"code": code}, headers=customer)


# --- phone number -------------------------------------------------------------------------------

async def test_the_phone_is_stored_encrypted_and_answered_masked(shop: ShopHarness,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    buyer = await shop.login("phone-owner")
    openid = await openid_of(shop, "phone-owner")
    r = await bind_phone(shop, buyer, fake_openapi.issue_phone_code(shop.fake, PHONE, openid=openid))
    assert r.status_code == 200, r.text
    assert r.json()["phone_masked"] == "138****5678" and PHONE not in r.text

    row = (await shop.client.get(f"{shop.base}/me/phone", headers=buyer)).json()
    assert row["phone_masked"] == "138****5678" and PHONE not in str(row)
    # Not in clear anywhere in the row: neither as text nor as bytes of the ciphertext or the hash.
    dump = await shop.scalar("SELECT t::text FROM customer_phones t WHERE shop_id = :shop")
    for spelling in (PHONE, "+86" + PHONE, PHONE.encode().hex(), ("+86" + PHONE).encode().hex()):
        assert spelling not in dump
    blob = bytes(await shop.scalar("SELECT phone_ciphertext FROM customer_phones WHERE shop_id = :shop"))
    assert PHONE.encode() not in blob and len(blob) == 12 + len("+86" + PHONE) + 16  # nonce ‖ ciphertext ‖ tag
    customer_id = await customer_id_of(shop, "phone-owner")
    vault = PhoneVault(SECRET)
    assert vault.decrypt(blob, shop_id=shop.shop_id, customer_id=customer_id) == "+86" + PHONE
    with pytest.raises(ValueError):  # bound to its row: another customer's id does not decrypt it
        vault.decrypt(blob, shop_id=shop.shop_id, customer_id=customer_id + 1)
    with pytest.raises(ValueError):  # and only the app's key does
        PhoneVault("another-secret-key-of-sufficient-length-000").decrypt(blob, shop_id=shop.shop_id,
                                                                          customer_id=customer_id)
    async with shop.db.sessions() as session:  # found by keyed hash, without decrypting
        assert await phone_service.customers_with_phone(session, vault, shop.shop_id, PHONE) == [customer_id]
        assert await phone_service.customers_with_phone(session, vault, shop.shop_id, "13900000000") == []

    text = "\n".join(record.getMessage() for record in caplog.records)
    assert caplog.records and PHONE not in text and PHONE[-8:] not in text and openid not in text


async def test_each_value_gets_its_own_nonce() -> None:
    vault = PhoneVault(SECRET)
    a, b = (vault.encrypt("+8613800138000", shop_id=1, customer_id=2) for _ in range(2))
    assert a != b and a[:12] != b[:12]
    assert vault.lookup_hash("+8613800138000") == vault.lookup_hash(e164("138 0013 8000", "86"))
    assert PhoneVault("x" * 40).lookup_hash("+8613800138000") != vault.lookup_hash("+8613800138000")
    assert mask("13800138000") == "138****8000" and mask("4155552671", "1") == "+1 415****2671"


async def test_a_phone_code_works_once_and_only_for_its_user(shop: ShopHarness) -> None:
    buyer, other = await shop.login("phone-a"), await shop.login("phone-b")
    code = fake_openapi.issue_phone_code(shop.fake, PHONE, openid=await openid_of(shop, "phone-a"))
    assert_problem(await bind_phone(shop, other, code), 400, "invalid_phone_code")  # issued to phone-a
    assert (await bind_phone(shop, buyer, code)).status_code == 200
    assert_problem(await bind_phone(shop, buyer, code), 400, "invalid_phone_code")  # single use
    assert_problem(await bind_phone(shop, buyer, "made-up-code"), 400, "invalid_phone_code")
    assert_problem(await bind_phone(shop, buyer, "x" * 129), 422, "validation_error")
    r = await shop.client.post(f"{shop.base}/auth/phone", json={"code": "c", "phone": PHONE}, headers=buyer)
    assert_problem(r, 422, "validation_error")
    assert_problem(await shop.client.post(f"{shop.base}/auth/phone", json={"code": "c"}), 401, "not_authenticated")


async def test_another_customer_or_shop_never_sees_the_phone(shop: ShopHarness, other_shop: ShopHarness) -> None:
    owner, nosy = await shop.login("phone-private"), await shop.login("phone-nosy")
    code = fake_openapi.issue_phone_code(shop.fake, PHONE, openid=await openid_of(shop, "phone-private"))
    assert (await bind_phone(shop, owner, code)).status_code == 200
    assert (await shop.client.get(f"{shop.base}/me/phone", headers=nosy)).json()["phone_masked"] is None
    r = await shop.client.get(f"{other_shop.base}/me/phone", headers=owner)  # a token of another shop
    assert_problem(r, 401, "invalid_token")
    # The customer can take it back (PIPL art. 47): nothing is kept.
    assert (await shop.client.delete(f"{shop.base}/me/phone", headers=owner)).status_code == 204
    assert (await shop.client.get(f"{shop.base}/me/phone", headers=owner)).json()["phone_masked"] is None
    assert await shop.count("customer_phones") == 0


async def test_quota_exhausted_is_503_and_wechat_errors_are_502(shop: ShopHarness) -> None:
    buyer = await shop.login("phone-quota")
    openid = await openid_of(shop, "phone-quota")
    fake_openapi.set_phone_quota(shop.fake, 0)
    try:
        r = await bind_phone(shop, buyer, fake_openapi.issue_phone_code(shop.fake, PHONE, openid=openid))
        assert_problem(r, 503, "phone_quota_exhausted")
    finally:
        fake_openapi.set_phone_quota(shop.fake, None)
    fake_openapi.inject_error(shop.fake, "/wxa/business/getuserphonenumber", -1, "system busy")
    r = await bind_phone(shop, buyer, fake_openapi.issue_phone_code(shop.fake, PHONE, openid=openid))
    assert_problem(r, 502, "wechat_phone_failed")

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("down", request=request)

    installed = ports.wechat.get()
    down = MiniProgramClient(installed.client.config, httpx.AsyncClient(transport=httpx.MockTransport(unreachable)))
    ports.install_wechat(down, installed.mchid)
    try:
        r = await bind_phone(shop, buyer, fake_openapi.issue_phone_code(shop.fake, PHONE, openid=openid))
        assert_problem(r, 502, "wechat_unavailable")
    finally:
        ports.wechat.install(installed)
    assert await shop.count("customer_phones") == 0


# --- subscribe messages ---------------------------------------------------------------------------

def template_id() -> str:
    return f"tpl_{secrets.token_hex(12)}"


async def set_templates(shop: ShopHarness, body: dict[str, Any]) -> dict[str, Any]:
    r = await shop.client.put("/api/v1/console/wechat/subscribe-templates", json=body, headers=shop.staff)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def accept(shop: ShopHarness, customer: dict[str, str], *ids: str) -> dict[str, Any]:
    r = await shop.client.post(f"{shop.base}/subscriptions", json={"accepted": list(ids)}, headers=customer)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def remaining(shop: ShopHarness, tid: str) -> int | None:
    return await shop.scalar("SELECT remaining FROM subscribe_grants WHERE shop_id = :shop AND template_id = :t",
                             t=tid)


def sent(shop: ShopHarness, tid: str) -> list[dict[str, Any]]:
    return [m for m in fake_openapi.sent_messages(shop.fake) if m["template_id"] == tid]


async def paid_order(shop: ShopHarness, customer: dict[str, str], sku: int) -> dict[str, Any]:
    order = await shop.place(customer, [{"sku_id": sku, "quantity": 1}], payment_method="wechat")
    await shop.pay(order)
    return order


async def test_templates_are_set_per_event_and_checked(shop: ShopHarness) -> None:
    paid, shipped = template_id(), template_id()
    body = await set_templates(shop, {"order_paid": paid, "order_shipped": {
        "template_id": shipped, "fields": {"thing5": "product", "character_string2": "tracking_no"},
        "page": "pages/order/detail"}})
    assert body["order_paid"] == {"template_id": paid, "fields": rules.DEFAULT_FIELDS["order_paid"], "page": None}
    assert body["order_shipped"]["fields"] == {"thing5": "product", "character_string2": "tracking_no"}
    assert body["order_refunded"] is None
    body = await set_templates(shop, {"order_shipped": None})  # removed; order_paid untouched
    assert body["order_shipped"] is None and body["order_paid"]["template_id"] == paid

    url = "/api/v1/console/wechat/subscribe-templates"
    for bad in ({"order_paid": {"template_id": paid, "fields": {"amount1": "product"}}},
                {"order_paid": {"template_id": paid, "fields": {"thing1": "tracking_no"}}},
                {"order_paid": {"template_id": paid, "fields": {"bogus1": "product"}}},
                {"order_paid": {"template_id": paid, "fields": {}}}):
        assert_problem(await shop.client.put(url, json=bad, headers=shop.staff), 422, "invalid_template_fields")
    for bad in ({"order_paid": "has space"}, {"order_lost": paid},
                {"order_paid": {"template_id": paid, "fields": {"thing1": "password"}}},
                {"order_paid": {"template_id": paid, "page": "/pages/x?y=1"}}):
        assert_problem(await shop.client.put(url, json=bad, headers=shop.staff), 422, "validation_error")
    buyer = await shop.login("console-probe")
    assert_problem(await shop.client.put(url, json={"order_paid": paid}, headers=buyer), 401, "invalid_token")


async def test_grants_are_counted_and_spent_one_per_message(shop: ShopHarness) -> None:
    tid = template_id()
    await set_templates(shop, {"order_paid": tid})
    buyer = await shop.login("grant-counter")
    mine = (await shop.client.get(f"{shop.base}/subscriptions", headers=buyer)).json()
    assert mine["templates"] == {"order_paid": tid, "order_shipped": None, "order_refunded": None,
                                 "group_succeeded": None, "group_failed": None}
    stale = template_id()
    body = await accept(shop, buyer, tid, stale)
    assert body["grants"] == [{"template_id": tid, "remaining": 1}] and body["ignored"] == [stale]
    assert (await accept(shop, buyer, tid))["grants"] == [{"template_id": tid, "remaining": 2}]
    fake_openapi.grant_subscription(shop.fake, await openid_of(shop, "grant-counter"), tid, 2)

    sku = await shop.sku(price_fen=2590, stock=10, title="潮汕牛肉丸")
    first = await paid_order(shop, buyer, sku)
    assert await remaining(shop, tid) == 1  # taken with the payment, sent after commit
    await shop.run_due()
    [message] = sent(shop, tid)
    assert message["data"] == {"thing1": "潮汕牛肉丸", "amount2": "¥25.90", "time3": message["data"]["time3"],
                               "character_string4": first["order_no"]}
    assert message["touser"] == await openid_of(shop, "grant-counter")
    await paid_order(shop, buyer, sku)
    await shop.run_due()
    assert await remaining(shop, tid) == 0 and len(sent(shop, tid)) == 2
    await paid_order(shop, buyer, sku)  # no grant left: nothing owed, nothing sent
    await shop.run_due()
    assert len(sent(shop, tid)) == 2 and await remaining(shop, tid) == 0
    assert await shop.scalar("SELECT count(*) FROM subscribe_messages WHERE shop_id = :shop") == 2
    assert_problem(await shop.client.post(f"{shop.base}/subscriptions", json={"accepted": [tid] * 4},
                                          headers=buyer), 422, "validation_error")


async def test_nothing_is_sent_without_a_grant(shop: ShopHarness) -> None:
    tid = template_id()
    await set_templates(shop, {"order_paid": tid})
    buyer = await shop.login("never-accepted")
    fake_openapi.grant_subscription(shop.fake, await openid_of(shop, "never-accepted"), tid, 1)  # WeChat would
    await paid_order(shop, buyer, await shop.sku(stock=5))
    await shop.run_due()
    assert sent(shop, tid) == [] and await shop.count("subscribe_messages") == 0
    assert all(c["template_id"] != tid for c in fake_openapi.calls(shop.fake, SEND))  # not even tried


async def test_43101_sets_the_grant_to_zero_without_retrying(shop: ShopHarness) -> None:
    tid = template_id()
    await set_templates(shop, {"order_paid": tid})
    buyer = await shop.login("revoked")
    for _ in range(3):
        await accept(shop, buyer, tid)  # three accepts reported, but WeChat holds none (revoked in settings)
    await paid_order(shop, buyer, await shop.sku(stock=5))
    await shop.run_due()
    assert await remaining(shop, tid) == 0 and sent(shop, tid) == []
    status = await shop.scalar("SELECT status || ':' || errcode FROM subscribe_messages WHERE shop_id = :shop")
    assert status == "refused:43101"
    outbox = await shop.scalar("SELECT attempts || ':' || (done_at IS NOT NULL) FROM kit_outbox "
                               "WHERE shop_id = :shop AND topic = 'miniapp.subscribe_send'")
    assert outbox == "1:true"  # handled once, not retried
    await shop.advance(3600)
    await shop.run_due()
    assert len([c for c in fake_openapi.calls(shop.fake, SEND) if c["template_id"] == tid]) == 1


async def test_a_long_title_is_cut_to_what_wechat_accepts(shop: ShopHarness) -> None:
    tid = template_id()
    await set_templates(shop, {"order_paid": tid})
    buyer = await shop.login("long-title")
    await accept(shop, buyer, tid)
    fake_openapi.grant_subscription(shop.fake, await openid_of(shop, "long-title"), tid, 1)
    title = "新疆阿克苏冰糖心苹果当季新鲜水果整箱十斤装大果包邮送礼佳品"
    assert len(title) > 20
    await paid_order(shop, buyer, await shop.sku(stock=5, title=title))
    await shop.run_due()
    [message] = sent(shop, tid)  # the fake checks every field against WeChat's table (47003 otherwise)
    thing = message["data"]["thing1"]
    assert len(thing) == 20 and thing == title[:19] + "…"
    assert await shop.scalar("SELECT status FROM subscribe_messages WHERE shop_id = :shop") == "sent"


async def test_shipped_and_refunded_messages_and_transient_failures(shop: ShopHarness) -> None:
    shipped, refunded = template_id(), template_id()
    await set_templates(shop, {"order_shipped": shipped, "order_refunded": refunded})
    buyer = await shop.login("ship-and-refund")
    await accept(shop, buyer, shipped, refunded)
    openid = await openid_of(shop, "ship-and-refund")
    fake_openapi.grant_subscription(shop.fake, openid, shipped, 1)
    fake_openapi.grant_subscription(shop.fake, openid, refunded, 1)
    order = await paid_order(shop, buyer, await shop.sku(price_fen=1200, stock=5, title="茶叶"))
    fake_openapi.inject_error(shop.fake, SEND, -1, "system error")  # WeChat busy: the outbox retries
    await shop.ship(order["order_no"])
    await shop.run_due()
    assert sent(shop, shipped) == []
    assert await shop.scalar("SELECT status FROM subscribe_messages WHERE shop_id = :shop") == "pending"
    await shop.advance(5)
    await shop.run_due()
    [message] = sent(shop, shipped)
    assert message["data"]["thing2"] == "顺丰" and message["data"]["character_string3"] == "SF1234567890"

    r = await shop.client.post(f"/api/v1/console/orders/{order['order_no']}/refunds", headers=shop.staff,
                               json={"reason": "缺货"})
    assert r.status_code == 201, r.text
    await shop.run_due()
    [message] = sent(shop, refunded)
    assert message["data"]["phrase3"] == "已退款" and message["data"]["amount2"] == "¥12.00"


async def test_a_field_wechat_would_refuse_is_not_sent_and_keeps_the_grant(shop: ShopHarness) -> None:
    tid = template_id()
    await set_templates(shop, {"order_shipped": tid})
    buyer = await shop.login("long-tracking")
    await accept(shop, buyer, tid)
    order = await paid_order(shop, buyer, await shop.sku(stock=5))
    r = await shop.client.post(f"/api/v1/console/orders/{order['order_no']}/ship", headers=shop.staff,
                               json={"carrier": "中通", "tracking_no": "7" * 40})  # character_string: ≤32
    assert r.status_code == 200, r.text
    await shop.run_due()
    assert sent(shop, tid) == [] and await shop.count("subscribe_messages") == 0
    assert await remaining(shop, tid) == 1


# --- shipping upload ------------------------------------------------------------------------------

async def report(shop: ShopHarness, order_no: str, **body: str) -> httpx.Response:
    url = f"/api/v1/console/wechat/shipping-reports/{order_no}"
    if body:
        return await shop.client.put(url, json=body, headers=shop.staff)
    return await shop.client.get(url, headers=shop.staff)


async def test_a_wechat_paid_order_is_reported_to_wechat_once_when_shipped(shop: ShopHarness) -> None:
    buyer = await shop.login("shipper")
    order = await paid_order(shop, buyer, await shop.sku(stock=5, title="单丛茶"))
    otn = order["payment"]["out_trade_no"]
    await shop.ship(order["order_no"])
    await shop.run_due()
    [upload] = fake_openapi.shipping_uploads(shop.fake, otn)
    assert upload["logistics_type"] == 1 and upload["delivery_mode"] == 1
    assert upload["shipping_list"] == [{"item_desc": "单丛茶", "tracking_no": "SF1234567890",
                                        "express_company": "SF",
                                        "contact": {"receiver_contact": "138****8000"}}]
    [call] = [c for c in fake_openapi.calls(shop.fake, "/wxa/sec/order/upload_shipping_info")
              if c["order_key"]["out_trade_no"] == otn]
    assert call["order_key"]["mchid"] == shop.fake.credentials.mchid
    assert call["payer"]["openid"] == await openid_of(shop, "shipper")
    r = await report(shop, order["order_no"])
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in ("status", "uploads", "corrections_left", "express_company")} == {
        "status": "uploaded", "uploads": 1, "corrections_left": 1, "express_company": "SF"}

    # The same shipment event again (a redelivered reaction) uploads nothing more.
    order_id = await shop.scalar("SELECT id FROM orders WHERE shop_id = :shop")
    async with shop.db.unit_of_work() as session:
        await shipping.on_order_shipped(session, OrderShipped(
            shop_id=shop.shop_id, order_id=order_id, order_no=order["order_no"], customer_id=0))
    await shop.run_due()
    assert len(fake_openapi.shipping_uploads(shop.fake, otn)) == 1


async def test_a_shipment_is_corrected_once_then_refused(shop: ShopHarness, other_shop: ShopHarness) -> None:
    buyer = await shop.login("corrector")
    order = await paid_order(shop, buyer, await shop.sku(stock=5))
    otn, no = order["payment"]["out_trade_no"], order["order_no"]
    await shop.ship(no)
    await shop.run_due()
    r = await report(shop, no, carrier="中通快递", tracking_no="ZT778899")
    assert r.status_code == 200 and r.json()["status"] == "pending"
    await shop.run_due()
    uploads = fake_openapi.shipping_uploads(shop.fake, otn)
    assert len(uploads) == 2 and uploads[1]["shipping_list"][0]["express_company"] == "ZTO"
    assert "contact" not in uploads[1]["shipping_list"][0]  # only SF asks for the receiver's phone
    assert (await report(shop, no)).json()["corrections_left"] == 0
    again = await report(shop, no, carrier="中通快递", tracking_no="ZT778899")  # the same details: unchanged
    assert again.status_code == 200 and again.json()["uploads"] == 2
    assert_problem(await report(shop, no, carrier="圆通", tracking_no="YT1"), 409, "shipping_correction_used")
    assert_problem(await report(other_shop, no), 404, "shipping_report_not_found")
    assert_problem(await report(shop, no, carrier="圆通", tracking_no="bad no!"), 422, "validation_error")
    assert len(fake_openapi.shipping_uploads(shop.fake, otn)) == 2


async def test_details_changed_before_the_upload_use_no_correction(shop: ShopHarness) -> None:
    buyer = await shop.login("quick-fix")
    order = await paid_order(shop, buyer, await shop.sku(stock=5))
    await shop.ship(order["order_no"])
    r = await report(shop, order["order_no"], carrier="韵达", tracking_no="YD42")  # before the worker ran
    assert r.status_code == 200, r.text
    await shop.run_due()
    [upload] = fake_openapi.shipping_uploads(shop.fake, order["payment"]["out_trade_no"])
    assert upload["shipping_list"][0]["tracking_no"] == "YD42"
    assert (await report(shop, order["order_no"])).json()["corrections_left"] == 1


def test_carriers_become_wechat_delivery_ids_and_fields_fit_their_keywords() -> None:
    assert [rules.express_company(c) for c in ("顺丰速运", "sf", "中通快递", "EMS", "某某物流")] == [
        "SF", "SF", "ZTO", "EMS", "某某物流"]
    assert rules.national_number("+86 138 0013 8000") == "13800138000"
    assert mask(rules.national_number("+8613800138000")) == "138****8000"
    assert rules.field_problems("order_paid", rules.DEFAULT_FIELDS["order_paid"]) == []
    assert rules.field_problems("order_refunded", {"phrase3": "status", "date4": "time"}) == []
    assert rules.field_problems("order_paid", {"character_string1": "carrier"})
    assert rules.item_desc(["茶" * 100, "杯" * 30]).endswith("…") and len(rules.item_desc(["茶" * 200])) == 120


async def test_cash_on_delivery_is_not_reported(shop: ShopHarness) -> None:
    buyer = await shop.login("cod-buyer")
    order = await shop.place(buyer, [{"sku_id": await shop.sku(stock=5), "quantity": 1}], payment_method="cod")
    await shop.ship(order["order_no"])
    await shop.run_due()
    assert_problem(await report(shop, order["order_no"]), 404, "shipping_report_not_found")
    assert await shop.count("shipping_reports") == 0
