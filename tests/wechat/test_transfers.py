"""商家转账 (transfer bills) with the real client against the fake: states, rules, notifications, lost answers."""

from __future__ import annotations

import secrets

import httpx
import pytest

from liebian.integrations.wechat import crypto
from liebian.integrations.wechat.errors import InvalidArgument, WeChatPayError
from liebian.integrations.wechat.fake import FakeError, FakeWeChat
from liebian.integrations.wechat.fake import transfers as fake_transfers
from liebian.integrations.wechat.pay import notifications
from liebian.integrations.wechat.pay import transfers as tr
from liebian.integrations.wechat.pay.client import PayClient
from tests.wechat.conftest import Inbox, ManualClock

INFOS = (tr.ReportInfo("岗位类型", "推广员"), tr.ReportInfo("报酬说明", "推广佣金"))
START_BALANCE = 100_000_000


def bill(amount_fen: int = 1234, *, no: str | None = None, user_name: str | None = None,
         openid: str = "oPROMOTER0001") -> tr.TransferBill:
    return tr.TransferBill(out_bill_no=no or "PO" + secrets.token_hex(8), openid=openid, amount_fen=amount_fen,
                           remark="推广佣金提现", scene_id="1005", report_infos=INFOS, user_name=user_name,
                           user_recv_perception="劳务报酬")


def finished_events(pay_client: PayClient, inbox: Inbox, clock: ManualClock) -> list[dict[str, object]]:
    events = []
    for headers, raw in inbox.received:
        note = notifications.parse(pay_client.config, headers, raw, clock())
        assert (note.event_type, note.original_type) == ("MCHTRANSFER.BILL.FINISHED", "mch_payment")
        events.append(note.resource)
    return events


async def test_create_waits_for_the_user_then_confirm_succeeds_and_notifies(
        fake: FakeWeChat, pay_client: PayClient, inbox: Inbox, manual_clock: ManualClock) -> None:
    b = bill(1234)
    created = await tr.create_transfer(pay_client, b)
    assert created.state == "WAIT_USER_CONFIRM" and created.package_info and created.transfer_bill_no
    assert fake_transfers.state(fake).balance_fen == START_BALANCE - 1234
    queried = await tr.query_transfer(pay_client, b.out_bill_no)
    assert (queried.state, queried.amount_fen, queried.package_info) == ("WAIT_USER_CONFIRM", 1234, None)
    assert (await tr.query_by_transfer_bill_no(pay_client, str(created.transfer_bill_no))).out_bill_no == b.out_bill_no

    creds = fake.credentials
    with pytest.raises(FakeError, match="openId"):  # what wx.requestMerchantTransfer is given is checked
        fake_transfers.confirm_transfer(fake, b.out_bill_no, {"mchId": creds.mchid, "appId": creds.appid,
                                                              "package": created.package_info, "openId": "oOTHER"})
    fake_transfers.confirm_transfer(fake, b.out_bill_no, {"mchId": creds.mchid, "appId": creds.appid,
                                                          "package": created.package_info, "openId": b.openid})
    assert (await tr.query_transfer(pay_client, b.out_bill_no)).state == "SUCCESS"
    await fake.tick()
    [event] = finished_events(pay_client, inbox, manual_clock)
    assert event["state"] == "SUCCESS" and event["out_bill_no"] == b.out_bill_no
    assert event["transfer_amount"] == 1234 and event["mch_id"] == creds.mchid
    assert fake_transfers.state(fake).balance_fen == START_BALANCE - 1234  # money went out for good


async def test_same_out_bill_no_is_the_same_bill_and_a_changed_one_is_refused(
        fake: FakeWeChat, pay_client: PayClient) -> None:
    b = bill(500, user_name="李四")
    first, again = await tr.create_transfer(pay_client, b), await tr.create_transfer(pay_client, b)
    # Same bill, same package, although the name's OAEP ciphertext differs on every call.
    assert (first.transfer_bill_no, first.package_info) == (again.transfer_bill_no, again.package_info)
    assert fake_transfers.state(fake).balance_fen == START_BALANCE - 500
    with pytest.raises(WeChatPayError) as err:
        await tr.create_transfer(pay_client, bill(501, no=b.out_bill_no, user_name="李四"))
    assert (err.value.status, err.value.code, err.value.outcome_unknown) == (400, "INVALID_REQUEST", False)


