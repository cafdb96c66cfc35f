"""Group buying through the API: open, join, pay, fill or fail, refunds, and every rule of a campaign."""

from __future__ import annotations

from typing import Any

from tests.api.groupbuy_helpers import (
    CONSOLE,
    campaign,
    check_invariants,
    console_group,
    group,
    order,
    paid_order,
    promotion,
    settings,
    setup,
)
from tests.conftest import ShopHarness, assert_problem


async def test_a_group_opens_on_payment_fills_and_releases_every_order(shop: ShopHarness) -> None:
    sku, c = await setup(shop, price_fen=1000, group_size=3, group_price_fen=800)
    leader, ann, bob = await shop.login("团长小明"), await shop.login("ann"), await shop.login("bob")
    opened = await order(shop, leader, sku, c["id"])
    gid = opened["promotion"]["group_id"]
    assert opened["promotion"]["kind"] == "groupbuy" and opened["promotion"]["role"] == "leader"
    assert (opened["total_fen"], opened["discount_fen"], opened["payable_fen"]) == (1000, 200, 800)
    page = await group(shop, gid)
    assert (page["status"], page["members"], page["slots_left"], page["paying"], page["expires_at"]) == (
        "pending", [], 2, 1, None)

    await shop.pay(opened)
    page = await group(shop, gid)
    assert page["status"] == "open" and page["expires_at"] and 3590 <= page["seconds_left"] <= 3600
    assert page["members"] == [{"nickname": "团**", "avatar": None, "is_leader": True}]
    held = await shop.order(leader, opened["order_no"])
    assert held["status"] == "paid" and held["fulfilment_hold"] == "group_not_full"
    assert_problem(await shop.client.post(f"/api/v1/console/orders/{opened['order_no']}/ship", headers=shop.staff,
                                          json={"carrier": "顺丰", "tracking_no": "SF1"}), 409, "order_on_hold")
    assert_problem(await shop.client.post(f"{shop.base}/orders/{opened['order_no']}/refund-requests", headers=leader,
                                          json={"reason": "不想要了"}), 409, "order_on_hold")

    a = await paid_order(shop, ann, sku, c["id"], gid)
    assert a["promotion"]["group_id"] == gid and a["promotion"]["role"] == "member"
    assert (await group(shop, gid))["status"] == "open"
    b = await paid_order(shop, bob, sku, c["id"], gid)
    page = await group(shop, gid)
    assert page["status"] == "succeeded" and page["slots_left"] == 0 and len(page["members"]) == 3
    for who, placed in ((leader, opened), (ann, a), (bob, b)):
        assert (await shop.order(who, placed["order_no"]))["fulfilment_hold"] is None
    await shop.ship(b["order_no"])
    await check_invariants(shop)


async def test_at_the_deadline_every_paid_member_is_refunded_once_and_unpaid_orders_are_cancelled(
        shop: ShopHarness) -> None:
    sku, c = await setup(shop, group_size=4, sku_stock=10, duration_seconds=600)  # shorter than the payment timeout
    leader, ann, slow = await shop.login("leader"), await shop.login("ann"), await shop.login("slow")
    opened = await paid_order(shop, leader, sku, c["id"])
    gid = opened["promotion"]["group_id"]
    joined = await paid_order(shop, ann, sku, c["id"], gid)
    unpaid = await order(shop, slow, sku, c["id"], gid)
    assert await shop.stock(sku) == 7
    await shop.advance(601)
    await shop.run_due()
    page = await group(shop, gid)
    assert page["status"] == "failed" and page["slots_left"] == 0
    for who, placed in ((leader, opened), (ann, joined)):
        got = await shop.order(who, placed["order_no"])
        assert got["status"] == "refunded" and got["refunded_fen"] == got["payable_fen"] == 800
    cancelled = await shop.order(slow, unpaid["order_no"])
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "group_closed"
    assert await shop.stock(sku) == 10
    assert await shop.count("payment_refunds") == 2
    await shop.run_due()
    assert await shop.count("payment_refunds") == 2
    detail = await console_group(shop, gid)
    assert detail["failure_reason"] == "expired" and detail["refunded_members"] == 2
    assert sorted(m["status"] for m in detail["members"]) == ["refunded", "refunded", "released"]
    assert [m["refunded_fen"] for m in detail["members"] if m["status"] == "refunded"] == [800, 800]
    await check_invariants(shop)


