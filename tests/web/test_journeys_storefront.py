"""The storefront's fission journeys in headless Chromium, each customer in a browser profile of their own:

1. a leader opens a group from the product page, pays, shares the group; friends open the link, log in with
   the picker, join and pay until the group is full; both the leader's and a friend's page show it succeeded;
2. three friends open a bargain's share link and help; the price reaches the floor exactly and the owner buys;
3. a promoter shares a product from the promoter centre; the invitee opens the link, logs in, buys and pays;
   the promoter centre shows the pending commission the API reports.

Campaigns and distribution are set up through the console API (what the merchant's console does); what the
journey is about is driven through the pages. A failing journey leaves screenshots (the new_context fixture).
"""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Page, expect

from tests.api import bargain_helpers, groupbuy_helpers
from tests.api.distribution_helpers import enable
from tests.conftest import ShopHarness
from tests.web.conftest import ContextFactory, login_customer

ADDRESS = {"name": "王小二", "phone": "13900139000", "province": "浙江省", "city": "杭州市", "district": "西湖区",
           "detail": "文三路 90 号"}


async def pay_at_checkout(page: Page) -> None:
    """Fill the address if it is empty, place the order with WeChat Pay and pay in the sandbox dialog."""
    await page.wait_for_url(re.compile(r"/checkout\?"))
    form = page.locator("#address-form")
    await expect(form).to_have_attribute("data-ready", "1")
    for name, value in ADDRESS.items():
        field = form.locator(f"[name={name}]")
        if not await field.input_value():
            await field.fill(value)
    await page.get_by_test_id("pay-wechat").check()
    await page.get_by_test_id("place-order").click()
    await expect(page.get_by_test_id("sandbox-pay-dialog")).to_be_visible()
    await page.get_by_test_id("sandbox-pay").click()


async def share_link(page: Page, button: str) -> str:
    """Open the share panel with ``button`` and read the link it offers."""
    await page.get_by_test_id(button).click()
    panel = page.get_by_test_id("share-panel")
    await expect(panel).to_be_visible()
    link = page.get_by_test_id("share-link")
    await expect(link).to_have_value(re.compile(r"/r/[A-Za-z0-9]+$"))
    value = await link.input_value()
    await page.keyboard.press("Escape")  # a modal <dialog> closes on Escape
    await expect(panel).to_be_hidden()
    return value


async def log_in_with_picker(page: Page, name: str) -> None:
    await page.wait_for_url(re.compile(r"/login\?next="))
    await page.get_by_test_id("persona-name").fill(name)
    await page.get_by_test_id("login-submit").click()


