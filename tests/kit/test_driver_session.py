"""The driver session answers as SQLAlchemy's session does, for everything the services ask of it.

Each statement runs on both (an ORM session and a driver session, the same database) and the answers are
compared; refusals, savepoints, rollbacks and the callbacks around a unit of work are checked on the driver
session directly. The hot routes (``POST orders``) run the whole order suite through it besides.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError, MultipleResultsFound, NoResultFound
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit.db import Database, after_commit, after_rollback
from liebian.kit.errors import Conflict
from liebian.kit.sql import text
from liebian.shops.models import Shop
from tests.conftest import ADDRESS, ShopHarness, assert_problem

SETUP = [
    "CREATE TEMP TABLE IF NOT EXISTS lb_ds (id bigserial PRIMARY KEY, name text UNIQUE, doc jsonb, n bigint, "
    "at timestamptz, tags text[])",
]


@asynccontextmanager
async def both(db: Database) -> AsyncIterator[tuple[AsyncSession, AsyncSession]]:
    """An ORM session and a driver session, each in a transaction that is rolled back."""
    async with db.sessions() as orm:
        await orm.begin()
        try:
            async with db.driver_unit_of_work() as driver:
                try:
                    for statement in SETUP:
                        await orm.execute(text(statement))
                        await driver.execute(text(statement))
                    yield orm, driver
                finally:
                    raise _Undo
        except _Undo:
            pass
        finally:
            await orm.rollback()


class _Undo(Exception):
    """Raised to roll the driver session's unit of work back."""


FILL = ("INSERT INTO lb_ds (name, doc, n, at, tags) VALUES ('a', CAST(:doc AS jsonb), 1, "
        "'2026-01-02T03:04:05+08:00', ARRAY['x', 'y']), ('b', NULL, 2, NULL, NULL)")

QUERIES: list[tuple[str, dict[str, Any], Callable[[Any], Any]]] = [
    ("SELECT id > 0 AS positive, name, doc, n, at, tags FROM lb_ds ORDER BY name", {},
     lambda r: [tuple(x) for x in r.all()]),
    ("SELECT name, doc FROM lb_ds WHERE name = :name", {"name": "a"}, lambda r: tuple(r.one())),
    ("SELECT name FROM lb_ds WHERE name = :name", {"name": "zz"}, lambda r: r.first()),
    ("SELECT name FROM lb_ds WHERE name = :name", {"name": "zz"}, lambda r: r.scalar()),
    ("SELECT n FROM lb_ds WHERE name = :name", {"name": "b"}, lambda r: r.scalar_one()),
    ("SELECT n FROM lb_ds WHERE name = :name", {"name": "zz"}, lambda r: r.scalar_one_or_none()),
    ("SELECT n FROM lb_ds ORDER BY n", {}, lambda r: r.scalars().all()),
    ("SELECT name, n FROM lb_ds ORDER BY n", {}, lambda r: [dict(m) for m in r.mappings().all()]),
    ("SELECT name, n FROM lb_ds ORDER BY n", {}, lambda r: [(row.name, row.n, row._mapping["n"]) for row in r]),
    ("SELECT doc->>'k' AS k, doc::text AS raw, :p::int + 1 AS p FROM lb_ds WHERE name = 'a'", {"p": 41},
     lambda r: tuple(r.one())),
    ("SELECT 'a\\:b' AS escaped, CAST(:when AS text) AS when_", {"when": "12:30"}, lambda r: tuple(r.one())),
    ("UPDATE lb_ds SET n = n + 10 WHERE n >= :n", {"n": 1}, lambda r: r.rowcount),
    ("SELECT n FROM lb_ds WHERE id = ANY(:ids)", {"ids": [-1]}, lambda r: r.all()),
]


async def test_statements_answer_as_on_an_orm_session(db: Database) -> None:
    async with both(db) as (orm, driver):
        for session in (orm, driver):
            await session.execute(text(FILL), {"doc": '{"k": "v", "n": [1, 2]}'})
        for sql, params, read in QUERIES:
            expected = read(await orm.execute(text(sql), params))
            got = read(await driver.execute(text(sql), params))
            assert got == expected, sql
            assert type(got) is type(expected), sql


