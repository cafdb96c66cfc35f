"""Abuse: rate limits on visits, bargain helps and claims (429 with Retry-After); alt-account rings (one device or
one phone across accounts) refused a help, a second part of a red packet and a commission; every refusal in the
shop's audit trail (``GET /api/v1/console/audit``)."""

from __future__ import annotations

from typing import Any

from tests.api import bargain_helpers, coupon_helpers
from tests.api.distribution_helpers import enable, invite, money, whoami
from tests.conftest import ADDRESS, ShopHarness, assert_problem, make_shop
from tests.security.conftest import STRICT, StrictClient

CONSOLE = "/api/v1/console"


def limit_of(name: str) -> int:
    return int(STRICT[f"limit_{name}"].split("/")[0])


async def login(shop: ShopHarness, name: str, device: str | None = None) -> dict[str, str]:
    body: dict[str, Any] = {"code": f"sandbox:{name}"} | ({"device_id": device} if device else {})
    r = await shop.client.post(f"{shop.base}/auth/wechat-login", json=body)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def audit(shop: ShopHarness, **params: Any) -> dict[str, Any]:
    r = await shop.client.get(f"{CONSOLE}/audit", params=params, headers=shop.staff)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def share_code(shop: ShopHarness, sharer: dict[str, str]) -> str:
    product = await shop.product()
    r = await shop.client.post(f"{shop.base}/shares", headers=sharer, json={
        "target_type": "product", "target_id": product["id"], "channel": "friend"})
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


# ---- rate limits ------------------------------------------------------------------------------------

async def test_visits_are_limited_per_customer_and_per_device(strict_client: StrictClient, strict_app: Any) -> None:
    async with strict_client() as c:
        shop = await make_shop(c, strict_app.state.db)
        code = await share_code(shop, await shop.login("分享者"))
        visitor = await shop.login("刷访问的人")
        for _ in range(limit_of("visit_customer")):
            r = await c.post(f"{shop.base}/visits", headers=visitor, json={"share_code": code})
            assert r.status_code == 201, r.text
        for _ in range(3):
            r = await c.post(f"{shop.base}/visits", headers=visitor, json={"share_code": code})
            assert_problem(r, 429, "rate_limited")
            assert 1 <= int(r.headers["Retry-After"]) <= 60
        assert (await c.post(f"{shop.base}/visits", headers=await shop.login("正常访客"),
                             json={"share_code": code})).status_code == 201
        device = {"X-Device-Id": "anon-device-0001"}
        for _ in range(limit_of("visit_device")):
            assert (await c.post(f"{shop.base}/visits", headers=device, json={"share_code": code})).status_code == 201
        assert_problem(await c.post(f"{shop.base}/visits", headers=device, json={"share_code": code}),
                       429, "rate_limited")
        visits = await shop.scalar("SELECT count(*) FROM fission_visits WHERE shop_id = :shop")
        assert visits == limit_of("visit_customer") + 1 + limit_of("visit_device")
        # One audit event per key and window, however many refusals.
        found = await audit(shop, kind="rate_limited")
        assert sorted(i["reason"] for i in found["items"]) == ["limit_visit_customer", "limit_visit_device"]


async def test_visits_are_limited_per_address(strict_client: StrictClient, strict_app: Any) -> None:
    async with strict_client() as c:
        shop = await make_shop(c, strict_app.state.db)
        code = await share_code(shop, await shop.login("分享者"))
        answers = [(await c.post(f"{shop.base}/visits", headers={"X-Device-Id": f"device-number-{n:04d}"},
                                 json={"share_code": code})).status_code for n in range(limit_of("visit_ip") + 2)]
    assert answers == [201] * limit_of("visit_ip") + [429, 429]


