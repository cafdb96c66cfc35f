"""Alembic environment: async engine, one migrating process at a time (advisory lock)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from liebian.kit.db import make_engine
from liebian.kit.sql import text
from liebian.models import Base

config = context.config
target_metadata = Base.metadata
MIGRATION_LOCK = 7_236_101


def _run(connection: Connection) -> None:
    connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True,
                      transaction_per_migration=False)
    with context.begin_transaction():
        context.run_migrations()


async def _online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "", pool_size=1, max_overflow=0)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_online())
