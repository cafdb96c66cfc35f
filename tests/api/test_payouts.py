"""Withdrawals to WeChat balance end to end: the payouts service, the real Pay client, the app's embedded fake
WeChat, its signed and encrypted ``MCHTRANSFER.BILL.FINISHED`` callbacks into our callback route, and the ledger.

The app wires the gateway, outbox topics, the reconciler and the ``transfer.finished`` notification
handler (``liebian.wiring``, ``liebian.gateways``); the ``wired`` fixture hands tests the fake.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import Row, text

from liebian.integrations.wechat.fake import FakeWeChat
from liebian.integrations.wechat.fake import transfers as fake_transfers
from liebian.kit.clock import clock
from liebian.kit.db import Database
from liebian.kit.errors import Conflict, Invalid, NotFound
from liebian.ledger import service as ledger
from liebian.ledger.rules import COMMISSION_EXPENSE, TRANSFERS_IN_FLIGHT, payable_to_customer
from liebian.payouts import service as payouts
from tests.conftest import ShopHarness


@pytest.fixture
async def wired(app: Any) -> AsyncIterator[FakeWeChat]:
    fake: FakeWeChat = app.state.wechat.fake
    yield fake
    fake_transfers.state(fake).balance_fen = 100_000_000


class Promoter:
    def __init__(self, shop: ShopHarness, customer_id: int, openid: str) -> None:
        self.shop, self.db, self.id, self.openid = shop, shop.db, customer_id, openid

    async def credit(self, fen: int) -> None:
        """What a commission will do: the shop's expense, owed to the customer."""
        async with self.db.unit_of_work() as session:
            await ledger.post(session, shop_id=self.shop.shop_id, kind="commission", ref=secrets.token_hex(8),
                              legs=[(COMMISSION_EXPENSE, fen), (payable_to_customer(self.id), -fen)])

    async def withdraw(self, fen: int, **extra: Any) -> payouts.TransferView:
        async with self.db.unit_of_work() as session:
            return await payouts.request_transfer(session, shop_id=self.shop.shop_id, customer_id=self.id,
                                                  amount_fen=fen, remark="推广佣金提现", **extra)

    async def available(self) -> int:
        async with self.db.sessions() as session:
            return await payouts.available_fen(session, self.shop.shop_id, self.id)


async def promoter(shop: ShopHarness) -> Promoter:
    """A customer with their own openid (sandbox openids depend only on the name, across shops)."""
    name = "promoter-" + secrets.token_hex(4)
    await shop.login(name)
    openid = "sbx_" + hashlib.sha256(name.encode()).hexdigest()[:24]
    customer_id = await shop.scalar("SELECT id FROM customers WHERE shop_id = :shop AND openid = :o", o=openid)
    return Promoter(shop, int(customer_id), openid)


async def send(db: Database, view: payouts.TransferView) -> Row[Any]:
    """Carry out the outbox message of this bill now (the worker would, after commit)."""
    async with db.unit_of_work() as session:
        bill_id = (await session.execute(text("SELECT id FROM transfer_bills WHERE out_bill_no = :no"),
                                         {"no": view.out_bill_no})).scalar_one()
        await payouts.carry_out_transfer(session, {"bill_id": bill_id})
    return await bill(db, view.out_bill_no)


async def bill(db: Database, out_bill_no: str) -> Row[Any]:
    async with db.sessions() as session:
        return (await session.execute(text("SELECT * FROM transfer_bills WHERE out_bill_no = :no"),
                                      {"no": out_bill_no})).one()


async def sweep(db: Database) -> None:
    """Until nothing is due, one bill per transaction, as the worker does."""
    while True:
        async with db.unit_of_work() as session:
            if not await payouts.sweep_transfers(session, clock.now()):
                return


async def advance(db: Database, seconds: float) -> None:
    async with db.unit_of_work() as session:
        await clock.advance(session, seconds)


async def assert_consistent(shop: ShopHarness) -> dict[str, int]:
    async with shop.db.sessions() as session:
        problems = [v for v in await payouts.ledger_violations(session) if f"shop {shop.shop_id} " in v.detail]
        assert problems == []
        return {k: v for k, v in (await ledger.balances(session, shop.shop_id)).items() if v}


