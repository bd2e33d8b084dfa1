"""``yibao demo``: the main job. Runs the platform end to end on the embedded default (SQLite
and DuckDB files in ./yibao-data) and prints what it did.

Steps grow with the platform: settlement scenarios first; then a synthetic region, its year of
claims through the interface, audit, DRG/DIP payment and fund reports, ending with the console.
"""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

EXAMPLES = Path(str(resources.files("yibao"))).parent.parent / "examples" / "scenarios"


def _scenarios(console: Console, data_dir: Path) -> None:
    from yibao.scenario import ScenarioRunner, load
    from yibao.storage import db

    files = sorted(EXAMPLES.glob("*.yaml")) + sorted((EXAMPLES.parent.parent / "tests" / "scenarios").glob("*.yaml"))
    runner = ScenarioRunner(db.make_engine(f"sqlite:///{data_dir / 'scenarios.sqlite'}"))
    table = Table(title="结算场景 Settlement scenarios (policies 眉山 / 清远 / 安吉)", show_lines=False)
    for column in ("场景", "事件", "通过", "医疗费总额", "基金支付"):
        table.add_column(column, justify="right" if column not in ("场景",) else "left")
    passed = 0
    events = 0
    for path in files:
        report = runner.run(load(path))
        ok = report.ok
        passed += ok
        events += len(report.events)
        medfee = fund = 0
        for event in report.events:
            info = event.response.get("output", {}).get("setlinfo", {}) if event.response.get("infcode") == 0 else {}
            if event.event.kind == "settle" and info:
                medfee += info["medfee_sumamt"]
                fund += info["fund_pay_sumamt"]
        table.add_row(path.stem, str(len(report.events)), "✓" if ok else "[red]✗[/red]", f"{medfee:,.2f}", f"{fund:,.2f}")
    console.print(table)
    console.print(f"[bold]{passed}/{len(files)}[/bold] scenario files passed ({events} events) — each figure worked out by hand from the policy text.")
    if passed != len(files):
        raise typer.Exit(1)


def demo_command(
    data_dir: Path = typer.Option(Path("yibao-data"), "--data-dir", help="Where the SQLite and DuckDB files go."),
    persons: Optional[int] = typer.Option(None, "--persons", help="Size of the synthetic region (default about 20,000)."),
) -> None:
    """Run the platform end to end on the embedded default and print what it did.

    Example: yibao demo --data-dir yibao-data
    """
    console = Console()
    data_dir.mkdir(parents=True, exist_ok=True)
    console.print(Panel.fit("yibao 医保 — demo of the main job", subtitle=str(data_dir.resolve())))
    started = time.perf_counter()
    _scenarios(console, data_dir)
    console.print(f"[green]done in {time.perf_counter() - started:.1f} s[/green]")
