"""Profit sharing (分账) with the real client against the fake: receivers, splits, cap, results, unfreeze, returns."""

from __future__ import annotations

import secrets

import pytest

from liebian.integrations.wechat.errors import InvalidArgument, WeChatPayError
from liebian.integrations.wechat.fake import FakeWeChat
from liebian.integrations.wechat.fake import pay as fake_pay
from liebian.integrations.wechat.fake import profitsharing as fake_ps
from liebian.integrations.wechat.pay import profitsharing as ps
from liebian.integrations.wechat.pay import transactions as tx
from liebian.integrations.wechat.pay.client import PayClient
from tests.wechat.conftest import ManualClock

L1, L2 = "oPROMOTERL1", "oPROMOTERL2"
PARTNER_MCHID, PARTNER_NAME = "1900012345", "深圳市某某供应链有限公司"


async def paid(fake: FakeWeChat, client: PayClient, clock: ManualClock, total: int = 10_000, *,
               profit_sharing: bool = True, settle: bool = True) -> str:
    """A paid transaction (its transaction_id), past WeChat's settling minute unless ``settle`` is False."""
    otn = "LB" + secrets.token_hex(8)
    await tx.jsapi_prepay(client, tx.JsapiOrder(out_trade_no=otn, description="测试商品", amount_fen=total,
                                                payer_openid="oBUYER", profit_sharing=profit_sharing))
    txn = fake_pay.pay(fake, otn, None)
    if settle:
        clock.advance(61)
    return str(txn.transaction_id)


async def register(client: PayClient, *accounts: str) -> None:
    for account in accounts:
        receiver = ps.Receiver("PERSONAL_OPENID", account, "DISTRIBUTOR", name=f"推广员{account[-2:]}")
        await ps.add_receiver(client, receiver)


def order(transaction_id: str, *splits: tuple[str, int], no: str | None = None, last: bool = False) -> ps.SharingOrder:
    return ps.SharingOrder(transaction_id=transaction_id, out_order_no=no or "PS" + secrets.token_hex(8),
                           splits=tuple(ps.Split("PERSONAL_OPENID", a, fen, "推广佣金") for a, fen in splits),
                           unfreeze_unsplit=last)


async def test_split_is_pending_then_succeeds_on_tick(fake: FakeWeChat, pay_client: PayClient,
                                                      manual_clock: ManualClock) -> None:
    txn = await paid(fake, pay_client, manual_clock, settle=False)
    await register(pay_client, L1, L2)
    assert fake_ps.state(fake).receivers[("PERSONAL_OPENID", L1)].name == "推广员L1"  # OAEP decrypted by WeChat
    with pytest.raises(WeChatPayError, match="订单处理中"):
        await ps.create_order(pay_client, order(txn, (L1, 2000)))
    manual_clock.advance(60)
    req = order(txn, (L1, 2000), (L2, 1000))
    result = await ps.create_order(pay_client, req)
    assert result.state == "PROCESSING" and [r.result for r in result.receivers] == ["PENDING", "PENDING"]
    assert await ps.unsplit_amount(pay_client, txn) == 7000
    await fake.tick()
    done = await ps.query_order(pay_client, req.out_order_no, txn)
    assert done.finished and [(r.account, r.amount_fen, r.result) for r in done.receivers] == [
        (L1, 2000, "SUCCESS"), (L2, 1000, "SUCCESS")]
    assert done.order_id == result.order_id


async def test_only_profit_sharing_transactions_and_registered_receivers(
        fake: FakeWeChat, pay_client: PayClient, manual_clock: ManualClock) -> None:
    plain = await paid(fake, pay_client, manual_clock, profit_sharing=False)
    await register(pay_client, L1)
    with pytest.raises(WeChatPayError, match="不支持分账"):
        await ps.create_order(pay_client, order(plain, (L1, 100)))
    txn = await paid(fake, pay_client, manual_clock)
    with pytest.raises(WeChatPayError, match="未添加"):
        await ps.create_order(pay_client, order(txn, (L2, 100)))
    await ps.delete_receiver(pay_client, "PERSONAL_OPENID", L1)
    with pytest.raises(WeChatPayError, match="未添加"):
        await ps.create_order(pay_client, order(txn, (L1, 100)))


