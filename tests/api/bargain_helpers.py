"""Speaking bargain through the API, as the mini-program and the console do."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import ADDRESS, ShopHarness

CONSOLE = "/api/v1/console/bargain"
TABLES = ("bargain_campaigns", "bargain_bargains", "bargain_helps", "bargain_initiations", "bargain_help_quotas",
          "orders")


async def campaign(shop: ShopHarness, sku_id: int, *, expect: int = 201, **fields: Any) -> dict[str, Any]:
    body = {"sku_id": sku_id, "start_price_fen": 1000, "floor_price_fen": 100, "helpers_needed": 3,
            "duration_seconds": 3600, **fields}
    r = await shop.client.post(f"{CONSOLE}/campaigns", headers=shop.staff, json=body)
    assert r.status_code == expect, r.text
    return dict(r.json())


async def setup(shop: ShopHarness, *, price_fen: int = 1000, sku_stock: int = 100, **fields: Any
                ) -> tuple[int, dict[str, Any]]:
    """A product and a campaign on its SKU: (sku id, campaign)."""
    sku = await shop.sku(price_fen=price_fen, stock=sku_stock)
    return sku, await campaign(shop, sku, **fields)


def device(name: str) -> dict[str, str]:
    return {"X-Device-Id": f"device-{name}"}


async def start(shop: ShopHarness, customer: dict[str, str], campaign_id: int, *, expect: int = 201,
                headers: dict[str, str] | None = None) -> dict[str, Any]:
    r = await shop.client.post(f"{shop.base}/bargains", headers={**customer, **(headers or {})},
                               json={"campaign_id": campaign_id})
    assert r.status_code == expect, r.text
    return dict(r.json())


async def help_(shop: ShopHarness, friend: dict[str, str], bargain_id: int, *,
                headers: dict[str, str] | None = None) -> httpx.Response:
    return await shop.client.post(f"{shop.base}/bargains/{bargain_id}/help", headers={**friend, **(headers or {})})


async def helped(shop: ShopHarness, friend: dict[str, str], bargain_id: int, **kw: Any) -> dict[str, Any]:
    r = await help_(shop, friend, bargain_id, **kw)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def page(shop: ShopHarness, bargain_id: int, viewer: dict[str, str] | None = None) -> dict[str, Any]:
    r = await shop.client.get(f"{shop.base}/bargains/{bargain_id}", headers=viewer or {})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def friends(shop: ShopHarness, n: int, prefix: str = "friend") -> list[dict[str, str]]:
    return [await shop.login(f"{prefix}{i}") for i in range(n)]


async def complete(shop: ShopHarness, bargain: dict[str, Any], prefix: str = "helper") -> list[dict[str, Any]]:
    """Every required friend cuts once: the answers."""
    return [await helped(shop, f, bargain["id"]) for f in await friends(shop, bargain["helpers_needed"], prefix)]


def promotion(bargain_id: int) -> dict[str, Any]:
    return {"kind": "bargain", "bargain_id": bargain_id}


async def buy(shop: ShopHarness, buyer: dict[str, str], sku: int, bargain_id: int, *, quantity: int = 1,
              expect: int = 201, **body: Any) -> dict[str, Any]:
    return await shop.place(buyer, [{"sku_id": sku, "quantity": quantity}], expect=expect,
                            promotion=promotion(bargain_id), **body)


async def buy_response(shop: ShopHarness, buyer: dict[str, str], sku: int, bargain_id: int) -> httpx.Response:
    return await shop.client.post(f"{shop.base}/orders", headers=buyer, json={
        "lines": [{"sku_id": sku, "quantity": 1}], "address": ADDRESS, "promotion": promotion(bargain_id)})


async def snapshot(shop: ShopHarness, sku: int | None = None) -> dict[str, Any]:
    """Row counts of the bargain tables and orders, the counters, the bargains' prices, and a SKU's stock."""
    counts: dict[str, Any] = {t: await shop.count(t) for t in TABLES}
    counts["quota_used"] = await shop.scalar("SELECT coalesce(sum(used), 0) FROM bargain_help_quotas "
                                             "WHERE shop_id = :shop")
    counts["initiated"] = await shop.scalar("SELECT coalesce(sum(started), 0) FROM bargain_initiations "
                                            "WHERE shop_id = :shop")
    counts["bargains"] = await shop.rows("SELECT id, status, current_price_fen, help_count, order_id FROM "
                                         "bargain_bargains WHERE shop_id = :shop ORDER BY id")
    counts["campaign_stock"] = await shop.rows("SELECT id, stock_left FROM bargain_campaigns WHERE shop_id = :shop "
                                               "ORDER BY id")
    if sku is not None:
        counts["sku_stock"] = await shop.stock(sku)
    return counts


async def check_invariants(shop: ShopHarness) -> None:
    from liebian.bargain.queries import violations
    from liebian.checks import run

    async with shop.db.sessions() as session:
        failed = [(name, found) for name, found in await run(session) if found]
        failed += [("bargain", found) for found in [await violations(session)] if found]
    assert not failed, failed
