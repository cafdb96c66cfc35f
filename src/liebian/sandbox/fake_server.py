"""The embedded fake WeChat as its own HTTP server, for sandbox deployments of several processes.

``serve --workers N`` starts one in a thread of the parent process; ``liebian fake-wechat`` runs one on
its own. Every Liebian process then talks to the same fake over loopback HTTP with the same keys
(``{home}/sandbox/wechat-credentials.json``), and the fake posts its notifications to Liebian's
public URL, as WeChat does. Its clock follows the sandbox clock stored in the database.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from liebian.integrations.wechat.fake import FakeWeChat, SandboxCredentials
from liebian.kit.clock import clock
from liebian.kit.db import Database, make_engine


def clock_seconds() -> float:
    return clock.now().timestamp()


class ClockFromDatabase:
    """Refresh the sandbox clock (advanced through the API by any process) before each request."""

    def __init__(self, app: ASGIApp, db: Database) -> None:
        self.app, self.db = app, db

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            async with self.db.sessions() as session:
                await clock.refresh(session)
        await self.app(scope, receive, send)


def build(credentials: SandboxCredentials, database_url: str) -> tuple[ASGIApp, Database]:
    db = Database(make_engine(database_url, pool_size=2, max_overflow=2))
    fake = FakeWeChat(credentials, now=clock_seconds)
    return ClockFromDatabase(fake.app, db), db


def start_in_thread(credentials: SandboxCredentials, database_url: str, host: str = "127.0.0.1",
                    port: int = 0) -> tuple[str, Callable[[], None]]:
    """Serve the fake from a daemon thread; returns its base URL and a function that stops it."""
    app, db = build(credentials, database_url)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))

    def run() -> None:
        asyncio.run(_serve(server, db))

    thread = threading.Thread(target=run, name="fake-wechat", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the fake WeChat server did not start")
        time.sleep(0.05)
    bound = server.servers[0].sockets[0].getsockname()[1]

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    return f"http://{host}:{bound}", stop


async def _serve(server: uvicorn.Server, db: Database) -> None:
    try:
        await server.serve()
    finally:
        await db.dispose()
