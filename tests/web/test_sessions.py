"""Page sessions in a real browser: login picker and console login set the cookie; forgery is refused."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.conftest import ShopHarness, assert_problem
from tests.web.conftest import ContextFactory, login_customer, login_staff


async def test_storefront_login_picker_signs_in_and_returns_to_the_page_asked_for(
        web_shop: ShopHarness, new_context: ContextFactory) -> None:
    context = await new_context()
    page = await context.new_page()
    await page.goto(f"/s/{web_shop.slug}/orders")  # needs a session: the login page, then back here
    await page.wait_for_url(re.compile(r"/login\?next="))
    await page.get_by_test_id("persona-name").fill("浏览器顾客")
    await page.get_by_test_id("login-submit").click()
    await page.wait_for_url(re.compile(rf"/s/{web_shop.slug}/orders$"))
    cookies = {c["name"]: c for c in await context.cookies()}
    assert cookies["lb_ct"]["httpOnly"] and not cookies["lb_csrf_c"]["httpOnly"]
    me = await page.evaluate("LB.get('me')")
    assert me["nickname"] == "浏览器顾客"


async def test_console_login_shows_the_api_problem_then_signs_in(
        web_shop: ShopHarness, new_context: ContextFactory) -> None:
    context = await new_context(phone=False)
    page = await context.new_page()
    await page.goto("/console/login")
    await page.get_by_test_id("email").fill(web_shop.owner["email"])
    await page.get_by_test_id("password").fill("not-the-password")
    await page.get_by_test_id("login-submit").click()
    error = page.locator("#login-form .lb-error")
    await error.wait_for(state="visible")
    assert await error.get_attribute("data-code")
    await login_staff(context, web_shop.owner["email"], web_shop.owner["password"])


async def test_cookie_session_needs_the_anti_forgery_header_to_change_anything(
        web_shop: ShopHarness, new_context: ContextFactory, live_url: str) -> None:
    context = await new_context()
    page = await login_customer(context, web_shop.slug, "防伪")
    cookies = {c["name"]: c["value"] for c in await context.cookies()}
    async with httpx.AsyncClient(base_url=live_url, cookies={"lb_ct": cookies["lb_ct"]}) as forged:
        r = await forged.get(f"/api/v1/shops/{web_shop.slug}/me")
        assert r.status_code == 200  # reading with the cookie is fine
        body = {"reason": "x"}
        r = await forged.post(f"/api/v1/shops/{web_shop.slug}/promoter/apply", json=body)
        assert_problem(r, 403, "csrf_failed")
        r = await forged.post(f"/api/v1/shops/{web_shop.slug}/promoter/apply", json=body,
                              headers={"X-CSRF-Token": "0" * 40})
        assert_problem(r, 403, "csrf_failed")
    status: Any = await page.evaluate("LB.post('promoter/apply', {}).then(() => 'ok', e => e.code)")
    assert status != "csrf_failed"


async def test_session_endpoint_refuses_other_sites_and_bad_tokens(web_shop: ShopHarness, live_url: str) -> None:
    token = (await web_shop.login("跨站"))["Authorization"].split()[1]
    async with httpx.AsyncClient(base_url=live_url) as c:
        r = await c.post("/web/session", json={"kind": "customer", "token": token},
                         headers={"Origin": "https://evil.example"})
        assert_problem(r, 403, "cross_origin")
        r = await c.post("/web/session", json={"kind": "staff", "token": token})
        assert_problem(r, 401, "invalid_token")
        r = await c.post("/web/session", json={"kind": "customer", "token": token})
        assert r.status_code == 200 and "lb_ct" in r.cookies


async def test_unknown_shop_and_bad_page_ids_answer_a_404_page(new_context: ContextFactory,
                                                               live_url: str) -> None:
    async with httpx.AsyncClient(base_url=live_url) as c:
        r = await c.get("/s/no-such-shop-here")
        assert r.status_code == 404 and "text/html" in r.headers["content-type"]
        assert "script-src 'self'" in r.headers["content-security-policy"]
        r = await c.get("/console/products")
        assert r.status_code == 303 and r.headers["location"].startswith("/console/login?next=")


async def test_logging_out_revokes_the_token_not_just_the_cookie(
        web_shop: ShopHarness, new_context: ContextFactory, live_url: str) -> None:
    context = await new_context()
    page = await login_customer(context, web_shop.slug, "退出者")
    token = {c["name"]: c["value"] for c in await context.cookies()}["lb_ct"]
    await page.goto(f"/s/{web_shop.slug}/me")
    await page.evaluate("LB.logout()")
    await page.wait_for_url(re.compile(rf"/s/{web_shop.slug}/?$"))
    assert "lb_ct" not in {c["name"] for c in await context.cookies()}
    async with httpx.AsyncClient(base_url=live_url) as c:
        r = await c.get(f"/api/v1/shops/{web_shop.slug}/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, r.text
