"""Writing many rows fast, with exactly the conversions SQLAlchemy's column types apply.

``insert_rows`` compiles one INSERT per table and dialect, asks each column type for its bind
processor once, converts the rows in a tight loop and hands them to the driver's executemany.
It is what the bulk channel and data loaders use; the per-request path uses ordinary Core
statements.
"""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import Table
from sqlalchemy.engine import Connection

_plans: dict[tuple[str, str, tuple[str, ...]], tuple[str, list]] = {}


def _plan(conn: Connection, table: Table, columns: tuple[str, ...]) -> tuple[str, list]:
    key = (conn.dialect.name, table.name, columns)
    plan = _plans.get(key)
    if plan is None:
        dialect = conn.dialect
        compiled = table.insert().compile(dialect=dialect, column_keys=list(columns))
        sql = str(compiled)
        order = compiled.positiontup if compiled.positional else None
        if order is None:
            # Named parameter style (psycopg: %(name)s): rewrite to positional %s for executemany.
            for name in columns:
                sql = sql.replace(f"%({name})s", "%s")
        else:
            assert list(order) == list(columns), (order, columns)
        processors = [table.c[name].type._cached_bind_processor(dialect) for name in columns]
        plan = (sql, processors)
        _plans[key] = plan
    return plan


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> int:
    """Insert ``rows`` (dicts keyed by column name) into ``table`` in one executemany."""
    if not rows:
        return 0
    names = tuple(columns or rows[0].keys())
    sql, processors = _plan(conn, table, names)
    active = [(i, p) for i, p in enumerate(processors) if p is not None]
    values = []
    for row in rows:
        record = [row[name] for name in names]
        for i, process in active:
            value = record[i]
            if value is not None:
                record[i] = process(value)
        values.append(tuple(record))
    conn.exec_driver_sql(sql, values)
    return len(values)
