"""Shared fixtures: a database on SQLite and on PostgreSQL, and paths to shared data.

Tests that take the ``engine`` fixture run twice, once per backend. PostgreSQL is the server at
``YIBAO_TEST_POSTGRES_URL`` (default: postgresql://postgres@127.0.0.1:5432/postgres); each
test session creates its own database there and drops it at the end.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from shared_data import find as find_shared_data
from yibao.storage import db

REPO = Path(__file__).resolve().parent.parent
SHARED = find_shared_data()
POSTGRES_ADMIN_URL = os.environ.get("YIBAO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if SHARED is None or not SHARED.exists():
        pytest.fail("shared reference data (shared/data with chs-drg-1.1/) not found; set YIBAO_SHARED_DATA")
    return SHARED


@pytest.fixture(scope="session")
def postgres_url():
    admin = create_engine(db.normalise_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
    name = f"yibao_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        pytest.fail(
            f"PostgreSQL is required for the test suite and did not answer at {POSTGRES_ADMIN_URL}: {exc}. "
            "Run scripts/ensure-postgres or set YIBAO_TEST_POSTGRES_URL."
        )
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def _pg_engine(postgres_url):
    engine = db.make_engine(postgres_url)
    db.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """An empty, migrated database: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        eng = db.make_engine(f"sqlite:///{tmp_path / 'yibao.sqlite'}")
        db.create_all(eng)
        yield eng
        eng.dispose()
    else:
        eng = request.getfixturevalue("_pg_engine")
        db.reset(eng)
        yield eng