async def test_driver_sql_and_exactly_one(db: Database) -> None:
    async with both(db) as (orm, driver):
        for session in (orm, driver):
            await session.execute(text(FILL), {"doc": "{}"})
            row = (await (await session.connection()).exec_driver_sql(
                "SELECT name, doc FROM lb_ds WHERE n = $1", (1,))).first()
            assert row is not None and row.name == "a" and row.doc == {}
            with pytest.raises(MultipleResultsFound):
                (await session.execute(text("SELECT n FROM lb_ds"))).scalar_one()
            with pytest.raises(NoResultFound):
                (await session.execute(text("SELECT n FROM lb_ds WHERE false"))).one()


async def test_refusals_are_sqlalchemys_and_a_savepoint_keeps_the_transaction(db: Database) -> None:
    async with both(db) as (orm, driver):
        for session in (orm, driver):
            await session.execute(text("INSERT INTO lb_ds (name) VALUES ('dup')"))
            with pytest.raises(IntegrityError) as refused:
                async with session.begin_nested():
                    await session.execute(text("INSERT INTO lb_ds (name) VALUES ('dup')"))
            assert getattr(refused.value.orig, "sqlstate", None) == "23505"
            assert (await session.execute(text("SELECT count(*) FROM lb_ds"))).scalar_one() == 1
            with pytest.raises(DBAPIError) as bad:
                async with session.begin_nested():
                    await session.execute(text("SELECT CAST(:v AS int)"), {"v": "seven"})
            assert getattr(bad.value.orig, "sqlstate", None) == "22P02"


async def test_only_text_statements(db: Database) -> None:
    async with db.driver_unit_of_work() as driver:
        with pytest.raises(TypeError):
            await driver.execute(select(Shop.id))
        with pytest.raises(TypeError):
            driver.add(Shop())


async def test_a_refusal_rolls_back_runs_the_rollback_callbacks_and_keeps_the_connection(db: Database) -> None:
    calls: list[str] = []
    async with db.driver_unit_of_work() as warm:  # a pooled connection exists
        await warm.execute(text("SELECT 1"))
    pool = db._driver_pool
    assert pool is not None
    opened = pool._opened
    with pytest.raises(Conflict):
        async with db.driver_unit_of_work() as session:
            await session.execute(text("CREATE TABLE lb_ds_gone (id int)"))
            after_rollback(session, lambda: calls.append("rolled back"))

            async def committed() -> None:
                calls.append("committed")
            after_commit(session, committed)
            raise Conflict("stock_exhausted", "sold out")
    assert calls == ["rolled back"]
    assert pool._opened == opened  # rolled back and reused, not dropped
    async with db.sessions() as check:
        assert (await check.execute(text("SELECT to_regclass('lb_ds_gone')"))).scalar() is None

    async with db.driver_unit_of_work() as session:
        after_rollback(session, lambda: calls.append("rolled back again"))

        async def done() -> None:
            calls.append("committed")
        after_commit(session, done)
    assert calls == ["rolled back", "committed"]


async def test_a_statement_whose_table_changed_is_refused_once_then_prepared_again(db: Database) -> None:
    """Statements go to asyncpg's protocol directly once prepared; when the server says a prepared statement's
    result changed (an ALTER TABLE elsewhere), the refusal is SQLAlchemy's and the cache is dropped, as asyncpg
    does itself: the next transaction prepares the statement again and works."""
    table = f"lb_ds_alter_{secrets.token_hex(4)}"
    query = text(f"SELECT * FROM {table}")
    async with db.unit_of_work() as setup:
        await setup.execute(text(f"CREATE TABLE {table} (id int)"))
        await setup.execute(text(f"INSERT INTO {table} VALUES (1)"))
    try:
        for _ in range(2):  # prepared, then served from the cache
            async with db.driver_unit_of_work() as session:
                assert (await session.execute(query)).all() == [(1,)]
        async with db.unit_of_work() as change:
            await change.execute(text(f"ALTER TABLE {table} ADD COLUMN note text DEFAULT 'x'"))
        with pytest.raises(DBAPIError) as refused:
            async with db.driver_unit_of_work() as session:
                await session.execute(query)
        assert isinstance(refused.value.orig, asyncpg.exceptions.InvalidCachedStatementError)
        async with db.driver_unit_of_work() as session:
            assert [tuple(r) for r in (await session.execute(query)).all()] == [(1, "x")]
    finally:
        async with db.unit_of_work() as cleanup:
            await cleanup.execute(text(f"DROP TABLE {table}"))


