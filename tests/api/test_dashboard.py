"""The console dashboard: today against yesterday and the daily trend, from this shop's data only."""

from __future__ import annotations

from typing import Any

from liebian.analytics.dashboard import change_bps
from liebian.campaigns.rules import local_day
from liebian.kit.clock import clock
from tests.conftest import ShopHarness, assert_problem

URL = "/api/v1/console/dashboard"


async def dashboard(shop: ShopHarness, **params: Any) -> dict[str, Any]:
    r = await shop.client.get(URL, headers=shop.staff, params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def paid_orders(shop: ShopHarness, buyer: dict[str, str], prices: list[int]) -> int:
    total = 0
    for price in prices:
        order = await shop.place(buyer, [{"sku_id": await shop.sku(price_fen=price), "quantity": 2}])
        await shop.pay(order)
        total += order["payable_fen"]
    return total


async def share_visit(shop: ShopHarness, sharer: dict[str, str], *, visitor: dict[str, str] | None = None,
                      device: str | None = None) -> None:
    r = await shop.client.post(f"{shop.base}/shares", headers=sharer,
                               json={"target_type": "shop", "target_id": 0, "channel": "friend"})
    assert r.status_code == 201, r.text
    headers = dict(visitor or {})
    if device:
        headers["X-Device-Id"] = device
    r = await shop.client.post(f"{shop.base}/visits", headers=headers, json={"share_code": r.json()["code"]})
    assert r.status_code == 201, r.text


async def test_today_counts_this_shops_paid_orders_customers_and_visits_only(
        shop: ShopHarness, other_shop: ShopHarness, count_statements: Any) -> None:
    alice, bob = await shop.login("alice"), await shop.login("bob")
    gmv = await paid_orders(shop, alice, [1990, 3500])
    await shop.place(bob, [{"sku_id": await shop.sku(price_fen=999), "quantity": 1}])  # never paid: not GMV
    await share_visit(shop, alice, visitor=bob)
    await share_visit(shop, alice, device="device-dash-0001")
    await share_visit(shop, alice, device="device-dash-0001")  # the same visitor again: a visit, not a visitor
    # Another shop's busy day must not leak in.
    stranger = await other_shop.login("stranger")
    await paid_orders(other_shop, stranger, [88800])
    await share_visit(other_shop, stranger, device="device-dash-0002")

    with count_statements() as counted:
        body = await dashboard(shop)
    assert counted.count <= 3, counted.statements  # the shop, the one dashboard statement (and a clock read)
    assert body["timezone"] == "Asia/Shanghai" and body["today"] == local_day(clock.now()).isoformat()
    days = body["days"]
    assert len(days) == 14 and days[-1]["day"] == body["today"] and days[0]["day"] < days[-1]["day"]
    today = {k: v["today"] for k, v in body["compare"].items()}
    assert today == {"gmv_fen": gmv, "paid_orders": 2, "new_customers": 2, "visits": 3, "visitors": 2}
    assert {k: days[-1][k] for k in today} == today
    assert all(v["yesterday"] == 0 and v["change_bps"] is None for v in body["compare"].values())
    assert all(d["gmv_fen"] == 0 for d in days[:-1])
    assert gmv == (1990 + 3500) * 2 and gmv == await shop.scalar(
        "SELECT sum(payable_fen) FROM orders WHERE shop_id = :shop AND paid_at IS NOT NULL")

    other = await dashboard(other_shop, days=2)
    assert len(other["days"]) == 2
    assert other["compare"]["gmv_fen"]["today"] == 88800 * 2 and other["compare"]["new_customers"]["today"] == 1


async def test_yesterday_moves_with_the_clock_and_the_change_is_in_basis_points(shop: ShopHarness) -> None:
    buyer = await shop.login("buyer")
    gmv = await paid_orders(shop, buyer, [1000])
    await shop.advance(24 * 3600)
    body = await dashboard(shop, days=7)
    assert len(body["days"]) == 7
    gmv_now = body["compare"]["gmv_fen"]
    assert gmv_now == {"today": 0, "yesterday": gmv, "change_bps": -10000}
    assert body["days"][-2]["gmv_fen"] == gmv and body["days"][-2]["paid_orders"] == 1
    buyer = await shop.login("buyer")  # the token from yesterday has expired
    await paid_orders(shop, buyer, [1500])  # today 3000 against yesterday's 2000: +50%
    body = await dashboard(shop, days=7)
    assert body["compare"]["gmv_fen"] == {"today": 3000, "yesterday": 2000, "change_bps": 5000}
    assert body["compare"]["new_customers"] == {"today": 0, "yesterday": 1, "change_bps": -10000}


def test_change_is_rounded_half_up_and_none_without_a_base() -> None:
    assert change_bps(5, 0) is None and change_bps(0, 0) is None
    assert change_bps(2, 3) == -3333 and change_bps(4, 3) == 3333 and change_bps(1, 8) == -8750


async def test_bad_ranges_and_no_session_are_problems(shop: ShopHarness) -> None:
    for days in ("1", "91", "abc", "-3"):
        assert_problem(await shop.client.get(URL, headers=shop.staff, params={"days": days}), 422, "validation_error")
    assert_problem(await shop.client.get(URL), 401, "not_authenticated")
    buyer = await shop.login("not-staff")
    assert_problem(await shop.client.get(URL, headers=buyer), 401, "invalid_token")
