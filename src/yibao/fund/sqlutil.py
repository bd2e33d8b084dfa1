"""Small SQL helpers that differ between SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

from sqlalchemy import Date, DateTime, bindparam, text
from sqlalchemy.engine import Connection


def period_expr(conn: Connection, col: str) -> str:
    """'YYYY-MM' of a timestamp or date column."""
    if conn.dialect.name == "postgresql":
        return f"to_char({col}, 'YYYY-MM')"
    return f"substr({col}, 1, 7)"


def date_expr(conn: Connection, col: str) -> str:
    if conn.dialect.name == "postgresql":
        return f"CAST({col} AS DATE)"
    return f"date({col})"


def sql(statement: str, **types: Any):
    """A text() statement whose named parameters get the given SQLAlchemy types
    (``ts=DateTime`` …), so that SQLite receives dates and times in the format it stores."""
    clause = text(statement)
    if types:
        clause = clause.bindparams(*(bindparam(name, type_=t() if isinstance(t, type) else t) for name, t in types.items()))
    return clause


TS = DateTime
DAY = Date


def month_start(period: str) -> dt.datetime:
    y, m = int(period[:4]), int(period[5:7])
    return dt.datetime(y, m, 1)


def next_month(period: str) -> str:
    y, m = int(period[:4]), int(period[5:7])
    return f"{y + (m == 12):04d}-{m % 12 + 1:02d}"


def prev_month(period: str, n: int = 1) -> str:
    y, m = int(period[:4]), int(period[5:7])
    idx = y * 12 + (m - 1) - n
    return f"{idx // 12:04d}-{idx % 12 + 1:02d}"


def month_end(period: str) -> dt.date:
    return (month_start(next_month(period)) - dt.timedelta(days=1)).date()


def periods_between(first: str, last: str) -> list[str]:
    out, p = [], first
    while p <= last:
        out.append(p)
        p = next_month(p)
    return out


def period_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def chunked(items: Iterable[Any], size: int = 500) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
