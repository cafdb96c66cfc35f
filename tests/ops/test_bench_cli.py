"""``liebian bench``: a scenario's figures as JSON lines (a small real run), an unknown scenario refused, and how
repetitions become a median, a range and a verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from liebian.benchmarks.figures import Outcome, Sample, aggregate, at_least, exactly, json_lines

LIEBIAN = str(Path(sys.executable).parent / "liebian")
REQUIRED = {"scenario", "metric", "value", "floor", "ratio", "target", "ok", "median", "min", "max", "reps", "unit"}


def test_a_scenario_prints_one_json_object_per_figure(server_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "BENCH_DATABASE_URL": server_url, "LIEBIAN_BENCH_RESULTS": str(tmp_path)}
    done = subprocess.run([LIEBIAN, "bench", "nearby", "--json", "--seconds", "1", "--repeat", "1", "--quick"],
                          env=env, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 2
    for figure in lines:
        assert figure.keys() >= REQUIRED and figure["scenario"] == "nearby" and figure["reps"] == 1
        assert figure["value"] > 0 and figure["floor"] > figure["value"]  # the index beats the sequential scan
        assert abs(figure["ratio"] - figure["floor"] / figure["value"]) < 0.01 * figure["ratio"]  # a speedup
    assert lines[0]["metric"].startswith("p50 among 20,000 stores") and lines[0]["unit"] == "ms"
    written = json.loads(next(tmp_path.glob("bench-*.json")).read_text())
    assert written["scenarios"][0]["scenario"] == "nearby" and written["scenarios"][0]["figures"] == lines


def test_an_unknown_scenario_is_a_usage_error() -> None:
    done = subprocess.run([LIEBIAN, "bench", "no-such-thing", "--json"], capture_output=True, text=True, timeout=60,
                          check=False, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 2 and done.stdout == ""
    assert "no scenario 'no-such-thing'" in done.stderr
    assert "orders-hot" in done.stderr and "groupbuy-join" in done.stderr  # the scenarios are listed


def test_repetitions_give_the_median_the_range_and_a_verdict() -> None:
    def rep(rate: float, floor: float, oversold: int) -> list[Sample]:
        return [Sample("orders/s", rate, "/s", floor, "pgbench", at_least(0.5)),
                Sample("check: oversold", oversold, "", target=exactly(0), check=True)]

    figures = aggregate(Outcome("x", reps=[rep(40, 100, 0), rep(60, 100, 0), rep(90, 150, 1)]))
    rate, oversold = figures
    assert (rate.value, rate.min, rate.max, rate.floor, rate.reps) == (60, 40, 90, 100, 3)
    assert (rate.ratio, rate.ratio_min, rate.ratio_max) == (0.6, 0.4, 0.6)  # each ratio within its repetition
    assert rate.ok is True  # the median ratio meets the target
    assert oversold.value == 0 and oversold.ok is False  # a check must hold in every repetition
    assert [json.loads(line)["ok"] for line in json_lines(figures).splitlines()] == [True, False]
    skipped = aggregate(Outcome("oscar", skipped="pip install django-oscar failed"))
    assert skipped[0].metric == "skipped" and skipped[0].ok is None and skipped[0].as_json()["value"] is None
