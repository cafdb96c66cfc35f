"""Speaking group buying through the API, as the mini-program and the console do."""

from __future__ import annotations

from typing import Any

from tests.conftest import ShopHarness

CONSOLE = "/api/v1/console/groupbuy"


async def campaign(shop: ShopHarness, sku_id: int, *, expect: int = 201, **fields: Any) -> dict[str, Any]:
    body = {"sku_id": sku_id, "group_size": 2, "group_price_fen": 800, "duration_seconds": 3600, **fields}
    r = await shop.client.post(f"{CONSOLE}/campaigns", headers=shop.staff, json=body)
    assert r.status_code == expect, r.text
    return dict(r.json())


async def setup(shop: ShopHarness, *, price_fen: int = 1000, sku_stock: int = 100, **fields: Any
                ) -> tuple[int, dict[str, Any]]:
    """A product and a campaign on its SKU: (sku id, campaign)."""
    sku = await shop.sku(price_fen=price_fen, stock=sku_stock)
    return sku, await campaign(shop, sku, **fields)


def promotion(campaign_id: int, group_id: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "groupbuy", "campaign_id": campaign_id}
    if group_id is not None:
        body["group_id"] = group_id
    return body


async def order(shop: ShopHarness, buyer: dict[str, str], sku: int, campaign_id: int, group_id: int | None = None,
                *, quantity: int = 1, expect: int = 201, **body: Any) -> dict[str, Any]:
    """Open a group (no ``group_id``) or join one: the order, its payment and ``promotion.group_id``."""
    return await shop.place(buyer, [{"sku_id": sku, "quantity": quantity}], expect=expect,
                            promotion=promotion(campaign_id, group_id), **body)


async def paid_order(shop: ShopHarness, buyer: dict[str, str], sku: int, campaign_id: int,
                     group_id: int | None = None, **kw: Any) -> dict[str, Any]:
    placed = await order(shop, buyer, sku, campaign_id, group_id, **kw)
    if placed["payment"]["out_trade_no"]:
        await shop.pay(placed)
    return placed


async def group(shop: ShopHarness, group_id: int) -> dict[str, Any]:
    r = await shop.client.get(f"{shop.base}/groupbuy/groups/{group_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def console_group(shop: ShopHarness, group_id: int) -> dict[str, Any]:
    r = await shop.client.get(f"{CONSOLE}/groups/{group_id}", headers=shop.staff)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def settings(shop: ShopHarness, **changes: Any) -> None:
    r = await shop.client.patch("/api/v1/console/shop/settings", headers=shop.staff, json=changes)
    assert r.status_code == 200, r.text


async def check_invariants(shop: ShopHarness) -> None:
    from liebian.checks import run

    async with shop.db.sessions() as session:
        failed = [(name, found) for name, found in await run(session) if found]
    assert not failed, failed
