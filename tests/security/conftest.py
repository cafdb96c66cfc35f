"""The suite's app with low abuse limits for the length of a test (the suite raises the per-address ones out of
reach), and clients that each come from an address of their own, so tests do not share counters.

The limits are swapped on the one app rather than a second app made: an app installs process-wide ports (the
sandbox's fake WeChat among them) that the suite's app must keep."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from liebian.kit.db import Database
from liebian.kit.ratelimit import RULE_NAMES, RateLimits
from liebian.settings import Settings
from tests.conftest import ShopHarness, make_shop

_addresses = itertools.count(1)
STRICT = {"limit_console_login": "5/900", "limit_customer_login": "20/60", "limit_visit_customer": "5/60",
          "limit_visit_device": "5/60", "limit_visit_ip": "20/60", "limit_help_customer": "3/60",
          "limit_help_ip": "50/60", "limit_claim_customer": "3/60", "limit_claim_ip": "50/60"}


def new_address() -> str:
    n = next(_addresses)
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


@pytest.fixture
def strict_app(app: Any, settings: Settings, db: Database) -> Iterator[Any]:
    strict = settings.model_copy(update=STRICT)
    kept = app.state.rate_limits
    app.state.rate_limits = RateLimits({name: getattr(strict, f"limit_{name}") for name in RULE_NAMES}, db,
                                       app.state.redis)
    try:
        yield app
    finally:
        app.state.rate_limits = kept


StrictClient = Callable[..., Any]


@pytest.fixture
def strict_client(strict_app: Any) -> StrictClient:
    """``async with strict_client() as c``: a client of the strict app from a fresh address (or ``ip``)."""

    @asynccontextmanager
    async def make(ip: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=strict_app, client=(ip or new_address(), 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as c:
            yield c

    return make


@pytest.fixture
async def strict_shop(strict_client: StrictClient) -> AsyncIterator[ShopHarness]:
    """A shop driven through the strict app, from one address of its own."""
    async with strict_client() as c:
        yield await make_shop(c, _db_of(c))


def _db_of(client: httpx.AsyncClient) -> Database:
    transport: Any = client._transport
    db: Database = transport.app.state.db
    return db