async def test_an_unpaid_seat_is_held_then_released_when_its_order_expires(shop: ShopHarness) -> None:
    sku, c = await setup(shop, group_size=2)
    leader, ann, bob = await shop.login("leader"), await shop.login("ann"), await shop.login("bob")
    gid = (await paid_order(shop, leader, sku, c["id"]))["promotion"]["group_id"]
    held = await order(shop, ann, sku, c["id"], gid)
    page = await group(shop, gid)
    assert (page["slots_left"], page["paying"]) == (0, 1)
    # The only seat is held by ann while she pays: bob cannot take it, and there is no other group.
    assert_problem(await shop.client.post(f"{shop.base}/orders", headers=bob, json={
        "lines": [{"sku_id": sku, "quantity": 1}], "address": _ADDRESS, "promotion": _promo(c["id"], gid)}),
        409, "group_full")
    await shop.advance(31 * 60)  # ann's payment timeout passes; the group's hour does not
    await shop.run_due()
    assert (await shop.order(ann, held["order_no"]))["status"] == "cancelled"
    assert (await group(shop, gid))["slots_left"] == 1
    await paid_order(shop, bob, sku, c["id"], gid)
    assert (await group(shop, gid))["status"] == "succeeded"
    await check_invariants(shop)


async def test_the_leader_cancelling_before_paying_does_not_kill_a_group_of_paid_members(shop: ShopHarness) -> None:
    sku, c = await setup(shop, group_size=3, leader_price_fen=500)
    leader, ann, bob = await shop.login("leader"), await shop.login("ann"), await shop.login("bob")
    opened = await order(shop, leader, sku, c["id"])
    assert opened["payable_fen"] == 500
    gid = opened["promotion"]["group_id"]
    await paid_order(shop, ann, sku, c["id"], gid)  # ann pays first: the group opens
    assert (await group(shop, gid))["status"] == "open"
    r = await shop.client.post(f"{shop.base}/orders/{opened['order_no']}/cancel", headers=leader)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    page = await group(shop, gid)
    assert page["status"] == "open" and page["slots_left"] == 2
    assert page["members"] == [{"nickname": "a**", "avatar": None, "is_leader": True}]
    await paid_order(shop, bob, sku, c["id"], gid)
    await paid_order(shop, await shop.login("cat"), sku, c["id"], gid)
    assert (await group(shop, gid))["status"] == "succeeded"
    await check_invariants(shop)


async def test_a_pending_group_whose_only_seat_is_given_up_is_over(shop: ShopHarness) -> None:
    sku, c = await setup(shop, group_size=2)
    leader = await shop.login("leader")
    opened = await order(shop, leader, sku, c["id"])
    await shop.client.post(f"{shop.base}/orders/{opened['order_no']}/cancel", headers=leader)
    gid = opened["promotion"]["group_id"]
    assert (await group(shop, gid))["status"] == "failed"
    assert (await console_group(shop, gid))["failure_reason"] == "unpaid"
    assert_problem(await shop.client.post(f"{shop.base}/orders", headers=await shop.login("ann"), json={
        "lines": [{"sku_id": sku, "quantity": 1}], "address": _ADDRESS, "promotion": _promo(c["id"], gid)}),
        409, "group_closed")
    await check_invariants(shop)


async def test_a_buyer_whose_group_filled_is_seated_in_another_open_group(shop: ShopHarness) -> None:
    sku, c = await setup(shop, group_size=2)
    a, b = await shop.login("a"), await shop.login("b")
    full = (await paid_order(shop, a, sku, c["id"]))["promotion"]["group_id"]
    other = (await paid_order(shop, b, sku, c["id"]))["promotion"]["group_id"]
    await paid_order(shop, await shop.login("c"), sku, c["id"], full)
    late = await order(shop, await shop.login("d"), sku, c["id"], full)
    assert late["promotion"]["group_id"] == other and late["promotion"]["requested_group_id"] == full
    assert late["promotion"]["role"] == "member" and late["payable_fen"] == 800


