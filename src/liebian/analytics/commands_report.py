"""CLI of the fission analytics: ``liebian analytics report`` and ``liebian bench analytics``.

NumPy, numba and the database are imported inside the commands: ``liebian --help`` stays fast.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from liebian.analytics.schemas import Report

console = Console()


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not YYYY-MM-DD") from exc


@contextmanager
def _database() -> Iterator[str]:
    """The configured PostgreSQL, or the embedded one (as ``liebian serve`` uses it)."""
    from liebian.kit.embedded import EmbeddedPostgres
    from liebian.settings import get_settings

    settings = get_settings()
    if settings.database_url:
        yield settings.database_url
        return
    embedded = EmbeddedPostgres(settings.home)
    url = embedded.start()
    try:
        yield url
    finally:
        if embedded.started_here:
            embedded.stop()


async def _report(url: str, slug: str, first: date | None, last: date | None, group_by: str, limit: int) -> Report:
    from liebian.analytics import service
    from liebian.kit.db import Database, make_engine
    from liebian.shops.service import shop_by_slug

    db = Database(make_engine(url, pool_size=1, max_overflow=0))
    try:
        async with db.sessions() as session:
            shop = await shop_by_slug(session, slug)
            start, end = service.days(first, last)
            return await service.report(session, shop.id, start, end, group_by=group_by, limit=limit)
    finally:
        await db.dispose()


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="left" if column in ("key", "channel", "metric") else "right")
    for row in rows:
        table.add_row(*["—" if v is None else str(v) for v in row])
    return table


def _yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}"


def print_tables(report: Report) -> None:
    f, k, c, con, r = report.funnel, report.kfactor, report.cascades, report.concentration, report.retention
    console.print(_table(f"Funnel by {f.group_by} (whole cascade; first hop in brackets)",
                         ["key", "shares", "visits", "new customers", "orders", "GMV ¥"],
                         [[row.key, f"{row.cascade.shares} ({row.first_hop.shares})",
                           f"{row.cascade.visits} ({row.first_hop.visits})",
                           f"{row.cascade.new_customers} ({row.first_hop.new_customers})",
                           f"{row.cascade.orders} ({row.first_hop.orders})", _yuan(row.cascade.gmv_fen)]
                          for row in [*f.items, f.total]]))
    console.print(_table(f"K-factor: {k.k}  cycle median {k.median_cycle_seconds}s p90 {k.p90_cycle_seconds}s  "
                         f"reach ceiling {k.reach_ceiling}", ["depth", "shares", "children", "K"],
                         [[g.depth, g.shares, g.children, g.k] for g in k.generations]))
    console.print(_table(f"Cascades ({c.summary.cascades}, mean size {c.summary.mean_size}, "
                         f"mean virality {c.summary.mean_virality})",
                         ["root share", "channel", "size", "depth", "breadth", "virality", "orders", "GMV ¥"],
                         [[x.root_share_id, x.channel, x.size, x.depth, x.max_breadth, x.virality, x.orders,
                           _yuan(x.gmv_fen)] for x in c.items]))
    console.print(_table("Concentration", ["metric", "value"], [
        ["sharers", con.sharers], ["GMV ¥", _yuan(con.gmv_fen)], ["top 1% share", con.top_1_percent.share],
        ["top 10% share", con.top_10_percent.share], ["Gini", con.gini],
        [f"GMV within one hop of top {con.top_m.m}", _yuan(con.top_m.one_hop_gmv_fen)],
        ["repeat rate, referred", r.referred.repeat_rate], ["repeat rate, not referred", r.not_referred.repeat_rate]]))
    if report.cac is not None:
        console.print(_table("CAC and ROI by channel", ["channel", "spend ¥", "first orders", "CAC ¥", "ROI"],
                             [[x.channel, _yuan(x.spend_fen), x.first_orders,
                               None if x.cac_fen is None else _yuan(x.cac_fen), x.roi]
                              for x in report.cac.by_channel.items]))


def register(analytics: typer.Typer, bench: typer.Typer,
             scenario: Callable[[bool, int, float | None, bool], None] | None = None) -> None:
    """Add this module's commands to ``liebian analytics`` and ``liebian bench`` (``scenario``: what
    ``liebian bench analytics`` runs without ``--events``, the benchmark scenario of ``liebian.benchmarks``)."""

    @analytics.command("report")
    def report(
        shop: Annotated[str, typer.Option("--shop", help="the shop's slug")],
        from_: Annotated[str | None, typer.Option("--from", help="first Asia/Shanghai day, YYYY-MM-DD")] = None,
        to: Annotated[str | None, typer.Option("--to", help="last day, included")] = None,
        group_by: Annotated[str, typer.Option("--group-by", help="channel, campaign, product or promoter")]
        = "channel",
        limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 20,
        as_json: Annotated[bool, typer.Option("--json", help="print the JSON the API answers")] = False,
    ) -> None:
        """Funnels, K-factor, cascades, concentration, teams, CAC and repeat purchases of one shop."""
        from liebian.kit.errors import Problem

        if group_by not in ("channel", "campaign", "product", "promoter"):
            raise typer.BadParameter("--group-by is channel, campaign, product or promoter")
        try:
            with _database() as url:
                result = asyncio.run(_report(url, shop, _day(from_), _day(to), group_by, limit))
        except Problem as exc:
            console.print(f"[red]{exc.code}[/red]: {exc.detail}")
            raise typer.Exit(2) from exc
        if as_json:
            typer.echo(result.model_dump_json(by_alias=True, indent=2))
        else:
            print_tables(result)

    @bench.command("analytics")
    def bench_analytics(
        events: Annotated[int | None, typer.Option("--events", min=1000, help="size of the synthetic log (given: "
                                                   "this run's JSON; else the benchmark scenario)")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="the scenario's figures as JSON lines")] = False,
        repeat: Annotated[int, typer.Option("--repeat", min=1, max=50, help="the scenario's repetitions")] = 3,
        seconds: Annotated[float | None, typer.Option("--seconds", min=0.5, max=600, help="unused here")] = None,
        quick: Annotated[bool, typer.Option("--quick", help="the scenario at 1M events")] = False,
    ) -> None:
        """The whole report over a synthetic fission log in memory (no database), at N events and N/10, each
        in its own process; prints JSON with seconds and peak RSS. Without --events: the benchmark scenario
        (10M events against one pass over the log, --repeat times)."""
        if events is None and scenario is not None:
            scenario(as_json, repeat, seconds, quick)
            return
        events = events or 10_000_000
        from liebian.analytics.bench import run

        started = datetime.now()
        result = run(events)
        result["wall_seconds"] = round((datetime.now() - started).total_seconds(), 1)
        typer.echo(json.dumps(result, indent=2))
