"""The session API the services use, over a bare asyncpg connection: the hottest writes run the same code.

Services take an ``AsyncSession`` and speak SQL through ``text()`` (plus ``exec_driver_sql``, savepoints and
``session.info``). On the few hottest routes (placing an order, joining a group) SQLAlchemy's statement layer,
its session and its pool checkout cost more CPU than the statements they send, so those routes hand the very
same service code a :class:`DriverSession` instead: the part of ``AsyncSession`` the services use, on a
:class:`~liebian.kit.db.DriverPool` connection. There is no second copy of any rule.

What is the same as SQLAlchemy's, and tested side by side (``tests/kit/test_driver_session.py``):

- a ``text()`` statement is compiled by SQLAlchemy's own asyncpg dialect (``:name`` to ``$n``, escaped colons,
  casts), once per statement text, and its parameters are passed unprocessed, as SQLAlchemy passes them;
- results answer ``first``, ``one``, ``one_or_none``, ``all``, ``scalar``, ``scalar_one``,
  ``scalar_one_or_none``, ``scalars``, ``mappings`` and ``rowcount``; rows answer by index, by name and by
  attribute, and ``_mapping``;
- the server's refusals are raised as SQLAlchemy's ``IntegrityError`` / ``DataError`` / ``DBAPIError`` around
  the driver's error (so ``except IntegrityError`` and the API's error handlers work unchanged); a lost
  connection is the driver's own error, as on every hot path;
- ``begin_nested`` is a savepoint; ``info`` holds what services keep for the transaction (after-commit
  callbacks, refusals for the audit trail, the shops already read).

Anything else (the ORM's ``add`` / ``scalars`` / Core constructs) raises ``TypeError``: a service that needs it
does not belong on a hot route.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, NoReturn

import asyncpg
from asyncpg.exceptions import InvalidCachedStatementError, OutdatedSchemaCacheError
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, MultipleResultsFound, NoResultFound
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.types import NullType

# (sql, params, columns, rows): a statement and what it returned, for the benchmarks' recordings.
StatementObserver = Callable[[str, tuple[Any, ...], list[str], list[tuple[Any, ...]]], None]

_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]
_COMPILED: dict[str, tuple[str, tuple[str, ...]]] = {}
_COMPILED_MAX = 4096  # statement texts kept compiled; a service that builds texts dynamically stays bounded


class Row(asyncpg.Record):  # type: ignore[misc]
    """An asyncpg record that also answers by attribute and has ``_mapping``, as SQLAlchemy's ``Row`` does."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def _mapping(self) -> Row:
        return self

    def _asdict(self) -> dict[str, Any]:
        return dict(self.items())


class _Scalars:
    def __init__(self, values: list[Any]) -> None:
        self._values = values

    def all(self) -> list[Any]:
        return list(self._values)

    def first(self) -> Any:
        return self._values[0] if self._values else None

    def one(self) -> Any:
        return _exactly_one(self._values)

    def one_or_none(self) -> Any:
        return _at_most_one(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)


class DriverResult:
    """The rows of one statement and its row count, with the calls services make on a ``Result``."""

    def __init__(self, rows: list[Row], status: bytes | str | None) -> None:
        self._rows = rows
        self._status = status

    @property
    def rowcount(self) -> int:
        # "UPDATE 3", "INSERT 0 1", "DELETE 0", "SELECT 2": the count is the last word
        words = (self._status.decode() if isinstance(self._status, bytes) else self._status or "").split()
        return int(words[-1]) if words and words[-1].isdigit() else -1

    def first(self) -> Row | None:
        return self._rows[0] if self._rows else None

    def one(self) -> Row:
        row: Row = _exactly_one(self._rows)
        return row

    def one_or_none(self) -> Row | None:
        row: Row | None = _at_most_one(self._rows)
        return row

    def all(self) -> list[Row]:
        return list(self._rows)

    fetchall = all

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        return _exactly_one(self._rows)[0]

    def scalar_one_or_none(self) -> Any:
        row = _at_most_one(self._rows)
        return None if row is None else row[0]

    def scalars(self) -> _Scalars:
        return _Scalars([row[0] for row in self._rows])

    def mappings(self) -> _Scalars:
        return _Scalars(list(self._rows))  # a Row is already a mapping (name → value)

    def __iter__(self) -> Iterator[Row]:
        return iter(self._rows)


def _exactly_one(items: Sequence[Any]) -> Any:
    if not items:
        raise NoResultFound("No row was found when one was required")
    if len(items) > 1:
        raise MultipleResultsFound("Multiple rows were found when exactly one was required")
    return items[0]


def _at_most_one(items: Sequence[Any]) -> Any:
    if len(items) > 1:
        raise MultipleResultsFound("Multiple rows were found when one or none was required")
    return items[0] if items else None


def _compiled(clause: TextClause) -> tuple[str, tuple[str, ...]]:
    """SQLAlchemy's own rendering of a ``text()`` for asyncpg, and its parameters' names in ``$n`` order."""
    found = _COMPILED.get(clause.text)
    if found is not None:
        return found
    if any(p.expanding or not isinstance(p.type, NullType) for p in clause._bindparams.values()):
        raise TypeError("typed or expanding bind parameters are not supported on a driver session")
    compiled = clause.compile(dialect=_DIALECT)
    found = (compiled.string, tuple(compiled.positiontup or ()))
    if len(_COMPILED) < _COMPILED_MAX:
        _COMPILED[clause.text] = found
    return found


