"""Storefront shop pages in a real browser: search → product → checkout → sandbox payment → order; pickup with
its number; refund requests; share links carrying attribution; problems shown in the form; red packet claims.

Data is set up through the API (as the console would); the journey under test is driven through the pages.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect

from tests.api import bargain_helpers as bargain
from tests.api import coupon_helpers as coupons
from tests.api import flashsale_helpers as flashsale
from tests.api import groupbuy_helpers as gb
from tests.api import store_helpers as stores
from tests.conftest import ADDRESS, ShopHarness
from tests.web.conftest import ContextFactory, login_customer

ORDER_URL = re.compile(r"/orders/(\d+)$")


async def _fill_address(page: Any, address: dict[str, str]) -> None:
    for field in ("name", "phone", "province", "city", "district", "detail"):
        await page.get_by_test_id(f"address-{field}").fill(address[field])


async def _checkout_ready(page: Any) -> None:
    await page.wait_for_url(re.compile(r"/checkout\?"))
    await expect(page.locator("#address-form[data-ready='1']")).to_have_count(1)


async def _order_no(page: Any) -> str:
    await page.wait_for_url(ORDER_URL)
    match = ORDER_URL.search(page.url)
    assert match is not None
    return match.group(1)


async def test_search_product_coupon_checkout_sandbox_pay_and_paid_order(
        web_shop: ShopHarness, new_context: ContextFactory) -> None:
    product = await web_shop.product(title="云南普洱茶 357g", price_fen=5000, stock=20,
                                     description="勐海老树茶\n七子饼")
    await web_shop.product(title="不相关的咖啡", price_fen=3000)
    template = await coupons.template(web_shop, name="新客立减8元", amount_fen=800)
    page = await login_customer(await new_context(), web_shop.slug, "茶客")

    await page.get_by_test_id("search-input").fill("普洱")
    await page.get_by_test_id("search-submit").click()
    await expect(page.get_by_test_id("product-grid")).to_have_attribute("data-query", "普洱")
    card = page.get_by_test_id(f"product-card-{product['id']}")
    await expect(card).to_be_visible()
    await expect(page.locator("[data-testid^=product-card-]")).to_have_count(1)
    await card.click()

    await page.wait_for_url(re.compile(rf"/p/{product['id']}$"))
    await expect(page.get_by_test_id("product-price")).to_have_text("¥50.00")
    claim = page.get_by_test_id(f"coupon-claim-{template['id']}")
    await claim.click()
    await expect(claim).to_have_attribute("data-claimed", "1")
    await page.get_by_test_id("buy-now").click()

    await _checkout_ready(page)
    coupon_id = await web_shop.scalar("SELECT id FROM coupons WHERE shop_id = :shop")
    await expect(page.get_by_test_id("coupon-select")).to_have_value(str(coupon_id))
    await expect(page.get_by_test_id("sum-payable")).to_have_attribute("data-fen", "4200")
    await _fill_address(page, ADDRESS)
    await page.get_by_test_id("place-order").click()
    dialog = page.get_by_test_id("sandbox-pay-dialog")
    await expect(dialog).to_be_visible()
    await dialog.get_by_test_id("sandbox-pay").click()

    order_no = await _order_no(page)
    await expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "paid")
    await expect(page.get_by_test_id("order-payable")).to_have_attribute("data-fen", "4200")
    row = (await web_shop.rows("SELECT status, payable_fen, discount_fen FROM orders WHERE order_no = :no",
                               no=order_no))[0]
    assert row == ("paid", 4200, 800)
    assert await web_shop.scalar("SELECT status FROM coupons WHERE id = :id", id=coupon_id) == "used"
    # The address was kept as the default for the next checkout.
    assert await web_shop.scalar("SELECT detail FROM customer_addresses WHERE shop_id = :shop AND is_default") \
        == ADDRESS["detail"]


async def test_cod_pickup_order_at_a_store_shows_its_pickup_number(
        web_shop: ShopHarness, new_context: ContextFactory) -> None:
    r = await web_shop.client.patch("/api/v1/console/shop/settings", headers=web_shop.staff,
                                    json={"shipping_fee_fen": 600})
    assert r.status_code == 200, r.text
    product = await web_shop.product(title="手冲咖啡", price_fen=2800)
    await stores.store(web_shop, name="堂食店", pickup=False)
    store = await stores.store(web_shop, name="科技园店")
    page = await login_customer(await new_context(), web_shop.slug, "自提客")
    await page.goto(f"/s/{web_shop.slug}/p/{product['id']}")
    await page.get_by_test_id("buy-now").click()

    await _checkout_ready(page)
    await expect(page.get_by_test_id("sum-shipping")).to_have_attribute("data-fen", "600")
    await page.get_by_test_id("fulfilment-pickup").check()
    store_select = page.get_by_test_id("pickup-store")
    await expect(store_select.locator("option")).to_have_count(1)  # only the store that takes pickup orders
    await store_select.select_option(str(store["id"]))
    await expect(page.get_by_test_id("sum-shipping")).to_have_attribute("data-fen", "0")
    await expect(page.get_by_test_id("sum-payable")).to_have_attribute("data-fen", "2800")
    await expect(page.get_by_test_id("address-detail")).to_be_hidden()
    await page.get_by_test_id("address-name").fill("李四")
    await page.get_by_test_id("address-phone").fill("13900139000")
    await page.get_by_test_id("pay-cod").check()
    await page.get_by_test_id("place-order").click()

    order_no = await _order_no(page)
    await expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "pending_payment")
    (store_id, pickup_no, fulfilment, method), = await web_shop.rows(
        "SELECT store_id, pickup_no, fulfilment, payment_method FROM orders WHERE order_no = :no", no=order_no)
    assert (store_id, fulfilment, method) == (store["id"], "pickup", "cod") and pickup_no >= 1
    await expect(page.get_by_test_id("pickup-code")).to_have_text(str(pickup_no))
    await expect(page.locator("[data-role=pickup-store]")).to_contain_text("科技园店")


async def test_refund_request_from_the_order_page_reaches_the_api(
        web_shop: ShopHarness, new_context: ContextFactory) -> None:
    buyer = await web_shop.login("退款客")
    placed = await coupons.paid_order(web_shop, buyer, await web_shop.sku(title="保温杯", price_fen=3000))
    page = await login_customer(await new_context(), web_shop.slug, "退款客")
    await page.goto(f"/s/{web_shop.slug}/orders")
    card = page.locator(f"[data-testid=order-card][data-order='{placed['order_no']}']")
    await expect(card.locator("[data-status]")).to_have_attribute("data-status", "paid")
    await card.click()

    await page.wait_for_url(re.compile(rf"/orders/{placed['order_no']}$"))
    await page.get_by_test_id("order-refund").click()
    form = page.get_by_test_id("refund-form")
    await form.get_by_test_id("refund-amount").fill("100")  # more than was paid: the API says no
    await form.get_by_test_id("refund-reason").fill("杯子有划痕")
    await form.get_by_test_id("refund-submit").click()
    await expect(form.locator(".lb-error")).to_have_attribute("data-code", "refund_amount_too_large")
    await form.get_by_test_id("refund-amount").fill("10.00")
    await form.get_by_test_id("refund-submit").click()

    await expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "refunding")
    await expect(page.get_by_test_id("refund-status")).to_have_attribute("data-status", "pending")
    order = await web_shop.order(buyer, placed["order_no"])
    assert order["status"] == "refunding"
    assert await web_shop.rows("SELECT amount_fen, reason, status FROM refund_requests WHERE shop_id = :shop") \
        == [(1000, "杯子有划痕", "pending")]


async def test_a_share_link_opened_by_a_friend_lands_on_the_product_and_attributes_the_order(
        web_shop: ShopHarness, new_context: ContextFactory) -> None:
    product = await web_shop.product(title="坚果礼盒", price_fen=9900)
    sharer_page = await login_customer(await new_context(), web_shop.slug, "分享达人")
    await sharer_page.goto(f"/s/{web_shop.slug}/p/{product['id']}")
    await sharer_page.get_by_test_id("share").click()
    panel = sharer_page.get_by_test_id("share-panel")
    await expect(panel).to_be_visible()
    link = panel.get_by_test_id("share-link")
    await expect(link).to_have_value(re.compile(rf"^http://.+/s/{web_shop.slug}/r/\w+$"))
    url = await link.input_value()
    code = url.rsplit("/", 1)[1]
    await expect(panel.locator("img[data-role=qr]")).to_have_attribute("src", re.compile(rf"/shares/{code}/qr.png$"))

    friend = await login_customer(await new_context(), web_shop.slug, "好友甲")
    await friend.goto(url)
    await friend.wait_for_url(re.compile(rf"/p/{product['id']}\?share={code}$"))
    await friend.get_by_test_id("buy-now").click()
    await _checkout_ready(friend)
    assert f"share={code}" in friend.url
    await _fill_address(friend, ADDRESS)
    await friend.get_by_test_id("pay-cod").check()
    await friend.get_by_test_id("place-order").click()
    order_no = await _order_no(friend)

    sharer_id = await web_shop.scalar("SELECT id FROM customers WHERE shop_id = :shop AND nickname = '分享达人'")
    assert await web_shop.rows("SELECT share_code FROM orders WHERE order_no = :no", no=order_no) == [(code,)]
    assert await web_shop.rows(
        "SELECT source, sharer_id, channel FROM fission_attributions WHERE order_no = :no", no=order_no) \
        == [("share_code", sharer_id, "friend")]


async def test_bad_phone_shows_the_api_problem_in_the_form_and_orders_nothing(
        web_shop: ShopHarness, new_context: ContextFactory) -> None:
    sku = await web_shop.sku(title="蜂蜜", price_fen=6800, stock=5)
    page = await login_customer(await new_context(), web_shop.slug, "手滑")
    await page.goto(f"/s/{web_shop.slug}/checkout?sku={sku}&qty=1")
    await _checkout_ready(page)
    await _fill_address(page, {**ADDRESS, "phone": "12345"})
    await page.get_by_test_id("place-order").click()

    error = page.get_by_test_id("checkout-error")
    await expect(error).to_be_visible()
    await expect(error).to_have_attribute("data-code", "validation_error")
    await expect(error).to_contain_text("手机号")
    await expect(page.get_by_test_id("address-phone")).to_have_class(re.compile(r"\blb-invalid\b"))
    await expect(page.get_by_test_id("sandbox-pay-dialog")).to_be_hidden()
    assert await web_shop.count("orders") == 0 and await web_shop.stock(sku) == 5
    assert await web_shop.count("customer_addresses") == 0

    await page.get_by_test_id("address-phone").fill(ADDRESS["phone"])  # corrected: a new attempt goes through
    await page.get_by_test_id("place-order").click()
    await expect(page.get_by_test_id("sandbox-pay-dialog")).to_be_visible()
    assert await web_shop.count("orders") == 1


async def test_red_packet_claim_sends_a_visitor_to_log_in_then_gives_a_coupon(
        web_shop: ShopHarness, new_context: ContextFactory) -> None:
    buyer = await web_shop.login("发红包的人")
    granted = await coupons.granted_packet(web_shop, buyer, total_fen=1000, parts=3)
    page = await (await new_context()).new_page()
    await page.goto(f"/s/{web_shop.slug}/rp/{granted['code']}")
    await expect(page.get_by_test_id("redpacket-parts")).to_have_attribute("data-left", "3")
    await page.get_by_test_id("redpacket-claim").click()

    await page.wait_for_url(re.compile(r"/login\?next="))
    await page.get_by_test_id("persona-name").fill("抢红包的人")
    await page.get_by_test_id("login-submit").click()
    await page.wait_for_url(re.compile(rf"/rp/{granted['code']}$"))
    await page.get_by_test_id("redpacket-claim").click()

    result = page.get_by_test_id("redpacket-result")
    await expect(result).to_be_visible()
    amount = int(await result.get_attribute("data-fen") or 0)
    assert amount > 0
    await expect(page.get_by_test_id("redpacket-parts")).to_have_attribute("data-left", "2")
    await expect(page.get_by_test_id("redpacket-claim-row")).to_have_count(1)
    await expect(page.get_by_test_id("redpacket-claim")).to_be_hidden()
    claimer = await web_shop.login("抢红包的人")
    mine = await coupons.mine(web_shop, claimer)
    assert [(c["amount_fen"], c["status"]) for c in mine] == [(amount, "available")]


async def test_product_promotions_lead_to_their_checkout_and_pages(
        web_shop: ShopHarness, new_context: ContextFactory) -> None:
    product = await web_shop.product(title="拼团水果", price_fen=3000, stock=50)
    sku = product["skus"][0]["id"]
    campaign = await gb.campaign(web_shop, sku, group_size=3, group_price_fen=1990)
    haggle = await bargain.campaign(web_shop, sku, start_price_fen=3000, floor_price_fen=990)
    slot = await flashsale.campaign(web_shop, sku, price_fen=990)
    other = await web_shop.login("已开团的人")
    opened = await gb.paid_order(web_shop, other, sku, campaign["id"])
    group_id = opened["promotion"]["group_id"]

    page = await login_customer(await new_context(), web_shop.slug, "参团的人")
    await page.goto(f"/s/{web_shop.slug}/p/{product['id']}")
    await expect(page.get_by_test_id("flashsale-price")).to_have_text("¥9.90")
    await expect(page.get_by_test_id("flashsale-buy")).to_be_enabled()
    await expect(page.get_by_test_id("groupbuy-open")).to_be_visible()
    await page.get_by_test_id(f"groupbuy-join-{group_id}").click()

    await _checkout_ready(page)
    assert f"campaign={campaign['id']}" in page.url and f"group={group_id}" in page.url
    await expect(page.get_by_test_id("checkout-promotion")).to_have_attribute("data-kind", "groupbuy")
    await expect(page.get_by_test_id("sum-payable")).to_have_attribute("data-fen", "1990")
    await expect(page.get_by_test_id("pay-cod")).to_be_disabled()  # a group buy is paid by WeChat only
    await _fill_address(page, ADDRESS)
    await page.get_by_test_id("place-order").click()
    await page.get_by_test_id("sandbox-pay").click()
    await page.wait_for_url(re.compile(rf"/g/{group_id}$"))  # a group-buy order goes to its group
    members = await web_shop.scalar("SELECT count(*) FROM groupbuy_members WHERE group_id = :g AND paid_at IS NOT NULL",
                                    g=group_id)
    assert members == 2

    await page.goto(f"/s/{web_shop.slug}/p/{product['id']}")
    await page.get_by_test_id("flashsale-buy").click()
    await _checkout_ready(page)
    assert f"kind=flashsale&campaign={slot['id']}" in page.url
    await expect(page.get_by_test_id("sum-payable")).to_have_attribute("data-fen", "990")

    await page.goto(f"/s/{web_shop.slug}/p/{product['id']}")
    await page.get_by_test_id("bargain-start").click()
    await page.wait_for_url(re.compile(r"/b/(\d+)$"))
    bargain_id = int(page.url.rsplit("/", 1)[1])
    assert await web_shop.scalar("SELECT campaign_id FROM bargain_bargains WHERE id = :id", id=bargain_id) \
        == haggle["id"]


async def test_nearby_stores_use_the_granted_location_and_a_table_qr_highlights_its_table(
        web_shop: ShopHarness, new_context: ContextFactory) -> None:
    near = await stores.store(web_shop, name="人民广场店")
    lat, lng = stores.offset(*stores.PEOPLES_SQUARE, north_m=3000)
    far = await stores.store(web_shop, name="北边的店", lat=lat, lng=lng, pickup=False)
    r = await web_shop.client.post(f"/api/v1/console/stores/{far['id']}/tables", headers=web_shop.staff,
                                   json={"label": "A8"})
    assert r.status_code == 201, r.text
    table_code = r.json()["share_code"]

    context = await new_context(geolocation={"latitude": stores.PEOPLES_SQUARE[0],
                                             "longitude": stores.PEOPLES_SQUARE[1]}, permissions=["geolocation"])
    page = await context.new_page()
    await page.goto(f"/s/{web_shop.slug}/stores")
    cards = page.locator("[data-testid=store-list] [data-store]")
    await expect(cards).to_have_count(2)
    assert await cards.evaluate_all("els => els.map(e => Number(e.dataset.store))") == [near["id"], far["id"]]
    await expect(page.get_by_test_id(f"store-{near['id']}").get_by_test_id("pickup-badge")).to_be_visible()
    await expect(page.get_by_test_id(f"store-{far['id']}").get_by_test_id("pickup-badge")).to_have_count(0)
    await expect(page.get_by_test_id(f"store-{far['id']}").locator("[data-role=distance]")).to_have_text("3.0 km")

    await page.goto(f"/s/{web_shop.slug}/r/{table_code}")  # what scanning the table's QR code opens
    await page.wait_for_url(re.compile(rf"/stores\?store={far['id']}&table=A8"))
    await expect(page.get_by_test_id("table-banner")).to_contain_text("A8")
    highlighted = page.locator("[data-highlight='1']")
    await expect(highlighted).to_have_attribute("data-store", str(far["id"]))
    await expect(highlighted.get_by_test_id("store-table")).to_contain_text("A8")
