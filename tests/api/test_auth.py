"""Console and customer authentication through the HTTP API: logins, tokens, expiry, shop scoping."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import jwt
import pytest

from tests.conftest import ShopHarness, assert_problem

CONSOLE = "/api/v1/console"



def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def console_login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(f"{CONSOLE}/auth/login", json={"email": email, "password": password})


async def wechat_login(shop: ShopHarness, code: str) -> httpx.Response:
    return await shop.client.post(f"{shop.base}/auth/wechat-login", json={"code": code})


# ---- console ----

async def test_console_login_gives_a_working_token(shop: ShopHarness, other_shop: ShopHarness) -> None:
    r = await console_login(shop.client, shop.owner["email"], shop.owner["password"])
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert r.json()["token_type"] == "bearer"

    r = await shop.client.get(f"{CONSOLE}/shop", headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.json()["slug"] == shop.slug and r.json()["id"] == shop.shop_id
    # The token acts for its own shop only.
    r = await shop.client.post(f"{CONSOLE}/products", headers=bearer(token),
                               json={"title": "登录后上架", "skus": [{"specs": {}, "price_fen": 1, "stock": 1}]})
    assert r.status_code == 201, r.text
    assert await shop.count("products") == 1
    assert await other_shop.count("products") == 0


async def test_console_login_email_is_case_insensitive(shop: ShopHarness) -> None:
    r = await console_login(shop.client, f"  {shop.owner['email'].upper()} ", shop.owner["password"])
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("wrong", ["password", "email", "both"])
async def test_console_login_refuses_wrong_credentials(shop: ShopHarness, wrong: str) -> None:
    email, password = shop.owner["email"], shop.owner["password"]
    if wrong in ("password", "both"):
        password += "x"
    if wrong in ("email", "both"):
        email = f"nobody-{secrets.token_hex(4)}@example.com"
    body = assert_problem(await console_login(shop.client, email, password), 401, "invalid_credentials")
    assert "access_token" not in body


async def test_wrong_password_and_unknown_email_look_the_same(shop: ShopHarness) -> None:
    wrong_password = (await console_login(shop.client, shop.owner["email"], "not-the-password")).json()
    unknown = (await console_login(shop.client, "nobody@example.com", "not-the-password")).json()
    assert wrong_password == unknown


async def test_another_shops_password_does_not_open_this_shop(shop: ShopHarness, other_shop: ShopHarness) -> None:
    assert_problem(await console_login(shop.client, shop.owner["email"], other_shop.owner["password"]),
                   401, "invalid_credentials")


@pytest.mark.parametrize("body", [{}, {"email": "a@b.c"}, {"password": "x"}, {"email": "", "password": "x"},
                                  {"email": "a@b.c", "password": ""}, {"email": 1, "password": 2}])
async def test_console_login_validates_its_body(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    assert_problem(await client.post(f"{CONSOLE}/auth/login", json=body), 422, "validation_error")


async def test_console_without_authorization_is_401(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(f"{CONSOLE}/shop"), 401, "not_authenticated")
    assert_problem(await client.get(f"{CONSOLE}/products"), 401, "not_authenticated")


@pytest.mark.parametrize("authorization", [
    "Bearer garbage", "Bearer a.b.c", "Bearer ", "Basic dXNlcjpwYXNz", "garbage", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.",
])
async def test_console_with_a_garbage_token_is_401(client: httpx.AsyncClient, authorization: str) -> None:
    assert_problem(await client.get(f"{CONSOLE}/shop", headers={"Authorization": authorization}),
                   401, "invalid_token")


def forge(token: str, **changes: Any) -> tuple[str, str]:
    """The same claims (with ``changes``) signed with a wrong key, and with no signature at all."""
    claims = {**jwt.decode(token, options={"verify_signature": False}), **changes}
    wrong_key = jwt.encode(claims, "a-wrong-secret-that-is-long-enough-0123456789", algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    return wrong_key, unsigned


async def test_forged_tokens_are_refused(shop: ShopHarness, other_shop: ShopHarness) -> None:
    for token in forge(shop.staff["Authorization"].removeprefix("Bearer ")):
        assert_problem(await shop.client.get(f"{CONSOLE}/shop", headers=bearer(token)), 401, "invalid_token")
    customer = (await shop.login("伪造者"))["Authorization"].removeprefix("Bearer ")
    for token in forge(customer, shp=other_shop.shop_id):
        r = await shop.client.get(f"{other_shop.base}/orders", headers=bearer(token))
        assert_problem(r, 401, "invalid_token")


async def test_a_customer_token_does_not_open_the_console(shop: ShopHarness) -> None:
    customer = await shop.login("顾客甲")
    assert_problem(await shop.client.get(f"{CONSOLE}/shop", headers=customer), 401, "invalid_token")
    r = await shop.client.post(f"{CONSOLE}/products", headers=customer,
                               json={"title": "x", "skus": [{"specs": {}, "price_fen": 1, "stock": 1}]})
    assert r.status_code == 401, r.text
    assert await shop.count("products") == 0


async def test_a_staff_token_is_not_a_customer_token(shop: ShopHarness) -> None:
    assert_problem(await shop.client.get(f"{shop.base}/orders", headers=shop.staff), 401, "invalid_token")
    assert_problem(await shop.client.get(f"{shop.base}/me", headers=shop.staff), 401, "invalid_token")


# ---- customers ----

async def test_customer_endpoints_need_a_token(shop: ShopHarness) -> None:
    assert_problem(await shop.client.get(f"{shop.base}/orders"), 401, "not_authenticated")
    assert_problem(await shop.client.get(f"{shop.base}/me"), 401, "not_authenticated")
    assert_problem(await shop.client.get(f"{shop.base}/orders", headers={"Authorization": "Bearer nope"}),
                   401, "invalid_token")


async def test_a_customer_token_of_shop_a_does_not_work_in_shop_b(shop: ShopHarness, other_shop: ShopHarness) -> None:
    customer = await shop.login("跨店顾客")
    assert (await shop.client.get(f"{shop.base}/orders", headers=customer)).status_code == 200
    assert_problem(await shop.client.get(f"{other_shop.base}/orders", headers=customer), 401, "invalid_token")
    assert_problem(await shop.client.get(f"{other_shop.base}/me", headers=customer), 401, "invalid_token")
    sku = await other_shop.sku(stock=3)
    r = await shop.client.post(f"{other_shop.base}/orders", headers=customer, json={
        "lines": [{"sku_id": sku, "quantity": 1}],
        "address": {"name": "张三", "phone": "13800138000", "province": "广东省", "city": "深圳市",
                    "district": "南山区", "detail": "科技园"}})
    assert_problem(r, 401, "invalid_token")
    assert await other_shop.count("orders") == 0
    assert await other_shop.stock(sku) == 3


async def test_sandbox_login_is_stable_per_name(shop: ShopHarness) -> None:
    first = await wechat_login(shop, "sandbox:小红")
    again = await wechat_login(shop, "sandbox:小红")
    other = await wechat_login(shop, "sandbox:小绿")
    for r in (first, again, other):
        assert r.status_code == 200, r.text
        assert r.json()["access_token"] and r.json()["customer"]["is_new"] is True
    assert first.json()["customer"]["id"] == again.json()["customer"]["id"]
    assert first.json()["customer"]["id"] != other.json()["customer"]["id"]
    assert first.json()["customer"]["nickname"] == "小红"
    assert await shop.count("customers") == 2

    r = await shop.client.get(f"{shop.base}/me", headers=bearer(again.json()["access_token"]))
    assert r.status_code == 200, r.text
    assert r.json()["id"] == first.json()["customer"]["id"]


async def test_the_same_name_is_a_different_customer_in_another_shop(
    shop: ShopHarness, other_shop: ShopHarness
) -> None:
    here = await wechat_login(shop, "sandbox:同名")
    there = await wechat_login(other_shop, "sandbox:同名")
    assert here.status_code == there.status_code == 200
    assert here.json()["customer"]["id"] != there.json()["customer"]["id"]


@pytest.mark.parametrize("code", ["foo", "sandbox:", "sandbox", ":小明", "wechat:小明", "sandbox:" + "x" * 33,
                                  "sandbox:\n"])
async def test_bad_login_codes_are_refused(shop: ShopHarness, code: str) -> None:
    body = assert_problem(await wechat_login(shop, code), 401, "invalid_login_code")
    assert "access_token" not in body
    assert await shop.count("customers") == 0


@pytest.mark.parametrize("body", [{}, {"code": ""}, {"code": 42}, {"code": "x" * 129},
                                  {"code": "sandbox:a", "openid": "x"}])
async def test_login_body_is_validated(shop: ShopHarness, body: dict[str, Any]) -> None:
    r = await shop.client.post(f"{shop.base}/auth/wechat-login", json=body)
    assert_problem(r, 422, "validation_error")
    assert await shop.count("customers") == 0


async def test_tokens_expire(shop: ShopHarness) -> None:
    customer = await shop.login("会过期")
    r = await console_login(shop.client, shop.owner["email"], shop.owner["password"])
    staff = bearer(r.json()["access_token"])
    sandbox_staff = dict(shop.staff)  # the session the sandbox gave with the shop (shop.advance renews its own)

    await shop.advance(119 * 60)  # the lifetime is 120 minutes
    assert (await shop.client.get(f"{shop.base}/orders", headers=customer)).status_code == 200
    assert (await shop.client.get(f"{CONSOLE}/shop", headers=staff)).status_code == 200

    await shop.advance(3 * 3600)
    assert_problem(await shop.client.get(f"{shop.base}/orders", headers=customer), 401, "token_expired")
    assert_problem(await shop.client.get(f"{shop.base}/me", headers=customer), 401, "token_expired")
    assert_problem(await shop.client.get(f"{CONSOLE}/shop", headers=staff), 401, "token_expired")
    assert_problem(await shop.client.get(f"{CONSOLE}/shop", headers=sandbox_staff), 401, "token_expired")

    # Logging in again gives a fresh token.
    assert (await shop.client.get(f"{shop.base}/orders", headers=await shop.login("会过期"))).status_code == 200
    r = await console_login(shop.client, shop.owner["email"], shop.owner["password"])
    assert (await shop.client.get(f"{CONSOLE}/shop", headers=bearer(r.json()["access_token"]))).status_code == 200


# ---- shops ----

async def test_unknown_shop_slug_is_404(client: httpx.AsyncClient) -> None:
    slug = f"no-such-shop-{secrets.token_hex(3)}"
    assert_problem(await client.get(f"/api/v1/shops/{slug}/products"), 404, "shop_not_found")
    assert_problem(await client.post(f"/api/v1/shops/{slug}/auth/wechat-login", json={"code": "sandbox:a"}),
                   404, "shop_not_found")
    assert_problem(await client.get(f"/api/v1/shops/{slug}/products/1"), 404, "shop_not_found")


async def test_sandbox_shop_with_a_taken_slug_is_409(shop: ShopHarness) -> None:
    r = await shop.client.post("/api/v1/sandbox/shops", json={"slug": shop.slug, "name": "冒名店"})
    assert_problem(r, 409, "shop_slug_taken")
    assert await shop.scalar("SELECT count(*) FROM shops WHERE slug = :slug", slug=shop.slug) == 1
    assert await shop.scalar("SELECT name FROM shops WHERE slug = :slug", slug=shop.slug) != "冒名店"
    assert await shop.scalar("SELECT count(*) FROM staff WHERE shop_id = :shop") == 1
    # The original owner still logs in.
    assert (await console_login(shop.client, shop.owner["email"], shop.owner["password"])).status_code == 200


@pytest.mark.parametrize(("slug", "code"), [
    ("ab", "validation_error"), ("a" * 41, "validation_error"), ("", "validation_error"),
    ("Upper-Case", "invalid_slug"), ("-leading", "invalid_slug"), ("trailing-", "invalid_slug"),
    ("with_underscore", "invalid_slug"), ("中文店铺", "invalid_slug"), ("has space", "invalid_slug"),
    ("dot.ted", "invalid_slug"),
])
async def test_sandbox_shop_with_a_bad_slug_is_422(client: httpx.AsyncClient, slug: str, code: str) -> None:
    r = await client.post("/api/v1/sandbox/shops", json={"slug": slug, "name": "坏名字"})
    assert_problem(r, 422, code)
    r = await client.get(f"/api/v1/shops/{slug}/products") if slug and " " not in slug else None
    assert r is None or r.status_code in (404, 422)


async def test_sandbox_shop_gives_a_working_owner_session(client: httpx.AsyncClient) -> None:
    slug = f"auth-{secrets.token_hex(4)}"
    r = await client.post("/api/v1/sandbox/shops", json={"slug": slug, "name": "新店"})
    assert r.status_code == 201, r.text
    data = r.json()
    assert data["shop"]["slug"] == slug
    r = await client.get(f"{CONSOLE}/shop", headers=bearer(data["staff_token"]))
    assert r.status_code == 200 and r.json()["slug"] == slug
    r = await console_login(client, data["owner"]["email"], data["owner"]["password"])
    assert r.status_code == 200, r.text