async def test_with_new_group_overflow_a_buyer_whose_group_filled_opens_one_at_the_leader_price(
        shop: ShopHarness) -> None:
    await settings(shop, groupbuy_overflow="new_group")
    sku, c = await setup(shop, group_size=2, leader_price_fen=600)
    gid = (await paid_order(shop, await shop.login("a"), sku, c["id"]))["promotion"]["group_id"]
    await paid_order(shop, await shop.login("b"), sku, c["id"], gid)
    late = await order(shop, await shop.login("c"), sku, c["id"], gid)
    assert late["promotion"]["group_id"] != gid and late["promotion"]["role"] == "leader"
    assert late["payable_fen"] == 600
    assert (await group(shop, late["promotion"]["group_id"]))["status"] == "pending"


async def test_with_refuse_overflow_a_full_group_is_group_full_even_with_other_groups_open(shop: ShopHarness) -> None:
    await settings(shop, groupbuy_overflow="refuse")
    sku, c = await setup(shop, group_size=2)
    gid = (await paid_order(shop, await shop.login("a"), sku, c["id"]))["promotion"]["group_id"]
    await paid_order(shop, await shop.login("b"), sku, c["id"])
    await paid_order(shop, await shop.login("c"), sku, c["id"], gid)
    before = await shop.count("orders")
    body = await _refused(shop, await shop.login("d"), sku, c["id"], gid, 409, "group_full")
    assert body["group_id"] == gid and await shop.count("orders") == before


async def test_free_for_the_leader_opens_at_once_and_a_failed_group_cancels_the_free_order(shop: ShopHarness) -> None:
    sku, c = await setup(shop, group_size=2, leader_price_fen=0, duration_seconds=600)
    assert c["free_for_leader"] is True
    leader = await shop.login("leader")
    opened = await order(shop, leader, sku, c["id"])
    assert opened["status"] == "paid" and opened["payable_fen"] == 0 and opened["payment"]["status"] == "free"
    gid = opened["promotion"]["group_id"]
    assert (await group(shop, gid))["status"] == "open"
    await shop.advance(601)
    await shop.run_due()
    assert (await group(shop, gid))["status"] == "failed"
    got = await shop.order(leader, opened["order_no"])
    assert got["status"] == "cancelled" and got["cancel_reason"] == "group_failed"
    assert await shop.count("payment_refunds") == 0 and await shop.stock(sku) == 100
    await check_invariants(shop)


async def test_a_ladder_group_closes_at_the_tier_it_reached_and_refunds_the_difference(shop: ShopHarness) -> None:
    ladder = [{"size": 2, "price_fen": 900}, {"size": 3, "price_fen": 800}, {"size": 4, "price_fen": 700}]
    sku, c = await setup(shop, group_size=4, group_price_fen=900, ladder=ladder, leader_price_fen=750,
                         duration_seconds=600)
    assert c["min_size"] == 2 and c["ladder"] == ladder
    people = [await shop.login(n) for n in ("leader", "ann", "bob")]
    placed = [await paid_order(shop, people[0], sku, c["id"])]
    gid = placed[0]["promotion"]["group_id"]
    placed += [await paid_order(shop, p, sku, c["id"], gid, quantity=2) for p in people[1:]]
    assert [p["payable_fen"] for p in placed] == [750, 1800, 1800]
    await shop.advance(601)
    await shop.run_due()
    page = await group(shop, gid)
    assert page["status"] == "succeeded" and page["final_unit_price_fen"] == 800
    got = [await shop.order(p, o["order_no"]) for p, o in zip(people, placed, strict=True)]
    # The leader already paid less than the tier; each member gets 100 back per unit.
    assert [g["refunded_fen"] for g in got] == [0, 200, 200]
    assert [g["status"] for g in got] == ["paid", "paid", "paid"]
    assert all(g["fulfilment_hold"] is None for g in got)
    await check_invariants(shop)


async def test_a_full_ladder_group_closes_at_once_at_the_lowest_price(shop: ShopHarness) -> None:
    ladder = [{"size": 2, "price_fen": 900}, {"size": 3, "price_fen": 700}]
    sku, c = await setup(shop, group_size=3, group_price_fen=900, ladder=ladder)
    people = [await shop.login(n) for n in ("a", "b", "c")]
    first = await paid_order(shop, people[0], sku, c["id"])
    gid = first["promotion"]["group_id"]
    others = [await paid_order(shop, p, sku, c["id"], gid) for p in people[1:]]
    assert (await group(shop, gid))["status"] == "succeeded"
    await shop.run_due()
    assert [(await shop.order(p, o["order_no"]))["refunded_fen"]
            for p, o in zip(people, [first, *others], strict=True)] == [200, 200, 200]


