"""Stores through the API: the console's stores, nearby search, pickup orders with queue numbers, and the
offline QR codes of stores and tables."""

from __future__ import annotations

import random

from sqlalchemy import text

from liebian.kit.clock import clock
from liebian.kit.crypto import mask_phone
from liebian.kit.db import Database
from liebian.stores import queries, rules
from tests.api.store_helpers import (
    CONSOLE,
    CONTACT,
    PEOPLES_SQUARE,
    nearby,
    offset,
    order_snapshot,
    picked_up,
    pickup_order,
    store,
)
from tests.conftest import ADDRESS, ShopHarness, assert_problem

LAT, LNG = PEOPLES_SQUARE


async def test_a_store_is_kept_in_wgs84_whatever_system_it_was_entered_in(shop: ShopHarness) -> None:
    g_lat, g_lng = rules.wgs84_to_gcj02(LAT, LNG)
    s = await store(shop, lat=g_lat, lng=g_lng, coord_system="gcj02", phone="021-63271234",
                    hours=[{"weekdays": [1, 2, 3, 4, 5], "opens": "09:00", "closes": "21:00"}], pickup=False)
    assert rules.haversine_m(s["lat"], s["lng"], LAT, LNG) < 0.5
    assert abs(s["gcj02_lat"] - g_lat) < 1e-6 and abs(s["gcj02_lng"] - g_lng) < 1e-6
    assert (s["status"], s["pickup"], s["phone"]) == ("open", False, "021-63271234")
    assert s["hours"] == [{"weekdays": [1, 2, 3, 4, 5], "opens": "09:00", "closes": "21:00"}]
    assert s["share_code"] and len(s["share_code"]) == 10  # its offline QR code, made at once
    plain = await store(shop, name="第二家")
    assert (plain["lat"], plain["lng"]) == (LAT, LNG) and plain["hours"] is None and plain["open_now"]
    listed = (await shop.client.get(CONSOLE, headers=shop.staff)).json()
    assert listed["total"] == 2 and [x["id"] for x in listed["items"]] == [s["id"], plain["id"]]
    got = (await shop.client.get(f"{CONSOLE}/{s['id']}", headers=shop.staff)).json()
    assert got == s
    page = await shop.client.get(f"{shop.base}/stores/{s['id']}")
    assert page.status_code == 200 and page.json()["name"] == "人民广场店"


async def test_patch_and_close_a_store(shop: ShopHarness) -> None:
    s = await store(shop)
    r = await shop.client.patch(f"{CONSOLE}/{s['id']}", headers=shop.staff,
                                json={"name": "新名字", "pickup": False, "lat": 31.0, "lng": 121.0})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["pickup"], r.json()["lat"]) == ("新名字", False, 31.0)
    r = await shop.client.post(f"{CONSOLE}/{s['id']}/close", headers=shop.staff)
    assert r.status_code == 200 and r.json()["status"] == "closed" and not r.json()["open_now"]
    assert await shop.scalar("SELECT closed_at IS NOT NULL FROM stores WHERE id = :id", id=s["id"])
    r = await shop.client.patch(f"{CONSOLE}/{s['id']}", headers=shop.staff, json={"status": "open"})
    assert r.json()["status"] == "open"
    assert await shop.scalar("SELECT closed_at IS NULL FROM stores WHERE id = :id", id=s["id"])
    assert_problem(await shop.client.patch(f"{CONSOLE}/{s['id']}", headers=shop.staff, json={"lat": 30.0}),
                   422, "validation_error")
    assert_problem(await shop.client.patch(f"{CONSOLE}/{s['id']}", headers=shop.staff, json={"name": None}),
                   422, "invalid_patch")


