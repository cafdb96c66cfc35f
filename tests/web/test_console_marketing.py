"""The merchant console's marketing pages in a real browser: campaigns of every kind created through the
forms and listed with their live status, bad campaigns refused with the API's problem, distribution settings,
promoter approval, withdrawal approval, ad campaigns and moderation.

Data the journey is not about (products, customers, a promoter's earnings) is set up through the API.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Page, expect

from tests.conftest import ShopHarness
from tests.web.conftest import ContextFactory, login_staff

CONSOLE = "/api/v1/console"


_JS_ERRORS: dict[Page, list[str]] = {}


def js_errors(page: Page) -> list[str]:
    """Uncaught errors of the page's scripts (API refusals are answers, not errors, and are not counted)."""
    return _JS_ERRORS.setdefault(page, [])


async def console_page(web_shop: ShopHarness, new_context: ContextFactory, path: str) -> Page:
    context = await new_context(phone=False)
    page: Page = await login_staff(context, web_shop.owner["email"], web_shop.owner["password"])
    page.on("pageerror", lambda exc: js_errors(page).append(str(exc)))
    await page.goto(path)
    return page


async def api_items(web_shop: ShopHarness, path: str) -> list[dict[str, Any]]:
    r = await web_shop.client.get(f"{CONSOLE}/{path}", headers=web_shop.staff)
    assert r.status_code == 200, r.text
    body = r.json()
    return list(body["items"] if isinstance(body, dict) else body)


async def fill_form(page: Page, form: str, values: dict[str, str]) -> None:
    for name, value in values.items():
        await page.locator(f'{form} [name="{name}"]').fill(value)


async def pick_sku(page: Page, title: str, sku_id: int) -> None:
    """The product picker: search the catalog, choose the SKU."""
    await page.locator("#campaign-form").get_by_test_id("sku-picker").click()
    await page.get_by_test_id("sku-search").fill(title)
    await page.get_by_test_id("sku-search").press("Enter")
    await page.get_by_test_id(f"sku-pick-{sku_id}").click()
    await expect(page.locator('#campaign-form [name="sku_id"]')).to_have_value(str(sku_id))


async def save(page: Page) -> None:
    await page.get_by_test_id("campaign-save").click()
    await expect(page.locator("#campaign-dialog")).not_to_be_visible()


def row(page: Page, campaign_id: int) -> Any:
    return page.locator(f'[data-testid="campaign-row"][data-id="{campaign_id}"]')


async def test_group_buy_created_through_the_form_is_listed_running(web_shop: ShopHarness,
                                                                      new_context: ContextFactory) -> None:
    sku = await web_shop.sku(price_fen=9900, stock=50, title="双人拼团水杯")
    page = await console_page(web_shop, new_context, "/console/campaigns")
    await expect(page.get_by_test_id("tab-groupbuy")).to_have_class(re.compile("active"))
    await page.get_by_test_id("campaign-new").click()
    await pick_sku(page, "双人拼团水杯", sku)
    await fill_form(page, "#campaign-form", {"title": "两人成团", "group_size": "2", "group_price_fen": "59.90",
                                             "stock": "10"})
    await save(page)
    (made,) = await api_items(web_shop, "groupbuy/campaigns")
    assert (made["group_price_fen"], made["group_size"], made["stock"], made["title"]) == (5990, 2, 10, "两人成团")
    line = row(page, made["id"])
    await expect(line.get_by_test_id("campaign-status")).to_have_attribute("data-status", "active")
    await expect(line).to_contain_text("¥59.90")
    assert js_errors(page) == []


async def open_kind(page: Page, kind: str) -> None:
    if await page.locator("#campaign-dialog").is_visible():
        await page.locator("#campaign-dialog [data-action=close]").click()
    await page.get_by_test_id(f"tab-{kind}").click()
    await page.wait_for_url(re.compile(rf"/console/campaigns/{kind}$"))
    await expect(page.get_by_test_id(f"tab-{kind}")).to_have_class(re.compile("active"))


