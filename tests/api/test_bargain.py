"""Bargain (砍价) through the API: campaigns, starting, friends' cuts, buying at the reached price, expiry,
anti-abuse caps, shares; every refusal a 4xx problem with a stable code that changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.bargain_helpers import (
    CONSOLE,
    buy,
    buy_response,
    check_invariants,
    complete,
    device,
    friends,
    help_,
    helped,
    page,
    setup,
    snapshot,
    start,
)
from tests.conftest import ShopHarness, assert_problem


async def test_a_bargain_from_start_to_the_floor_to_the_order(shop: ShopHarness) -> None:
    sku, c = await setup(shop, price_fen=1200, start_price_fen=1000, floor_price_fen=100, helpers_needed=3)
    alice = await shop.login("alice")
    b = await start(shop, alice, c["id"])
    assert b["status"] == "active" and b["start_price_fen"] == 1000 and b["floor_price_fen"] == 100
    assert b["helpers_needed"] == 3 and b["help_count"] == 0 and b["mine"] and not b["can_buy"]
    opening = b["helps"]
    assert len(opening) == 1 and opening[0]["is_initiator"] and opening[0]["seq"] == 0
    assert b["current_price_fen"] == 1000 - opening[0]["cut_fen"] and 100 < b["current_price_fen"] < 1000
    assert opening[0]["nickname"].endswith("*") and b["expires_at"]

    cuts = await complete(shop, b)
    assert [c_["seq"] for c_ in cuts] == [1, 2, 3] and all(c_["cut_fen"] >= 1 for c_ in cuts)
    assert [c_["helpers_left"] for c_ in cuts] == [2, 1, 0] and [c_["complete"] for c_ in cuts] == [False, False, True]
    assert cuts[-1]["current_price_fen"] == 100  # the last required friend lands exactly on the floor
    assert opening[0]["cut_fen"] + sum(c_["cut_fen"] for c_ in cuts) == 900
    seen = await page(shop, b["id"], alice)
    assert seen["status"] == "complete" and seen["current_price_fen"] == 100 and seen["can_buy"]
    assert [h["seq"] for h in seen["helps"]] == [0, 1, 2, 3] and seen["helpers_left"] == 0

    order = await buy(shop, alice, sku, b["id"])
    assert order["payable_fen"] == 100 and order["total_fen"] == 1200 and order["discount_fen"] == 1100
    assert order["promotion"]["kind"] == "bargain" and order["promotion"]["bargain_id"] == b["id"]
    assert await shop.stock(sku) == 99  # no campaign stock: the SKU's
    seen = await page(shop, b["id"], alice)
    assert seen["status"] == "ordered" and seen["order_no"] == order["order_no"] and not seen["can_buy"]
    await shop.pay(order)
    assert (await shop.order(alice, order["order_no"]))["status"] == "paid"
    await check_invariants(shop)


async def test_a_friend_tapping_twice_gets_the_same_answer_and_cuts_once(shop: ShopHarness) -> None:
    _, c = await setup(shop, helpers_needed=5)
    b = await start(shop, await shop.login("alice"), c["id"])
    bob = await shop.login("bob")
    first = await helped(shop, bob, b["id"])
    again = await helped(shop, bob, b["id"])
    assert not first["already_helped"] and again["already_helped"]
    assert {k: v for k, v in again.items() if k != "already_helped"} == \
           {k: v for k, v in first.items() if k != "already_helped"}
    seen = await page(shop, b["id"], bob)
    assert seen["help_count"] == 1 and seen["my_help"]["cut_fen"] == first["cut_fen"] and not seen["mine"]
    assert await shop.scalar("SELECT used FROM bargain_help_quotas WHERE shop_id = :shop AND kind = 'helper'") == 1


async def test_nobody_helps_their_own_bargain_not_even_from_their_device(shop: ShopHarness) -> None:
    _, c = await setup(shop)
    alice = await shop.login("alice")
    b = await start(shop, alice, c["id"], headers=device("alice-phone"))
    before = await snapshot(shop)
    assert_problem(await help_(shop, alice, b["id"]), 409, "cannot_help_own_bargain")
    alt = await shop.login("alice-alt")
    assert_problem(await help_(shop, alt, b["id"], headers=device("alice-phone")), 409, "cannot_help_own_bargain")
    assert await snapshot(shop) == before


async def test_unknown_and_other_shops_bargains_are_not_found(shop: ShopHarness, other_shop: ShopHarness) -> None:
    _, theirs = await setup(other_shop)
    foreign = await start(other_shop, await other_shop.login("zoe"), theirs["id"])
    bob = await shop.login("bob")
    before, before_other = await snapshot(shop), await snapshot(other_shop)
    for bargain_id in (foreign["id"], 999_999_999):
        assert_problem(await help_(shop, bob, bargain_id), 404, "bargain_not_found")
        assert_problem(await shop.client.get(f"{shop.base}/bargains/{bargain_id}"), 404, "bargain_not_found")
        assert_problem(await shop.client.get(f"{CONSOLE}/bargains/{bargain_id}", headers=shop.staff), 404,
                       "bargain_not_found")
    assert_problem(await shop.client.post(f"{shop.base}/bargains", headers=bob, json={"campaign_id": theirs["id"]}),
                   404, "campaign_not_found")
    sku = await shop.sku()
    assert_problem(await buy_response(shop, bob, sku, foreign["id"]), 404, "bargain_not_found")
    assert await snapshot(shop) == before and await snapshot(other_shop) == before_other


async def test_a_complete_bargain_takes_no_more_cuts(shop: ShopHarness) -> None:
    _, c = await setup(shop, helpers_needed=2)
    b = await start(shop, await shop.login("alice"), c["id"])
    await complete(shop, b)
    late = await shop.login("late")
    before = await snapshot(shop)
    assert_problem(await help_(shop, late, b["id"]), 409, "bargain_complete")
    assert await snapshot(shop) == before


async def test_only_the_initiator_buys_once_and_only_when_allowed(shop: ShopHarness) -> None:
    sku, c = await setup(shop, helpers_needed=2)
    alice, bob = await shop.login("alice"), await shop.login("bob")
    b = await start(shop, alice, c["id"])
    before = await snapshot(shop, sku)
    assert_problem(await buy_response(shop, alice, sku, b["id"]), 409, "bargain_not_complete")
    assert await snapshot(shop, sku) == before
    await helped(shop, bob, b["id"])
    await helped(shop, await shop.login("carol"), b["id"])
    other_sku = await shop.sku()
    before = await snapshot(shop, sku)
    assert_problem(await buy_response(shop, bob, sku, b["id"]), 403, "not_bargain_initiator")
    assert_problem(await buy_response(shop, alice, other_sku, b["id"]), 422, "sku_not_in_campaign")
    r = await shop.client.post(f"{shop.base}/orders", headers=alice, json={
        "lines": [{"sku_id": sku, "quantity": 2}], "address": (await _address()),
        "promotion": {"kind": "bargain", "bargain_id": b["id"]}})
    assert_problem(r, 422, "bargain_one_item")
    r = await shop.client.post(f"{shop.base}/orders", headers=alice, json={
        "lines": [{"sku_id": sku, "quantity": 1}], "address": (await _address()), "promotion": {"kind": "bargain"}})
    assert_problem(r, 422, "bargain_required")
    assert await snapshot(shop, sku) == before
    order = await buy(shop, alice, sku, b["id"])
    after = await snapshot(shop, sku)
    assert_problem(await buy_response(shop, alice, sku, b["id"]), 409, "bargain_already_ordered")
    assert await snapshot(shop, sku) == after and order["payable_fen"] == 100


async def _address() -> dict[str, Any]:
    from tests.conftest import ADDRESS
    return dict(ADDRESS)


async def test_buy_anytime_buys_at_the_current_price_and_stops_the_cutting(shop: ShopHarness) -> None:
    sku, c = await setup(shop, helpers_needed=5, buy_anytime=True)
    alice = await shop.login("alice")
    b = await start(shop, alice, c["id"])
    cut = await helped(shop, await shop.login("bob"), b["id"])
    assert (await page(shop, b["id"], alice))["can_buy"]
    order = await buy(shop, alice, sku, b["id"])
    assert order["payable_fen"] == cut["current_price_fen"] > 100
    assert order["promotion"]["reached_floor"] is False
    assert_problem(await help_(shop, await shop.login("carol"), b["id"]), 409, "bargain_ordered")


async def test_an_order_cancelled_unpaid_gives_the_bargain_and_its_unit_back(shop: ShopHarness) -> None:
    sku, c = await setup(shop, helpers_needed=1, stock=2, sku_stock=10)
    assert await shop.stock(sku) == 8  # the campaign's two units are set aside
    alice = await shop.login("alice")
    b = await start(shop, alice, c["id"])
    await complete(shop, b)
    order = await buy(shop, alice, sku, b["id"])
    assert order["promotion"]["own_stock"] is True and await shop.stock(sku) == 8
    assert await shop.scalar("SELECT stock_left FROM bargain_campaigns WHERE id = :c", c=c["id"]) == 1
    r = await shop.client.post(f"{shop.base}/orders/{order['order_no']}/cancel", headers=alice)
    assert r.status_code == 200, r.text
    seen = await page(shop, b["id"], alice)
    assert seen["status"] == "complete" and seen["can_buy"] and seen["order_no"] is None
    assert await shop.scalar("SELECT stock_left FROM bargain_campaigns WHERE id = :c", c=c["id"]) == 2
    again = await buy(shop, alice, sku, b["id"])  # bought again, at the same floor price
    assert again["payable_fen"] == 100
    await shop.pay(again)
    await check_invariants(shop)


async def test_campaign_stock_sells_out(shop: ShopHarness) -> None:
    sku, c = await setup(shop, helpers_needed=1, stock=1, sku_stock=10)
    alice, bob = await shop.login("alice"), await shop.login("bob")
    a, b = await start(shop, alice, c["id"]), await start(shop, bob, c["id"])
    await helped(shop, bob, a["id"])
    await helped(shop, alice, b["id"])
    await buy(shop, alice, sku, a["id"])
    before = await snapshot(shop, sku)
    assert_problem(await buy_response(shop, bob, sku, b["id"]), 409, "stock_exhausted")
    assert_problem(await shop.client.post(f"{shop.base}/bargains", headers=await shop.login("carol"),
                                          json={"campaign_id": c["id"]}), 409, "stock_exhausted")
    assert await snapshot(shop, sku) == before


async def test_a_bargain_expires_without_a_purchase(shop: ShopHarness) -> None:
    sku, c = await setup(shop, helpers_needed=1, duration_seconds=600)
    alice = await shop.login("alice")
    b = await start(shop, alice, c["id"])
    done = await start(shop, await shop.login("dan"), c["id"])
    await helped(shop, alice, done["id"])  # complete, never bought
    await shop.advance(601)
    assert (await page(shop, b["id"]))["status"] == "expired"  # computed on read before the sweeper runs
    before = await snapshot(shop, sku)
    assert_problem(await help_(shop, await shop.login("bob"), b["id"]), 409, "bargain_expired")
    assert_problem(await buy_response(shop, await shop.login("dan"), sku, done["id"]), 409, "bargain_expired")
    assert await snapshot(shop, sku) == before
    await shop.run_due()
    assert await shop.rows("SELECT status FROM bargain_bargains WHERE shop_id = :shop ORDER BY id") == \
           [("expired",), ("expired",)]
    again = await start(shop, alice, c["id"], expect=409)  # one bargain per customer by default
    assert again["code"] == "initiation_limit_reached"
    await check_invariants(shop)


async def test_expired_bargain_is_replaced_when_the_campaign_allows_more(shop: ShopHarness) -> None:
    _, c = await setup(shop, duration_seconds=600, initiations_per_customer=2)
    alice = await shop.login("alice")
    first = await start(shop, alice, c["id"])
    assert (await start(shop, alice, c["id"], expect=409))["bargain_id"] == first["id"]  # bargain_in_progress
    await shop.advance(601)  # no sweep: the stale one is expired on the way
    second = await start(shop, alice, c["id"])
    assert second["id"] != first["id"]
    assert (await start(shop, alice, c["id"], expect=409))["code"] == "bargain_in_progress"


async def test_daily_help_cap_across_the_shop_and_device_cap(shop: ShopHarness) -> None:
    _, c = await setup(shop, helpers_needed=5, helps_per_helper_per_day=1, helps_per_device_per_day=2,
                       duration_seconds=2 * 24 * 3600)
    a = await start(shop, await shop.login("alice"), c["id"])
    b = await start(shop, await shop.login("bella"), c["id"])
    bob = await shop.login("bob")
    await helped(shop, bob, a["id"], headers=device("shared"))
    before = await snapshot(shop)
    body = assert_problem(await help_(shop, bob, b["id"], headers=device("other")), 409, "daily_help_limit_reached")
    assert body["limit"] == 1 and await snapshot(shop) == before
    await helped(shop, await shop.login("alt1"), a["id"], headers=device("shared"))
    before = await snapshot(shop)
    alt2 = await shop.login("alt2")
    assert_problem(await help_(shop, alt2, a["id"], headers=device("shared")), 409, "device_help_limit_reached")
    r = await shop.client.post(f"{shop.base}/bargains/{a['id']}/help",
                               headers={**alt2, "Cookie": "lb_did=device-shared"})
    assert_problem(r, 409, "device_help_limit_reached")  # the H5 cookie names the device too
    assert await snapshot(shop) == before
    await shop.advance(24 * 3600)  # a new day (and new logins: tokens expire)
    await helped(shop, await shop.login("bob"), b["id"])
    await helped(shop, await shop.login("alt2"), a["id"], headers=device("shared"))


async def test_a_bargain_is_a_share_target_and_helping_earns_nothing(shop: ShopHarness) -> None:
    _, c = await setup(shop)
    alice = await shop.login("alice")
    b = await start(shop, alice, c["id"])
    r = await shop.client.post(f"{shop.base}/shares", headers=alice,
                               json={"target_type": "bargain", "target_id": b["id"], "channel": "friend"})
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    bob = await shop.login("bob")
    r = await shop.client.post(f"{shop.base}/visits", headers=bob, json={"share_code": code})
    assert r.status_code == 201, r.text
    assert r.json()["target_type"] == "bargain" and r.json()["target_id"] == b["id"]
    await helped(shop, bob, b["id"])
    assert_problem(await shop.client.post(f"{shop.base}/shares", headers=alice, json={
        "target_type": "bargain", "target_id": 999_999_999, "channel": "friend"}), 404, "target_not_found")


@pytest.mark.parametrize(("fields", "status", "code"), [
    ({"floor_price_fen": 1000}, 422, "floor_not_below_start"),
    ({"floor_price_fen": 997, "helpers_needed": 3}, 422, "price_gap_too_small"),  # 3 fen for 4 cuts
    ({"start_price_fen": 1500}, 422, "start_price_above_list_price"),
    ({"helpers_needed": 0}, 422, "validation_error"),
    ({"helpers_needed": 101}, 422, "validation_error"),
    ({"floor_price_fen": -1}, 422, "validation_error"),
    ({"duration_seconds": 10}, 422, "validation_error"),
    ({"helps_per_helper_per_day": 0}, 422, "validation_error"),
    ({"ends_at": "2000-01-01T00:00:00Z"}, 422, "invalid_window"),
    ({"stock": 101}, 409, "sku_stock_insufficient"),
    ({"sku_id": 999_999_999}, 422, "sku_not_found"),
    ({"unknown": 1}, 422, "validation_error"),
])
async def test_bad_campaigns_are_refused_and_nothing_changes(shop: ShopHarness, fields: dict[str, Any], status: int,
                                                             code: str) -> None:
    sku = await shop.sku(price_fen=1000, stock=100)
    before = await snapshot(shop, sku)
    r = await shop.client.post(f"{CONSOLE}/campaigns", headers=shop.staff, json={
        "sku_id": sku, "start_price_fen": 1000, "floor_price_fen": 100, "helpers_needed": 3,
        "duration_seconds": 3600, **fields})
    assert_problem(r, status, code)
    assert await snapshot(shop, sku) == before


async def test_console_lists_reads_and_closes_campaigns(shop: ShopHarness, other_shop: ShopHarness) -> None:
    sku, c = await setup(shop, stock=5, sku_stock=10, title="砍到 1 元")
    assert c["status"] == "active" and c["stock_left"] == 5 and c["title"] == "砍到 1 元"
    alice = await shop.login("alice")
    b = await start(shop, alice, c["id"])
    await helped(shop, await shop.login("bob"), b["id"])
    r = await shop.client.get(f"{CONSOLE}/campaigns", headers=shop.staff, params={"status": "active"})
    assert r.status_code == 200 and [i["id"] for i in r.json()["items"]] == [c["id"]]
    r = await shop.client.get(f"{CONSOLE}/campaigns/{c['id']}", headers=shop.staff)
    assert r.json()["stats"] == {"bargains": 1, "active": 1, "complete": 0, "ordered": 0, "expired": 0, "helps": 1}
    r = await shop.client.get(f"{CONSOLE}/bargains/{b['id']}", headers=shop.staff)
    detail = r.json()
    assert sum(detail["plan"]) == 900 and len(detail["plan"]) == 4 and len(detail["helps"]) == 2
    r = await shop.client.get(f"{CONSOLE}/bargains", headers=shop.staff, params={"campaign_id": c["id"]})
    assert r.json()["total"] == 1
    public = await shop.client.get(f"{shop.base}/bargain/campaigns")
    assert [i["id"] for i in public.json()["items"]] == [c["id"]]
    assert_problem(await other_shop.client.post(f"{CONSOLE}/campaigns/{c['id']}/close", headers=other_shop.staff),
                   404, "campaign_not_found")
    r = await shop.client.post(f"{CONSOLE}/campaigns/{c['id']}/close", headers=shop.staff)
    assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["stock_left"] == 0
    assert await shop.stock(sku) == 10  # the unsold units went back
    assert_problem(await shop.client.post(f"{CONSOLE}/campaigns/{c['id']}/close", headers=shop.staff), 409,
                   "campaign_over")
    assert_problem(await shop.client.post(f"{shop.base}/bargains", headers=await shop.login("carol"),
                                          json={"campaign_id": c["id"]}), 409, "campaign_over")
    # The running bargain goes on; bought now, its unit comes from the SKU.
    await helped(shop, await shop.login("dave"), b["id"])
    await helped(shop, await shop.login("erin"), b["id"])
    order = await buy(shop, alice, sku, b["id"])
    assert "own_stock" not in order["promotion"] and await shop.stock(sku) == 9
    await check_invariants(shop)


async def test_a_scheduled_campaign_cannot_be_started_yet(shop: ShopHarness) -> None:
    from datetime import UTC, datetime, timedelta
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    _, c = await setup(shop, starts_at=later)
    body = await start(shop, await shop.login("alice"), c["id"], expect=409)
    assert body["code"] == "campaign_not_started"


async def test_my_bargains(shop: ShopHarness) -> None:
    _, c = await setup(shop)
    alice = await shop.login("alice")
    b = await start(shop, alice, c["id"])
    r = await shop.client.get(f"{shop.base}/bargains", headers=alice)
    assert [i["id"] for i in r.json()] == [b["id"]]
    r = await shop.client.get(f"{shop.base}/bargains", headers=(await friends(shop, 1))[0])
    assert r.json() == []


async def test_help_statement_count(shop: ShopHarness, count_statements: Any) -> None:
    _, c = await setup(shop, helpers_needed=3, helps_per_helper_per_day=5, helps_per_device_per_day=5)
    b = await start(shop, await shop.login("alice"), c["id"])
    bob = await shop.login("bob")
    with count_statements() as counter:
        r = await help_(shop, bob, b["id"], headers=device("bob-phone"))
    assert r.status_code == 200, r.text
    statements = [s for s in counter.statements if not s.lstrip().upper().startswith(("BEGIN", "COMMIT"))]
    # shop, the per-minute rate limits (one upsert of both keys, its own transaction: liebian.kit.ratelimit),
    # the read (bargain, caps, own cut), the alt-account check (liebian.customers.links), both daily counters
    # in one upsert, the cut taken and recorded
    print(f"\nbargain help: {len(statements)} SQL statements")
    assert len(statements) <= 6, "\n".join(statements)
    assert sum("UPDATE bargain_bargains" in s for s in statements) == 1


async def test_an_order_unpaid_past_the_bargains_end_leaves_it_expired(shop: ShopHarness) -> None:
    """The sweeper never expires an ordered bargain; its payment timeout cancels the order after the
    bargain's own end, and then the bargain is over (and the campaign's unit is back)."""
    sku, c = await setup(shop, helpers_needed=1, duration_seconds=600, stock=3, sku_stock=10)
    alice = await shop.login("alice")
    b = await start(shop, alice, c["id"])
    await complete(shop, b)
    order = await buy(shop, alice, sku, b["id"])
    await shop.advance(601)
    await shop.run_due()
    assert (await page(shop, b["id"]))["status"] == "ordered"  # waiting for its payment, not expired
    await shop.advance(30 * 60)  # the payment deadline passes
    await shop.run_due()
    assert (await shop.order(await shop.login("alice"), order["order_no"]))["status"] == "cancelled"
    assert await shop.rows("SELECT status, order_id, orders_cancelled FROM bargain_bargains WHERE id = :b",
                           b=b["id"]) == [("expired", None, 1)]
    assert await shop.scalar("SELECT stock_left FROM bargain_campaigns WHERE id = :c", c=c["id"]) == 3
    assert await shop.stock(sku) == 7
    await check_invariants(shop)
