"""``liebian``: serve, worker, migrate, demo, check, fake-wechat."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from liebian import __version__
from liebian.analytics import commands_im as analytics_im_commands
from liebian.analytics import commands_report as analytics_report_commands
from liebian.benchmarks import commands as bench_commands
from liebian.kit.checks import Violation
from liebian.kit.embedded import EmbeddedPostgres
from liebian.settings import ConfigurationError, Settings, get_settings

app = typer.Typer(help="Liebian (裂变): social e-commerce engine.", no_args_is_help=True, add_completion=False)
console = Console()


@contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """The configured PostgreSQL, or the embedded one in ``{home}/pgdata`` (stopped on exit if started here)."""
    if settings.database_url:
        yield settings.database_url
        return
    embedded = EmbeddedPostgres(settings.home)
    with console.status("Starting embedded PostgreSQL…"):
        url = embedded.start()
    console.print(f"[dim]embedded PostgreSQL in {embedded.pgdata}[/dim]")
    try:
        yield url
    finally:
        if embedded.started_here:
            console.print("[dim]stopping embedded PostgreSQL…[/dim]")
            embedded.stop()


def _settings() -> Settings:
    try:
        return get_settings()
    except ConfigurationError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _migrate(url: str) -> None:
    from liebian.kit.migrate import upgrade

    with console.status("Applying migrations…"):
        upgrade(url, data_key=_settings().resolved_data_key())  # 0018 seals phone numbers already stored


@app.command()
def migrate() -> None:
    """Bring the database schema to the newest revision."""
    settings = _settings()
    with database_url(settings) as url:
        _migrate(url)
    console.print("[green]schema is up to date[/green]")


async def _seed_demo(url: str, settings: Settings) -> None:
    from liebian import demo, wiring
    from liebian.kit.db import Database, make_engine

    wiring.install(settings)
    db = Database(make_engine(url, pool_size=2, max_overflow=0))
    try:
        async with db.unit_of_work() as session:
            shop = await demo.seed(session)
    finally:
        await db.dispose()
    state = "created" if shop.created else "already there"
    console.print(f"demo shop [bold]{shop.slug}[/bold] {state}")
    if shop.created:
        await _play_demo(url, settings)
    console.print(f"console login: [bold]{shop.email}[/bold] / [bold]{shop.password}[/bold]")


async def _play_demo(url: str, settings: Settings) -> None:
    """The demo's first day of business, through the app's own API in this process (before it serves)."""
    import httpx

    from liebian import demo
    from liebian.app import create_app
    from liebian.kit.db import Database, make_engine

    db = Database(make_engine(url, pool_size=4, max_overflow=0))
    application = create_app(settings.model_copy(update={"database_url": url}), db=db)
    try:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo.local", timeout=60) as client:
            with console.status("Playing the demo shop's first day…") as status:
                await demo.play(client, lambda what: status.update(f"Playing the demo shop's first day: {what}…"))
        console.print("[dim]demo: campaigns, shares, visits, group buys, a bargain and orders are in[/dim]")
    finally:
        await application.state.wechat.aclose()
        await application.state.remote_images.aclose()
        await db.dispose()


@app.command()
def demo() -> None:
    """Seed the demo shop (sandbox mode only; running it again changes nothing)."""
    settings = _settings()
    if not settings.sandbox:
        console.print("[red]the demo shop is for sandbox mode only[/red]")
        raise typer.Exit(2)
    with database_url(settings) as url:
        _migrate(url)
        asyncio.run(_seed_demo(url, settings))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="API processes (each also runs a worker).")] = 1,
    with_demo: Annotated[bool, typer.Option("--demo", help="Seed the demo shop first (sandbox).")] = False,
    access_log: Annotated[bool, typer.Option(
        envvar="LIEBIAN_ACCESS_LOG",
        help="Log every request line (as gunicorn, off unless asked: it costs about a quarter of the CPU of a "
             "share visit, and the proxy in front usually logs requests already).")] = False,
) -> None:
    """Migrate, then serve the API (and the job worker in-process) until Ctrl-C or SIGTERM."""

    settings = _settings()
    with database_url(settings) as url:
        _migrate(url)
        if with_demo and settings.sandbox:
            asyncio.run(_seed_demo(url, settings))
        base = f"http://{host}:{port}"
        console.print(f"[bold green]Liebian {__version__}[/bold green] ({settings.mode.value}) on {base}")
        console.print(f"API docs: {base}/docs    OpenAPI: {base}/openapi.json")
        console.print(f"Console: {base}/console    Storefront: {base}/s/<shop>"
                      + (f" (demo: {base}/s/demo)" if with_demo and settings.sandbox else ""))
        _exit_cleanly_on_signals()
        os.environ["LIEBIAN_DATABASE_URL"] = url
        os.environ["LIEBIAN_SECRET_KEY"] = settings.resolved_secret_key()
        if "LIEBIAN_PUBLIC_BASE_URL" not in os.environ:  # where the (fake) WeChat posts its notifications
            local = "127.0.0.1" if host == "0.0.0.0" else host  # noqa: S104 (comparing, not binding)
            os.environ["LIEBIAN_PUBLIC_BASE_URL"] = f"http://{local}:{port}"
        if workers > 1 and settings.sandbox and not settings.sandbox_wechat_url:
            _start_shared_fake_wechat(settings, url)
        get_settings.cache_clear()
        if workers == 1:
            from liebian.app import create_app

            application = create_app(get_settings(), run_worker=True)
            uvicorn.Server(uvicorn.Config(application, host=host, port=port, log_level="info",
                                          access_log=access_log)).run()
        else:
            from uvicorn.supervisors import Multiprocess

            config = NoDelayConfig("liebian.app:create_app_from_env", factory=True, host=host, port=port,
                                   workers=workers, log_level="info", access_log=access_log)
            Multiprocess(config, sockets=[config.bind_socket()]).run()


class NoDelayConfig(uvicorn.Config):
    """uvicorn binds the shared socket of ``--workers N`` with protocol 0, and asyncio turns TCP_NODELAY on
    only for sockets that say IPPROTO_TCP (uvicorn#3149): every keep-alive answer then waits for the
    client's delayed ACK, about 40 ms. The same socket, declared as TCP, gets Nagle off on every accept."""

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return sock
        tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        tcp.set_inheritable(True)
        return tcp


def _start_shared_fake_wechat(settings: Settings, database_url: str) -> None:
    """Several processes must see one fake WeChat: serve it from this parent process, fresh keys each start."""
    from liebian.gateways import sandbox_credentials_path
    from liebian.integrations.wechat.fake import SandboxCredentials
    from liebian.sandbox import fake_server

    credentials = SandboxCredentials.generate()
    credentials.save(sandbox_credentials_path(settings))
    fake_url, _ = fake_server.start_in_thread(credentials, database_url)
    os.environ["LIEBIAN_SANDBOX_WECHAT_URL"] = fake_url
    console.print(f"fake WeChat (shared by the workers) on {fake_url}")


@app.command("fake-wechat")
def fake_wechat(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8001,
) -> None:
    """Run the embedded fake WeChat on its own, for sandbox processes started separately.

    Writes fresh keys to {home}/sandbox/wechat-credentials.json; start serve and workers with
    LIEBIAN_SANDBOX_WECHAT_URL=http://HOST:PORT so they all use it.
    """

    from liebian.gateways import sandbox_credentials_path
    from liebian.integrations.wechat.fake import SandboxCredentials
    from liebian.sandbox import fake_server

    settings = _settings()
    if not settings.sandbox:
        console.print("[red]the fake WeChat is for sandbox mode only[/red]")
        raise typer.Exit(2)
    with database_url(settings) as url:
        _migrate(url)
        credentials = SandboxCredentials.generate()
        credentials.save(sandbox_credentials_path(settings))
        application, _ = fake_server.build(credentials, url)
        console.print(f"fake WeChat on http://{host}:{port}; export LIEBIAN_SANDBOX_WECHAT_URL=http://{host}:{port}")
        _exit_cleanly_on_signals()
        uvicorn.Server(uvicorn.Config(application, host=host, port=port, log_level="info")).run()


def _exit_cleanly_on_signals() -> None:
    """Uvicorn shuts down on SIGINT/SIGTERM and then re-raises the signal to the handler found before it.

    Turning that into ``SystemExit(0)`` lets the ``finally`` blocks run, so the embedded PostgreSQL
    this process started is stopped too.
    """

    def _exit(signum: int, _frame: object) -> None:
        raise SystemExit(0)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _exit)