async def test_auto_completion_at_the_threshold_says_the_shop_paid_and_invents_nobody(shop: ShopHarness) -> None:
    sku, c = await setup(shop, group_size=5, auto_complete_percent=60, duration_seconds=600)
    people = [await shop.login(n) for n in ("a", "b", "c")]
    gid = (await paid_order(shop, people[0], sku, c["id"]))["promotion"]["group_id"]
    for p in people[1:]:
        await paid_order(shop, p, sku, c["id"], gid)
    await shop.advance(601)
    await shop.run_due()
    page = await group(shop, gid)
    assert page["status"] == "succeeded" and page["completed_by_shop"] is True and page["shop_paid_slots"] == 2
    assert len(page["members"]) == 3
    listed = await shop.client.get("/api/v1/console/groupbuy/groups", headers=shop.staff,
                                   params={"completed_by_shop": True})
    assert [g["id"] for g in listed.json()["items"]] == [gid]
    # Below the threshold the group fails as usual.
    gid2 = (await paid_order(shop, await shop.login("lonely"), sku, c["id"]))["promotion"]["group_id"]
    await shop.advance(601)
    await shop.run_due()
    assert (await group(shop, gid2))["status"] == "failed"
    await check_invariants(shop)


async def test_new_customers_only_lets_anyone_open_but_only_new_customers_join(shop: ShopHarness) -> None:
    sku, c = await setup(shop, group_size=3, new_customers_only=True)
    plain = await shop.sku(stock=10)
    veteran, newbie = await shop.login("veteran"), await shop.login("newbie")
    bought = await shop.place(veteran, [{"sku_id": plain, "quantity": 1}])
    await shop.pay(bought)
    await shop.ship_and_receive(veteran, bought["order_no"])  # no longer a new customer
    gid = (await paid_order(shop, await shop.login("leader"), sku, c["id"]))["promotion"]["group_id"]
    await _refused(shop, veteran, sku, c["id"], gid, 409, "new_customers_only")
    await paid_order(shop, newbie, sku, c["id"], gid)
    assert (await order(shop, veteran, sku, c["id"]))["promotion"]["role"] == "leader"


async def test_the_per_customer_limit_counts_units_and_gives_them_back_when_a_group_fails(shop: ShopHarness) -> None:
    sku, c = await setup(shop, group_size=2, per_customer_limit=2, duration_seconds=600)
    buyer = await shop.login("buyer")
    await _refused(shop, buyer, sku, c["id"], None, 409, "per_customer_limit_exceeded", quantity=3)
    await paid_order(shop, buyer, sku, c["id"])
    await paid_order(shop, buyer, sku, c["id"])
    await _refused(shop, buyer, sku, c["id"], None, 409, "per_customer_limit_exceeded")
    await shop.advance(601)
    await shop.run_due()  # both groups fail: the units come back
    await paid_order(shop, buyer, sku, c["id"], quantity=2)


async def test_campaign_stock_is_set_aside_from_the_sku_and_given_back_when_closed(shop: ShopHarness) -> None:
    sku, c = await setup(shop, group_size=2, sku_stock=10, stock=2)
    assert await shop.stock(sku) == 8 and c["stock_left"] == 2
    await paid_order(shop, await shop.login("a"), sku, c["id"])
    await paid_order(shop, await shop.login("b"), sku, c["id"])
    await _refused(shop, await shop.login("c"), sku, c["id"], None, 409, "stock_exhausted")
    more = await campaign(shop, sku, stock=5)
    assert await shop.stock(sku) == 3
    r = await shop.client.post(f"{CONSOLE}/campaigns/{more['id']}/close", headers=shop.staff)
    assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["stock_left"] == 0
    assert await shop.stock(sku) == 8
    await _refused(shop, await shop.login("d"), sku, more["id"], None, 409, "campaign_over")
    assert_problem(await shop.client.post(f"{CONSOLE}/campaigns/{more['id']}/close", headers=shop.staff),
                   409, "campaign_over")
    assert_problem(await shop.client.post(f"{CONSOLE}/campaigns", headers=shop.staff, json={
        "sku_id": sku, "group_size": 2, "group_price_fen": 800, "duration_seconds": 600, "stock": 9}),
        409, "sku_stock_insufficient")
    assert await shop.stock(sku) == 8