async def test_bad_stores_are_refused_and_nothing_is_made(shop: ShopHarness, other_shop: ShopHarness) -> None:
    for bad in ({"lat": 90.5}, {"lat": -91}, {"lng": 180.01}, {"lng": -200}, {"coord_system": "bd09"},
                {"name": ""}, {"name": "x" * 61}, {"address": " "}, {"phone": "call me"},
                {"hours": [{"opens": "25:00", "closes": "21:00"}]}, {"hours": [{"opens": "24:00", "closes": "02:00"}]},
                {"hours": [{"weekdays": [0], "opens": "09:00", "closes": "21:00"}]}, {"unknown": 1}):
        r = await shop.client.post(CONSOLE, headers=shop.staff, json={
            "name": "店", "address": "地址", "lat": LAT, "lng": LNG, **bad})
        assert_problem(r, 422, "validation_error")
    for bad_value in ("NaN", "Infinity"):  # JSON has no NaN; as a string it is not a number either
        r = await shop.client.post(CONSOLE, headers=shop.staff, json={
            "name": "店", "address": "地址", "lat": bad_value, "lng": LNG})
        assert_problem(r, 422, "validation_error")
    assert await shop.count("stores") == 0
    theirs = await store(other_shop)
    for method, path in (("GET", f"{CONSOLE}/{theirs['id']}"), ("PATCH", f"{CONSOLE}/{theirs['id']}"),
                         ("POST", f"{CONSOLE}/{theirs['id']}/close"), ("POST", f"{CONSOLE}/{theirs['id']}/tables"),
                         ("GET", f"{CONSOLE}/{theirs['id']}/codes")):
        body = {"label": "A1"} if path.endswith("tables") else ({"name": "x"} if method == "PATCH" else None)
        r = await shop.client.request(method, path, headers=shop.staff, json=body)
        assert_problem(r, 404, "store_not_found")
    assert_problem(await shop.client.get(f"{shop.base}/stores/{theirs['id']}"), 404, "store_not_found")
    assert await other_shop.scalar("SELECT name FROM stores WHERE id = :id", id=theirs["id"]) == "人民广场店"
    assert await other_shop.count("store_tables") == 0


async def test_nearby_is_sorted_by_distance_within_the_radius_and_only_this_shops_open_stores(
        shop: ShopHarness, other_shop: ShopHarness) -> None:
    made = {}
    for name, north, east in (("3km", 0, 3000), ("100m", 100, 0), ("1km", -1000, 0), ("8km", 8000, 0),
                              ("4.9km", 0, -4900)):
        lat, lng = offset(LAT, LNG, north_m=north, east_m=east)
        made[name] = await store(shop, name=name, lat=lat, lng=lng)
    closed = await store(shop, name="closed", lat=offset(LAT, LNG, north_m=50)[0], lng=LNG)
    await shop.client.post(f"{CONSOLE}/{closed['id']}/close", headers=shop.staff)
    await store(other_shop, name="theirs", lat=LAT, lng=LNG)

    page = await nearby(shop, LAT, LNG)
    assert page["radius_m"] == 5000
    assert [s["name"] for s in page["items"]] == ["100m", "1km", "3km", "4.9km"]
    for item, expected in zip(page["items"], (100, 1000, 3000, 4900), strict=True):
        assert abs(item["distance_m"] - expected) <= expected * 0.005 + 1
        assert item["open_now"] and item["pickup"] and item["status"] == "open"
    assert [s["name"] for s in (await nearby(shop, LAT, LNG, radius_m=2000))["items"]] == ["100m", "1km"]
    assert [s["name"] for s in (await nearby(shop, LAT, LNG, radius_m=50_000))["items"]][-1] == "8km"
    assert [s["name"] for s in (await nearby(shop, LAT, LNG, radius_m=50, limit=5))["items"]] == []
    assert [s["name"] for s in (await nearby(shop, LAT, LNG, limit=2))["items"]] == ["100m", "1km"]
    # The buyer's phone gives GCJ-02: the same place, the same answer.
    g_lat, g_lng = rules.wgs84_to_gcj02(*offset(LAT, LNG, north_m=100))
    gcj = await nearby(shop, g_lat, g_lng, coord_system="gcj02", radius_m=10)
    assert [s["name"] for s in gcj["items"]] == ["100m"] and gcj["items"][0]["distance_m"] <= 1
    assert [s["name"] for s in (await nearby(other_shop, LAT, LNG))["items"]] == ["theirs"]


