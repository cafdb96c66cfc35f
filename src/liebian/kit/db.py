"""Engine, declarative base and the unit of work: one session per request or job, committed by its owner.

Services receive an ``AsyncSession`` and never commit; the request dependency (``app.py``) or the worker
commits once at the end, then runs the callbacks registered with :func:`after_commit`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from sqlalchemy import BigInteger, MetaData, event
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import InterfaceError as SAInterfaceError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from liebian.kit import jsonx
from liebian.kit.driver_session import DriverSession, StatementObserver, announce, report

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        int: BigInteger(),
        datetime: TIMESTAMP(timezone=True),
        dict[str, Any]: JSONB(),
        list[Any]: JSONB(),
    }


AfterCommit = Callable[[], Awaitable[None]]


async def flush_or_conflict(session: AsyncSession, conflict: Exception) -> None:
    """Flush pending inserts in a savepoint; a unique violation becomes ``conflict`` (a 409 problem).

    The constraint decides, so two concurrent creations of the same name cannot both succeed.
    """
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise conflict from exc


def equal_filters(clauses: list[str], params: dict[str, Any], filters: dict[str, object], *,
                  alias: str = "") -> None:
    """Add ``column = :column`` for each filter that was given (None means "any"), for list endpoints."""
    for name, value in filters.items():
        if value is not None:
            clauses.append(f"{alias}{name} = :{name}")
            params[name] = value


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run ``callback`` once the session's transaction has committed (never if it rolls back)."""
    session.info.setdefault("after_commit", []).append(callback)


LAST = "last_in_transaction"


def last_in_transaction(session: AsyncSession, action: AfterCommit) -> None:
    """Run ``action`` as late as the use case allows (it calls :func:`run_last`), and at the latest just before
    the commit: a guarded update of a row many transactions want (a SKU's stock) then holds its lock for the
    last statements only, not for the whole order."""
    session.info.setdefault(LAST, []).append(action)


async def run_last(session: AsyncSession) -> None:
    while session.info.get(LAST):
        await session.info[LAST].pop(0)()


AFTER_ROLLBACK = "after_rollback"


def after_rollback(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Call ``callback`` if the session's transaction rolls back (never once it has committed): to undo what
    was done outside the database in its name (units taken in Redis)."""
    if isinstance(session, DriverSession):
        session.info.setdefault(AFTER_ROLLBACK, []).append(callback)
        return
    sync_session = session.sync_session

    def on_rollback(_: Any) -> None:
        callback()

    def on_commit(_: Any) -> None:
        if event.contains(sync_session, "after_rollback", on_rollback):
            event.remove(sync_session, "after_rollback", on_rollback)

    event.listen(sync_session, "after_rollback", on_rollback, once=True)
    event.listen(sync_session, "after_commit", on_commit, once=True)


async def run_after_commit(session: AsyncSession) -> None:
    callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    for callback in callbacks:
        await callback()


def async_url(url: str) -> str:
    """Accept ``postgresql://`` / ``postgres://`` URLs and use the asyncpg driver."""
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme in {"postgresql", "postgres"}:
        scheme = "postgresql+asyncpg"
    elif scheme != "postgresql+asyncpg":
        raise ValueError(f"unsupported database URL scheme {parts.scheme!r}; use postgresql://")
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))


SERVER_SETTINGS = {"jit": "off", "timezone": "UTC", "application_name": "liebian"}


def make_engine(url: str, *, pool_size: int = 20, max_overflow: int = 40) -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=30,
        connect_args={"server_settings": SERVER_SETTINGS},
        json_deserializer=jsonx.loads,  # every json/jsonb value read, on the ORM's connections and the driver pool's
    )


class DriverConnection(Protocol):
    """The asyncpg calls the hot paths use (``$1`` parameters, statements prepared and cached by asyncpg)."""

    async def fetchrow(self, query: str, *args: Any) -> Any: ...

    async def fetchval(self, query: str, *args: Any) -> Any: ...


StatementHook = Callable[[str], None]


