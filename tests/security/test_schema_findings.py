"""What schemathesis found, kept as plain regression tests (each was a 500)."""

from __future__ import annotations

from tests.conftest import ShopHarness, assert_problem


async def test_a_null_shop_setting_is_422_and_changes_nothing(shop: ShopHarness) -> None:
    before = (await shop.client.get("/api/v1/console/shop", headers=shop.staff)).json()["settings"]
    r = await shop.client.patch("/api/v1/console/shop/settings", headers=shop.staff,
                                json={"max_lines_per_order": None, "refund_window_days": 3})
    assert_problem(r, 422, "invalid_settings")
    assert (await shop.client.get("/api/v1/console/shop", headers=shop.staff)).json()["settings"] == before
    # null stays meaningful where the setting may be empty
    r = await shop.client.patch("/api/v1/console/shop/settings", headers=shop.staff,
                                json={"free_shipping_threshold_fen": None})
    assert r.status_code == 200, r.text


async def test_subnormal_coordinates_do_not_underflow_the_geo_functions(shop: ShopHarness) -> None:
    r = await shop.client.post("/api/v1/console/stores", headers=shop.staff,
                               json={"name": "店", "address": "路 1 号", "lat": 1.175494351e-38, "lng": -5e-324})
    assert r.status_code == 201, r.text
    assert (r.json()["lat"], r.json()["lng"]) == (0.0, 0.0)
    r = await shop.client.get(f"{shop.base}/stores/nearby", params={"lat": 5e-324, "lng": 5e-324})
    assert r.status_code == 200, r.text
    assert [s["name"] for s in r.json()["items"]] == ["店"]