async def test_thirty_percent_cap_across_orders(fake: FakeWeChat, pay_client: PayClient,
                                                manual_clock: ManualClock) -> None:
    txn = await paid(fake, pay_client, manual_clock, 10_000)
    await register(pay_client, L1, L2)
    with pytest.raises(WeChatPayError, match="最大分账比例") as err:
        await ps.create_order(pay_client, order(txn, (L1, 2001), (L2, 1000)))
    assert err.value.code == "INVALID_REQUEST" and not err.value.outcome_unknown
    await ps.create_order(pay_client, order(txn, (L1, 2000)))
    with pytest.raises(WeChatPayError, match="最大分账比例"):
        await ps.create_order(pay_client, order(txn, (L2, 1001)))
    await ps.create_order(pay_client, order(txn, (L2, 1000)))
    assert await ps.unsplit_amount(pay_client, txn) == 7000


async def test_same_out_order_no_is_the_same_request(fake: FakeWeChat, pay_client: PayClient,
                                                     manual_clock: ManualClock) -> None:
    txn = await paid(fake, pay_client, manual_clock)
    await register(pay_client, L1)
    req = order(txn, (L1, 1500))
    first, again = await ps.create_order(pay_client, req), await ps.create_order(pay_client, req)
    assert first.order_id == again.order_id and await ps.unsplit_amount(pay_client, txn) == 8500
    with pytest.raises(WeChatPayError, match="单号重复"):
        await ps.create_order(pay_client, order(txn, (L1, 1600), no=req.out_order_no))


async def test_fifty_receivers_per_request_and_fifty_requests_per_transaction(
        fake: FakeWeChat, pay_client: PayClient, manual_clock: ManualClock) -> None:
    fake_ps.state(fake).max_ratio_percent = 100
    txn = await paid(fake, pay_client, manual_clock, 100_000)
    accounts = [f"oRECEIVER{i:03d}" for i in range(51)]
    await register(pay_client, *accounts)
    with pytest.raises(InvalidArgument):
        await ps.create_order(pay_client, order(txn, *[(a, 1) for a in accounts]))
    body = order(txn, *[(a, 1) for a in accounts[:50]]).body(pay_client)
    body["receivers"].append(dict(body["receivers"][0], account=accounts[50]))
    with pytest.raises(WeChatPayError, match="1-50"):
        await pay_client.request("POST", "/v3/profitsharing/orders", body=body)
    await ps.create_order(pay_client, order(txn, *[(a, 1) for a in accounts[:50]]))
    for _ in range(49):
        await ps.create_order(pay_client, order(txn, (accounts[0], 1)))
    with pytest.raises(WeChatPayError, match="次数已达上限"):
        await ps.create_order(pay_client, order(txn, (accounts[0], 1)))


async def test_name_must_match_the_registered_one(fake: FakeWeChat, pay_client: PayClient,
                                                  manual_clock: ManualClock) -> None:
    txn = await paid(fake, pay_client, manual_clock)
    await register(pay_client, L1)
    wrong = ps.SharingOrder(txn, "PS" + secrets.token_hex(6),
                            (ps.Split("PERSONAL_OPENID", L1, 100, "佣金", "张冒名"),), False)
    with pytest.raises(WeChatPayError, match="不一致"):
        await ps.create_order(pay_client, wrong)
    right = ps.SharingOrder(txn, "PS" + secrets.token_hex(6),
                            (ps.Split("PERSONAL_OPENID", L1, 100, "佣金", "推广员L1"),), False)
    assert (await ps.create_order(pay_client, right)).state == "PROCESSING"


async def test_unfreeze_ends_sharing(fake: FakeWeChat, pay_client: PayClient, manual_clock: ManualClock) -> None:
    txn = await paid(fake, pay_client, manual_clock)
    await register(pay_client, L1)
    await ps.create_order(pay_client, order(txn, (L1, 1000)))
    result = await ps.unfreeze(pay_client, txn, "UF" + secrets.token_hex(6), "解冻剩余资金")
    assert [(r.type, r.account, r.amount_fen) for r in result.receivers] == [
        ("MERCHANT_ID", fake.credentials.mchid, 9000)]
    assert await ps.unsplit_amount(pay_client, txn) == 0
    with pytest.raises(WeChatPayError, match="已完结"):
        await ps.create_order(pay_client, order(txn, (L1, 10)))
    # unfreeze_unsplit on the last split does the same.
    other = await paid(fake, pay_client, manual_clock)
    await ps.create_order(pay_client, order(other, (L1, 500), last=True))
    assert await ps.unsplit_amount(pay_client, other) == 0


