"""Fixtures for the WeChat client and the fake: a manual clock, the fake, clients wired to it in-process."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from wechatpayv3.core import Core as OracleCore

from liebian.integrations.wechat import crypto
from liebian.integrations.wechat.fake import FakeWeChat, SandboxCredentials
from liebian.integrations.wechat.pay.client import PayClient

NOTIFY_URL = "https://merchant.example/api/v1/callbacks/wechat/pay"
PAY_BASE = "https://api.mch.weixin.qq.com"


class ManualClock:
    def __init__(self) -> None:
        self.t = float(int(time.time()))

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture(scope="session")
def credentials() -> SandboxCredentials:
    """RSA key generation is slow-ish; one set per test session is enough (state is per fake)."""
    return SandboxCredentials.generate()


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock()


class Inbox:
    """A stand-in merchant endpoint that records the notifications it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 204

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.received.append((dict(request.headers), request.content))
        return httpx.Response(self.status)


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
async def fake(credentials: SandboxCredentials, manual_clock: ManualClock, inbox: Inbox) -> AsyncIterator[FakeWeChat]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(inbox.handler)) as notify_http:
        yield FakeWeChat(credentials, now=manual_clock, notify_http=notify_http)


@pytest.fixture
async def pay_client(fake: FakeWeChat, manual_clock: ManualClock) -> AsyncIterator[PayClient]:
    config = fake.credentials.pay_config(notify_url=NOTIFY_URL, base_url=PAY_BASE)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app)) as http:
        yield PayClient(config, http, now=manual_clock)


def oracle(creds: SandboxCredentials) -> OracleCore:
    """wechatpayv3 configured as the merchant, in public-key mode (no network): the test oracle."""
    return OracleCore(mchid=creds.mchid, cert_serial_no=creds.merchant_serial, private_key=creds.merchant_key_pem,
                      apiv3_key=creds.apiv3_key, public_key=crypto.public_key_pem(
                          creds.platform_key.public_key()).decode(), public_key_id=creds.public_key_id)
