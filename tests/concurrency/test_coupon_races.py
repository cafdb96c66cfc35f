"""Coupons and red packets raced on real PostgreSQL connections: every request holds its own connection and
transaction, as separate API processes would."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from tests.api.coupon_helpers import check_invariants, coupon_for, granted_packet, template
from tests.conftest import ADDRESS, ShopHarness

pytestmark = pytest.mark.concurrency
# At most this many requests in flight: the shared test server allows 100 connections for every helper's tests.
# Forty transactions queued on one row is as much a race as a hundred.
IN_FLIGHT = 40


async def _claim(shop: ShopHarness, customer: dict[str, str], template_id: int,
                 gate: asyncio.Semaphore | None = None) -> tuple[int, dict[str, Any]]:
    async with gate or asyncio.Semaphore(1):
        r = await shop.client.post(f"{shop.base}/coupons/claim", headers=customer, json={"template_id": template_id})
    assert r.status_code in (201, 409), r.text
    return r.status_code, r.json()


async def test_a_hundred_customers_claiming_ten_coupons_get_exactly_ten(shop: ShopHarness) -> None:
    t = await template(shop, total_quantity=10, per_customer_limit=1)
    customers = [await shop.login(f"c{i}") for i in range(100)]
    gate = asyncio.Semaphore(IN_FLIGHT)
    results = await asyncio.gather(*(_claim(shop, c, t["id"], gate) for c in customers))
    assert Counter(status for status, _ in results) == {201: 10, 409: 90}
    assert {body["code"] for status, body in results if status == 409} == {"coupon_exhausted"}
    assert await shop.count("coupons") == 10
    assert await shop.scalar("SELECT issued FROM coupon_templates WHERE id = :t", t=t["id"]) == 10
    await check_invariants(shop)


async def test_one_customer_tapping_twenty_times_at_once_gets_the_limit(shop: ShopHarness) -> None:
    t = await template(shop, total_quantity=100, per_customer_limit=2)
    ann = await shop.login("ann")
    results = await asyncio.gather(*(_claim(shop, ann, t["id"]) for _ in range(20)))
    assert Counter(status for status, _ in results) == {201: 2, 409: 18}
    assert {body["code"] for status, body in results if status == 409} == {"coupon_limit_reached"}
    assert await shop.count("coupons") == 2
    assert await shop.scalar("SELECT issued FROM coupon_templates WHERE id = :t", t=t["id"]) == 2
    await check_invariants(shop)


@pytest.mark.parametrize("racers", [2, 10])
async def test_checkouts_racing_with_one_coupon_make_exactly_one_order(shop: ShopHarness, racers: int) -> None:
    """macrozheng #1003: one coupon, several orders submitted at once; one order, the others 409, and the
    losers' stock is untouched."""
    skus = [await shop.sku(price_fen=3000, stock=50) for _ in range(racers)]
    ann = await shop.login("ann")
    coupon = await coupon_for(shop, ann, amount_fen=1000)

    async def checkout(sku: int) -> tuple[int, dict[str, Any]]:
        r = await shop.client.post(f"{shop.base}/orders", headers=ann, json={
            "lines": [{"sku_id": sku, "quantity": 2}], "address": ADDRESS, "coupon_id": coupon})
        assert r.status_code in (201, 409), r.text
        return r.status_code, r.json()

    results = await asyncio.gather(*(checkout(sku) for sku in skus))
    assert Counter(status for status, _ in results) == {201: 1, 409: racers - 1}
    assert {body["code"] for status, body in results if status == 409} <= {"coupon_already_used"}
    (won,) = [body for status, body in results if status == 201]
    assert won["discount_fen"] == 1000 and won["promotion"]["coupon_id"] == coupon
    assert await shop.count("orders") == 1
    stocks = sorted([await shop.stock(sku) for sku in skus])
    assert stocks == [48] + [50] * (racers - 1)
    assert await shop.scalar("SELECT order_no FROM coupons WHERE id = :c AND status = 'used'", c=coupon) == won[
        "order_no"]
    await check_invariants(shop)


async def test_thirty_friends_claiming_a_five_part_packet_get_five_parts_summing_to_the_total(
        shop: ShopHarness) -> None:
    buyer = await shop.login("buyer")
    granted = await granted_packet(shop, buyer, total_fen=888, parts=5, min_part_fen=10)
    friends = [await shop.login(f"f{i}") for i in range(30)]

    async def grab(friend: dict[str, str], i: int) -> tuple[int, dict[str, Any]]:
        r = await shop.client.post(f"{shop.base}/red-packets/{granted['code']}/claim",
                                   headers={**friend, "X-Device-Id": f"device-{i:04d}"})
        assert r.status_code in (201, 409), r.text
        return r.status_code, r.json()

    results = await asyncio.gather(*(grab(f, i) for i, f in enumerate(friends)))
    won = [body for status, body in results if status == 201]
    assert len(won) == 5 and sum(body["amount_fen"] for body in won) == 888
    assert {body["code"] for status, body in results if status == 409} == {"red_packet_exhausted"}
    assert await shop.count("coupons") == 5
    claimed = await shop.rows("SELECT part_no, customer_id FROM coupon_red_packet_parts WHERE shop_id = :shop")
    assert len({p for p, _ in claimed}) == 5 and len({c for _, c in claimed}) == 5  # never one part twice
    await check_invariants(shop)


async def test_one_friend_double_tapping_a_packet_claims_one_part(shop: ShopHarness) -> None:
    buyer = await shop.login("buyer")
    granted = await granted_packet(shop, buyer, parts=5)
    ann = await shop.login("ann")
    results = await asyncio.gather(*(
        shop.client.post(f"{shop.base}/red-packets/{granted['code']}/claim", headers=ann) for _ in range(10)))
    assert Counter(r.status_code for r in results) == {201: 1, 409: 9}, [r.text for r in results]
    assert {r.json()["code"] for r in results if r.status_code == 409} == {"red_packet_already_claimed"}
    assert await shop.count("coupons") == 1
    await check_invariants(shop)
