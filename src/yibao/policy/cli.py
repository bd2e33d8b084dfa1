"""``yibao policy``: check policy files, show what applied on a date, import into the database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from .library import PolicyLibrary, shipped_policy_paths
from .parameters import PolicyError

app = typer.Typer(help="Policy as data: dated, cited parameter files per region.", no_args_is_help=True)


def _library(files: list[Path]) -> PolicyLibrary:
    paths = list(shipped_policy_paths()) + [p for p in files if p.resolve() not in {q.resolve() for q in shipped_policy_paths()}]
    return PolicyLibrary.from_paths(paths)


@app.command("list")
def list_command() -> None:
    """List the shipped reference policies.  Example: yibao policy list"""
    console = Console()
    table = Table("id", "name", "region", "insutypes", "valid from", "source")
    for p in PolicyLibrary.shipped().all():
        table.add_row(p.id, p.name, p.pooling_prefix, ",".join(p.insutypes), str(p.valid_from), Path(p.source).name)
    console.print(table)


@app.command("check")
def check_command(files: List[Path] = typer.Argument(..., exists=True, dir_okay=False, help="Policy YAML files.")) -> None:
    """Check policy files; errors name the file, the key and what is wrong.

    Example: yibao policy check my-region-2025.yaml
    """
    console = Console()
    try:
        library = _library(files)
    except PolicyError as exc:
        console.print(f"[red]✗ {exc}[/red]")
        raise typer.Exit(1) from None
    for path in files:
        policy = next(p for p in library.all() if Path(p.source).resolve() == path.resolve())
        console.print(f"[green]✓ {path}[/green]: {policy.id}，{len(policy.parameters)} 个参数，自 {policy.valid_from} 起完整生效")


@app.command("show")
def show_command(
    policy_id: str = typer.Argument(..., help="Policy id, e.g. meishan-2020."),
    on: Optional[str] = typer.Option(None, "--on", help="Date (YYYY-MM-DD) to resolve the values for; default today."),
    files: List[Path] = typer.Option([], "--file", help="Extra policy files to load."),
) -> None:
    """Show every parameter of a policy as it applied on a date, with its reference.

    Example: yibao policy show meishan-2020 --on 2020-06-01
    """
    console = Console()
    try:
        library = _library(files)
        policy = library.get(policy_id)
        when = dt.date.fromisoformat(on) if on else dt.date.today()
        policy.resolve(when)
    except (PolicyError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    table = Table(title=f"{policy.name}（{policy.id}）在 {when} 的参数", show_lines=False)
    table.add_column("参数")
    table.add_column("取值")
    table.add_column("生效日期")
    table.add_column("依据")
    for path, parameter in sorted(policy.parameters.items()):
        dates = [d for d in parameter.effective_dates() if d <= when]
        value = parameter.at(when)
        table.add_row(path.removeprefix("schemes."), _short(value), str(dates[-1]) if dates else "", parameter.reference)
    console.print(table)


@app.command("import")
def import_command(
    files: List[Path] = typer.Argument(None, help="Policy files; default: the shipped reference policies."),
    database_url: Optional[str] = typer.Option(None, "--database-url"),
) -> None:
    """Record policy files in the database's table of policies in force.

    Example: yibao policy import            # the shipped ones
             yibao policy import my-region-2025.yaml
    """
    from yibao.registry.store import import_policy
    from yibao.storage import db

    console = Console()
    try:
        library = _library(files or [])
    except PolicyError as exc:
        console.print(f"[red]✗ {exc}[/red]")
        raise typer.Exit(1) from None
    engine = db.make_engine(database_url)
    db.create_all(engine)
    chosen = [p for p in library.all() if not files or any(Path(p.source).resolve() == f.resolve() for f in files)]
    with engine.begin() as conn:
        for policy in chosen:
            import_policy(conn, policy)
    console.print(f"[green]已导入 {len(chosen)} 个政策[/green]: {', '.join(p.id for p in chosen)}")


def _short(value) -> str:
    if isinstance(value, dict):
        return "，".join(f"{k}: {_short(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "；".join(_short(v) for v in value)
    return str(value)