async def test_group_orders_cannot_be_cash_on_delivery(shop: ShopHarness) -> None:
    sku, c = await setup(shop)
    before = (await shop.count("orders"), await shop.count("groupbuy_groups"))
    await _refused(shop, await shop.login("a"), sku, c["id"], None, 422, "payment_method_not_allowed",
                   payment_method="cod")
    assert (await shop.count("orders"), await shop.count("groupbuy_groups")) == before
    assert await shop.stock(sku) == 100


async def test_a_member_refunded_after_success_stays_in_the_groups_history(shop: ShopHarness) -> None:
    sku, c = await setup(shop, group_size=2)
    a, b = await shop.login("alice"), await shop.login("bob")
    gid = (await paid_order(shop, a, sku, c["id"]))["promotion"]["group_id"]
    joined = await paid_order(shop, b, sku, c["id"], gid)
    r = await shop.client.post(f"{shop.base}/orders/{joined['order_no']}/refund-requests", headers=b,
                               json={"reason": "不想要了"})
    assert r.status_code == 201, r.text
    r = await shop.client.post(f"/api/v1/console/refunds/{r.json()['id']}/approve", headers=shop.staff)
    assert r.status_code == 200, r.text
    await shop.run_due()
    assert (await shop.order(b, joined["order_no"]))["status"] == "refunded"
    page = await group(shop, gid)
    assert page["status"] == "succeeded" and len(page["members"]) == 2
    detail = await console_group(shop, gid)
    assert detail["refunded_members"] == 1
    assert {m["status"] for m in detail["members"]} == {"paid", "refunded"}
    await check_invariants(shop)


_ADDRESS = {"name": "张三", "phone": "13800138000", "province": "广东省", "city": "深圳市", "district": "南山区",
            "detail": "科技园科苑路 1 号"}


def _promo(campaign_id: int, group_id: int | None) -> dict[str, Any]:
    return promotion(campaign_id, group_id)


async def _refused(shop: ShopHarness, buyer: dict[str, str], sku: int, campaign_id: int, group_id: int | None,
                   status: int, code: str, *, quantity: int = 1, **body: Any) -> dict[str, Any]:
    r = await shop.client.post(f"{shop.base}/orders", headers=buyer, json={
        "lines": [{"sku_id": sku, "quantity": quantity}], "address": _ADDRESS,
        "promotion": promotion(campaign_id, group_id), **body})
    return assert_problem(r, status, code)


# Group buying's own statements (other modules react to the same order events with theirs).
# Joining: the campaign, the group check, the seat's guarded UPDATE, the customer's units, the member = 5.
MAX_GROUPBUY_STATEMENTS_JOIN = 5
# The last seat's payment: the group locked, the seat and the count, the group closed, its members read,
# their holds lifted = 5.
MAX_GROUPBUY_STATEMENTS_LAST_PAYMENT = 5


def _groupbuy(statements: list[str]) -> list[str]:
    return [s for s in statements if "groupbuy_" in s or "fulfilment_hold = NULL" in s]


async def test_joining_and_filling_a_group_cost_a_bounded_number_of_statements(shop: ShopHarness,
                                                                               count_statements: Any) -> None:
    sku, c = await setup(shop, group_size=2)
    gid = (await paid_order(shop, await shop.login("a"), sku, c["id"]))["promotion"]["group_id"]
    joiner = await shop.login("b")
    with count_statements() as counter:
        joined = await order(shop, joiner, sku, c["id"], gid)
    mine = _groupbuy(counter.statements)
    print(f"\njoining a group: {len(mine)} group-buy statements of {counter.count}")
    assert len(mine) <= MAX_GROUPBUY_STATEMENTS_JOIN, "\n".join(mine)
    assert sum(s.startswith("UPDATE groupbuy_groups SET slots_taken = slots_taken + 1") for s in mine) == 1
    with count_statements() as counter:
        await shop.pay(joined)
    mine = _groupbuy(counter.statements)
    print(f"paying the last seat: {len(mine)} group-buy statements of {counter.count}")
    assert len(mine) <= MAX_GROUPBUY_STATEMENTS_LAST_PAYMENT, "\n".join(mine)
    assert (await group(shop, gid))["status"] == "succeeded"