async def api_json(shop: ShopHarness, path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    r = await shop.client.get(f"{shop.base}/{path}", headers=headers or {})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_a_leader_opens_a_group_and_friends_join_through_the_share_link_until_it_succeeds(
        web_shop: ShopHarness, new_context: ContextFactory) -> None:
    shop = web_shop
    product = await shop.product(title="拼团蜂蜜", price_fen=3900, stock=50)
    sku = product["skus"][0]["id"]
    campaign = await groupbuy_helpers.campaign(shop, sku, group_size=3, group_price_fen=2900,
                                               duration_seconds=24 * 3600)

    leader_context = await new_context()
    leader = await login_customer(leader_context, shop.slug, "团长阿明")
    await leader.goto(f"/s/{shop.slug}/p/{product['id']}")
    await leader.get_by_test_id("groupbuy-open").click()
    await pay_at_checkout(leader)
    await leader.wait_for_url(re.compile(rf"/s/{shop.slug}/g/\d+$"))
    group_id = int(leader.url.rsplit("/", 1)[1])
    status = leader.get_by_test_id("group-status")
    await expect(status).to_have_attribute("data-status", "open")
    await expect(leader.get_by_test_id("group-members").locator(".sf-avatar.leader")).to_have_count(1)
    await expect(leader.get_by_test_id("group-slot")).to_have_count(2)
    await expect(leader.get_by_test_id("group-join")).to_be_hidden()  # the leader is in already
    assert await leader.get_by_test_id("group-price").get_attribute("data-fen") == "2900"
    link = await share_link(leader, "group-invite")

    friend_pages = []
    for n, name in enumerate(["好友小红", "好友阿强"], start=1):
        context = await new_context()
        friend = await context.new_page()
        await friend.goto(link)  # the landing records the visit and opens the group with ?share=
        await friend.wait_for_url(re.compile(rf"/s/{shop.slug}/g/{group_id}\?share="))
        await expect(friend.get_by_test_id("group-status")).to_have_attribute("data-status", "open")
        await friend.get_by_test_id("group-join").click()  # signed out: the login picker, then back here
        await log_in_with_picker(friend, name)
        await friend.wait_for_url(re.compile(rf"/s/{shop.slug}/g/{group_id}\?share="))
        await friend.get_by_test_id("group-join").click()
        await pay_at_checkout(friend)
        await friend.wait_for_url(re.compile(rf"/s/{shop.slug}/g/{group_id}$"))
        await expect(friend.get_by_test_id("group-members").locator(".sf-avatar:not(.empty)")).to_have_count(n + 1)
        friend_pages.append(friend)

    # The last friend filled it: their page and the leader's (which polls) both say so.
    await expect(friend_pages[-1].get_by_test_id("group-status")).to_have_attribute("data-status", "succeeded")
    await expect(status).to_have_attribute("data-status", "succeeded", timeout=20_000)
    await expect(friend_pages[0].get_by_test_id("group-status")).to_have_attribute("data-status", "succeeded",
                                                                                    timeout=20_000)
    page = await api_json(shop, f"groupbuy/groups/{group_id}")
    assert page["status"] == "succeeded" and len(page["members"]) == 3 and page["campaign_id"] == campaign["id"]

    # A latecomer sees why they cannot join, and where to open a new group instead.
    late_context = await new_context()
    late = await login_customer(late_context, shop.slug, "迟到的人")
    await late.goto(f"/s/{shop.slug}/g/{group_id}")
    await expect(late.get_by_test_id("group-message")).to_be_visible()
    await expect(late.get_by_test_id("group-join")).to_be_hidden()
    await expect(late.get_by_test_id("group-open-new")).to_be_visible()


async def test_three_friends_help_a_bargain_to_the_floor_and_the_owner_buys_it(
        web_shop: ShopHarness, new_context: ContextFactory) -> None:
    shop = web_shop
    product = await shop.product(title="砍价台灯", price_fen=9900, stock=20)
    sku = product["skus"][0]["id"]
    campaign = await bargain_helpers.campaign(shop, sku, start_price_fen=9900, floor_price_fen=1990,
                                              helpers_needed=3, duration_seconds=24 * 3600)

    owner_context = await new_context()
    owner = await login_customer(owner_context, shop.slug, "砍价发起人")
    await owner.goto(f"/s/{shop.slug}/p/{product['id']}")
    await owner.get_by_test_id("bargain-start").click()
    await owner.wait_for_url(re.compile(rf"/s/{shop.slug}/b/\d+"))
    found = re.search(r"/b/(\d+)", owner.url)
    assert found is not None
    bargain_id = int(found.group(1))
    price = owner.get_by_test_id("bargain-price")
    await expect(price).to_have_attribute("data-fen", re.compile(r"^\d+$"))
    assert int(await price.get_attribute("data-fen") or 0) < 9900  # the opening cut
    await expect(owner.get_by_test_id("bargain-buy")).to_be_hidden()  # not at the floor yet
    link = await share_link(owner, "bargain-invite")

    cuts = []
    for name in ["帮砍一号", "帮砍二号", "帮砍三号"]:
        context = await new_context()
        friend = await context.new_page()
        await friend.goto(link)
        await friend.wait_for_url(re.compile(rf"/s/{shop.slug}/b/{bargain_id}\?share="))
        await friend.get_by_test_id("bargain-help").click()  # signed out: log in, come back, the cut is made
        await log_in_with_picker(friend, name)
        cut = friend.get_by_test_id("bargain-cut")
        await expect(cut).to_be_visible()
        cuts.append(int(await cut.get_attribute("data-fen") or 0))
        await expect(friend.get_by_test_id("bargain-help")).to_be_hidden()
        assert "help=1" not in friend.url

    api = await api_json(shop, f"bargains/{bargain_id}")
    assert api["status"] == "complete" and api["current_price_fen"] == campaign["floor_price_fen"]
    assert [h["cut_fen"] for h in api["helps"][1:]] == cuts
    await expect(price).to_have_attribute("data-fen", str(campaign["floor_price_fen"]), timeout=20_000)
    await expect(owner.get_by_test_id("bargain-status")).to_have_attribute("data-status", "complete")
    await owner.get_by_test_id("bargain-buy").click()
    await pay_at_checkout(owner)
    await owner.wait_for_url(re.compile(rf"/s/{shop.slug}/orders/[A-Za-z0-9]+$"))
    await expect(owner.get_by_test_id("order-status")).to_have_attribute("data-status", "paid")
    order_no = owner.url.rsplit("/", 1)[1]
    assert (await shop.scalar("SELECT payable_fen FROM orders WHERE shop_id = :shop AND order_no = :no",
                              no=order_no)) == campaign["floor_price_fen"]


async def test_a_promoters_invitee_buys_and_the_promoter_centre_shows_the_pending_commission(
        web_shop: ShopHarness, new_context: ContextFactory) -> None:
    shop = web_shop
    await enable(shop, levels=1, level_rates_bps=[1500], promoter_qualification="everyone")
    product = await shop.product(title="推广好物", price_fen=12_800, stock=30)

    promoter_context = await new_context()
    promoter = await login_customer(promoter_context, shop.slug, "推广达人")
    await promoter.goto(f"/s/{shop.slug}/promoter")
    await expect(promoter.get_by_test_id("promoter-status")).to_have_attribute("data-status", "active")
    await expect(promoter.get_by_test_id("balance-pending")).to_have_attribute("data-fen", "0")
    link = await share_link(promoter, f"promote-product-{product['id']}")

    invitee_context = await new_context()
    invitee = await invitee_context.new_page()
    await invitee.goto(link)
    await invitee.wait_for_url(re.compile(rf"/s/{shop.slug}/p/{product['id']}\?share="))
    await expect(invitee.locator("#product")).to_have_attribute("data-ready", "1")
    await invitee.get_by_test_id("buy-now").click()  # checkout needs a session: the picker, then checkout
    await log_in_with_picker(invitee, "被邀请的人")
    await pay_at_checkout(invitee)
    await invitee.wait_for_url(re.compile(rf"/s/{shop.slug}/orders/[A-Za-z0-9]+$"))
    await expect(invitee.get_by_test_id("order-status")).to_have_attribute("data-status", "paid")

    me = await api_json(shop, "promoter/me", await shop.login("推广达人"))
    assert me["pending_fen"] == 12_800 * 1500 // 10_000
    await promoter.reload()
    await expect(promoter.get_by_test_id("balance-pending")).to_have_attribute("data-fen", str(me["pending_fen"]))
    amount = promoter.get_by_test_id("commission-amount")
    await expect(amount).to_have_count(1)
    await expect(amount).to_have_attribute("data-fen", str(me["pending_fen"]))
    await expect(promoter.get_by_test_id("commissions").locator("[data-status=pending]")).to_have_count(1)

    # Nothing is withdrawable yet: the withdraw form shows the API's refusal, not a figure of its own.
    await promoter.get_by_test_id("tab-withdraw").click()
    await promoter.get_by_test_id("withdraw-amount").fill("5")
    await promoter.get_by_test_id("withdraw-submit").click()
    error = promoter.locator("#withdraw-form .lb-error")
    await expect(error).to_be_visible()
    await expect(error).to_have_attribute("data-code", "insufficient_balance")
