"""The group-buy replay: a slice of the real Beibei log when it is here, synthetic logs always, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from liebian.kit.db import Database
from liebian.payments.providers import registry
from liebian.replay import LoggedGroup, read_log, replay, synthetic_log
from liebian.settings import Settings
from tests.shared_data import shared_file

BEIBEI = shared_file("beibei/succeeded_groups.tsv").parent
LIEBIAN = str(Path(sys.executable).parent / "liebian")


def _paid_by_failed_groups(log: list[LoggedGroup]) -> int:
    """What the failed groups' initiators paid (the replay prices item i at 990 + 100·(i mod 90), less 20%)."""
    return sum((990 + (g.item % 90) * 100) * 8 // 10 for g in log if not g.succeeded)


def _assert_faithful(result: Any, log: list[LoggedGroup]) -> None:
    assert result.groups == len(log) and result.mismatched_groups == 0
    assert (result.succeeded, result.failed) == (sum(g.succeeded for g in log), sum(not g.succeeded for g in log))
    assert result.refunds == result.failed and result.refunded_fen == _paid_by_failed_groups(log)
    assert result.orders == sum(1 + len(g.participants) for g in log)
    assert result.invariants_ok is True, result.violations
    assert result.groups_per_s > 0 and result.wall_s > 0


@pytest.mark.skipif(not (BEIBEI / "succeeded_groups.tsv").exists(),
                    reason=f"the Beibei log is not at {BEIBEI} (../shared/data/beibei, see ../shared/data/README.md)")
async def test_a_slice_of_the_real_log_reproduces_every_outcome(settings: Settings, db: Database, app: Any) -> None:
    log = read_log(BEIBEI / "succeeded_groups.tsv", BEIBEI / "failed_groups.tsv", limit=60)
    # The slice holds the log's larger groups too, not only pairs.
    log += [g for g in read_log(BEIBEI / "succeeded_groups.tsv", None, limit=3000) if len(g.participants) >= 3][:5]
    before = registry.for_method("wechat")
    result = await replay(settings, db, log, concurrency=4, wave=40, app=app)
    _assert_faithful(result, log)
    assert registry.for_method("wechat") is before  # the instant provider was only lent to the replay


async def test_a_synthetic_log_replays_faithfully(settings: Settings, db: Database, app: Any) -> None:
    log = synthetic_log(120, seed=11)
    assert any(len(g.participants) > 1 for g in log) and any(not g.succeeded for g in log)
    result = await replay(settings, db, log, concurrency=6, workers=3, wave=50, app=app)
    _assert_faithful(result, log)


async def test_the_replay_through_the_fake_wechat_pay_end_to_end(settings: Settings, db: Database, app: Any) -> None:
    log = synthetic_log(12, seed=5)
    result = await replay(settings, db, log, concurrency=3, wave=12, payments_mode="wechat", app=app)
    _assert_faithful(result, log)


def test_the_cli_prints_the_figures_as_json(database_url: str, tmp_path: Path) -> None:
    succeeded, failed = tmp_path / "succeeded.tsv", tmp_path / "failed.tsv"
    succeeded.write_text("1\t10\t2\n3\t11\t4\t5\t6\n7\t10\t8\n")
    failed.write_text("9\t10\n2\t12\n")
    env = {**os.environ, "LIEBIAN_DATABASE_URL": database_url, "LIEBIAN_HOME": str(tmp_path / "home"),
           "LIEBIAN_MODE": "sandbox"}
    out = subprocess.run([LIEBIAN, "bench", "groupbuy-replay", "--file", str(succeeded), "--failed", str(failed),
                          "--json", "--concurrency", "2"], env=env, capture_output=True, text=True, timeout=300,
                         check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert {k: figures[k] for k in ("groups", "succeeded", "failed", "invariants_ok", "mismatched_groups")} == {
        "groups": 5, "succeeded": 3, "failed": 2, "invariants_ok": True, "mismatched_groups": 0}
    assert figures["refunded_fen"] == (990 + 10 * 100) * 8 // 10 + (990 + 12 * 100) * 8 // 10
    assert figures["wall_s"] > 0 and figures["groups_per_s"] > 0
    bad = subprocess.run([LIEBIAN, "bench", "groupbuy-replay", "--file", str(tmp_path / "missing.tsv")], env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 2
