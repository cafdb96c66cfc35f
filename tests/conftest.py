"""Test harness: a fresh PostgreSQL database per run, the real app over ASGI, real connections.

The server is the embedded PostgreSQL (``.liebian/test-pgdata``) unless ``LIEBIAN_TEST_DATABASE_URL``
names another (``make test`` also runs the suite on the machine's PostgreSQL 15). Every test gets its
own shop, which is how tenants are isolated in production too, so nothing is rolled back or truncated
and concurrency tests see each other's commits as real clients would.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from sqlalchemy import event, text

from liebian.app import create_app
from liebian.integrations.wechat.fake import FakeWeChat
from liebian.integrations.wechat.fake import pay as fake_pay
from liebian.kit.clock import clock
from liebian.kit.db import Database, make_engine
from liebian.kit.embedded import EmbeddedPostgres
from liebian.kit.migrate import upgrade
from liebian.settings import Mode, Settings

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-secret-key-that-is-long-enough-0123456789"
# Every test client is 127.0.0.1: the per-address limits are raised out of the suite's reach (still counted);
# tests/security sets them low on an app of its own.
SUITE_LIMITS = {f"limit_{name}": "1000000/60" for name in ("customer_login", "visit_ip", "help_ip", "claim_ip")}


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server to make test databases on (URL of its maintenance database)."""
    external = os.environ.get("LIEBIAN_TEST_DATABASE_URL")
    if external:
        yield external
        return
    embedded = EmbeddedPostgres(ROOT / ".liebian" / "test")
    embedded.start()
    try:
        yield embedded.url("postgres")
    finally:
        embedded.stop()


async def create_database(server: str) -> str:
    name = f"liebian_test_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(_asyncpg_dsn(server))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return _with_database(server, name)


async def drop_database(server: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    conn = await asyncpg.connect(_asyncpg_dsn(server))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    url = asyncio.run(create_database(server_url))
    upgrade(url)
    yield url
    asyncio.run(drop_database(server_url, url))


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(mode=Mode.SANDBOX, database_url=database_url, secret_key=SECRET,
                    home=tmp_path_factory.mktemp("home"), pool_size=30, pool_max_overflow=50, **SUITE_LIMITS)


@pytest.fixture(scope="session")
async def db(settings: Settings) -> AsyncIterator[Database]:
    assert settings.database_url
    database = Database(make_engine(settings.database_url, pool_size=30, max_overflow=50))
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
async def app(settings: Settings, db: Database) -> Any:
    return create_app(settings, db=db)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 timeout=60) as c:
        yield c


@pytest.fixture(autouse=True)
async def _reset_clock(db: Database) -> AsyncIterator[None]:
    yield
    async with db.unit_of_work() as session:
        await clock.reset(session)


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_statements(db: Database) -> Any:
    @contextmanager
    def counting() -> Iterator[StatementCounter]:
        counter = StatementCounter()
        event.listen(db.engine.sync_engine, "before_cursor_execute", counter)
        db.statement_hooks.append(counter.statements.append)  # hot paths on the driver connection
        try:
            yield counter
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", counter)
            db.statement_hooks.remove(counter.statements.append)
    return counting


