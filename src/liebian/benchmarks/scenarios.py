"""The scenarios of ``liebian bench``, by name, and how one is run: its repetitions, its errors, its results file.

Each scenario lives in its own module, imported only when it runs: ``liebian --help`` stays fast and nothing
here is on the API's import path.
"""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from liebian.benchmarks.figures import Outcome


@dataclass(frozen=True)
class Options:
    repeat: int = 3
    seconds: float = 10.0  # each measured window (a scenario that is not timed by a window scales by it)
    clients: int = 32
    warmup: float = 2.0
    quick: bool = False  # smaller data sets (development runs and the tests)
    buyers: int = 8  # the group-buy replay's buyers at once (its own default, whatever --clients says)

    @property
    def pgbench_seconds(self) -> int:
        return max(1, round(self.seconds))


@dataclass(frozen=True)
class Scenario:
    name: str
    module: str  # liebian.benchmarks.<module>.run(name, options) -> Outcome
    what: str


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("orders", "orders", "orders placed through HTTP, random SKUs, vs pgbench running the same statements"),
    Scenario("orders-hot", "orders", "the same on one hot SKU, vs pgbench on the hot row"),
    Scenario("oscar", "oscar", "orders/s per process against django-oscar's OrderCreator (separate venv)"),
    Scenario("flashsale", "flashsale", "a hot flash-sale slot on both paths; the Redis path through HTTP against "
             "the API's own ping ceiling"),
    Scenario("groupbuy-join", "groupbuy_join", "joins of one hot group and of many groups vs pgbench"),
    Scenario("groupbuy-replay", "wrapped", "the Beibei group-buy log replayed vs pgbench (bench/groupbuy.py)"),
    Scenario("visits", "wrapped", "share visits through HTTP vs pgbench (bench/visits.py)"),
    Scenario("nearby", "wrapped", "nearby stores among 1,000,000: GiST index vs sequential scan (bench/nearby.py)"),
    Scenario("analytics", "wrapped", "the fission report over 10M events vs one pass (liebian.analytics.bench)"),
    Scenario("im", "wrapped", "IMM on NetHEPT vs the paper and the degree / PageRank baselines (bench/imm.py)"),
)}


def unknown(name: str) -> str:
    return f"no scenario {name!r}; the scenarios are: {', '.join(SCENARIOS)} (or 'all')"


async def run(name: str, options: Options) -> Outcome:
    """Run one scenario; an exception becomes an outcome with its error, so ``all`` goes on to the next."""
    scenario = SCENARIOS[name]
    module = importlib.import_module(f"liebian.benchmarks.{scenario.module}")
    runner: Callable[[str, Options], Awaitable[Outcome]] = module.run
    try:
        return await runner(name, options)
    except Exception as exc:  # reported as the scenario's error, with its traceback in the results
        outcome = Outcome(name, error=f"{type(exc).__name__}: {exc}"[:500])
        outcome.details["traceback"] = traceback.format_exc()
        return outcome


def options_json(options: Options) -> dict[str, Any]:
    return dict(options.__dict__)
