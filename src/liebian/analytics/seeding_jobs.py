""""Who should we seed" as a background job: the console starts a selection, polls its progress, reads its answer.

IMM over a big shop's influence graph, then the Monte Carlo comparison with the degree and PageRank baselines,
can take minutes; an HTTP request should not. A job is a row of ``analytics_seeding_jobs``: the request that
creates it commits the row, then (after the commit) this process runs it as an asyncio task. The selection
reads the records with one session, computes in a worker thread holding no connection, and names the seeds
with another session; meanwhile a reporter writes the stage and progress (and a heartbeat) every quarter of a
second when they change. A process that dies leaves its jobs without heartbeat: the ``analytics.stale_seeding``
sweeper fails them, so a page never polls forever. Any process answers the polls: the state is in the row.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.analytics.influence_shop import Costs, Model, SeedingOut, answer, choose, read_records
from liebian.analytics.models import SeedingJob
from liebian.kit.clock import clock
from liebian.kit.db import Database, after_commit
from liebian.kit.errors import Invalid, NotFound, TooManyRequests
from liebian.kit.sql import text

log = logging.getLogger(__name__)

MAX_K = 100
MAX_FEN = 10**12
MAX_UNFINISHED = 3  # per shop: more would only queue behind the two CPU slots
FLUSH_SECONDS = 0.25
HEARTBEAT = timedelta(seconds=15)
STALE = timedelta(minutes=2)  # eight missed heartbeats: the process running it is gone

Status = Literal["queued", "running", "succeeded", "failed"]


class SeedingParams(BaseModel):
    """What to select: the same parameters as ``GET /analytics/seeding``."""

    model_config = ConfigDict(extra="forbid")
    k: Annotated[int, Field(ge=1, le=MAX_K, description="How many customers to seed.")] = 10
    epsilon: Annotated[float, Field(ge=0.1, le=0.9, description="IMM's approximation slack ε.")] = 0.5
    model: Model = "auto"
    budget_fen: Annotated[int | None, Field(ge=1, le=MAX_FEN, description="Budgeted variant.")] = None
    cost_fen: Annotated[int, Field(ge=0, le=MAX_FEN)] = 1000
    cost_per_follower_fen: Annotated[int, Field(ge=0, le=MAX_FEN)] = 100
    seed: Annotated[int, Field(ge=0, le=2**31 - 1, description="Random seed (same seed, same answer).")] = 0


class JobOut(BaseModel):
    id: int
    status: Status
    stage: str  # queued, reading, graph, sampling, fresh_sets, selecting, monte_carlo_*, naming, done, failed
    progress_bps: int
    params: SeedingParams
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    result: SeedingOut | None


class JobList(BaseModel):
    items: list[JobOut]
    total: int


def costs_of(budget_fen: int | None, cost_fen: int, cost_per_follower_fen: int) -> Costs | None:
    """The budgeted variant's costs, or None; 422 ``free_seeds`` when a budget would buy seeds for nothing."""
    if budget_fen is None:
        return None
    if cost_fen == 0 and cost_per_follower_fen == 0:
        raise Invalid("free_seeds", "With a budget, a seed must cost something (cost_fen or cost_per_follower_fen).")
    return Costs(budget_fen, cost_fen, cost_per_follower_fen)


def _out(job: SeedingJob) -> JobOut:
    return JobOut(id=job.id, status=job.status,
                  stage=job.stage, progress_bps=job.progress_bps, params=SeedingParams.model_validate(job.params),
                  created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at,
                  error=job.error, result=SeedingOut.model_validate(job.result) if job.result is not None else None)


async def create(session: AsyncSession, db: Database, shop_id: int, params: SeedingParams) -> tuple[JobOut, bool]:
    """A new job (started once this transaction commits), or the shop's unfinished one with the same
    parameters (False: nothing new was started). 429 ``too_many_jobs`` past three unfinished jobs."""
    costs_of(params.budget_fen, params.cost_fen, params.cost_per_follower_fen)
    body = params.model_dump()
    # Locking the shop's unfinished jobs makes two concurrent identical requests share one job.
    unfinished = (await session.scalars(select(SeedingJob).where(
        SeedingJob.shop_id == shop_id, SeedingJob.status.in_(("queued", "running")))
        .order_by(SeedingJob.id).with_for_update())).all()
    for job in unfinished:
        if job.params == body:
            return _out(job), False
    if len(unfinished) >= MAX_UNFINISHED:
        raise TooManyRequests("too_many_jobs", f"This shop already has {len(unfinished)} seeding jobs running; "
                              "wait for one to finish.", retry_after=10)
    now = clock.now()
    job = SeedingJob(shop_id=shop_id, status="queued", params=body, progress_bps=0, stage="queued",
                     created_at=now, heartbeat_at=now)
    session.add(job)
    await session.flush()
    job_id = job.id

    async def launch() -> None:
        start(db, job_id)

    after_commit(session, launch)
    return _out(job), True


async def get(session: AsyncSession, shop_id: int, job_id: int) -> JobOut:
    job = (await session.scalars(select(SeedingJob).where(SeedingJob.id == job_id,
                                                          SeedingJob.shop_id == shop_id))).one_or_none()
    if job is None:
        raise NotFound("job_not_found", "No such seeding job in this shop.")
    return _out(job)