class _Observed:
    """A driver connection whose statements are reported to hooks (tests count them) and observers (the
    benchmarks record them, with their parameters and rows)."""

    def __init__(self, conn: DriverConnection, hooks: list[StatementHook],
                 observers: list[StatementObserver]) -> None:
        self._conn, self._hooks, self._observers = conn, hooks, observers

    async def fetchrow(self, query: str, *args: Any) -> Any:
        announce(self._hooks, query)
        row = await self._conn.fetchrow(query, *args)
        report(self._observers, query, args, [] if row is None else [row])
        return row

    async def fetchval(self, query: str, *args: Any) -> Any:
        row = await self.fetchrow(query, *args)
        return None if row is None else row[0]


@dataclass(frozen=True)
class _Adapted:
    """What SQLAlchemy's asyncpg dialect expects of a connection when it sets up codecs: the driver's own."""

    _connection: Any


async def _json_as_sqlalchemy_does(dialect: PGDialect_asyncpg, conn: Any) -> None:
    """``json`` / ``jsonb`` read as Python objects and sent as JSON text, by the very codecs SQLAlchemy's asyncpg
    dialect installs on its connections: a service reads the same values on a driver session."""
    await dialect.setup_asyncpg_json_codec(_Adapted(conn))  # type: ignore[no-untyped-call]
    await dialect.setup_asyncpg_jsonb_codec(_Adapted(conn))  # type: ignore[no-untyped-call]


class DriverPool:
    """A few bare asyncpg connections for the hottest paths, handed out last-in first-out.

    SQLAlchemy's pool checkout (a ``Connection``, its fairy, the greenlet hop) and asyncpg's own pool
    (whose release sends a reset query) each cost a measurable share of a share visit. The hot paths set
    no session state, so a connection goes back as it is; one left inside a transaction, or broken, is
    closed instead.
    """

    def __init__(self, engine: AsyncEngine, size: int) -> None:
        _, self._connect_params = engine.dialect.create_connect_args(engine.url)
        self._dialect = cast(PGDialect_asyncpg, engine.dialect)
        self._size = size
        self._idle: list[Any] = []
        self._opened = 0
        # Each waiter gets a connection, or None: a broken one was dropped, try to open a new one.
        self._waiters: deque[asyncio.Future[Any]] = deque()

    async def acquire(self) -> Any:
        while True:
            if self._idle:
                return self._idle.pop()
            if self._opened < self._size:
                self._opened += 1
                try:
                    conn = await asyncpg.connect(**self._connect_params, server_settings=SERVER_SETTINGS)
                except BaseException:
                    self._opened -= 1
                    self._wake(None)
                    raise
                try:
                    await _json_as_sqlalchemy_does(self._dialect, conn)
                    return conn
                except BaseException:
                    conn.terminate()
                    self._opened -= 1
                    self._wake(None)
                    raise
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                conn = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self.release(waiter.result())  # handed over just as the caller gave up
                raise
            if conn is not None:
                return conn

    def release(self, conn: Any) -> None:
        if conn is None:
            return
        if conn.is_closed() or conn.is_in_transaction():
            conn.terminate()
            self._opened -= 1
            self._wake(None)
        elif not self._wake(conn):
            self._idle.append(conn)

    def _wake(self, conn: Any) -> bool:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return True
        return False

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        self._opened -= len(idle)
        for conn in idle:
            await conn.close()


# A server that is gone or not (yet) taking work: class 08 (connection exception), and 57P01-57P03 (shut down by
# an administrator, crashed, not accepting connections while it starts or recovers).
_UNAVAILABLE_PREFIXES = ("08", "57P01", "57P02", "57P03")
# What the driver raises itself when the server cannot be reached (refused, socket gone, reset, timed out) or the
# connection died mid-statement: the exception handlers of the API look at these (see :func:`unavailable`).
DRIVER_ERRORS: tuple[type[Exception], ...] = (OSError, asyncpg.InterfaceError, asyncpg.PostgresError,
                                                   PoolTimeout)


def _raised_by_driver(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")).startswith("asyncpg"):
            return True
        tb = tb.tb_next
    return False


def unavailable(exc: BaseException) -> bool:
    """True when ``exc`` means PostgreSQL could not be reached or lost the connection (a restart, a failover, a
    full pool): nothing was wrong with the request, its transaction did not commit — or, if the connection died
    during COMMIT, its outcome is unknown — so the answer is 503 and the client retries (idempotently)."""
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or isinstance(exc, SAInterfaceError):
            return True
        # ``orig`` is SQLAlchemy's adapter around the driver's error (its cause), or the driver's error itself
        # (a driver session), whose own cause may be the socket's (a broken pipe): any of them may say it.
        orig = exc.orig if exc.orig is not None else exc
        return any(_driver_unavailable(e) for e in (orig, getattr(orig, "__cause__", None)) if e is not None)
    return _driver_unavailable(exc)


def _driver_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, asyncpg.InterfaceError):
        return True  # "connection is closed", "connection was closed in the middle of operation"
    if isinstance(exc, asyncpg.PostgresError):
        return str(getattr(exc, "sqlstate", "") or "").startswith(_UNAVAILABLE_PREFIXES)
    return isinstance(exc, OSError) and _raised_by_driver(exc)


