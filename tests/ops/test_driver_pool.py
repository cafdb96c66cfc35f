"""The hot paths' bare connection pool (``kit.db.DriverPool``): bounded, last-in first-out, and never hands
out a connection left inside a transaction or broken."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from liebian.kit.db import Database, make_engine


@pytest.fixture
async def small(database_url: str) -> Database:
    return Database(make_engine(database_url, pool_size=1, max_overflow=0), driver_pool_size=2)


async def _backend(db: Database) -> int:
    async with db.driver_transaction() as conn:
        return int(await conn.fetchval("SELECT pg_backend_pid()"))


async def test_connections_are_reused_and_bounded(small: Database) -> None:
    try:
        first = await _backend(small)
        assert await _backend(small) == first  # the same connection again: no new backend per transaction

        started = asyncio.Event()
        release = asyncio.Event()
        seen: list[int] = []

        async def hold() -> None:
            async with small.driver_transaction() as conn:
                seen.append(int(await conn.fetchval("SELECT pg_backend_pid()")))
                if len(seen) == 2:
                    started.set()
                await release.wait()

        holders = [asyncio.create_task(hold()) for _ in range(2)]
        await started.wait()
        third = asyncio.create_task(_backend(small))  # the pool is full: it waits for one to come back
        await asyncio.sleep(0.05)
        assert not third.done()
        release.set()
        await asyncio.gather(*holders)
        assert await third in seen and len(set(seen)) == 2
    finally:
        await small.dispose()


async def test_a_failed_transaction_is_rolled_back_and_the_pool_keeps_working(small: Database) -> None:
    try:
        with pytest.raises(asyncpg.UndefinedTableError):
            async with small.driver_transaction() as conn:
                await conn.fetchval("SELECT 1 FROM no_such_table")
        async with small.driver_transaction() as conn:
            assert await conn.fetchval("SELECT 1") == 1
    finally:
        await small.dispose()


async def test_a_broken_connection_is_replaced_for_the_next_caller(small: Database) -> None:
    try:
        doomed = await _backend(small)
        killer = await asyncpg.connect(small.engine.url.render_as_string(hide_password=False)
                                       .replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await killer.execute("SELECT pg_terminate_backend($1)", doomed)
        finally:
            await killer.close()
        # Whichever the driver notices first: the server's goodbye, the closed socket, or its own state.
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)):
            async with small.driver_transaction() as conn:  # the idle connection whose server went away
                await conn.fetchval("SELECT 1")
        assert await _backend(small) != doomed
    finally:
        await small.dispose()


async def test_a_refused_statement_keeps_the_connection_and_a_cancelled_one_drops_it(small: Database) -> None:
    try:
        first = await _backend(small)
        with pytest.raises(asyncpg.UniqueViolationError):
            async with small.driver_transaction() as conn:
                await conn.fetchval("CREATE TEMP TABLE t (id int PRIMARY KEY)")
                await conn.fetchval("INSERT INTO t VALUES (1), (1)")
        assert await _backend(small) == first  # rolled back and reused

        async def slow() -> None:
            async with small.driver_transaction() as conn:
                await conn.fetchval("SELECT pg_sleep(5)")

        task = asyncio.create_task(slow())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await _backend(small) != first  # its protocol state was unknown: never handed out again
    finally:
        await small.dispose()


async def test_a_cancelled_waiter_does_not_lose_a_connection(small: Database) -> None:
    try:
        release = asyncio.Event()

        async def hold() -> None:
            async with small.driver_transaction():
                await release.wait()

        holders = [asyncio.create_task(hold()) for _ in range(2)]
        await asyncio.sleep(0.05)
        waiter = asyncio.create_task(_backend(small))
        await asyncio.sleep(0.02)
        waiter.cancel()
        release.set()
        await asyncio.gather(*holders)
        with pytest.raises(asyncio.CancelledError):
            await waiter
        # Both connections came back: two transactions at once still fit.
        both = await asyncio.gather(_backend(small), _backend(small))
        assert len(both) == 2
    finally:
        await small.dispose()
