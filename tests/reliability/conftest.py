"""One deployment for the process-level tests of this package: a scratch database on the test server, the fake
WeChat in this process, and two API processes that run no worker (each test starts the workers it kills or races).
Started once, on first use, and stopped at the end of the package."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from liebian.kit.checks import Violation
from liebian.kit.db import Database, make_engine
from liebian.kit.migrate import upgrade
from tests.conftest import ShopHarness, create_database, drop_database, make_shop
from tests.reliability.harness import Cluster, cluster

# Process-level tests start processes of their own (several seconds of CPU each): they run on one pass of
# ``make test``, the machine's PostgreSQL one; the embedded pass runs the database-restart test instead.
PROCESS_PASS = pytest.mark.skipif(
    not os.environ.get("LIEBIAN_TEST_DATABASE_URL") and not os.environ.get("LIEBIAN_RELIABILITY_ALL"),
    reason="process-level fault tests run on the machine's PostgreSQL pass of make test "
           "(or set LIEBIAN_RELIABILITY_ALL=1)")


@pytest.fixture(scope="package")
def scratch_url(server_url: str) -> Iterator[str]:
    url = asyncio.run(create_database(server_url))
    upgrade(url)
    yield url
    asyncio.run(drop_database(server_url, url))


@pytest.fixture(scope="package")
def deployment(scratch_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with cluster(scratch_url, tmp_path_factory.mktemp("deployment")) as running:
        running.start_fake()
        running.start_api()
        running.start_api()
        yield running


@pytest.fixture(scope="package")
async def scratch_db(scratch_url: str) -> AsyncIterator[Database]:
    database = Database(make_engine(scratch_url, pool_size=3, max_overflow=2))
    yield database
    await database.dispose()


@pytest.fixture
async def remote_shop(deployment: Cluster, scratch_db: Database) -> AsyncIterator[ShopHarness]:
    """A shop made over HTTP on the first API process."""
    async with httpx.AsyncClient(base_url=deployment.apis[0], timeout=60) as client:
        yield await make_shop(client, scratch_db)


@pytest.fixture
def violations(app: Any) -> Callable[[Database], Awaitable[list[tuple[str, Violation]]]]:
    """``liebian check``'s invariants, run here on a database (the CLI runs the same function). The app fixture
    is asked for its wiring: some checks read another module through the ports it installs."""
    from liebian.checks import run

    async def found(db: Database) -> list[tuple[str, Violation]]:
        async with db.sessions() as session:
            return [(name, v) for name, vs in await run(session) for v in vs]

    return found


@pytest.fixture(autouse=True)
def _stop_test_processes(request: pytest.FixtureRequest) -> Iterator[None]:
    """Workers a test started are stopped when it ends, passed or failed: the next test starts its own."""
    if "deployment" not in request.fixturenames:
        yield
        return
    running: Cluster = request.getfixturevalue("deployment")
    before = len(running.procs)
    yield
    for proc in running.procs[before:]:
        proc.stop()
    del running.procs[before:]
