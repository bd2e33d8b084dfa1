"""``yibao drg``: group discharge records with a bureau's DRG scheme tables."""

from __future__ import annotations

import os
import time
from importlib import resources
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from yibao.grouping.drg import DrgGrouper, SchemeError, load_scheme
from yibao.grouping.drg_io import InputError, group_csv, iter_records

app = typer.Typer(
    help=(
        "DRG 分组（按方案表分组）/ DRG grouping driven by a scheme folder of CSV tables.\n\n"
        "Example: yibao drg group cases.csv --scheme /data/chs-drg-1.1 --out grouped.csv"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
err = Console(stderr=True)
out_console = Console()


def demo_scheme_path() -> Path:
    """The small demo scheme shipped with yibao (invented lists, for trying things out)."""
    return Path(str(resources.files("yibao.grouping") / "data" / "demo-scheme"))


def resolve_scheme(value: str) -> Path:
    return demo_scheme_path() if value == "demo" else Path(value)


def _load(value: str):
    try:
        return load_scheme(resolve_scheme(value))
    except SchemeError as exc:
        err.print(f"[red]分组方案有误 / scheme error[/red]\n{exc}", markup=True, highlight=False)
        raise typer.Exit(1) from None


@app.callback()
def _root() -> None:
    """DRG 分组 / DRG grouping."""


@app.command("group")
def group_command(
    input: Path = typer.Argument(..., help="病案 CSV：id,gender,age,age_days,weight,dept,los,leaving_type,dx,px；"
                                  "dx/px 用 | 分隔，主诊断、主手术在前"),
    scheme: str = typer.Option(..., "--scheme", help="分组方案目录（mdc.csv, adrg.csv …），或 demo 使用内置示例方案"),
    out: Path | None = typer.Option(None, "--out", help="输出 CSV：id,status,mdc,adrg,drg"),
    explain: list[str] | None = typer.Option(None, "--explain", metavar="ID",
                                             help="打印该病案的分组过程（可重复）/ print the trail of record ID"),
    translate: bool = typer.Option(False, "--translate", help="先用方案的 icd10_map/icd9cm3_map 转换编码（默认关闭）"),
    jobs: int = typer.Option(min(2, os.cpu_count() or 1), "--jobs", min=1,
                             help="并行进程数 / worker processes for large files"),
) -> None:
    """把病案分入 MDC/ADRG/DRG / group discharge records into MDC, ADRG and DRG.

    Example:

      yibao drg group cases.csv --scheme /data/chs-drg-1.1 --out grouped.csv

      yibao drg group cases.csv --scheme demo --explain 1001

    Output status: SUCCESS; FAIL (无法入组) or CHECK_FAILED (信息校验不通过) with 0000/00/0000.
    """
    if out is None and not explain:
        err.print("[red]需要 --out 或 --explain / give --out or --explain[/red]")
        raise typer.Exit(2)
    if not input.is_file():
        err.print(f"[red]找不到输入文件 / input not found: {input}[/red]")
        raise typer.Exit(1)
    sch = _load(scheme)
    try:
        grouper = DrgGrouper(sch, translate=translate)
    except SchemeError as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(1) from None

    try:
        if explain:
            wanted = set(explain)
            found = set()
            for _, record in iter_records(input):
                if record.id in wanted:
                    found.add(record.id)
                    result = grouper.group(record, explain=True)
                    out_console.rule(f"{record.id}: {result.status.value} {result.mdc}/{result.adrg}/{result.drg}")
                    for i, note in enumerate(result.trail, 1):
                        out_console.print(f"{i:>2}. {note.zh}", highlight=False, markup=False)
                        out_console.print(f"    [dim]{escape(note.en)}[/dim]", highlight=False)
            for missing in sorted(wanted - found):
                err.print(f"[yellow]没有 id 为 {missing} 的病案 / no record with id {missing}[/yellow]")
            if wanted - found and out is None:
                raise typer.Exit(1)
        if out is not None:
            started = time.perf_counter()
            size = input.stat().st_size
            with Progress(TextColumn("[bold]DRG 分组[/bold]"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
                          TimeRemainingColumn(), console=err, transient=True,
                          disable=size < 4_000_000) as progress:
                task = progress.add_task("group", total=size)
                summary = group_csv(input, out, grouper, jobs=jobs,
                                    on_progress=lambda done, total: progress.update(task, completed=done))
            elapsed = time.perf_counter() - started
            table = Table(title=f"{input.name} → {out}", show_header=True)
            table.add_column("status")
            table.add_column("病案数 records", justify="right")
            table.add_column("%", justify="right")
            for status in sorted(summary.counts):
                n = summary.counts[status]
                table.add_row(status, f"{n:,}", f"{100 * n / max(summary.records, 1):.2f}")
            err.print(table)
            rate = summary.records / elapsed if elapsed > 0 else 0
            err.print(f"{summary.records:,} 条病案，用时 {elapsed:.2f} 秒（{rate:,.0f} 条/秒，{summary.jobs} 个进程）")
    except InputError as exc:
        err.print(f"[red]输入有误 / bad input[/red] {input}: {exc}", highlight=False)
        raise typer.Exit(1) from None


@app.command("check")
def check_command(
    scheme: str = typer.Argument(..., help="分组方案目录，或 demo"),
) -> None:
    """检查分组方案表并汇总 / check a scheme folder and summarise it.

    Example: yibao drg check /data/chs-drg-1.1
    """
    sch = _load(scheme)
    n_codes = sum(len(m.codes) for m in sch.mdcs)
    out_console.print(
        f"{sch.path}: {len(sch.mdcs)} MDC, {len(sch.adrgs)} ADRG, {len(sch.drgs)} DRG, "
        f"{n_codes:,} 主诊表编码, {len(sch.mcc):,} MCC, {len(sch.cc):,} CC, "
        f"{len(sch.cce):,} 排除表主诊断, {len(sch.or_procedures):,} 手术室手术", highlight=False)
    for w in sch.warnings:
        out_console.print(f"[yellow]提示[/yellow] {w}", highlight=False)
    out_console.print("[green]方案表检查通过 / scheme OK[/green]")
