"""``yibao db``: create or upgrade the schema, and say where the data lives."""

from __future__ import annotations

from typing import Optional

import typer
from rich.console import Console

from . import db
from .migrate import current

app = typer.Typer(help="The platform database (SQLite by default, PostgreSQL via YIBAO_DATABASE_URL).", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command(database_url: Optional[str] = typer.Option(None, "--database-url")) -> None:
    """Create the tables, or bring them to the newest schema (Alembic migrations).

    Example: YIBAO_DATABASE_URL=postgresql://postgres@127.0.0.1/yibao yibao db upgrade
    """
    engine = db.make_engine(database_url)
    db.create_all(engine)
    Console().print(f"[green]schema at revision {current(engine)}[/green] ({engine.url.render_as_string()})")


@app.command("info")
def info_command(database_url: Optional[str] = typer.Option(None, "--database-url")) -> None:
    """Show the database URL, schema revision and row counts.  Example: yibao db info"""
    from sqlalchemy import func, inspect, select

    from .schema import metadata

    console = Console()
    engine = db.make_engine(database_url)
    console.print(f"database: {engine.url.render_as_string()}")
    console.print(f"revision: {current(engine) or '（未建表，请运行 yibao db upgrade）'}")
    existing = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name in existing:
                console.print(f"  {table.name:<18} {conn.execute(select(func.count()).select_from(table)).scalar():>10,}")
