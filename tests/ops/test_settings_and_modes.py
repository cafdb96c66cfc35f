from __future__ import annotations

from typing import Any

import httpx
import pytest

from liebian.app import create_app
from liebian.gateways import live_pay_config
from liebian.integrations.wechat import crypto
from liebian.integrations.wechat.fake import SandboxCredentials
from liebian.kit.db import Database
from liebian.miniapp import ports as miniapp_ports
from liebian.payments.providers import registry
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


def test_live_mode_talks_only_to_wechat_and_sandbox_never_holds_real_keys() -> None:
    """wechat.md §9 item 29: no live mode pointed at a look-alike, no sandbox with a merchant's keys."""
    for name, url in (("wechat_pay_base_url", "https://api.mch.weixin.qq.com.evil.example"),
                      ("wechat_pay_base_url", "https://127.0.0.1:8001"),
                      ("wechat_api_base_url", "https://fake-wechat.local")):
        with pytest.raises(ConfigurationError, match="itself"):
            Settings(mode=Mode.LIVE, secret_key="x" * 40, **{**LIVE_CREDENTIALS, name: url})
    backup = Settings(mode=Mode.LIVE, secret_key="x" * 40, wechat_pay_base_url="https://api2.mch.weixin.qq.com",
                      **LIVE_CREDENTIALS)
    assert backup.wechat_pay_base_url == "https://api2.mch.weixin.qq.com"
    for real in ({"wechat_apiv3_key": "k" * 32}, {"wechat_private_key_path": "/etc/liebian/apiclient_key.pem"}):
        with pytest.raises(ConfigurationError, match="sandbox mode with real WeChat Pay credentials"):
            Settings(mode=Mode.SANDBOX, **real)


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


def live_settings(tmp_path: Any, **overrides: Any) -> Settings:
    """Live settings with real key files, as a merchant downloads them from the merchant platform."""
    creds = SandboxCredentials.generate()
    (tmp_path / "apiclient_key.pem").write_text(creds.merchant_key_pem)
    (tmp_path / "pub_key.pem").write_bytes(crypto.public_key_pem(creds.platform_key.public_key()))
    (tmp_path / "platform_cert.pem").write_text(creds.certificate_pem)
    values: dict[str, Any] = {
        **LIVE_CREDENTIALS, "wechat_mchid": creds.mchid, "wechat_apiv3_key": creds.apiv3_key,
        "wechat_private_key_path": tmp_path / "apiclient_key.pem", "wechat_pay_public_key_id": creds.public_key_id,
        "wechat_pay_public_key_path": tmp_path / "pub_key.pem", "public_base_url": "https://shop.example.com",
    }
    values.update(overrides)
    return Settings(mode=Mode.LIVE, secret_key="x" * 40, home=tmp_path, database_url="postgresql://unused", **values)


def test_live_pay_configuration_is_loaded_and_checked_at_start(tmp_path: Any) -> None:
    config = live_pay_config(live_settings(tmp_path))
    assert config.notify_url == "https://shop.example.com/api/v1/callbacks/wechat/pay"
    assert config.wechatpay_serial.startswith("PUB_KEY_ID_") and len(config.verifiers) == 1
    both = live_pay_config(live_settings(tmp_path, wechat_platform_cert_paths=[tmp_path / "platform_cert.pem"]))
    assert len(both.verifiers) == 2  # public key and certificate, both accepted during a migration
    cases = [
        ({"wechat_private_key_path": tmp_path / "missing.pem"}, "key files"),
        ({"wechat_apiv3_key": "k" * 31}, "APIv3 key"),
        ({"wechat_pay_public_key_id": None, "wechat_pay_public_key_path": None}, "PUBLIC_KEY_ID"),
        ({"wechat_pay_public_key_id": "1234"}, "PUB_KEY_ID_"),
        ({"public_base_url": "http://shop.example.com"}, "https"),
        ({"wechat_mchid": "not-digits"}, "mchid"),
    ]
    for overrides, message in cases:
        with pytest.raises(ConfigurationError, match=message):
            live_pay_config(live_settings(tmp_path, **overrides))


async def test_sandbox_endpoints_answer_404_in_live_mode(db: Database, tmp_path: Any) -> None:
    settings = live_settings(tmp_path)
    # The live app installs a live mini-program client in the process-wide port: the suite's app gets its own back.
    with registry.preserved(), miniapp_ports.wechat.preserved():
        app = create_app(settings, db=db)
        assert registry.for_method("wechat").merchant_id == settings.wechat_mchid  # the live WeChat Pay provider
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
