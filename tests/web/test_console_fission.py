"""The console's fission views in a real browser: the merchant creates a campaign, customers share and visit
through storefront share links, and the funnel chart shows the new visits; a cascade tree is drawn for a
chosen root; the KOL page shows the Lorenz curve and the Gini; the seeding job runs with progress to the end.

Charts are checked on the data they were drawn from (each chart element's ``data-chart``), never on pixels.
Data the journey is not about (shares made by customers, orders) is set up through the customer API.
"""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.async_api import Page, expect

from tests.api.test_fission import customer_id, share, visit
from tests.api.test_seeding import build
from tests.conftest import ShopHarness
from tests.web.conftest import ContextFactory, login_customer, login_staff

API = "/api/v1/console"


async def console(web_shop: ShopHarness, new_context: ContextFactory, path: str | None = None) -> Page:
    context = await new_context(phone=False)
    page: Page = await login_staff(context, web_shop.owner["email"], web_shop.owner["password"])
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    if path:
        await page.goto(path)
    return page


async def chart(page: Page, testid: str) -> Any:
    """The data a chart was drawn from, once it has been drawn."""
    el = page.get_by_test_id(testid)
    await expect(el).to_have_attribute("data-ready", "1")
    return json.loads(await el.get_attribute("data-chart") or "null")


async def funnel_visits(page: Page) -> int:
    data = await chart(page, "funnel-chart")
    return int(next(s["value"] for s in data["stages"] if s["stage"] == "visits"))


async def test_merchant_creates_a_campaign_then_sees_the_new_visits_in_the_funnel(
        web_shop: ShopHarness, new_context: ContextFactory) -> None:
    product = await web_shop.product(title="裂变测试围巾", price_fen=8800, stock=50)
    sku = product["skus"][0]["id"]
    page = await console(web_shop, new_context, "/console/fission")
    assert await funnel_visits(page) == 0  # nothing yet

    # The merchant creates a group-buy campaign through the console's campaigns page.
    await page.goto("/console/campaigns/groupbuy")
    await page.get_by_test_id("campaign-new").click()
    form = page.locator("#campaign-form")
    await form.locator('[name="sku_id"]').fill(str(sku))
    await form.locator('[name="group_size"]').fill("2")
    await form.locator('[name="group_price_fen"]').fill("66.00")
    await page.get_by_test_id("campaign-save").click()
    await expect(page.get_by_test_id("campaign-row")).to_have_count(1)
    campaigns = (await web_shop.client.get(f"{API}/groupbuy/campaigns", headers=web_shop.staff)).json()
    items = campaigns["items"] if isinstance(campaigns, dict) else campaigns
    assert [c["sku_id"] for c in items] == [sku]

    # A customer shares the product to a group chat; two friends open the link in their browsers.
    alice = await web_shop.login("阿丽")
    link = await share(web_shop, alice, product["id"], channel="group_chat")
    landing = f"/s/{web_shop.slug}/r/{link['code']}"
    bob = await login_customer(await new_context(), web_shop.slug, "阿博")
    await bob.goto(landing)
    await bob.wait_for_url(re.compile(rf"/s/{web_shop.slug}/p/{product['id']}\?share={link['code']}"))
    stranger = await (await new_context()).new_page()
    await stranger.goto(landing)
    await stranger.wait_for_url(re.compile(rf"/p/{product['id']}\?share="))

    # The funnel shows the two new visits, in the group chat channel.
    await page.goto("/console/fission")
    assert await funnel_visits(page) == 2
    data = await chart(page, "funnel-chart")
    assert data["total"] and {s["stage"]: s["value"] for s in data["stages"]}["shares"] == 1
    groups = await chart(page, "funnel-groups-chart")
    assert [(g["key"], g["stage"]["visits"]) for g in groups] == [("group_chat", 2)]
    await expect(page.get_by_test_id("stat-visits")).to_contain_text("2")
    # One channel's funnel alone, through its pill.
    await page.get_by_test_id("funnel-key").nth(1).click()
    data = await chart(page, "funnel-chart")
    assert data["key"] == "group_chat" and not data["total"]
    assert {s["stage"]: s["value"] for s in data["stages"]}["unique_visitors"] == 2
    # K charts and CAC are drawn from the same range.
    k_generations = await chart(page, "k-generations-chart")
    assert [(g["depth"], g["shares"]) for g in k_generations] == [(0, 1)]
    series = await chart(page, "k-series-chart")
    assert sum(p["cascades"] for p in series) == 1
    assert await page.get_by_test_id("cac-table").locator("tr").count() >= 2
    assert page.errors == []  # type: ignore[attr-defined]


