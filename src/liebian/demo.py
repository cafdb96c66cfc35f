"""The demo shop that ``make run`` seeds: products with SKUs and stock, customers, an owner account."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.catalog import service as catalog
from liebian.catalog.schemas import ProductIn, SkuIn
from liebian.customers import service as customers
from liebian.customers.identity import SandboxIdentity
from liebian.kit.errors import NotFound
from liebian.shops import service as shops

DEMO_SLUG = "demo"
DEMO_EMAIL = "owner@demo.liebian.local"
# A sandbox-only demo account on the operator's own machine; live mode refuses to seed it.
DEMO_PASSWORD = "liebian-demo"

PRODUCTS: list[tuple[str, str, str, list[tuple[dict[str, str], int, int]]]] = [
    ("赣南脐橙 5斤装", "生鲜水果", "江西赣南原产地直发，现摘现发，酸甜多汁。",
     [({"规格": "5斤装"}, 3990, 200), ({"规格": "10斤装"}, 6990, 120)]),
    ("云南高山普洱茶饼", "茶饮", "357克生茶饼，古树原料，适合收藏与日常品饮。",
     [({"年份": "2019"}, 16800, 50), ({"年份": "2015"}, 32800, 20)]),
    ("纯棉亲肤T恤", "服饰", "新疆长绒棉，透气不起球，多色可选。",
     [({"颜色": "白", "尺码": "M"}, 5900, 80), ({"颜色": "白", "尺码": "L"}, 5900, 80),
      ({"颜色": "黑", "尺码": "M"}, 5900, 60), ({"颜色": "黑", "尺码": "L"}, 5900, 60)]),
    ("手工红糖姜茶", "茶饮", "古法熬制，独立小包装，冬日暖身。", [({"规格": "12袋"}, 2990, 300)]),
    ("五常稻花香大米", "粮油", "黑龙江五常核心产区，当季新米。",
     [({"规格": "5kg"}, 8990, 150), ({"规格": "10kg"}, 16900, 60)]),
    ("不锈钢保温杯", "家居", "316不锈钢内胆，12小时保温。", [({"容量": "500ml"}, 7900, 100)]),
]
CUSTOMERS = ["小明", "小红", "阿强", "Lily"]


@dataclass(frozen=True)
class DemoShop:
    slug: str
    email: str
    password: str
    created: bool


async def seed(session: AsyncSession) -> DemoShop:
    """Create the demo shop once; later calls change nothing."""
    try:
        await shops.shop_by_slug(session, DEMO_SLUG)
        return DemoShop(DEMO_SLUG, DEMO_EMAIL, DEMO_PASSWORD, created=False)
    except NotFound:
        pass
    shop, _ = await shops.create_shop(session, slug=DEMO_SLUG, name="裂变示范店", owner_email=DEMO_EMAIL,
                                      owner_password=DEMO_PASSWORD)
    for title, category, description, skus in PRODUCTS:
        await catalog.create_product(session, shop.id, ProductIn(
            title=title, category=category, description=description,
            skus=[SkuIn(specs=specs, price_fen=price, stock=stock) for specs, price, stock in skus]))
    for name in CUSTOMERS:
        identity = await SandboxIdentity().code2session(f"sandbox:{name}")
        await customers.login(session, shop_id=shop.id, openid=identity.openid, unionid=None, nickname=name)
    return DemoShop(DEMO_SLUG, DEMO_EMAIL, DEMO_PASSWORD, created=True)


# --- the demo's first day of business, played through the public API ----------------------------------------
# Everything below speaks HTTP to the app, as the console and the mini-program would: campaigns, shares and
# visits in cascades, group buys, a bargain, paid orders and a shipment. The charts and pages of a fresh
# `make run` then show a shop at work rather than empty tables.

FRIENDS = ["阿杰", "小美", "老王", "小芳", "大伟", "婷婷", "浩然", "思雨", "子轩", "欣怡", "宇航", "梓涵", "俊杰",
           "雨萱", "明轩", "佳怡", "天佑", "诗涵"]
DEMO_ADDRESS = {"province": "广东省", "city": "深圳市", "district": "南山区", "detail": "科技园科苑路 1 号"}


def _address(name: str) -> dict[str, str]:
    """Each demo customer is a different person, with a phone of their own (linked accounts are refused)."""
    everyone = CUSTOMERS + FRIENDS
    number = everyone.index(name) if name in everyone else len(everyone)
    return {"name": name, "phone": f"1380013{8000 + number:04d}", **DEMO_ADDRESS}


class DemoError(RuntimeError):
    """A demo step the API refused: the demo and the API disagree, which is a bug worth seeing."""


class _Api:
    def __init__(self, client: httpx.AsyncClient, slug: str) -> None:
        self.client, self.base = client, f"/api/v1/shops/{slug}"
        self.staff: dict[str, str] = {}
        self.customers: dict[str, dict[str, str]] = {}
        self._orders = itertools.count(1)

    async def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        r = await self.client.request(method, path, json=body, headers=headers)
        if r.status_code >= 400:
            raise DemoError(f"{method} {path}: {r.status_code} {r.text[:300]}")
        return r.json() if r.content else None

    async def console(self, method: str, path: str, body: Any = None) -> Any:
        return await self.call(method, f"/api/v1/console/{path}", body, self.staff)

    async def customer(self, name: str) -> dict[str, str]:
        if name not in self.customers:
            answer = await self.call("POST", f"{self.base}/auth/wechat-login", {"code": f"sandbox:{name}"})
            self.customers[name] = {"Authorization": f"Bearer {answer['access_token']}"}
        return self.customers[name]

    async def as_customer(self, name: str, method: str, path: str, body: Any = None,
                          extra: dict[str, str] | None = None) -> Any:
        headers = {**await self.customer(name), **(extra or {})}
        return await self.call(method, f"{self.base}/{path}", body, headers)

    async def buy(self, name: str, sku_id: int, *, share_code: str | None = None,
                  promotion: dict[str, Any] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"lines": [{"sku_id": sku_id, "quantity": 1}], "address": _address(name),
                                "payment_method": "wechat"}
        if share_code:
            body["share_code"] = share_code
        if promotion:
            body["promotion"] = promotion
        order: dict[str, Any] = await self.as_customer(name, "POST", "orders", body,
                                                       {"Idempotency-Key": f"demo-order-{next(self._orders)}"})
        trade_no = order["payment"]["out_trade_no"]
        if trade_no:
            await self.call("POST", f"/api/v1/sandbox/wechat/payments/{trade_no}/succeed", {})
        return order


async def _skus(api: _Api) -> dict[str, int]:
    page = await api.call("GET", f"{api.base}/products?limit=50")
    return {p["title"]: p["skus"][0]["id"] for p in page["items"]}


async def _set_up_marketing(api: _Api, skus: dict[str, int]) -> dict[str, int]:
    now = datetime.now(UTC)
    await api.console("PUT", "distribution/settings", {
        "enabled": True, "levels": 2, "level_rates_bps": [1000, 500], "promoter_qualification": "everyone",
        "binding_policy": "first_touch", "settle_after_days": 7})
    group = await api.console("POST", "groupbuy/campaigns", {
        "sku_id": skus["赣南脐橙 5斤装"], "group_size": 3, "group_price_fen": 2990, "duration_seconds": 86_400})
    bargain = await api.console("POST", "bargain/campaigns", {
        "sku_id": skus["不锈钢保温杯"], "start_price_fen": 7900, "floor_price_fen": 1990, "helpers_needed": 5,
        "duration_seconds": 86_400})
    await api.console("POST", "flashsale/campaigns", {
        "sku_id": skus["五常稻花香大米"], "price_fen": 5990, "stock": 50, "per_customer_limit": 2,
        "starts_at": (now - timedelta(minutes=1)).isoformat(), "ends_at": (now + timedelta(days=3)).isoformat()})
    await api.console("POST", "coupons/templates", {
        "name": "满99减15", "kind": "threshold", "amount_fen": 1500, "threshold_fen": 9900, "total_quantity": 500,
        "per_customer_limit": 1, "valid_days": 30})
    await api.console("POST", "coupons/templates", {
        "name": "新人立减5元", "kind": "fixed", "amount_fen": 500, "total_quantity": 1000, "per_customer_limit": 1,
        "valid_days": 14})
    await api.console("POST", "coupons/red-packet-offers", {
        "total_fen": 1000, "parts": 5, "min_part_fen": 50, "claim_hours": 24, "coupon_valid_days": 7})
    for name, address, lat, lng in (("科技园店", "深圳市南山区科苑路 15 号", 22.5405, 113.9345),
                                     ("福田中心店", "深圳市福田区福华三路 88 号", 22.5333, 114.0550)):
        await api.console("POST", "stores", {"name": name, "address": address, "lat": lat, "lng": lng,
                                             "pickup": True})
    today = now.date()
    ad = await api.console("POST", "campaigns", {
        "name": "朋友圈广告·脐橙季", "channel": "moments_ad", "starts_on": (today - timedelta(days=2)).isoformat(),
        "ends_on": (today + timedelta(days=12)).isoformat(), "landing": {"target_type": "shop", "target_id": 0}})
    for days_ago, spend_fen in ((2, 12_000), (1, 18_000), (0, 9_000)):
        day = (today - timedelta(days=days_ago)).isoformat()
        await api.console("PUT", f"campaigns/{ad['id']}/spend/{day}", {"amount_fen": spend_fen})
    await api.console("POST", "communities", {"name": "脐橙吃货群", "description": "分享吃法，拼团上车",
                                              "join": "open"})
    return {"group_campaign": group["id"], "bargain_campaign": bargain["id"]}


async def _share(api: _Api, name: str, target_type: str, target_id: int, channel: str,
                 parent: str | None = None) -> str:
    body: dict[str, Any] = {"target_type": target_type, "target_id": target_id, "channel": channel}
    if parent:
        body["parent_code"] = parent
    share = await api.as_customer(name, "POST", "shares", body)
    return str(share["code"])


async def _play_cascade(api: _Api, skus: dict[str, int], product_ids: dict[str, int]) -> None:
    """小明 shares the oranges; friends of friends pass them on; about half of those who look, buy."""
    orange = product_ids["赣南脐橙 5斤装"]
    root = await _share(api, "小明", "product", orange, "group_chat")
    codes = {"小明": root}
    chain = [("小红", "小明"), ("阿强", "小红"), ("Lily", "小明")] + [
        (friend, ["小明", "小红", "阿强", "Lily"][i % 4] if i < 8 else FRIENDS[i - 8]) for i, friend in
        enumerate(FRIENDS)]
    for i, (visitor, sharer) in enumerate(chain):
        code = codes.get(sharer) or codes["小明"]
        await api.as_customer(visitor, "POST", "visits", {"share_code": code})
        if i % 3 != 2:  # two in three pass it on
            codes[visitor] = await _share(api, visitor, "product", orange, "friend", parent=code)
        if i % 2 == 0:
            await api.buy(visitor, skus["赣南脐橙 5斤装"], share_code=code)
    moments = await _share(api, "Lily", "shop", 0, "moments")
    for visitor in FRIENDS[:6]:
        await api.as_customer(visitor, "POST", "visits", {"share_code": moments})


async def _play_promotions(api: _Api, skus: dict[str, int], ids: dict[str, int]) -> None:
    opened = await api.buy("小明", skus["赣南脐橙 5斤装"],
                           promotion={"kind": "groupbuy", "campaign_id": ids["group_campaign"]})
    group_id = opened["promotion"]["group_id"]
    await api.buy("小红", skus["赣南脐橙 5斤装"],
                  promotion={"kind": "groupbuy", "campaign_id": ids["group_campaign"], "group_id": group_id})
    bargain = await api.as_customer("Lily", "POST", "bargains", {"campaign_id": ids["bargain_campaign"]})
    for friend in FRIENDS[:2]:
        await api.as_customer(friend, "POST", f"bargains/{bargain['id']}/help", {},
                              {"X-Device-Id": f"demo-device-{friend.encode().hex()}"})
    first = await api.buy("阿强", skus["手工红糖姜茶"])
    await api.console("POST", f"orders/{first['order_no']}/ship", {"carrier": "顺丰速运",
                                                                   "tracking_no": "SF1234567890"})
    await api.as_customer("阿强", "POST", f"orders/{first['order_no']}/confirm-receipt")
    await api.as_customer("小明", "POST", "posts", {
        "title": "脐橙到了，真的甜！", "body": "三个人拼团只要 29.9，链接在这里，一起拼～",
        "product_ids": [(await _products(api))["赣南脐橙 5斤装"]]})


async def _products(api: _Api) -> dict[str, int]:
    page = await api.call("GET", f"{api.base}/products?limit=50")
    return {p["title"]: p["id"] for p in page["items"]}


async def play(client: httpx.AsyncClient, step: Callable[[str], None]) -> None:
    """The demo shop's first day, through the API: ``step`` is told what is happening (for a progress line)."""
    api = _Api(client, DEMO_SLUG)
    token = await api.call("POST", "/api/v1/console/auth/login", {"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    api.staff = {"Authorization": f"Bearer {token['access_token']}"}
    skus, products = await _skus(api), await _products(api)
    step("campaigns, coupons, stores and distribution")
    ids = await _set_up_marketing(api, skus)
    step("shares, visits and orders spreading from 小明")
    await _play_cascade(api, skus, products)
    step("a group buy, a bargain, a shipment and a post")
    await _play_promotions(api, skus, ids)