async def page(session: AsyncSession, shop_id: int, limit: int, offset: int) -> JobList:
    """The shop's jobs, newest first."""
    jobs = (await session.scalars(select(SeedingJob).where(SeedingJob.shop_id == shop_id)
                                  .order_by(SeedingJob.id.desc()).limit(limit).offset(offset))).all()
    total = (await session.execute(select(func.count()).select_from(SeedingJob)
                                   .where(SeedingJob.shop_id == shop_id))).scalar_one()
    return JobList(items=[_out(job) for job in jobs], total=total)


# --- running ---------------------------------------------------------------------------------------

_tasks: set[asyncio.Task[None]] = set()  # the event loop keeps only weak references to tasks


def start(db: Database, job_id: int) -> None:
    task = asyncio.create_task(run(db, job_id), name=f"seeding-job-{job_id}")
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


class Meter:
    """The latest (fraction done, stage), written by the worker thread and read by the reporter: two plain
    attribute stores, each atomic under the GIL; a reader may see a stage one step stale, never a torn one."""

    def __init__(self) -> None:
        self.done = 0.0
        self.stage = "reading"

    def __call__(self, done: float, stage: str) -> None:
        self.done, self.stage = max(self.done, min(done, 0.99)), stage


async def run(db: Database, job_id: int) -> None:
    """Claim the job (only one runner gets it), select, store the answer or the failure."""
    async with db.unit_of_work() as session:
        now = clock.now()
        row = (await session.execute(
            update(SeedingJob).where(SeedingJob.id == job_id, SeedingJob.status == "queued")
            .values(status="running", stage="reading", started_at=now, heartbeat_at=now)
            .returning(SeedingJob.shop_id, SeedingJob.params))).one_or_none()
    if row is None:
        return
    meter = Meter()
    reporter = asyncio.create_task(_report(db, job_id, meter))
    result: SeedingOut | None = None
    error: str | None = None
    try:
        result = await _select(db, int(row.shop_id), SeedingParams.model_validate(row.params), meter)
    except Exception as exc:  # a job that fails says so in its row; the traceback goes to the log
        log.exception("seeding job %s failed", job_id)
        error = f"{type(exc).__name__}: {exc}"[:200]
    finally:
        await _stop(reporter)
    await _finish(db, job_id, result, error)


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():  # it is this coroutine that is being cancelled, not only the reporter
            raise


async def _select(db: Database, shop_id: int, params: SeedingParams, meter: Meter) -> SeedingOut:
    costs = costs_of(params.budget_fen, params.cost_fen, params.cost_per_follower_fen)
    async with db.sessions() as session:
        records = await read_records(session, shop_id)
    meter(0.04, "graph")
    chosen = await choose(records, k=params.k, epsilon=params.epsilon, model=params.model, costs=costs,
                          seed=params.seed, progress=lambda done, stage: meter(0.05 + 0.9 * done, stage))
    meter(0.97, "naming")
    async with db.sessions() as session:
        return await answer(session, shop_id, records, chosen, k=params.k, epsilon=params.epsilon,
                            model=params.model, costs=costs)


async def _report(db: Database, job_id: int, meter: Meter) -> None:
    """Write the meter when it moves, and a heartbeat at least every HEARTBEAT."""
    written: tuple[int, str] | None = None
    beat = time.monotonic()
    while True:
        await asyncio.sleep(FLUSH_SECONDS)
        state = (round(meter.done * 10_000), meter.stage)
        if state == written and time.monotonic() - beat < HEARTBEAT.total_seconds():
            continue
        async with db.unit_of_work() as session:
            await session.execute(text(
                "UPDATE analytics_seeding_jobs SET progress_bps = :bps, stage = :stage, heartbeat_at = :now "
                "WHERE id = :id AND status = 'running'"),
                {"bps": state[0], "stage": state[1], "now": clock.now(), "id": job_id})
        written, beat = state, time.monotonic()


async def _finish(db: Database, job_id: int, result: SeedingOut | None, error: str | None) -> None:
    async with db.unit_of_work() as session:
        now = clock.now()
        await session.execute(text(
            "UPDATE analytics_seeding_jobs SET status = :status, stage = :status2, progress_bps = :bps, "
            "result = CAST(:result AS jsonb), error = :error, finished_at = :now, heartbeat_at = :now "
            "WHERE id = :id AND status = 'running'"),
            {"status": "succeeded" if result is not None else "failed",
             "status2": "done" if result is not None else "failed", "bps": 10_000 if result is not None else 0,
             "result": result.model_dump_json() if result is not None else None, "error": error, "now": now,
             "id": job_id})


async def sweep_stale(session: AsyncSession, now: datetime) -> int:
    """Fail the jobs whose runner stopped beating (its process ended): the page then says so."""
    rows = (await session.execute(text(
        "UPDATE analytics_seeding_jobs SET status = 'failed', stage = 'failed', progress_bps = 0, "
        "error = 'interrupted: the process running it stopped; start it again', finished_at = :now "
        "WHERE id IN (SELECT id FROM analytics_seeding_jobs WHERE status IN ('queued', 'running') "
        "AND heartbeat_at < :cutoff ORDER BY heartbeat_at LIMIT 100 FOR UPDATE SKIP LOCKED) RETURNING id"),
        {"now": now, "cutoff": now - STALE})).all()
    return len(rows)
