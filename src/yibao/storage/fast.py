"""The per-request statements of the interface, run without SQLAlchemy's per-execution work.

A settlement runs about twenty small statements. SQLAlchemy Core spends several times longer
preparing each execution (parameter processing, result set-up, events) than SQLite or
PostgreSQL take to run it, and that was the largest share of a settlement's CPU time. A
``FastStatement`` is compiled by SQLAlchemy once per dialect (the same SQL, the same type
conversions, taken from the column types) and then run directly on the DBAPI cursor of the
caller's SQLAlchemy ``Connection``, inside the same transaction.

Rows come back as named tuples with the statement's column names, converted by the column
types exactly as SQLAlchemy would (``tests/storage/test_fast.py`` checks that against
``Connection.execute`` on both databases).
"""

from __future__ import annotations

import collections
import operator
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence

from sqlalchemy import Table
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

Processor = Callable[[Any], Any] | None


@dataclass
class _Plan:
    sql: str
    names: tuple[str, ...] | None  # positional order of the parameters; None: named (pyformat)
    processors: dict[str, Callable[[Any], Any]]
    fixed: dict[str, Any]  # literal values written in the statement (status = 'active' …)
    row: type | None  # named tuple of the result columns
    types: tuple[Any, ...] = ()  # the result columns' SQLAlchemy types
    # (column index, result processor); found on the first result, from the driver's type codes
    converters: tuple[tuple[int, Callable[[Any], Any]], ...] | None = None

    def parameters(self, given: dict[str, Any]) -> Sequence[Any] | dict[str, Any]:
        values = {**self.fixed, **given} if self.fixed else given
        processors = self.processors
        if self.names is not None:
            out = []
            for name in self.names:
                value = values[name]
                proc = processors.get(name)
                out.append(proc(value) if proc is not None and value is not None else value)
            return out
        return {name: (processors[name](v) if name in processors and v is not None else v) for name, v in values.items()}

    def rows(self, raw: Iterable[Sequence[Any]], description: Sequence[Any], dialect: Dialect) -> list[Any]:
        make = self.row._make  # type: ignore[union-attr]
        if self.converters is None:
            self.converters = tuple(
                (i, proc)
                for i, (type_, column) in enumerate(zip(self.types, description))
                if (proc := type_.dialect_impl(dialect).result_processor(dialect, column[1])) is not None
            )
        if not self.converters:
            return [make(r) for r in raw]
        out = []
        for r in raw:
            values = list(r)
            for index, convert in self.converters:
                if values[index] is not None:
                    values[index] = convert(values[index])
            out.append(make(values))
        return out


