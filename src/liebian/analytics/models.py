"""The one table analytics owns: seeding jobs (a selection over the whole influence graph can take minutes on
a big shop, so the console starts it, polls its progress and reads its answer later)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from liebian.kit.db import Base

JOB_STATUSES = ("queued", "running", "succeeded", "failed")


class SeedingJob(Base):
    """One "who should we seed" request: its parameters, where it has got to, and its answer when done.

    ``heartbeat_at`` moves while the job runs; a job whose process died stops moving and is failed by a
    sweeper, so the console never waits forever."""

    __tablename__ = "analytics_seeding_jobs"
    __table_args__ = (
        CheckConstraint(f"status IN {JOB_STATUSES!r}", name="status"),
        CheckConstraint("progress_bps BETWEEN 0 AND 10000", name="progress"),
        CheckConstraint("(status = 'succeeded') = (result IS NOT NULL)", name="result"),
        Index("ix_analytics_seeding_jobs_shop", "shop_id", "id"),
        Index("ix_analytics_seeding_jobs_unfinished", "heartbeat_at",
              postgresql_where=text("status IN ('queued', 'running')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(nullable=False)
    progress_bps: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    stage: Mapped[str] = mapped_column(String(24), nullable=False)
    result: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    heartbeat_at: Mapped[datetime] = mapped_column(nullable=False)
