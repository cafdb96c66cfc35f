"""Authentication: argon2 console passwords, revocable tokens (one session, or every session), throttled logins
(429 with Retry-After, exact under concurrency, on PostgreSQL and on Redis)."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest

from liebian.kit.auth import TokenSigner
from liebian.kit.db import Database
from liebian.kit.ratelimit import Rule, SharedLimiter
from liebian.settings import Settings
from tests.conftest import ShopHarness, assert_problem, make_shop
from tests.redis_server import private_redis
from tests.security.conftest import STRICT, StrictClient

CONSOLE = "/api/v1/console"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_console_passwords_are_argon2id(shop: ShopHarness) -> None:
    stored = await shop.scalar("SELECT password_hash FROM staff WHERE shop_id = :shop")
    assert stored.startswith("$argon2id$") and shop.owner["password"] not in stored


# ---- revocation -------------------------------------------------------------------------------------

async def test_customer_logout_revokes_only_that_token(shop: ShopHarness) -> None:
    phone, laptop = await shop.login("两台设备"), await shop.login("两台设备")
    assert (await shop.client.get(f"{shop.base}/me", headers=phone)).status_code == 200
    r = await shop.client.post(f"{shop.base}/auth/logout", headers=phone)
    assert r.status_code == 204, r.text
    assert_problem(await shop.client.get(f"{shop.base}/me", headers=phone), 401, "token_revoked")
    assert_problem(await shop.client.post(f"{shop.base}/shares", headers=phone, json={
        "target_type": "shop", "target_id": 0, "channel": "friend"}), 401, "token_revoked")
    assert (await shop.client.get(f"{shop.base}/me", headers=laptop)).status_code == 200


async def test_customer_logout_everywhere_and_login_again(shop: ShopHarness) -> None:
    sessions = [await shop.login("丢了手机") for _ in range(3)]
    other = await shop.login("别人")
    r = await shop.client.post(f"{shop.base}/auth/logout-all", headers=sessions[0])
    assert r.status_code == 204, r.text
    for s in sessions:
        assert_problem(await shop.client.get(f"{shop.base}/orders", headers=s), 401, "token_revoked")
    # The hot path refuses it too (it reads the token itself).
    r = await shop.client.post(f"{shop.base}/visits", headers=sessions[1], json={"share_code": "whatever"})
    assert_problem(r, 401, "token_revoked")
    assert (await shop.client.get(f"{shop.base}/me", headers=other)).status_code == 200
    fresh = await shop.login("丢了手机")
    assert (await shop.client.get(f"{shop.base}/me", headers=fresh)).status_code == 200
    kinds = [i["kind"] for i in (await shop.client.get(f"{CONSOLE}/audit", headers=shop.staff)).json()["items"]]
    assert "tokens_revoked" in kinds


async def test_staff_logout_and_logout_everywhere(shop: ShopHarness) -> None:
    login = {"email": shop.owner["email"], "password": shop.owner["password"]}
    a = bearer((await shop.client.post(f"{CONSOLE}/auth/login", json=login)).json()["access_token"])
    b = bearer((await shop.client.post(f"{CONSOLE}/auth/login", json=login)).json()["access_token"])
    assert (await shop.client.post(f"{CONSOLE}/auth/logout", headers=a)).status_code == 204
    assert_problem(await shop.client.get(f"{CONSOLE}/shop", headers=a), 401, "token_revoked")
    assert (await shop.client.get(f"{CONSOLE}/shop", headers=b)).status_code == 200
    assert (await shop.client.post(f"{CONSOLE}/auth/logout-all", headers=b)).status_code == 204
    for token in (b, shop.staff):
        assert_problem(await shop.client.get(f"{CONSOLE}/shop", headers=token), 401, "token_revoked")
    c = bearer((await shop.client.post(f"{CONSOLE}/auth/login", json=login)).json()["access_token"])
    assert (await shop.client.get(f"{CONSOLE}/shop", headers=c)).status_code == 200


async def test_cookie_session_logout_needs_the_anti_forgery_header(shop: ShopHarness) -> None:
    token = (await shop.login("网页顾客"))["Authorization"].split()[1]
    r = await shop.client.post("/web/session", json={"kind": "customer", "token": token})
    assert r.status_code == 200, r.text
    csrf = r.json()["csrf"]
    cookie = {"Cookie": f"lb_ct={token}"}
    r = await shop.client.post(f"{shop.base}/auth/logout", headers=cookie)
    assert_problem(r, 403, "csrf_failed")
    assert (await shop.client.get(f"{shop.base}/me", headers=cookie)).status_code == 200
    r = await shop.client.post(f"{shop.base}/auth/logout", headers={**cookie, "X-CSRF-Token": csrf})
    assert r.status_code == 204, r.text
    assert_problem(await shop.client.get(f"{shop.base}/me", headers=cookie), 401, "token_revoked")


async def test_another_process_sees_a_revocation_within_a_second(shop: ShopHarness, settings: Settings,
                                                                db: Database) -> None:
    """Another API process: its own signer with its own memory of revocations, on the same database."""
    second = TokenSigner(settings.resolved_secret_key(), settings.access_token_minutes)
    follower = asyncio.create_task(second.revocations.follow(db, every=0.1))
    try:
        customer = await shop.login("多进程")
        token = customer["Authorization"].split()[1]
        assert second.verify(token, "customer").subject_id > 0
        assert (await shop.client.post(f"{shop.base}/auth/logout-all", headers=customer)).status_code == 204
        for _ in range(50):
            await asyncio.sleep(0.05)
            try:
                second.verify(token, "customer")
            except Exception as refused:
                assert getattr(refused, "code", None) == "token_revoked"
                break
        else:
            pytest.fail("the other process still accepts the revoked token after 2.5 s")
    finally:
        follower.cancel()


# ---- login throttling ---------------------------------------------------------------------------------

async def test_console_login_is_throttled_per_email_and_address(strict_client: StrictClient,
                                                                 strict_app: Any) -> None:
    async with strict_client() as c:
        shop = await make_shop(c, strict_app.state.db)
        wrong = {"email": shop.owner["email"], "password": "wrong-password"}
        limit = int(STRICT["limit_console_login"].split("/")[0])
        for _ in range(limit):
            assert_problem(await c.post(f"{CONSOLE}/auth/login", json=wrong), 401, "invalid_credentials")
        r = await c.post(f"{CONSOLE}/auth/login", json=wrong)
        body = assert_problem(r, 429, "login_throttled")
        assert 1 <= int(r.headers["Retry-After"]) <= 900 and body["retry_after"] == int(r.headers["Retry-After"])
        # The right password is refused too while the window lasts: a guesser learns nothing.
        assert_problem(await c.post(f"{CONSOLE}/auth/login", json=shop.owner), 429, "login_throttled")
        audit = (await c.get(f"{CONSOLE}/audit", params={"kind": "login_throttled"}, headers=shop.staff)).json()
        assert audit["total"] == 1 and audit["items"][0]["reason"] == "limit_console_login"
        assert audit["items"][0]["actor"].startswith("ip:10.")
        async with strict_client() as elsewhere:  # another address is not throttled
            assert (await elsewhere.post(f"{CONSOLE}/auth/login", json=shop.owner)).status_code == 200
        # The window ends: the owner logs in again from here.
        assert (await c.post("/api/v1/sandbox/clock/advance", json={"seconds": 901})).status_code == 200
        assert (await c.post(f"{CONSOLE}/auth/login", json=shop.owner)).status_code == 200


async def test_successful_console_logins_are_never_throttled(strict_client: StrictClient, strict_app: Any) -> None:
    async with strict_client() as c:
        shop = await make_shop(c, strict_app.state.db)
        for _ in range(3 * int(STRICT["limit_console_login"].split("/")[0])):
            assert (await c.post(f"{CONSOLE}/auth/login", json=shop.owner)).status_code == 200


async def test_concurrent_guesses_cannot_pass_the_count_together(strict_client: StrictClient,
                                                                 strict_app: Any) -> None:
    async with strict_client() as c:
        shop = await make_shop(c, strict_app.state.db)
        wrong = {"email": shop.owner["email"], "password": "wrong-password"}
        answers = await asyncio.gather(*(c.post(f"{CONSOLE}/auth/login", json=wrong) for _ in range(16)))
    statuses = sorted(r.status_code for r in answers)
    limit = int(STRICT["limit_console_login"].split("/")[0])
    assert statuses == [401] * limit + [429] * (16 - limit), statuses


async def test_customer_login_is_throttled_per_address(strict_client: StrictClient, strict_app: Any) -> None:
    async with strict_client() as c:
        shop = await make_shop(c, strict_app.state.db)
        limit = int(STRICT["limit_customer_login"].split("/")[0])
        for n in range(limit):
            r = await c.post(f"{shop.base}/auth/wechat-login", json={"code": f"sandbox:u{n}"})
            assert r.status_code == 200, r.text
        r = await c.post(f"{shop.base}/auth/wechat-login", json={"code": "sandbox:one-too-many"})
        assert_problem(r, 429, "login_throttled")
        assert int(r.headers["Retry-After"]) >= 1
        assert await shop.scalar("SELECT count(*) FROM customers WHERE shop_id = :shop") == limit
    async with strict_client() as elsewhere:
        r = await elsewhere.post(f"{shop.base}/auth/wechat-login", json={"code": "sandbox:one-too-many"})
        assert r.status_code == 200, r.text


@pytest.mark.parametrize("store", ["postgresql", "redis"])
async def test_shared_limiter_is_exact_under_concurrency(db: Database, store: str) -> None:
    rule = Rule.parse("help_customer", "7/60")
    key = f"race-{secrets.token_hex(4)}"

    async def race(limiter: SharedLimiter) -> list[bool]:
        verdicts = await asyncio.gather(*(limiter.hit([(rule, key)]) for _ in range(25)))
        return [v[0].allowed for v in verdicts]

    if store == "postgresql":
        allowed = await race(SharedLimiter(db, None))
    else:
        from liebian.kit.redis import connect

        with private_redis() as server:
            client = connect(server.url)
            try:
                allowed = await race(SharedLimiter(db, client))
            finally:
                await client.aclose()
    assert allowed.count(True) == 7, allowed


async def test_a_rate_limit_spec_is_validated() -> None:
    assert Rule.parse("x", "off").off
    assert Rule.parse("x", "10/60").window(125.0) == (120, 55)
    for bad in ("10", "10/0", "ten/60", "-1/60"):
        with pytest.raises(ValueError, match="not"):
            Rule.parse("x", bad)


async def test_settings_refuse_a_malformed_limit() -> None:
    with pytest.raises(ValueError, match="limit_visit_ip"):
        Settings(secret_key="x" * 40, limit_visit_ip="lots")
