"""Tables owned by the kit: the sandbox clock offset, the outbox and idempotency keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Double, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from liebian.kit.db import Base


class ClockOffset(Base):
    __tablename__ = "kit_clock"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    offset_seconds: Mapped[float] = mapped_column(Double, nullable=False, server_default=text("0"))


class OutboxMessage(Base):
    """A side effect to carry out after commit (talk to WeChat, notify, pay out), at least once."""

    __tablename__ = "kit_outbox"
    __table_args__ = (
        Index("ix_kit_outbox_due", "available_at", postgresql_where=text("done_at IS NULL AND NOT dead")),
        Index("uq_kit_outbox_topic_key", "topic", "dedupe_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int | None] = mapped_column(nullable=True)
    topic: Mapped[str] = mapped_column(String(64), nullable=False)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    available_at: Mapped[datetime] = mapped_column(nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(nullable=True)
    dead: Mapped[bool] = mapped_column(nullable=False, server_default=text("false"))


class IdempotencyKey(Base):
    """The first answer to a write sent with an ``Idempotency-Key``; a repeat gets the same answer."""

    __tablename__ = "kit_idempotency_keys"

    shop_id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status_code: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    response: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
