"""WeChat wiring: the real clients, pointed at WeChat in live mode and at the embedded fake in sandbox.

Sandbox and live differ only in base URLs and keys: the same ``PayClient`` signs, verifies and
decrypts in both. In sandbox the fake gets fresh keys at start-up, is reached in-process over ASGI,
and delivers its notifications to this app's own callback route, the way WeChat would over HTTPS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
from starlette.types import ASGIApp

from liebian.customers.identity import IdentityProvider, MiniProgramIdentity
from liebian.integrations.wechat import crypto
from liebian.integrations.wechat.config import MiniProgramConfig, PayConfig, load_verifiers
from liebian.integrations.wechat.fake import FakeError, FakeWeChat, SandboxCredentials
from liebian.integrations.wechat.fake import openapi as fake_openapi
from liebian.integrations.wechat.fake import pay as fake_pay
from liebian.integrations.wechat.miniprogram import MiniProgramClient
from liebian.integrations.wechat.pay.client import PayClient
from liebian.kit import jobs
from liebian.miniapp import ports as miniapp_ports
from liebian.payments.providers import registry
from liebian.payments.wechat import WeChatPayProvider
from liebian.payouts.gateway import registry as transfer_gateways
from liebian.payouts.wechat import WeChatTransferGateway
from liebian.sandbox.fake_server import clock_seconds
from liebian.settings import ConfigurationError, Settings

CALLBACK_PATH = "/api/v1/callbacks/wechat/pay"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def notify_url(settings: Settings) -> str:
    return settings.public_base_url.rstrip("/") + CALLBACK_PATH


def sandbox_credentials_path(settings: Settings) -> Path:
    return settings.home / "sandbox" / "wechat-credentials.json"


class FakeControl(Protocol):
    """What the sandbox asks of the fake: the payer pays; time passes (retries, refunds, expiries)."""

    async def pay(self, out_trade_no: str, client_params: dict[str, Any]) -> None: ...
    async def tick(self) -> int: ...
    async def login_code(self, openid: str) -> str: ...


class InProcessFake:
    def __init__(self, fake: FakeWeChat) -> None:
        self.fake = fake

    async def pay(self, out_trade_no: str, client_params: dict[str, Any]) -> None:
        fake_pay.pay(self.fake, out_trade_no, client_params)
        await self.fake.deliver_due()

    async def tick(self) -> int:
        return await self.fake.tick()

    async def login_code(self, openid: str) -> str:
        return fake_openapi.issue_login_code(self.fake, openid)


class RemoteFake:
    """The fake running as its own server (``liebian fake-wechat``; ``serve --workers N`` starts one)."""

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http, self._base = http, base_url.rstrip("/")

    async def pay(self, out_trade_no: str, client_params: dict[str, Any]) -> None:
        r = await self._http.post(f"{self._base}/_fake/payments/{out_trade_no}/pay",
                                  json={"client_params": client_params})
        if r.status_code != 200:
            body = r.json()
            raise FakeError(r.status_code, str(body.get("code")), str(body.get("message")))

    async def tick(self) -> int:
        r = await self._http.post(f"{self._base}/_fake/tick")
        r.raise_for_status()
        return int(r.json()["delivered"])

    async def login_code(self, openid: str) -> str:
        r = await self._http.post(f"{self._base}/_fake/openapi/login-codes", json={"openid": openid})
        r.raise_for_status()
        return str(r.json()["code"])


@dataclass
class WeChatGateways:
    """What the app holds on to: the clients to close at shutdown, and the fake in sandbox mode."""

    fake: FakeWeChat | None = None  # in-process only
    control: FakeControl | None = None
    pay_client: PayClient | None = None
    mini_program: MiniProgramClient | None = None
    identity: IdentityProvider | None = None
    http_clients: list[httpx.AsyncClient] = field(default_factory=list)

    async def aclose(self) -> None:
        for client in self.http_clients:
            await client.aclose()


def live_pay_config(settings: Settings) -> PayConfig:
    """Load and check the merchant's key files; a clear ``ConfigurationError`` names what is wrong."""
    if settings.wechat_private_key_path is None:
        raise ConfigurationError("set LIEBIAN_WECHAT_PRIVATE_KEY_PATH (apiclient_key.pem)")
    try:
        key = crypto.load_private_key(settings.wechat_private_key_path.read_bytes())
        verifiers = load_verifiers(settings.wechat_pay_public_key_id, settings.wechat_pay_public_key_path,
                                   list(settings.wechat_platform_cert_paths))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"WeChat Pay key files: {exc}") from exc
    if not verifiers:
        raise ConfigurationError("set LIEBIAN_WECHAT_PAY_PUBLIC_KEY_ID and LIEBIAN_WECHAT_PAY_PUBLIC_KEY_PATH "
                                 "(or LIEBIAN_WECHAT_PLATFORM_CERT_PATHS) so WeChat Pay's signatures can be verified")
    url = notify_url(settings)
    if not url.startswith("https://"):
        raise ConfigurationError("live mode needs an https LIEBIAN_PUBLIC_BASE_URL (WeChat posts callbacks there)")
    try:
        return PayConfig(
            mchid=settings.wechat_mchid or "", appid=settings.wechat_appid or "",
            merchant_serial=settings.wechat_cert_serial or "", merchant_key=key,
            apiv3_key=settings.wechat_apiv3_key or "", verifiers=verifiers,
            wechatpay_serial=settings.wechat_pay_public_key_id or next(iter(verifiers)),
            notify_url=url, base_url=settings.wechat_pay_base_url,
        )
    except ValueError as exc:
        raise ConfigurationError(f"WeChat Pay configuration: {exc}") from exc


