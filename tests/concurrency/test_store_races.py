"""Queue numbers raced on real PostgreSQL connections: every order is its own request and transaction."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from liebian.stores import queries
from tests.api.store_helpers import CONTACT, store
from tests.conftest import ShopHarness

pytestmark = pytest.mark.concurrency


async def _order(shop: ShopHarness, buyer: dict[str, str], sku: int, store_id: int) -> tuple[int, dict[str, Any]]:
    r = await shop.client.post(f"{shop.base}/orders", headers=buyer, json={
        "lines": [{"sku_id": sku, "quantity": 1}], "fulfilment": "pickup", "store_id": store_id,
        "contact": CONTACT, "payment_method": "cod"})
    return r.status_code, r.json()


async def test_thirty_concurrent_pickup_orders_get_thirty_consecutive_numbers(shop: ShopHarness) -> None:
    s = await store(shop)
    sku = await shop.sku(stock=1000)
    buyers = [await shop.login(f"racer{i}") for i in range(30)]
    results = await asyncio.gather(*(_order(shop, b, sku, s["id"]) for b in buyers))
    assert {status for status, _ in results} == {201}, results
    assert sorted(body["pickup_no"] for _, body in results) == list(range(1, 31))
    assert await shop.scalar("SELECT last FROM store_pickup_counters WHERE store_id = :s", s=s["id"]) == 30
    stored = await shop.rows("SELECT pickup_no FROM orders WHERE shop_id = :shop ORDER BY pickup_no")
    assert [r[0] for r in stored] == list(range(1, 31))


async def test_two_stores_count_apart_under_concurrency(shop: ShopHarness) -> None:
    a, b = await store(shop, name="A"), await store(shop, name="B")
    sku = await shop.sku(stock=1000)
    buyers = [await shop.login(f"two{i}") for i in range(30)]
    results = await asyncio.gather(*(_order(shop, buyer, sku, (a, b)[i % 3 == 0]["id"])
                                     for i, buyer in enumerate(buyers)))
    assert {status for status, _ in results} == {201}
    by_store: dict[int, list[int]] = {}
    for _, body in results:
        by_store.setdefault(body["store_id"], []).append(body["pickup_no"])
    assert sorted(by_store[a["id"]]) == list(range(1, 21)) and sorted(by_store[b["id"]]) == list(range(1, 11))
    async with shop.db.sessions() as session:
        assert await queries.violations(session) == []