async def test_confirmed_withdrawal_is_paid_once(shop: ShopHarness, wired: FakeWeChat) -> None:
    p = await promoter(shop)
    await p.credit(5000)
    view = await p.withdraw(3000)
    assert view.state == "requested" and len(view.out_bill_no) <= 32 and view.out_bill_no.isalnum()
    assert await p.available() == 2000
    assert (await assert_consistent(shop))[TRANSFERS_IN_FLIGHT] == -3000
    row = await send(shop.db, view)
    assert row.state == "wait_user_confirm" and row.package_info and row.transfer_bill_no and row.attempts == 1
    async with shop.db.sessions() as session:
        params = await payouts.confirm_params(session, shop_id=shop.shop_id, customer_id=p.id,
                                              out_bill_no=view.out_bill_no)
    assert params["package"] == row.package_info and params["openId"] == p.openid
    # The customer accepts in wx.requestMerchantTransfer; WeChat notifies our callback route.
    fake_transfers.confirm_transfer(wired, view.out_bill_no, params)
    assert await wired.deliver_due() == 1
    done = await bill(shop.db, view.out_bill_no)
    assert (done.state, done.package_info, done.next_check_at) == ("succeeded", None, None)
    assert done.last_event_id and done.finished_at
    assert await assert_consistent(shop) == {COMMISSION_EXPENSE: 5000, payable_to_customer(p.id): -2000,
                                             "cash:wechat": -3000}
    # A repeated notification changes nothing.
    resource = {"out_bill_no": view.out_bill_no, "state": "SUCCESS", "transfer_amount": 3000, "openid": p.openid}
    async with shop.db.unit_of_work() as session:
        assert await payouts.on_transfer_finished(session, resource, "EV-again") is False
    assert await shop.scalar("SELECT count(*) FROM ledger_transactions WHERE shop_id = :shop "
                             "AND kind = 'transfer.paid'") == 1


async def test_unconfirmed_bill_expires_after_24_hours_and_the_balance_returns(
        shop: ShopHarness, wired: FakeWeChat) -> None:
    p = await promoter(shop)
    await p.credit(1500)
    view = await p.withdraw(1500)
    await send(shop.db, view)
    assert await p.available() == 0
    await advance(shop.db, 24 * 3600)
    await wired.tick()  # WeChat closes the bill and notifies
    row = await bill(shop.db, view.out_bill_no)
    assert row.state == "cancelled" and row.finished_at
    assert await p.available() == 1500
    assert TRANSFERS_IN_FLIGHT not in await assert_consistent(shop)
    again = await p.withdraw(1500)  # the customer asks again: a new bill, a new number
    assert again.out_bill_no != view.out_bill_no


async def test_lost_expiry_notification_is_found_by_the_reconciler(shop: ShopHarness, wired: FakeWeChat) -> None:
    p = await promoter(shop)
    await p.credit(800)
    view = await p.withdraw(800)
    await send(shop.db, view)
    await advance(shop.db, 24 * 3600)
    wired.controls.drop_callbacks = 10_000  # every notification of this tick is lost
    try:
        await wired.tick()
    finally:
        wired.controls.drop_callbacks = 0
    assert (await bill(shop.db, view.out_bill_no)).state == "wait_user_confirm"
    await sweep(shop.db)  # not yet due: the reconciler asks only once the 24 hours and a grace are over
    assert (await bill(shop.db, view.out_bill_no)).state == "wait_user_confirm"
    await advance(shop.db, 600)
    await sweep(shop.db)
    assert (await bill(shop.db, view.out_bill_no)).state == "cancelled"
    assert await p.available() == 800
    await assert_consistent(shop)


def bill_calls(fake: FakeWeChat, out_bill_no: str) -> list[str]:
    """The methods of the fake's transfer-bill calls that named this bill, in order."""
    found = []
    for c in fake.calls:
        path = c.url.split("?")[0]
        named = c.data.get("out_bill_no") if path.endswith("/transfer-bills") else path.rsplit("/", 1)[-1]
        if "transfer-bills" in path and named == out_bill_no:
            found.append(c.method)
    return found


def created_numbers(fake: FakeWeChat, openid: str) -> set[str]:
    """Every out_bill_no a create for this payee carried."""
    return {str(c.data["out_bill_no"]) for c in fake.calls if c.method == "POST" and c.data.get("openid") == openid}