async def test_every_kind_is_created_through_its_form_and_listed_with_its_live_status(
        web_shop: ShopHarness, new_context: ContextFactory) -> None:
    sku = await web_shop.sku(price_fen=9900, stock=100, title="砍价秒杀保温杯")
    page = await console_page(web_shop, new_context, "/console/campaigns")

    await open_kind(page, "bargain")
    await page.get_by_test_id("campaign-new").click()
    await pick_sku(page, "保温杯", sku)
    await fill_form(page, "#campaign-form", {"title": "砍到 9.9", "start_price_fen": "99", "floor_price_fen": "9.90",
                                             "helpers_needed": "3"})
    await save(page)
    (bargain,) = await api_items(web_shop, "bargain/campaigns")
    assert (bargain["start_price_fen"], bargain["floor_price_fen"], bargain["helpers_needed"]) == (9900, 990, 3)
    await expect(row(page, bargain["id"]).get_by_test_id("campaign-status")).to_have_attribute("data-status", "active")

    await open_kind(page, "flashsale")
    await page.get_by_test_id("campaign-new").click()
    await page.locator('#campaign-form [name="sku_id"]').fill(str(sku))  # typing the SKU id works too
    await fill_form(page, "#campaign-form", {"price_fen": "49.5", "stock": "20", "per_customer_limit": "2",
                                             "starts_at": "2031-05-01T10:00", "ends_at": "2031-05-01T12:00"})
    await save(page)
    (slot,) = await api_items(web_shop, "flashsale/campaigns")
    assert (slot["price_fen"], slot["stock"], slot["per_customer_limit"], slot["state"]) == (4950, 20, 2, "upcoming")
    line = row(page, slot["id"])
    await expect(line.get_by_test_id("campaign-status")).to_have_attribute("data-status", "upcoming")
    await expect(line.locator('[data-counter="remaining"]')).to_have_text("20")

    await open_kind(page, "coupons")
    await page.get_by_test_id("campaign-new").click()
    await fill_form(page, "#campaign-form", {"name": "满100减20", "amount_fen": "20", "threshold_fen": "100",
                                             "total_quantity": "500", "valid_days": "14"})
    await page.get_by_test_id("coupon-kind").select_option("threshold")
    await save(page)
    (coupon,) = await api_items(web_shop, "coupons/templates")
    assert (coupon["kind"], coupon["amount_fen"], coupon["threshold_fen"], coupon["total_quantity"]) == \
        ("threshold", 2000, 10000, 500)
    await expect(row(page, coupon["id"]).get_by_test_id("campaign-status")).to_have_attribute("data-status", "active")

    await open_kind(page, "redpackets")
    await page.get_by_test_id("campaign-new").click()
    await fill_form(page, "#campaign-form", {"name": "下单分红包", "total_fen": "10", "parts": "5",
                                             "min_order_fen": "50"})
    await save(page)
    (offer,) = await api_items(web_shop, "coupons/red-packet-offers")
    assert (offer["total_fen"], offer["parts"], offer["min_order_fen"], offer["enabled"]) == (1000, 5, 5000, True)
    line = row(page, offer["id"])
    await expect(line.get_by_test_id("campaign-status")).to_have_attribute("data-status", "enabled")
    await line.get_by_test_id("campaign-pause").click()
    await expect(line.get_by_test_id("campaign-status")).to_have_attribute("data-status", "paused")

    # The live counters follow what customers do, without reloading the page.
    buyer = await web_shop.login("买家")
    await web_shop.pay(await web_shop.place(buyer, [{"sku_id": sku, "quantity": 1}]))  # paused: no packet
    r = await web_shop.client.patch(f"{CONSOLE}/coupons/red-packet-offers/{offer['id']}", headers=web_shop.staff,
                                    json={"enabled": True})
    assert r.status_code == 200, r.text
    await web_shop.pay(await web_shop.place(buyer, [{"sku_id": sku, "quantity": 1}]))
    await expect(line.get_by_test_id("campaign-status")).to_have_attribute("data-status", "enabled", timeout=20_000)
    await expect(line.locator('[data-counter="packets"]')).to_have_text("1", timeout=20_000)
    assert js_errors(page) == []


