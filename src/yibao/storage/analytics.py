"""DuckDB over the platform's database, for batch work (audit, grouping exports, reports).

``duck(url)`` returns a DuckDB connection with the platform database attached read-only as
``db`` (SQLite file or PostgreSQL), using DuckDB's scanner extensions shipped as PyPI packages
(``duckdb-extension-sqlite``, ``duckdb-extension-postgres-scanner``), so nothing is downloaded
at run time. Queries then read ``db.settlements``, ``db.fee_lines`` … directly, and can join them
with Parquet files.
"""

from __future__ import annotations

import shutil
import tempfile
from importlib import resources
from pathlib import Path

import duckdb
from sqlalchemy.engine import make_url

from .db import default_url, normalise_url


def _extension(package: str, filename: str, entry_name: str) -> Path:
    """The extension file of ``package``; copied under ``entry_name`` when DuckDB derives its
    entry point from the file name and the package ships it under another name."""
    root = Path(str(resources.files(package))) / "extensions"
    candidates = sorted(root.glob(f"v*/{filename}"))
    if not candidates:
        raise RuntimeError(f"DuckDB extension {filename} not found in {package}; reinstall yibao")
    found = candidates[-1]
    if found.name == entry_name:
        return found
    target = Path(tempfile.gettempdir()) / f"yibao-duckdb-{duckdb.__version__}" / entry_name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(found, target)
    return target


def duck(url: str | None = None, *, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the platform database attached read-only as ``db``."""
    url = normalise_url(url or default_url())
    con = duckdb.connect()
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        ext = _extension("duckdb_extension_sqlite", "sqlite.duckdb_extension", "sqlite_scanner.duckdb_extension")
        con.execute(f"LOAD '{ext}'")
        path = parsed.database or ":memory:"
        con.execute(f"ATTACH '{path}' AS db (TYPE sqlite, READ_ONLY)")
    elif parsed.get_backend_name() == "postgresql":
        ext = _extension("duckdb_extension_postgres_scanner", "postgres_scanner.duckdb_extension", "postgres_scanner.duckdb_extension")
        con.execute(f"LOAD '{ext}'")
        parts = [f"dbname={parsed.database}", f"host={parsed.host or '127.0.0.1'}", f"port={parsed.port or 5432}"]
        if parsed.username:
            parts.append(f"user={parsed.username}")
        if parsed.password:
            parts.append(f"password={parsed.password}")
        con.execute(f"ATTACH '{' '.join(parts)}' AS db (TYPE postgres, READ_ONLY)")
    else:
        raise ValueError(f"DuckDB cannot read {parsed.get_backend_name()} databases")
    return con
