"""Revoked access tokens: "log out" (one token, by its ``jti``) and "log out everywhere" (every token of a customer
or staff member issued before that moment).

Checking a token costs no I/O: each API process keeps the unexpired revocations in memory (two dict lookups per
request, none while there are none). A revocation is written to ``kit_token_revocations`` and applied in the
revoking process as soon as its transaction commits; the other processes read new rows once a second
(:meth:`Revocations.follow`, started with the app), so a revoked token stops working everywhere within about a
second. Rows go once every token they could refuse has expired anyway.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit.clock import clock
from liebian.kit.db import Database, after_commit
from liebian.kit.sql import text

log = logging.getLogger(__name__)

FOLLOW_SECONDS = 1.0
_NEWER = text("SELECT id, kind, subject_id, token_id, not_before_ms, expires_at FROM kit_token_revocations "
              "WHERE id > :after AND expires_at > :now ORDER BY id")


class Revocations:
    def __init__(self) -> None:
        self._tokens: dict[str, float] = {}  # token id -> when the token expires (then the entry goes)
        self._subjects: dict[tuple[str, int], tuple[int, float]] = {}  # (kind, subject) -> (not before ms, until)
        self._last_id = 0

    def revoked(self, kind: str, subject_id: int, token_id: str | None, issued_ms: int) -> bool:
        if not self._tokens and not self._subjects:
            return False
        if token_id is not None and token_id in self._tokens:
            return True
        everywhere = self._subjects.get((kind, subject_id))
        return everywhere is not None and issued_ms < everywhere[0]

    def _apply(self, row: Any) -> None:
        until = row.expires_at.timestamp()
        if row.token_id is not None:
            self._tokens[row.token_id] = until
        if row.not_before_ms is not None:
            key = (row.kind, int(row.subject_id))
            known = self._subjects.get(key)
            if known is None or known[0] < row.not_before_ms:
                self._subjects[key] = (int(row.not_before_ms), until)
        self._last_id = max(self._last_id, int(row.id))

    def _prune(self) -> None:
        now = clock.now().timestamp()
        self._tokens = {k: v for k, v in self._tokens.items() if v > now}
        self._subjects = {k: v for k, v in self._subjects.items() if v[1] > now}

    async def refresh(self, session: AsyncSession) -> None:
        """Pick up what other processes revoked since the last look."""
        for row in await session.execute(_NEWER, {"after": self._last_id, "now": clock.now()}):
            self._apply(row)
        self._prune()

    async def follow(self, db: Database, every: float = FOLLOW_SECONDS) -> None:
        """Runs for the app's lifetime (cancelled when it stops)."""
        while True:
            try:
                async with db.sessions() as session:
                    await self.refresh(session)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not read token revocations; retrying")
            await asyncio.sleep(every)

    async def _insert(self, session: AsyncSession, values: dict[str, Any]) -> None:
        row = (await session.execute(text(
            "INSERT INTO kit_token_revocations (kind, shop_id, subject_id, token_id, not_before_ms, expires_at, "
            "created_at) VALUES (:kind, :shop, :subject, :token, :nbf, :expires, :now) "
            "RETURNING id, kind, subject_id, token_id, not_before_ms, expires_at"),
            {"token": None, "nbf": None, "now": clock.now(), **values})).one()

        async def apply() -> None:
            self._apply(row)

        after_commit(session, apply)

    async def revoke_token(self, session: AsyncSession, *, kind: str, shop_id: int, subject_id: int,
                           token_id: str, expires_at: datetime) -> None:
        await self._insert(session, {"kind": kind, "shop": shop_id, "subject": subject_id, "token": token_id,
                                     "expires": expires_at})

    async def revoke_subject(self, session: AsyncSession, *, kind: str, shop_id: int, subject_id: int,
                             lifetime: timedelta) -> int:
        """Every token issued before now; returns the cut-off (ms), after which new logins work again."""
        now = clock.now()
        # Tokens issued in this very millisecond survive: the one asking was issued earlier, and a login that
        # follows at once must work.
        not_before = int(now.timestamp() * 1000)
        await self._insert(session, {"kind": kind, "shop": shop_id, "subject": subject_id, "nbf": not_before,
                                     "expires": now + lifetime})
        return not_before


async def sweep_expired(session: AsyncSession, now: datetime) -> int:
    rows = (await session.execute(text(
        "DELETE FROM kit_token_revocations WHERE id = ANY(ARRAY(SELECT id FROM kit_token_revocations "
        "WHERE expires_at <= :now LIMIT 1000 FOR UPDATE SKIP LOCKED)) RETURNING 1"), {"now": now})).all()
    return len(rows)
