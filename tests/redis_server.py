"""A private ``redis-server`` for a test module: a free port, no persistence (``--save "" --appendonly no``), so a
restart starts empty — as a production Redis without persistence does after a crash.

Without the binary, ``LIEBIAN_TEST_REDIS_URL`` names a Redis to use instead (then :meth:`restart` flushes it, the
closest to a restart); without either, the tests that need Redis are skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis

BINARY = shutil.which("redis-server") or ("/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self) -> None:
        self.external = os.environ.get("LIEBIAN_TEST_REDIS_URL") if BINARY is None else None
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.dir = tempfile.mkdtemp(prefix="liebian-test-redis-")

    @property
    def url(self) -> str:
        return self.external or f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if self.external:
            return
        assert BINARY is not None
        self.process = subprocess.Popen(
            [BINARY, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir, "--protected-mode", "yes", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_timeout=0.5).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # a crash, not a shutdown: nothing is saved (nothing would be anyway)
            self.process.wait(10)
            self.process = None

    def restart(self) -> None:
        """Killed and started again on the same port, empty."""
        if self.external:
            redis.Redis.from_url(self.external).flushdb()
            return
        self.stop()
        self.start()


@contextmanager
def private_redis() -> Iterator[RedisServer]:
    if BINARY is None and not os.environ.get("LIEBIAN_TEST_REDIS_URL"):
        pytest.skip("no redis-server binary and no LIEBIAN_TEST_REDIS_URL: the Redis path is not tested here")
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)
