"""Bargaining raced on real PostgreSQL connections: every request holds its own connection and transaction,
as separate API processes would."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from tests.api.bargain_helpers import (
    buy_response,
    check_invariants,
    complete,
    device,
    friends,
    help_,
    page,
    setup,
    start,
)
from tests.conftest import ShopHarness

pytestmark = pytest.mark.concurrency


async def test_fifty_friends_tap_at_once_on_a_bargain_needing_ten(shop: ShopHarness) -> None:
    _, c = await setup(shop, price_fen=10_000, start_price_fen=10_000, floor_price_fen=1_000, helpers_needed=10)
    alice = await shop.login("alice")
    b = await start(shop, alice, c["id"])
    crowd = await friends(shop, 50)

    answers = await asyncio.gather(*(help_(shop, f, b["id"], headers=device(f"phone{i}"))
                                     for i, f in enumerate(crowd)))
    won = [r.json() for r in answers if r.status_code == 200]
    assert len(won) == 10
    assert Counter(r.json()["code"] for r in answers if r.status_code != 200) == {"bargain_complete": 40}
    assert all(r.status_code in (200, 409) for r in answers)
    assert sorted(w["seq"] for w in won) == list(range(1, 11))  # every planned cut taken once, in order
    assert min(w["current_price_fen"] for w in won) == 1_000  # the tenth lands on the floor, nobody below

    seen = await page(shop, b["id"], alice)
    assert seen["status"] == "complete" and seen["current_price_fen"] == 1_000 and seen["help_count"] == 10
    assert sum(h["cut_fen"] for h in seen["helps"]) == 9_000 and len(seen["helps"]) == 11
    plan = await shop.scalar("SELECT cuts FROM bargain_bargains WHERE id = :b", b=b["id"])
    assert [h["cut_fen"] for h in seen["helps"]] == list(plan)
    # The losers' daily counters rolled back with them.
    assert await shop.rows("SELECT kind, sum(used) FROM bargain_help_quotas WHERE shop_id = :shop GROUP BY kind "
                           "ORDER BY kind") == [("device", 10), ("helper", 10)]
    await check_invariants(shop)


async def test_one_friend_tapping_ten_times_at_once_cuts_once(shop: ShopHarness) -> None:
    _, c = await setup(shop, helpers_needed=5, helps_per_helper_per_day=3)
    b = await start(shop, await shop.login("alice"), c["id"])
    bob = await shop.login("bob")
    answers = await asyncio.gather(*(help_(shop, bob, b["id"], headers=device("bob-phone")) for _ in range(10)))
    assert {r.status_code for r in answers} == {200}, [r.text for r in answers]
    bodies = [r.json() for r in answers]
    assert len({(x["seq"], x["cut_fen"], x["current_price_fen"]) for x in bodies}) == 1
    assert sum(not x["already_helped"] for x in bodies) == 1
    assert await shop.scalar("SELECT help_count FROM bargain_bargains WHERE id = :b", b=b["id"]) == 1
    assert await shop.rows("SELECT kind, used FROM bargain_help_quotas WHERE shop_id = :shop ORDER BY kind") == \
           [("device", 1), ("helper", 1)]
    await check_invariants(shop)


async def test_a_helper_racing_across_bargains_stays_within_the_daily_cap(shop: ShopHarness) -> None:
    _, c = await setup(shop, helpers_needed=3, helps_per_helper_per_day=3)
    bargains = [await start(shop, await shop.login(f"initiator{i}"), c["id"]) for i in range(10)]
    bob = await shop.login("bob")
    answers = await asyncio.gather(*(help_(shop, bob, b["id"]) for b in bargains))
    assert sum(r.status_code == 200 for r in answers) == 3
    assert Counter(r.json()["code"] for r in answers if r.status_code != 200) == {"daily_help_limit_reached": 7}
    assert await shop.scalar("SELECT sum(help_count) FROM bargain_bargains WHERE shop_id = :shop") == 3
    await check_invariants(shop)


async def test_alt_accounts_on_one_device_stay_within_the_device_cap(shop: ShopHarness) -> None:
    _, c = await setup(shop, helpers_needed=20, start_price_fen=1000, floor_price_fen=0, helps_per_device_per_day=5)
    b = await start(shop, await shop.login("alice"), c["id"])
    alts = await friends(shop, 20, "alt")
    answers = await asyncio.gather(*(help_(shop, a, b["id"], headers=device("farm-phone")) for a in alts))
    assert sum(r.status_code == 200 for r in answers) == 5
    assert Counter(r.json()["code"] for r in answers if r.status_code != 200) == {"device_help_limit_reached": 15}
    await check_invariants(shop)


async def test_the_initiators_concurrent_purchases_make_one_order(shop: ShopHarness) -> None:
    sku, c = await setup(shop, helpers_needed=2, stock=5, sku_stock=10)
    alice = await shop.login("alice")
    b = await start(shop, alice, c["id"])
    await complete(shop, b)
    answers = await asyncio.gather(*(buy_response(shop, alice, sku, b["id"]) for _ in range(10)))
    assert sorted(r.status_code for r in answers) == [201] + [409] * 9, [r.text for r in answers]
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {"bargain_already_ordered"}
    assert await shop.count("orders") == 1
    assert await shop.scalar("SELECT stock_left FROM bargain_campaigns WHERE id = :c", c=c["id"]) == 4
    await check_invariants(shop)


async def test_concurrent_starts_open_one_bargain(shop: ShopHarness) -> None:
    _, c = await setup(shop, initiations_per_customer=5)
    alice = await shop.login("alice")
    answers = await asyncio.gather(*(shop.client.post(f"{shop.base}/bargains", headers=alice,
                                                      json={"campaign_id": c["id"]}) for _ in range(8)))
    assert sorted(r.status_code for r in answers) == [201] + [409] * 7, [r.text for r in answers]
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {"bargain_in_progress"}
    assert await shop.count("bargain_bargains") == 1
    assert await shop.scalar("SELECT started FROM bargain_initiations WHERE shop_id = :shop") == 1
