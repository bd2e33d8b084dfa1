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
        err.print(f"[red]分组方案有误 / scheme error[/red]\n{exc}", markup=True, highlight=False, soft_wrap=True)
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
    encoding: str = typer.Option("utf-8", "--encoding", help="输入文件编码，如 utf-8、gbk"),
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
        err.print(f"[red]{exc}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None

    try:
        if explain:
            wanted = set(explain)
            found = set()
            for _, record in iter_records(input, encoding):
                if record.id in wanted:
                    found.add(record.id)
                    result = grouper.group(record, explain=True)
                    out_console.rule(f"{record.id}: {result.status.value} {result.mdc}/{result.adrg}/{result.drg}")
                    for i, note in enumerate(result.trail, 1):
                        out_console.print(f"{i:>2}. {note.zh}", highlight=False, markup=False, soft_wrap=True)
                        out_console.print(f"    [dim]{escape(note.en)}[/dim]", highlight=False, soft_wrap=True)
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
                summary = group_csv(input, out, grouper, jobs=jobs, encoding=encoding,
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
        err.print(f"[red]输入有误 / bad input[/red] {input}: {exc}", highlight=False, soft_wrap=True)
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
        f"{len(sch.cce):,} 排除表主诊断, {len(sch.or_procedures):,} 手术室手术", highlight=False, soft_wrap=True)
    for w in sch.warnings:
        out_console.print(f"[yellow]提示[/yellow] {w}", highlight=False, soft_wrap=True)
    out_console.print("[green]方案表检查通过 / scheme OK[/green]")


def _years(text: str) -> list[int]:
    """``2022-2024`` or ``2022,2023`` or ``2024``."""
    try:
        if "-" in text:
            a, b = text.split("-", 1)
            return list(range(int(a), int(b) + 1))
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise typer.BadParameter(f"年度写法 {text!r} 无效，如 2022-2024") from None


def _money_fen(text: str) -> int:
    from yibao.money import MoneyError, yuan_to_fen

    try:
        return yuan_to_fen(text.replace(",", ""), field="budget")
    except MoneyError as exc:
        raise typer.BadParameter(str(exc)) from None


def _pay_params(params: Path | None, year: int):
    import datetime as dt

    from yibao.grouping.drg_payment import DrgPayParams
    from yibao.grouping.params import ParamError, bundled, load_params

    try:
        ps = load_params(params or bundled("meishan-drg"))
        return ps, DrgPayParams.from_params(ps, dt.date(year, 12, 31))
    except (ParamError, ValueError) as exc:
        err.print(f"[red]参数文件有误 / parameter error[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _load_cases(cases: Path, scheme: str | None, years, level_map):
    from yibao.grouping.cases import CaseFileError
    from yibao.grouping.drg_payment import load_pay_cases

    grouper = DrgGrouper(_load(scheme)) if scheme else None
    try:
        with Progress(TextColumn("[bold]读取并分组 / reading and grouping[/bold]"), BarColumn(),
                      TextColumn("{task.completed:,.0f}"), console=err, transient=True) as progress:
            task = progress.add_task("load", total=None)
            return load_pay_cases(cases, grouper=grouper, years=years, level_map=level_map,
                                  progress=lambda done, total: progress.update(task, completed=done, total=total))
    except (CaseFileError, ValueError) as exc:
        err.print(f"[red]病例文件有误 / bad case file[/red] {cases}: {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


@app.command("weights")
def weights_command(
    cases: Path = typer.Argument(..., help="病例文件（CSV 或 Parquet，国家字段名，见 docs/payment.md）"),
    years: str = typer.Option(..., "--years", help="用哪些年度测算，如 2022-2023"),
    out: Path = typer.Option(..., "--out", help="权重表 CSV"),
    scheme: str | None = typer.Option(None, "--scheme", help="分组方案目录（病例无 drg_code 时用于分组）"),
    params: Path | None = typer.Option(None, "--params", help="付费参数 YAML（默认内置 meishan-drg）"),
) -> None:
    """由本地历史病例测算 DRG 相对权重 / relative weights from the region's own case history.

    RW = 该 DRG 次均费用 / 全部病例次均费用，先剔除异常值（参数 weight_trim）。

    Example: yibao drg weights cases.parquet --scheme /data/chs-drg-1.1 --years 2022-2023 --out weights.csv
    """
    from yibao.grouping.drg_payment import Trim, compute_weights

    ys = _years(years)
    ps, p = _pay_params(params, max(ys))
    import datetime as dt

    day = dt.date(max(ys), 12, 31)
    trim = Trim.parse(str(ps.get("weight_trim", day)) if ps.has("weight_trim") else "log3sd",
                      int(ps.get("weight_trim_min_cases", day)) if ps.has("weight_trim_min_cases") else 10)
    history = _load_cases(cases, scheme, ys, p.level_map)
    try:
        table = compute_weights(history, trim)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    table.write_csv(out)
    err.print(f"{len(table.rows)} 个 DRG 的权重已写入 {out}（{table.n_used:,}/{table.n_cases:,} 个入组病例参与测算；"
              f"剔除规则：{trim.describe()}）", highlight=False, soft_wrap=True)


@app.command("pay")
def pay_command(
    cases: Path = typer.Argument(..., help="病例文件（CSV 或 Parquet）"),
    weights: Path = typer.Option(..., "--weights", help="权重表 CSV（yibao drg weights 的输出）"),
    year: int = typer.Option(..., "--year", help="结算年度"),
    out: Path = typer.Option(..., "--out", help="输出目录"),
    budget: str | None = typer.Option(None, "--budget", help="年度预算（元），点数法必填"),
    scheme: str | None = typer.Option(None, "--scheme", help="分组方案目录（病例无 drg_code 时用于分组）"),
    params: Path | None = typer.Option(None, "--params", help="付费参数 YAML（默认内置 meishan-drg）"),
    history: Path | None = typer.Option(None, "--history", help="测算年度病例（level_mode: computed 时用）"),
) -> None:
    """按 DRG 点数法/费率法结算一年病例 / pay a year's cases by DRG (point or rate method).

    Writes cases.csv, hospitals.csv (CMI, cost and time per weight, gains/losses), drgs.csv and
    summary.md (grouping rate, coverage, point value).

    Example: yibao drg pay cases.csv --scheme /data/chs-drg-1.1 --weights weights.csv --year 2024 --budget 800000000 --out pay2024/
    """
    from yibao.grouping.drg_payment import WeightTable, pay, write_reports

    _, p = _pay_params(params, year)
    try:
        table = WeightTable.read_csv(weights)
    except (OSError, ValueError) as exc:
        err.print(f"[red]权重表有误 / bad weights file[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    year_cases = _load_cases(cases, scheme, [year], p.level_map)
    hist = _load_cases(history, scheme, None, p.level_map) if history else ()
    try:
        result = pay(year_cases, table, p, budget=_money_fen(budget) if budget else None, history=hist)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    write_reports(result, out)
    err.print((out / "summary.md").read_text(encoding="utf-8"), highlight=False, markup=False, soft_wrap=True)