async def test_answer_lost_after_processing_asks_the_same_number_and_pays_once(
        shop: ShopHarness, wired: FakeWeChat) -> None:
    p = await promoter(shop)
    await p.credit(4000)
    view = await p.withdraw(4000)
    balance = fake_transfers.state(wired).balance_fen
    wired.inject_failure(500, after_processing=True)
    row = await send(shop.db, view)
    assert row.state == "wait_user_confirm" and row.package_info
    assert bill_calls(wired, view.out_bill_no) == ["POST", "GET", "POST"]  # create, ask, create again (same no)
    assert created_numbers(wired, p.openid) == {view.out_bill_no}
    assert fake_transfers.state(wired).balance_fen == balance - 4000  # one transfer, not two
    assert [b.out_bill_no for b in fake_transfers.state(wired).bills.values() if b.openid == p.openid] == [
        view.out_bill_no]


async def test_repeated_unknown_outcomes_wait_for_the_reconciler_under_the_same_number(
        shop: ShopHarness, wired: FakeWeChat) -> None:
    p = await promoter(shop)
    await p.credit(2500)
    view = await p.withdraw(2500)
    balance = fake_transfers.state(wired).balance_fen
    wired.inject_failure(500, after_processing=True, count=2)  # the create, then the query
    row = await send(shop.db, view)
    assert (row.state, row.attempts) == ("requested", 1) and "SYSTEM_ERROR" in row.last_error
    assert row.next_check_at > clock.now()
    assert await p.available() == 0  # the money stays in flight while the outcome is unknown
    await advance(shop.db, 121)
    await sweep(shop.db)
    row = await bill(shop.db, view.out_bill_no)
    assert (row.state, row.attempts, row.last_error) == ("wait_user_confirm", 2, None) and row.package_info
    # create (lost), ask (lost) | later: ask first, then create again to recover package_info — one number only.
    assert bill_calls(wired, view.out_bill_no) == ["POST", "GET", "GET", "POST"]
    assert created_numbers(wired, p.openid) == {view.out_bill_no}
    assert [b.out_bill_no for b in fake_transfers.state(wired).bills.values() if b.openid == p.openid] == [
        view.out_bill_no]
    assert fake_transfers.state(wired).balance_fen == balance - 2500
    await assert_consistent(shop)


async def test_a_stuck_outbox_message_is_covered_by_the_reconciler_asking_first(
        shop: ShopHarness, wired: FakeWeChat) -> None:
    p = await promoter(shop)
    await p.credit(600)
    view = await p.withdraw(600)
    await advance(shop.db, 5 * 60)
    await sweep(shop.db)
    row = await bill(shop.db, view.out_bill_no)
    assert row.state == "wait_user_confirm" and row.package_info
    assert bill_calls(wired, view.out_bill_no) == ["GET", "POST"]
    await send(shop.db, view)  # the late outbox message finds the work done
    assert bill_calls(wired, view.out_bill_no) == ["GET", "POST"]


async def test_a_definite_refusal_gives_the_money_back(shop: ShopHarness, wired: FakeWeChat) -> None:
    p = await promoter(shop)
    await p.credit(900)
    view = await p.withdraw(900)
    fake_transfers.state(wired).balance_fen = 100  # the merchant's operating account runs dry
    row = await send(shop.db, view)
    assert row.state == "failed" and row.last_error.startswith("NOT_ENOUGH")
    assert await p.available() == 900
    await assert_consistent(shop)


async def test_wechat_fail_after_acceptance_gives_the_money_back(shop: ShopHarness, wired: FakeWeChat) -> None:
    p = await promoter(shop)
    await p.credit(700)
    view = await p.withdraw(700)
    await send(shop.db, view)
    fake_transfers.fail_transfer(wired, view.out_bill_no, "ACCOUNT_FROZEN")
    await wired.deliver_due()
    row = await bill(shop.db, view.out_bill_no)
    assert (row.state, row.last_error) == ("failed", "ACCOUNT_FROZEN")
    assert await p.available() == 700


