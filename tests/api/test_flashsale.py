"""The flash sale through the API: slots in the console, orders on the PostgreSQL path (one guarded statement),
entries queued in Redis and ordered by the drain, units given back by unpaid orders, Redis rebuilt after a
restart, and every refusal changing nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import text

from liebian.flashsale import queries, queue, redis_stock
from liebian.kit import jobs
from tests.api.flashsale_helpers import (
    CONSOLE,
    campaign,
    check_invariants,
    counts,
    decided,
    enter,
    entry,
    order,
    redis_left,
    redis_on,
    setup,
    slot,
    window,
)
from tests.conftest import ShopHarness, assert_problem
from tests.redis_server import RedisServer, private_redis


async def test_a_slot_carves_its_units_out_of_the_sku_and_customers_see_the_countdown(shop: ShopHarness) -> None:
    sku = await shop.sku(price_fen=1000, stock=100)
    running = await campaign(shop, sku, stock=30, per_customer_limit=2, title="整点秒杀")
    assert (running["state"], running["remaining"], running["sold"], running["price_fen"]) == ("running", 30, 0, 500)
    upcoming = await campaign(shop, sku, stock=20, start_in=7200, length=600)
    assert upcoming["state"] == "upcoming" and 7190 <= upcoming["seconds_to_start"] <= 7200
    assert await shop.stock(sku) == 50  # the slots' units are their own

    r = await shop.client.get(f"{shop.base}/flashsale/campaigns")
    assert r.status_code == 200
    items = r.json()["items"]
    assert [(i["id"], i["state"], i["remaining"]) for i in items] == [
        (running["id"], "running", 30), (upcoming["id"], "upcoming", 20)]
    assert "sold" not in items[0] and 3590 <= items[0]["seconds_to_end"] <= 3600
    r = await shop.client.get(f"{CONSOLE}/campaigns", headers=shop.staff, params={"state": "upcoming"})
    assert [i["id"] for i in r.json()["items"]] == [upcoming["id"]]


async def test_slots_of_one_sku_never_overlap_but_may_follow_each_other(shop: ShopHarness) -> None:
    sku = await shop.sku(stock=100)
    first = await campaign(shop, sku, start_in=60, length=600)
    assert_problem(await shop.client.post(f"{CONSOLE}/campaigns", headers=shop.staff, json={
        "sku_id": sku, "price_fen": 500, "stock": 5, "per_customer_limit": 1, **window(300, 600)}),
        409, "flashsale_slot_overlaps")
    assert await shop.stock(sku) == 90  # the refused slot took nothing
    await campaign(shop, sku, start_in=660, length=600)  # starts when the first ends
    r = await shop.client.post(f"{CONSOLE}/campaigns/{first['id']}/end", headers=shop.staff)
    assert r.status_code == 200 and r.json()["status"] == "ended" and r.json()["returned"] == 10
    await campaign(shop, sku, start_in=100, length=100)  # an ended slot frees its window
    await check_invariants(shop)


async def test_bad_slots_are_refused_and_change_nothing(shop: ShopHarness, other_shop: ShopHarness) -> None:
    sku = await shop.sku(price_fen=1000, stock=10)
    theirs = await other_shop.sku(stock=10)
    cases = [({"price_fen": 1000}, 422, "flashsale_price_not_below_list_price"),
             ({"stock": 11}, 409, "sku_stock_insufficient"),
             ({"sku_id": theirs}, 422, "sku_not_found"),
             ({"per_customer_limit": 6, "stock": 5}, 422, "limit_above_stock"),
             ({**window(-7200, 3600)}, 422, "invalid_window"),
             ({"price_fen": 0}, 422, "validation_error")]
    for fields, status, code in cases:
        body = {"sku_id": sku, "price_fen": 500, "stock": 5, "per_customer_limit": 1, **window(), **fields}
        assert_problem(await shop.client.post(f"{CONSOLE}/campaigns", headers=shop.staff, json=body), status, code)
    assert await shop.count("flashsale_campaigns") == 0 and await shop.stock(sku) == 10
    assert await other_shop.stock(theirs) == 10


async def test_an_order_takes_a_slot_unit_at_the_flash_price_not_the_skus_stock(shop: ShopHarness) -> None:
    sku, c = await setup(shop, price_fen=1000, sku_stock=100, stock=10, per_customer_limit=2)
    buyer = await shop.login("buyer")
    placed = await order(shop, buyer, sku, c["id"], quantity=2)
    assert (placed["total_fen"], placed["discount_fen"]) == (2000, 1000)
    assert placed["promotion"]["kind"] == "flashsale" and placed["promotion"]["own_stock"] is True
    assert await shop.stock(sku) == 90 and await counts(shop, c["id"]) == (2, 2, 1)
    assert (await slot(shop, c["id"]))["remaining"] == 8
    assert_problem(await shop.client.post(f"{shop.base}/orders", headers=buyer, json={
        "lines": [{"sku_id": sku, "quantity": 1}], "address": placed and {"name": "张三", "phone": "13800138000",
        "province": "广东省", "city": "深圳市", "district": "南山区", "detail": "1 号"},
        "promotion": {"kind": "flashsale", "campaign_id": c["id"]}}), 409, "flashsale_limit_reached")
    await shop.pay(placed)
    assert (await shop.order(buyer, placed["order_no"]))["status"] == "paid"
    await check_invariants(shop)


async def test_the_entry_endpoint_without_redis_places_the_order_at_once(shop: ShopHarness) -> None:
    _, c = await setup(shop, stock=3)
    buyer = await shop.login("buyer")
    got = await enter(shop, buyer, c["id"], expect=201)
    assert got["status"] == "ordered" and got["order"]["order_no"] == got["order_no"]
    assert (await entry(shop, buyer, got["id"]))["status"] == "ordered"
    r = await shop.client.get(f"{shop.base}/flashsale/entries/{got['id']}", headers=await shop.login("nosy"))
    assert_problem(r, 404, "flashsale_entry_not_found")
    assert await counts(shop, c["id"]) == (1, 1, 1)


async def test_refusals_have_stable_codes_and_change_nothing(shop: ShopHarness, other_shop: ShopHarness) -> None:
    sku, c = await setup(shop, stock=3, per_customer_limit=1)
    later = await campaign(shop, await shop.sku(stock=10), start_in=3600)
    _, theirs = await setup(other_shop)
    a, b, d = await shop.login("a"), await shop.login("b"), await shop.login("d")
    await order(shop, a, sku, c["id"])
    before = (await counts(shop, c["id"]), await shop.count("orders"), await shop.count("flashsale_entries"))

    async def refused(buyer: dict[str, str], campaign_id: int, status: int, code: str, **kw: Any) -> None:
        r = await shop.client.post(f"{shop.base}/orders", headers=buyer, json={
            "lines": [{"sku_id": kw.pop("sku", sku), "quantity": kw.pop("quantity", 1)}],
            "address": {"name": "张三", "phone": "13800138000", "province": "广东省", "city": "深圳市",
                        "district": "南山区", "detail": "1 号"},
            "promotion": {"kind": "flashsale", "campaign_id": campaign_id}, **kw})
        assert_problem(r, status, code)

    await refused(a, c["id"], 409, "flashsale_limit_reached")
    await refused(b, c["id"], 409, "flashsale_limit_reached", quantity=2)
    await refused(b, later["id"], 409, "flashsale_not_started", sku=later["sku_id"])
    await refused(b, theirs["id"], 404, "flashsale_not_found")  # another shop's slot, with our SKU
    await refused(b, 999_999_999, 404, "flashsale_not_found")
    await refused(b, c["id"], 422, "sku_not_in_campaign", sku=later["sku_id"])
    await refused(b, c["id"], 422, "payment_method_not_allowed", payment_method="cod")
    assert_problem(await shop.client.post(f"{shop.base}/flashsale/campaigns/{theirs['id']}/entries", headers=b,
                                          json={"address": {"name": "x", "phone": "13800138000", "province": "p",
                                                            "city": "c", "district": "d", "detail": "x"}}),
                   404, "flashsale_not_found")
    await order(shop, b, sku, c["id"])
    await order(shop, await shop.login("e"), sku, c["id"])  # the last unit
    await refused(d, c["id"], 409, "flashsale_sold_out")
    await shop.advance(3601)
    await refused(d, c["id"], 409, "flashsale_ended")
    assert before[0] == (1, 1, 1) and await counts(shop, c["id"]) == (3, 3, 3)
    assert await shop.count("orders") == before[1] + 2 and await shop.count("flashsale_entries") == before[2] + 2
    assert await other_shop.scalar("SELECT sold FROM flashsale_campaigns WHERE id = :c", c=theirs["id"]) == 0


async def test_unpaid_orders_give_their_unit_back_and_the_allowance_with_it(shop: ShopHarness) -> None:
    sku, c = await setup(shop, stock=2, per_customer_limit=1, length=7200)
    a, b = await shop.login("a"), await shop.login("b")
    timed_out = await order(shop, a, sku, c["id"])
    cancelled = await order(shop, b, sku, c["id"])
    r = await shop.client.post(f"{shop.base}/orders/{cancelled['order_no']}/cancel", headers=b)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert await counts(shop, c["id"]) == (1, 1, 2)
    await shop.advance(31 * 60)
    await shop.run_due()
    assert (await shop.order(a, timed_out["order_no"]))["status"] == "cancelled"
    assert await counts(shop, c["id"]) == (0, 0, 2)
    again = await order(shop, a, sku, c["id"])  # the allowance came back too
    assert await counts(shop, c["id"]) == (1, 1, 3) and await shop.stock(sku) == 98
    await shop.pay(again)
    await check_invariants(shop)


async def test_a_slot_that_ends_gives_unsold_units_to_the_sku_and_late_cancellations_too(shop: ShopHarness) -> None:
    sku, c = await setup(shop, stock=10, length=600)
    a = await shop.login("a")
    unpaid = await order(shop, a, sku, c["id"])
    await shop.advance(601)
    await shop.run_due()  # the sweeper ends the slot: its 9 unsold units go back to the SKU
    got = await slot(shop, c["id"])
    assert (got["status"], got["sold"], got["returned"], got["state"]) == ("ended", 1, 9, "ended")
    assert await shop.stock(sku) == 99
    await check_invariants(shop)
    await shop.advance(30 * 60)
    await shop.run_due()  # the unpaid order times out after the end: its unit goes to the SKU too
    assert (await shop.order(a, unpaid["order_no"]))["status"] == "cancelled"
    got = await slot(shop, c["id"])
    assert (got["sold"], got["returned"]) == (0, 10) and await shop.stock(sku) == 100
    assert_problem(await shop.client.post(f"{CONSOLE}/campaigns/{c['id']}/end", headers=shop.staff),
                   409, "flashsale_ended")
    await check_invariants(shop)


async def test_violations_see_a_tampered_count(shop: ShopHarness) -> None:
    sku, c = await setup(shop, stock=5)
    await order(shop, await shop.login("a"), sku, c["id"])
    async with shop.db.unit_of_work() as session:
        await session.execute(text("UPDATE flashsale_campaigns SET sold = 2 WHERE id = :c"), {"c": c["id"]})
    async with shop.db.sessions() as session:
        found = await queries.violations(session)
    assert [v.check for v in found if f"flash sale {c['id']}:" in v.detail] == ["flashsale_sold_matches_orders"]
    async with shop.db.unit_of_work() as session:
        await session.execute(text("UPDATE flashsale_campaigns SET sold = 1 WHERE id = :c"), {"c": c["id"]})
    await check_invariants(shop)


async def test_the_postgresql_entry_is_one_guarded_statement(shop: ShopHarness, count_statements: Any) -> None:
    sku, c = await setup(shop, stock=5)
    buyer = await shop.login("buyer")
    with count_statements() as counter:
        await order(shop, buyer, sku, c["id"])
    statements = [s for s in counter.statements if not s.lstrip().upper().startswith(("BEGIN", "COMMIT"))]
    print(f"\nflash-sale order (PostgreSQL path): {len(statements)} SQL statements")
    # shop, SKUs, the guarded statement (campaign + customer's units), order, lines, entry, attribution (2),
    # payer, payment = 10
    assert len(statements) <= 11, "\n".join(statements)
    assert sum("UPDATE flashsale_campaigns SET sold = sold +" in s for s in statements) == 1
    assert not any("SELECT" in s and "flashsale_campaigns" in s and "UPDATE" not in s for s in statements)


# --- with Redis --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with private_redis() as server:
        yield server


@pytest.fixture
async def redis(app: Any, redis_server: RedisServer) -> AsyncIterator[Any]:
    async with redis_on(app, redis_server.url) as client:
        yield client


async def test_with_redis_an_entry_is_queued_then_ordered_by_the_drain(shop: ShopHarness, redis: Any) -> None:
    _, c = await setup(shop, stock=5, per_customer_limit=2)
    buyer = await shop.login("buyer")
    got = await enter(shop, buyer, c["id"], quantity=2, expect=202)
    assert got["status"] == "queued" and "order_no" not in got
    done = await decided(shop, buyer, got["id"])
    assert done["status"] == "ordered" and done["order_no"]
    placed = await shop.order(buyer, done["order_no"])
    assert placed["payable_fen"] == 1000 and placed["promotion"]["kind"] == "flashsale"
    assert await counts(shop, c["id"]) == (2, 2, 1) and await redis_left(redis, c["id"]) == 3
    assert_problem(await shop.client.post(f"{shop.base}/flashsale/campaigns/{c['id']}/entries", headers=buyer,
                                          json={"address": {"name": "x", "phone": "13800138000", "province": "p",
                                                            "city": "c", "district": "d", "detail": "x"}}),
                   409, "flashsale_limit_reached")
    r = await shop.client.get(f"{shop.base}/flashsale/campaigns/{c['id']}")
    assert r.json()["remaining"] == 3
    await check_invariants(shop)


async def test_with_redis_refusals_queue_nothing(shop: ShopHarness, redis: Any) -> None:
    sku, c = await setup(shop, stock=1)
    later = await campaign(shop, await shop.sku(), start_in=600)
    a, b = await shop.login("a"), await shop.login("b")
    await decided(shop, a, (await enter(shop, a, c["id"], expect=202))["id"])
    for buyer, cid, status, code in ((b, c["id"], 409, "flashsale_sold_out"), (a, c["id"], 409, "flashsale_sold_out"),
                                     (b, later["id"], 409, "flashsale_not_started"),
                                     (b, 987_654_321, 404, "flashsale_not_found")):
        got = await enter(shop, buyer, cid)
        assert (got["status_code"], got["code"]) == (status, code), got
    assert await redis.llen(redis_stock.Keys(c["id"]).queue) == 0
    assert await counts(shop, c["id"]) == (1, 1, 1)
    order_refused = await order(shop, b, sku, c["id"], expect=409)
    assert order_refused["code"] == "flashsale_sold_out"


async def test_with_redis_post_orders_keeps_redis_in_step_and_a_rollback_puts_the_unit_back(
        shop: ShopHarness, redis: Any) -> None:
    sku, c = await setup(shop, stock=4, per_customer_limit=2)
    a = await shop.login("a")
    first = await order(shop, a, sku, c["id"])
    assert await redis_left(redis, c["id"]) == 3
    # Refused by checkout after the price source took the unit (cash on delivery): the unit goes back.
    refused = await order(shop, a, sku, c["id"], expect=422, payment_method="cod")
    assert refused["code"] == "payment_method_not_allowed"
    for _ in range(100):
        if await redis_left(redis, c["id"]) == 3:
            break
        await asyncio.sleep(0.01)  # the rollback puts the unit back in the background
    assert await redis_left(redis, c["id"]) == 3
    assert await redis.hget(redis_stock.Keys(c["id"]).bought, str(await _customer_id(shop, first))) == "1"
    await check_invariants(shop)


async def _customer_id(shop: ShopHarness, placed: dict[str, Any]) -> int:
    return int(await shop.scalar("SELECT customer_id FROM orders WHERE order_no = :no", no=placed["order_no"]))


async def test_an_unpaid_order_gives_its_unit_back_to_redis_and_postgresql(shop: ShopHarness, redis: Any) -> None:
    _, c = await setup(shop, stock=1, per_customer_limit=1, length=7200)
    a, b = await shop.login("a"), await shop.login("b")
    first = await decided(shop, a, (await enter(shop, a, c["id"], expect=202))["id"])
    assert (await enter(shop, b, c["id"]))["code"] == "flashsale_sold_out"
    r = await shop.client.post(f"{shop.base}/orders/{first['order_no']}/cancel", headers=a)
    assert r.status_code == 200
    await shop.run_due()  # the outbox tells Redis: it rebuilds from PostgreSQL at the next entry
    assert await counts(shop, c["id"]) == (0, 0, 1)
    second = await decided(shop, b, (await enter(shop, b, c["id"], expect=202))["id"])
    assert second["status"] == "ordered" and await redis_left(redis, c["id"]) == 0
    assert (await enter(shop, a, c["id"]))["code"] == "flashsale_sold_out"
    await check_invariants(shop)


async def test_after_a_redis_restart_the_sale_continues_from_postgresql(
        shop: ShopHarness, redis: Any, redis_server: RedisServer) -> None:
    _, c = await setup(shop, stock=5, per_customer_limit=1)
    buyers = [await shop.login(f"b{i}") for i in range(7)]
    for buyer in buyers[:2]:
        await decided(shop, buyer, (await enter(shop, buyer, c["id"], expect=202))["id"])
    assert await redis_left(redis, c["id"]) == 3
    redis_server.restart()  # empty: no persistence
    await redis.connection_pool.disconnect()
    assert await redis_left(redis, c["id"]) is None
    assert (await enter(shop, buyers[0], c["id"]))["code"] == "flashsale_limit_reached"  # rebuilt, buyers kept
    assert await redis_left(redis, c["id"]) == 3
    results = [await enter(shop, buyer, c["id"]) for buyer in buyers[2:]]
    assert [r["status_code"] for r in results] == [202, 202, 202, 409, 409]
    for buyer, got in zip(buyers[2:5], results, strict=False):
        assert (await decided(shop, buyer, got["id"]))["status"] == "ordered"
    assert await counts(shop, c["id"]) == (5, 5, 5)
    await check_invariants(shop)


async def test_a_drain_that_crashes_before_removing_its_batch_never_orders_twice(
        shop: ShopHarness, redis: Any) -> None:
    _, c = await setup(shop, stock=10, per_customer_limit=1)
    buyers = [await shop.login(f"b{i}") for i in range(4)]
    kick = queue.kick
    queue.kick = lambda db, campaign_id: None  # type: ignore[assignment]
    try:
        tickets = [(await enter(shop, b, c["id"], expect=202))["id"] for b in buyers]
    finally:
        queue.kick = kick  # type: ignore[assignment]
    # A drain commits its orders, then dies before it removes the entries from the queue.
    async with shop.db.sessions() as session:
        async with session.begin():
            assert await queue.drain_batch(session, redis, c["id"]) == 4
        session.info.pop("after_commit", None)
    await redis.delete(redis_stock.Keys(c["id"]).drain_lock)  # its lock expired
    assert await redis.llen(redis_stock.Keys(c["id"]).queue) == 4
    await jobs.run_due(shop.db)  # the worker's sweep drains the same entries again
    assert await redis.llen(redis_stock.Keys(c["id"]).queue) == 0
    assert await counts(shop, c["id"]) == (4, 4, 4)
    assert [(await entry(shop, b, t))["status"] for b, t in zip(buyers, tickets, strict=True)] == ["ordered"] * 4
    await check_invariants(shop)
