"""Console endpoints the operations pages need: a product saved whole (PUT), image uploads served back,
order search by number, and a shop's customer."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image

from liebian.catalog.uploads import MAX_BYTES
from tests.conftest import ShopHarness, assert_problem

PRODUCTS = "/api/v1/console/products"
UPLOADS = "/api/v1/console/uploads"


def png(width: int = 8, height: int = 6, color: str = "red", kind: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, kind)
    return out.getvalue()


def whole(product: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The PUT body the edit form sends, from a product as the API answered it."""
    body = {"title": product["title"], "description": product["description"], "images": product["images"],
            "category_id": product["category_id"], "max_per_order": product["max_per_order"],
            "publish": product["status"] == "published",
            "skus": [{"id": s["id"], "specs": s["specs"], "price_fen": s["price_fen"], "stock": s["stock"]}
                     for s in product["skus"] if not s["archived"]]}
    return {**body, **changes}


async def put(shop: ShopHarness, product_id: int, body: dict[str, Any]) -> Any:
    return await shop.client.put(f"{PRODUCTS}/{product_id}", headers=shop.staff, json=body)


async def test_put_saves_fields_skus_category_and_sale_status_at_once(shop: ShopHarness) -> None:
    product = await shop.product(title="旧标题", skus=[
        {"specs": {"颜色": "红"}, "price_fen": 1000, "stock": 5},
        {"specs": {"颜色": "蓝"}, "price_fen": 1200, "stock": 6}])
    red, blue = product["skus"]
    body = whole(product, title="  新标题 ", description="描述", category="水果", publish=False,
                 images=["/media/1/" + "a" * 64 + ".png"], category_id=None,
                 skus=[{"id": red["id"], "specs": {"颜色": "红"}, "price_fen": 1500, "stock": 7},
                       {"specs": {"颜色": "绿"}, "price_fen": 900, "stock": 3}])
    r = await put(shop, product["id"], body)
    assert r.status_code == 200, r.text
    saved = r.json()
    assert (saved["title"], saved["description"], saved["status"]) == ("新标题", "描述", "unpublished")
    assert saved["images"] == body["images"] and saved["price_from_fen"] == 900
    categories = (await shop.client.get("/api/v1/console/categories", headers=shop.staff)).json()
    assert [c["name"] for c in categories if c["id"] == saved["category_id"]] == ["水果"]
    by_id = {s["id"]: s for s in saved["skus"]}
    assert (by_id[red["id"]]["price_fen"], by_id[red["id"]]["stock"], by_id[red["id"]]["archived"]) == (1500, 7, False)
    assert by_id[blue["id"]]["archived"]  # not listed: archived, never deleted (orders name it)
    green = next(s for s in saved["skus"] if s["specs"] == {"颜色": "绿"})
    assert (green["price_fen"], green["stock"]) == (900, 3)
    # Customers see it no more; back on sale with blue restored, it shows again.
    assert (await shop.client.get(f"{shop.base}/products/{product['id']}")).status_code == 404
    again = whole(saved, publish=True)
    again["skus"].append({"id": blue["id"], "specs": {"颜色": "蓝"}, "price_fen": 1100, "stock": 2})
    r = await put(shop, product["id"], again)
    assert r.status_code == 200 and r.json()["status"] == "published", r.text
    public = (await shop.client.get(f"{shop.base}/products/{product['id']}")).json()
    assert sorted(s["price_fen"] for s in public["skus"]) == [900, 1100, 1500]