async def test_campaigns_are_changed_and_closed_from_the_list(web_shop: ShopHarness,
                                                              new_context: ContextFactory) -> None:
    sku = await web_shop.sku(price_fen=5000, stock=30)
    r = await web_shop.client.post(f"{CONSOLE}/groupbuy/campaigns", headers=web_shop.staff, json={
        "sku_id": sku, "group_size": 3, "group_price_fen": 3900, "duration_seconds": 3600, "stock": 5})
    assert r.status_code == 201, r.text
    campaign = r.json()
    page = await console_page(web_shop, new_context, "/console/campaigns/groupbuy")
    line = row(page, campaign["id"])
    await line.get_by_test_id("campaign-edit").click()
    await fill_form(page, "#campaign-edit-form", {"title": "三人团", "add_stock": "5"})
    await page.get_by_test_id("campaign-edit-save").click()
    await expect(line).to_contain_text("三人团")
    await expect(line).to_contain_text("10 / 10")
    assert await web_shop.stock(sku) == 20

    await line.get_by_test_id("campaign-edit").click()
    await fill_form(page, "#campaign-edit-form", {"add_stock": "-11"})
    await page.get_by_test_id("campaign-edit-save").click()
    error = page.locator("#campaign-edit-form .lb-error")
    await expect(error).to_be_visible()
    await expect(error).to_have_attribute("data-code", "stock_would_go_negative")
    await page.locator("#edit-dialog [data-action=close]").click()

    await line.get_by_test_id("campaign-end").click()
    await page.get_by_test_id("confirm-ok").click()
    await expect(line.get_by_test_id("campaign-status")).to_have_attribute("data-status", "closed")
    assert await web_shop.stock(sku) == 30  # the unsold units went back to the SKU
    assert js_errors(page) == []


async def test_bad_campaigns_show_the_api_problem_and_create_nothing(web_shop: ShopHarness,
                                                                     new_context: ContextFactory) -> None:
    sku = await web_shop.sku(price_fen=9900, stock=100)
    page = await console_page(web_shop, new_context, "/console/campaigns/groupbuy")
    error = page.locator("#campaign-form .lb-error")

    async def refused(values: dict[str, str], code: str) -> None:
        await fill_form(page, "#campaign-form", values)
        await page.get_by_test_id("campaign-save").click()
        await expect(error).to_be_visible()
        await expect(error).to_have_attribute("data-code", code)
        await expect(page.locator("#campaign-dialog")).to_be_visible()

    await page.get_by_test_id("campaign-new").click()
    await refused({"sku_id": str(sku), "group_size": "1", "group_price_fen": "50"}, "validation_error")
    await expect(page.locator('#campaign-form [name="group_size"]')).to_have_class(re.compile("lb-invalid"))
    await refused({"group_size": "2", "group_price_fen": "120"}, "group_price_above_list_price")

    await open_kind(page, "bargain")
    await page.get_by_test_id("campaign-new").click()
    await refused({"sku_id": str(sku), "start_price_fen": "50", "floor_price_fen": "60"}, "floor_not_below_start")

    await open_kind(page, "flashsale")
    await page.get_by_test_id("campaign-new").click()
    await refused({"sku_id": str(sku), "price_fen": "10", "stock": "5", "starts_at": "2031-05-02T10:00",
                   "ends_at": "2031-05-01T10:00"}, "invalid_window")

    await open_kind(page, "coupons")
    await page.get_by_test_id("campaign-new").click()
    await page.get_by_test_id("coupon-kind").select_option("threshold")
    await refused({"name": "满减", "amount_fen": "10", "total_quantity": "10"}, "threshold_required")

    await open_kind(page, "redpackets")
    await page.get_by_test_id("campaign-new").click()
    await refused({"total_fen": "0.03", "parts": "5"}, "total_below_minimum")

    for path in ("groupbuy/campaigns", "bargain/campaigns", "flashsale/campaigns", "coupons/templates",
                 "coupons/red-packet-offers"):
        assert await api_items(web_shop, path) == [], path
    assert await web_shop.stock(sku) == 100
    assert js_errors(page) == []


