"""Speaking stores through the API, as the console and the mini-program do."""

from __future__ import annotations

import math
from typing import Any

from tests.conftest import ShopHarness

CONSOLE = "/api/v1/console/stores"
CONTACT = {"name": "李四", "phone": "13900139000"}
# Shanghai, People's Square (WGS-84), and points around it.
PEOPLES_SQUARE = (31.2304, 121.4737)


async def store(shop: ShopHarness, *, expect: int = 201, **fields: Any) -> dict[str, Any]:
    body = {"name": "人民广场店", "address": "上海市黄浦区人民大道 1 号", "lat": PEOPLES_SQUARE[0],
            "lng": PEOPLES_SQUARE[1], **fields}
    r = await shop.client.post(CONSOLE, headers=shop.staff, json=body)
    assert r.status_code == expect, r.text
    return dict(r.json())


def offset(lat: float, lng: float, *, north_m: float = 0, east_m: float = 0) -> tuple[float, float]:
    """A point ``north_m`` / ``east_m`` metres from (lat, lng) (small distances)."""
    return lat + north_m / 111_195.0, lng + east_m / (111_195.0 * math.cos(math.radians(lat)))


async def nearby(shop: ShopHarness, lat: float, lng: float, *, expect: int = 200, **params: Any) -> dict[str, Any]:
    r = await shop.client.get(f"{shop.base}/stores/nearby", params={"lat": lat, "lng": lng, **params})
    assert r.status_code == expect, r.text
    return dict(r.json())


async def pickup_order(shop: ShopHarness, buyer: dict[str, str], sku: int, store_id: int, *, expect: int = 201,
                       **body: Any) -> dict[str, Any]:
    """A pickup order: no shipping address, a contact instead."""
    r = await shop.client.post(f"{shop.base}/orders", headers=buyer, json={
        "lines": [{"sku_id": sku, "quantity": 1}], "fulfilment": "pickup", "store_id": store_id,
        "contact": CONTACT, **body})
    assert r.status_code == expect, r.text
    return dict(r.json())


async def picked_up(shop: ShopHarness, order_no: str, *, expect: int = 200) -> dict[str, Any]:
    r = await shop.client.post(f"/api/v1/console/orders/{order_no}/picked-up", headers=shop.staff)
    assert r.status_code == expect, r.text
    return dict(r.json())


async def order_snapshot(shop: ShopHarness) -> list[tuple[Any, ...]]:
    """Everything a refused pickup order must leave untouched."""
    return [
        (await shop.count("orders"),),
        (await shop.count("store_pickup_counters"),),
        *await shop.rows("SELECT id, stock FROM skus WHERE shop_id = :shop ORDER BY id"),
        *await shop.rows("SELECT store_id, day, last FROM store_pickup_counters WHERE shop_id = :shop"),
    ]
