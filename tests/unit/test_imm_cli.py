"""``liebian analytics im`` and ``liebian analytics spread`` on a small graph file (no shared data needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from liebian.cli import app as cli

runner = CliRunner()


@pytest.fixture
def star_file(tmp_path: Path) -> Path:
    """Customer-like ids: 500 points at 10..15 with certainty, 700 at 20 with p = 0.5."""
    path = tmp_path / "star.inf"
    lines = [f"500 {v} 1" for v in range(10, 16)] + ["700 20 0.5"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_im_prints_the_seeds_as_json(star_file: Path) -> None:
    got = runner.invoke(cli, ["analytics", "im", "--graph", str(star_file), "--k", "2", "--epsilon", "0.3",
                              "--seed", "1", "--json", "--compare", "--runs", "500"])
    assert got.exit_code == 0, got.output
    body = json.loads(got.stdout)
    assert body["seeds"] == [500, 700] and body["seconds"] >= 0 and len(body["marginal_gains"]) == 2
    assert body["n"] == 9 and body["m"] == 7 and body["k"] == 2
    assert abs(body["estimated_spread"] - 8.5) < 1.2  # 7 + 1.5
    assert body["compare"]["imm"]["spread"] == pytest.approx(8.5, abs=0.2)
    assert set(body["compare"]) == {"runs", "imm", "degree", "pagerank"}
    assert body["compare"]["degree"]["seeds"][0] == 500


def test_im_budgeted_and_the_table(star_file: Path, tmp_path: Path) -> None:
    costs = tmp_path / "costs.txt"
    costs.write_text("500 10\n700 1\n")
    got = runner.invoke(cli, ["analytics", "im", "--graph", str(star_file), "--k", "5", "--costs", str(costs),
                              "--budget", "9", "--json"])
    assert got.exit_code == 0, got.output
    body = json.loads(got.stdout)
    assert 500 not in body["seeds"] and body["cost"] <= 9
    table = runner.invoke(cli, ["analytics", "im", "--graph", str(star_file), "--k", "1"])
    assert table.exit_code == 0 and "500" in table.stdout and "marginal gain" in table.stdout


def test_spread_estimates_by_monte_carlo(star_file: Path) -> None:
    got = runner.invoke(cli, ["analytics", "spread", "--graph", str(star_file), "--seeds", "500,700",
                              "--runs", "4000", "--json"])
    assert got.exit_code == 0, got.output
    body = json.loads(got.stdout)
    assert body["seeds"] == [500, 700] and body["runs"] == 4000
    assert abs(body["spread"] - 8.5) <= 5 * body["stderr"] and body["stderr"] > 0


@pytest.mark.parametrize("args", [
    ["analytics", "spread", "--graph", "/no/such/file", "--seeds", "1"],
    ["analytics", "spread", "--graph", "{star}", "--seeds", "1,x"],
    ["analytics", "spread", "--graph", "{star}", "--seeds", "999"],
    ["analytics", "im", "--graph", "{star}", "--budget", "3"],
    ["analytics", "im", "--graph", "{star}", "--k", "0"],
    ["analytics", "im", "--graph", "{star}", "--epsilon", "1.5"],
])
def test_bad_input_exits_2(args: list[str], star_file: Path) -> None:
    got = runner.invoke(cli, [a.replace("{star}", str(star_file)) for a in args])
    assert got.exit_code == 2, got.output


def test_a_file_that_is_not_arcs_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.inf"
    bad.write_text("hello world\n")
    got = runner.invoke(cli, ["analytics", "im", "--graph", str(bad), "--json"])
    assert got.exit_code == 2


def test_the_cli_and_the_app_do_not_import_numba() -> None:
    code = "import sys, liebian.cli, liebian.app; sys.exit(int('numba' in sys.modules or 'numpy' in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