async def _rollback_or_drop(conn: Any) -> None:
    if conn.is_closed() or not conn.is_in_transaction():
        return
    try:
        await conn.execute("ROLLBACK")
    except BaseException:
        conn.terminate()  # release() sees it closed and opens another next time
        raise


class Database:
    """The process's engine and session factory."""

    def __init__(self, engine: AsyncEngine, *, driver_pool_size: int = 8) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self.statement_hooks: list[StatementHook] = []
        # Statements on driver sessions with their parameters and rows, BEGIN and COMMIT too (the benchmarks'
        # recordings; SQLAlchemy's cursor events see the session path's).
        self.statement_observers: list[StatementObserver] = []
        self._driver_pool_size = driver_pool_size
        self._driver_pool: DriverPool | None = None

    @asynccontextmanager
    async def driver_transaction(self) -> AsyncIterator[DriverConnection]:
        """A transaction on a bare asyncpg connection (:class:`DriverPool`).

        For the few hottest paths (a share visit): the ORM session and SQLAlchemy's statement layer cost
        more CPU than the statements they send. Statements here use ``$1`` parameters. Nothing registered
        with :func:`after_commit` runs: a hot path has no reactions.
        """
        observed = self.statement_hooks or self.statement_observers
        async with self._bare_transaction() as conn:
            if observed:
                self._observe("BEGIN")
            yield _Observed(conn, self.statement_hooks, self.statement_observers) if observed else conn
            if observed:
                self._observe("COMMIT")

    @asynccontextmanager
    async def _bare_transaction(self) -> AsyncIterator[Any]:
        if self._driver_pool is None:
            self._driver_pool = DriverPool(self.engine, self._driver_pool_size)
        pool = self._driver_pool
        conn = await pool.acquire()
        try:
            await conn.execute("BEGIN")
            yield conn
            await conn.execute("COMMIT")
        except Exception:
            # A refusal (the server's, or a service's problem between statements): the protocol is idle, so roll
            # back and keep the connection. If it broke mid-statement the rollback fails and it is dropped.
            with contextlib.suppress(Exception):
                await _rollback_or_drop(conn)
            raise
        except BaseException:
            # Cancelled mid-statement: the protocol's state is unknown, so it is never reused.
            conn.terminate()
            raise
        finally:
            pool.release(conn)

    @asynccontextmanager
    async def driver_unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """A unit of work whose session is a :class:`~liebian.kit.driver_session.DriverSession` on a driver
        connection: the same services, the same transaction and after-commit callbacks, without SQLAlchemy's
        statement layer. For the hottest writes only (placing an order, joining a group)."""
        session: DriverSession | None = None
        try:
            async with self._bare_transaction() as conn:
                session = DriverSession(conn, hooks=self.statement_hooks, observers=self.statement_observers)
                self._observe("BEGIN")
                # Typed as the session it stands in for: services only use the part it implements.
                yield cast(AsyncSession, session)
                await run_last(cast(AsyncSession, session))
                self._observe("COMMIT")
        except BaseException:
            self._observe("ROLLBACK")
            if session is not None:
                for callback in session.info.pop(AFTER_ROLLBACK, []):
                    callback()
            raise
        await run_after_commit(cast(AsyncSession, session))

    def _observe(self, command: str) -> None:
        for observe in self.statement_observers:
            observe(command, (), [], [])

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """A transaction that commits if the block succeeds, then runs the after-commit callbacks."""
        async with self.sessions() as session:
            async with session.begin():
                yield session
                await run_last(session)
            await run_after_commit(session)

    async def dispose(self) -> None:
        if self._driver_pool is not None:
            await self._driver_pool.close()
            self._driver_pool = None
        await self.engine.dispose()