async def test_a_bad_put_changes_nothing(shop: ShopHarness, other_shop: ShopHarness) -> None:
    product = await shop.product(title="原样", skus=[{"specs": {"尺码": "S"}, "price_fen": 1000, "stock": 5},
                                                   {"specs": {"尺码": "M"}, "price_fen": 1100, "stock": 5}])
    small, medium = product["skus"]
    before = (await shop.client.get(f"{PRODUCTS}/{product['id']}", headers=shop.staff)).json()
    bad_price = whole(product, title="改了")
    bad_price["skus"][1]["price_fen"] = -5
    r = await put(shop, product["id"], bad_price)
    assert_problem(r, 422, "validation_error")
    assert r.json()["errors"][0]["loc"] == ["body", "skus", 1, "price_fen"]
    same_specs = whole(product, title="改了")
    same_specs["skus"][1]["specs"] = {"尺码": "S"}
    assert_problem(await put(shop, product["id"], same_specs), 422, "duplicate_sku_specs")
    twice = whole(product, title="改了")
    twice["skus"][1]["id"] = small["id"]
    twice["skus"][1]["specs"] = {"尺码": "L"}
    assert_problem(await put(shop, product["id"], twice), 422, "duplicate_sku")
    assert_problem(await put(shop, product["id"], whole(product, skus=[])), 422, "validation_error")
    assert_problem(await put(shop, product["id"], whole(product, category_id=10**9)), 404, "category_not_found")
    # Another shop's SKU, or another shop's product: 404, and nothing written.
    foreign = await other_shop.product()
    stolen = whole(product)
    stolen["skus"][0]["id"] = foreign["skus"][0]["id"]
    assert_problem(await put(shop, product["id"], stolen), 404, "sku_not_found")
    assert_problem(await put(other_shop, product["id"], whole(product, title="偷改")), 404, "product_not_found")
    after = (await shop.client.get(f"{PRODUCTS}/{product['id']}", headers=shop.staff)).json()
    assert after == before and medium["price_fen"] == 1100
    r = await shop.client.delete(f"{PRODUCTS}/{product['id']}", headers=shop.staff)
    assert r.status_code == 204
    assert_problem(await put(shop, product["id"], whole(product)), 404, "product_not_found")  # archived


async def test_put_with_stock_was_keeps_the_units_sold_while_editing(shop: ShopHarness) -> None:
    product = await shop.product(stock=10)
    sku = product["skus"][0]
    buyer = await shop.login("meanwhile")
    await shop.place(buyer, [{"sku_id": sku["id"], "quantity": 3}])  # 7 left while the form still shows 10
    body = whole(product)
    body["skus"][0] |= {"stock": 15, "stock_was": 10}  # the merchant adds 5
    r = await put(shop, product["id"], body)
    assert r.status_code == 200 and r.json()["skus"][0]["stock"] == 12, r.text
    body["skus"][0] |= {"stock": 0, "stock_was": 15}  # takes 15 off, but only 12 are left: nothing changes
    assert_problem(await put(shop, product["id"], body), 409, "stock_would_go_negative")
    assert await shop.stock(sku["id"]) == 12
    body["skus"][0] |= {"stock": 4, "stock_was": None}  # without stock_was: set as given
    assert (await put(shop, product["id"], body)).json()["skus"][0]["stock"] == 4


async def test_upload_keeps_a_checked_image_and_serves_it_back(shop: ShopHarness, settings: Any) -> None:
    data = png(30, 20)
    r = await shop.client.post(UPLOADS, headers=shop.staff, files={"file": ("照片.png", data, "image/png")})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["content_type"], body["size"], body["width"], body["height"]) == ("image/png", len(data), 30, 20)
    assert body["url"].startswith(f"/media/{shop.shop_id}/") and body["url"].endswith(".png")
    assert (Path(settings.home) / body["url"].removeprefix("/")).read_bytes() == data
    served = await shop.client.get(body["url"])
    assert served.status_code == 200 and served.content == data
    assert served.headers["content-type"] == "image/png" and served.headers["x-content-type-options"] == "nosniff"
    # The same bytes again: the same URL (named by their hash). A JPEG keeps its own type.
    r = await shop.client.post(UPLOADS, headers=shop.staff, files={"file": ("again.png", data, "image/png")})
    assert r.json()["url"] == body["url"]
    r = await shop.client.post(UPLOADS, headers=shop.staff,
                               files={"file": ("x.bin", png(kind="JPEG"), "application/octet-stream")})
    assert r.status_code == 201 and r.json()["content_type"] == "image/jpeg" and r.json()["url"].endswith(".jpg")
    # The URL is what a product's images take.
    product = await shop.product(images=[body["url"]])
    assert product["images"] == [body["url"]]


