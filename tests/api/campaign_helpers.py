"""Speaking campaigns through the API, as the console and the mini-program do."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

from liebian.campaigns.rules import local_day
from liebian.kit.clock import clock
from tests.conftest import ShopHarness

CONSOLE = "/api/v1/console/campaigns"


def today() -> date:
    """The server's Asia/Shanghai day (the app runs in this process, on the same clock)."""
    return local_day(clock.now())


def days_ago(n: int) -> str:
    return (today() - timedelta(days=n)).isoformat()


async def campaign(shop: ShopHarness, *, expect: int = 201, **fields: Any) -> dict[str, Any]:
    body = {"name": "朋友圈广告", "channel": "moments_ad", "starts_on": days_ago(2),
            "ends_on": (today() + timedelta(days=5)).isoformat(), "landing": {"target_type": "shop", "target_id": 0},
            **fields}
    r = await shop.client.post(CONSOLE, headers=shop.staff, json=body)
    assert r.status_code == expect, r.text
    return dict(r.json())


async def add_code(shop: ShopHarness, campaign_id: int, label: str | None = None, *, expect: int = 201
                   ) -> dict[str, Any]:
    r = await shop.client.post(f"{CONSOLE}/{campaign_id}/codes", headers=shop.staff,
                               json={} if label is None else {"label": label})
    assert r.status_code == expect, r.text
    return dict(r.json())


async def login(shop: ShopHarness, name: str, device_id: str | None = None) -> dict[str, str]:
    body: dict[str, Any] = {"code": f"sandbox:{name}"}
    if device_id:
        body["device_id"] = device_id
    r = await shop.client.post(f"{shop.base}/auth/wechat-login", json=body)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def visit(shop: ShopHarness, code: str, *, customer: dict[str, str] | None = None,
                device: str | None = None) -> None:
    headers = dict(customer or {})
    if device:
        headers["X-Device-Id"] = device
    r = await shop.client.post(f"{shop.base}/visits", json={"share_code": code}, headers=headers)
    assert r.status_code == 201, r.text


async def search(shop: ShopHarness, q: str, *, customer: dict[str, str] | None = None,
                 device: str | None = None) -> dict[str, Any]:
    headers = dict(customer or {})
    if device:
        headers["X-Device-Id"] = device
    r = await shop.client.get(f"{shop.base}/products", params={"q": q}, headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def paid_order(shop: ShopHarness, buyer: dict[str, str], sku: int, quantity: int = 1,
                     **body: Any) -> dict[str, Any]:
    placed = await shop.place(buyer, [{"sku_id": sku, "quantity": quantity}], payment_method="wechat", **body)
    await shop.pay(placed)
    return placed


async def refund(shop: ShopHarness, order_no: str, amount_fen: int) -> None:
    r = await shop.client.post(f"/api/v1/console/orders/{order_no}/refunds", headers=shop.staff,
                               json={"reason": "商家退款", "amount_fen": amount_fen})
    assert r.status_code == 201, r.text
    await shop.run_due()


async def put_spend(shop: ShopHarness, campaign_id: int, day: str, amount_fen: int, *,
                    expect: int = 200) -> dict[str, Any]:
    r = await shop.client.put(f"{CONSOLE}/{campaign_id}/spend/{day}", headers=shop.staff,
                              json={"amount_fen": amount_fen})
    assert r.status_code == expect, r.text
    return dict(r.json())


async def import_csv(shop: ShopHarness, content: str, *, expect: int = 200) -> dict[str, Any]:
    r = await shop.client.post(f"{CONSOLE}/spend/import", headers={**shop.staff, "Content-Type": "text/csv"},
                               content=content.encode())
    assert r.status_code == expect, r.text
    return dict(r.json())


async def report(shop: ShopHarness, *, campaign_id: int | None = None, **params: Any) -> dict[str, Any]:
    path = f"{CONSOLE}/{campaign_id}/report" if campaign_id else f"{CONSOLE}/report"
    r = await shop.client.get(path, headers=shop.staff, params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def report_csv(shop: ShopHarness, **params: Any) -> list[dict[str, str]]:
    r = await shop.client.get(f"{CONSOLE}/report", headers=shop.staff, params={**params, "format": "csv"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(r.text)))


FIGURES = ("visits", "unique_visitors", "new_customers", "first_orders", "orders", "paying_customers", "gross_fen",
           "refunded_fen", "gmv_fen", "spend_fen", "cac_fen", "roi_bps", "roi")


def figures(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in FIGURES}
