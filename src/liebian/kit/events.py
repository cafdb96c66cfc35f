"""The in-transaction event bus.

``publish`` runs every subscribed handler at once, inside the publisher's transaction, so that a
reaction that only touches our database commits or rolls back with the change that caused it.
Reactions that talk to the outside world enqueue an outbox message instead (:mod:`liebian.kit.outbox`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, kw_only=True)
class Event:
    shop_id: int


E = TypeVar("E", bound=Event)
Handler = Callable[[AsyncSession, Any], Awaitable[None]]


class EventBus:
    def __init__(self) -> None:
        self._handlers: defaultdict[type[Event], list[Handler]] = defaultdict(list)

    def subscribe(self, event_type: type[E], handler: Callable[[AsyncSession, E], Awaitable[None]]) -> None:
        if handler not in self._handlers[event_type]:
            self._handlers[event_type].append(handler)

    def handlers(self, event_type: type[Event]) -> list[Handler]:
        return list(self._handlers[event_type])

    async def publish(self, session: AsyncSession, event: Event) -> None:
        for handler in self._handlers[type(event)]:
            await handler(session, event)

    def clear(self) -> None:
        self._handlers.clear()


bus = EventBus()
