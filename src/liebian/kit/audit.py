"""The audit trail: every abuse block (alt-account rings, self-referral, rate limits, throttled logins) and every
look at personal data, with who, what and why, for the merchant to see (``GET /api/v1/console/audit``).

Most refusals end their request with an error, and the request's transaction rolls back with it: a refusal
is therefore kept aside (:func:`refusal`) and written after the rollback by the request's unit of work
(``liebian.kit.web.request_session``). What is decided inside a transaction that commits (a commission left
unpaid) is written in it (:func:`record`). Details never carry an openid, a phone number or a token.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit.clock import clock
from liebian.kit.db import Database
from liebian.kit.sql import text

log = logging.getLogger(__name__)

PENDING = "kit.audit.pending"

# Stable kinds, as the console filters them.
RING_BLOCKED = "ring_blocked"  # an alt account (same device or phone) refused a help, a claim, a commission
SELF_REFERRAL = "self_referral"  # a promoter's own purchase or invite through an alt account
RATE_LIMITED = "rate_limited"  # a visit, help or claim over its rate (first refusal of each window)
LOGIN_THROTTLED = "login_throttled"  # too many logins (first refusal of each window)
PII_REVEALED = "pii_revealed"  # a staff member read a customer's phone number in clear
TOKENS_REVOKED = "tokens_revoked"  # "log out everywhere"
KINDS = (RING_BLOCKED, SELF_REFERRAL, RATE_LIMITED, LOGIN_THROTTLED, PII_REVEALED, TOKENS_REVOKED)


@dataclass(frozen=True)
class Event:
    shop_id: int | None
    kind: str
    reason: str
    actor: str | None = None
    target: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


_INSERT = text(
    "INSERT INTO kit_audit_events (shop_id, at, kind, actor, target, reason, details) "
    "SELECT * FROM unnest(CAST(:shops AS bigint[]), CAST(:ats AS timestamptz[]), CAST(:kinds AS text[]), "
    "CAST(:actors AS text[]), CAST(:targets AS text[]), CAST(:reasons AS text[]), CAST(:details AS jsonb[]))")


def _params(events: list[Event]) -> dict[str, Any]:
    now = clock.now()
    return {"shops": [e.shop_id for e in events], "ats": [now] * len(events), "kinds": [e.kind for e in events],
            "actors": [e.actor for e in events], "targets": [e.target for e in events],
            "reasons": [e.reason for e in events],
            "details": [json.dumps(e.details, ensure_ascii=False, default=str) for e in events]}


async def record(session: AsyncSession, *events: Event) -> None:
    """In the caller's transaction: for decisions that commit with it."""
    if events:
        await session.execute(_INSERT, _params(list(events)))


def refusal(session: AsyncSession, event: Event) -> None:
    """Kept with the session and written whether its transaction commits or rolls back."""
    session.info.setdefault(PENDING, []).append(event)


def take_pending(session: AsyncSession) -> list[Event]:
    pending: list[Event] = session.info.pop(PENDING, [])
    return pending


async def write(db: Database, events: list[Event]) -> None:
    """In a transaction of their own (after the request's rolled back, or on a hot path without a session)."""
    if not events:
        return
    try:
        async with db.unit_of_work() as session:
            await session.execute(_INSERT, _params(events))
    except Exception:
        # The refusal itself stands; losing its trace must not turn it into a server error.
        log.exception("could not write %d audit event(s)", len(events))


async def page(session: AsyncSession, shop_id: int, *, kind: str | None, limit: int,
               offset: int) -> tuple[list[dict[str, Any]], int]:
    """The shop's events, newest first, and how many there are."""
    where = "shop_id = :s" + (" AND kind = :k" if kind else "")
    params = {"s": shop_id, "k": kind, "limit": limit, "offset": offset}
    total = int((await session.execute(text(f"SELECT count(*) FROM kit_audit_events WHERE {where}"),
                                       params)).scalar_one())
    rows = await session.execute(text(
        f"SELECT id, at, kind, actor, target, reason, details FROM kit_audit_events WHERE {where} "
        "ORDER BY id DESC LIMIT :limit OFFSET :offset"), params)
    return [dict(r._mapping) for r in rows], total
