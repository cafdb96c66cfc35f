"""What the storefront's fission pages read that the API added for them: the group page's ``viewer`` (one's own
seat, or the refusal a join would meet) and the promoter programme's public terms (``promoter/programme``)."""

from __future__ import annotations

from typing import Any

from tests.api.distribution_helpers import DAY, buy, enable, invite
from tests.api.groupbuy_helpers import CONSOLE, order, paid_order, setup
from tests.conftest import ShopHarness, assert_problem


async def _page(shop: ShopHarness, group_id: int, viewer: dict[str, str] | None = None) -> dict[str, Any]:
    r = await shop.client.get(f"{shop.base}/groupbuy/groups/{group_id}", headers=viewer or {})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_group_page_tells_the_viewer_their_seat_or_why_they_cannot_join(shop: ShopHarness) -> None:
    sku, c = await setup(shop, group_size=2, group_price_fen=800)
    leader, friend, late = await shop.login("团长"), await shop.login("好友"), await shop.login("迟到")
    opened = await order(shop, leader, sku, c["id"])
    gid = opened["promotion"]["group_id"]
    assert (await _page(shop, gid))["viewer"] is None  # anonymous: the page as before

    unpaid = (await _page(shop, gid, leader))["viewer"]
    assert unpaid == {"is_member": True, "is_leader": True, "member_status": "held", "order_no": opened["order_no"],
                      "can_join": False, "refusal": None, "refusal_detail": None}
    await shop.pay(opened)
    assert (await _page(shop, gid, leader))["viewer"]["member_status"] == "paid"
    seen = (await _page(shop, gid, friend))["viewer"]
    assert (seen["is_member"], seen["can_join"], seen["refusal"], seen["order_no"]) == (False, True, None, None)

    joined = await paid_order(shop, friend, sku, c["id"], gid)
    page = await _page(shop, gid, friend)
    assert page["status"] == "succeeded"
    assert page["viewer"]["is_member"] and not page["viewer"]["is_leader"]
    assert page["viewer"]["order_no"] == joined["order_no"]
    refused = (await _page(shop, gid, late))["viewer"]
    assert (refused["can_join"], refused["refusal"]) == (False, "group_closed") and refused["refusal_detail"]


async def test_group_page_viewer_meets_the_same_refusals_as_checkout(shop: ShopHarness,
                                                                     other_shop: ShopHarness) -> None:
    sku, c = await setup(shop, group_size=3, new_customers_only=True)
    plain = await shop.sku(stock=10)
    veteran, newbie, third = await shop.login("老顾客"), await shop.login("新顾客"), await shop.login("第三位")
    bought = await shop.place(veteran, [{"sku_id": plain, "quantity": 1}])
    await shop.pay(bought)
    await shop.ship_and_receive(veteran, bought["order_no"])  # no longer new
    gid = (await paid_order(shop, await shop.login("开团"), sku, c["id"]))["promotion"]["group_id"]
    seen = (await _page(shop, gid, veteran))["viewer"]
    assert (seen["can_join"], seen["refusal"]) == (False, "new_customers_only")
    r = await shop.client.post(f"{shop.base}/orders", headers=veteran, json={
        "lines": [{"sku_id": sku, "quantity": 1}], "address": {"name": "a", "phone": "13800138000", "province": "p",
                                                               "city": "c", "district": "d", "detail": "x"},
        "promotion": {"kind": "groupbuy", "campaign_id": c["id"], "group_id": gid}})
    assert_problem(r, 409, "new_customers_only")  # checkout says the same

    # Every seat taken (one still paying): the page says full, whatever the overflow setting does at checkout.
    await paid_order(shop, newbie, sku, c["id"], gid)
    await order(shop, third, sku, c["id"], gid)
    full = (await _page(shop, gid, await shop.login("又一位")))["viewer"]
    assert (full["can_join"], full["refusal"]) == (False, "group_full")

    r = await shop.client.post(f"{CONSOLE}/campaigns/{c['id']}/close", headers=shop.staff)
    assert r.status_code == 200, r.text
    over = (await _page(shop, gid, await shop.login("活动结束后")))["viewer"]
    assert over["refusal"] == "campaign_over"

    # Another shop's customer is no viewer here, and another shop's group is not found.
    assert (await _page(shop, gid, await other_shop.login("别家顾客")))["viewer"] is None
    assert_problem(await other_shop.client.get(f"{other_shop.base}/groupbuy/groups/{gid}"), 404, "group_not_found")


async def test_promoter_programme_shows_terms_and_what_was_withdrawn_today(shop: ShopHarness,
                                                                          other_shop: ShopHarness) -> None:
    r = await shop.client.get(f"{shop.base}/promoter/programme")
    assert r.status_code == 200, r.text
    assert r.json()["enabled"] is False and r.json()["withdrawn_today_fen"] is None

    await enable(shop, level_rates_bps=[1200, 300], promoter_qualification="threshold",
                 qualification_threshold_fen=5000, withdrawal_min_fen=200, withdrawal_fee_bps=100,
                 withdrawal_daily_limit_fen=90_000, withdrawal_auto_approve_fen=1000, settle_after_days=3)
    promoter = await shop.login("推广员")
    r = await shop.client.get(f"{shop.base}/promoter/programme", headers=promoter)
    assert r.status_code == 200, r.text
    terms = r.json()
    assert {k: terms[k] for k in ("enabled", "promoter_qualification", "qualification_threshold_fen", "levels",
                                  "level_rates_bps", "settle_after_days", "withdrawal_min_fen", "withdrawal_fee_bps",
                                  "withdrawal_daily_limit_fen", "withdrawal_auto_approve_fen",
                                  "withdrawn_today_fen")} == {
        "enabled": True, "promoter_qualification": "threshold", "qualification_threshold_fen": 5000, "levels": 2,
        "level_rates_bps": [1200, 300], "settle_after_days": 3, "withdrawal_min_fen": 200, "withdrawal_fee_bps": 100,
        "withdrawal_daily_limit_fen": 90_000, "withdrawal_auto_approve_fen": 1000, "withdrawn_today_fen": 0}
    assert terms["withdrawal_max_fen"] == 199_999
    assert terms["promoter_levels"] == [{"name": "普通", "min_sales_fen": 0, "multiplier_bps": 10_000}]

    # The other shop's programme is its own (off).
    r = await other_shop.client.get(f"{other_shop.base}/promoter/programme")
    assert r.json()["enabled"] is False
    assert_problem(await shop.client.get("/api/v1/shops/no-such-shop-x/promoter/programme"), 404, "shop_not_found")

    # A withdrawal today counts for its promoter only.
    await enable(shop, promoter_qualification="everyone", settle_after_days=3, level_rates_bps=[1200, 300])
    buyer = await shop.login("买家")
    await invite(shop, promoter, buyer)
    bought = await buy(shop, buyer, [{"sku_id": await shop.sku(price_fen=10_000), "quantity": 1}])
    await shop.ship_and_receive(buyer, bought["order_no"])
    await shop.advance(3 * DAY + 60)
    await shop.run_due()
    promoter, buyer = await shop.login("推广员"), await shop.login("买家")
    r = await shop.client.post(f"{shop.base}/promoter/withdrawals", json={"amount_fen": 300},
                               headers={**promoter, "Idempotency-Key": "programme-test-1"})
    assert r.status_code == 201, r.text
    r = await shop.client.get(f"{shop.base}/promoter/programme", headers=promoter)
    assert r.json()["withdrawn_today_fen"] == 300
    r = await shop.client.get(f"{shop.base}/promoter/programme", headers=buyer)
    assert r.json()["withdrawn_today_fen"] == 0
