"""``Idempotency-Key`` for writes: the key is claimed in the same transaction as the write it guards.

``INSERT ... ON CONFLICT DO NOTHING`` waits for a concurrent holder of the same key to finish; if that
one committed, its stored answer is replayed; if it rolled back, this request proceeds. So twenty
concurrent requests with one key make exactly one write.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit.clock import clock
from liebian.kit.errors import Invalid
from liebian.kit.sql import text

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_\-:.]{8,128}$")


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: dict[str, Any]


def validate_key(key: str) -> str:
    if not KEY_PATTERN.match(key):
        raise Invalid(
            "invalid_idempotency_key",
            "Idempotency-Key must be 8 to 128 characters of letters, digits, '_', '-', ':' or '.'.",
        )
    return key


def request_hash(payload: Any) -> str:
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


async def claim(
    session: AsyncSession, *, shop_id: int, scope: str, key: str, fingerprint: str
) -> Replay | None:
    """Claim ``key``; ``None`` means go ahead, a :class:`Replay` means answer with the first result."""
    claimed = await session.execute(
        text(
            "INSERT INTO kit_idempotency_keys (shop_id, scope, key, request_hash, created_at) "
            "VALUES (:shop, :scope, :key, :hash, :now) ON CONFLICT DO NOTHING RETURNING key"
        ),
        {"shop": shop_id, "scope": scope, "key": key, "hash": fingerprint, "now": clock.now()},
    )
    if claimed.first() is not None:
        return None
    row = (
        await session.execute(
            text(
                "SELECT request_hash, status_code, response FROM kit_idempotency_keys "
                "WHERE shop_id = :shop AND scope = :scope AND key = :key"
            ),
            {"shop": shop_id, "scope": scope, "key": key},
        )
    ).one()
    if row.request_hash != fingerprint:
        raise Invalid(
            "idempotency_key_reused",
            "This Idempotency-Key was already used for a different request.",
        )
    return Replay(status_code=row.status_code, body=row.response)


async def store(
    session: AsyncSession, *, shop_id: int, scope: str, key: str, status_code: int, body: dict[str, Any]
) -> None:
    await session.execute(
        text(
            "UPDATE kit_idempotency_keys SET status_code = :status, response = CAST(:body AS jsonb) "
            "WHERE shop_id = :shop AND scope = :scope AND key = :key"
        ),
        {"status": status_code, "body": json.dumps(body, default=str), "shop": shop_id,
         "scope": scope, "key": key},
    )
