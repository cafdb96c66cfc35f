"""A shop with one of every resource the API names by id, made through the API (a withdrawal and a seeding job,
which need days of settled sales or a background run, are written as rows), and its ids by path parameter."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import text

from tests.api import (
    bargain_helpers,
    campaign_helpers,
    community_helpers,
    coupon_helpers,
    flashsale_helpers,
    groupbuy_helpers,
    store_helpers,
)
from tests.api.distribution_helpers import enable, invite, whoami
from tests.conftest import ADDRESS, ShopHarness

CONSOLE = "/api/v1/console"


@dataclass
class BusyShop:
    shop: ShopHarness
    alice: dict[str, str]  # a promoter, who shared
    bob: dict[str, str]  # a buyer bound to alice, who owns the customer-side resources
    ids: dict[str, Any] = field(default_factory=dict)


async def _ok(r: Any, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:300]}"
    return dict(r.json()) if r.content else {}


async def _insert(shop: ShopHarness, sql: str, **params: Any) -> int:
    async with shop.db.unit_of_work() as session:
        return int((await session.execute(text(sql), {"shop": shop.shop_id, **params})).scalar_one())


async def populate(shop: ShopHarness) -> BusyShop:
    c, base = shop.client, shop.base
    await enable(shop)
    alice, bob = await shop.login("busy-alice"), await shop.login("busy-bob")
    await invite(shop, alice, bob)
    busy = BusyShop(shop, alice, bob)
    ids = busy.ids
    ids["customer_id"] = ids["member_id"] = whoami(shop, bob)

    category = await _ok(await c.post(f"{CONSOLE}/categories", headers=shop.staff, json={"name": "忙店分类"}), 201)
    ids["category_id"] = category["id"]
    product = await shop.product(title="忙店商品", stock=500)
    ids["product_id"], ids["sku_id"] = product["id"], product["skus"][0]["id"]

    address = await _ok(await c.post(f"{base}/me/addresses", headers=bob, json=ADDRESS), 201)
    ids["address_id"] = address["id"]
    template = await coupon_helpers.template(shop)
    ids["template_id"] = template["id"]
    ids["coupon_id"] = (await coupon_helpers.claim(shop, bob, template["id"]))["id"]
    ids["offer_id"] = (await coupon_helpers.offer(shop))["id"]

    share = await _ok(await c.post(f"{base}/shares", headers=alice, json={
        "target_type": "product", "target_id": product["id"], "channel": "friend"}), 201)
    ids["share_code"] = share["code"]
    await _ok(await c.post(f"{base}/visits", headers=bob, json={"share_code": share["code"]}), 201)
    order = await shop.place(bob, [{"sku_id": ids["sku_id"], "quantity": 1}], share_code=share["code"])
    await shop.pay(order)
    ids["order_no"] = order["order_no"]
    refund = await _ok(await c.post(f"{base}/orders/{order['order_no']}/refund-requests", headers=bob,
                                    json={"reason": "不想要了", "amount_fen": 1}), 201)
    ids["request_id"] = refund["id"]
    ids["packet_code"] = (await coupon_helpers.my_packets(shop, bob))[0]["code"]
    ids["root_share_id"] = await shop.scalar("SELECT id FROM fission_shares WHERE shop_id = :shop AND code = :c",
                                             c=share["code"])

    gb_sku, gb = await groupbuy_helpers.setup(shop)
    ids["groupbuy_campaign_id"] = gb["id"]
    gb_order = await groupbuy_helpers.order(shop, bob, gb_sku, gb["id"])
    ids["group_id"] = gb_order["promotion"]["group_id"]
    _, bc = await bargain_helpers.setup(shop)
    ids["bargain_campaign_id"] = bc["id"]
    ids["bargain_id"] = (await bargain_helpers.start(shop, bob, bc["id"]))["id"]
    _, fs = await flashsale_helpers.setup(shop)
    ids["flashsale_campaign_id"] = fs["id"]
    ids["entry_id"] = (await flashsale_helpers.enter(shop, bob, fs["id"]))["id"]
    ids["store_id"] = (await store_helpers.store(shop))["id"]
    ids["ad_campaign_id"] = (await campaign_helpers.campaign(shop))["id"]
    ids["day"] = date.today().isoformat()

    community = await community_helpers.community(shop)
    ids["community_id"], ids["invite_code"] = community["id"], community["invite_code"]
    await community_helpers.join(shop, bob, community["invite_code"])
    ids["post_id"] = (await community_helpers.shop_post(shop))["id"]
    comment = await _ok(await c.post(f"{base}/posts/{ids['post_id']}/comments", headers=bob, json={"body": "好"}), 201)
    ids["comment_id"] = comment["id"]
    topic = await _ok(await c.post(f"{base}/communities/{community['id']}/topics", headers=bob,
                                   json={"title": "话题", "body": "内容"}), 201)
    ids["topic_id"] = topic["id"]
    reply = await _ok(await c.post(f"{base}/topics/{topic['id']}/replies", headers=bob, json={"body": "回复"}), 201)
    ids["reply_id"] = reply["id"]

    ids["withdrawal_id"] = await _insert(shop,
        "INSERT INTO distribution_withdrawals (shop_id, customer_id, amount_fen, fee_fen, state, created_at) "
        "VALUES (:shop, :c, 100, 0, 'pending_review', now()) RETURNING id", c=whoami(shop, alice))
    ids["job_id"] = await _insert(shop,
        "INSERT INTO analytics_seeding_jobs (shop_id, status, params, stage, created_at, heartbeat_at) VALUES "
        "(:shop, 'queued', CAST(:p AS jsonb), 'queued', now(), now()) RETURNING id", p=json.dumps({"k": 1}))
    return busy
