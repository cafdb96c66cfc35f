"""Tables of the security plumbing: rate-limit counters, revoked tokens and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from liebian.kit.db import Base


class RateLimitCounter(Base):
    """One fixed-window counter per (rule, key); the key is a hash, so no email or IP is stored here."""

    __tablename__ = "kit_rate_limits"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, nullable=False)  # epoch seconds
    hits: Mapped[int] = mapped_column(Integer, nullable=False)


class TokenRevocation(Base):
    """A logged-out token (``token_id``), or every token of a subject issued before ``not_before_ms``."""

    __tablename__ = "kit_token_revocations"
    __table_args__ = (Index("ix_kit_token_revocations_expires", "expires_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    subject_id: Mapped[int] = mapped_column(nullable=False)
    token_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    not_before_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Once every token it could refuse has expired anyway, the row is dropped.
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class AuditEvent(Base):
    """Who was refused what and why (abuse blocks, throttled logins), and who saw personal data."""

    __tablename__ = "kit_audit_events"
    __table_args__ = (Index("ix_kit_audit_events_shop", "shop_id", "kind", "id"),
                      Index("ix_kit_audit_events_shop_id", "shop_id", "id"))

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    shop_id: Mapped[int | None] = mapped_column(nullable=True)
    at: Mapped[datetime] = mapped_column(nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    actor: Mapped[str | None] = mapped_column(String(80), nullable=True)  # customer:12, staff:3, device:…, ip:…
    target: Mapped[str | None] = mapped_column(String(80), nullable=True)  # bargain:5, red_packet:…, order:…
    reason: Mapped[str] = mapped_column(String(64), nullable=False)
    details: Mapped[dict[str, Any]] = mapped_column(nullable=False, server_default=text("'{}'::jsonb"))
