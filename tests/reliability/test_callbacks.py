"""WeChat Pay's notifications duplicated, delayed and out of order: every effect happens exactly once.

A delayed notification is the same notification (same event id, same body) delivered later and signed at delivery,
as WeChat's retries are. After each story: one payment posting per payment taken, one refund per refund asked (at
WeChat and in our books), commissions accrued once and taken back once, stock back once, the cash account equal to
what WeChat holds, and every invariant of ``liebian check``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from liebian.checks import run as run_checks
from liebian.integrations.wechat.fake import pay as fake_pay
from liebian.ledger import service as ledger
from tests.api.distribution_helpers import enable, invite
from tests.conftest import ShopHarness

CALLBACK = "/api/v1/callbacks/wechat/pay"
PRICE = 8800


async def deliver(shop: ShopHarness, raw: bytes, times: int = 1, *, concurrently: bool = False) -> list[int]:
    """Post one notification (its body unchanged: the same event id) signed now, as WeChat's retries are."""
    async def once() -> int:
        headers = {**shop.fake.sign_headers(raw), "Content-Type": "application/json"}
        return (await shop.client.post(CALLBACK, content=raw, headers=headers)).status_code

    if concurrently:
        return list(await asyncio.gather(*(once() for _ in range(times))))
    return [await once() for _ in range(times)]


def paid_at_wechat(shop: ShopHarness, order: dict[str, Any]) -> bytes:
    """The buyer pays; WeChat's notification of it is held back and handed to the test (its body)."""
    _, raw = shop.paid_notification(order)
    return raw


def refund_notification(shop: ShopHarness, out_refund_no: str, status: str) -> bytes:
    """WeChat's REFUND.<status> notification for one of our refunds, as the fake words it."""
    refund = fake_pay.state(shop.fake).refunds[out_refund_no]
    view = fake_pay.refund_view(shop.fake, refund)
    resource = {k: v for k, v in view.items() if k not in ("channel", "funds_account")}
    resource.update(mchid=shop.fake.credentials.mchid, refund_status=status)
    resource.pop("status")
    resource["amount"] = {k: resource["amount"][k] for k in ("total", "refund", "payer_total", "payer_refund")}
    _, raw = shop.fake.signed_notification(f"REFUND.{status}", "refund", "退款", resource)
    return raw


async def promoted_buyer(shop: ShopHarness, name: str) -> dict[str, str]:
    """A buyer bound to a promoter (10% commission), so payments and refunds move commissions too."""
    await enable(shop, levels=1, level_rates_bps=[1000])
    promoter, buyer = await shop.login(f"{name}-promoter"), await shop.login(name)
    await invite(shop, promoter, buyer)
    return buyer


async def ask_refund(shop: ShopHarness, buyer: dict[str, str], order_no: str) -> None:
    r = await shop.client.post(f"{shop.base}/orders/{order_no}/refund-requests", headers=buyer,
                               json={"reason": "不要了"})
    assert r.status_code == 201, r.text
    r = await shop.client.post(f"/api/v1/console/refunds/{r.json()['id']}/approve", headers=shop.staff)
    assert r.status_code == 200, r.text


async def assert_once(shop: ShopHarness, order: dict[str, Any], *, refunds: int, status: str) -> None:
    """The order's money moved exactly once each way, here and at WeChat, and every invariant holds."""
    otn = order["payment"]["out_trade_no"]
    order_id = await shop.scalar("SELECT id FROM orders WHERE order_no = :no", no=order["order_no"])
    assert await shop.scalar("SELECT status FROM orders WHERE id = :o", o=order_id) == status
    kinds = [k for k, in await shop.rows("SELECT kind FROM ledger_transactions WHERE order_id = :o", o=order_id)]
    assert kinds.count("payment") == 1, kinds
    assert kinds.count("refund") == refunds, kinds
    assert kinds.count("commission.accrue") <= 1 and kinds.count("commission.cancel") <= refunds, kinds
    ours = await shop.rows("SELECT status, amount_fen FROM payment_refunds WHERE order_id = :o", o=order_id)
    assert ours == [("succeeded", PRICE)] * refunds, ours
    theirs = [r for r in fake_pay.state(shop.fake).refunds.values() if r.out_trade_no == otn]
    assert [(r.status, r.refund) for r in theirs] == [("SUCCESS", PRICE)] * refunds
    async with shop.db.sessions() as session:
        balances = await ledger.balances(session, shop.shop_id)
        found = [(name, v) for name, vs in await run_checks(session) for v in vs]
    held_at_wechat = sum(t.total - t.refunded(fake_pay.state(shop.fake).refunds)
                         for t in fake_pay.state(shop.fake).transactions.values() if t.attach == str(shop.shop_id)
                         and t.state in ("SUCCESS", "REFUND"))
    assert balances.get("cash:wechat", 0) == held_at_wechat
    assert found == [], found


