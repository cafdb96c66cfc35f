"""Deadline sweepers and the worker loop.

A sweeper finds rows whose time has come (``... <= :now ORDER BY ... LIMIT n FOR UPDATE SKIP LOCKED``),
handles them and returns how many it handled. Because rows are claimed with ``SKIP LOCKED``, any number
of worker processes can sweep the same tables without doing anything twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit import outbox
from liebian.kit.clock import clock
from liebian.kit.db import Database, unavailable

log = logging.getLogger(__name__)

SweepFn = Callable[[AsyncSession, datetime], Awaitable[int]]


@dataclass(frozen=True)
class Sweeper:
    name: str
    sweep: SweepFn


_sweepers: dict[str, Sweeper] = {}


def register_sweeper(name: str, sweep: SweepFn) -> None:
    _sweepers[name] = Sweeper(name, sweep)


def sweepers() -> list[Sweeper]:
    return list(_sweepers.values())


async def run_due(db: Database, *, max_rounds: int = 100) -> int:
    """Run every sweeper and the outbox until nothing is due; returns how many items were handled."""
    async with db.sessions() as session:
        await clock.refresh(session)
    total = 0
    for _ in range(max_rounds):
        handled = 0
        for sweeper in sweepers():
            async with db.unit_of_work() as session:
                handled += await sweeper.sweep(session, clock.now())
        handled += await outbox.process_due(db)
        total += handled
        if handled == 0:
            break
    return total


class Worker:
    """Runs :func:`run_due` every ``poll_seconds``, or at once when :meth:`wake` is called."""

    def __init__(self, db: Database, poll_seconds: float = 1.0) -> None:
        self.db = db
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def run(self) -> None:
        outbox.add_listener(self.wake)
        try:
            await self._loop()
        finally:
            outbox.remove_listener(self.wake)

    async def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                await run_due(self.db)
            except Exception as exc:
                if unavailable(exc):  # PostgreSQL restarting: expected, and every round says so; no traceback
                    log.warning("worker round: database unavailable (%s); retrying", type(exc).__name__)
                else:
                    log.exception("worker round failed; retrying")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
