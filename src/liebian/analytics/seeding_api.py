"""HTTP endpoints of KOL seeding: "who should we seed next" (``/api/v1/console/analytics/seeding...``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from liebian.analytics.influence_shop import Costs, Model, SeedingOut, who_to_seed
from liebian.kit.errors import Invalid
from liebian.kit.web import DbSession
from liebian.shops.deps import ConsoleShop

console = APIRouter(prefix="/api/v1/console/analytics", tags=["console: analytics"])

MAX_K = 100
MAX_FEN = 10**12


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
    costs = None
    if budget_fen is not None:
        if cost_fen == 0 and cost_per_follower_fen == 0:
            raise Invalid("free_seeds", "With a budget, a seed must cost something (cost_fen or "
                                        "cost_per_follower_fen).")
        costs = Costs(budget_fen, cost_fen, cost_per_follower_fen)
    return await who_to_seed(session, shop.id, k=k, epsilon=epsilon, model=model, costs=costs, seed=seed)