async def setup_order(shop: ShopHarness, name: str) -> tuple[dict[str, str], dict[str, Any], int]:
    buyer = await promoted_buyer(shop, name)
    sku = await shop.sku(price_fen=PRICE, stock=5)
    return buyer, await shop.place(buyer, [{"sku_id": sku, "quantity": 1}]), sku


async def test_duplicated_notifications_pay_once(shop: ShopHarness) -> None:
    _, order, _ = await setup_order(shop, "dup")
    raw = paid_at_wechat(shop, order)
    assert await deliver(shop, raw, 6, concurrently=True) == [204] * 6  # six copies at the same moment
    assert await deliver(shop, raw, 3) == [204] * 3  # and retried later
    txn = fake_pay.state(shop.fake).transactions[order["payment"]["out_trade_no"]]
    for _ in range(2):  # another event id for the same payment (WeChat re-sent it as new)
        _, again = shop.fake.signed_notification("TRANSACTION.SUCCESS", "transaction", "支付成功",
                                                 fake_pay.transaction_view(shop.fake, txn))
        assert await deliver(shop, again) == [204]
    await shop.run_due()
    assert await shop.count("distribution_commissions") == 1
    await assert_once(shop, order, refunds=0, status="paid")


async def test_a_payment_notified_after_the_buyer_cancelled_is_refunded_once(shop: ShopHarness) -> None:
    """Paid at WeChat, the notification late; the buyer cancels; the close job finds the money and refunds it;
    the notification then arrives, again and again."""
    buyer, order, sku = await setup_order(shop, "late-cancel")
    raw = paid_at_wechat(shop, order)
    r = await shop.client.post(f"{shop.base}/orders/{order['order_no']}/cancel", headers=buyer)
    assert r.status_code == 200, r.text
    assert await shop.stock(sku) == 5
    await shop.run_due()
    assert await deliver(shop, raw, 3) == [204] * 3
    await shop.run_due()
    await assert_once(shop, order, refunds=1, status="cancelled")
    assert await shop.stock(sku) == 5  # given back once, at the cancellation
    assert await shop.scalar("SELECT refunded_fen FROM orders WHERE order_no = :no", no=order["order_no"]) == PRICE


async def test_a_notification_racing_the_close_of_a_cancelled_order_is_refunded_once(shop: ShopHarness) -> None:
    """The notification lands between the cancellation and the job that closes the payment at WeChat."""
    buyer, order, _ = await setup_order(shop, "race-close")
    raw = paid_at_wechat(shop, order)
    r = await shop.client.post(f"{shop.base}/orders/{order['order_no']}/cancel", headers=buyer)
    assert r.status_code == 200, r.text
    assert await deliver(shop, raw, 2, concurrently=True) == [204, 204]
    await asyncio.gather(shop.run_due(), shop.run_due())
    await assert_once(shop, order, refunds=1, status="cancelled")


async def test_a_payment_notified_after_the_order_expired_is_refunded_once(shop: ShopHarness) -> None:
    _, order, sku = await setup_order(shop, "late-expiry")
    raw = paid_at_wechat(shop, order)
    await shop.advance(31 * 60)  # past the payment deadline: the sweeper cancels, the close job finds it paid
    await shop.run_due()
    assert await deliver(shop, raw, 2) == [204, 204]
    await shop.run_due()
    await assert_once(shop, order, refunds=1, status="cancelled")
    assert await shop.stock(sku) == 5


