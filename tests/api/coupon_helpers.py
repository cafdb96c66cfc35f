"""Speaking coupons and red packets through the API, as the mini-program and the console do."""

from __future__ import annotations

from typing import Any

from tests.conftest import ShopHarness

CONSOLE = "/api/v1/console/coupons"


async def template(shop: ShopHarness, *, expect: int = 201, **fields: Any) -> dict[str, Any]:
    body = {"name": "满100减10", "kind": "fixed", "amount_fen": 1000, "total_quantity": 100,
            "per_customer_limit": 1, "valid_days": 7, **fields}
    r = await shop.client.post(f"{CONSOLE}/templates", headers=shop.staff, json=body)
    assert r.status_code == expect, r.text
    return dict(r.json())


async def claim(shop: ShopHarness, customer: dict[str, str], template_id: int, *, expect: int = 201) -> dict[str, Any]:
    r = await shop.client.post(f"{shop.base}/coupons/claim", headers=customer, json={"template_id": template_id})
    assert r.status_code == expect, r.text
    return dict(r.json())


async def coupon_for(shop: ShopHarness, customer: dict[str, str], **fields: Any) -> int:
    """A new template and one coupon of it in ``customer``'s hands: the coupon id."""
    t = await template(shop, **fields)
    return int((await claim(shop, customer, t["id"]))["id"])


async def mine(shop: ShopHarness, customer: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    r = await shop.client.get(f"{shop.base}/coupons/mine", headers=customer, params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def status_of(shop: ShopHarness, customer: dict[str, str], coupon_id: int) -> str:
    r = await shop.client.get(f"{shop.base}/coupons/{coupon_id}", headers=customer)
    assert r.status_code == 200, r.text
    return str(r.json()["status"])


async def offer(shop: ShopHarness, *, expect: int = 201, **fields: Any) -> dict[str, Any]:
    body = {"total_fen": 1000, "parts": 5, "min_part_fen": 50, "claim_hours": 24, "coupon_valid_days": 7, **fields}
    r = await shop.client.post(f"{CONSOLE}/red-packet-offers", headers=shop.staff, json=body)
    assert r.status_code == expect, r.text
    return dict(r.json())


async def paid_order(shop: ShopHarness, buyer: dict[str, str], sku: int, quantity: int = 1,
                     **body: Any) -> dict[str, Any]:
    placed = await shop.place(buyer, [{"sku_id": sku, "quantity": quantity}], **body)
    if placed["payment"]["out_trade_no"]:
        await shop.pay(placed)
    return placed


async def my_packets(shop: ShopHarness, customer: dict[str, str]) -> list[dict[str, Any]]:
    r = await shop.client.get(f"{shop.base}/red-packets/mine", headers=customer)
    assert r.status_code == 200, r.text
    return list(r.json())


async def packet(shop: ShopHarness, code: str, customer: dict[str, str] | None = None) -> dict[str, Any]:
    r = await shop.client.get(f"{shop.base}/red-packets/{code}", headers=customer or {})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def granted_packet(shop: ShopHarness, buyer: dict[str, str], **offer_fields: Any) -> dict[str, Any]:
    """An offer, a paid order by ``buyer``, and the packet it earned."""
    await offer(shop, **offer_fields)
    await paid_order(shop, buyer, await shop.sku(price_fen=5000, stock=100))
    (granted,) = await my_packets(shop, buyer)
    return granted


async def claim_packet(shop: ShopHarness, customer: dict[str, str], code: str, *, device: str | None = None,
                       expect: int = 201) -> dict[str, Any]:
    headers = dict(customer)
    if device is not None:
        headers["X-Device-Id"] = device
    r = await shop.client.post(f"{shop.base}/red-packets/{code}/claim", headers=headers)
    assert r.status_code == expect, r.text
    return dict(r.json())


async def check_invariants(shop: ShopHarness) -> None:
    from liebian.coupons.queries import violations

    async with shop.db.sessions() as session:
        found = await violations(session)
    assert not found, found