async def cascade(web_shop: ShopHarness) -> dict[str, Any]:
    """alice shares; bob and carol re-share hers, dave re-shares bob's: four shares; visits and one order."""
    sku = await web_shop.sku(price_fen=1200)
    product = int(await web_shop.scalar("SELECT product_id FROM skus WHERE id = :id", id=sku))
    people = {n: await web_shop.login(n) for n in ("alice", "bob", "carol", "dave", "erin")}
    root = await share(web_shop, people["alice"], product)
    for name in ("bob", "carol"):
        await visit(web_shop, people[name], root["code"])
    b = await share(web_shop, people["bob"], product, parent=root["code"], channel="moments")
    await share(web_shop, people["carol"], product, parent=root["code"])
    await visit(web_shop, people["dave"], b["code"])
    await share(web_shop, people["dave"], product, parent=b["code"])
    await visit(web_shop, people["erin"], b["code"])
    await web_shop.pay(await web_shop.place(people["erin"], [{"sku_id": sku, "quantity": 1}], share_code=b["code"]))
    root_id = int(await web_shop.scalar("SELECT id FROM fission_shares WHERE code = :c", c=root["code"]))
    return {"root": root_id, "ids": {n: await customer_id(web_shop, p) for n, p in people.items()}}


async def test_a_cascade_tree_is_drawn_for_the_chosen_root(web_shop: ShopHarness,
                                                          new_context: ContextFactory) -> None:
    made = await cascade(web_shop)
    lone = await share(web_shop, await web_shop.login("zoe"), (await web_shop.product())["id"], channel="poster")
    page = await console(web_shop, new_context, "/console/fission/cascades")
    rows = page.get_by_test_id("cascade-row")
    await expect(rows).to_have_count(2)
    await expect(page.get_by_test_id("sum-cascades")).to_contain_text("2")
    first = rows.first
    assert await first.get_attribute("data-root") == str(made["root"])
    await expect(first).to_contain_text("alice")
    await first.get_by_test_id("cascade-pick").click()
    await expect(page.get_by_test_id("tree-size")).to_have_text("4")
    tree = await chart(page, "cascade-tree")
    assert tree["root_share_id"] == made["root"] and tree["size"] == 4 and len(tree["nodes"]) == 4
    assert await page.get_by_test_id("cascade-tree").get_attribute("data-nodes") == "4"
    by_name = {n["nickname"]: n for n in tree["nodes"]}
    assert set(by_name) == {"alice", "bob", "carol", "dave"}
    assert (by_name["bob"]["visits"], by_name["bob"]["orders"]) == (2, 1)
    assert by_name["dave"]["parent_share_id"] == next(n["share_id"] for n in tree["nodes"] if n["nickname"] == "bob")
    # The root stays in the address: a reload draws it again; the channel filter leaves the poster cascade alone.
    assert f"root={made['root']}" in page.url
    await page.get_by_test_id("cascade-channel").select_option("poster")
    await expect(rows).to_have_count(1)
    assert await rows.first.get_attribute("data-root") != str(made["root"])
    await page.reload()
    await expect(page.get_by_test_id("tree-size")).to_have_text("4")
    assert lone["code"] and page.errors == []  # type: ignore[attr-defined]


async def test_kol_page_shows_the_lorenz_curve_and_the_gini(web_shop: ShopHarness,
                                                           new_context: ContextFactory) -> None:
    made = await cascade(web_shop)
    concentration = (await web_shop.client.get(f"{API}/analytics/concentration", headers=web_shop.staff)).json()
    page = await console(web_shop, new_context, "/console/fission/kol")
    lorenz = await chart(page, "lorenz-chart")
    assert lorenz["gini_bps"] == concentration["gini_bps"] is not None
    assert lorenz["lorenz"] == concentration["lorenz"] and lorenz["lorenz"][0] == [0, 0]
    assert lorenz["lorenz"][-1] == [10000, 10000] and lorenz["equality"] == [[0, 0], [10000, 10000]]
    gini = page.get_by_test_id("kol-gini")
    assert await gini.get_attribute("data-gini-bps") == str(concentration["gini_bps"])
    await expect(gini).to_contain_text(f"{concentration['gini_bps'] / 10000:.3f}")
    rows = page.get_by_test_id("kol-row")
    await expect(rows).to_have_count(4)  # alice, bob, carol, dave shared
    await expect(rows.first).to_contain_text("bob")  # his link brought the order
    await expect(rows.first).to_contain_text("¥12.00")
    await page.get_by_test_id("kol-order").select_option("team_gmv")
    await expect(rows.first).to_contain_text("alice")  # the whole tree is her team
    top = await chart(page, "top-chart")
    assert top[-1]["customer_id"] == made["ids"]["alice"] and top[-1]["team_gmv_fen"] == 1200
    assert page.errors == []  # type: ignore[attr-defined]