async def _bind_execute(conn: Any, sql: str, args: tuple[Any, ...]) -> tuple[list[Row], Any]:
    """One statement's rows (as :class:`Row`) and its command status (``rowcount``; ``fetch`` drops it).

    A statement already prepared on this connection goes straight to asyncpg's protocol: the four Python
    layers of ``Connection._execute`` around it (its cache lookup and record-class checks) cost about a sixth
    of a statement's client CPU here. Anything else (the first use of a text, a closed connection) takes
    ``_execute``, which prepares and caches it, so the protocol sees exactly what asyncpg would send.
    """
    statement = conn._stmt_cache.get((sql, Row, False))
    if statement is None:
        rows, status, _ = await conn._execute(sql, args, 0, None, return_status=True, record_class=Row)
    else:
        rows, status, _ = await conn._protocol.bind_execute(statement, args, "", 0, True, None)
    return rows, status


def _args_with_bound_values(statement: TextClause, names: tuple[str, ...], given: dict[str, Any]) -> tuple[Any, ...]:
    try:
        return tuple(given[name] if name in given else statement._bindparams[name].value for name in names)
    except KeyError as missing:
        raise TypeError(f"no value for the bind parameter {missing}") from None


def _refused(sql: str, args: Sequence[Any], exc: asyncpg.PostgresError) -> NoReturn:
    """The server's refusal as SQLAlchemy would raise it (``orig`` is the driver's error, with its sqlstate)."""
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        raise IntegrityError(sql, tuple(args), exc) from exc
    if isinstance(exc, asyncpg.DataError):
        raise DataError(sql, tuple(args), exc) from exc
    raise DBAPIError(sql, tuple(args), exc) from exc


def announce(hooks: Sequence[Callable[[str], None]], sql: str) -> None:
    """A statement about to be sent, to the hooks that count them (tests)."""
    for hook in hooks:
        hook(sql)


def report(observers: Sequence[StatementObserver], sql: str, args: tuple[Any, ...], rows: Sequence[Any]) -> None:
    """A statement and the rows it returned, to the observers that record them (the benchmarks)."""
    for observe in observers:
        observe(sql, args, list(rows[0].keys()) if rows else [], [tuple(r) for r in rows])


class _DriverConnection:
    """What ``await session.connection()`` gives the services that send driver SQL (``$1``) themselves."""

    def __init__(self, session: DriverSession) -> None:
        self._session = session

    async def exec_driver_sql(self, sql: str, params: Sequence[Any] = ()) -> DriverResult:
        return await self._session.run(sql, tuple(params))


class DriverSession:
    """The services' session API on one asyncpg connection already inside a transaction (see the module)."""

    _savepoints = itertools.count(1)

    def __init__(self, conn: Any, *, hooks: Sequence[Callable[[str], None]] = (),
                 observers: Sequence[StatementObserver] = ()) -> None:
        self.conn = conn
        self.info: dict[str, Any] = {}
        self._hooks = hooks
        self._observers = observers

    async def execute(self, statement: Any, params: dict[str, Any] | None = None) -> DriverResult:
        if not isinstance(statement, TextClause):
            raise TypeError(f"a driver session runs text() statements, not {type(statement).__name__}")
        sql, names = _compiled(statement)
        given = params or {}
        try:
            args = tuple([given[name] for name in names])
        except KeyError:  # a value bound in the text itself (``bindparams``), or none at all
            args = _args_with_bound_values(statement, names, given)
        return await self.run(sql, args)

    async def run(self, sql: str, args: tuple[Any, ...]) -> DriverResult:
        if self._hooks:
            announce(self._hooks, sql)
        conn = self.conn
        try:
            rows, status = await _bind_execute(conn, sql, args)
        except asyncpg.PostgresError as exc:
            if isinstance(exc, InvalidCachedStatementError):
                conn._drop_global_statement_cache()  # as asyncpg does inside a transaction: re-prepared next time
            _refused(sql, args, exc)
        except OutdatedSchemaCacheError:
            await conn.reload_schema_state()  # as asyncpg does: a type changed under the cached statement
            raise
        if self._observers:
            report(self._observers, sql, args, rows)
        return DriverResult(rows, status)

    async def connection(self) -> _DriverConnection:
        return _DriverConnection(self)

    @asynccontextmanager
    async def begin_nested(self) -> AsyncIterator[None]:
        name = f"lb_sp_{next(self._savepoints)}"
        await self.conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            if not self.conn.is_closed():
                await self.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
            raise
        await self.conn.execute(f"RELEASE SAVEPOINT {name}")

    async def flush(self) -> None:
        """Nothing is pending: a driver session holds no ORM objects."""

    def add(self, instance: object) -> NoReturn:
        raise TypeError("a driver session holds no ORM objects; this service does not belong on a hot route")

    async def scalars(self, statement: Any, params: Any = None) -> NoReturn:
        raise TypeError("a driver session runs text() statements only; this service does not belong on a hot route")
