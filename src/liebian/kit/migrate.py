"""Bring a database's schema to the newest revision (Alembic, scripts shipped inside the package)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str, data_key: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if data_key:  # a migration that seals stored personal data needs it (never written to the config file)
        config.attributes["liebian.data_key"] = data_key
    return config


def upgrade(url: str, revision: str = "head", *, data_key: str | None = None) -> None:
    command.upgrade(alembic_config(url, data_key), revision)


async def upgrade_async(url: str) -> None:
    """Alembic's env runs its own event loop, so it runs in a thread when called from async code."""
    await asyncio.to_thread(upgrade, url)
