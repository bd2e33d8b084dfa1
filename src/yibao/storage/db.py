"""Connecting to the database: SQLite in a local data folder by default, PostgreSQL when
``YIBAO_DATABASE_URL`` says so.

Writers are serialised per person: on PostgreSQL a settlement locks the person's row
(``SELECT … FOR UPDATE``); on SQLite every write transaction starts with ``BEGIN IMMEDIATE``,
which takes the database's write lock up front, so two settlements can never both read the
same remaining cap.
"""

from __future__ import annotations

import os
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from .schema import metadata

try:
    import fcntl as _fcntl
except ImportError:  # Windows has no fcntl: SQLite's own lock and busy_timeout then queue the writers
    _fcntl = None  # type: ignore[assignment]

DEFAULT_DATA_DIR = Path(os.environ.get("YIBAO_DATA_DIR", "yibao-data"))


def default_url() -> str:
    url = os.environ.get("YIBAO_DATABASE_URL")
    if url:
        return url
    DEFAULT_DATA_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_DATA_DIR / 'yibao.sqlite'}"


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str | None = None, *, echo: bool = False) -> Engine:
    url = normalise_url(url or default_url())
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo)
    return create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _sqlite_engine(url: str, echo: bool) -> Engine:
    memory = url in ("sqlite://", "sqlite:///:memory:")
    kwargs: dict = {"echo": echo}
    if memory:
        kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        kwargs.update(connect_args={"check_same_thread": False, "timeout": 30})
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - exercised by every test
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # pragma: no cover - exercised by every test
        # Writers take the write lock up front; readers (see ``reading``) take none: in WAL mode
        # they see the last committed state and never wait for a writer.
        if connection.get_execution_options().get("yibao_readonly"):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """``engine.begin()`` for the interface's writers, queued first on SQLite.

    SQLite lets one process write at a time; a process that finds the database locked polls with
    growing sleeps (``busy_timeout``), so with two server workers one of them mostly slept. Here
    the writers of a database file queue on an advisory lock on a file beside it (``flock``):
    the kernel wakes the next writer the moment the lock is released. Other writers (batch jobs,
    the API) still meet SQLite's own lock and its timeout, so nothing depends on them taking this
    one. On PostgreSQL this is plain ``engine.begin()``.
    """
    with _writer_queue(engine), engine.begin() as conn:
        yield conn

def _writer_queue(engine: Engine):
    path = _queue_path(engine)
    if path is None:
        return nullcontext()
    return _flocked(path)


def _queue_path(engine: Engine) -> str | None:
    if engine.dialect.name != "sqlite" or _fcntl is None:
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database + "-writers.lock"


@contextmanager
def _flocked(path: str) -> Iterator[None]:
    # A descriptor of its own for each wait: flock locks belong to the open file, so two threads
    # of one process queue on each other as two processes do. Closing it releases the lock.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _fcntl.flock(fd, _fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def reading(engine: Engine):
    """A connection for reading only (no write lock on SQLite). Use as ``with reading(e) as conn``."""
    return engine.connect().execution_options(yibao_readonly=True)


def create_all(engine: Engine) -> None:
    """Create the schema through the Alembic migrations (so that they are what is tested)."""
    from .migrate import upgrade

    upgrade(engine)


def reset(engine: Engine) -> None:
    """Empty every table (a fresh, empty platform), keeping the schema."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(t.name for t in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