async def test_open_now_follows_the_hours_in_beijing_time(shop: ShopHarness) -> None:
    weekday = rules.local_time(clock.now()).isoweekday()
    other_day = weekday % 7 + 1
    await store(shop, name="open", hours=[{"weekdays": [weekday], "opens": "00:00", "closes": "24:00"}])
    await store(shop, name="shut today", hours=[{"weekdays": [other_day], "opens": "00:00", "closes": "24:00"}])
    items = {s["name"]: s["open_now"] for s in (await nearby(shop, LAT, LNG))["items"]}
    assert items == {"open": True, "shut today": False}  # flagged, still listed: the buyer may order ahead


async def test_bad_nearby_queries_are_refused(shop: ShopHarness) -> None:
    for params in ({"lat": 91, "lng": LNG}, {"lat": LAT, "lng": -181}, {"lat": "north", "lng": LNG},
                   {"lat": LAT}, {"lat": LAT, "lng": LNG, "radius_m": 50_001}, {"lat": LAT, "lng": LNG, "radius_m": 0},
                   {"lat": LAT, "lng": LNG, "coord_system": "bd09"}, {"lat": "nan", "lng": LNG},
                   {"lat": LAT, "lng": LNG, "limit": 101}):
        r = await shop.client.get(f"{shop.base}/stores/nearby", params=params)
        assert_problem(r, 422, "validation_error")
    assert_problem(await shop.client.get("/api/v1/shops/no-such-shop/stores/nearby",
                                         params={"lat": LAT, "lng": LNG}), 404, "shop_not_found")


async def test_nearby_is_one_statement_after_the_shop(shop: ShopHarness, count_statements: object) -> None:
    for i in range(3):
        await store(shop, name=f"s{i}", lat=offset(LAT, LNG, north_m=100 * i)[0])
    await nearby(shop, LAT, LNG)  # warm: the shop is cached or not, the same either way
    with count_statements() as counter:  # type: ignore[operator]
        page = await nearby(shop, LAT, LNG)
    assert len(page["items"]) == 3
    reads = [s for s in counter.statements if s.lstrip().upper().startswith("SELECT")]
    assert sum("FROM stores" in s for s in reads) == 1 and len(reads) <= 2, counter.statements


async def test_haversine_agrees_with_earth_distance(db: Database) -> None:
    rng = random.Random(8)
    async with db.sessions() as session:
        for _ in range(200):
            a = (rng.uniform(18, 53), rng.uniform(74, 134))
            b = (a[0] + rng.uniform(-0.5, 0.5), a[1] + rng.uniform(-0.5, 0.5))
            d = (await session.execute(text("SELECT earth_distance(ll_to_earth(:a, :b), ll_to_earth(:c, :d))"),
                                       {"a": a[0], "b": a[1], "c": b[0], "d": b[1]})).scalar_one()
            h = rules.haversine_m(*a, *b)
            assert abs(d - h) <= 0.005 * h + 0.01