async def test_less_than_ten_fen_is_refused_by_client_and_fake(pay_client: PayClient) -> None:
    with pytest.raises(InvalidArgument):
        await tr.create_transfer(pay_client, bill(9))
    body = bill(10).body(pay_client)
    body["transfer_amount"] = 9
    with pytest.raises(WeChatPayError) as err:
        await pay_client.request("POST", tr.BASE, body=body)
    assert err.value.code == "INVALID_REQUEST" and "0.1" in err.value.message
    assert (await tr.create_transfer(pay_client, bill(10))).state == "WAIT_USER_CONFIRM"


async def test_two_thousand_yuan_needs_the_encrypted_real_name(fake: FakeWeChat, pay_client: PayClient) -> None:
    with pytest.raises(InvalidArgument, match="real name"):
        await tr.create_transfer(pay_client, bill(200_000))
    body = bill(199_999).body(pay_client)
    body["transfer_amount"] = 200_000
    with pytest.raises(WeChatPayError, match="user_name"):
        await pay_client.request("POST", tr.BASE, body=body)
    # A name encrypted with some other key does not decrypt at WeChat.
    stranger = crypto.generate_private_key().public_key()
    body["user_name"] = crypto.rsa_oaep_encrypt(stranger, "王五")
    with pytest.raises(WeChatPayError, match="解密失败"):
        await pay_client.request("POST", tr.BASE, body=body)
    assert (await tr.create_transfer(pay_client, bill(199_999))).state == "WAIT_USER_CONFIRM"
    b = bill(200_000, user_name="王五")
    assert (await tr.create_transfer(pay_client, b)).state == "WAIT_USER_CONFIRM"
    assert fake_transfers.state(fake).bills[b.out_bill_no].user_name == "王五"  # decrypted with WeChat Pay's key


async def test_unconfirmed_bill_is_cancelled_after_24_hours_and_the_money_returns(
        fake: FakeWeChat, pay_client: PayClient, inbox: Inbox, manual_clock: ManualClock) -> None:
    b = bill(3000)
    await tr.create_transfer(pay_client, b)
    manual_clock.advance(24 * 3600 - 1)
    await fake.tick()
    assert (await tr.query_transfer(pay_client, b.out_bill_no)).state == "WAIT_USER_CONFIRM"
    manual_clock.advance(1)
    await fake.tick()
    snapshot = await tr.query_transfer(pay_client, b.out_bill_no)
    assert snapshot.state == "CANCELLED" and snapshot.final
    assert fake_transfers.state(fake).balance_fen == START_BALANCE
    [event] = finished_events(pay_client, inbox, manual_clock)
    assert event["state"] == "CANCELLED"
    with pytest.raises(FakeError):
        fake_transfers.confirm_transfer(fake, b.out_bill_no)


async def test_cancel_goes_canceling_then_cancelled(fake: FakeWeChat, pay_client: PayClient, inbox: Inbox,
                                                    manual_clock: ManualClock) -> None:
    b = bill(800)
    await tr.create_transfer(pay_client, b)
    assert (await tr.cancel_transfer(pay_client, b.out_bill_no)).state == "CANCELING"
    assert (await tr.cancel_transfer(pay_client, b.out_bill_no)).state == "CANCELING"  # repeatable
    await fake.tick()
    assert (await tr.query_transfer(pay_client, b.out_bill_no)).state == "CANCELLED"
    assert [e["state"] for e in finished_events(pay_client, inbox, manual_clock)] == ["CANCELLED"]
    assert fake_transfers.state(fake).balance_fen == START_BALANCE
    done = bill(900)
    await tr.create_transfer(pay_client, done)
    fake_transfers.confirm_transfer(fake, done.out_bill_no)
    with pytest.raises(WeChatPayError) as err:
        await tr.cancel_transfer(pay_client, done.out_bill_no)
    assert err.value.code == "INVALID_REQUEST"


async def test_fail_returns_the_money_and_notifies_the_reason(fake: FakeWeChat, pay_client: PayClient, inbox: Inbox,
                                                              manual_clock: ManualClock) -> None:
    b = bill(700)
    await tr.create_transfer(pay_client, b)
    fake_transfers.fail_transfer(fake, b.out_bill_no, "REAL_NAME_CHECK_FAIL")
    await fake.tick()
    [event] = finished_events(pay_client, inbox, manual_clock)
    assert (event["state"], event["fail_reason"]) == ("FAIL", "REAL_NAME_CHECK_FAIL")
    assert fake_transfers.state(fake).balance_fen == START_BALANCE


