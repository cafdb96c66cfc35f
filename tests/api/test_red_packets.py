"""Share red packets through the API: a paid order earns a packet; friends each claim one part, once, as a
coupon; the luckiest is marked; parts expire; per-device and per-day caps; a fission target; bad input."""

from __future__ import annotations

from datetime import UTC, datetime

from liebian.coupons import redpackets
from liebian.events import OrderPaid
from tests.api.coupon_helpers import (
    CONSOLE,
    check_invariants,
    claim_packet,
    granted_packet,
    mine,
    my_packets,
    offer,
    packet,
    paid_order,
)
from tests.conftest import ShopHarness, assert_problem

HOUR = 3600


async def test_a_paid_order_earns_a_packet_that_friends_claim_part_by_part(shop: ShopHarness) -> None:
    buyer = await shop.login("买家小王")
    granted = await granted_packet(shop, buyer, total_fen=1000, parts=5, min_part_fen=50)
    code = granted["code"]
    assert (granted["status"], granted["total_fen"], granted["parts"], granted["parts_claimed"]) == ("open", 1000, 5, 0)
    assert granted["order_no"] and 24 * HOUR - 5 <= granted["seconds_left"] <= 24 * HOUR
    parts = [r[0] for r in await shop.rows("SELECT amount_fen FROM coupon_red_packet_parts WHERE shop_id = :shop "
                                          "ORDER BY part_no")]
    assert len(parts) == 5 and sum(parts) == 1000 and min(parts) >= 50  # split when granted

    friends = [await shop.login(f"朋友{i}") for i in range(5)]
    got = []
    for i, friend in enumerate(friends):
        result = await claim_packet(shop, friend, code, device=f"device-{i:04d}")
        assert result["coupon"]["amount_fen"] == result["amount_fen"] and result["coupon"]["kind"] == "fixed"
        assert result["coupon"]["red_packet_id"] == granted["id"] and result["packet"]["my_amount_fen"] == result[
            "amount_fen"]
        got.append(result["amount_fen"])
        if i < 4:
            assert not any(c["is_luckiest"] for c in result["packet"]["claims"])  # not settled yet
    assert got == parts and sum(got) == 1000
    page = await packet(shop, code)
    assert (page["status"], page["parts_claimed"], page["claimed_fen"]) == ("finished", 5, 1000)
    assert [c["nickname"] for c in page["claims"]] == ["朋**"] * 5
    lucky = [c for c in page["claims"] if c["is_luckiest"]]
    assert len(lucky) == 1 and lucky[0]["amount_fen"] == max(parts)
    assert_problem(await shop.client.post(f"{shop.base}/red-packets/{code}/claim", headers=await shop.login("late")),
                   409, "red_packet_exhausted")
    assert_problem(await shop.client.post(f"{shop.base}/red-packets/{code}/claim", headers=friends[0]),
                   409, "red_packet_already_claimed")

    # The coupon a friend got pays at checkout like any other.
    (coupon,) = await mine(shop, friends[0])
    placed = await shop.place(friends[0], [{"sku_id": await shop.sku(price_fen=5000), "quantity": 1}],
                              coupon_id=coupon["id"])
    assert placed["discount_fen"] == parts[0]
    await check_invariants(shop)


