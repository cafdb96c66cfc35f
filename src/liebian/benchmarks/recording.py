"""The floors' statements: what the engine sent, recorded, and turned into a pgbench script.

A floor runs *the same statements* as the path it measures: not a guess at them. The path runs once in this
process with every statement on the engine recorded (SQLAlchemy's cursor events: text, parameters, and the
rows, peeked in the driver's buffer); :class:`ScriptWriter` turns the recording into pgbench commands.
Parameters become literals, or pgbench variables where the engine used a row that pgbench picks at random
(``statics``: a SKU, a customer) or that the database made (an id ``RETURNING`` gave: ``\\gset``), or where the
engine made a new value (an order number: ``md5(random())``, one extra ``SELECT``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, text

from liebian.kit.db import Database


@dataclass
class Statement:
    sql: str
    params: tuple[Any, ...]
    columns: list[str]
    rows: list[tuple[Any, ...]]


@dataclass
class Recording:
    events: list[Statement | str] = field(default_factory=list)  # a Statement, or BEGIN / COMMIT / ROLLBACK

    @property
    def statements(self) -> list[Statement]:
        return [e for e in self.events if isinstance(e, Statement)]

    def round_trips(self) -> int:
        """Statements plus the BEGIN and COMMIT (or ROLLBACK) the driver sends: each one a round trip."""
        return len(self.events)


class Recorder:
    """Every statement on the engine, with its rows (peeked in the driver's buffer, not consumed), and those
    sent on the bare driver connections (hot routes), while ``current`` is set."""

    def __init__(self, db: Database) -> None:
        self.current: Recording | None = None
        engine = db.engine.sync_engine
        event.listen(engine, "begin", lambda conn: self._add("BEGIN"))
        event.listen(engine, "commit", lambda conn: self._add("COMMIT"))
        event.listen(engine, "rollback", lambda conn: self._add("ROLLBACK"))
        event.listen(engine, "after_cursor_execute", self._after)
        db.statement_observers.append(self._driver)

    def _driver(self, sql: str, params: tuple[Any, ...], columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        """A driver connection's statement (a hot route's), or its BEGIN / COMMIT / ROLLBACK."""
        self._add(sql if sql in ("BEGIN", "COMMIT", "ROLLBACK") else Statement(sql, params, columns, rows))

    def _add(self, item: Statement | str) -> None:
        if self.current is not None:
            self.current.events.append(item)

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        rows = [tuple(r) for r in getattr(cursor, "_rows", ())]
        columns = [d[0] for d in cursor.description] if cursor.description else []
        self._add(Statement(statement, tuple(parameters or ()), columns, rows))


async def separate_id_ranges(db: Database, phase: int) -> None:
    """Each table's new ids in a range of its own (per phase): in a recording a value then says which row it
    is, and the script uses pgbench's variable wherever the engine used that row's id."""
    async with db.unit_of_work() as session:
        sequences = (await session.execute(text(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' AND max_value > 10000000000 "
            "ORDER BY sequencename"))).scalars().all()
        for i, name in enumerate(sequences, 1):
            await session.execute(text("SELECT setval(CAST(:s AS regclass), greatest(last_value, :v)) FROM "
                                       f'"{name}"'), {"s": name, "v": (2 * i + phase) * 10_000_000})


_PARAM = re.compile(r"\$(\d+)")
UNIQUE = "md5(random()::text || clock_timestamp()::text)"  # what pgbench makes where Python made a new value


class ScriptWriter:
    """Parameters become literals, or pgbench variables where the engine would make a new value each time."""

    def __init__(self, statics: dict[int, str], *, keep_clock: bool = False) -> None:
        self.ints: dict[int, str] = dict(statics)  # value → pgbench expression
        self.tokens: dict[str, str] = {}  # generated strings (order numbers, event ids) → variable
        self.lines: list[str] = []
        self.n = 0
        self.keep_clock = keep_clock

    def render(self, value: Any) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return self.ints.get(value, str(value))
        if isinstance(value, dt.datetime):
            return _literal(value.isoformat())
        if isinstance(value, list):
            cast = "bigint" if all(isinstance(v, int) for v in value) else "text"
            return "ARRAY[" + ", ".join(f"CAST({self.render(v)} AS {cast})" for v in value) + "]"
        if isinstance(value, str):
            return self._string(value)
        raise TypeError(f"cannot render {type(value).__name__} for pgbench")

    def _string(self, value: str) -> str:
        pieces: list[str] = [value]
        replacements = [(re.escape(tok), var) for tok, var in self.tokens.items()]
        replacements += [(rf"(?<!\d){v}(?!\d)", var) for v, var in self.ints.items() if v >= 1000]
        for pattern, var in replacements:
            out: list[str] = []
            for piece in pieces:
                if piece.startswith((":", "CAST(")):
                    out.append(piece)
                    continue
                for part in re.split(f"({pattern})", piece):
                    if re.fullmatch(pattern, part or "\0"):
                        out.append(var)
                    elif part:
                        out.append(part)
            pieces = out
        if pieces == [value]:
            return _literal(value)
        rendered = [p if p.startswith((":", "CAST(")) else _literal(p) for p in pieces]
        return "(" + " || ".join(f"CAST({r} AS text)" if r.startswith(":") else r for r in rendered) + ")"

    def statement(self, st: Statement) -> None:
        if ("kit_clock" in st.sql and not self.keep_clock) or ("SKIP LOCKED" in st.sql and not st.rows):
            return  # the clock, and polls that found nothing (spread over every group of a wave)
        self.n += 1
        if st.sql.startswith("INSERT INTO orders "):
            self._generated(st.params[1], f"ono{self.n}", f"substr({UNIQUE}, 1, 20)")
        if st.sql.startswith("INSERT INTO payment_events "):
            self._generated(st.params[1], f"ev{self.n}", UNIQUE)
        sql = _PARAM.sub(lambda m: self.render(st.params[int(m.group(1)) - 1]), st.sql)
        if "SKIP LOCKED" in st.sql:  # a sweep that found this group's row: this group's row only
            own = self.ints[st.rows[0][st.columns.index("id")]]
            sql = sql.replace(" ORDER BY ", f" AND id = CAST({own} AS bigint) ORDER BY ", 1)
        ending = ";"
        if len(st.rows) == 1:
            found = [(c, v) for c, v in zip(st.columns, st.rows[0], strict=True)
                     if (c in ("id", "gid") or c.endswith("_id")) and c != "shop_id" and isinstance(v, int)
                     and v not in self.ints]
            if found:  # ids the database made: later statements use what pgbench got back
                for column, value in found:
                    self.ints[value] = f":r{self.n}_{column}"
                ending = f" \\gset r{self.n}_"
        self.lines.append(" ".join(sql.split()) + ending)

    def _generated(self, captured: str, var: str, expression: str) -> None:
        self.lines.append(f"SELECT {expression} AS {var} \\gset")
        self.tokens[captured] = f":{var}"


def _literal(value: str) -> str:
    """A string constant pgbench leaves alone: it reads ``:name`` as a variable even inside quotes."""
    if ":" not in value and "\\" not in value:
        return "'" + value.replace("'", "''") + "'"
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace(":", "\\x3a")
    return "E'" + escaped + "'"


def drop_empty_transactions(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if line in ("COMMIT;", "ROLLBACK;") and out and out[-1] == "BEGIN;":
            out.pop()
            continue
        out.append(line)
    return out


def script(recording: Recording, head: list[str], statics: dict[int, str]) -> str:
    """A recording as one pgbench script: ``head`` (``\\set`` lines) then every transaction in it."""
    writer = ScriptWriter(statics)
    for item in recording.events:
        if isinstance(item, str):
            writer.lines.append(f"{item};")
        else:
            writer.statement(item)
    return "\n".join(head + drop_empty_transactions(writer.lines)) + "\n"