async def test_answer_lost_after_processing_ensure_queries_the_same_number(
        fake: FakeWeChat, pay_client: PayClient) -> None:
    b = bill(4321)
    fake.inject_failure(500, after_processing=True)
    with pytest.raises(WeChatPayError) as err:
        await tr.create_transfer(pay_client, b)
    assert err.value.outcome_unknown
    fake.calls.clear()
    fake.inject_failure(500, after_processing=True)
    snapshot = await tr.ensure_transfer(pay_client, b)
    # POST (answer lost again) → GET the same number → POST the same number to recover package_info.
    assert [(c.method, c.url.split("?")[0].rsplit("/", 1)[-1]) for c in fake.calls] == [
        ("POST", "transfer-bills"), ("GET", b.out_bill_no), ("POST", "transfer-bills")]
    assert all(c.data.get("out_bill_no", b.out_bill_no) == b.out_bill_no for c in fake.calls)
    assert snapshot.state == "WAIT_USER_CONFIRM" and snapshot.package_info
    assert list(fake_transfers.state(fake).bills) == [b.out_bill_no]
    assert fake_transfers.state(fake).balance_fen == START_BALANCE - 4321  # debited once


async def test_failure_before_processing_ensure_finds_nothing_and_creates_under_the_same_number(
        fake: FakeWeChat, pay_client: PayClient) -> None:
    b = bill(1000)
    fake.inject_failure(503)
    snapshot = await tr.ensure_transfer(pay_client, b)
    assert snapshot.state == "WAIT_USER_CONFIRM" and snapshot.package_info
    assert [c.method for c in fake.calls] == ["GET", "POST"]  # the failed POST never reached the handler
    fake.inject_failure(500, count=3)
    with pytest.raises(WeChatPayError) as err:
        await tr.ensure_transfer(pay_client, bill(1000))
    assert err.value.outcome_unknown  # two unknowns in a row: the caller asks again later


async def test_attempted_before_asks_first_and_returns_a_final_bill_as_is(
        fake: FakeWeChat, pay_client: PayClient) -> None:
    b = bill(600)
    await tr.create_transfer(pay_client, b)
    fake_transfers.confirm_transfer(fake, b.out_bill_no)
    fake.calls.clear()
    snapshot = await tr.ensure_transfer(pay_client, b, attempted_before=True)
    assert snapshot.state == "SUCCESS" and [c.method for c in fake.calls] == ["GET"]
    assert await tr.find_transfer(pay_client, "PONEVERMADE") is None
    fake.inject_failure(403)  # a refused query says nothing about the bill: still unknown, not a refusal
    with pytest.raises(WeChatPayError) as err:
        await tr.ensure_transfer(pay_client, bill(600), attempted_before=True)
    assert (err.value.status, err.value.outcome_unknown) == (403, True)


async def test_definite_refusals_are_not_unknown(fake: FakeWeChat, pay_client: PayClient) -> None:
    fake_transfers.state(fake).balance_fen = 100
    with pytest.raises(WeChatPayError) as err:
        await tr.ensure_transfer(pay_client, bill(101))
    assert (err.value.status, err.value.code, err.value.outcome_unknown) == (403, "NOT_ENOUGH", False)
    body = bill(50).body(pay_client)
    body["transfer_scene_report_infos"] = [{"info_type": "岗位类型", "info_content": "推广员"}]
    with pytest.raises(WeChatPayError, match="报酬说明"):
        await pay_client.request("POST", tr.BASE, body=body)
    body["transfer_scene_id"] = "9999"
    with pytest.raises(WeChatPayError) as err:
        await pay_client.request("POST", tr.BASE, body=body)
    assert err.value.code == "NO_AUTH"
    with pytest.raises(InvalidArgument):
        await tr.create_transfer(pay_client, bill(50, no="PO-with-dash"))


async def test_http_controls(fake: FakeWeChat, pay_client: PayClient, inbox: Inbox) -> None:
    b = bill(2500)
    await tr.create_transfer(pay_client, b)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app), base_url="http://fake") as http:
        r = await http.post(f"/_fake/transfers/{b.out_bill_no}/confirm", json={})
        assert r.status_code == 200 and r.json()["state"] == "SUCCESS" and r.json()["delivered"] == 1
        assert (await http.post(f"/_fake/transfers/{b.out_bill_no}/expire")).status_code == 400
        assert (await http.post("/_fake/transfers/PONOSUCH/confirm")).json()["code"] == "NOT_FOUND"
        other = bill(2600)
        await tr.create_transfer(pay_client, other)
        r = await http.post(f"/_fake/transfers/{other.out_bill_no}/expire")
        assert r.json()["state"] == "CANCELLED"
        r = await http.post("/_fake/transfers/balance", json={"balance_fen": 42})
        assert r.json() == {"balance_fen": 42}
        assert (await http.get("/_fake/transfers/balance")).json() == {"balance_fen": 42}
    assert len(inbox.received) == 2