PROBLEM = "application/problem+json"


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """A problem+json answer with this status and stable code, and a title and detail for people."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers["content-type"]
    body = dict(r.json())
    assert body["code"] == code, body
    assert body["status"] == status and body["title"] and body["detail"]
    return body


_slugs = itertools.count(1)
ADDRESS = {"name": "张三", "phone": "13800138000", "province": "广东省", "city": "深圳市",
           "district": "南山区", "detail": "科技园科苑路 1 号"}


class ShopHarness:
    """A sandbox shop made through the API, with helpers that speak the API as clients do."""

    def __init__(self, client: httpx.AsyncClient, db: Database, slug: str, staff_token: str, shop_id: int,
                 owner: dict[str, str]) -> None:
        self.client, self.db, self.slug, self.shop_id, self.owner = client, db, slug, shop_id, owner
        self.staff = {"Authorization": f"Bearer {staff_token}"}
        self.base = f"/api/v1/shops/{slug}"

    async def login(self, name: str) -> dict[str, str]:
        r = await self.client.post(f"{self.base}/auth/wechat-login", json={"code": f"sandbox:{name}"})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def product(self, *, price_fen: int = 1000, stock: int = 100, title: str = "测试商品",
                      skus: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
        body = {"title": title, "skus": skus or [{"specs": {"规格": "标准"}, "price_fen": price_fen,
                                                  "stock": stock}], **extra}
        r = await self.client.post("/api/v1/console/products", json=body, headers=self.staff)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def sku(self, **kwargs: Any) -> int:
        return int((await self.product(**kwargs))["skus"][0]["id"])

    async def place(self, customer: dict[str, str], lines: list[dict[str, Any]], *, key: str | None = None,
                    expect: int = 201, **body: Any) -> dict[str, Any]:
        headers = dict(customer)
        if key:
            headers["Idempotency-Key"] = key
        r = await self.client.post(f"{self.base}/orders", json={"lines": lines, "address": ADDRESS, **body},
                                   headers=headers)
        assert r.status_code == expect, r.text
        return dict(r.json())

    async def pay(self, order: dict[str, Any]) -> None:
        r = await self.client.post(f"/api/v1/sandbox/wechat/payments/{order['payment']['out_trade_no']}/succeed")
        assert r.status_code == 204, r.text

    @property
    def fake(self) -> FakeWeChat:
        """The embedded fake WeChat of the app under test (reached in-process through the ASGI transport)."""
        transport: Any = self.client._transport
        return transport.app.state.wechat.fake  # type: ignore[no-any-return]

    def paid_notification(self, order: dict[str, Any], *,
                          amount_fen: int | None = None) -> tuple[dict[str, str], bytes]:
        """The buyer pays at the fake WeChat; the signed, encrypted notification is handed to the test to post."""
        otn = order["payment"]["out_trade_no"]
        txn = fake_pay.pay(self.fake, otn, order["payment"]["params"], notify=False)
        resource = fake_pay.transaction_view(self.fake, txn)
        if amount_fen is not None:
            resource["amount"]["total"] = amount_fen
        return self.fake.signed_notification("TRANSACTION.SUCCESS", "transaction", "支付成功", resource)

    async def ship(self, order_no: str) -> dict[str, Any]:
        r = await self.client.post(f"/api/v1/console/orders/{order_no}/ship", headers=self.staff,
                                   json={"carrier": "顺丰", "tracking_no": "SF1234567890"})
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def ship_and_receive(self, customer: dict[str, str], order_no: str) -> dict[str, Any]:
        await self.ship(order_no)
        r = await self.client.post(f"{self.base}/orders/{order_no}/confirm-receipt", headers=customer)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def order(self, customer: dict[str, str], order_no: str) -> dict[str, Any]:
        r = await self.client.get(f"{self.base}/orders/{order_no}", headers=customer)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def run_due(self) -> int:
        r = await self.client.post("/api/v1/sandbox/jobs/run-due", json={})
        assert r.status_code == 200, r.text
        return int(r.json()["ran"])

    async def advance(self, seconds: float) -> None:
        """Move the server clock; the staff session is renewed (it would have expired), customers' are not."""
        r = await self.client.post("/api/v1/sandbox/clock/advance", json={"seconds": seconds})
        assert r.status_code == 200, r.text
        r = await self.client.post("/api/v1/console/auth/login", json=self.owner)
        assert r.status_code == 200, r.text
        self.staff = {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.db.sessions() as session:
            return (await session.execute(text(sql), {"shop": self.shop_id, **params})).scalar()

    async def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        async with self.db.sessions() as session:
            return [tuple(r) for r in await session.execute(text(sql), {"shop": self.shop_id, **params})]

    async def stock(self, sku_id: int) -> int:
        return int(await self.scalar("SELECT stock FROM skus WHERE id = :id AND shop_id = :shop", id=sku_id))

    async def count(self, table: str) -> int:
        return int(await self.scalar(f"SELECT count(*) FROM {table} WHERE shop_id = :shop"))


async def make_shop(client: httpx.AsyncClient, db: Database) -> ShopHarness:
    slug = f"t{next(_slugs)}-{secrets.token_hex(3)}"
    r = await client.post("/api/v1/sandbox/shops", json={"slug": slug, "name": f"测试店 {slug}"})
    assert r.status_code == 201, r.text
    data = r.json()
    return ShopHarness(client, db, slug, data["staff_token"], data["shop"]["id"], data["owner"])


@pytest.fixture
async def shop(client: httpx.AsyncClient, db: Database) -> ShopHarness:
    return await make_shop(client, db)


@pytest.fixture
async def other_shop(client: httpx.AsyncClient, db: Database) -> ShopHarness:
    return await make_shop(client, db)
