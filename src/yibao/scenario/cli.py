"""``yibao scenario run``: run scenario files and say what differs from their expectations."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import simplejson
import typer
from rich.console import Console

from yibao.storage import db

from .model import ScenarioFileError, load
from .runner import ScenarioRunner

app = typer.Typer(help="Settlement scenarios: readable YAML worlds, events and expected answers.", no_args_is_help=True)


@app.command("run")
def run_command(
    files: List[Path] = typer.Argument(..., help="Scenario files (YAML).", exists=True, dir_okay=False),
    json_only: bool = typer.Option(False, "--json", help="Print only the interface outputs, one JSON object per event."),
    database_url: Optional[str] = typer.Option(
        None, "--database-url", help="Run on this database (emptied first) instead of a private in-memory SQLite."
    ),
) -> None:
    """Run each FILE against a fresh, empty platform through the national interface.

    Prints one JSON object per event; exits with status 1 when any expectation fails, naming
    the event, the field, the expected and the actual value.

    Example: yibao scenario run tests/scenarios/*.yaml
    """
    console = Console(stderr=True)
    runner = ScenarioRunner(db.make_engine(database_url) if database_url else None)
    failed_files = 0
    failures = 0
    for path in files:
        try:
            scenario = load(path)
        except ScenarioFileError as exc:
            console.print(f"[red]✗ {path}: {exc}[/red]")
            failed_files += 1
            continue
        report = runner.run(scenario)
        if report.error:
            console.print(f"[red]✗ {path}: {report.error}[/red]")
            failed_files += 1
            continue
        for event in report.events:
            record = event.as_json() if not json_only else {
                "event": event.event.index, "infcode": event.response.get("infcode"),
                "err_msg": event.response.get("err_msg", ""), "output": event.response.get("output", {}),
            }
            typer.echo(simplejson.dumps({"file": str(path), **record}, ensure_ascii=False, use_decimal=True))
        if not json_only:
            if report.ok:
                console.print(f"[green]✓ {path}[/green] ({len(report.events)} events)")
            else:
                failed_files += 1
                for event in report.events:
                    for line in event.mismatches:
                        failures += 1
                        console.print(f"[red]✗ {path}: {line}[/red]")
        elif not report.ok:
            failed_files += 1
    if not json_only:
        total = len(files)
        colour = "green" if failed_files == 0 else "red"
        console.print(f"[{colour}]{total - failed_files}/{total} scenario files passed[/{colour}]" + (f", {failures} mismatches" if failures else ""))
    raise typer.Exit(1 if failed_files else 0)