# --- distribution, promoters, withdrawals ---------------------------------------------------------------------

async def test_distribution_settings_are_saved_and_read_back(web_shop: ShopHarness,
                                                             new_context: ContextFactory) -> None:
    page = await console_page(web_shop, new_context, "/console/distribution")
    form = "#distribution-form"
    await expect(page.locator(f'{form} [name="level_rates_bps.0"]')).to_have_value("10")  # the defaults, loaded
    await page.locator(f'{form} [name="enabled"]').check()
    await page.get_by_test_id("levels").select_option("2")
    await fill_form(page, form, {"level_rates_bps.0": "12.5", "level_rates_bps.1": "3", "settle_after_days": "10",
                                 "withdrawal_min_fen": "5", "withdrawal_fee_bps": "0.6", "binding_days": "15"})
    await page.get_by_test_id("qualification").select_option("apply")
    await page.get_by_test_id("binding-policy").select_option("validity_days")
    await page.get_by_test_id("distribution-save").click()
    await expect(page.get_by_test_id("distribution-saved")).to_be_visible()
    r = await web_shop.client.get(f"{CONSOLE}/distribution/settings", headers=web_shop.staff)
    saved = r.json()
    assert saved["enabled"] is True and saved["level_rates_bps"] == [1250, 300]
    assert (saved["settle_after_days"], saved["withdrawal_min_fen"], saved["withdrawal_fee_bps"]) == (10, 500, 60)
    assert (saved["promoter_qualification"], saved["binding_policy"], saved["binding_days"]) == \
        ("apply", "validity_days", 15)

    await page.reload()  # read back from the API
    await expect(page.locator(f'{form} [name="level_rates_bps.0"]')).to_have_value("12.5")
    await expect(page.locator(f'{form} [name="withdrawal_fee_bps"]')).to_have_value("0.6")
    await expect(page.get_by_test_id("binding-policy")).to_have_value("validity_days")

    # The API's problems are shown, and nothing changes.
    await fill_form(page, form, {"level_rates_bps.0": "120"})
    await page.get_by_test_id("distribution-save").click()
    error = page.locator(f"{form} .lb-error")
    await expect(error).to_be_visible()
    await expect(error).to_have_attribute("data-code", "invalid_distribution_settings")
    r = await web_shop.client.get(f"{CONSOLE}/distribution/settings", headers=web_shop.staff)
    assert r.json()["level_rates_bps"] == [1250, 300]
    assert js_errors(page) == []


async def test_a_promoter_application_is_approved(web_shop: ShopHarness, new_context: ContextFactory) -> None:
    r = await web_shop.client.put(f"{CONSOLE}/distribution/settings", headers=web_shop.staff,
                                  json={"enabled": True, "promoter_qualification": "apply"})
    assert r.status_code == 200, r.text
    for name in ("小红", "小明"):
        r = await web_shop.client.post(f"{web_shop.base}/promoter/apply", headers=await web_shop.login(name))
        assert r.status_code == 200 and r.json()["status"] == "pending"
    page = await console_page(web_shop, new_context, "/console/promoters")
    rows = page.get_by_test_id("promoter-row")
    await expect(rows).to_have_count(2)
    applicant = rows.filter(has_text="小红")
    await applicant.get_by_test_id("promoter-approve").click()
    await expect(rows).to_have_count(1)  # the applied tab: only 小明 waits now
    await page.get_by_test_id("filter-active").click()
    await expect(rows.filter(has_text="小红").get_by_test_id("promoter-status")).to_have_attribute(
        "data-status", "active")
    r = await web_shop.client.get(f"{web_shop.base}/promoter/me", headers=await web_shop.login("小红"))
    assert r.json()["status"] == "active"

    await page.get_by_test_id("filter-pending").click()
    await rows.filter(has_text="小明").get_by_test_id("promoter-reject").click()
    await page.get_by_test_id("confirm-ok").click()
    await expect(rows).to_have_count(0)
    r = await web_shop.client.get(f"{web_shop.base}/promoter/me", headers=await web_shop.login("小明"))
    assert r.json()["status"] == "rejected"
    assert js_errors(page) == []


