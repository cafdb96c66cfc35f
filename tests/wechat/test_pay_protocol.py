"""The Pay v3 client against the fake: request checks, answers, orders, closing, refunds, notifications.

(wechat.md §9 items 2, 3, 5, 10, 16, 17, 27, 30; no database.)
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
from wechatpayv3 import utils as oracle_utils

from liebian.integrations.wechat import crypto
from liebian.integrations.wechat.errors import InvalidArgument, WeChatPayError
from liebian.integrations.wechat.fake import FakeError, FakeWeChat, SandboxCredentials
from liebian.integrations.wechat.fake import pay as fake_pay
from liebian.integrations.wechat.pay import notifications
from liebian.integrations.wechat.pay import transactions as tx
from liebian.integrations.wechat.pay.client import PayClient
from tests.wechat.conftest import NOTIFY_URL, PAY_BASE, Inbox, ManualClock, oracle


def order(no: str = "LB20261123A1", total: int = 1990, **extra: Any) -> tx.JsapiOrder:
    return tx.JsapiOrder(
        out_trade_no=no, description="测试商品 红色 M", amount_fen=total, payer_openid="o_buyer", **extra
    )


async def paid(
    client: PayClient, fake: FakeWeChat, no: str = "LB20261123A1", total: int = 1990
) -> fake_pay.Transaction:
    prepay = await tx.jsapi_prepay(client, order(no, total))
    params = crypto.request_payment_params(client.config.merchant_key, client.config.appid, prepay, client.now())
    return fake_pay.pay(fake, no, params)


async def raw_call(
    fake: FakeWeChat,
    creds: SandboxCredentials,
    clock: ManualClock,
    *,
    method: str = "POST",
    url: str = "/v3/pay/transactions/jsapi",
    body: str = '{"mchid":"1"}',
    sign_body: str | None = None,
    mchid: str | None = None,
    serial: str | None = None,
    key_pem: str | None = None,
    timestamp: str | None = None,
) -> httpx.Response:
    key = crypto.load_private_key((key_pem or creds.merchant_key_pem).encode())
    ts = timestamp or str(int(clock()))
    auth = crypto.build_authorization(
        mchid=mchid or creds.mchid,
        serial_no=serial or creds.merchant_serial,
        key=key,
        method=method,
        url=url,
        body=body if sign_body is None else sign_body,
        timestamp=ts,
        nonce="NONCE",
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app), base_url=PAY_BASE) as http:
        return await http.request(
            method, url, content=body.encode(), headers={"Authorization": auth, "Content-Type": "application/json"}
        )


async def test_the_fake_refuses_requests_wechat_would_refuse(
    fake: FakeWeChat, credentials: SandboxCredentials, manual_clock: ManualClock
) -> None:
    other = SandboxCredentials.generate()
    cases = {
        "wrong key": {"key_pem": other.merchant_key_pem},
        "wrong serial": {"serial": "0123456789ABCDEF"},
        "wrong mchid": {"mchid": "1900000999"},
        "body changed after signing": {"sign_body": '{"mchid":"2"}'},
        "301 s old": {"timestamp": str(int(manual_clock()) - 301)},
        "milliseconds": {"timestamp": str(int(manual_clock() * 1000))},
    }
    for name, kwargs in cases.items():
        r = await raw_call(fake, credentials, manual_clock, **kwargs)
        assert r.status_code == 401 and r.json()["code"] == "SIGN_ERROR", name
    assert fake.calls == [] and fake_pay.state(fake).transactions == {}
    r = await raw_call(
        fake,
        credentials,
        manual_clock,
        method="GET",
        body="",
        url=f"/v3/pay/transactions/out-trade-no/NONE01?mchid={credentials.mchid}",
    )
    assert r.status_code == 404 and r.json()["code"] == "ORDER_NOT_EXIST"  # well signed, so it got through


async def test_requests_signed_by_the_oracle_are_accepted(fake: FakeWeChat, credentials: SandboxCredentials) -> None:
    """wechatpayv3 signs with the real clock; the fake must accept its Authorization as it accepts ours."""
    fake.now = lambda: float(int(dt.datetime.now(dt.UTC).timestamp()))
    url = "/v3/pay/transactions/out-trade-no/NONE01?mchid=" + credentials.mchid
    auth = oracle_utils.build_authorization(
        url,
        "GET",
        credentials.mchid,
        credentials.merchant_serial,
        oracle_utils.load_private_key(credentials.merchant_key_pem),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app), base_url=PAY_BASE) as http:
        r = await http.get(url, headers={"Authorization": auth})
    assert r.status_code == 404 and r.json()["code"] == "ORDER_NOT_EXIST"


async def test_prepay_is_idempotent_and_a_changed_order_is_refused(pay_client: PayClient, fake: FakeWeChat) -> None:
    first = await tx.jsapi_prepay(pay_client, order())
    assert first.startswith("wx") and await tx.jsapi_prepay(pay_client, order()) == first
    with pytest.raises(WeChatPayError) as changed:
        await tx.jsapi_prepay(pay_client, order(total=1))
    assert changed.value.code == "INVALID_REQUEST" and not changed.value.outcome_unknown
    calls = len(fake.calls)
    for bad in (
        order(no="short"),
        order(no="has space 123"),
        order(no="x" * 33),
        order(total=0),
        tx.JsapiOrder("LB20261123A2", "", 100, "o"),
        tx.JsapiOrder("LB20261123A2", "d", 100, ""),
    ):
        with pytest.raises(InvalidArgument):
            await tx.jsapi_prepay(pay_client, bad)
    assert len(fake.calls) == calls  # refused before calling


async def test_pay_sign_is_checked_by_the_payer_side(pay_client: PayClient, fake: FakeWeChat) -> None:
    prepay = await tx.jsapi_prepay(pay_client, order())
    cfg = pay_client.config
    good = crypto.request_payment_params(cfg.merchant_key, cfg.appid, prepay, pay_client.now())
    assert set(good) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    millis = {**good, "timeStamp": good["timeStamp"] + "000"}
    millis["paySign"] = crypto.pay_sign(
        cfg.merchant_key, cfg.appid, millis["timeStamp"], good["nonceStr"], good["package"]
    )
    for bad in (
        {**good, "appId": "wx0000000000000000"},
        millis,
        {**good, "signType": "MD5"},
        {**good, "paySign": good["paySign"][::-1]},
        {**good, "package": "prepay_id=wx_other"},
    ):
        with pytest.raises(FakeError):
            fake_pay.pay(fake, "LB20261123A1", bad)
    assert (await tx.query_by_out_trade_no(pay_client, "LB20261123A1"))["trade_state"] == "NOTPAY"
    fake_pay.pay(fake, "LB20261123A1", good)
    view = await tx.query_by_out_trade_no(pay_client, "LB20261123A1")
    assert view["trade_state"] == "SUCCESS" and view["amount"]["total"] == 1990 and view["transaction_id"]


async def test_close_answers_204_and_a_paid_order_answers_orderpaid(pay_client: PayClient, fake: FakeWeChat) -> None:
    await tx.jsapi_prepay(pay_client, order("LB20261123C1"))
    await tx.close(pay_client, "LB20261123C1")
    assert (await tx.query_by_out_trade_no(pay_client, "LB20261123C1"))["trade_state"] == "CLOSED"
    with pytest.raises(FakeError):
        fake_pay.pay(fake, "LB20261123C1", None)  # no paying a closed order
    await paid(pay_client, fake, "LB20261123C2")
    with pytest.raises(WeChatPayError) as already:
        await tx.close(pay_client, "LB20261123C2")
    assert already.value.code == "ORDERPAID"


async def test_an_order_cannot_be_paid_after_time_expire(
    pay_client: PayClient, fake: FakeWeChat, manual_clock: ManualClock
) -> None:
    deadline = dt.datetime.fromtimestamp(manual_clock() + 600, dt.UTC)
    await tx.jsapi_prepay(pay_client, order("LB20261123E1", time_expire=deadline))
    manual_clock.advance(601)
    with pytest.raises(FakeError) as expired:
        fake_pay.pay(fake, "LB20261123E1", None)
    assert expired.value.code == "ORDER_EXPIRED"


async def test_refund_rules(pay_client: PayClient, fake: FakeWeChat, manual_clock: ManualClock) -> None:
    await paid(pay_client, fake, "LB20261123R0", 10_000)
    first = await tx.refund(pay_client, tx.RefundOrder("LB20261123R0", "LB20261123R0R1", 1000, 10_000))
    again = await tx.refund(pay_client, tx.RefundOrder("LB20261123R0", "LB20261123R0R1", 1000, 10_000))
    assert first["status"] == "PROCESSING" and again["refund_id"] == first["refund_id"]  # same number, same refund
    with pytest.raises(WeChatPayError) as spacing:
        await tx.refund(pay_client, tx.RefundOrder("LB20261123R0", "LB20261123R0R2", 1000, 10_000))
    assert spacing.value.code == "FREQUENCY_LIMITED" and spacing.value.retryable
    manual_clock.advance(61)
    with pytest.raises(WeChatPayError) as too_much:
        await tx.refund(pay_client, tx.RefundOrder("LB20261123R0", "LB20261123R0R2", 9001, 10_000))
    assert too_much.value.code == "NOT_ENOUGH"
    with pytest.raises(WeChatPayError) as wrong_total:
        await tx.refund(pay_client, tx.RefundOrder("LB20261123R0", "LB20261123R0R2", 100, 9_999))
    assert wrong_total.value.code == "PARAM_ERROR"
    with pytest.raises(InvalidArgument):
        await tx.refund(pay_client, tx.RefundOrder("LB20261123R0", "bad no!", 100, 10_000))
    await paid(pay_client, fake, "LB20261123R9", 10_000)
    manual_clock.advance(366 * 24 * 3600)
    with pytest.raises(WeChatPayError) as late:
        await tx.refund(pay_client, tx.RefundOrder("LB20261123R9", "LB20261123R9R1", 100, 10_000))
    assert late.value.code == "INVALID_REQUEST"


async def test_at_most_fifty_partial_refunds(
    pay_client: PayClient, fake: FakeWeChat, manual_clock: ManualClock
) -> None:
    await paid(pay_client, fake, "LB20261123P0", 100)
    for n in range(1, 51):
        await tx.refund(pay_client, tx.RefundOrder("LB20261123P0", f"LB20261123P0R{n}", 1, 100))
        manual_clock.advance(61)
    with pytest.raises(WeChatPayError) as limit:
        await tx.refund(pay_client, tx.RefundOrder("LB20261123P0", "LB20261123P0R51", 1, 100))
    assert limit.value.code == "INVALID_REQUEST"


async def test_refund_outcomes_are_notified_and_queryable(
    pay_client: PayClient, fake: FakeWeChat, inbox: Inbox
) -> None:
    await paid(pay_client, fake, "LB20261123N1", 500)
    await fake.deliver_due()
    fake_pay.state(fake).complete_refunds_after = None  # the bank decides below
    await tx.refund(pay_client, tx.RefundOrder("LB20261123N1", "LB20261123N1R1", 500, 500))
    fake_pay.complete_refund(fake, "LB20261123N1R1", "ABNORMAL")
    await fake.tick()
    kinds = [json.loads(body)["event_type"] for _, body in inbox.received]
    assert kinds == ["TRANSACTION.SUCCESS", "REFUND.ABNORMAL"]
    headers, body = inbox.received[-1]
    note = notifications.parse(pay_client.config, headers, body, pay_client.now())
    assert note.original_type == "refund" and note.resource["refund_status"] == "ABNORMAL"
    assert note.resource["out_refund_no"] == "LB20261123N1R1" and note.resource["amount"]["refund"] == 500
    assert (await tx.query_refund(pay_client, "LB20261123N1R1"))["status"] == "ABNORMAL"


async def test_notifications_are_retried_on_wechats_schedule(
    pay_client: PayClient, fake: FakeWeChat, inbox: Inbox, manual_clock: ManualClock
) -> None:
    inbox.status = 500
    await paid(pay_client, fake, "LB20261123S1")
    assert await fake.deliver_due() == 1
    assert await fake.deliver_due() == 0  # next try in 15 s
    manual_clock.advance(15)
    await fake.deliver_due()
    manual_clock.advance(14)
    assert await fake.deliver_due() == 0
    inbox.status = 204
    manual_clock.advance(1)
    await fake.deliver_due()
    assert len(inbox.received) == 3 and fake.deliveries[-1].done and fake.deliveries[-1].outcomes == [500, 500, 204]
    # Every attempt is signed afresh, so a late retry is not refused as stale.
    stamps = {h["wechatpay-timestamp"] for h, _ in inbox.received}
    assert len(stamps) == 3


async def test_injected_failures(pay_client: PayClient, fake: FakeWeChat) -> None:
    fake.inject_failure(500)
    with pytest.raises(WeChatPayError) as before:
        await tx.jsapi_prepay(pay_client, order("LB20261123F1"))
    assert before.value.outcome_unknown and "LB20261123F1" not in fake_pay.state(fake).transactions
    fake.inject_failure(500, after_processing=True)
    with pytest.raises(WeChatPayError) as after:
        await tx.jsapi_prepay(pay_client, order("LB20261123F1"))
    assert after.value.outcome_unknown and "LB20261123F1" in fake_pay.state(fake).transactions
    # The retry with identical parameters is safe: same prepay_id.
    assert (
        await tx.jsapi_prepay(pay_client, order("LB20261123F1"))
        == fake_pay.state(fake).transactions["LB20261123F1"].prepay_id
    )


async def test_public_key_migration_accepts_either_signer(fake: FakeWeChat, manual_clock: ManualClock) -> None:
    """During a certificate → public key switch WeChat signs at random with either key (wechat.md §2.1)."""
    fake.signer_mode = "migration"
    config = fake.credentials.pay_config(notify_url=NOTIFY_URL, base_url=PAY_BASE)
    seen: set[str] = set()

    async def record(response: httpx.Response) -> None:
        seen.add(response.headers.get("wechatpay-serial", ""))

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app), event_hooks={"response": [record]}
    ) as http:
        client = PayClient(config, http, now=manual_clock)
        for n in range(24):
            await tx.jsapi_prepay(client, order(f"LB20261123M{n:02d}"))
    assert seen == {fake.credentials.public_key_id, fake.credentials.certificate_serial}
    only_pubkey = fake.credentials.pay_config(notify_url=NOTIFY_URL, base_url=PAY_BASE, accept_certificate=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app)) as http:
        client = PayClient(only_pubkey, http, now=manual_clock)
        outcomes = set()
        for n in range(24):
            try:
                await tx.jsapi_prepay(client, order(f"LB20261123Q{n:02d}"))
                outcomes.add("ok")
            except WeChatPayError as exc:
                outcomes.add(exc.code)
    assert outcomes == {"ok", "INVALID_SIGNATURE"}  # an unknown serial is refused


async def test_every_answer_of_the_fake_verifies_with_the_oracle(
    fake: FakeWeChat, credentials: SandboxCredentials, manual_clock: ManualClock
) -> None:
    """Differential: each response our client accepted also passes wechatpayv3's verifier."""
    fake.now = lambda: float(int(dt.datetime.now(dt.UTC).timestamp()))
    manual_clock.t = fake.now()
    core = oracle(credentials)
    answers: list[httpx.Response] = []

    async def record(response: httpx.Response) -> None:
        await response.aread()
        answers.append(response)

    config = credentials.pay_config(notify_url=NOTIFY_URL, base_url=PAY_BASE)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app), event_hooks={"response": [record]}
    ) as http:
        client = PayClient(config, http, now=manual_clock)
        await paid(client, fake, "LB20261123D1", 800)
        await tx.query_by_out_trade_no(client, "LB20261123D1")
        await tx.refund(client, tx.RefundOrder("LB20261123D1", "LB20261123D1R1", 800, 800))
        await tx.query_refund(client, "LB20261123D1R1")
        await tx.jsapi_prepay(client, order("LB20261123D2"))
        await tx.close(client, "LB20261123D2")
    assert len(answers) == 6
    for response in answers:
        assert core._verify_signature(dict(response.headers), response.text), response.request.url
