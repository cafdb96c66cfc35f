"""HTTP endpoints of KOL seeding: "who should we seed next" (``/api/v1/console/analytics/seeding...``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from liebian.analytics import seeding_jobs as jobs
from liebian.analytics.influence_shop import Model, SeedingOut, who_to_seed
from liebian.analytics.seeding_jobs import MAX_FEN, MAX_K
from liebian.kit.web import DbSession, database
from liebian.shops.deps import ConsoleShop

console = APIRouter(prefix="/api/v1/console/analytics", tags=["console: analytics"])


@console.get("/seeding", response_model=SeedingOut)
async def seeding(shop: ConsoleShop, session: DbSession,
                  k: Annotated[int, Query(ge=1, le=MAX_K, description="How many customers to seed.")] = 10,
                  epsilon: Annotated[float, Query(ge=0.1, le=0.9, description="IMM's approximation slack ε: "
                                                  "smaller is closer to optimal and slower.")] = 0.5,
                  model: Annotated[Model, Query(description="auto: estimated conversions when the shop has "
                                                "enough data, else the weighted cascade.")] = "auto",
                  budget_fen: Annotated[int | None, Query(ge=1, le=MAX_FEN, description="Budgeted variant: "
                                                          "what the shop will spend on seeding.")] = None,
                  cost_fen: Annotated[int, Query(ge=0, le=MAX_FEN, description="Budgeted variant: what one "
                                                 "seed costs.")] = 1000,
                  cost_per_follower_fen: Annotated[int, Query(ge=0, le=MAX_FEN, description="Budgeted variant: "
                                                              "plus this per follower (bigger KOLs ask "
                                                              "more).")] = 100,
                  seed: Annotated[int, Query(ge=0, le=2**31 - 1, description="Random seed (same seed, same "
                                             "answer).")] = 0) -> SeedingOut:
    """The customers whose seeding reaches the most others (IMM over the shop's share → visit → order graph),
    each one's marginal gain, the expected reach of the set, and top-k by followers and by PageRank for
    comparison. A shop with no shares yet gets an empty set."""
    costs = jobs.costs_of(budget_fen, cost_fen, cost_per_follower_fen)
    return await who_to_seed(session, shop.id, k=k, epsilon=epsilon, model=model, costs=costs, seed=seed)


@console.post("/seeding/jobs", response_model=jobs.JobOut, status_code=202)
async def start_seeding_job(shop: ConsoleShop, session: DbSession, request: Request, response: Response,
                            body: jobs.SeedingParams) -> jobs.JobOut:
    """The same selection as ``GET /seeding``, as a background job: 202 with the job (poll ``GET
    /seeding/jobs/{id}`` for its ``stage`` and ``progress_bps``, then its ``result``). While the shop has an
    unfinished job with the same parameters, that job is answered (200) instead of starting another;
    429 ``too_many_jobs`` past three unfinished jobs."""
    job, started = await jobs.create(session, database(request), shop.id, body)
    if not started:
        response.status_code = 200
    return job


@console.get("/seeding/jobs", response_model=jobs.JobList)
async def seeding_jobs(shop: ConsoleShop, session: DbSession, limit: Annotated[int, Query(ge=1, le=100)] = 20,
                       offset: Annotated[int, Query(ge=0, le=100_000)] = 0) -> jobs.JobList:
    """The shop's seeding jobs, newest first, with their answers."""
    return await jobs.page(session, shop.id, limit, offset)


@console.get("/seeding/jobs/{job_id}", response_model=jobs.JobOut)
async def seeding_job(shop: ConsoleShop, session: DbSession,
                      job_id: Annotated[int, Path(ge=1, le=2**63 - 1)]) -> jobs.JobOut:
    """One job: its status (queued, running, succeeded, failed), stage and progress, and its answer when done;
    404 ``job_not_found`` for another shop's."""
    return await jobs.get(session, shop.id, job_id)
