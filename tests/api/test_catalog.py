"""The catalog through the HTTP API: console management, the customer view, search, stock, isolation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import PROBLEM, ShopHarness, assert_problem

CONSOLE = "/api/v1/console"

TEA_SKUS = [
    {"specs": {"规格": "357克饼", "年份": "2018"}, "price_fen": 29800, "stock": 12, "code": "PE-357-18"},
    {"specs": {"规格": "357克饼", "年份": "2020"}, "price_fen": 19800, "stock": 30},
    {"specs": {"规格": "100克沱"}, "price_fen": 6800, "stock": 0},
]



async def customer_product(shop: ShopHarness, product_id: int) -> httpx.Response:
    return await shop.client.get(f"{shop.base}/products/{product_id}")


async def customer_ids(shop: ShopHarness, **params: Any) -> list[int]:
    r = await shop.client.get(f"{shop.base}/products", params=params)
    assert r.status_code == 200, r.text
    return [p["id"] for p in r.json()["items"]]


async def console_ids(shop: ShopHarness, **params: Any) -> list[int]:
    r = await shop.client.get(f"{CONSOLE}/products", params=params, headers=shop.staff)
    assert r.status_code == 200, r.text
    return [p["id"] for p in r.json()["items"]]


async def test_create_list_and_get_product_with_several_skus(shop: ShopHarness) -> None:
    r = await shop.client.post(f"{CONSOLE}/products", headers=shop.staff, json={
        "title": "云南普洱茶", "description": "勐海古树", "images": ["https://img.example.com/1.jpg"],
        "skus": TEA_SKUS,
    })
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["title"] == "云南普洱茶" and created["status"] == "published"
    assert [s["specs"] for s in created["skus"]] == [s["specs"] for s in TEA_SKUS]
    assert [(s["price_fen"], s["stock"]) for s in created["skus"]] == [(29800, 12), (19800, 30), (6800, 0)]
    sku_ids = [s["id"] for s in created["skus"]]
    assert len(set(sku_ids)) == 3 and all(isinstance(i, int) and i > 0 for i in sku_ids)
    assert created["price_from_fen"] == 6800
    for sku_id, sku in zip(sku_ids, TEA_SKUS, strict=True):
        assert await shop.stock(sku_id) == sku["stock"]

    assert created["id"] in await console_ids(shop)
    r = await shop.client.get(f"{CONSOLE}/products/{created['id']}", headers=shop.staff)
    assert r.status_code == 200, r.text
    assert r.json()["skus"][0]["code"] == "PE-357-18"

    r = await customer_product(shop, created["id"])
    assert r.status_code == 200, r.text
    seen = r.json()
    assert seen["title"] == "云南普洱茶" and seen["images"] == ["https://img.example.com/1.jpg"]
    for sku_out, sku_id, sku_in in zip(seen["skus"], sku_ids, TEA_SKUS, strict=True):
        assert {k: sku_out[k] for k in ("id", "specs", "price_fen", "stock")} == {
            "id": sku_id, "specs": sku_in["specs"], "price_fen": sku_in["price_fen"], "stock": sku_in["stock"]}
        assert not sku_out.get("code")  # internal merchant codes are not shown to customers
    assert "promotions" in seen

    r = await shop.client.get(f"{shop.base}/products")
    assert r.status_code == 200, r.text
    listed = [p for p in r.json()["items"] if p["id"] == created["id"]]
    assert len(listed) == 1 and [s["id"] for s in listed[0]["skus"]] == sku_ids
    assert r.json()["total"] == 1


async def test_customers_see_published_products_only(shop: ShopHarness) -> None:
    published = await shop.product(title="已上架")
    draft = await shop.product(title="草稿", publish=False)
    assert draft["status"] == "draft"

    assert await customer_ids(shop) == [published["id"]]
    assert_problem(await customer_product(shop, draft["id"]), 404, "product_not_found")
    assert set(await console_ids(shop)) == {published["id"], draft["id"]}
    assert await console_ids(shop, status="draft") == [draft["id"]]

    r = await shop.client.post(f"{CONSOLE}/products/{draft['id']}/publish", headers=shop.staff)
    assert r.status_code == 200 and r.json()["status"] == "published"
    assert set(await customer_ids(shop)) == {published["id"], draft["id"]}


async def test_unpublish_hides_and_publish_shows_again(shop: ShopHarness) -> None:
    product = await shop.product(title="保温杯", price_fen=5900, stock=3)
    pid = product["id"]
    assert (await customer_product(shop, pid)).status_code == 200

    r = await shop.client.post(f"{CONSOLE}/products/{pid}/unpublish", headers=shop.staff)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "unpublished"
    assert_problem(await customer_product(shop, pid), 404, "product_not_found")
    assert pid not in await customer_ids(shop)
    assert pid not in await customer_ids(shop, q="保温")
    # The console still has it.
    assert pid in await console_ids(shop)
    assert (await shop.client.get(f"{CONSOLE}/products/{pid}", headers=shop.staff)).status_code == 200

    r = await shop.client.post(f"{CONSOLE}/products/{pid}/publish", headers=shop.staff)
    assert r.status_code == 200 and r.json()["status"] == "published"
    r = await customer_product(shop, pid)
    assert r.status_code == 200 and r.json()["skus"][0]["stock"] == 3
    assert pid in await customer_ids(shop)


async def test_search_finds_chinese_words(shop: ShopHarness) -> None:
    tea = await shop.product(title="云南普洱茶")
    cup = await shop.product(title="保温杯")
    green = await shop.product(title="龙井", description="明前绿茶，清香")

    assert set(await customer_ids(shop, q="茶")) == {tea["id"], green["id"]}
    assert await customer_ids(shop, q="普洱") == [tea["id"]]
    assert await customer_ids(shop, q="保温") == [cup["id"]]
    assert await customer_ids(shop, q="咖啡") == []
    assert set(await console_ids(shop, q="茶")) == {tea["id"], green["id"]}
    r = await shop.client.get(f"{shop.base}/products", params={"q": "茶"})
    assert r.json()["total"] == 2


async def test_search_matches_like_wildcards_literally(shop: ShopHarness) -> None:
    percent = await shop.product(title="100%纯棉T恤")
    underscore = await shop.product(title="A_B 双面杯")
    backslash = await shop.product(title="路径 C:\\茶具")
    await shop.product(title="ABC 马克杯")
    await shop.product(title="纯棉毛巾")

    assert await customer_ids(shop, q="%") == [percent["id"]]
    assert await customer_ids(shop, q="0%纯") == [percent["id"]]
    assert await customer_ids(shop, q="_") == [underscore["id"]]
    assert await customer_ids(shop, q="A_B") == [underscore["id"]]
    assert await customer_ids(shop, q="%%") == []
    assert await customer_ids(shop, q="\\") == [backslash["id"]]
    assert await customer_ids(shop, q="abc") != []  # case-insensitive, and the plain search still works


async def test_patch_product_and_sku(shop: ShopHarness) -> None:
    product = await shop.product(title="旧标题", skus=[
        {"specs": {"颜色": "红"}, "price_fen": 1000, "stock": 5},
        {"specs": {"颜色": "蓝"}, "price_fen": 1100, "stock": 6},
    ])
    pid, (red, blue) = product["id"], [s["id"] for s in product["skus"]]

    r = await shop.client.patch(f"{CONSOLE}/products/{pid}", headers=shop.staff,
                                json={"title": "新标题", "description": "更新了", "max_per_order": 3})
    assert r.status_code == 200, r.text
    assert (r.json()["title"], r.json()["description"], r.json()["max_per_order"]) == ("新标题", "更新了", 3)
    seen = (await customer_product(shop, pid)).json()
    assert seen["title"] == "新标题" and seen["description"] == "更新了"
    assert await customer_ids(shop, q="新标题") == [pid]
    assert await customer_ids(shop, q="旧标题") == []

    r = await shop.client.patch(f"{CONSOLE}/products/{pid}/skus/{blue}", headers=shop.staff,
                                json={"price_fen": 1500, "stock": 9, "specs": {"颜色": "深蓝"}})
    assert r.status_code == 200, r.text
    by_id = {s["id"]: s for s in r.json()["skus"]}
    assert by_id[blue]["price_fen"] == 1500 and by_id[blue]["stock"] == 9
    assert by_id[blue]["specs"] == {"颜色": "深蓝"}
    assert by_id[red]["price_fen"] == 1000 and by_id[red]["stock"] == 5  # the sibling is untouched
    assert await shop.stock(blue) == 9
    seen = (await customer_product(shop, pid)).json()
    assert {s["id"]: s["price_fen"] for s in seen["skus"]} == {red: 1000, blue: 1500}
    assert seen["price_from_fen"] == 1000

    # A SKU of another product of the same shop is not found under this product.
    other = await shop.product(title="别的商品")
    r = await shop.client.patch(f"{CONSOLE}/products/{other['id']}/skus/{blue}", headers=shop.staff,
                                json={"price_fen": 1})
    assert_problem(r, 404, "sku_not_found")
    assert (await customer_product(shop, pid)).json()["skus"][1]["price_fen"] == 1500


@pytest.mark.parametrize("patch", [{"title": ""}, {"title": "   "}, {"title": None}])
async def test_patch_refuses_a_blank_title(shop: ShopHarness, patch: dict[str, Any]) -> None:
    pid = (await shop.product(title="好标题"))["id"]
    r = await shop.client.patch(f"{CONSOLE}/products/{pid}", headers=shop.staff, json=patch)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert (await customer_product(shop, pid)).json()["title"] == "好标题"


@pytest.mark.parametrize("patch", [{"description": None}, {"images": None}])
async def test_patch_with_null_for_a_required_field_is_refused_not_a_crash(
    shop: ShopHarness, patch: dict[str, Any]
) -> None:
    pid = (await shop.product(title="好标题", description="原描述", images=["https://img.example.com/a.png"]))["id"]
    r = await shop.client.patch(f"{CONSOLE}/products/{pid}", headers=shop.staff, json=patch)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    seen = (await customer_product(shop, pid)).json()
    assert seen["description"] == "原描述" and seen["images"] == ["https://img.example.com/a.png"]


async def test_patch_can_clear_max_per_order(shop: ShopHarness) -> None:
    pid = (await shop.product(max_per_order=2))["id"]
    r = await shop.client.patch(f"{CONSOLE}/products/{pid}", headers=shop.staff, json={"max_per_order": None})
    assert r.status_code == 200, r.text
    assert r.json()["max_per_order"] is None


async def test_stock_adjustments_never_go_below_zero(shop: ShopHarness) -> None:
    product = await shop.product(stock=5)
    pid, sku = product["id"], product["skus"][0]["id"]
    url = f"{CONSOLE}/skus/{sku}/stock-adjustments"

    r = await shop.client.post(url, headers=shop.staff, json={"delta": 7})
    assert r.status_code == 200, r.text
    assert r.json()["stock"] == 12 and r.json()["sku_id"] == sku
    r = await shop.client.post(url, headers=shop.staff, json={"delta": -2})
    assert r.status_code == 200 and r.json()["stock"] == 10
    assert await shop.stock(sku) == 10

    assert_problem(await shop.client.post(url, headers=shop.staff, json={"delta": -11}),
                   409, "stock_would_go_negative")
    assert await shop.stock(sku) == 10

    r = await shop.client.post(url, headers=shop.staff, json={"delta": -10})
    assert r.status_code == 200 and r.json()["stock"] == 0
    assert_problem(await shop.client.post(url, headers=shop.staff, json={"delta": -1}),
                   409, "stock_would_go_negative")
    assert await shop.stock(sku) == 0
    assert (await customer_product(shop, pid)).json()["skus"][0]["stock"] == 0


@pytest.mark.parametrize("body", [{}, {"delta": "many"}, {"delta": 1.5}, {"delta": 10**12}, {"delta": 1, "x": 1}])
async def test_stock_adjustment_validates_its_body(shop: ShopHarness, body: dict[str, Any]) -> None:
    sku = await shop.sku(stock=5)
    r = await shop.client.post(f"{CONSOLE}/skus/{sku}/stock-adjustments", headers=shop.staff, json=body)
    assert_problem(r, 422, "validation_error")
    assert await shop.stock(sku) == 5


async def test_stock_adjustment_of_unknown_sku_is_404(shop: ShopHarness) -> None:
    sku = await shop.sku(stock=5)
    r = await shop.client.post(f"{CONSOLE}/skus/{sku + 10**9}/stock-adjustments", headers=shop.staff,
                               json={"delta": 1})
    assert_problem(r, 404, "sku_not_found")


@pytest.mark.parametrize("skus", [
    [{"specs": {"颜色": "红", "尺码": "L"}, "price_fen": 100, "stock": 1},
     {"specs": {"尺码": "L", "颜色": "红"}, "price_fen": 200, "stock": 2}],
    [{"specs": {"颜色": "红"}, "price_fen": 100, "stock": 1},
     {"specs": {" 颜色 ": " 红 "}, "price_fen": 100, "stock": 1}],
    [{"specs": {}, "price_fen": 100, "stock": 1}, {"specs": {}, "price_fen": 100, "stock": 1}],
])
async def test_duplicate_sku_specs_are_refused(shop: ShopHarness, skus: list[dict[str, Any]]) -> None:
    r = await shop.client.post(f"{CONSOLE}/products", headers=shop.staff, json={"title": "重复规格", "skus": skus})
    assert_problem(r, 422, "duplicate_sku_specs")
    assert await shop.count("products") == 0
    assert await shop.count("skus") == 0


async def test_duplicate_specs_refused_when_adding_or_changing_a_sku(shop: ShopHarness) -> None:
    product = await shop.product(skus=[{"specs": {"颜色": "红"}, "price_fen": 100, "stock": 1},
                                       {"specs": {"颜色": "蓝"}, "price_fen": 100, "stock": 1}])
    pid, (_red, blue) = product["id"], [s["id"] for s in product["skus"]]
    r = await shop.client.post(f"{CONSOLE}/products/{pid}/skus", headers=shop.staff,
                               json={"specs": {"颜色": "红"}, "price_fen": 300, "stock": 3})
    assert_problem(r, 422, "duplicate_sku_specs")
    r = await shop.client.patch(f"{CONSOLE}/products/{pid}/skus/{blue}", headers=shop.staff,
                                json={"specs": {"颜色": "红"}})
    assert_problem(r, 422, "duplicate_sku_specs")
    assert await shop.count("skus") == 2
    r = await shop.client.get(f"{CONSOLE}/products/{pid}", headers=shop.staff)
    assert [s["specs"] for s in r.json()["skus"]] == [{"颜色": "红"}, {"颜色": "蓝"}]

    r = await shop.client.post(f"{CONSOLE}/products/{pid}/skus", headers=shop.staff,
                               json={"specs": {"颜色": "绿"}, "price_fen": 300, "stock": 3})
    assert r.status_code == 201, r.text
    assert [s["specs"] for s in r.json()["skus"]] == [{"颜色": "红"}, {"颜色": "蓝"}, {"颜色": "绿"}]


async def test_categories_create_list_filter_delete(shop: ShopHarness) -> None:
    r = await shop.client.post(f"{CONSOLE}/categories", headers=shop.staff, json={"name": "茶叶", "sort": 2})
    assert r.status_code == 201, r.text
    tea = r.json()
    r = await shop.client.post(f"{CONSOLE}/categories", headers=shop.staff, json={"name": "茶具", "sort": 1})
    assert r.status_code == 201, r.text
    ware = r.json()

    assert_problem(await shop.client.post(f"{CONSOLE}/categories", headers=shop.staff, json={"name": "茶叶"}),
                   409, "category_exists")
    r = await shop.client.get(f"{CONSOLE}/categories", headers=shop.staff)
    assert r.status_code == 200
    assert [(c["id"], c["name"]) for c in r.json()] == [(ware["id"], "茶具"), (tea["id"], "茶叶")]
    r = await shop.client.get(f"{shop.base}/categories")
    assert [c["name"] for c in r.json()] == ["茶具", "茶叶"]

    in_tea = await shop.product(title="普洱", category_id=tea["id"])
    await shop.product(title="紫砂壶", category_id=ware["id"])
    assert in_tea["category_id"] == tea["id"]
    assert await customer_ids(shop, category_id=tea["id"]) == [in_tea["id"]]

    r = await shop.client.delete(f"{CONSOLE}/categories/{tea['id']}", headers=shop.staff)
    assert r.status_code == 204, r.text
    r = await shop.client.get(f"{CONSOLE}/categories", headers=shop.staff)
    assert [c["name"] for c in r.json()] == ["茶具"]
    assert (await customer_product(shop, in_tea["id"])).json()["category_id"] is None
    assert_problem(await shop.client.delete(f"{CONSOLE}/categories/{tea['id']}", headers=shop.staff),
                   404, "category_not_found")
    # The name is free again.
    r = await shop.client.post(f"{CONSOLE}/categories", headers=shop.staff, json={"name": "茶叶"})
    assert r.status_code == 201, r.text


async def test_category_by_name_on_product_creation_reuses_the_category(shop: ShopHarness) -> None:
    first = await shop.product(title="一", category="零食")
    second = await shop.product(title="二", category="零食")
    assert first["category_id"] is not None and first["category_id"] == second["category_id"]
    r = await shop.client.get(f"{CONSOLE}/categories", headers=shop.staff)
    assert [c["name"] for c in r.json()] == ["零食"]


async def test_same_category_name_in_two_shops(shop: ShopHarness, other_shop: ShopHarness) -> None:
    for s in (shop, other_shop):
        r = await s.client.post(f"{CONSOLE}/categories", headers=s.staff, json={"name": "同名"})
        assert r.status_code == 201, r.text


async def test_another_shops_staff_gets_404(shop: ShopHarness, other_shop: ShopHarness) -> None:
    product = await shop.product(title="本店商品", price_fen=1000, stock=4)
    pid, sku = product["id"], product["skus"][0]["id"]
    intruder = other_shop.staff

    assert_problem(await shop.client.get(f"{CONSOLE}/products/{pid}", headers=intruder), 404, "product_not_found")
    assert_problem(await shop.client.patch(f"{CONSOLE}/products/{pid}", headers=intruder, json={"title": "偷改"}),
                   404, "product_not_found")
    for action in ("publish", "unpublish"):
        r = await shop.client.post(f"{CONSOLE}/products/{pid}/{action}", headers=intruder)
        assert_problem(r, 404, "product_not_found")
    assert_problem(await shop.client.delete(f"{CONSOLE}/products/{pid}", headers=intruder), 404, "product_not_found")
    r = await shop.client.patch(f"{CONSOLE}/products/{pid}/skus/{sku}", headers=intruder, json={"price_fen": 1})
    assert r.status_code == 404, r.text
    r = await shop.client.post(f"{CONSOLE}/products/{pid}/skus", headers=intruder,
                               json={"specs": {"x": "y"}, "price_fen": 1, "stock": 1})
    assert r.status_code == 404, r.text
    assert_problem(await shop.client.post(f"{CONSOLE}/skus/{sku}/stock-adjustments", headers=intruder,
                                          json={"delta": -4}), 404, "sku_not_found")
    assert pid not in await console_ids(other_shop)

    r = await shop.client.get(f"{CONSOLE}/products/{pid}", headers=shop.staff)
    assert r.json()["title"] == "本店商品" and r.json()["status"] == "published"
    assert r.json()["skus"][0]["price_fen"] == 1000
    assert len(r.json()["skus"]) == 1
    assert await shop.stock(sku) == 4


async def test_another_shops_categories_are_not_found(shop: ShopHarness, other_shop: ShopHarness) -> None:
    r = await other_shop.client.post(f"{CONSOLE}/categories", headers=other_shop.staff, json={"name": "别家"})
    foreign = r.json()["id"]
    r = await shop.client.post(f"{CONSOLE}/products", headers=shop.staff, json={
        "title": "x", "category_id": foreign, "skus": [{"specs": {}, "price_fen": 1, "stock": 1}]})
    assert_problem(r, 404, "category_not_found")
    pid = (await shop.product())["id"]
    r = await shop.client.patch(f"{CONSOLE}/products/{pid}", headers=shop.staff, json={"category_id": foreign})
    assert_problem(r, 404, "category_not_found")
    r = await shop.client.delete(f"{CONSOLE}/categories/{foreign}", headers=shop.staff)
    assert_problem(r, 404, "category_not_found")
    r = await other_shop.client.get(f"{CONSOLE}/categories", headers=other_shop.staff)
    assert [c["id"] for c in r.json()] == [foreign]


async def test_customers_cannot_reach_another_shops_product(shop: ShopHarness, other_shop: ShopHarness) -> None:
    theirs = await other_shop.product(title="别家的茶")
    ours = await shop.product(title="本店的茶")
    assert_problem(await customer_product(shop, theirs["id"]), 404, "product_not_found")
    assert await customer_ids(shop, q="茶") == [ours["id"]]
    assert (await customer_product(other_shop, theirs["id"])).status_code == 200


async def test_archive_hides_the_product_everywhere(shop: ShopHarness) -> None:
    product = await shop.product(title="停产商品")
    kept = await shop.product(title="在售商品")
    pid = product["id"]

    r = await shop.client.delete(f"{CONSOLE}/products/{pid}", headers=shop.staff)
    assert r.status_code == 204, r.text
    assert_problem(await customer_product(shop, pid), 404, "product_not_found")
    assert await customer_ids(shop) == [kept["id"]]
    assert await customer_ids(shop, q="停产") == []
    assert await console_ids(shop) == [kept["id"]]
    assert await console_ids(shop, q="停产") == []
    assert await console_ids(shop, status="archived") == [pid]

    # It cannot come back, nor be edited, nor be archived twice.
    assert_problem(await shop.client.post(f"{CONSOLE}/products/{pid}/publish", headers=shop.staff),
                   404, "product_not_found")
    assert_problem(await shop.client.patch(f"{CONSOLE}/products/{pid}", headers=shop.staff, json={"title": "复活"}),
                   404, "product_not_found")
    assert_problem(await shop.client.delete(f"{CONSOLE}/products/{pid}", headers=shop.staff),
                   404, "product_not_found")
    assert_problem(await customer_product(shop, pid), 404, "product_not_found")

    # And its SKUs cannot be bought.
    buyer = await shop.login("买家")
    r = await shop.client.post(f"{shop.base}/orders", headers=buyer, json={
        "lines": [{"sku_id": product["skus"][0]["id"], "quantity": 1}],
        "address": {"name": "张三", "phone": "13800138000", "province": "广东省", "city": "深圳市",
                    "district": "南山区", "detail": "科技园"}})
    assert_problem(r, 422, "sku_not_available")


async def test_publishing_a_product_without_skus_is_refused(shop: ShopHarness) -> None:
    product = await shop.product(publish=False)
    sku = product["skus"][0]["id"]
    r = await shop.client.patch(f"{CONSOLE}/products/{product['id']}/skus/{sku}", headers=shop.staff,
                                json={"archived": True})
    assert r.status_code == 200, r.text
    r = await shop.client.post(f"{CONSOLE}/products/{product['id']}/publish", headers=shop.staff)
    assert_problem(r, 409, "product_has_no_sku")
    assert await console_ids(shop, status="draft") == [product["id"]]
    assert_problem(await customer_product(shop, product["id"]), 404, "product_not_found")


async def test_console_needs_a_staff_token(shop: ShopHarness) -> None:
    pid = (await shop.product())["id"]
    assert_problem(await shop.client.get(f"{CONSOLE}/products/{pid}"), 401, "not_authenticated")
    buyer = await shop.login("顾客")
    assert_problem(await shop.client.get(f"{CONSOLE}/products/{pid}", headers=buyer), 401, "invalid_token")
    r = await shop.client.post(f"{CONSOLE}/products", headers=buyer,
                               json={"title": "x", "skus": [{"specs": {}, "price_fen": 1, "stock": 1}]})
    assert_problem(r, 401, "invalid_token")
    assert await shop.count("products") == 1


@pytest.mark.parametrize("body", [
    {"title": "x", "skus": []},
    {"title": "", "skus": [{"specs": {}, "price_fen": 1, "stock": 1}]},
    {"title": "  ", "skus": [{"specs": {}, "price_fen": 1, "stock": 1}]},
    {"title": "x", "skus": [{"specs": {}, "price_fen": -1, "stock": 1}]},
    {"title": "x", "skus": [{"specs": {}, "price_fen": 1, "stock": -1}]},
    {"title": "x", "skus": [{"specs": {"": "红"}, "price_fen": 1, "stock": 1}]},
    {"title": "x", "images": ["javascript:alert(1)"], "skus": [{"specs": {}, "price_fen": 1, "stock": 1}]},
    {"title": "x" * 121, "skus": [{"specs": {}, "price_fen": 1, "stock": 1}]},
])
async def test_invalid_products_are_refused(shop: ShopHarness, body: dict[str, Any]) -> None:
    r = await shop.client.post(f"{CONSOLE}/products", headers=shop.staff, json=body)
    assert_problem(r, 422, "validation_error")
    assert await shop.count("products") == 0


@pytest.mark.parametrize("name", ["", "   ", "\t"])
async def test_blank_category_names_are_refused(shop: ShopHarness, name: str) -> None:
    r = await shop.client.post(f"{CONSOLE}/categories", headers=shop.staff, json={"name": name})
    assert_problem(r, 422, "validation_error")
    r = await shop.client.post(f"{CONSOLE}/products", headers=shop.staff, json={
        "title": "x", "category": name, "skus": [{"specs": {}, "price_fen": 1, "stock": 1}]})
    assert_problem(r, 422, "validation_error")
    assert (await shop.client.get(f"{CONSOLE}/categories", headers=shop.staff)).json() == []
    assert await shop.count("products") == 0


async def test_restoring_an_archived_sku_cannot_duplicate_specs(shop: ShopHarness) -> None:
    product = await shop.product(skus=[{"specs": {"颜色": "红"}, "price_fen": 100, "stock": 1}])
    pid, old = product["id"], product["skus"][0]["id"]
    r = await shop.client.patch(f"{CONSOLE}/products/{pid}/skus/{old}", headers=shop.staff, json={"archived": True})
    assert r.status_code == 200, r.text
    r = await shop.client.post(f"{CONSOLE}/products/{pid}/skus", headers=shop.staff,
                               json={"specs": {"颜色": "红"}, "price_fen": 200, "stock": 2})
    assert r.status_code == 201, r.text  # the archived SKU no longer counts

    r = await shop.client.patch(f"{CONSOLE}/products/{pid}/skus/{old}", headers=shop.staff, json={"archived": False})
    assert_problem(r, 422, "duplicate_sku_specs")
    seen = (await customer_product(shop, pid)).json()
    assert [(s["specs"], s["price_fen"]) for s in seen["skus"]] == [({"颜色": "红"}, 200)]


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/products", {"title": "茶\x00", "skus": [{"specs": {}, "price_fen": 1, "stock": 1}]}),
    ("POST", "/products", {"title": "茶", "skus": [{"specs": {"色": "红\x00"}, "price_fen": 1, "stock": 1}]}),
    ("POST", "/categories", {"name": "茶\x00"}),
    ("GET", "/products?q=%00", None),
])
async def test_nul_characters_are_refused_not_a_crash(
    shop: ShopHarness, method: str, path: str, body: dict[str, Any] | None
) -> None:
    r = await shop.client.request(method, f"{CONSOLE}{path}", headers=shop.staff, json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert await shop.count("products") == 0