# --- the hot route answers in the declared route's order of checks ----------------------------------

async def test_hot_order_route_checks_in_fastapis_order(shop: ShopHarness, client: httpx.AsyncClient) -> None:
    buyer = await shop.login("hot-order-checks")
    sku = await shop.sku(stock=5)
    url = f"{shop.base}/orders"
    good = {"lines": [{"sku_id": sku, "quantity": 1}], "address": ADDRESS, "payment_method": "cod"}
    # malformed JSON first, whoever sends it
    assert_problem(await client.post(url, content=b"{", headers={"Content-Type": "application/json"}),
                   422, "invalid_json")
    # then the shop, then the token
    assert_problem(await client.post("/api/v1/shops/no-such-shop/orders", json=good, headers=buyer),
                   404, "shop_not_found")
    assert_problem(await client.post(url, json={"lines": "bad"}), 401, "not_authenticated")
    # then the Idempotency-Key, before the body's fields
    assert_problem(await client.post(url, json={"lines": "bad"}, headers={**buyer, "Idempotency-Key": "x"}),
                   422, "invalid_idempotency_key")
    refused = assert_problem(await client.post(url, json={"lines": "bad"}, headers=buyer), 422, "validation_error")
    assert refused["errors"][0]["loc"][:2] == ["body", "lines"]
    assert_problem(await client.post(url, headers=buyer), 422, "validation_error")  # no body at all
    assert await shop.stock(sku) == 5
    placed = await client.post(url, json=good, headers={**buyer, "Idempotency-Key": "hot-route-1"})
    again = await client.post(url, json=good, headers={**buyer, "Idempotency-Key": "hot-route-1"})
    assert placed.status_code == again.status_code == 201 and placed.json() == again.json()
    assert await shop.stock(sku) == 4


def test_a_connection_lost_mid_statement_is_unavailable_however_it_is_wrapped() -> None:
    """A driver session wraps the driver's error as SQLAlchemy does; the socket's error may be its cause."""
    import asyncpg

    from liebian.kit.db import unavailable

    lost = asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")
    lost.__cause__ = BrokenPipeError(32, "Broken pipe")
    assert unavailable(DBAPIError("SELECT 1", (), lost))
    assert unavailable(lost)
    refused = asyncpg.exceptions.UniqueViolationError("duplicate key")
    assert not unavailable(IntegrityError("INSERT", (), refused))


async def test_hot_entry_route_checks_in_fastapis_order(shop: ShopHarness, client: httpx.AsyncClient) -> None:
    from tests.api.flashsale_helpers import setup

    buyer = await shop.login("hot-entry-checks")
    _, slot = await setup(shop)
    url = f"{shop.base}/flashsale/campaigns/{slot['id']}/entries"
    good = {"quantity": 1, "address": ADDRESS}
    assert_problem(await client.post(url, content=b"[", headers={"Content-Type": "application/json"}),
                   422, "invalid_json")
    assert_problem(await client.post(f"/api/v1/shops/nope/flashsale/campaigns/{slot['id']}/entries", json=good,
                                     headers=buyer), 404, "shop_not_found")
    assert_problem(await client.post(f"{shop.base}/flashsale/campaigns/x/entries", json=good), 401,
                   "not_authenticated")
    # the path's id and the body's fields are reported together
    both_wrong = assert_problem(await client.post(f"{shop.base}/flashsale/campaigns/0/entries",
                                                  json={"quantity": "many"}, headers=buyer), 422, "validation_error")
    locations = {tuple(e["loc"][:2]) for e in both_wrong["errors"]}
    assert ("path", "campaign_id") in locations and ("body", "quantity") in locations, locations
    assert_problem(await client.post(f"{shop.base}/flashsale/campaigns/{2**63}/entries", json=good, headers=buyer),
                   422, "validation_error")
    entered = await client.post(url, json=good, headers=buyer)
    assert entered.status_code == 201, entered.text
    assert entered.json()["status"] == "ordered" and entered.json()["order_no"]
