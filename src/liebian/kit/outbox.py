"""Outbox: side effects recorded in the business transaction, carried out by the worker after commit.

Handlers must be idempotent (a message is delivered at least once); they run in their own transaction
together with marking the message done, and are retried with backoff when they raise.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit.clock import clock
from liebian.kit.db import Database, after_commit
from liebian.kit.models import OutboxMessage
from liebian.kit.sql import text

log = logging.getLogger(__name__)

OutboxHandler = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]
_handlers: dict[str, OutboxHandler] = {}
_listeners: list[Callable[[], None]] = []


def add_listener(callback: Callable[[], None]) -> None:
    """Called after a transaction that enqueued something commits (an in-process worker wakes up)."""
    if callback not in _listeners:
        _listeners.append(callback)


def remove_listener(callback: Callable[[], None]) -> None:
    if callback in _listeners:
        _listeners.remove(callback)


async def _notify() -> None:
    for callback in list(_listeners):
        callback()
MAX_ATTEMPTS = 12


def register(topic: str, handler: OutboxHandler) -> None:
    _handlers[topic] = handler


async def enqueue(
    session: AsyncSession,
    topic: str,
    payload: dict[str, Any],
    *,
    shop_id: int | None,
    dedupe_key: str | None = None,
    available_at: datetime | None = None,
) -> None:
    """Record a side effect; with ``dedupe_key`` the same (topic, key) is recorded once."""
    now = clock.now()
    stmt = insert(OutboxMessage).values(
        shop_id=shop_id,
        topic=topic,
        dedupe_key=dedupe_key,
        payload=payload,
        created_at=now,
        available_at=available_at or now,
    )
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["topic", "dedupe_key"]))
    if _listeners and _notify not in session.info.get("after_commit", []):
        after_commit(session, _notify)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** attempts, 3600))


async def process_due(db: Database, limit: int = 50) -> int:
    """Carry out due messages, each in its own transaction; returns how many were attempted."""
    handled = 0
    while handled < limit:
        outcome = await _process_one(db)
        if outcome is None:
            break
        handled += 1
    return handled


async def _process_one(db: Database) -> bool | None:
    """Lock one due message (SKIP LOCKED, so several workers share the queue) and carry it out."""
    now = clock.now()
    async with db.unit_of_work() as session:
        row = (
            await session.execute(
                text(
                    "SELECT id, topic, payload, attempts FROM kit_outbox "
                    "WHERE done_at IS NULL AND NOT dead AND available_at <= :now "
                    "ORDER BY available_at, id LIMIT 1 FOR UPDATE SKIP LOCKED"
                ),
                {"now": now},
            )
        ).first()
        if row is None:
            return None
        handler = _handlers.get(row.topic)
        try:
            if handler is None:
                raise LookupError(f"no outbox handler for topic {row.topic!r}")
            async with session.begin_nested():
                await handler(session, row.payload)
        except Exception as exc:
            attempts = row.attempts + 1
            log.warning("outbox %s #%s failed (attempt %s): %s", row.topic, row.id, attempts, exc)
            await session.execute(
                text(
                    "UPDATE kit_outbox SET attempts = :a, last_error = :e, available_at = :at, dead = :dead "
                    "WHERE id = :id"
                ),
                {"a": attempts, "e": f"{type(exc).__name__}: {exc}"[:2000], "at": now + _backoff(attempts),
                 "dead": attempts >= MAX_ATTEMPTS, "id": row.id},
            )
            return False
        await session.execute(
            text("UPDATE kit_outbox SET done_at = :now, attempts = attempts + 1 WHERE id = :id"),
            {"now": now, "id": row.id},
        )
        return True
