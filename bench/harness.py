"""The scripts' harness: ``liebian.benchmarks.harness`` (a scratch database, a ``liebian serve`` of its own, CPU
accounting, pgbench, results), re-exported under the name the scripts in ``bench/`` import."""

from liebian.benchmarks.harness import *  # noqa: F403
from liebian.benchmarks.harness import (  # noqa: F401  (named for readers and linters)
    BENCH_DIR,
    DEFAULT_ADMIN_URL,
    REPO,
    RESULTS,
    PgbenchResult,
    Proc,
    Server,
    run_pgbench,
    scratch_database,
)