async def test_a_pickup_order_from_placing_to_collection(shop: ShopHarness) -> None:
    r = await shop.client.patch("/api/v1/console/shop/settings", headers=shop.staff,
                                json={"shipping_fee_fen": 800, "free_shipping_threshold_fen": 100_000})
    assert r.status_code == 200, r.text
    s = await store(shop)
    sku = await shop.sku(price_fen=1500)
    ann, bob = await shop.login("ann"), await shop.login("bob")
    first = await pickup_order(shop, ann, sku, s["id"])
    assert (first["fulfilment"], first["store_id"], first["pickup_no"]) == ("pickup", s["id"], 1)
    assert (first["shipping_fen"], first["payable_fen"]) == (0, 1500)  # no shipping for a pickup
    second = await pickup_order(shop, bob, sku, s["id"], contact=None, address=ADDRESS)  # contact from the address
    assert second["pickup_no"] == 2
    delivered = await shop.place(ann, [{"sku_id": sku, "quantity": 1}])
    assert (delivered["fulfilment"], delivered["pickup_no"], delivered["shipping_fen"]) == ("delivery", None, 800)

    await shop.pay(first)
    assert_problem(await shop.client.post(f"/api/v1/console/orders/{first['order_no']}/ship", headers=shop.staff,
                                          json={"carrier": "SF", "tracking_no": "SF1"}), 409,
                   "pickup_order_not_shipped")  # handed over at the counter, never given to a carrier
    got = await shop.order(ann, first["order_no"])
    assert (got["status"], got["fulfilment"], got["store_id"], got["pickup_no"]) == ("paid", "pickup", s["id"], 1)
    # The phone is masked in every order answer (the console's contact view shows it: tests/security).
    assert got["address"] == {**CONTACT, "phone": mask_phone(CONTACT["phone"])}
    assert (await shop.order(bob, second["order_no"]))["address"] == {"name": ADDRESS["name"],
                                                                       "phone": mask_phone(ADDRESS["phone"])}

    assert_problem(await shop.client.post(f"/api/v1/console/orders/{second['order_no']}/picked-up",
                                          headers=shop.staff), 409, "order_not_shippable")  # not paid yet
    done = await picked_up(shop, first["order_no"])
    assert (done["status"], done["pickup_no"], done["store_id"]) == ("completed", 1, s["id"])
    assert (await shop.order(ann, first["order_no"]))["status"] == "completed"
    assert_problem(await shop.client.post(f"/api/v1/console/orders/{first['order_no']}/picked-up",
                                          headers=shop.staff), 409, "order_not_shippable")
    await shop.pay(delivered)
    assert_problem(await shop.client.post(f"/api/v1/console/orders/{delivered['order_no']}/picked-up",
                                          headers=shop.staff), 409, "not_a_pickup_order")
    assert_problem(await shop.client.post("/api/v1/console/orders/NOPE/picked-up", headers=shop.staff),
                   404, "order_not_found")
    async with shop.db.sessions() as session:
        assert await queries.violations(session) == []


async def test_cash_at_the_counter_is_collected_before_pickup(shop: ShopHarness) -> None:
    s = await store(shop)
    sku = await shop.sku(price_fen=900)
    ann = await shop.login("ann")
    cod = await pickup_order(shop, ann, sku, s["id"], payment_method="cod")
    assert cod["pickup_no"] == 1
    assert_problem(await shop.client.post(f"/api/v1/console/orders/{cod['order_no']}/picked-up",
                                          headers=shop.staff), 409, "cod_not_collected")
    assert (await shop.order(ann, cod["order_no"]))["status"] == "pending_payment"
    r = await shop.client.post(f"/api/v1/console/orders/{cod['order_no']}/cash-collected", headers=shop.staff)
    assert r.status_code == 200, r.text
    assert (await picked_up(shop, cod["order_no"]))["status"] == "completed"


async def test_bad_pickup_orders_are_refused_and_change_nothing(shop: ShopHarness, other_shop: ShopHarness) -> None:
    sku = await shop.sku(price_fen=1000, stock=5)
    ann = await shop.login("ann")
    mine, theirs = await store(shop), await store(other_shop)
    no_pickup = await store(shop, name="无自提", pickup=False)
    closed = await store(shop, name="已关")
    await shop.client.post(f"{CONSOLE}/{closed['id']}/close", headers=shop.staff)
    await pickup_order(shop, ann, sku, mine["id"])  # one good order, so counters exist
    before = await order_snapshot(shop)
    line = [{"sku_id": sku, "quantity": 1}]
    url = f"{shop.base}/orders"
    cases = [
        ({"fulfilment": "pickup", "store_id": theirs["id"], "contact": CONTACT}, 404, "store_not_found"),
        ({"fulfilment": "pickup", "store_id": 999_999_999, "contact": CONTACT}, 404, "store_not_found"),
        ({"fulfilment": "pickup", "store_id": closed["id"], "contact": CONTACT}, 409, "store_closed"),
        ({"fulfilment": "pickup", "store_id": no_pickup["id"], "contact": CONTACT}, 409, "pickup_not_offered"),
        ({"fulfilment": "pickup", "contact": CONTACT}, 422, "store_required"),
        ({"fulfilment": "pickup", "store_id": mine["id"]}, 422, "contact_required"),
        ({"fulfilment": "pickup", "store_id": mine["id"], "contact": {"name": "x", "phone": "123"}}, 422,
         "validation_error"),
        ({"fulfilment": "pickup", "store_id": 0, "contact": CONTACT}, 422, "validation_error"),
        ({"fulfilment": "teleport", "store_id": mine["id"], "contact": CONTACT}, 422, "validation_error"),
        ({}, 422, "address_required"),
        ({"address": ADDRESS, "store_id": mine["id"]}, 422, "store_not_for_delivery"),
    ]
    for body, status, code in cases:
        assert_problem(await shop.client.post(url, headers=ann, json={"lines": line, **body}), status, code)
    assert await order_snapshot(shop) == before
    assert await shop.scalar("SELECT last FROM store_pickup_counters WHERE store_id = :s", s=mine["id"]) == 1


