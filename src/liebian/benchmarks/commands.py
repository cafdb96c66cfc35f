"""``liebian bench <scenario>`` and ``liebian bench all``: each figure beside its floor, as a table or JSON lines.

Only Typer and Rich are imported here; a scenario's code is imported when it runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console

from liebian.benchmarks.scenarios import SCENARIOS, Options, unknown

Repeat = Annotated[int, typer.Option("--repeat", min=1, max=50, help="Repetitions (median and range).")]
Seconds = Annotated[float | None, typer.Option("--seconds", min=0.5, max=600,
                                               help="Each measured window, in seconds (default 10).")]
Clients = Annotated[int, typer.Option("--clients", min=1, max=64, help="Concurrent clients and pgbench connections.")]
Json = Annotated[bool, typer.Option("--json", help="One JSON object per figure and line, on stdout.")]
Quick = Annotated[bool, typer.Option("--quick", help="Smaller data sets (a development run).")]


class ScenarioGroup(typer.core.TyperGroup):
    """An unknown scenario is a usage error (exit 2) that lists the scenarios."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            ctx.fail(unknown(name))  # a usage error: exit 2
        return super().resolve_command(ctx, args)


def options(repeat: int, seconds: float | None, clients: int, quick: bool, *, buyers: int = 8) -> Options:
    return Options(repeat=repeat, seconds=seconds if seconds is not None else 10.0, clients=clients, quick=quick,
                   buyers=buyers)


def run_scenarios(names: list[str], opts: Options, as_json: bool) -> None:
    """Run them one after the other; print each figure (JSON lines as they come, or one table at the end);
    write everything to bench/results/bench-<stamp>.json. Exit 1 if a check failed or a scenario broke."""
    from liebian.benchmarks import figures, harness, scenarios

    console = Console(stderr=True)
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    all_figures: list[figures.Figure] = []
    for name in names:
        console.print(f"[bold]{name}[/bold]: {SCENARIOS[name].what} ({opts.repeat} × {opts.seconds:g} s)")
        t0 = time.perf_counter()
        outcome = _run_async(lambda name=name: scenarios.run(name, opts))  # type: ignore[misc]
        found = figures.aggregate(outcome)
        all_figures += found
        if as_json:
            print(figures.json_lines(found), flush=True)
        results.append({"scenario": name, "seconds": round(time.perf_counter() - t0, 1),
                        "figures": [f.as_json() for f in found], "details": outcome.details})
        if outcome.error:
            console.print(f"[red]{name} failed: {outcome.error}[/red]")
    if not as_json:
        figures.print_table(all_figures, f"liebian bench ({opts.repeat} repetition(s), {opts.seconds:g} s windows, "
                                         f"{opts.clients} clients)", _wide_console())
    path = _write(results, opts, started, harness)
    console.print(f"[dim]results: {path}[/dim]")
    if any(f.ok is False and (f.metric == "error" or _is_check(f)) for f in all_figures):
        raise typer.Exit(1)


def _wide_console() -> Console:
    """The terminal's width, or 200 columns when the table goes to a file or a pipe (``make bench | tee``)."""
    console = Console()
    return console if console.is_terminal else Console(width=200)


def _is_check(figure: Any) -> bool:
    return figure.target is not None and figure.target.op == "=="


def _run_async(make: Callable[[], Any]) -> Any:
    try:
        import uvloop

        return uvloop.run(make())
    except ImportError:
        return asyncio.run(make())


def _write(results: list[dict[str, Any]], opts: Options, started: float, harness: Any) -> str:
    harness.RESULTS.mkdir(parents=True, exist_ok=True)
    path = harness.RESULTS / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    loadavg = os.getloadavg()
    path.write_text(json.dumps({
        "command": " ".join(["liebian", *sys.argv[1:]]), "options": dict(opts.__dict__),
        "machine": harness.machine_info() | {"loadavg_at_end": [round(x, 2) for x in loadavg]},
        "git": harness.git_state(), "wall_seconds": round(time.perf_counter() - started, 1), "scenarios": results,
    }, indent=2, ensure_ascii=False, default=str) + "\n")
    return str(path)


def scenario_command(name: str) -> Callable[..., None]:
    def command(as_json: Json = False, repeat: Repeat = 3, seconds: Seconds = None, clients: Clients = 32,
                quick: Quick = False) -> None:
        run_scenarios([name], options(repeat, seconds, clients, quick), as_json)

    command.__doc__ = f"{SCENARIOS[name].what}."
    return command


def register(bench: typer.Typer, *, taken: set[str]) -> None:
    """``all`` and every scenario not already a command of ``bench`` (those take the same options themselves
    and call :func:`run_scenarios`)."""

    @bench.command("all")
    def run_all(as_json: Json = False, repeat: Repeat = 3, seconds: Seconds = None, clients: Clients = 32,
                quick: Quick = False) -> None:
        """Every scenario, one after the other, in one table (or JSON lines)."""
        run_scenarios(list(SCENARIOS), options(repeat, seconds, clients, quick), as_json)

    for name in SCENARIOS:
        if name not in taken:
            bench.command(name)(scenario_command(name))
