"""Speaking the flash sale through the API, and switching Redis on for a test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from liebian.flashsale import queries, redis_stock
from liebian.kit import redis as kit_redis
from liebian.kit.clock import clock
from tests.conftest import ADDRESS, ShopHarness

CONSOLE = "/api/v1/console/flashsale"


def window(start_in: float = -1, length: float = 3600) -> dict[str, str]:
    starts = clock.now() + timedelta(seconds=start_in)
    return {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(seconds=length)).isoformat()}


async def campaign(shop: ShopHarness, sku_id: int, *, expect: int = 201, start_in: float = -1, length: float = 3600,
                   **fields: Any) -> dict[str, Any]:
    body = {"sku_id": sku_id, "price_fen": 500, "stock": 10, "per_customer_limit": 1, **window(start_in, length),
            **fields}
    r = await shop.client.post(f"{CONSOLE}/campaigns", headers=shop.staff, json=body)
    assert r.status_code == expect, r.text
    return dict(r.json())


async def setup(shop: ShopHarness, *, price_fen: int = 1000, sku_stock: int = 100, **fields: Any
                ) -> tuple[int, dict[str, Any]]:
    """A product and a running slot on its SKU: (sku id, campaign)."""
    sku = await shop.sku(price_fen=price_fen, stock=sku_stock)
    return sku, await campaign(shop, sku, **fields)


def promotion(campaign_id: int) -> dict[str, Any]:
    return {"kind": "flashsale", "campaign_id": campaign_id}


async def order(shop: ShopHarness, buyer: dict[str, str], sku: int, campaign_id: int, *, quantity: int = 1,
                expect: int = 201, **body: Any) -> dict[str, Any]:
    return await shop.place(buyer, [{"sku_id": sku, "quantity": quantity}], expect=expect,
                            promotion=promotion(campaign_id), **body)


async def enter(shop: ShopHarness, buyer: dict[str, str], campaign_id: int, *, quantity: int = 1,
                expect: int | None = None, **body: Any) -> dict[str, Any]:
    r = await shop.client.post(f"{shop.base}/flashsale/campaigns/{campaign_id}/entries", headers=buyer,
                               json={"quantity": quantity, "address": ADDRESS, **body})
    if expect is not None:
        assert r.status_code == expect, r.text
    return {"status_code": r.status_code, **r.json()}


async def entry(shop: ShopHarness, buyer: dict[str, str], entry_id: str) -> dict[str, Any]:
    r = await shop.client.get(f"{shop.base}/flashsale/entries/{entry_id}", headers=buyer)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def decided(shop: ShopHarness, buyer: dict[str, str], entry_id: str, timeout: float = 15) -> dict[str, Any]:
    """Poll a ticket until the queue drain decided it (ordered or failed)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        got = await entry(shop, buyer, entry_id)
        if got["status"] != "queued":
            return got
        assert asyncio.get_running_loop().time() < deadline, f"entry {entry_id} still queued"
        await asyncio.sleep(0.02)


async def slot(shop: ShopHarness, campaign_id: int) -> dict[str, Any]:
    r = await shop.client.get(f"{CONSOLE}/campaigns/{campaign_id}", headers=shop.staff)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def counts(shop: ShopHarness, campaign_id: int) -> tuple[int, int, int]:
    """(sold, units counted for customers, orders) in PostgreSQL."""
    sold = await shop.scalar("SELECT sold FROM flashsale_campaigns WHERE id = :c", c=campaign_id)
    bought = await shop.scalar("SELECT coalesce(sum(bought), 0) FROM flashsale_buyers WHERE campaign_id = :c",
                               c=campaign_id)
    orders = await shop.scalar("SELECT count(*) FROM orders WHERE shop_id = :shop AND promotion->>'campaign_id' = "
                               ":c AND promotion->>'kind' = 'flashsale'", c=str(campaign_id))
    return int(sold), int(bought), int(orders)


async def check_invariants(shop: ShopHarness) -> None:
    from liebian.checks import run

    async with shop.db.sessions() as session:
        failed = [(name, found) for name, found in await run(session) if found]
        failed += [("flash sale", found) for found in [await queries.violations(session)] if found]
    assert not failed, failed


@asynccontextmanager
async def redis_on(app: Any, url: str) -> AsyncIterator[Any]:
    """Redis configured for the app under test (and for sweepers and the outbox), as LIEBIAN_REDIS_URL would."""
    client = kit_redis.connect(url)
    previous = app.state.redis
    app.state.redis = client
    kit_redis.install(client)
    redis_stock._down_until[0] = 0.0
    try:
        yield client
    finally:
        from liebian.flashsale.queue import stop_drains

        await stop_drains()
        app.state.redis = previous
        kit_redis.install(previous)
        await client.aclose()


async def redis_left(client: Any, campaign_id: int) -> int | None:
    value = await client.hget(redis_stock.Keys(campaign_id).state, "left")
    return None if value is None else int(value)