async def test_store_and_table_codes_are_offline_qr_shares(shop: ShopHarness, other_shop: ShopHarness) -> None:
    s = await store(shop)
    r = await shop.client.post(f"{CONSOLE}/{s['id']}/tables", headers=shop.staff, json={"label": "A1"})
    assert r.status_code == 201, r.text
    table = r.json()
    assert table["label"] == "A1" and table["qr"]["code"] == table["share_code"]
    assert table["qr"]["url"].endswith(f"/s/{shop.slug}/r/{table['share_code']}")
    assert_problem(await shop.client.post(f"{CONSOLE}/{s['id']}/tables", headers=shop.staff, json={"label": "A1"}),
                   409, "table_exists")
    assert_problem(await shop.client.post(f"{CONSOLE}/{s['id']}/tables", headers=shop.staff, json={"label": " "}),
                   422, "validation_error")
    codes = (await shop.client.get(f"{CONSOLE}/{s['id']}/codes", headers=shop.staff)).json()
    assert codes["store"]["code"] == s["share_code"] and [t["label"] for t in codes["tables"]] == ["A1"]
    shares = await shop.rows("SELECT code, target_type, target_id, channel, campaign FROM fission_shares "
                             "WHERE shop_id = :shop ORDER BY id")
    assert shares == [(s["share_code"], "store", s["id"], "offline_qr", None),
                      (table["share_code"], "store", s["id"], "offline_qr", "table:A1")]
    png = await shop.client.get(codes["tables"][0]["qr"]["qr_png_url"])
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")

    # A scan is a visit on channel offline_qr, to the store.
    carol = await shop.login("carol")
    r = await shop.client.post(f"{shop.base}/visits", headers=carol, json={"share_code": table["share_code"]})
    assert r.status_code == 201, r.text
    assert (r.json()["target_type"], r.json()["target_id"]) == ("store", s["id"])
    assert await shop.rows("SELECT channel FROM fission_visits WHERE shop_id = :shop") == [("offline_qr",)]
    # Customers can share a store too; a store of another shop is no target.
    r = await shop.client.post(f"{shop.base}/shares", headers=carol,
                               json={"target_type": "store", "target_id": s["id"], "channel": "friend"})
    assert r.status_code == 201, r.text
    theirs = await store(other_shop)
    r = await shop.client.post(f"{shop.base}/shares", headers=carol,
                               json={"target_type": "store", "target_id": theirs["id"], "channel": "friend"})
    assert_problem(r, 404, "target_not_found")


async def test_check_finds_a_counter_behind_its_numbers(shop: ShopHarness) -> None:
    s = await store(shop)
    sku = await shop.sku()
    ann = await shop.login("ann")
    for _ in range(2):
        await pickup_order(shop, ann, sku, s["id"])
    async with shop.db.sessions() as session:
        assert await queries.violations(session) == []
        await session.execute(text("UPDATE store_pickup_counters SET last = 1 WHERE store_id = :s"), {"s": s["id"]})
        found = await queries.violations(session)
        await session.rollback()
    assert [v.check for v in found] == ["pickup_counter_ahead"]