async def test_amount_rules(shop: ShopHarness, wired: FakeWeChat) -> None:
    p = await promoter(shop)
    await p.credit(300_000)
    with pytest.raises(Invalid) as small:
        await p.withdraw(9)
    assert small.value.code == "transfer_too_small"
    with pytest.raises(Invalid) as unnamed:
        await p.withdraw(200_000)
    assert unnamed.value.code == "real_name_required"
    assert (await p.withdraw(199_999)).state == "requested"
    with pytest.raises(Conflict) as short:
        await p.withdraw(200_000, user_name="张三")  # only 100,001 fen left
    assert short.value.code == "insufficient_balance" and short.value.extra["available_fen"] == 100_001
    with pytest.raises(NotFound) as other:  # the payee is a customer of this shop, paid to their own openid
        async with shop.db.unit_of_work() as session:
            await payouts.request_transfer(session, shop_id=shop.shop_id + 10**9, customer_id=p.id,
                                           amount_fen=100, remark="提现")
    assert other.value.code == "customer_not_found"


async def test_two_thousand_yuan_goes_out_with_the_encrypted_name_which_is_then_forgotten(
        shop: ShopHarness, wired: FakeWeChat) -> None:
    p = await promoter(shop)
    await p.credit(200_000)
    view = await p.withdraw(200_000, user_name="张三")
    row = await send(shop.db, view)
    assert row.state == "wait_user_confirm" and row.user_name == "张三"
    assert fake_transfers.state(wired).bills[view.out_bill_no].user_name == "张三"  # decrypted by WeChat's key
    fake_transfers.confirm_transfer(wired, view.out_bill_no)
    await wired.deliver_due()
    row = await bill(shop.db, view.out_bill_no)
    assert (row.state, row.user_name) == ("succeeded", None)


async def test_customer_cancels_a_waiting_withdrawal(shop: ShopHarness, wired: FakeWeChat) -> None:
    p = await promoter(shop)
    await p.credit(1200)
    view = await p.withdraw(1200)
    async with shop.db.unit_of_work() as session:
        with pytest.raises(Conflict):  # not at WeChat yet: nothing to cancel there
            await payouts.cancel_transfer(session, shop_id=shop.shop_id, customer_id=p.id,
                                          out_bill_no=view.out_bill_no)
    row = await send(shop.db, view)
    async with shop.db.unit_of_work() as session:
        await payouts.cancel_transfer(session, shop_id=shop.shop_id, customer_id=p.id, out_bill_no=view.out_bill_no)
    async with shop.db.unit_of_work() as session:
        await payouts.carry_out_cancel(session, {"bill_id": row.id})
    assert (await bill(shop.db, view.out_bill_no)).state == "processing"  # CANCELING at WeChat
    await wired.tick()
    assert (await bill(shop.db, view.out_bill_no)).state == "cancelled"
    assert await p.available() == 1200
    await assert_consistent(shop)


@pytest.mark.concurrency
async def test_concurrent_withdrawals_never_overdraw_the_balance(shop: ShopHarness, wired: FakeWeChat) -> None:
    p = await promoter(shop)
    await p.credit(1000)

    async def one() -> str:
        try:
            await p.withdraw(100)
        except Conflict as exc:
            return exc.code
        return "ok"

    outcomes = await asyncio.gather(*(one() for _ in range(25)))
    assert outcomes.count("ok") == 10 and outcomes.count("insufficient_balance") == 15
    assert await p.available() == 0
    assert await shop.count("transfer_bills") == 10
    assert (await assert_consistent(shop))[TRANSFERS_IN_FLIGHT] == -1000


async def test_a_finished_bill_is_settled_once_when_its_notification_and_the_reconciler_race(
        shop: ShopHarness, wired: FakeWeChat) -> None:
    """Five copies of the SUCCESS notification at once, and reconcilers asking at the same moment, on real
    connections: one ``transfer.paid`` posting, the ledger consistent."""
    p = await promoter(shop)
    await p.credit(1200)
    view = await p.withdraw(1200)
    await send(shop.db, view)
    fake_transfers.confirm_transfer(wired, view.out_bill_no)
    wired.controls.duplicate_callbacks = 4
    await advance(shop.db, 24 * 3600 + 601)  # the reconciler is due for this bill too
    await asyncio.gather(wired.deliver_due(), sweep(shop.db), sweep(shop.db))
    assert (await bill(shop.db, view.out_bill_no)).state == "succeeded"
    assert await shop.scalar("SELECT count(*) FROM ledger_transactions WHERE shop_id = :shop "
                             "AND kind IN ('transfer.paid', 'transfer.returned')") == 1
    await assert_consistent(shop)
