"""Console operations in a real browser: products with SKUs and images, shipping, refunds, the dashboard, stores.

Data a journey is not about (customers' orders and refund requests) is made through the API first; what the
merchant does goes through the pages, and what they did is checked through the API afterwards.
"""

from __future__ import annotations

import io
import re
from typing import Any

from PIL import Image
from playwright.async_api import expect

from tests.conftest import ShopHarness
from tests.web.conftest import ContextFactory, login_staff


def png(color: str = "orange") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "PNG")
    return out.getvalue()


async def merchant(web_shop: ShopHarness, new_context: ContextFactory) -> Any:
    context = await new_context(phone=False)
    page = await login_staff(context, web_shop.owner["email"], web_shop.owner["password"])
    page.on("dialog", lambda dialog: dialog.accept())  # window.confirm: the merchant says yes
    return page


async def console_product(web_shop: ShopHarness, product_id: int) -> dict[str, Any]:
    r = await web_shop.client.get(f"/api/v1/console/products/{product_id}", headers=web_shop.staff)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def paid_order(web_shop: ShopHarness, buyer: dict[str, str], price_fen: int, quantity: int = 1) -> Any:
    order = await web_shop.place(buyer, [{"sku_id": await web_shop.sku(price_fen=price_fen), "quantity": quantity}])
    await web_shop.pay(order)
    return order


async def test_merchant_creates_a_product_with_two_skus_edits_a_price_and_a_bad_form_changes_nothing(
        web_shop: ShopHarness, new_context: ContextFactory) -> None:
    page = await merchant(web_shop, new_context)
    await page.goto("/console/products")
    await page.get_by_test_id("product-new").click()
    await page.wait_for_url("**/console/products/new")
    await page.locator("#product-form[data-ready=true]").wait_for()
    await page.get_by_test_id("product-title").fill("浏览器测试 T恤")
    await page.get_by_test_id("product-category").fill("服装")
    await page.get_by_test_id("product-description").fill("纯棉，宽松版型")
    await page.get_by_test_id("image-upload").set_input_files(
        files=[{"name": "tee.png", "mimeType": "image/png", "buffer": png()}])
    await expect(page.get_by_test_id("image")).to_have_count(1)
    first = page.get_by_test_id("sku-row").nth(0)
    await first.get_by_test_id("sku-spec-key").fill("颜色")
    await first.get_by_test_id("sku-spec-value").fill("白色")
    await first.get_by_test_id("sku-price").fill("59.90")
    await first.get_by_test_id("sku-stock").fill("100")
    await page.get_by_test_id("sku-add").click()
    second = page.get_by_test_id("sku-row").nth(1)
    await expect(second.get_by_test_id("sku-spec-key")).to_have_value("颜色")  # the spec names carry over
    await second.get_by_test_id("sku-spec-value").fill("黑色")
    await second.get_by_test_id("sku-price").fill("69")
    await second.get_by_test_id("sku-stock").fill("50")
    await page.get_by_test_id("product-save").click()
    await page.wait_for_url(re.compile(r"/console/products/\d+\?created=1$"))
    found = re.search(r"/products/(\d+)", page.url)
    assert found
    product_id = int(found.group(1))
    product = await console_product(web_shop, product_id)
    assert [(s["specs"], s["price_fen"], s["stock"]) for s in product["skus"]] == [
        ({"颜色": "白色"}, 5990, 100), ({"颜色": "黑色"}, 6900, 50)]
    assert product["status"] == "published" and len(product["images"]) == 1
    image = await web_shop.client.get(product["images"][0])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"

    await page.goto("/console/products")
    row = page.locator("#products-table tr", has_text="浏览器测试 T恤")
    await expect(row.get_by_test_id("product-price")).to_have_text("¥59.90 – ¥69.00")
    await expect(row.get_by_test_id("product-status")).to_have_attribute("data-status", "published")
    await expect(row.locator("img.ops-thumb")).to_have_count(1)

    # Edit a price.
    await row.get_by_test_id("product-link").click()
    await page.wait_for_url(f"**/console/products/{product_id}")
    await page.locator("#product-form[data-ready=true]").wait_for()
    await expect(page.get_by_test_id("sku-row")).to_have_count(2)
    await page.get_by_test_id("sku-row").nth(0).get_by_test_id("sku-price").fill("49.90")
    await page.get_by_test_id("product-save").click()
    await page.locator("#product-form[data-saved]").wait_for()
    product = await console_product(web_shop, product_id)
    assert sorted(s["price_fen"] for s in product["skus"] if not s["archived"]) == [4990, 6900]

    # A bad form: the API's problem shows, the field is marked, and nothing changes.
    await page.get_by_test_id("product-title").fill("不该被保存的标题")
    bad_price = page.get_by_test_id("sku-row").nth(1).get_by_test_id("sku-price")
    await bad_price.fill("六十九")
    await page.get_by_test_id("product-save").click()
    error = page.get_by_test_id("form-error")
    await expect(error).to_be_visible()
    await expect(error).to_have_attribute("data-code", "validation_error")
    await expect(bad_price).to_have_class(re.compile("lb-invalid"))
    await bad_price.fill("69")
    await page.get_by_test_id("sku-row").nth(1).get_by_test_id("sku-spec-value").fill("白色")  # two white SKUs
    await page.get_by_test_id("product-save").click()
    await expect(error).to_have_attribute("data-code", "duplicate_sku_specs")
    assert await console_product(web_shop, product_id) == product


