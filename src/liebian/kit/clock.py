"""An injectable clock: business time never comes from ``now()`` in SQL or ``datetime.now()`` elsewhere.

In sandbox mode the clock can be advanced (``POST /api/v1/sandbox/clock/advance``); the offset is kept
in the database so that the API, the in-process worker and ``liebian worker`` processes agree.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from liebian.kit.sql import text

_REFRESH_SECONDS = 1.0


class Clock:
    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._loaded_at = float("-inf")

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    @property
    def offset(self) -> timedelta:
        return self._offset

    def set_offset(self, offset: timedelta) -> None:
        self._offset = offset
        self._loaded_at = time.monotonic()

    def needs_refresh(self) -> bool:
        return time.monotonic() - self._loaded_at > _REFRESH_SECONDS

    async def refresh(self, conn: AsyncConnection | AsyncSession) -> None:
        """Pick up an offset another process stored."""
        seconds = (await conn.execute(text("SELECT offset_seconds FROM kit_clock WHERE id = 1"))).scalar()
        self.set_offset(timedelta(seconds=float(seconds or 0)))

    async def advance(self, session: AsyncSession, seconds: float) -> datetime:
        row = await session.execute(
            text(
                "INSERT INTO kit_clock (id, offset_seconds) VALUES (1, :s) "
                "ON CONFLICT (id) DO UPDATE SET offset_seconds = kit_clock.offset_seconds + :s "
                "RETURNING offset_seconds"
            ),
            {"s": seconds},
        )
        self.set_offset(timedelta(seconds=float(row.scalar_one())))
        return self.now()

    async def reset(self, session: AsyncSession) -> None:
        await session.execute(text("DELETE FROM kit_clock"))
        self.set_offset(timedelta(0))


clock = Clock()


def utcnow() -> datetime:
    return clock.now()