async def test_a_payment_notification_after_its_refund_changes_nothing(shop: ShopHarness) -> None:
    """Reordered: the notification is lost, the reconciler finds the payment, the buyer is refunded and WeChat's
    refund notification arrives — and only then the payment's own notification, twice."""
    buyer, order, _ = await setup_order(shop, "after-refund")
    raw = paid_at_wechat(shop, order)
    await shop.advance(61)
    await shop.run_due()  # the reconciler asks WeChat: paid
    buyer = await shop.login("after-refund")
    await ask_refund(shop, buyer, order["order_no"])
    await shop.run_due()  # the refund is asked, settled at WeChat, and its notification processed
    assert (await shop.order(buyer, order["order_no"]))["status"] == "refunded"
    assert await deliver(shop, raw, 2) == [204, 204]
    await shop.run_due()
    await assert_once(shop, order, refunds=1, status="refunded")
    assert await shop.scalar("SELECT status FROM distribution_commissions WHERE order_no = :no",
                             no=order["order_no"]) == "cancelled"


async def test_a_refund_notified_before_its_answer_was_recorded_is_refunded_once(shop: ShopHarness) -> None:
    """WeChat takes the refund but its answer is lost; the refund's notification arrives before the retry of our
    request; then an older ABNORMAL notice of the same refund arrives last."""
    buyer, order, _ = await setup_order(shop, "refund-first")
    await shop.pay(order)
    shop.fake.inject_failure(500, after_processing=True)  # processed at WeChat, the answer lost
    await ask_refund(shop, buyer, order["order_no"])
    await shop.run_due()  # the outbox job failed and waits for its retry; WeChat settles the refund meanwhile
    out_refund_no = f"{order['payment']['out_trade_no']}R1"
    assert await shop.scalar("SELECT status FROM payment_refunds WHERE out_refund_no = :no",
                             no=out_refund_no) == "succeeded"  # its notification came first
    assert await deliver(shop, refund_notification(shop, out_refund_no, "SUCCESS"), 2) == [204, 204]
    assert await deliver(shop, refund_notification(shop, out_refund_no, "ABNORMAL")) == [204]
    await shop.advance(10)  # the failed job's retry comes due: it finds the refund settled
    await shop.run_due()
    assert await shop.scalar("SELECT count(*) FROM kit_outbox WHERE shop_id = :shop AND done_at IS NULL") == 0
    await assert_once(shop, order, refunds=1, status="refunded")


async def test_a_group_seat_paid_after_its_group_closed_is_refunded_once(shop: ShopHarness) -> None:
    """A joiner pays at WeChat just before the group's deadline, the notification arrives after the group failed
    and the seat was given up: their money goes back once, and the leader's too."""
    sku = await shop.sku(price_fen=PRICE, stock=10)
    r = await shop.client.post("/api/v1/console/groupbuy/campaigns", headers=shop.staff, json={
        "sku_id": sku, "group_size": 3, "group_price_fen": PRICE, "duration_seconds": 3600})
    assert r.status_code == 201, r.text
    leader, joiner = await shop.login("leader"), await shop.login("joiner")
    promotion = {"kind": "groupbuy", "campaign_id": r.json()["id"]}
    opened = await shop.place(leader, [{"sku_id": sku, "quantity": 1}], promotion=promotion)
    await shop.pay(opened)
    joined = await shop.place(joiner, [{"sku_id": sku, "quantity": 1}],
                              promotion={**promotion, "group_id": opened["promotion"]["group_id"]})
    raw = paid_at_wechat(shop, joined)
    await shop.advance(3601)
    await shop.run_due()
    assert await deliver(shop, raw, 3) == [204] * 3
    await shop.run_due()
    await assert_once(shop, opened, refunds=1, status="refunded")
    await assert_once(shop, joined, refunds=1, status="cancelled")
    assert await shop.stock(sku) == 10
