"""Figures beside their floors: what one repetition measures (``Sample``), what a scenario reports over its
repetitions (``Figure``: the median, the range), the targets, the table and the JSON lines.

A ratio is always taken within one repetition (the figure and its floor measured back to back on the same
machine, DESIGN.md §6); the reported ratio is the median of those, with their range.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class Target:
    """``ratio >= 0.5``, ``value <= 5``, ``value == 0`` (a check: it must hold in every repetition)."""

    of: Literal["ratio", "value"]
    op: Literal[">=", "<=", "=="]
    bound: float

    def met(self, value: float | None, ratio: float | None) -> bool | None:
        x = ratio if self.of == "ratio" else value
        if x is None:
            return None
        if self.op == ">=":
            return x >= self.bound
        if self.op == "<=":
            return x <= self.bound
        return x == self.bound

    def text(self, unit: str = "") -> str:
        symbol = {">=": "≥", "<=": "≤", "==": "="}[self.op]
        bound = f"{self.bound:g}"
        return f"ratio {symbol} {bound}" if self.of == "ratio" else f"{symbol} {bound}{(' ' + unit) if unit else ''}"


def at_least(bound: float) -> Target:
    return Target("ratio", ">=", bound)


def value_at_most(bound: float) -> Target:
    return Target("value", "<=", bound)


def exactly(bound: float) -> Target:
    return Target("value", "==", bound)


@dataclass(frozen=True)
class Sample:
    """One metric measured once. ``ratio`` defaults to value ÷ floor (``inverse``: floor ÷ value, for times)."""

    metric: str
    value: float | None
    unit: str = ""
    floor: float | None = None
    floor_is: str = ""  # what the floor is, in a few words
    target: Target | None = None
    check: bool = False  # a correctness check: it must hold in every repetition, not only in the median
    inverse: bool = False
    ratio_override: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.ratio_override is not None:
            return self.ratio_override
        if self.value is None or not self.floor:
            return None
        if self.inverse:
            return self.floor / self.value if self.value else None
        return self.value / self.floor


@dataclass
class Outcome:
    """What a scenario measured: one list of samples per repetition, or why it did not run."""

    scenario: str
    reps: list[list[Sample]] = field(default_factory=list)
    skipped: str | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)  # written to bench/results/, not printed


@dataclass(frozen=True)
class Figure:
    scenario: str
    metric: str
    unit: str
    value: float | None  # the median over the repetitions
    min: float | None
    max: float | None
    floor: float | None
    floor_is: str
    ratio: float | None
    ratio_min: float | None
    ratio_max: float | None
    target: Target | None
    ok: bool | None
    reps: int
    values: tuple[float | None, ...]
    skipped: str | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario, "metric": self.metric, "value": _round(self.value), "unit": self.unit,
            "floor": _round(self.floor), "floor_is": self.floor_is, "ratio": _round(self.ratio),
            "target": self.target.bound if self.target else None,
            "target_of": self.target.of if self.target else None,
            "target_op": self.target.op if self.target else None,
            "target_text": self.target.text(self.unit) if self.target else None, "ok": self.ok,
            "median": _round(self.value), "min": _round(self.min), "max": _round(self.max),
            "ratio_min": _round(self.ratio_min), "ratio_max": _round(self.ratio_max), "reps": self.reps,
            "values": [_round(v) for v in self.values], "skipped": self.skipped, "error": self.error,
        }


def _round(x: float | None) -> float | None:
    if x is None:
        return None
    return round(x, 4) if abs(x) < 10 else round(x, 1)


def _median(xs: Sequence[float | None]) -> float | None:
    present = [x for x in xs if x is not None]
    return statistics.median(present) if present else None


def _span(xs: Sequence[float | None]) -> tuple[float | None, float | None]:
    present = [x for x in xs if x is not None]
    return (min(present), max(present)) if present else (None, None)


def aggregate(outcome: Outcome) -> list[Figure]:
    """One figure per metric, in the order the metrics first appear."""
    if outcome.skipped is not None or (outcome.error is not None and not outcome.reps):
        return [Figure(outcome.scenario, "skipped" if outcome.skipped else "error", "", None, None, None, None, "",
                       None, None, None, None, None if outcome.skipped else False, 0, (), outcome.skipped,
                       outcome.error)]
    by_metric: dict[str, list[Sample]] = {}
    for rep in outcome.reps:
        for sample in rep:
            by_metric.setdefault(sample.metric, []).append(sample)
    figures = []
    for metric, samples in by_metric.items():
        first = samples[0]
        values = [s.value for s in samples]
        ratios = [s.ratio for s in samples]
        value, ratio = _median(values), _median(ratios)
        target = first.target
        if target is None:
            ok = None
        elif first.check:
            results = [target.met(s.value, s.ratio) for s in samples]
            ok = None if any(r is None for r in results) else all(results)
        else:
            ok = target.met(value, ratio)
        lo, hi = _span(values)
        rlo, rhi = _span(ratios)
        figures.append(Figure(outcome.scenario, metric, first.unit, value, lo, hi, _median([s.floor for s in samples]),
                              first.floor_is, ratio, rlo, rhi, target, ok, len(samples), tuple(values)))
    if outcome.error is not None:  # some repetitions ran, then it failed
        figures.append(Figure(outcome.scenario, "error", "", None, None, None, None, "", None, None, None, None,
                              False, 0, (), None, outcome.error))
    return figures


def json_lines(figures: Iterable[Figure]) -> str:
    return "\n".join(json.dumps(f.as_json(), ensure_ascii=False) for f in figures)


def _num(x: float | None, unit: str = "") -> str:
    if x is None:
        return "—"
    text = f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}" if abs(x) >= 1 else f"{x:.3g}"
    return f"{text} {unit}".rstrip()


def table(figures: Sequence[Figure], title: str) -> Table:
    out = Table(title=title, title_justify="left")
    for column in ("scenario", "metric", "value (median)", "range", "floor", "ratio (range)", "target", "ok", "reps"):
        out.add_column(column, justify="left" if column in ("scenario", "metric", "floor", "target") else "right",
                       overflow="fold")
    for f in figures:
        if f.skipped or (f.error and f.metric == "error"):
            out.add_row(f.scenario, f.metric, f"[yellow]{f.skipped or f.error}[/yellow]", "", "", "", "",
                        "" if f.skipped else "[red]no[/red]", "0")
            continue
        span = "" if f.reps < 2 else f"{_num(f.min)}–{_num(f.max)}"
        floor = f"{_num(f.floor, f.unit)} ({f.floor_is})" if f.floor is not None else f.floor_is
        ratio = "" if f.ratio is None else (f"{f.ratio:.3g}" + (f" ({f.ratio_min:.3g}–{f.ratio_max:.3g})"
                                                                 if f.reps > 1 and f.ratio_min is not None
                                                                 and f.ratio_max is not None else ""))
        ok = {True: "[green]yes[/green]", False: "[red]no[/red]", None: ""}[f.ok]
        out.add_row(f.scenario, f.metric, _num(f.value, f.unit), span, floor, ratio,
                    f.target.text(f.unit) if f.target else "", ok, str(f.reps))
    return out


def print_table(figures: Sequence[Figure], title: str, console: Console) -> None:
    console.print(table(figures, title))