class FastStatement:
    """A SELECT, UPDATE or DELETE with named bind parameters, run on the raw DBAPI cursor."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._plans: dict[str, _Plan] = {}

    def _plan(self, conn: Connection) -> _Plan:
        dialect = conn.dialect
        plan = self._plans.get(dialect.name)
        if plan is None:
            plan = self._plans[dialect.name] = self._compile(dialect)
        return plan

    def _compile(self, dialect: Dialect) -> _Plan:
        compiled = self.statement.compile(dialect=dialect)
        processors: dict[str, Callable[[Any], Any]] = {}
        fixed: dict[str, Any] = {}
        for name, bind in compiled.binds.items():
            if bind.expanding:
                raise ValueError(f"expanding parameter {name!r} is not supported by FastStatement")
            proc = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if proc is not None:
                processors[name] = proc
            if not bind.required:
                fixed[name] = bind.effective_value
        names = tuple(compiled.positiontup) if compiled.positional else None
        sql = compiled.string
        if _numbered(dialect):
            sql, names = _to_numbered(sql)
        row, types = None, ()
        columns = getattr(self.statement, "selected_columns", None)
        if columns is not None and len(columns):
            row = collections.namedtuple("Row", [c.name for c in columns])  # type: ignore[misc]
            types = tuple(c.type for c in columns)
        return _Plan(sql, names, processors, fixed, row, types)

    def _cursor(self, conn: Connection, params: dict[str, Any]) -> tuple[Any, _Plan]:
        plan = self._plan(conn)
        cursor = _dbapi_cursor(conn)
        _execute(conn, cursor, plan.sql, plan.parameters(params))
        return cursor, plan

    def all(self, conn: Connection, params: dict[str, Any]) -> list[Any]:
        cursor, plan = self._cursor(conn, params)
        # The description is needed once, to find the converters (psycopg builds it anew on each call).
        return plan.rows(cursor.fetchall(), cursor.description if plan.converters is None else (), conn.dialect)

    def first(self, conn: Connection, params: dict[str, Any]) -> Any | None:
        rows = self.all(conn, params)
        return rows[0] if rows else None

    def run(self, conn: Connection, params: dict[str, Any]) -> int:
        """Execute a statement that returns no rows; the number of rows it changed."""
        cursor, _ = self._cursor(conn, params)
        return cursor.rowcount

    def run_many(self, conn: Connection, many: list[dict[str, Any]]) -> None:
        if not many:
            return
        plan = self._plan(conn)
        _execute(conn, _dbapi_cursor(conn), plan.sql, [plan.parameters(p) for p in many], many=True)


class FastInsert:
    """INSERT of whole rows (dicts keyed by column name) into one table; columns a row leaves
    out take their scalar default, as with ``Table.insert()``. On PostgreSQL several rows go
    as one multi-row ``VALUES`` statement (one round trip, like SQLAlchemy's
    insertmanyvalues), in chunks of ``CHUNK`` rows; SQLite, in process, is fastest with one
    prepared single-row statement run for each row (``executemany``)."""

    CHUNK = 500  # rows per statement: 500 × a wide row stays under SQLite's 32,766 parameters

    def __init__(self, table: Table, *, upsert: tuple[str, ...] = ()) -> None:
        """``upsert``: the columns of a unique key; a row whose key is taken then updates that
        row's other columns instead (``ON CONFLICT … DO UPDATE``, PostgreSQL and SQLite)."""
        self.table = table
        self.upsert = upsert
        self._plans: dict[tuple[str, tuple[str, ...]], _InsertPlan] = {}
        self._statements: dict[tuple[str, str, int], str] = {}

    def _sql(self, dialect: Dialect, plan: "_InsertPlan", rows: int) -> str:
        """The plan's head followed by ``rows`` groups of parameter markers, and its tail."""
        head, width = plan.head, len(plan.columns)
        sql = self._statements.get((dialect.name, head, rows))
        if sql is None:
            if _numbered(dialect):
                groups = (f"({', '.join(f'${r * width + c + 1}' for c in range(width))})" for r in range(rows))
            else:
                marker = "?" if dialect.paramstyle == "qmark" else "%s"
                groups = (f"({', '.join(marker for _ in range(width))})" for _ in range(rows))
            sql = self._statements[(dialect.name, head, rows)] = f"{head} VALUES {', '.join(groups)}{plan.tail}"
        return sql

    def _tail(self, preparer: Any, names: list[str]) -> str:
        if not self.upsert:
            return ""
        changed = [preparer.quote(name) for name in names if name not in self.upsert]
        key = ", ".join(preparer.quote(name) for name in self.upsert)
        return f" ON CONFLICT ({key}) DO UPDATE SET {', '.join(f'{name} = excluded.{name}' for name in changed)}"

    def _plan(self, dialect: Dialect, keys: tuple[str, ...]) -> _InsertPlan:
        plan = self._plans.get((dialect.name, keys))
        if plan is not None:
            return plan
        given = set(keys)
        unknown = given - {c.name for c in self.table.columns}
        if unknown:
            raise ValueError(f"{self.table.name} has no column(s) {sorted(unknown)}")
        # The row's own columns first (in table order), then those that take their scalar default.
        named = [c for c in self.table.columns if c.name in given]
        defaulted = [c for c in self.table.columns
                     if c.name not in given and c.default is not None and c.default.is_scalar]
        columns = [(c.name, c.type.dialect_impl(dialect).bind_processor(dialect), _scalar_default(c)) for c in named + defaulted]
        preparer = dialect.identifier_preparer
        head = f"INSERT INTO {preparer.format_table(self.table)} ({', '.join(preparer.quote(name) for name, _, _ in columns)})"
        names = [c.name for c in named]
        plan = self._plans[(dialect.name, keys)] = _InsertPlan(
            head=head,
            tail=self._tail(preparer, [name for name, _, _ in columns]),
            columns=columns,
            # itemgetter reads the row's values in C; a row missing a key falls back to .get
            getter=operator.itemgetter(*names) if len(names) > 1 else (lambda row, _n=names[0]: (row[_n],)),
            defaults=[default for _, _, default in columns[len(names):]],
            converted=[(i, proc) for i, (_, proc, _) in enumerate(columns) if proc is not None],
        )
        return plan

    def convert(self, dialect: Dialect, rows: list[dict[str, Any]]) -> "ConvertedRows":
        """The rows as the driver takes them (column order, types' bind processing), worked out
        without a connection: the interface does it for fee lines before taking the write lock.
        ``run`` takes the result in place of the dicts. The rows share one set of keys."""
        plan = self._plan(dialect, tuple(rows[0]))
        columns, getter, defaults, converted = plan.columns, plan.getter, plan.defaults, plan.converted
        values = []
        for row in rows:
            try:
                out = [*getter(row), *defaults]
            except KeyError:
                out = [row.get(name, default) for name, _, default in columns]
            for i, proc in converted:
                if out[i] is not None:
                    out[i] = proc(out[i])
            values.append(out)
        return ConvertedRows(self.table.name, dialect.name, plan, values)

    def run(self, conn: Connection, rows: "dict[str, Any] | list[dict[str, Any]] | ConvertedRows") -> None:
        if isinstance(rows, ConvertedRows):
            if (rows.table, rows.dialect) != (self.table.name, conn.dialect.name):
                raise ValueError(f"rows converted for {rows.table} on {rows.dialect}, "
                                 f"run for {self.table.name} on {conn.dialect.name}")
            ready = rows
        else:
            many = [rows] if isinstance(rows, dict) else rows
            if not many:
                return
            ready = self.convert(conn.dialect, many)
        plan, values = ready.plan, ready.values
        if not values:
            return
        cursor = _dbapi_cursor(conn)
        if conn.dialect.paramstyle == "qmark":
            single = self._sql(conn.dialect, plan, 1)
            _execute(conn, cursor, single, values, many=True)
            return
        for start in range(0, len(values), self.CHUNK):
            chunk = values[start : start + self.CHUNK]
            flat = [value for out in chunk for value in out]
            _execute(conn, cursor, self._sql(conn.dialect, plan, len(chunk)), flat)


