"""The console's marketing endpoints added for the merchant console pages (issue 10): live counters in the
campaign lists, changing bargain campaigns, flash-sale slots, coupon templates and red-packet offers, the
promoter and withdrawal review lists, and the moderation queue (keep a reported post, the comments list).

Every bad input answers a problem with a stable code and changes nothing; another shop's ids answer 404.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from liebian.kit.clock import clock
from tests.api import bargain_helpers as bh
from tests.api import coupon_helpers as ch
from tests.api import flashsale_helpers as fh
from tests.api import groupbuy_helpers as gh
from tests.api.community_helpers import promoter, shop_post, write_post
from tests.api.distribution_helpers import enable, whoami
from tests.api.test_distribution import earn
from tests.conftest import ShopHarness, assert_problem


def later(seconds: float) -> str:
    return (clock.now() + timedelta(seconds=seconds)).isoformat()


# --- group buying: the list's live counters ----------------------------------------------------------------

async def test_groupbuy_console_list_carries_live_group_counters(shop: ShopHarness) -> None:
    sku, campaign = await gh.setup(shop, group_size=3)
    idle = await gh.campaign(shop, sku)
    await gh.paid_order(shop, await shop.login("团长"), sku, campaign["id"])
    r = await shop.client.get(f"{gh.CONSOLE}/campaigns", headers=shop.staff)
    assert r.status_code == 200, r.text
    by_id = {c["id"]: c for c in r.json()["items"]}
    assert r.json()["total"] == 2
    assert by_id[campaign["id"]]["stats"]["open"] == 1 and by_id[campaign["id"]]["stats"]["members_paid"] == 1
    assert by_id[idle["id"]]["stats"] == {"groups": 0, "pending": 0, "open": 0, "succeeded": 0, "failed": 0,
                                          "completed_by_shop": 0, "members_paid": 0, "members_refunded": 0}
    assert by_id[campaign["id"]]["status"] == "active"


# --- bargain: PATCH and the live list -----------------------------------------------------------------------

async def test_bargain_campaign_changes_what_may_change(shop: ShopHarness, other_shop: ShopHarness) -> None:
    sku, campaign = await bh.setup(shop, sku_stock=20, stock=5)
    url = f"{bh.CONSOLE}/campaigns/{campaign['id']}"
    r = await shop.client.patch(url, headers=shop.staff, json={
        "title": "砍到 1 元", "ends_at": later(7200), "initiations_per_customer": 2, "helps_per_helper_per_day": 3,
        "buy_anytime": True, "add_stock": 3})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert (changed["title"], changed["initiations_per_customer"], changed["helps_per_helper_per_day"]) == \
        ("砍到 1 元", 2, 3)
    assert changed["buy_anytime"] is True and (changed["stock"], changed["stock_left"]) == (8, 8)
    assert await shop.stock(sku) == 12
    r = await shop.client.patch(url, headers=shop.staff, json={"helps_per_helper_per_day": None, "add_stock": -8})
    assert r.status_code == 200 and r.json()["helps_per_helper_per_day"] is None and r.json()["stock_left"] == 0
    assert await shop.stock(sku) == 20

    # Prices never change; bad values change nothing.
    before = await shop.rows("SELECT title, ends_at, stock_left FROM bargain_campaigns WHERE id = :c",
                             c=campaign["id"])
    for body, status, code in (
        ({"start_price_fen": 900}, 422, "validation_error"),
        ({"ends_at": later(-60)}, 422, "invalid_window"),
        ({"title": None}, 422, "invalid_field"),
        ({"initiations_per_customer": 0}, 422, "validation_error"),
        ({"add_stock": -1}, 409, "stock_would_go_negative"),
    ):
        assert_problem(await shop.client.patch(url, headers=shop.staff, json=body), status, code)
    assert await shop.rows("SELECT title, ends_at, stock_left FROM bargain_campaigns WHERE id = :c",
                           c=campaign["id"]) == before
    _, shared_stock = await bh.setup(shop)
    assert_problem(await shop.client.patch(f"{bh.CONSOLE}/campaigns/{shared_stock['id']}", headers=shop.staff,
                                           json={"add_stock": 1}), 409, "campaign_has_no_own_stock")
    assert_problem(await other_shop.client.patch(url, headers=other_shop.staff, json={"title": "x"}),
                   404, "campaign_not_found")
    r = await shop.client.post(f"{url}/close", headers=shop.staff)
    assert r.status_code == 200, r.text
    assert_problem(await shop.client.patch(url, headers=shop.staff, json={"title": "again"}), 409, "campaign_over")


async def test_bargain_console_list_carries_live_counters(shop: ShopHarness) -> None:
    _, campaign = await bh.setup(shop)
    bargain = await bh.start(shop, await shop.login("发起人"), campaign["id"])
    await bh.helped(shop, await shop.login("好友"), bargain["id"], headers=bh.device("friend-1"))
    r = await shop.client.get(f"{bh.CONSOLE}/campaigns", headers=shop.staff)
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert item["stats"] == {"bargains": 1, "active": 1, "complete": 0, "ordered": 0, "expired": 0, "helps": 1}


# --- flash sale: PATCH --------------------------------------------------------------------------------------

async def test_flashsale_slot_changes_before_it_starts_and_only_title_and_end_after(
        shop: ShopHarness, other_shop: ShopHarness) -> None:
    sku, upcoming = await fh.setup(shop, price_fen=1000, start_in=3600, stock=10)
    url = f"{fh.CONSOLE}/campaigns/{upcoming['id']}"
    r = await shop.client.patch(url, headers=shop.staff, json={
        "title": "午间秒杀", "price_fen": 600, "per_customer_limit": 2, "starts_at": later(1800)})
    assert r.status_code == 200, r.text
    assert (r.json()["title"], r.json()["price_fen"], r.json()["per_customer_limit"], r.json()["state"]) == \
        ("午间秒杀", 600, 2, "upcoming")
    before = await shop.rows("SELECT price_fen, per_customer_limit, starts_at, ends_at FROM flashsale_campaigns "
                             "WHERE id = :c", c=upcoming["id"])
    for body, status, code in (
        ({"price_fen": 1000}, 422, "flashsale_price_not_below_list_price"),
        ({"per_customer_limit": 11}, 422, "limit_above_stock"),
        ({"ends_at": later(60)}, 422, "invalid_window"),
        ({"price_fen": None}, 422, "invalid_field"),
        ({"stock": 20}, 422, "validation_error"),
    ):
        assert_problem(await shop.client.patch(url, headers=shop.staff, json=body), status, code)
    assert await shop.rows("SELECT price_fen, per_customer_limit, starts_at, ends_at FROM flashsale_campaigns "
                           "WHERE id = :c", c=upcoming["id"]) == before
    assert_problem(await other_shop.client.patch(url, headers=other_shop.staff, json={"title": "x"}),
                   404, "flashsale_not_found")

    running = await fh.campaign(shop, sku, start_in=-60, length=600)
    run_url = f"{fh.CONSOLE}/campaigns/{running['id']}"
    assert_problem(await shop.client.patch(run_url, headers=shop.staff, json={"price_fen": 400}),
                   409, "flashsale_started")
    r = await shop.client.patch(run_url, headers=shop.staff, json={"title": "加时", "ends_at": later(900)})
    assert r.status_code == 200 and r.json()["title"] == "加时" and r.json()["state"] == "running"
    # Two slots of one SKU never overlap.
    assert_problem(await shop.client.patch(url, headers=shop.staff, json={"starts_at": later(300)}),
                   409, "flashsale_slot_overlaps")
    assert (await shop.client.post(f"{run_url}/end", headers=shop.staff)).status_code == 200
    assert_problem(await shop.client.patch(run_url, headers=shop.staff, json={"title": "y"}), 409, "flashsale_ended")


# --- coupons: template PATCH, used counts ----------------------------------------------------------------

async def test_coupon_template_changes_and_used_count(shop: ShopHarness, other_shop: ShopHarness) -> None:
    template = await ch.template(shop, name="立减10元", total_quantity=5, per_customer_limit=1)
    buyer = await shop.login("用券人")
    coupon = await ch.claim(shop, buyer, template["id"])
    await ch.paid_order(shop, buyer, await shop.sku(price_fen=5000), coupon_id=coupon["id"])
    await ch.claim(shop, await shop.login("另一位"), template["id"])
    url = f"{ch.CONSOLE}/templates/{template['id']}"
    r = await shop.client.patch(url, headers=shop.staff, json={"name": "立减十元", "total_quantity": 50,
                                                               "per_customer_limit": 2})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["total_quantity"], r.json()["remaining"]) == ("立减十元", 50, 48)
    listed = await shop.client.get(f"{ch.CONSOLE}/templates", headers=shop.staff)
    (item,) = listed.json()["items"]
    assert (item["issued"], item["used"]) == (2, 1)

    before = await shop.rows("SELECT name, total_quantity, per_customer_limit FROM coupon_templates WHERE id = :t",
                             t=template["id"])
    for body, status, code in (
        ({"total_quantity": 1}, 422, "total_below_issued"),
        ({"valid_to": later(86_400)}, 422, "invalid_validity"),
        ({"name": None}, 422, "invalid_field"),
        ({"kind": "percent"}, 422, "validation_error"),
    ):
        assert_problem(await shop.client.patch(url, headers=shop.staff, json=body), status, code)
    assert await shop.rows("SELECT name, total_quantity, per_customer_limit FROM coupon_templates WHERE id = :t",
                           t=template["id"]) == before
    dated = await ch.template(shop, valid_days=None, valid_to=later(86_400))
    r = await shop.client.patch(f"{ch.CONSOLE}/templates/{dated['id']}", headers=shop.staff,
                                json={"valid_to": later(3 * 86_400)})
    assert r.status_code == 200, r.text
    assert_problem(await shop.client.patch(f"{ch.CONSOLE}/templates/{dated['id']}", headers=shop.staff,
                                           json={"valid_to": later(-60)}), 422, "invalid_validity")
    assert_problem(await other_shop.client.patch(url, headers=other_shop.staff, json={"name": "x"}),
                   404, "coupon_template_not_found")
    assert (await shop.client.post(f"{url}/disable", headers=shop.staff)).status_code == 200
    assert_problem(await shop.client.patch(url, headers=shop.staff, json={"name": "y"}), 409,
                   "coupon_template_disabled")


# --- red packets: offer PATCH and what each offer granted ---------------------------------------------------

async def test_red_packet_offer_changes_and_counters(shop: ShopHarness, other_shop: ShopHarness) -> None:
    buyer = await shop.login("买家")
    packet = await ch.granted_packet(shop, buyer, total_fen=1000, parts=4, min_part_fen=100)
    got = await ch.claim_packet(shop, await shop.login("好友甲"), packet["code"], device="device-friend-a")
    r = await shop.client.get(f"{ch.CONSOLE}/red-packet-offers", headers=shop.staff)
    assert r.status_code == 200, r.text
    (offer,) = r.json()
    assert (offer["packets"], offer["granted_fen"], offer["parts_total"], offer["parts_claimed"]) == (1, 1000, 4, 1)
    assert offer["claimed_fen"] == got["amount_fen"]
    url = f"{ch.CONSOLE}/red-packet-offers/{offer['id']}"
    r = await shop.client.patch(url, headers=shop.staff, json={"name": "下单分红包", "total_fen": 2000, "parts": 8,
                                                               "claim_hours": 48})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["total_fen"], r.json()["parts"], r.json()["enabled"]) == \
        ("下单分红包", 2000, 8, True)
    r = await shop.client.patch(url, headers=shop.staff, json={"enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False
    before = await shop.rows("SELECT total_fen, parts, min_part_fen FROM coupon_red_packet_offers WHERE id = :o",
                             o=offer["id"])
    for body, status, code in (
        ({"parts": 30}, 422, "total_below_minimum"),
        ({"parts": None}, 422, "invalid_field"),
        ({"parts": 0}, 422, "validation_error"),
        ({"code": "x"}, 422, "validation_error"),
    ):
        assert_problem(await shop.client.patch(url, headers=shop.staff, json=body), status, code)
    assert await shop.rows("SELECT total_fen, parts, min_part_fen FROM coupon_red_packet_offers WHERE id = :o",
                           o=offer["id"]) == before
    assert_problem(await other_shop.client.patch(url, headers=other_shop.staff, json={"enabled": True}),
                   404, "red_packet_offer_not_found")
    assert (await other_shop.client.get(f"{ch.CONSOLE}/red-packet-offers", headers=other_shop.staff)).json() == []
    # The packet already granted keeps its own terms.
    assert (await ch.packet(shop, packet["code"]))["parts"] == 4


# --- distribution: the promoter and withdrawal review lists ---------------------------------------------------

async def test_promoter_list_has_names_team_money_and_a_total(shop: ShopHarness, other_shop: ShopHarness) -> None:
    await enable(shop, promoter_qualification="apply")
    applicant = await shop.login("申请人")
    r = await shop.client.post(f"{shop.base}/promoter/apply", headers=applicant)
    assert r.status_code == 200 and r.json()["status"] == "pending"
    url = "/api/v1/console/distribution/promoters"
    r = await shop.client.get(url, headers=shop.staff, params={"status": "pending"})
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert r.json()["total"] == 1 and item["nickname"] == "申请人" and item["team_size"] == 0
    assert (item["pending_fen"], item["settled_fen"], item["withdrawable_fen"], item["level_name"]) == (0, 0, 0, "普通")
    pid = item["customer_id"]
    assert (await other_shop.client.get(url, headers=other_shop.staff)).json()["items"] == []
    assert (await shop.client.post(f"{url}/{pid}/approve", headers=shop.staff)).json()["status"] == "active"
    await earn(shop, await shop.login("申请人"), 300)
    r = await shop.client.get(url, headers=shop.staff, params={"status": "active"})
    (item,) = r.json()["items"]
    assert (item["team_direct"], item["team_size"], item["settled_fen"], item["withdrawable_fen"]) == (1, 1, 300, 300)
    assert (await shop.client.get(url, headers=shop.staff, params={"status": "pending"})).json()["total"] == 0
    assert_problem(await shop.client.get(url, headers=shop.staff, params={"status": "applied"}), 422,
                   "validation_error")


async def test_withdrawal_list_puts_waiting_ones_first_with_the_transfer_state(shop: ShopHarness) -> None:
    await enable(shop, levels=1, level_rates_bps=[1000], withdrawal_min_fen=100, withdrawal_auto_approve_fen=0)
    p = await shop.login("提现人")
    await earn(shop, p, 3000)
    p = await shop.login("提现人")
    ids = []
    for amount in (500, 600, 700):
        r = await shop.client.post(f"{shop.base}/promoter/withdrawals", json={"amount_fen": amount}, headers=p)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    url = "/api/v1/console/distribution/withdrawals"
    r = await shop.client.post(f"{url}/{ids[1]}/approve", headers=shop.staff)
    assert r.status_code == 200 and r.json()["state"] == "transferring"
    listed = (await shop.client.get(url, headers=shop.staff)).json()
    assert listed["total"] == 3
    assert [w["id"] for w in listed["items"]] == [ids[0], ids[2], ids[1]]  # waiting first, oldest first
    assert listed["items"][0]["nickname"] == "提现人" and listed["items"][0]["transfer_state"] is None
    assert listed["items"][2]["transfer_state"] in ("requested", "wait_user_confirm", "processing")
    waiting = (await shop.client.get(url, headers=shop.staff, params={"state": "pending_review"})).json()
    assert waiting["total"] == 2
    assert_problem(await shop.client.post(f"{url}/{ids[1]}/approve", headers=shop.staff), 409, "withdrawal_decided")
    assert whoami(shop, p) == listed["items"][0]["customer_id"]


# --- moderation: keep a reported post, the comments list --------------------------------------------------

async def _report(shop: ShopHarness, post_id: int, name: str) -> None:
    r = await shop.client.post(f"{shop.base}/posts/{post_id}/reports", headers=await shop.login(name),
                               json={"reason": "广告"})
    assert r.status_code == 201, r.text


async def test_reported_posts_wait_for_review_until_kept_or_hidden(shop: ShopHarness,
                                                                  other_shop: ShopHarness) -> None:
    author = await promoter(shop, "作者")
    kept = await write_post(shop, author, title="保留")
    hidden = await write_post(shop, author, title="隐藏")
    quiet = await shop_post(shop, title="无人举报")
    for post in (kept, hidden):
        await _report(shop, post["id"], "举报人甲")
    await _report(shop, kept["id"], "举报人乙")
    url = "/api/v1/console/posts"
    queue = (await shop.client.get(url, headers=shop.staff, params={"awaiting_review": "true"})).json()
    assert [p["id"] for p in queue["items"]] == [kept["id"], hidden["id"]] and queue["total"] == 2
    assert all(p["awaiting_review"] for p in queue["items"])

    r = await shop.client.post(f"{url}/{kept['id']}/approve", headers=shop.staff)
    assert r.status_code == 200, r.text
    assert (r.json()["reports_reviewed"], r.json()["awaiting_review"], r.json()["hidden"]) == (2, False, False)
    assert (await shop.client.post(f"{url}/{hidden['id']}/hide", headers=shop.staff)).json()["hidden"] is True
    queue = (await shop.client.get(url, headers=shop.staff, params={"awaiting_review": "true"})).json()
    assert queue["items"] == []
    feed = (await shop.client.get(f"{shop.base}/posts")).json()
    assert {p["id"] for p in feed["items"]} == {kept["id"], quiet["id"]}

    # A new report puts a kept post back in the queue; keeping a hidden post shows it again.
    await _report(shop, kept["id"], "举报人丙")
    queue = (await shop.client.get(url, headers=shop.staff, params={"awaiting_review": "true"})).json()
    assert [p["id"] for p in queue["items"]] == [kept["id"]]
    r = await shop.client.post(f"{url}/{hidden['id']}/approve", headers=shop.staff)
    assert r.json()["hidden"] is False
    assert_problem(await other_shop.client.post(f"{url}/{kept['id']}/approve", headers=other_shop.staff),
                   404, "post_not_found")
    assert_problem(await shop.client.post(f"{url}/999999999/approve", headers=shop.staff), 404, "post_not_found")


async def test_console_comment_list_and_hiding(shop: ShopHarness, other_shop: ShopHarness) -> None:
    post = await shop_post(shop, title="新品")
    ids: list[int] = []
    for i, name in enumerate(("评论甲", "评论乙", "评论丙")):
        r = await shop.client.post(f"{shop.base}/posts/{post['id']}/comments", headers=await shop.login(name),
                                   json={"body": f"第{i + 1}条"})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    url = "/api/v1/console/comments"
    r = await shop.client.get(url, headers=shop.staff, params={"limit": 2})
    assert r.status_code == 200, r.text
    page: dict[str, Any] = r.json()
    assert page["total"] == 3 and [c["id"] for c in page["items"]] == [ids[2], ids[1]]
    assert page["items"][0]["nickname"] == "评论丙" and page["items"][0]["post_title"] == "新品"
    assert (await shop.client.post(f"{url}/{ids[0]}/hide", headers=shop.staff)).json()["hidden"] is True
    hidden = (await shop.client.get(url, headers=shop.staff, params={"hidden": "true"})).json()
    assert [c["id"] for c in hidden["items"]] == [ids[0]]
    visible = (await shop.client.get(f"{shop.base}/posts/{post['id']}/comments")).json()
    assert [c["id"] for c in visible] == [ids[1], ids[2]]
    assert (await other_shop.client.get(url, headers=other_shop.staff)).json()["total"] == 0
    assert_problem(await shop.client.get(url, headers=shop.staff, params={"post_id": 0}), 422, "validation_error")