async def test_bargain_helps_are_rate_limited(strict_client: StrictClient, strict_app: Any) -> None:
    async with strict_client() as c:
        shop = await make_shop(c, strict_app.state.db)
        _, campaign = await bargain_helpers.setup(shop, helpers_needed=3, helps_per_helper_per_day=20)
        owners = [await shop.login(f"发起人{n}") for n in range(limit_of("help_customer") + 1)]
        bargains = [await bargain_helpers.start(shop, o, campaign["id"]) for o in owners]
        helper = await shop.login("热心人")
        statuses = [(await bargain_helpers.help_(shop, helper, b["id"])).status_code for b in bargains]
        assert statuses == [200] * limit_of("help_customer") + [429]
        assert await shop.scalar("SELECT count(*) FROM bargain_helps WHERE shop_id = :shop AND seq >= 1") == \
            limit_of("help_customer")


async def test_coupon_claims_are_rate_limited(strict_client: StrictClient, strict_app: Any) -> None:
    async with strict_client() as c:
        shop = await make_shop(c, strict_app.state.db)
        template = await coupon_helpers.template(shop, per_customer_limit=10)
        hoarder = await shop.login("囤券的人")
        statuses = [(await c.post(f"{shop.base}/coupons/claim", headers=hoarder,
                                  json={"template_id": template["id"]})).status_code
                    for _ in range(limit_of("claim_customer") + 1)]
        assert statuses == [201] * limit_of("claim_customer") + [429]
        assert await shop.scalar("SELECT count(*) FROM coupons WHERE shop_id = :shop") == limit_of("claim_customer")


# ---- alt-account rings --------------------------------------------------------------------------------

async def test_an_alt_account_on_the_same_device_cannot_help_its_owner(shop: ShopHarness) -> None:
    _, campaign = await bargain_helpers.setup(shop, helpers_needed=3)
    owner = await login(shop, "砍价发起人", device="owners-phone-001")
    alt = await login(shop, "小号", device="owners-phone-001")  # another account, logged in on the same phone
    bargain = await bargain_helpers.start(shop, owner, campaign["id"])
    r = await bargain_helpers.help_(shop, alt, bargain["id"])
    body = assert_problem(r, 409, "linked_account")
    assert body["linked_by"] == "device"
    friend = await login(shop, "真朋友", device="friends-phone-01")
    assert (await bargain_helpers.help_(shop, friend, bargain["id"])).status_code == 200
    assert await shop.scalar("SELECT count(*) FROM bargain_helps WHERE shop_id = :shop AND seq >= 1") == 1
    events = (await audit(shop, kind="ring_blocked"))["items"]
    assert [(e["reason"], e["actor"], e["target"]) for e in events] == [
        ("alt_account_device", f"customer:{whoami(shop, alt)}", f"bargain:{bargain['id']}")]


async def test_a_ring_through_a_phone_and_a_device_is_one_person(shop: ShopHarness) -> None:
    """A and B share a phone number (saved addresses), B and C a device: C is A's alt account too."""
    _, campaign = await bargain_helpers.setup(shop, helpers_needed=3)
    a = await login(shop, "环A", device="ring-device-aaaa")
    b = await login(shop, "环B", device="ring-device-bbbb")
    c = await login(shop, "环C", device="ring-device-bbbb")
    for who in (a, b):
        r = await shop.client.post(f"{shop.base}/me/addresses", headers=who, json={**ADDRESS, "phone": "13912345678"})
        assert r.status_code == 201, r.text
    bargain = await bargain_helpers.start(shop, a, campaign["id"])
    assert_problem(await bargain_helpers.help_(shop, b, bargain["id"]), 409, "linked_account")
    assert_problem(await bargain_helpers.help_(shop, c, bargain["id"]), 409, "linked_account")
    assert (await audit(shop, kind="ring_blocked"))["total"] == 2