@app.command()
def worker() -> None:
    """Run the job worker (deadline sweepers and the outbox); any number of them can run at once."""
    settings = _settings()
    with database_url(settings) as url:
        _migrate(url)
        asyncio.run(_run_worker(url, settings))


async def _run_worker(url: str, settings: Settings) -> None:
    from liebian import gateways, wiring
    from liebian.kit.db import Database, make_engine
    from liebian.kit.jobs import Worker

    wiring.install(settings)
    wechat = gateways.install(settings, None)
    db = Database(make_engine(url, pool_size=4, max_overflow=4))
    job_worker = Worker(db, settings.worker_poll_seconds)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, job_worker.stop)
    console.print("worker running; Ctrl-C to stop")
    try:
        await job_worker.run()
    finally:
        await wechat.aclose()
        await db.dispose()


@app.command()
def check() -> None:
    """Verify the invariants (ledger balanced, stock never negative, paid orders posted); exit 1 if any fails."""
    settings = _settings()
    with database_url(settings) as url:
        _migrate(url)
        results = asyncio.run(_check(url, settings))
    table = Table(title="liebian check")
    table.add_column("invariant")
    table.add_column("result")
    failed = 0
    for name, found in results:
        table.add_row(name, "[green]ok[/green]" if not found else f"[red]{len(found)} violation(s)[/red]")
        failed += len(found)
    console.print(table)
    for name, found in results:
        for violation in found:
            console.print(f"[red]✗[/red] {name}: {violation.detail}")
    if failed:
        raise typer.Exit(1)


