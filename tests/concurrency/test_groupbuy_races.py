"""Group buying raced on real PostgreSQL connections: every request and every sweep holds its own
connection and transaction, as separate API processes and workers would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text

from liebian.events import GroupFailed, GroupSucceeded
from liebian.groupbuy import campaigns, groups
from liebian.kit import jobs
from liebian.kit.clock import clock
from liebian.kit.events import bus
from tests.api.groupbuy_helpers import check_invariants, group, paid_order, promotion, settings, setup
from tests.conftest import ADDRESS, ShopHarness

pytestmark = pytest.mark.concurrency


@pytest.fixture
async def outcomes() -> AsyncIterator[list[Any]]:
    """Every GroupSucceeded / GroupFailed published (and committed or not) while the test runs."""
    seen: list[Any] = []

    async def record(_: Any, event: Any) -> None:
        seen.append(event)

    bus.subscribe(GroupSucceeded, record)
    bus.subscribe(GroupFailed, record)
    try:
        yield seen
    finally:
        for kind in (GroupSucceeded, GroupFailed):
            bus._handlers[kind].remove(record)


async def _join(shop: ShopHarness, buyer: dict[str, str], sku: int, campaign_id: int, group_id: int
                ) -> tuple[int, dict[str, Any]]:
    r = await shop.client.post(f"{shop.base}/orders", headers=buyer, json={
        "lines": [{"sku_id": sku, "quantity": 1}], "address": ADDRESS, "promotion": promotion(campaign_id, group_id)})
    assert r.status_code in (201, 409), r.text
    return r.status_code, r.json()


async def _seats(shop: ShopHarness) -> list[tuple[int, int, int, int]]:
    """(group, size, seats taken, held or paid members) for every group of the shop."""
    return [tuple(r) for r in await shop.rows(  # type: ignore[misc]
        "SELECT g.id, g.size, g.slots_taken, (SELECT count(*) FROM groupbuy_members m WHERE m.group_id = g.id "
        "AND m.status IN ('held', 'paid')) FROM groupbuy_groups g WHERE g.shop_id = :shop ORDER BY g.id")]


async def test_two_hundred_buyers_race_for_the_last_three_seats(shop: ShopHarness, outcomes: list[Any]) -> None:
    sku, c = await setup(shop, group_size=5, sku_stock=1000)
    gid = (await paid_order(shop, await shop.login("leader"), sku, c["id"]))["promotion"]["group_id"]
    await paid_order(shop, await shop.login("first"), sku, c["id"], gid)
    buyers = [await shop.login(f"racer{i}") for i in range(200)]

    results = await asyncio.gather(*(_join(shop, b, sku, c["id"], gid) for b in buyers))
    won = [body for status, body in results if status == 201]
    assert len(won) == 3 and all(body["promotion"]["group_id"] == gid for body in won)
    assert [body["code"] for status, body in results if status == 409] == ["group_full"] * 197
    assert await _seats(shop) == [(gid, 5, 5, 5)]
    assert await shop.count("orders") == 5 and await shop.stock(sku) == 995

    await asyncio.gather(*(shop.pay(body) for body in won))  # the last three seats are paid at once
    assert (await group(shop, gid))["status"] == "succeeded"
    orders = sorted(r[0] for r in await shop.rows("SELECT order_no FROM orders WHERE shop_id = :shop"))
    # One success, announced once to each of the five members.
    assert sorted(e.order_no for e in outcomes if isinstance(e, GroupSucceeded)) == orders and len(outcomes) == 5
    assert await shop.scalar("SELECT count(*) FROM orders WHERE shop_id = :shop AND fulfilment_hold IS NULL "
                             "AND status = 'paid'") == 5
    await check_invariants(shop)


async def test_buyers_who_lose_the_race_are_seated_in_other_open_groups_never_over_the_size(
        shop: ShopHarness) -> None:
    sku, c = await setup(shop, group_size=5, sku_stock=1000)
    target = (await paid_order(shop, await shop.login("leader"), sku, c["id"]))["promotion"]["group_id"]
    await paid_order(shop, await shop.login("first"), sku, c["id"], target)
    for i in range(4):  # four more open groups with four free seats each
        await paid_order(shop, await shop.login(f"other-leader{i}"), sku, c["id"])
    buyers = [await shop.login(f"racer{i}") for i in range(40)]

    results = await asyncio.gather(*(_join(shop, b, sku, c["id"], target) for b in buyers))
    seated = [body["promotion"] for status, body in results if status == 201]
    assert len(seated) == 3 + 4 * 4
    assert sum(p["group_id"] == target for p in seated) == 3
    assert all(p["requested_group_id"] == target for p in seated if p["group_id"] != target)
    assert [body["code"] for status, body in results if status == 409] == ["group_full"] * (40 - 19)
    assert all((size, taken, members) == (5, 5, 5) for _, size, taken, members in await _seats(shop))
    await check_invariants(shop)


async def test_with_new_group_overflow_the_losers_each_open_a_group(shop: ShopHarness) -> None:
    await settings(shop, groupbuy_overflow="new_group")
    sku, c = await setup(shop, group_size=2, sku_stock=1000)
    gid = (await paid_order(shop, await shop.login("leader"), sku, c["id"]))["promotion"]["group_id"]
    buyers = [await shop.login(f"racer{i}") for i in range(30)]
    results = await asyncio.gather(*(_join(shop, b, sku, c["id"], gid) for b in buyers))
    assert {status for status, _ in results} == {201}
    roles = sorted(body["promotion"]["role"] for _, body in results)
    assert roles == ["leader"] * 29 + ["member"]
    assert len({body["promotion"]["group_id"] for _, body in results}) == 30
    assert all(taken <= size for _, size, taken, _ in await _seats(shop))


async def _failing_groups(shop: ShopHarness, n: int) -> tuple[int, list[dict[str, Any]]]:
    """``n`` open groups of 3 with two paid members each, past their deadline: (sku, the paid orders)."""
    sku, c = await setup(shop, group_size=3, duration_seconds=600, sku_stock=1000)
    placed = []
    for i in range(n):
        first = await paid_order(shop, await shop.login(f"l{i}"), sku, c["id"])
        placed += [first, await paid_order(shop, await shop.login(f"m{i}"), sku, c["id"],
                                           first["promotion"]["group_id"])]
    await shop.advance(601)
    return sku, placed


async def test_two_workers_sweeping_at_once_refund_each_member_of_a_failed_group_once(
        shop: ShopHarness, outcomes: list[Any]) -> None:
    sku, _ = await _failing_groups(shop, 30)
    await asyncio.gather(jobs.run_due(shop.db), jobs.run_due(shop.db))
    assert await shop.scalar("SELECT count(*) FROM groupbuy_groups WHERE shop_id = :shop AND status = 'failed'") == 30
    refunds = await shop.rows("SELECT order_id, count(*), sum(amount_fen) FROM payment_refunds WHERE shop_id = :shop "
                              "GROUP BY order_id")
    assert len(refunds) == 60 and {(n, amount) for _, n, amount in refunds} == {(1, 800)}
    assert await shop.scalar("SELECT count(*) FROM orders WHERE shop_id = :shop AND status = 'refunded'") == 60
    assert len([e for e in outcomes if isinstance(e, GroupFailed)]) == 60
    await asyncio.gather(jobs.run_due(shop.db), jobs.run_due(shop.db))  # and again: nothing more
    assert await shop.count("payment_refunds") == 60 and await shop.stock(sku) == 1000
    await check_invariants(shop)


async def test_the_deadline_sweep_raced_in_two_transactions_and_run_twice_refunds_once(shop: ShopHarness) -> None:
    await _failing_groups(shop, 25)
    clock_now = clock.now()

    async def sweep() -> int:
        async with shop.db.unit_of_work() as session:
            return await groups.sweep_due(session, clock_now)

    handled = await asyncio.gather(sweep(), sweep())
    assert sum(handled) == 25
    assert await sweep() == 0
    # A job that runs again on a group it already closed changes nothing.
    async with shop.db.unit_of_work() as session:
        gid, campaign_id = (await session.execute(text(
            "SELECT id, campaign_id FROM groupbuy_groups WHERE shop_id = :s LIMIT 1"), {"s": shop.shop_id})).one()
        campaign = (await campaigns.rows_by_id(session, [campaign_id]))[campaign_id]
        assert not await groups.fail(session, gid, campaign, clock_now)
    await shop.run_due()
    assert await shop.count("payment_refunds") == 50
    assert await shop.scalar("SELECT count(DISTINCT order_id) FROM payment_refunds WHERE shop_id = :shop") == 50
    await check_invariants(shop)


async def test_a_payment_racing_the_deadline_either_fills_the_group_or_is_refunded(shop: ShopHarness) -> None:
    sku, c = await setup(shop, group_size=2, duration_seconds=600)
    pairs = []
    for i in range(10):
        first = await paid_order(shop, await shop.login(f"l{i}"), sku, c["id"])
        r = await _join(shop, await shop.login(f"j{i}"), sku, c["id"], first["promotion"]["group_id"])
        pairs.append((first, r[1]))
    await shop.advance(599)
    await asyncio.gather(*(shop.pay(late) for _, late in pairs), _advance_and_sweep(shop))
    await shop.run_due()
    for first, late in pairs:
        status = await shop.scalar("SELECT status FROM groupbuy_groups WHERE id = :g",
                                   g=first["promotion"]["group_id"])
        refunded = await shop.scalar("SELECT coalesce(sum(refunded_fen), 0) FROM orders WHERE order_no IN (:a, :b)",
                                     a=first["order_no"], b=late["order_no"])
        assert (status, refunded) in (("succeeded", 0), ("failed", 1600)), (status, refunded)
    await check_invariants(shop)


async def _advance_and_sweep(shop: ShopHarness) -> None:
    await asyncio.sleep(0.01)
    async with shop.db.unit_of_work() as session:
        await clock.advance(session, 2)
    await jobs.run_due(shop.db)


async def test_workers_cancelling_many_expired_seats_at_once_release_each_once(shop: ShopHarness) -> None:
    """The unpaid-order sweeper cancels up to 100 orders per transaction; four of them at once, over seats of
    the same groups in interleaved order, neither deadlock nor release a seat twice."""
    sku, c = await setup(shop, group_size=50, sku_stock=1000, duration_seconds=24 * 3600)
    gids = [(await paid_order(shop, await shop.login(f"leader{g}"), sku, c["id"]))["promotion"]["group_id"]
            for g in range(6)]
    joiners = [await shop.login(f"j{i}") for i in range(40)]
    for joiner in joiners:
        for gid in gids:  # round robin: each sweep batch spans every group, in its own order
            await _join(shop, joiner, sku, c["id"], gid)
    assert await shop.stock(sku) == 1000 - 6 * 41
    await shop.advance(31 * 60)
    await asyncio.gather(*(jobs.run_due(shop.db) for _ in range(4)))
    await shop.run_due()
    assert await shop.scalar("SELECT count(*) FROM orders WHERE shop_id = :shop AND status = 'cancelled'") == 240
    assert {(size, taken, members) for _, size, taken, members in await _seats(shop)} == {(50, 1, 1)}
    assert await shop.stock(sku) == 1000 - 6
    await check_invariants(shop)