async def test_upload_refuses_what_is_not_a_small_image(shop: ShopHarness) -> None:
    def send(name: str, data: bytes, kind: str = "image/png") -> Any:
        return shop.client.post(UPLOADS, headers=shop.staff, files={"file": (name, data, kind)})

    assert_problem(await send("a.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "image/svg+xml"),
                   422, "invalid_image")
    assert_problem(await send("a.png", png()[:40]), 422, "invalid_image")  # truncated
    assert_problem(await send("a.png", b""), 422, "file_required")
    bmp = io.BytesIO()
    Image.new("RGB", (4, 4)).save(bmp, "BMP")
    assert_problem(await send("a.bmp", bmp.getvalue(), "image/bmp"), 415, "unsupported_image_type")
    assert_problem(await send("big.png", b"\x89PNG" + b"0" * MAX_BYTES), 413, "file_too_large")
    huge = io.BytesIO()
    Image.new("1", (8000, 6000)).save(huge, "PNG")  # a few KB on disk, 48 megapixels decoded
    assert_problem(await send("huge.png", huge.getvalue()), 422, "image_too_large")
    r = await shop.client.post(UPLOADS, headers=shop.staff, files={"other": ("a.png", png(), "image/png")})
    assert_problem(r, 422, "file_required")
    assert_problem(await shop.client.post(UPLOADS, headers=shop.staff, json={"file": "x"}), 415,
                   "multipart_required")
    assert_problem(await shop.client.post(UPLOADS, files={"file": ("a.png", png(), "image/png")}), 401,
                   "not_authenticated")
    buyer = await shop.login("uploader")
    r = await shop.client.post(UPLOADS, headers=buyer, files={"file": ("a.png", png(), "image/png")})
    assert_problem(r, 401, "invalid_token")
    for bad in (f"/media/{shop.shop_id}/../secret_key", f"/media/{shop.shop_id}/{'0' * 64}.png",
                f"/media/{shop.shop_id}/x.png", "/media/0/a.png", "/media/abc/a.png"):
        assert (await shop.client.get(bad)).status_code == 404, bad


async def test_console_orders_search_by_number_prefix_within_the_shop(
        shop: ShopHarness, other_shop: ShopHarness) -> None:
    buyer = await shop.login("searcher")
    sku = await shop.sku()
    first = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}])
    second = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}])
    url = "/api/v1/console/orders"
    r = await shop.client.get(url, headers=shop.staff, params={"q": first["order_no"]})
    assert [o["order_no"] for o in r.json()["items"]] == [first["order_no"]] and r.json()["total"] == 1
    common = first["order_no"][:6]
    found = (await shop.client.get(url, headers=shop.staff, params={"q": common, "limit": 1})).json()
    if second["order_no"].startswith(common):
        assert found["total"] == 2 and len(found["items"]) == 1
    for wildcard in ("%", "_", "\\"):
        assert (await shop.client.get(url, headers=shop.staff, params={"q": wildcard})).json()["total"] == 0
    r = await other_shop.client.get(url, headers=other_shop.staff, params={"q": first["order_no"]})
    assert r.json()["total"] == 0
    assert_problem(await shop.client.get(url, headers=shop.staff, params={"q": "x" * 33}), 422, "validation_error")
    both = (await shop.client.get(url, headers=shop.staff, params={"q": first["order_no"], "status": "paid"})).json()
    assert both["total"] == 0  # still pending payment


async def test_console_reads_its_own_customers_only(shop: ShopHarness, other_shop: ShopHarness) -> None:
    buyer = await shop.login("顾客甲")
    me = (await shop.client.get(f"{shop.base}/me", headers=buyer)).json()
    r = await shop.client.get(f"/api/v1/console/customers/{me['id']}", headers=shop.staff)
    assert r.status_code == 200 and r.json()["nickname"] == me["nickname"] and r.json()["id"] == me["id"]
    assert_problem(await other_shop.client.get(f"/api/v1/console/customers/{me['id']}", headers=other_shop.staff),
                   404, "customer_not_found")
    assert_problem(await shop.client.get(f"/api/v1/console/customers/{me['id']}", headers=buyer), 401,
                   "invalid_token")
