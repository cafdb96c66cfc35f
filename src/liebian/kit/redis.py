"""The process's Redis client, when ``LIEBIAN_REDIS_URL`` is set: an accelerator for hot counters, never the only
copy of money or stock (DESIGN.md §3). Without it every path runs on PostgreSQL.

One client per process: the API makes it in ``create_app`` and closes it when the app stops; a worker process
(``liebian worker``) gets one on first use from the same setting. Modules that keep work running on the client
(a flash sale's queue drain) register a callback that :func:`close` awaits before the connections go.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

log = logging.getLogger(__name__)

CloseHook = Callable[[], Awaitable[None]]

_client: Redis | None = None
_decided = False  # install() called, or the setting read once: do not read it again
_close_hooks: list[CloseHook] = []


def connect(url: str) -> Redis:
    """A client for ``url``; no connection is made until the first command."""
    return Redis.from_url(url, decode_responses=True, socket_connect_timeout=2, socket_timeout=5,
                          health_check_interval=30)


def install(client: Redis | None) -> None:
    """Make ``client`` (or none) the process's client."""
    global _client, _decided
    _client, _decided = client, True


def current() -> Redis | None:
    """The process's client: the installed one, else one from ``LIEBIAN_REDIS_URL`` (read once), else None."""
    global _client, _decided
    if not _decided:
        from liebian.settings import get_settings

        try:
            url = get_settings().redis_url
        except Exception:  # a configuration error is reported where the settings are first used, not here
            url = None
        _client, _decided = (connect(url) if url else None), True
    return _client


def on_close(hook: CloseHook) -> None:
    if hook not in _close_hooks:
        _close_hooks.append(hook)


async def close(client: Redis | None) -> None:
    """Stop the work registered with :func:`on_close`, then close ``client``'s connections."""
    for hook in list(_close_hooks):
        try:
            await hook()
        except Exception:
            log.exception("redis close hook failed")
    if client is not None:
        await client.aclose()