async def test_merchant_ships_a_paid_order_and_the_dashboard_shows_todays_gmv(
        web_shop: ShopHarness, new_context: ContextFactory) -> None:
    buyer = await web_shop.login("发货测试买家")
    order = await paid_order(web_shop, buyer, 2590, quantity=2)
    await paid_order(web_shop, buyer, 1000)
    await web_shop.place(buyer, [{"sku_id": await web_shop.sku(price_fen=777), "quantity": 1}])  # unpaid
    page = await merchant(web_shop, new_context)

    # The dashboard (where login lands): today's GMV is the paid orders' total.
    paid_total = await web_shop.scalar(
        "SELECT sum(payable_fen) FROM orders WHERE shop_id = :shop AND paid_at IS NOT NULL")
    assert paid_total == 2590 * 2 + 1000
    gmv = page.get_by_test_id("stat-gmv_fen").locator("[data-value]")
    await expect(gmv).to_have_attribute("data-raw", str(paid_total))
    await expect(gmv).to_have_text("¥61.80")
    await expect(page.get_by_test_id("stat-paid_orders").locator("[data-value]")).to_have_text("2")
    await expect(page.get_by_test_id("stat-new_customers").locator("[data-value]")).to_have_text("1")
    await expect(page.get_by_test_id("trend-chart")).to_have_attribute("data-ready", "true")
    await expect(page.locator("#recent-orders tbody tr")).to_have_count(3)

    # Orders to ship, the order, the ship form.
    await page.goto("/console/orders")
    await page.get_by_test_id("orders-tab-paid").click()
    await expect(page.get_by_test_id("order-link")).to_have_count(2)
    await page.get_by_test_id("order-search").fill(order["order_no"])
    await page.get_by_test_id("order-search").press("Enter")
    await expect(page.get_by_test_id("order-link")).to_have_count(1)
    await page.get_by_test_id("order-link").click()
    await page.wait_for_url(f"**/console/orders/{order['order_no']}")
    await expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "paid")
    await expect(page.locator("dd[data-k=customer]")).to_contain_text("发货测试买家")
    # The phone is masked until the merchant asks for it (and that look is audited).
    await expect(page.locator("dd[data-k=address]")).to_contain_text("138****8000")
    await page.get_by_test_id("reveal-contact").click()
    await expect(page.locator("dd[data-k=address]")).to_contain_text("13800138000")
    assert await web_shop.scalar("SELECT count(*) FROM kit_audit_events WHERE shop_id = :shop "
                                 "AND kind = 'pii_revealed'") == 1
    await page.get_by_test_id("ship-carrier").fill("顺丰速运")
    await page.get_by_test_id("ship-tracking").fill("bad number!")
    await page.get_by_test_id("ship-submit").click()
    await expect(page.locator("#ship-form .lb-error")).to_have_attribute("data-code", "validation_error")
    await page.get_by_test_id("ship-tracking").fill("SF1234567890")
    await page.get_by_test_id("ship-submit").click()
    await expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "shipped")
    await expect(page.locator("#ship-form")).to_be_hidden()
    seen = await web_shop.order(buyer, order["order_no"])
    assert (seen["status"], seen["carrier"], seen["tracking_no"]) == ("shipped", "顺丰速运", "SF1234567890")