async def test_one_person_gets_one_part_of_a_red_packet(shop: ShopHarness) -> None:
    buyer = await login(shop, "发红包的人", device="buyer-device-01")
    packet = await coupon_helpers.granted_packet(shop, buyer)
    friend = await login(shop, "领红包的朋友", device="friend-device-1")
    await coupon_helpers.claim_packet(shop, friend, packet["code"], device="friend-device-1")
    friends_alt = await login(shop, "朋友的小号", device="friend-device-1")
    r = await shop.client.post(f"{shop.base}/red-packets/{packet['code']}/claim",
                               headers={**friends_alt, "X-Device-Id": "another-device-9"})
    assert_problem(r, 409, "linked_account")
    buyers_alt = await login(shop, "买家的小号", device="buyer-device-01")
    r = await shop.client.post(f"{shop.base}/red-packets/{packet['code']}/claim", headers=buyers_alt)
    assert_problem(r, 409, "linked_account")
    parts = await shop.scalar("SELECT count(*) FROM coupon_red_packet_parts WHERE shop_id = :shop "
                              "AND customer_id IS NOT NULL")
    assert parts == 1
    events = (await audit(shop, kind="ring_blocked"))["items"]
    assert {e["target"] for e in events} == {f"red_packet:{packet['id']}"} and len(events) == 2


async def test_no_commission_on_an_alt_accounts_purchase(shop: ShopHarness) -> None:
    await enable(shop)
    promoter = await login(shop, "推广员")
    alt, stranger = await login(shop, "推广员的小号"), await login(shop, "陌生顾客")
    await invite(shop, promoter, alt)
    await invite(shop, promoter, stranger)
    r = await shop.client.post(f"{shop.base}/me/addresses", headers=promoter, json={**ADDRESS, "phone": "13700001111"})
    assert r.status_code == 201
    sku = await shop.sku(price_fen=10_000, stock=10)
    # The alt account orders to the promoter's phone: the order's own phone links them.
    alt_order = await shop.place(alt, [{"sku_id": sku, "quantity": 1}], address={**ADDRESS, "phone": "13700001111"})
    await shop.pay(alt_order)
    assert await money(shop, whoami(shop, promoter)) == {"pending": 0, "withdrawable": 0, "debt": 0}
    events = (await audit(shop, kind="self_referral"))["items"]
    assert [(e["reason"], e["actor"], e["target"]) for e in events] == [
        ("alt_account_phone", f"customer:{whoami(shop, promoter)}", f"order:{alt_order['order_no']}")]
    honest = await shop.place(stranger, [{"sku_id": sku, "quantity": 1}])
    await shop.pay(honest)
    assert (await money(shop, whoami(shop, promoter)))["pending"] == 1000  # 10 % of 100 yuan


async def test_the_audit_trail_is_paginated_filtered_and_the_shops_own(shop: ShopHarness,
                                                                       other_shop: ShopHarness) -> None:
    _, campaign = await bargain_helpers.setup(shop, helpers_needed=3)
    for n in range(3):
        owner = await login(shop, f"主号{n}", device=f"shared-device-{n:03d}")
        alt = await login(shop, f"小号{n}", device=f"shared-device-{n:03d}")
        bargain = await bargain_helpers.start(shop, owner, campaign["id"])
        assert (await bargain_helpers.help_(shop, alt, bargain["id"])).status_code == 409
    first = await audit(shop, kind="ring_blocked", limit=2)
    second = await audit(shop, kind="ring_blocked", limit=2, offset=2)
    assert first["total"] == 3 and len(first["items"]) == 2 and len(second["items"]) == 1
    ids = [e["id"] for e in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True)  # newest first
    assert (await audit(shop, kind="pii_revealed"))["total"] == 0
    r = await other_shop.client.get(f"{CONSOLE}/audit", headers=other_shop.staff)
    assert r.json()["total"] == 0
    r = await shop.client.get(f"{CONSOLE}/audit", params={"kind": "nonsense"}, headers=shop.staff)
    assert_problem(r, 422, "validation_error")
    assert (await shop.client.get(f"{CONSOLE}/audit")).status_code == 401