def install(settings: Settings, app: ASGIApp | None) -> WeChatGateways:
    """Live: WeChat itself. Sandbox: the fake at ``LIEBIAN_SANDBOX_WECHAT_URL`` if set (shared by several
    processes), else one inside this process that posts its notifications to ``app`` (or over HTTP)."""
    if not settings.sandbox:
        http = httpx.AsyncClient(timeout=TIMEOUT)
        client = PayClient(live_pay_config(settings), http)
        _install_pay(client)
        mini = MiniProgramClient(MiniProgramConfig(
            appid=settings.wechat_appid or "", secret=settings.wechat_app_secret or "",
            base_url=settings.wechat_api_base_url), http)
        miniapp_ports.install_wechat(mini, client.config.mchid)
        return WeChatGateways(pay_client=client, mini_program=mini, identity=MiniProgramIdentity(mini),
                              http_clients=[http])
    if settings.sandbox_wechat_url:
        return _install_remote_sandbox(settings, settings.sandbox_wechat_url)
    return _install_sandbox(settings, app)


def _install_sandbox(settings: Settings, app: ASGIApp | None) -> WeChatGateways:
    transport = httpx.ASGITransport(app=app) if app is not None else None
    to_app = httpx.AsyncClient(transport=transport, timeout=TIMEOUT)
    fake = FakeWeChat(now=clock_seconds, notify_http=to_app)
    to_fake = httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app), timeout=TIMEOUT)
    config = fake.credentials.pay_config(notify_url=notify_url(settings), base_url=settings.wechat_pay_base_url)
    client = PayClient(config, to_fake, now=clock_seconds)
    _install_pay(client)
    control = InProcessFake(fake)
    _register_tick(control)
    mini = MiniProgramClient(fake.credentials.mini_program_config(settings.wechat_api_base_url), to_fake,
                             now=clock_seconds)
    miniapp_ports.install_wechat(mini, client.config.mchid)
    return WeChatGateways(fake=fake, control=control, pay_client=client, mini_program=mini,
                          identity=MiniProgramIdentity(mini, sandbox_codes=control.login_code),
                          http_clients=[to_app, to_fake])


def _install_remote_sandbox(settings: Settings, url: str) -> WeChatGateways:
    path = sandbox_credentials_path(settings)
    try:
        credentials = SandboxCredentials.load(path)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigurationError(f"LIEBIAN_SANDBOX_WECHAT_URL is set but {path} is unreadable: {exc}") from exc
    http = httpx.AsyncClient(timeout=TIMEOUT)
    config = credentials.pay_config(notify_url=notify_url(settings), base_url=url)
    client = PayClient(config, http, now=clock_seconds)
    _install_pay(client)
    control = RemoteFake(http, url)
    _register_tick(control)
    mini = MiniProgramClient(credentials.mini_program_config(url), http, now=clock_seconds)
    miniapp_ports.install_wechat(mini, client.config.mchid)
    return WeChatGateways(control=control, pay_client=client, mini_program=mini,
                          identity=MiniProgramIdentity(mini, sandbox_codes=control.login_code), http_clients=[http])


def _install_pay(client: PayClient) -> None:
    """Payments and refunds, and withdrawals to WeChat balance, through the same signed client."""
    registry.install("wechat", WeChatPayProvider(client))
    transfer_gateways.install(WeChatTransferGateway(client))


def _register_tick(control: FakeControl) -> None:
    async def tick_fake(*_: Any) -> int:
        return await control.tick()

    jobs.register_sweeper("sandbox.wechat_fake", tick_fake)
