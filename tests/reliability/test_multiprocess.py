"""Two API processes and two ``liebian worker`` processes on one PostgreSQL database do no job twice.

Requests alternate between the API processes; the two workers race for the same due work: commissions to settle,
group deadlines (each failed group refunds its member through WeChat Pay and sends subscribe messages), unpaid
orders to cancel (each closes its payment at WeChat). The work is made due all at once by moving the sandbox clock,
then every effect is counted where it lands — in our ledger and tables, and at the fake WeChat, which sits in this
test process: each refund asked once, each payment closed once, each message sent once.

Runs on the machine's PostgreSQL pass of ``make test`` (see ``conftest.PROCESS_PASS``).
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter

import httpx

from liebian.integrations.wechat.fake import openapi as fake_openapi
from liebian.kit.db import Database
from liebian.ledger import service as ledger
from tests.api.distribution_helpers import DAY, enable, money
from tests.conftest import ShopHarness, make_shop
from tests.reliability.conftest import PROCESS_PASS
from tests.reliability.harness import Cluster, assert_check_passes, wait_for
from tests.reliability.test_worker_kill import invite, login

pytestmark = PROCESS_PASS

SETTLED, GROUPS, UNPAID = 8, 8, 6
PRICE = 3000


async def test_two_api_processes_and_two_workers_do_each_job_once(deployment: Cluster, scratch_db: Database) -> None:
    fake = deployment.fake
    assert fake is not None
    workers = [deployment.start_worker(), deployment.start_worker()]
    async with httpx.AsyncClient(base_url=deployment.apis[0], timeout=60) as one, \
            httpx.AsyncClient(base_url=deployment.apis[1], timeout=60) as two:
        first = await make_shop(one, scratch_db)
        second = ShopHarness(two, scratch_db, first.slug, first.staff["Authorization"].split()[1], first.shop_id,
                             first.owner)
        apis = (first, second)  # requests alternate between the two API processes
        group_tpl, refund_tpl = f"tpl_{secrets.token_hex(8)}", f"tpl_{secrets.token_hex(8)}"
        r = await second.client.put("/api/v1/console/wechat/subscribe-templates", headers=first.staff,
                                    json={"group_failed": group_tpl, "order_refunded": refund_tpl})
        assert r.status_code == 200, r.text
        await enable(first)  # 10% and 5%, settled after 7 days

        a, id_a = await login(first, "a")
        b, id_b = await login(second, "b")
        await invite(first, a, b)
        goods, grouped, unpaid_sku = (await first.sku(price_fen=PRICE, stock=100), await second.sku(stock=50),
                                      await first.sku(stock=20))
        for i in range(SETTLED):
            api = apis[i % 2]
            buyer, _ = await login(api, f"buyer{i}")
            await invite(api, b, buyer)
            order = await api.place(buyer, [{"sku_id": goods, "quantity": 1}])
            await apis[(i + 1) % 2].pay(order)
            await api.ship_and_receive(buyer, order["order_no"])
        r = await first.client.post("/api/v1/console/groupbuy/campaigns", headers=first.staff, json={
            "sku_id": grouped, "group_size": 2, "group_price_fen": 800, "duration_seconds": 3600})
        assert r.status_code == 201, r.text
        campaign = r.json()["id"]
        leaders = []
        for i in range(GROUPS):
            api = apis[i % 2]
            leader, _ = await login(api, f"leader{i}")
            r = await api.client.post(f"{api.base}/subscriptions", headers=leader,
                                      json={"accepted": [group_tpl, refund_tpl]})
            assert r.status_code == 200, r.text
            openid = str(await api.scalar("SELECT openid FROM customers WHERE shop_id = :shop AND nickname = :n",
                                          n=f"leader{i}"))
            for tpl in (group_tpl, refund_tpl):
                fake_openapi.grant_subscription(fake.fake, openid, tpl)  # the user tapped accept, WeChat knows
            order = await api.place(leader, [{"sku_id": grouped, "quantity": 1}],
                                    promotion={"kind": "groupbuy", "campaign_id": campaign})
            await apis[(i + 1) % 2].pay(order)
            leaders.append(order)
        unpaid = []
        for i in range(UNPAID):
            api = apis[i % 2]
            buyer, _ = await login(api, f"unpaid{i}")
            unpaid.append(await api.place(buyer, [{"sku_id": unpaid_sku, "quantity": 1}]))
        assert await first.stock(unpaid_sku) == 20 - UNPAID

        # Everything falls due at once, for four workers.
        await first.advance(8 * DAY)
        await asyncio.sleep(1.2)  # the other API process picks up the moved clock (it re-reads it every second)

        async def done() -> bool:
            statuses = Counter(s for s, in await first.rows("SELECT status FROM orders WHERE shop_id = :shop"))
            pending = await first.scalar("SELECT count(*) FROM distribution_commissions WHERE shop_id = :shop "
                                         "AND status = 'pending'")
            busy = await first.scalar("SELECT count(*) FROM kit_outbox WHERE shop_id = :shop AND done_at IS NULL")
            return statuses == {"completed": SETTLED, "refunded": GROUPS, "cancelled": UNPAID} and pending == 0 \
                and busy == 0 and len(fake.messages()) >= 2 * GROUPS

        await wait_for(done, timeout=120, interval=0.3, what="four workers to finish the due work")
        await asyncio.sleep(1)  # anything done twice would show by now

    await _assert_each_effect_once(first, fake, leaders, unpaid, ids=(id_a, id_b), tpls=(group_tpl, refund_tpl),
                                   skus=(grouped, unpaid_sku))
    for proc in deployment.procs:
        assert proc.popen.poll() is None, proc.output()  # nobody crashed along the way
    for worker in workers:
        assert worker.stop() == 0, worker.output()
    assert_check_passes(deployment.database_url)


async def _assert_each_effect_once(shop: ShopHarness, fake: object, leaders: list[dict[str, object]],
                                   unpaid: list[dict[str, object]], *, ids: tuple[int, int], tpls: tuple[str, str],
                                   skus: tuple[int, int]) -> None:
    from tests.reliability.harness import FakeWeChatServer

    assert isinstance(fake, FakeWeChatServer)
    id_a, id_b = ids
    # Settlements: one posting per order, balances to the fen, sales counted once.
    settles = [ref for ref, in await shop.rows("SELECT ref FROM ledger_transactions WHERE shop_id = :shop "
                                              "AND kind = 'commission.settle'")]
    assert len(settles) == SETTLED == len(set(settles))
    assert await money(shop, id_b) == {"pending": 0, "withdrawable": SETTLED * PRICE // 10, "debt": 0}
    assert await money(shop, id_a) == {"pending": 0, "withdrawable": SETTLED * PRICE // 20, "debt": 0}
    assert await shop.scalar("SELECT sales_fen FROM distribution_promoters WHERE shop_id = :shop AND customer_id = :c",
                             c=id_b) == SETTLED * PRICE
    # Group deadlines: each group failed once, each member refunded once — asked at WeChat exactly once.
    assert await shop.scalar("SELECT count(*) FROM groupbuy_groups WHERE shop_id = :shop AND status = 'failed'") \
        == GROUPS
    otns = {str(o["payment"]["out_trade_no"]) for o in leaders}  # type: ignore[index]
    calls = {no: n for no, n in fake.refund_calls().items() if no[:-2] in otns}  # this test's refunds
    assert sorted(calls) == sorted(f"{otn}R1" for otn in otns) and set(calls.values()) == {1}, calls
    assert Counter(r.out_trade_no for r in fake.refunds().values() if r.out_trade_no in otns) == dict.fromkeys(otns, 1)
    assert await shop.scalar("SELECT count(*) FROM ledger_transactions WHERE shop_id = :shop AND kind = 'refund'") \
        == GROUPS
    # Subscribe messages: one "group failed" and one "refunded" per member, none twice.
    sent = Counter((m["touser"], m["template_id"]) for m in fake.messages())
    assert len(sent) == 2 * GROUPS and set(sent.values()) == {1}, sent
    assert {tpl for _, tpl in sent} == set(tpls)
    # Unpaid orders: cancelled once (their units back once), each payment closed at WeChat once.
    ours = {str(o["payment"]["out_trade_no"]) for o in unpaid}  # type: ignore[index]
    closes = Counter(c.url.split("/")[-2] for c in list(fake.fake.calls)
                     if c.method == "POST" and c.url.endswith("/close") and c.url.split("/")[-2] in ours)
    assert closes == dict.fromkeys(ours, 1), closes
    grouped, unpaid_sku = skus
    assert await shop.stock(unpaid_sku) == 20 and await shop.stock(grouped) == 50
    # Every job of the outbox was carried out once, at its first attempt.
    attempts = Counter(n for n, in await shop.rows("SELECT attempts FROM kit_outbox WHERE shop_id = :shop"))
    assert set(attempts) == {1}, attempts
    async with shop.db.sessions() as session:
        assert (await ledger.balances(session, shop.shop_id))["cash:wechat"] == SETTLED * PRICE
