"""Fission through the API: shares and the share tree, visits, binding under each policy, attribution."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from PIL import Image

from liebian.fission import rules
from liebian.integrations.render.poster import IMAGE_BOX
from tests.conftest import ADDRESS, ShopHarness, assert_problem, make_shop
from tests.photo_server import PhotoServer


async def share(shop: ShopHarness, who: dict[str, str], target_id: int, *, target_type: str = "product",
                channel: str = "friend", parent: str | None = None, expect: int = 201) -> dict[str, Any]:
    body: dict[str, Any] = {"target_type": target_type, "target_id": target_id, "channel": channel}
    if parent:
        body["parent_code"] = parent
    r = await shop.client.post(f"{shop.base}/shares", headers=who, json=body)
    assert r.status_code == expect, r.text
    return dict(r.json())


async def visit(shop: ShopHarness, who: dict[str, str] | None, code: str, *, device: str | None = None,
                expect: int = 201) -> dict[str, Any]:
    headers = dict(who or {})
    if device:
        headers["X-Device-Id"] = device
    r = await shop.client.post(f"{shop.base}/visits", headers=headers, json={"share_code": code})
    assert r.status_code == expect, r.text
    return dict(r.json())


async def customer_id(shop: ShopHarness, who: dict[str, str]) -> int:
    return int((await shop.client.get(f"{shop.base}/me", headers=who)).json()["id"])


async def settings(shop: ShopHarness, **changes: Any) -> None:
    r = await shop.client.patch("/api/v1/console/shop/settings", headers=shop.staff, json=changes)
    assert r.status_code == 200, r.text


async def test_a_share_has_an_unguessable_code_that_fits_a_scene(shop: ShopHarness) -> None:
    product = (await shop.product())["id"]
    alice = await shop.login("alice")
    s = await share(shop, alice, product)
    assert rules.is_code(s["code"]) and s["scene"] == "s=" + s["code"] and len(s["scene"]) <= 32
    assert s["url"].endswith(f"/s/{shop.slug}/r/{s['code']}") and s["depth"] == 0
    assert s["qr_png_url"] and s["poster_png_url"] and s["sharer_id"] == await customer_id(shop, alice)
    assert len({(await share(shop, alice, product))["code"] for _ in range(20)}) == 20
    assert await shop.count("fission_shares") == 21
    got = await shop.client.get(f"{shop.base}/shares/{s['code']}")
    assert got.json()["code"] == s["code"]


async def test_bad_targets_and_codes_are_404_and_record_nothing(shop: ShopHarness, other_shop: ShopHarness) -> None:
    alice = await shop.login("alice")
    assert_problem(await shop.client.post(f"{shop.base}/shares", headers=alice, json={
        "target_type": "product", "target_id": 999999, "channel": "friend"}), 404, "target_not_found")
    theirs = (await other_shop.product())["id"]
    assert_problem(await shop.client.post(f"{shop.base}/shares", headers=alice, json={
        "target_type": "product", "target_id": theirs, "channel": "friend"}), 404, "target_not_found")
    assert_problem(await shop.client.post(f"{shop.base}/shares", headers=alice, json={
        "target_type": "product", "target_id": 1, "channel": "carrier_pigeon"}), 422, "validation_error")
    their_share = await share(other_shop, await other_shop.login("bob"), theirs)
    for code in ("nope", "A" * 10, their_share["code"], "'; DROP TABLE x; --"):
        r = await shop.client.post(f"{shop.base}/visits", headers=alice, json={"share_code": code})
        assert_problem(r, 404, "share_not_found")
    assert await shop.count("fission_visits") == 0 and await shop.count("fission_facts") == 0
    anonymous = await shop.client.post(f"{shop.base}/visits", json={"share_code": their_share["code"]})
    assert_problem(anonymous, 422, "visitor_unknown")


async def test_the_visit_hot_path_refuses_bad_requests_as_every_endpoint_does(shop: ShopHarness) -> None:
    """The visit endpoint reads its own path, headers and body: the same problems, nothing recorded."""
    code = (await share(shop, await shop.login("alice"), (await shop.product())["id"]))["code"]
    carol = await shop.login("carol")
    url = f"{shop.base}/visits"
    assert_problem(await shop.client.post(url, headers=carol, content=b'{"share_code": '), 422, "invalid_json")
    for body in ({}, {"share_code": ""}, {"share_code": code, "scene": 5}, {"share_code": code, "extra": 1}):
        assert_problem(await shop.client.post(url, headers=carol, json=body), 422, "validation_error")
    assert_problem(await shop.client.post(url, headers=carol, content=b" " * 5000), 413, "payload_too_large")
    for device in ("short", "x" * 65, "bad device id!"):
        r = await shop.client.post(url, headers={"X-Device-Id": device}, json={"share_code": code})
        assert_problem(r, 422, "validation_error")
    assert_problem(await shop.client.post(f"/api/v1/shops/{'s' * 41}/visits", headers=carol,
                                          json={"share_code": code}), 422, "validation_error")
    assert_problem(await shop.client.post("/api/v1/shops/no-such-shop/visits", headers=carol,
                                          json={"share_code": code}), 404, "shop_not_found")
    assert_problem(await shop.client.post(url, headers={"Authorization": "Bearer nope"}, json={"share_code": code}),
                   401, "invalid_token")
    assert await shop.count("fission_visits") == 0


async def test_reshares_build_an_exact_tree_and_a_forged_parent_is_refused(shop: ShopHarness) -> None:
    product = (await shop.product())["id"]
    other = (await shop.product())["id"]
    alice, bob, mallory = await shop.login("alice"), await shop.login("bob"), await shop.login("mallory")
    root = await share(shop, alice, product)
    await visit(shop, bob, root["code"])
    child = await share(shop, bob, product, parent=root["code"])
    assert child["depth"] == 1
    forged = await shop.client.post(f"{shop.base}/shares", headers=mallory, json={
        "target_type": "product", "target_id": product, "channel": "friend", "parent_code": root["code"]})
    assert_problem(forged, 422, "parent_not_visited")
    wrong_target = await shop.client.post(f"{shop.base}/shares", headers=bob, json={
        "target_type": "product", "target_id": other, "channel": "friend", "parent_code": root["code"]})
    assert_problem(wrong_target, 422, "parent_target_mismatch")
    assert_problem(await shop.client.post(f"{shop.base}/shares", headers=bob, json={
        "target_type": "product", "target_id": product, "channel": "friend", "parent_code": "ZZZZZZZZZZ"}),
        404, "share_not_found")
    carol = await shop.login("carol")
    await visit(shop, carol, child["code"])
    grandchild = await share(shop, carol, product, parent=child["code"], channel="group_chat")
    assert grandchild["depth"] == 2
    roots = await shop.scalar("SELECT count(DISTINCT coalesce(root_id, id)) FROM fission_shares WHERE shop_id = :shop "
                              "AND code IN (:a, :b, :c)", a=root["code"], b=child["code"], c=grandchild["code"])
    assert roots == 1


async def test_first_touch_binds_once_and_for_good(shop: ShopHarness) -> None:
    product = (await shop.product())["id"]
    alice, bob, carol = await shop.login("alice"), await shop.login("bob"), await shop.login("carol")
    a, b = await share(shop, alice, product), await share(shop, bob, product)
    alice_id = await customer_id(shop, alice)
    first = await visit(shop, carol, a["code"])
    assert first["bound_promoter_id"] == alice_id
    assert (await visit(shop, carol, b["code"]))["bound_promoter_id"] == alice_id
    await shop.advance(400 * 86400)
    carol, alice = await shop.login("carol"), await shop.login("alice")
    assert (await visit(shop, carol, b["code"]))["bound_promoter_id"] == alice_id
    own = await visit(shop, alice, a["code"])  # one's own share binds nobody
    assert own["bound_promoter_id"] is None
    assert await shop.count("fission_bindings") == 1
    history = (await shop.client.get(f"/api/v1/console/customers/{await customer_id(shop, carol)}/binding-history",
                                     headers=shop.staff)).json()["items"]
    assert [(h["action"], h["reason"]) for h in history] == [("bind", "new")]


async def test_validity_days_lock_then_release(shop: ShopHarness) -> None:
    await settings(shop, binding_policy="validity_days", binding_days=7)
    product = (await shop.product())["id"]
    alice, bob, carol = await shop.login("alice"), await shop.login("bob"), await shop.login("carol")
    a, b = await share(shop, alice, product), await share(shop, bob, product)
    alice_id, bob_id = await customer_id(shop, alice), await customer_id(shop, bob)
    await visit(shop, carol, a["code"])
    await shop.advance(6 * 86400)
    carol = await shop.login("carol")
    assert (await visit(shop, carol, b["code"]))["bound_promoter_id"] == alice_id
    await shop.advance(1 * 86400 + 1)
    carol = await shop.login("carol")
    assert (await visit(shop, carol, b["code"]))["bound_promoter_id"] == bob_id


async def test_last_touch_respects_the_protection_window(shop: ShopHarness) -> None:
    await settings(shop, binding_policy="last_touch", protection_days=3)
    product = (await shop.product())["id"]
    alice, bob, carol = await shop.login("alice"), await shop.login("bob"), await shop.login("carol")
    a, b = await share(shop, alice, product), await share(shop, bob, product)
    alice_id, bob_id = await customer_id(shop, alice), await customer_id(shop, bob)
    await visit(shop, carol, a["code"])
    assert (await visit(shop, carol, b["code"]))["bound_promoter_id"] == alice_id
    await shop.advance(3 * 86400)
    carol = await shop.login("carol")
    assert (await visit(shop, carol, b["code"]))["bound_promoter_id"] == bob_id
    history = (await shop.client.get(f"/api/v1/console/customers/{await customer_id(shop, carol)}/binding-history",
                                     headers=shop.staff)).json()["items"]
    assert [h["action"] for h in history] == ["bind", "rebind"]
    assert history[1]["previous_promoter_id"] == alice_id


async def test_only_new_customers_can_be_bound_when_the_shop_says_so(shop: ShopHarness) -> None:
    await settings(shop, bind_new_customers_only=True)
    sku = await shop.sku(price_fen=100)
    product = await shop.scalar("SELECT product_id FROM skus WHERE id = :id", id=sku)
    alice, carol = await shop.login("alice"), await shop.login("carol")
    order = await shop.place(carol, [{"sku_id": sku, "quantity": 1}])
    await shop.pay(order)
    await shop.ship_and_receive(carol, order["order_no"])  # carol is a returning customer now
    a = await share(shop, alice, product)
    assert (await visit(shop, carol, a["code"]))["bound_promoter_id"] is None
    dave = await shop.login("dave")
    assert (await visit(shop, dave, a["code"]))["bound_promoter_id"] == await customer_id(shop, alice)


async def test_no_cycle_forms_at_any_depth(shop: ShopHarness) -> None:
    await settings(shop, binding_policy="last_touch")
    product = (await shop.product())["id"]
    a_, b_, c_ = await shop.login("a"), await shop.login("b"), await shop.login("c")
    sa, sb = [await share(shop, who, product) for who in (a_, b_)]
    sc = await share(shop, c_, product)
    await visit(shop, a_, sb["code"])  # a under b
    await visit(shop, b_, sc["code"])  # b under c
    refused = await visit(shop, c_, sa["code"])  # c under a would close a → b → c → a
    assert refused["bound_promoter_id"] is None
    history = (await shop.client.get(f"/api/v1/console/customers/{await customer_id(shop, c_)}/binding-history",
                                     headers=shop.staff)).json()["items"]
    assert [(h["action"], h["reason"]) for h in history] == [("refuse", "cycle")]


async def test_anonymous_visits_bind_at_login_and_the_landing_page_sets_the_device(shop: ShopHarness) -> None:
    product = (await shop.product())["id"]
    alice = await shop.login("alice")
    a = await share(shop, alice, product, channel="poster")
    await visit(shop, None, a["code"], device="device-0123456789")
    r = await shop.client.post(f"{shop.base}/auth/wechat-login",
                               json={"code": "sandbox:erin", "device_id": "device-0123456789"})
    erin = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await shop.client.get(f"{shop.base}/me/binding", headers=erin)).json()["promoter_id"] == \
        await customer_id(shop, alice)
    page = await shop.client.get(f"/s/{shop.slug}/r/{a['code']}")
    assert page.status_code == 303  # the storefront page of what was shared, carrying the share code
    assert page.headers["location"] == f"/s/{shop.slug}/p/{product}?share={a['code']}"
    device = page.cookies.get("lb_did")
    assert device
    shop.client.cookies.set("lb_did", device)
    try:
        r = await shop.client.post(f"{shop.base}/auth/wechat-login", json={"code": "sandbox:frank"})
    finally:
        shop.client.cookies.clear()
    frank = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await shop.client.get(f"{shop.base}/me/binding", headers=frank)).json()["promoter_id"] == \
        await customer_id(shop, alice)
    assert (await shop.client.get(f"/s/{shop.slug}/r/NOPENOPE00")).status_code == 404


async def test_orders_record_their_attribution(shop: ShopHarness) -> None:
    sku = await shop.sku(price_fen=500, stock=50)
    product = await shop.scalar("SELECT product_id FROM skus WHERE id = :id", id=sku)
    alice, bob, carol = await shop.login("alice"), await shop.login("bob"), await shop.login("carol")
    alice_id, bob_id = await customer_id(shop, alice), await customer_id(shop, bob)
    root = await share(shop, alice, product, channel="moments")
    await visit(shop, bob, root["code"])
    child = await share(shop, bob, product, parent=root["code"], channel="group_chat")
    await visit(shop, carol, child["code"])
    line = [{"sku_id": sku, "quantity": 1}]

    async def attribution(order: dict[str, Any]) -> dict[str, Any]:
        r = await shop.client.get(f"/api/v1/console/orders/{order['order_no']}/attribution", headers=shop.staff)
        assert r.status_code == 200, r.text
        return dict(r.json())

    by_code = await attribution(await shop.place(carol, line, share_code=child["code"]))
    assert (by_code["source"], by_code["share_code"], by_code["channel"], by_code["depth"]) == (
        "share_code", child["code"], "group_chat", 1)
    assert by_code["sharer_id"] == bob_id and by_code["root_sharer_id"] == alice_id
    assert by_code["bound_promoter_id"] == bob_id
    last = await attribution(await shop.place(carol, line))
    assert (last["source"], last["share_code"]) == ("last_visit", child["code"])
    await shop.advance(8 * 86400)
    carol = await shop.login("carol")
    bound = await attribution(await shop.place(carol, line))
    assert (bound["source"], bound["sharer_id"]) == ("binding", bob_id)
    dave = await shop.login("dave")
    none = await attribution(await shop.place(dave, line))
    assert (none["source"], none["sharer_id"]) == ("none", None)
    orders = await shop.count("orders")
    r = await shop.client.post(f"{shop.base}/orders", headers=carol, json={
        "lines": line, "address": ADDRESS, "share_code": "ZZZZZZZZZZ"})
    assert_problem(r, 404, "share_not_found")
    assert await shop.count("orders") == orders  # nothing was written
    kinds = dict(await shop.rows("SELECT kind, count(*) FROM fission_facts WHERE shop_id = :shop GROUP BY kind"))
    assert kinds["order"] == 4 and kinds["share"] == 2 and kinds["visit"] == 2 and kinds["bind"] == 2


async def test_the_shops_own_codes_bind_nobody(shop: ShopHarness) -> None:
    r = await shop.client.post("/api/v1/console/shares", headers=shop.staff, json={
        "target_type": "shop", "target_id": 0, "campaign": "table:12"})
    assert r.status_code == 201, r.text
    code = r.json()
    assert code["channel"] == "offline_qr" and code["sharer_id"] is None and code["campaign"] == "table:12"
    carol = await shop.login("carol")
    assert (await visit(shop, carol, code["code"]))["bound_promoter_id"] is None


async def test_share_images(shop: ShopHarness) -> None:
    product = (await shop.product(title="云南普洱茶饼 2019 年 357 克"))["id"]
    alice = await shop.login("alice")
    s = await share(shop, alice, product)
    for path, kind in (("qr_png_url", "image/png"), ("poster_png_url", "image/png"), ("qr_svg_url", "image/svg+xml"),
                       ("wxacode_png_url", "image/png")):
        r = await shop.client.get(s[path])
        assert r.status_code == 200 and r.headers["content-type"].startswith(kind), (path, r.text[:200])
        if kind == "image/png":
            assert r.content.startswith(b"\x89PNG")
    again = await shop.client.get(s["wxacode_png_url"])
    assert again.status_code == 200
    assert await shop.scalar("SELECT count(*) FROM fission_codes c JOIN fission_shares s ON s.id = c.share_id "
                             "WHERE s.shop_id = :shop") == 1


def _photo_area_colour(poster_png: bytes) -> tuple[int, ...]:
    left, top, right, bottom = IMAGE_BOX
    with Image.open(io.BytesIO(poster_png)) as poster:
        pixel: tuple[int, ...] = poster.convert("RGB").getpixel(((left + right) // 2, (top + bottom) // 2))
    return pixel


async def test_a_poster_shows_the_products_first_photo_from_the_merchants_host(shop: ShopHarness) -> None:
    alice = await shop.login("alice")
    with PhotoServer().running() as photos:
        with_photo = (await shop.product(title="红色的茶", images=[photos.url("/red.png")]))["id"]
        dead_link = (await shop.product(title="没有图", images=[photos.url("/missing")]))["id"]
        for _ in range(2):
            r = await shop.client.get((await share(shop, alice, with_photo))["poster_png_url"])
            assert r.status_code == 200 and r.headers["content-type"] == "image/png"
            assert _photo_area_colour(r.content) == (255, 0, 0)
        assert photos.hits["/red.png"] == 1  # kept on disk after the first poster
        r = await shop.client.get((await share(shop, alice, dead_link))["poster_png_url"])
        assert r.status_code == 200 and _photo_area_colour(r.content) != (255, 0, 0)  # the placeholder


async def test_a_hundred_promoters_race_for_one_new_customer(client: Any, db: Any) -> None:
    """100 simultaneous first visits through 100 promoters' codes bind exactly one under first touch."""
    shop = await make_shop(client, db)
    product = (await shop.product())["id"]
    promoters = [await shop.login(f"p{i}") for i in range(100)]
    codes = [(await share(shop, p, product))["code"] for p in promoters]
    newcomer = await shop.login("newcomer")
    results = await asyncio.gather(*(shop.client.post(f"{shop.base}/visits", headers=newcomer,
                                                      json={"share_code": c}) for c in codes))
    assert {r.status_code for r in results} == {201}
    bound = {r.json()["bound_promoter_id"] for r in results}
    assert await shop.count("fission_visits") == 100
    assert await shop.count("fission_bindings") == 1
    assert await shop.scalar(
        "SELECT count(*) FROM fission_binding_events WHERE shop_id = :shop AND action = 'bind'") == 1
    winner = await shop.scalar("SELECT promoter_id FROM fission_bindings WHERE shop_id = :shop")
    assert winner in bound and None not in bound


async def test_a_visit_may_name_the_scene_the_mini_program_received(shop: ShopHarness) -> None:
    product = (await shop.product())["id"]
    alice, carol = await shop.login("alice"), await shop.login("carol")
    s = await share(shop, alice, product, channel="poster")
    assert (await visit(shop, carol, s["scene"]))["bound_promoter_id"] == await customer_id(shop, alice)
    assert_problem(await shop.client.post(f"{shop.base}/visits", headers=carol, json={"share_code": "s=nope"}),
                   404, "share_not_found")