async def test_the_seeding_job_runs_with_progress_and_lists_k_seeds(web_shop: ShopHarness,
                                                                    new_context: ContextFactory) -> None:
    ids = await build(web_shop)
    page = await console(web_shop, new_context, "/console/fission/seeding")
    await expect(page.get_by_test_id("job-table")).to_contain_text("还没有运行过")
    # Every progress value the bar shows, recorded as it changes.
    await page.evaluate("""() => {
      window.progressSeen = [];
      const bar = document.querySelector('[data-testid=seeding-progress]');
      new MutationObserver(() => window.progressSeen.push(Number(bar.dataset.bps)))
        .observe(bar, { attributes: true, attributeFilter: ['data-bps'] });
    }""")
    await page.get_by_test_id("seeding-k").fill("2")
    await page.get_by_test_id("seeding-start").click()
    await expect(page.get_by_test_id("job-status")).to_have_attribute("data-status", "succeeded", timeout=60_000)
    await expect(page.get_by_test_id("seeding-progress")).to_have_attribute("data-bps", "10000")
    seen = await page.evaluate("window.progressSeen")
    assert seen[0] < 10_000 and seen[-1] == 10_000 and seen == sorted(seen)
    seeds = page.get_by_test_id("seed-row")
    await expect(seeds).to_have_count(2)
    assert [await s.get_attribute("data-customer-id") for s in await seeds.all()] == [str(ids["alice"]),
                                                                                     str(ids["zed"])]
    comparison = await chart(page, "seeding-chart")
    assert comparison["imm"]["expected_reach"] >= comparison["degree"]["expected_reach"] - 1e-9
    assert comparison["pagerank"]["customer_ids"]
    await expect(page.get_by_test_id("job-open")).to_have_count(1)
    # A bad request shows the API's problem in the form.
    await page.get_by_test_id("seeding-k").fill("0")
    await page.get_by_test_id("seeding-start").click()
    error = page.locator("#seeding-form .lb-error")
    await expect(error).to_be_visible()
    assert await error.get_attribute("data-code") == "validation_error"
    # Back on the page later, the last job's answer is shown again.
    await page.reload()
    await expect(page.get_by_test_id("seed-row")).to_have_count(2)
    assert page.errors == []  # type: ignore[attr-defined]


async def test_the_pages_speak_english_and_say_when_there_is_nothing_yet(web_shop: ShopHarness,
                                                                         new_context: ContextFactory) -> None:
    page = await console(web_shop, new_context, "/console/fission")
    await page.get_by_test_id("lang-toggle").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    assert await funnel_visits(page) == 0
    await expect(page.locator("#funnel-chart").locator("xpath=..")).to_contain_text("Nothing in this range yet")
    await expect(page.get_by_test_id("cac-table")).to_contain_text("No channel data in this range")
    await page.goto("/console/fission/cascades")
    await expect(page.get_by_test_id("cascade-table")).to_contain_text("No cascade started in this range")
    await page.goto("/console/fission/kol")
    await expect(page.get_by_test_id("kol-table")).to_contain_text("No sharer in this range yet")
    assert await chart(page, "lorenz-chart") is None
    await page.goto("/console/fission/seeding")
    await page.get_by_test_id("seeding-start").click()
    await expect(page.get_by_test_id("job-status")).to_have_attribute("data-status", "succeeded", timeout=60_000)
    await expect(page.get_by_test_id("seed-table")).to_contain_text("No visit came through a share yet")
    # A backwards range is the API's problem, shown on the page.
    await page.goto("/console/fission/kol?from=2026-02-01&to=2026-01-01")
    error = page.locator("#kol > .lb-error")
    await expect(error).to_be_visible()
    assert await error.get_attribute("data-code") == "invalid_range"
    assert page.errors == []  # type: ignore[attr-defined]