async def test_a_withdrawal_is_approved_and_its_transfer_starts(web_shop: ShopHarness,
                                                                new_context: ContextFactory) -> None:
    from tests.api.distribution_helpers import enable
    from tests.api.test_distribution import earn

    await enable(web_shop, levels=1, level_rates_bps=[1000], withdrawal_min_fen=100, withdrawal_auto_approve_fen=0,
                 withdrawal_fee_bps=100)
    await earn(web_shop, await web_shop.login("推广达人"), 5000)
    promoter = await web_shop.login("推广达人")
    ids = []
    for amount in (1000, 2000):
        r = await web_shop.client.post(f"{web_shop.base}/promoter/withdrawals", json={"amount_fen": amount},
                                       headers=promoter)
        assert r.status_code == 201 and r.json()["state"] == "pending_review", r.text
        ids.append(r.json()["id"])
    page = await console_page(web_shop, new_context, "/console/withdrawals")
    first = page.locator(f'[data-testid="withdrawal-row"][data-id="{ids[0]}"]')
    await expect(first).to_contain_text("推广达人")
    await expect(first).to_contain_text("¥10.00")
    await first.get_by_test_id("withdrawal-approve").click()
    await page.get_by_test_id("confirm-ok").click()
    await expect(first).to_have_count(0)  # no longer waiting

    second = page.locator(f'[data-testid="withdrawal-row"][data-id="{ids[1]}"]')
    await second.get_by_test_id("withdrawal-reject").click()
    await page.get_by_test_id("reject-save").click()  # no reason: the API refuses
    await expect(page.locator("#reject-form .lb-error")).to_have_attribute("data-code", "validation_error")
    await page.get_by_test_id("reject-reason").fill("信息不完整")
    await page.get_by_test_id("reject-save").click()
    await expect(second).to_have_count(0)

    await page.get_by_test_id("filter-all").click()
    approved = page.locator(f'[data-testid="withdrawal-row"][data-id="{ids[0]}"]')
    await expect(approved.get_by_test_id("withdrawal-state")).to_have_attribute("data-status", "transferring")
    await expect(approved.get_by_test_id("transfer-state")).to_be_visible()
    r = await web_shop.client.get(f"{web_shop.base}/promoter/withdrawals/{ids[0]}", headers=promoter)
    assert r.json()["state"] == "transferring" and r.json()["out_bill_no"]
    r = await web_shop.client.get(f"{web_shop.base}/promoter/withdrawals/{ids[1]}", headers=promoter)
    assert (r.json()["state"], r.json()["reject_reason"]) == ("rejected", "信息不完整")
    assert js_errors(page) == []


# --- moderation and ads --------------------------------------------------------------------------------------