async def _check(url: str, settings: Settings) -> list[tuple[str, list[Violation]]]:
    from liebian import checks, wiring
    from liebian.kit.db import Database, make_engine

    wiring.install(settings)  # some checks read another module through the ports the wiring installs
    db = Database(make_engine(url, pool_size=1, max_overflow=0))
    try:
        async with db.sessions() as session:
            return [(name, list(found)) for name, found in await checks.run(session)]
    finally:
        await db.dispose()


bench = typer.Typer(help="Benchmarks against their floors: liebian bench <scenario> | all [--json] [--repeat N] "
                    "[--seconds S] [--clients C] (bench/README.md).", no_args_is_help=True,
                    cls=bench_commands.ScenarioGroup)
app.add_typer(bench, name="bench")
analytics = typer.Typer(help="Fission analytics and KOL seeding (influence maximization).", no_args_is_help=True)
app.add_typer(analytics, name="analytics")
analytics_report_commands.register(analytics, bench, lambda as_json, repeat, seconds, quick: (
    bench_commands.run_scenarios(["analytics"], bench_commands.options(repeat, seconds, 32, quick), as_json)))
analytics_im_commands.register(analytics)


@bench.command("groupbuy-replay")
def groupbuy_replay(
    file: Annotated[Path | None, typer.Option("--file", exists=True, dir_okay=False,
                                              help="succeeded groups: initiator item participant... per line "
                                                   "(without it: the benchmark scenario, on a scratch database)")]
    = None,
    failed: Annotated[Path | None, typer.Option("--failed", exists=True, dir_okay=False,
                                                help="failed groups: initiator item per line")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the figures as JSON on stdout.")] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N rows of each file.")] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Buyers at once.")] = 8,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Workers running the due jobs at once.")] = 2,
    wave: Annotated[int, typer.Option(min=1, help="Groups opened before the clock moves past their deadline.")] = 2000,
    payments: Annotated[str, typer.Option(help="instant (no cryptography) or wechat (fake WeChat Pay).")] = "instant",
    check: Annotated[bool, typer.Option("--check/--no-check", help="Run the invariants of 'liebian check'.")] = True,
    repeat: bench_commands.Repeat = 3,
    seconds: bench_commands.Seconds = None,
    quick: bench_commands.Quick = False,
) -> None:
    """Replay a real group-buying log through the service layer (sandbox): every logged success must succeed,
    every logged failure must fail and be refunded; exit 1 otherwise or if an invariant breaks. Without --file:
    the scenario (the Beibei log on a scratch database against its pgbench floor, --repeat times)."""
    if file is None:
        bench_commands.run_scenarios(["groupbuy-replay"], bench_commands.options(repeat, seconds, 32, quick,
                                                                                   buyers=concurrency), json_out)
        return
    if payments not in ("instant", "wechat"):
        console.print("[red]--payments is instant or wechat[/red]")
        raise typer.Exit(2)
    settings = _settings()
    if not settings.sandbox:
        console.print("[red]the replay is for sandbox mode only[/red]")
        raise typer.Exit(2)
    from liebian.replay import read_log

    log = read_log(file, failed, limit)
    with database_url(settings) as url:
        _migrate(url)
        result = asyncio.run(_replay(url, settings, log, concurrency=concurrency, workers=workers, wave=wave,
                                     payments=payments, check=check))
    figures = result.as_dict()
    if json_out:
        print(json.dumps(figures, ensure_ascii=False))  # plain stdout: the JSON is the command's output
    else:
        table = Table(title="group-buy replay")
        table.add_column("figure")
        table.add_column("value")
        for key, value in figures.items():
            table.add_row(key, str(value))
        console.print(table)
    ok = result.mismatched_groups == 0 and result.succeeded == result.expected_succeeded \
        and result.failed == result.expected_failed and (result.invariants_ok or not check)
    if not ok:
        raise typer.Exit(1)