async def test_closed_split_leaves_its_money_unsplit(fake: FakeWeChat, pay_client: PayClient,
                                                     manual_clock: ManualClock) -> None:
    txn = await paid(fake, pay_client, manual_clock)
    await register(pay_client, L1)
    req = order(txn, (L1, 2500))
    await ps.create_order(pay_client, req)
    fake_ps.close_split(fake, req.out_order_no, L1)
    [line] = (await ps.query_order(pay_client, req.out_order_no, txn)).receivers
    assert (line.result, line.fail_reason) == ("CLOSED", "ACCOUNT_ABNORMAL")
    assert await ps.unsplit_amount(pay_client, txn) == 10_000


async def test_returns_only_from_merchant_receivers(fake: FakeWeChat, pay_client: PayClient,
                                                    manual_clock: ManualClock) -> None:
    txn = await paid(fake, pay_client, manual_clock)
    with pytest.raises(InvalidArgument):  # a merchant receiver is registered with its full name
        await ps.add_receiver(pay_client, ps.Receiver("MERCHANT_ID", PARTNER_MCHID, "SUPPLIER"))
    await ps.add_receiver(pay_client, ps.Receiver("MERCHANT_ID", PARTNER_MCHID, "SUPPLIER", name=PARTNER_NAME))
    await register(pay_client, L1)
    to_partner = ps.SharingOrder(txn, "PS" + secrets.token_hex(6),
                                 (ps.Split("MERCHANT_ID", PARTNER_MCHID, 1000, "供货分成"),), False)
    to_person = order(txn, (L1, 500))
    await ps.create_order(pay_client, to_partner)
    await ps.create_order(pay_client, to_person)
    await fake.tick()
    ret = ps.ReturnOrder(to_partner.out_order_no, "RT" + secrets.token_hex(6), PARTNER_MCHID, 400, "售后退款回退")
    assert (await ps.create_return(pay_client, ret))["result"] == "PROCESSING"
    await fake.tick()
    assert (await ps.query_return(pay_client, ret.out_return_no, ret.out_order_no))["result"] == "SUCCESS"
    with pytest.raises(WeChatPayError, match="回退金额"):
        await ps.create_return(pay_client, ps.ReturnOrder(to_partner.out_order_no, "RT" + secrets.token_hex(6),
                                                          PARTNER_MCHID, 601, "再退"))
    with pytest.raises(WeChatPayError, match="分账给个人"):  # no clawback from a person's split
        await ps.create_return(pay_client, ps.ReturnOrder(to_person.out_order_no, "RT" + secrets.token_hex(6),
                                                          PARTNER_MCHID, 100, "售后退款回退"))
    with pytest.raises(InvalidArgument):
        ps.ReturnOrder(to_person.out_order_no, "RT1", L1, 100, "售后退款回退").body()


async def test_receiver_rules(fake: FakeWeChat, pay_client: PayClient) -> None:
    with pytest.raises(InvalidArgument):
        ps.Receiver("PERSONAL_OPENID", L1, "FRIEND").body(pay_client)
    with pytest.raises(InvalidArgument):
        ps.Receiver("PERSONAL_OPENID", L1, "CUSTOM").body(pay_client)
    await ps.add_receiver(pay_client, ps.Receiver("PERSONAL_OPENID", L1, "CUSTOM", custom_relation="团长"))
    with pytest.raises(WeChatPayError, match="自己"):
        await ps.add_receiver(pay_client, ps.Receiver("MERCHANT_ID", fake.credentials.mchid, "HEADQUARTER",
                                                      name="本商户"))
    body = ps.Receiver("PERSONAL_OPENID", L2, "USER", name="张三").body(pay_client)
    body["name"] = "bm90LWVuY3J5cHRlZA=="
    with pytest.raises(WeChatPayError, match="解密失败"):
        await pay_client.request("POST", "/v3/profitsharing/receivers/add", body=body)


async def test_money_split_to_promoters_cannot_be_refunded(fake: FakeWeChat, pay_client: PayClient,
                                                           manual_clock: ManualClock) -> None:
    """Personal splits cannot be clawed back, so a refund may not reach into them (wechat.md §2.10 item 7):
    the reason Liebian splits only after the after-sales window."""
    txn_id = await paid(fake, pay_client, manual_clock)
    otn = next(t.out_trade_no for t in fake_pay.state(fake).transactions.values() if t.transaction_id == txn_id)
    await register(pay_client, L1)
    await ps.create_order(pay_client, order(txn_id, (L1, 3000)))
    with pytest.raises(WeChatPayError) as refused:
        await tx.refund(pay_client, tx.RefundOrder(otn, otn + "R1", 7001, 10_000))
    assert refused.value.code == "NOT_ENOUGH"
    accepted = await tx.refund(pay_client, tx.RefundOrder(otn, otn + "R1", 7000, 10_000))
    assert accepted["status"] == "PROCESSING"
