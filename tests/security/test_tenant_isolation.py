"""Tenant isolation, route by route: every route of the OpenAPI document that names a resource in its path is
called by shop B (B's staff token, or B's slug with a customer of B) with shop A's real ids, and must answer
404 (never 403, never the data) and leave every row of shop A as it was.

The routes come from ``app.openapi()``, so a new route is walked without anyone listing it; one this test cannot
call must be listed in ``NOT_EXERCISED`` with the reason, and an id parameter it has no fixture for fails it.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text

from tests.conftest import ShopHarness
from tests.security.busy_shop import BusyShop, populate
from tests.security.openapi_bodies import body_for

# (method, path) → why this test does not call it.
NOT_EXERCISED: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/sandbox/wechat/payments/{out_trade_no}/succeed"):
        "sandbox only (absent in live mode): the fake WeChat's payer, not a tenant's API",
}

# A path parameter → the key of shop A's id in BusyShop.ids; some names mean different things by module.
_BY_PREFIX = [
    (r"/groupbuy/campaigns/\{campaign_id\}", "campaign_id", "groupbuy_campaign_id"),
    (r"/bargain/campaigns/\{campaign_id\}", "campaign_id", "bargain_campaign_id"),
    (r"/flashsale/campaigns/\{campaign_id\}", "campaign_id", "flashsale_campaign_id"),
    (r"/console/campaigns/\{campaign_id\}", "campaign_id", "ad_campaign_id"),
    (r"/(shares|r)/\{code\}", "code", "share_code"),
    (r"/red-packets/\{code\}", "code", "packet_code"),
    (r"/communities/invite/\{code\}", "code", "invite_code"),
]
_PLAIN = {"action": "disable"}


def value_for(path: str, name: str, ids: dict[str, Any]) -> Any:
    for pattern, param, key in _BY_PREFIX:
        if param == name and re.search(pattern, path):
            return ids[key]
    if name in _PLAIN:
        return _PLAIN[name]
    return ids[name]


async def snapshot(shop: ShopHarness) -> dict[str, str]:
    """A digest of every row of the shop in every table that has a ``shop_id``, and of its own row."""
    async with shop.db.sessions() as session:
        tables = [r[0] for r in await session.execute(text(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'shop_id' "
            "AND table_schema = 'public' ORDER BY table_name"))]
        digests = {}
        for table in [*tables, "shops"]:
            where = "id = :shop" if table == "shops" else "shop_id = :shop"
            digests[table] = (await session.execute(text(
                f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t WHERE {where}"),
                {"shop": shop.shop_id})).scalar_one()
    return digests


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, ops in spec["paths"].items() for method, op in ops.items()
            if re.search(r"\{(?!shop\})\w+\}", path)]


async def test_every_route_with_an_id_is_404_for_another_shop(shop: ShopHarness, other_shop: ShopHarness) -> None:
    busy: BusyShop = await populate(shop)
    spec = (await shop.client.get("/openapi.json")).json()
    b_customer = await other_shop.login("intruder")
    before = await snapshot(shop)
    failures, unknown, called = [], [], 0
    for method, path, op in _operations(spec):
        if (method, path) in NOT_EXERCISED:
            continue
        try:
            url = re.sub(r"\{(\w+)\}", lambda m: str(other_shop.slug if m.group(1) == "shop" else
                                                     value_for(path, m.group(1), busy.ids)), path)
        except KeyError as missing:
            unknown.append(f"{method} {path}: no fixture for {missing}")
            continue
        headers = other_shop.staff if path.startswith("/api/v1/console/") else b_customer
        r = await shop.client.request(method, url, headers=headers, json=body_for(spec, op))
        called += 1
        if r.status_code != 404:
            failures.append(f"{method} {url} -> {r.status_code} {r.text[:160]}")
    assert not unknown, "routes neither exercised nor listed in NOT_EXERCISED:\n" + "\n".join(unknown)
    assert not failures, f"{len(failures)} of {called} routes did not answer 404:\n" + "\n".join(failures)
    assert await snapshot(shop) == before
    assert called >= 100  # the walk reached the routes (138 when this was written)


async def test_shop_as_token_for_another_shops_slug_is_refused(shop: ShopHarness, other_shop: ShopHarness) -> None:
    """A customer of shop B on shop A's customer routes: refused before any id is looked at (401)."""
    busy = await populate(shop)
    b_customer = await other_shop.login("intruder")
    before = await snapshot(shop)
    for path in (f"{shop.base}/orders/{busy.ids['order_no']}", f"{shop.base}/coupons/{busy.ids['coupon_id']}",
                 f"{shop.base}/promoter/withdrawals/{busy.ids['withdrawal_id']}"):
        r = await shop.client.get(path, headers=b_customer)
        assert r.status_code == 401, r.text
        assert r.json()["code"] == "invalid_token"
    r = await shop.client.post(f"{shop.base}/orders/{busy.ids['order_no']}/cancel", headers=b_customer)
    assert r.status_code == 401
    assert await snapshot(shop) == before