async def _replay(url: str, settings: Settings, log: Any, **options: Any) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from liebian.kit.db import Database, make_engine
    from liebian.replay import replay

    concurrency = int(options["concurrency"])
    db = Database(make_engine(url, pool_size=concurrency + int(options["workers"]) + 2, max_overflow=concurrency))
    bar = Progress(TextColumn("[bold]replaying groups"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=Console(stderr=True), transient=True)
    try:
        with bar:
            task = bar.add_task("groups", total=len(log))
            return await replay(settings, db, log, progress=lambda n: bar.advance(task, n),
                                payments_mode=options["payments"], concurrency=concurrency,
                                workers=options["workers"], wave=options["wave"], check=options["check"])
    finally:
        await db.dispose()


@bench.command("flashsale")
def flashsale_bench(
    attempts: Annotated[int | None, typer.Option(min=1, help="Entries per trial (given: the engine on the "
                                                 "configured database; else the benchmark scenario).")] = None,
    units: Annotated[int, typer.Option(min=1, help="Units of the hot slot.")] = 1_000,
    clients: Annotated[int | None, typer.Option(min=1, max=90, help="Clients at once (each its own connection; "
                                                "default 64, the scenario 32).")] = None,
    trials: Annotated[int, typer.Option(min=1, max=20, help="Sales per path.")] = 3,
    customers: Annotated[int | None, typer.Option(min=1, help="Customers the attempts pick among (limit 1 each); "
                                                  "default attempts / 4.")] = None,
    redis_url: Annotated[str | None, typer.Option("--redis", help="Redis for the Redis path (default "
                                                  "LIEBIAN_REDIS_URL).")] = None,
    no_redis: Annotated[bool, typer.Option("--no-redis", help="The PostgreSQL path only.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the figures as JSON on stdout.")] = False,
    repeat: bench_commands.Repeat = 3,
    seconds: bench_commands.Seconds = None,
    quick: bench_commands.Quick = False,
) -> None:
    """A hot flash-sale slot: attempts from many clients on the PostgreSQL and Redis paths, beside pgbench running
    the same guarded statement and redis-benchmark the same Lua script; exit 1 unless every trial sold exactly
    the units with nobody over the limit. Without --attempts: the scenario (a scratch database and a private
    Redis, the engine, and the Redis path through HTTP against the API's ping ceiling), --repeat times."""
    if attempts is None:
        bench_commands.run_scenarios(["flashsale"], bench_commands.options(repeat, seconds, clients or 32, quick),
                                     json_out)
        return
    clients = clients or 64
    settings = _settings()
    if not settings.sandbox:
        console.print("[red]the benchmark creates a sandbox shop: sandbox mode only[/red]")
        raise typer.Exit(2)
    from liebian.flashsale.bench import Options

    opts = Options(attempts=attempts, units=units, clients=clients, trials=trials,
                   customers=customers or max(units, attempts // 4))
    redis = None if no_redis else (redis_url or settings.redis_url)
    with database_url(settings) as url:
        _migrate(url)
        result = asyncio.run(_flashsale_bench(url, settings, opts, redis))
    if json_out:
        print(json.dumps(result, ensure_ascii=False, default=str))
    else:
        table = Table(title=f"flash sale: {attempts} attempts for {units} units from {clients} clients, "
                            f"{trials} trial(s)")
        for column in ("path", "exact", "oversold", "max/customer", "orders/s", "entries/s", "p99 ms", "floor/s",
                       "floor p99 ms", "ratio"):
            table.add_column(column)
        for path, p in result["paths"].items():
            table.add_row(*(str(p[k]) if k != "path" else path for k in (
                "path", "all_exact", "oversold", "max_per_customer", "orders_per_s", "entries_per_s", "entry_p99_ms",
                "floor_per_s", "floor_p99_ms", "ratio_entries_to_floor")))
        console.print(table)
    if not all(p["all_exact"] for p in result["paths"].values()):
        raise typer.Exit(1)


async def _flashsale_bench(url: str, settings: Settings, opts: Any, redis_url: str | None) -> Any:
    from liebian import wiring
    from liebian.flashsale.bench import run
    from liebian.kit.db import Database, make_engine
    from liebian.payments.providers import registry
    from liebian.replay import InstantPay

    wiring.install(settings)
    db = Database(make_engine(url, pool_size=opts.clients + 4, max_overflow=0))
    try:
        with registry.preserved():
            registry.install("wechat", InstantPay())  # payment intents without cryptography (as the replay)
            return await run(db, url, opts=opts, redis_url=redis_url)
    finally:
        await db.dispose()


bench_commands.register(bench, taken={"groupbuy-replay", "flashsale", "analytics"})


@app.command()
def version() -> None:
    """Print the version."""
    console.print(__version__)


def main() -> None:
    try:
        app()
    except ConfigurationError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