def _scalar_default(column: Any) -> Any:
    return column.default.arg if column.default is not None and column.default.is_scalar else None


@dataclass
class ConvertedRows:
    """Rows of one ``FastInsert`` converted for one dialect (``FastInsert.convert``)."""

    table: str
    dialect: str
    plan: "_InsertPlan"
    values: list[list[Any]]


@dataclass
class _InsertPlan:
    head: str  # INSERT INTO t (columns)
    tail: str  # after the VALUES: "" or ON CONFLICT … DO UPDATE …
    columns: list[tuple[str, Processor, Any]]  # name, bind processor, default
    getter: Callable[[dict[str, Any]], tuple[Any, ...]]  # the row's own values, in column order
    defaults: list[Any]  # the values of the columns the row leaves to their default
    converted: list[tuple[int, Callable[[Any], Any]]]  # columns whose values the type converts


_PYFORMAT = re.compile(r"%%|%\((\w+)\)s")


def _numbered(dialect: Dialect) -> bool:
    """psycopg 3: statements are sent with PostgreSQL's own ``$1, $2 …`` parameters on a
    ``RawCursor``. Its default cursor rewrites ``%s`` / ``%(name)s`` into those on every
    execution, caching only statements under 4 KB: a multi-row INSERT of fee lines was parsed
    by regular expression each time, a third of the server's CPU on PostgreSQL."""
    return dialect.driver == "psycopg"