async def test_merchant_approves_a_refund_and_sees_the_apis_problem_for_a_decided_one(
        web_shop: ShopHarness, new_context: ContextFactory) -> None:
    buyer = await web_shop.login("退款买家")
    requests = []
    for price in (3000, 4500):
        order = await paid_order(web_shop, buyer, price)
        r = await web_shop.client.post(f"{web_shop.base}/orders/{order['order_no']}/refund-requests",
                                       headers=buyer, json={"reason": "尺码不合适"})
        assert r.status_code == 201, r.text
        requests.append(r.json())
    wanted, decided_elsewhere = requests
    page = await merchant(web_shop, new_context)
    await page.goto("/console/refunds")
    await expect(page.get_by_test_id(f"refund-approve-{wanted['id']}")).to_be_visible()
    await expect(page.get_by_test_id(f"refund-approve-{decided_elsewhere['id']}")).to_be_visible()

    # Meanwhile another staff member rejects one: approving it here shows why it cannot be.
    r = await web_shop.client.post(f"/api/v1/console/refunds/{decided_elsewhere['id']}/reject",
                                   headers=web_shop.staff, json={"reason": "已在电话中协商"})
    assert r.status_code == 200, r.text
    await page.get_by_test_id(f"refund-approve-{decided_elsewhere['id']}").click()
    await expect(page.locator("#refunds > .lb-error")).to_have_attribute("data-code", "refund_request_decided")

    await page.get_by_test_id(f"refund-approve-{wanted['id']}").click()
    await expect(page.get_by_test_id(f"refund-approve-{wanted['id']}")).to_have_count(0)
    r = await web_shop.client.get("/api/v1/console/refunds", headers=web_shop.staff,
                                  params={"order_no": wanted["order_no"]})
    assert r.json()[0]["status"] in ("approved", "succeeded")
    await page.get_by_test_id("refunds-tab-all").click()
    await expect(page.get_by_test_id(f"refund-status-{wanted['id']}")).to_have_attribute(
        "data-status", re.compile("approved|succeeded"))
    await expect(page.get_by_test_id(f"refund-status-{decided_elsewhere['id']}")).to_have_attribute(
        "data-status", "rejected")


async def test_merchant_creates_a_store_with_a_table_code(web_shop: ShopHarness,
                                                          new_context: ContextFactory) -> None:
    page = await merchant(web_shop, new_context)
    await page.goto("/console/stores")
    await page.get_by_test_id("store-new").click()
    dialog = page.get_by_test_id("store-dialog")
    await dialog.get_by_test_id("store-name").fill("南山旗舰店")
    await dialog.get_by_test_id("store-address").fill("深圳市南山区科苑路 1 号")
    await dialog.get_by_test_id("store-lat").fill("北纬")
    await dialog.get_by_test_id("store-lng").fill("113.944")
    await dialog.get_by_test_id("store-save").click()
    await expect(dialog.locator(".lb-error")).to_have_attribute("data-code", "validation_error")
    await expect(dialog.get_by_test_id("store-lat")).to_have_class(re.compile("lb-invalid"))
    await dialog.get_by_test_id("store-lat").fill("22.540")
    await dialog.get_by_test_id("store-opens").fill("09:00")
    await dialog.get_by_test_id("store-closes").fill("21:30")
    await dialog.get_by_test_id("store-save").click()
    await expect(dialog).to_be_hidden()
    await expect(page.get_by_test_id("store-row-name")).to_have_text("南山旗舰店")
    r = await web_shop.client.get("/api/v1/console/stores", headers=web_shop.staff)
    store = r.json()["items"][0]
    assert abs(store["gcj02_lat"] - 22.54) < 1e-5 and abs(store["gcj02_lng"] - 113.944) < 1e-5
    assert store["lat"] != 22.54 and store["pickup"] and store["hours"][0]["opens"] == "09:00"

    await page.get_by_test_id(f"store-codes-{store['id']}").click()
    codes = page.get_by_test_id("codes-dialog")
    await expect(codes.get_by_test_id("store-code")).to_have_count(1)
    await codes.get_by_test_id("table-label").fill("A1")
    await codes.get_by_test_id("table-add").click()
    table_code = codes.get_by_test_id("table-code")
    await expect(table_code).to_contain_text("A1")
    loaded = await table_code.locator("img").evaluate("img => img.decode().then(() => img.naturalWidth)")
    assert loaded > 0  # the printable QR image really loads
    await codes.get_by_test_id("table-add").click()  # empty label: the API says what is wrong
    await expect(codes.locator("#table-form .lb-error")).to_be_visible()

    # A customer orders for pickup at the new store; the merchant hands it over at the counter.
    buyer = await web_shop.login("自提顾客")
    order = await web_shop.place(buyer, [{"sku_id": await web_shop.sku(price_fen=1800), "quantity": 1}],
                                 fulfilment="pickup", store_id=store["id"])
    await web_shop.pay(order)
    await page.goto(f"/console/orders/{order['order_no']}")
    await expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "paid")
    await expect(page.locator("dd[data-k=store]")).to_contain_text("南山旗舰店")
    await expect(page.locator("dd[data-k=pickup_no]")).to_have_text(str(order.get("pickup_no") or 1))
    await expect(page.locator("#ship-form")).to_be_hidden()  # a pickup order is not shipped
    await page.get_by_test_id("picked-up").click()
    await expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "completed")
    assert (await web_shop.order(buyer, order["order_no"]))["status"] == "completed"
