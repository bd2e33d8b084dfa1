"""``yibao dip``: build the local DIP catalogue and clear a year (按病种分值付费)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from yibao.grouping.cases import CaseFileError
from yibao.grouping.dip import Catalogue, DipParams, build_catalogue, clear_year
from yibao.grouping.params import ParamError

app = typer.Typer(
    help=(
        "DIP 按病种分值付费：由历史病例建本地病种目录，按预算定点值并年终清算。\n\n"
        "Example: yibao dip build cases.parquet --years 2021-2023 --out catalogue/ && "
        "yibao dip clear cases.parquet --catalogue catalogue/ --budget 1200000000 --year 2024 --out clear2024/"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
err = Console(stderr=True)


@app.callback()
def _root() -> None:
    """DIP 按病种分值付费 / DIP (Diagnosis-Intervention Packet) payment."""


def _years(text: str) -> list[int]:
    try:
        if "-" in text:
            a, b = text.split("-", 1)
            ys = list(range(int(a), int(b) + 1))
        else:
            ys = [int(x) for x in text.split(",")]
    except ValueError:
        raise typer.BadParameter(f"年度写法 {text!r} 无效，如 2021-2023") from None
    if not ys:
        raise typer.BadParameter("至少一个年度")
    return ys


def _params(path: Path | None, year: int) -> DipParams:
    try:
        return DipParams.load(path, dt.date(year, 12, 31))
    except (ParamError, ValueError, OSError) as exc:
        err.print(f"[red]参数文件有误 / parameter error[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _spinner():
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True)


@app.command("build")
def build_command(
    cases: Path = typer.Argument(..., help="病例文件 CSV 或 Parquet（国家字段名，见 docs/payment.md）"),
    years: str = typer.Option(..., "--years", help="目录测算年度，如 2021-2023（与年度权重 1:2:7 对应）"),
    out: Path = typer.Option(..., "--out", help="病种目录输出目录（groups.csv, catalogue.yaml）"),
    params: Path | None = typer.Option(None, "--params", help="DIP 参数 YAML（默认内置 qingyuan-dip）"),
) -> None:
    """由前几年病例建本地病种目录（核心病种 + 综合病种，分值）/ build the local catalogue.

    Example: yibao dip build cases.parquet --years 2021-2023 --out catalogue/
    """
    ys = _years(years)
    p = _params(params, max(ys))
    started = time.perf_counter()
    try:
        with _spinner() as progress:
            progress.add_task("建病种目录 / building the catalogue", total=None)
            cat = build_catalogue(cases, ys, p)
            cat.write(out)
    except (CaseFileError, ValueError) as exc:
        err.print(f"[red]无法建目录 / cannot build[/red] {cases}: {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    core = sum(1 for g in cat.groups.values() if g.kind == "core")
    core_cases = sum(g.n_cases for g in cat.groups.values() if g.kind == "core")
    err.print(
        f"{out}: {len(cat.groups):,} 个病种（核心 {core:,}，覆盖病例 {core_cases / max(cat.n_cases, 1):.1%}），"
        f"{cat.n_cases:,} 个病例，全部病例加权次均费用 {float(cat.overall_mean) / 100:,.2f} 元 = {cat.base_score} 分；"
        f"用时 {time.perf_counter() - started:.1f} 秒", highlight=False, soft_wrap=True)


@app.command("clear")
def clear_command(
    cases: Path = typer.Argument(..., help="病例文件 CSV 或 Parquet"),
    catalogue: Path = typer.Option(..., "--catalogue", help="yibao dip build 的输出目录"),
    budget: str = typer.Option(..., "--budget", help="年度 DIP 预算（元）"),
    year: int = typer.Option(..., "--year", help="清算年度"),
    out: Path = typer.Option(..., "--out", help="输出目录"),
    params: Path | None = typer.Option(None, "--params", help="DIP 参数 YAML（默认内置 qingyuan-dip）"),
) -> None:
    """按预算定点值，月度预结算与年终清算 / point value, monthly pre-settlement, year-end clearing.

    Writes cases.csv (group, points, amount per case), hospitals.csv, monthly.csv,
    special_review.csv, summary.md and statements/<hospital>.md.

    Example: yibao dip clear cases.parquet --catalogue catalogue/ --budget 1200000000 --year 2024 --out clear2024/
    """
    from yibao.money import MoneyError, yuan_to_fen

    try:
        budget_fen = yuan_to_fen(budget.replace(",", ""), field="budget")
    except MoneyError as exc:
        err.print(f"[red]预算金额有误 / bad budget[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    p = _params(params, year)
    started = time.perf_counter()
    try:
        cat = Catalogue.read(catalogue)
    except (OSError, ValueError, KeyError) as exc:
        err.print(f"[red]病种目录有误 / bad catalogue[/red] {catalogue}: {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    try:
        with _spinner() as progress:
            task = progress.add_task("清算 / clearing", total=None)
            result = clear_year(cases, cat, year, budget_fen, p, out=out,
                                progress=lambda s: progress.update(task, description=s))
    except (CaseFileError, ValueError) as exc:
        err.print(f"[red]无法清算 / cannot clear[/red] {cases}: {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    err.print((out / "summary.md").read_text(encoding="utf-8"), highlight=False, markup=False, soft_wrap=True)
    err.print(f"{len(result.hospitals):,} 家医疗机构结算单已写入 {out / 'statements'}；用时 {time.perf_counter() - started:.1f} 秒",
              highlight=False, soft_wrap=True)