def _to_numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """``… = %(psn_no)s AND … = %(year)s`` → ``… = $1 AND … = $2`` and the names in order
    (a name used twice keeps its number; ``%%`` becomes ``%``)."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PYFORMAT.sub(number, sql), tuple(names)


def _dbapi_cursor(conn: Connection) -> Any:
    """The DBAPI connection's own cursor for these statements, made once and kept with the
    pooled connection: building a psycopg cursor (its adapters, its result state) for every
    statement cost more than running a small prepared one. The statements here read each result
    whole before the next runs, so one cursor per connection serves them all."""
    fairy = conn.connection
    driver = fairy.driver_connection
    kept = fairy.info.get("yibao.fast.cursor")
    if kept is not None and kept[0] is driver:
        return kept[1]
    if _numbered(conn.dialect):
        import psycopg
        from psycopg.types.numeric import Int8Dumper

        cursor = psycopg.RawCursor(driver)
        # psycopg sends a Python int as int2, int4, int8 or numeric by its size, and prepares a
        # statement only after it has seen the same SQL with the same parameter types five
        # times: a 20-line fee upload, whose amounts straddle 32,767 fen, was then never
        # prepared, and PostgreSQL parsed and planned its 400 parameters on every upload (1.3
        # against 0.46 ms of its CPU). Every int as int8 keeps one statement one set of types.
        cursor.adapters.register_dumper(int, Int8Dumper)
    else:
        cursor = driver.cursor()  # type: ignore[union-attr]
    fairy.info["yibao.fast.cursor"] = (driver, cursor)
    return cursor


def _execute(conn: Connection, cursor: Any, sql: str, params: Any, *, many: bool = False) -> None:
    """Run on the DBAPI cursor; a driver error is raised as SQLAlchemy's wrapper of it
    (``IntegrityError``, ``OperationalError`` …), as ``Connection.execute`` would."""
    try:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, params, exc, conn.dialect.loaded_dbapi.Error) from exc


@contextmanager
def pipelined(conn: Connection) -> Iterator[None]:
    """A context in which, on PostgreSQL, this module's statements go to the server without
    waiting for each answer (psycopg's pipeline mode): for a run of writes whose results are not
    read. A statement's error may then arrive at a later statement or when the context ends; it
    is raised as SQLAlchemy's wrapper of it either way. SQLAlchemy's own ``conn.execute``
    cannot be used inside (it needs each statement's result description at once). Elsewhere
    this does nothing."""
    if conn.dialect.name != "postgresql":
        yield
        return
    error = conn.dialect.loaded_dbapi.Error
    try:
        with conn.connection.driver_connection.pipeline():
            yield
    except error as exc:
        raise DBAPIError.instance("(pipelined statements)", None, exc, error) from exc


def savepoint(conn: Connection, name: str) -> None:
    """``SAVEPOINT name`` on the DBAPI connection (cheaper than ``Connection.begin_nested``)."""
    _raw(conn, f"SAVEPOINT {name}")


def release(conn: Connection, name: str) -> None:
    _raw(conn, f"RELEASE SAVEPOINT {name}")


def rollback_to(conn: Connection, name: str) -> None:
    _raw(conn, f"ROLLBACK TO SAVEPOINT {name}")


def _raw(conn: Connection, sql: str) -> None:
    _execute(conn, _dbapi_cursor(conn), sql, ())
