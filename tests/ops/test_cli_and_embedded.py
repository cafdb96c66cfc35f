"""The operator's view: `liebian serve` on the embedded PostgreSQL, `liebian check`, migrations."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from liebian.kit.migrate import upgrade
from liebian.models import Base
from tests.conftest import _asyncpg_dsn, create_database, drop_database

LIEBIAN = str(Path(sys.executable).parent / "liebian")
EMBEDDED_ONLY = pytest.mark.skipif(
    bool(os.environ.get("LIEBIAN_TEST_DATABASE_URL")),
    reason="exercises the embedded PostgreSQL; already covered by the embedded run of the suite",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"liebian serve exited early:\n{proc.stdout.read().decode() if proc.stdout else ''}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("liebian serve did not become healthy")


def _serve(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIEBIAN_")}
    env["LIEBIAN_HOME"] = str(home)
    return subprocess.Popen([LIEBIAN, "serve", "--demo", "--port", str(port)], env=env, cwd=home.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@EMBEDDED_ONLY
def test_serve_on_embedded_postgres_survives_restart_and_stops_it(tmp_path: Path) -> None:
    home = tmp_path / ".liebian"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _serve(home, port)
    try:
        _wait_healthy(base, proc)
        products = httpx.get(f"{base}/api/v1/shops/demo/products").json()
        assert products["total"] >= 5 and all(p["skus"] for p in products["items"])
        login = httpx.post(f"{base}/api/v1/console/auth/login",
                           json={"email": "owner@demo.liebian.local", "password": "liebian-demo"})
        assert login.status_code == 200
        assert httpx.get(f"{base}/openapi.json").status_code == 200
        # The demo's first day was played through the API: paid orders, an open group, pages that render.
        staff = {"Authorization": f"Bearer {login.json()['access_token']}"}
        assert httpx.get(f"{base}/api/v1/console/orders", headers=staff).json()["total"] >= 10
        assert httpx.get(f"{base}/s/demo").status_code == 200
        assert httpx.get(f"{base}/console/login").status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 0, output
    assert "owner@demo.liebian.local" in output and f"{base}/docs" in output and f"{base}/console" in output
    assert not (home / "pgdata" / "postmaster.pid").exists(), output

    proc = _serve(home, port)  # data survives: the demo shop is found, not created again
    try:
        _wait_healthy(base, proc)
        assert httpx.get(f"{base}/api/v1/shops/demo/products").json()["total"] == products["total"]
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=60)[0].decode()
    assert "already there" in output
    assert not (home / "pgdata" / "postmaster.pid").exists(), output


def _check(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LIEBIAN_DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run([LIEBIAN, "check"], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_check_passes_on_a_sound_database_and_reports_a_broken_one(server_url: str) -> None:
    url = asyncio.run(create_database(server_url))
    try:
        upgrade(url)
        ok = _check(url)
        assert ok.returncode == 0, ok.stdout + ok.stderr

        async def corrupt() -> None:
            conn = await asyncpg.connect(_asyncpg_dsn(url))
            try:
                txn = await conn.fetchval("INSERT INTO ledger_transactions (shop_id, kind, ref, created_at) "
                                          "VALUES (1, 'payment', 'X1', now()) RETURNING id")
                await conn.execute("INSERT INTO ledger_entries (transaction_id, shop_id, account, amount_fen) "
                                   "VALUES ($1, 1, 'cash:wechat', 100), ($1, 1, 'customer_prepayments', -90)", txn)
            finally:
                await conn.close()

        asyncio.run(corrupt())
        broken = _check(url)
        assert broken.returncode == 1
        assert "CNY entries sum to 10 fen" in broken.stdout and "payment X1" in broken.stdout
    finally:
        asyncio.run(drop_database(server_url, url))


def test_models_and_migrations_agree(database_url: str) -> None:
    sync_url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        sync_url = database_url.replace("postgresql://", "postgresql+asyncpg://", 1)
        pytest.skip("needs a sync driver to compare the schema")
    engine = create_engine(sync_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    # The trigram index is an expression index that autogenerate cannot compare; everything else must match.
    relevant = [d for d in diff if "ix_products_search_trgm" not in str(d)]
    assert relevant == []