async def test_a_post_hidden_in_moderation_leaves_the_storefront_feed(web_shop: ShopHarness,
                                                                     new_context: ContextFactory) -> None:
    from tests.api.community_helpers import promoter, write_post

    author = await promoter(web_shop, "种草达人")
    spam = await write_post(web_shop, author, title="加微信领红包", body="广告内容")
    fine = await write_post(web_shop, author, title="真实测评", body="好用")
    for name in ("举报甲", "举报乙"):
        r = await web_shop.client.post(f"{web_shop.base}/posts/{spam['id']}/reports",
                                       headers=await web_shop.login(name), json={"reason": "广告"})
        assert r.status_code == 201, r.text
    r = await web_shop.client.post(f"{web_shop.base}/posts/{fine['id']}/comments",
                                   headers=await web_shop.login("路人"), json={"body": "不文明评论"})
    comment_id = r.json()["id"]

    page = await console_page(web_shop, new_context, "/console/moderation")
    reported = page.locator(f'[data-testid="post-row"][data-id="{spam["id"]}"]')
    await expect(reported.get_by_test_id("post-status")).to_have_attribute("data-status", "review")
    await expect(page.get_by_test_id("post-row")).to_have_count(1)  # only the reported post waits
    await reported.get_by_test_id("post-hide").click()
    await page.get_by_test_id("confirm-ok").click()
    await expect(page.get_by_test_id("post-row")).to_have_count(0)
    feed = (await web_shop.client.get(f"{web_shop.base}/posts")).json()
    assert [p["id"] for p in feed["items"]] == [fine["id"]]

    await page.get_by_test_id("filter-comments").click()
    line = page.locator(f'[data-testid="comment-row"][data-id="{comment_id}"]')
    await line.get_by_test_id("comment-hide").click()
    await expect(line.get_by_test_id("comment-status")).to_have_attribute("data-status", "hidden")
    assert (await web_shop.client.get(f"{web_shop.base}/posts/{fine['id']}/comments")).json() == []

    await page.get_by_test_id("filter-hidden").click()
    hidden = page.locator(f'[data-testid="post-row"][data-id="{spam["id"]}"]')
    await hidden.get_by_test_id("post-approve").click()  # shown again: it was fine after all
    await expect(hidden).to_have_count(0)
    feed = (await web_shop.client.get(f"{web_shop.base}/posts")).json()
    assert {p["id"] for p in feed["items"]} == {fine["id"], spam["id"]}
    assert js_errors(page) == []


async def test_an_ad_campaign_is_created_spend_recorded_and_reported(web_shop: ShopHarness,
                                                                      new_context: ContextFactory) -> None:
    page = await console_page(web_shop, new_context, "/console/ads")
    await page.get_by_test_id("ad-new").click()
    await fill_form(page, "#ad-form", {"name": "朋友圈双十一", "budget_fen": "3000"})
    await page.get_by_test_id("ad-channel").select_option("moments_ad")
    await page.get_by_test_id("ad-save").click()
    await expect(page.get_by_test_id("codes-dialog")).to_be_visible()  # its first landing code
    await expect(page.get_by_test_id("ad-code")).to_have_count(1)
    url = await page.get_by_test_id("ad-code-url").input_value()
    await page.locator("#codes-dialog [data-action=close]").click()
    (made,) = await api_items(web_shop, "campaigns")
    assert (made["name"], made["channel"], made["budget_fen"]) == ("朋友圈双十一", "moments_ad", 300000)

    # A visitor arrives through the code: the report counts the visit.
    code = url.rstrip("/").rsplit("/", 1)[-1]
    r = await web_shop.client.post(f"{web_shop.base}/visits", json={"share_code": code},
                                   headers=await web_shop.login("广告访客"))
    assert r.status_code in (200, 201), r.text

    line = page.locator(f'[data-testid="ad-row"][data-id="{made["id"]}"]')
    await line.get_by_test_id("ad-spend").click()
    await fill_form(page, "#spend-form", {"amount_fen": "250.5"})
    await page.get_by_test_id("spend-save").click()
    await expect(page.locator("#spend-list")).to_contain_text("¥250.50")
    await page.locator("#spend-dialog [data-action=close]").click()
    await expect(line).to_contain_text("¥250.50")
    await page.reload()
    await expect(line.locator("td").nth(4)).to_have_text("1")  # visits, from the campaign report

    await line.get_by_test_id("ad-spend").click()
    await fill_form(page, "#spend-form", {"date": "2001-01-01", "amount_fen": "1"})
    await page.get_by_test_id("spend-save").click()
    await expect(page.locator("#spend-form .lb-error")).to_have_attribute("data-code", "invalid_spend_date")
    assert js_errors(page) == []
