from __future__ import annotations

from typing import Any

import httpx
import pytest

from liebian.app import create_app
from liebian.kit.db import Database
from liebian.settings import ConfigurationError, Mode, Settings

LIVE_CREDENTIALS = {
    "wechat_appid": "wx1234567890abcdef", "wechat_app_secret": "s" * 32, "wechat_mchid": "1900000001",
    "wechat_apiv3_key": "k" * 32, "wechat_private_key_path": "/etc/liebian/apiclient_key.pem",
    "wechat_cert_serial": "ABCDEF0123456789",
}


def test_live_mode_without_wechat_credentials_refuses_to_start() -> None:
    with pytest.raises(ConfigurationError, match="LIEBIAN_WECHAT_APPID"):
        Settings(mode=Mode.LIVE, secret_key="x" * 40)


def test_live_mode_needs_a_secret_key_and_https() -> None:
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        Settings(mode=Mode.LIVE, **LIVE_CREDENTIALS)
    with pytest.raises(ConfigurationError, match="https"):
        Settings(mode=Mode.LIVE, secret_key="x" * 40, wechat_pay_base_url="http://127.0.0.1:9", **LIVE_CREDENTIALS)


def test_short_secret_keys_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        Settings(secret_key="short")


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIEBIAN_MODE", "live")
    with pytest.raises(ConfigurationError):
        Settings()
    monkeypatch.setenv("LIEBIAN_MODE", "sandbox")
    monkeypatch.setenv("LIEBIAN_DATABASE_URL", "postgresql://u@h:5432/d")
    assert Settings().database_url == "postgresql://u@h:5432/d"


async def test_sandbox_endpoints_answer_404_in_live_mode(db: Database, tmp_path: Any) -> None:
    settings = Settings(mode=Mode.LIVE, secret_key="x" * 40, home=tmp_path, database_url="postgresql://unused",
                        **LIVE_CREDENTIALS)
    app = create_app(settings, db=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://live") as client:
        for path in ("/api/v1/sandbox/shops", "/api/v1/sandbox/clock/advance", "/api/v1/sandbox/jobs/run-due",
                     "/api/v1/sandbox/wechat/payments/X1/succeed"):
            r = await client.post(path, json={})
            assert r.status_code == 404, path
            assert r.json()["code"] == "not_found"
        r = await client.get("/healthz")
        assert r.json()["mode"] == "live"


async def test_unknown_routes_and_methods_are_problems(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    r = await client.delete("/api/v1/console/auth/login")
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"