async def test_the_packet_is_granted_once_per_order_and_only_to_qualifying_orders(shop: ShopHarness) -> None:
    buyer = await shop.login("buyer")
    sku = await shop.sku(price_fen=1000)
    await paid_order(shop, buyer, sku)  # no offer yet
    assert await my_packets(shop, buyer) == []
    o = await offer(shop, min_order_fen=2000)
    await paid_order(shop, buyer, sku)  # below the offer's minimum
    assert await my_packets(shop, buyer) == []
    placed = await paid_order(shop, buyer, sku, quantity=2)
    (granted,) = await my_packets(shop, buyer)
    assert granted["order_no"] == placed["order_no"]
    # The reaction delivered twice (a redelivered event) grants nothing more.
    order_id = await shop.scalar("SELECT id FROM orders WHERE order_no = :no", no=placed["order_no"])
    event = OrderPaid(shop_id=shop.shop_id, order_id=order_id, order_no=placed["order_no"],
                      customer_id=await shop.scalar("SELECT customer_id FROM orders WHERE id = :o", o=order_id),
                      payable_fen=2000, paid_at=datetime.now(UTC))
    async with shop.db.unit_of_work() as session:
        await redpackets.on_order_paid(session, event)
    assert await shop.count("coupon_red_packets") == 1 and await shop.count("coupon_red_packet_parts") == 5
    # Turned off: new orders earn nothing; the packet already granted stays claimable.
    r = await shop.client.patch(f"{CONSOLE}/red-packet-offers/{o['id']}", headers=shop.staff, json={"enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False
    await paid_order(shop, buyer, sku, quantity=2)
    assert await shop.count("coupon_red_packets") == 1
    await claim_packet(shop, await shop.login("friend"), granted["code"])
    r = await shop.client.get(f"{CONSOLE}/red-packet-offers", headers=shop.staff)
    assert [i["id"] for i in r.json()] == [o["id"]]


async def test_unclaimed_parts_expire_and_the_luckiest_is_named_at_expiry(shop: ShopHarness) -> None:
    buyer = await shop.login("buyer")
    granted = await granted_packet(shop, buyer, parts=3, total_fen=300, min_part_fen=10, claim_hours=1)
    await claim_packet(shop, await shop.login("ann"), granted["code"])
    await shop.advance(HOUR + 1)
    bob = await shop.login("bob")
    assert_problem(await shop.client.post(f"{shop.base}/red-packets/{granted['code']}/claim", headers=bob),
                   409, "red_packet_expired")
    page = await packet(shop, granted["code"])
    assert (page["status"], page["parts_claimed"], page["seconds_left"]) == ("expired", 1, 0)
    assert page["claims"][0]["is_luckiest"] is True
    assert await shop.count("coupons") == 1


async def test_a_fully_refunded_order_closes_its_packet(shop: ShopHarness) -> None:
    buyer = await shop.login("buyer")
    granted = await granted_packet(shop, buyer)
    await claim_packet(shop, await shop.login("ann"), granted["code"])
    r = await shop.client.post(f"/api/v1/console/orders/{granted['order_no']}/refunds", headers=shop.staff,
                               json={"reason": "退货"})
    assert r.status_code == 201, r.text
    await shop.run_due()
    assert_problem(await shop.client.post(f"{shop.base}/red-packets/{granted['code']}/claim",
                                          headers=await shop.login("bob")), 409, "red_packet_expired")
    assert (await mine(shop, await shop.login("ann")))[0]["status"] == "available"  # what was claimed stays


async def test_per_device_and_per_day_caps(shop: ShopHarness) -> None:
    buyer = await shop.login("buyer")
    granted = await granted_packet(shop, buyer, daily_claims_per_customer=2, daily_claims_per_device=3,
                                   claim_hours=48)
    code = granted["code"]
    alt1, alt2 = await shop.login("alt1"), await shop.login("alt2")
    await claim_packet(shop, alt1, code, device="phone-0001")
    body = await claim_packet(shop, alt2, code, device="phone-0001", expect=409)
    assert body["code"] == "red_packet_device_claimed"
    sku = await shop.sku(price_fen=5000)
    for _ in range(4):
        await paid_order(shop, buyer, sku)
    codes = [p["code"] for p in await my_packets(shop, buyer) if p["code"] != code]
    hunter = await shop.login("hunter")
    await claim_packet(shop, hunter, codes[0], device="phone-0002")
    await claim_packet(shop, hunter, codes[1], device="phone-0002")
    assert_problem(await shop.client.post(f"{shop.base}/red-packets/{codes[2]}/claim", headers=hunter),
                   429, "red_packet_daily_limit")
    # The device's own daily cap (3) holds across accounts too.
    await claim_packet(shop, alt2, codes[2], device="phone-0002")
    body = await claim_packet(shop, await shop.login("alt3"), codes[3], device="phone-0002", expect=429)
    assert body["code"] == "red_packet_device_daily_limit"
    # The next day (Asia/Shanghai) the caps start again.
    await shop.advance(24 * HOUR)
    await claim_packet(shop, await shop.login("hunter"), codes[3], device="phone-0002")
    await check_invariants(shop)


async def test_a_red_packet_is_a_share_target(shop: ShopHarness, other_shop: ShopHarness) -> None:
    buyer = await shop.login("buyer")
    granted = await granted_packet(shop, buyer)
    r = await shop.client.post(f"{shop.base}/shares", headers=buyer,
                               json={"target_type": "red_packet", "target_id": granted["id"], "channel": "group_chat"})
    assert r.status_code == 201, r.text
    assert (r.json()["target_type"], r.json()["target_id"]) == ("red_packet", granted["id"])
    foreign = await other_shop.login("x")
    r = await other_shop.client.post(f"{other_shop.base}/shares", headers=foreign, json={
        "target_type": "red_packet", "target_id": granted["id"], "channel": "friend"})
    assert_problem(r, 404, "target_not_found")


async def test_bad_input_answers_a_problem_and_changes_nothing(shop: ShopHarness, other_shop: ShopHarness) -> None:
    buyer = await shop.login("buyer")
    granted = await granted_packet(shop, buyer)
    code = granted["code"]
    friend = await shop.login("friend")
    stranger = await other_shop.login("friend")
    for path in ("/red-packets/NOPENOPENOPE", "/red-packets/x", "/red-packets/" + code.lower()):
        assert_problem(await shop.client.get(f"{shop.base}{path}"), 404, "red_packet_not_found")
        assert_problem(await shop.client.post(f"{shop.base}{path}/claim", headers=friend), 404, "red_packet_not_found")
    assert_problem(await other_shop.client.get(f"{other_shop.base}/red-packets/{code}"), 404, "red_packet_not_found")
    assert_problem(await other_shop.client.post(f"{other_shop.base}/red-packets/{code}/claim", headers=stranger),
                   404, "red_packet_not_found")
    assert_problem(await shop.client.post(f"{shop.base}/red-packets/{code}/claim"), 401, "not_authenticated")
    r = await shop.client.post(f"{shop.base}/red-packets/{code}/claim", headers={**friend, "X-Device-Id": "bad id!"})
    assert_problem(r, 422, "validation_error")
    assert await shop.count("coupons") == 0 and await shop.count("coupon_daily_claims") == 0
    assert await shop.scalar("SELECT count(*) FROM coupon_red_packet_parts WHERE shop_id = :shop "
                             "AND customer_id IS NOT NULL") == 0
    for fields, code_ in (({"parts": 10, "total_fen": 9, "min_part_fen": 1}, "total_below_minimum"),
                          ({"parts": 0}, "validation_error"), ({"parts": 101}, "validation_error"),
                          ({"claim_hours": 0}, "validation_error"), ({"bogus": 1}, "validation_error")):
        body = await offer(shop, expect=422, **fields)
        assert body["code"] == code_, (fields, body)
    assert await shop.count("coupon_red_packet_offers") == 1
    r = await shop.client.patch(f"{CONSOLE}/red-packet-offers/999999999", headers=shop.staff, json={"enabled": False})
    assert_problem(r, 404, "red_packet_offer_not_found")
