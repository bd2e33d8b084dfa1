"""``yibao fund``: contributions, the fund ledger, indicators, the monthly report, projections."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Optional

import typer

app = typer.Typer(
    name="fund",
    help=(
        "基金运行：征缴（由参保登记推算）、复式记账、收支结余与可支付月数、指标、月报、预警、预测。\n\n"
        "Example: yibao fund contributions --year 2024 && yibao fund post && yibao fund report --month 2024-06 --out out/"
    ),
    no_args_is_help=True,
    add_completion=False,
)

DB = typer.Option(None, "--database-url", help="数据库（默认 YIBAO_DATABASE_URL 或本地 SQLite）")
PARAMS = typer.Option(None, "--params", help="参数目录（contributions*.yaml / fund*.yaml / warnings*.yaml；缺省用青衣市演示参数）")
JSON = typer.Option(False, "--json", help="输出 JSON")


def _engine(url: Optional[str]):
    from yibao.storage import db

    engine = db.make_engine(url)
    db.create_all(engine)
    return engine


def _params(folder: Optional[Path]):
    from .params import ParamError, load

    try:
        return load(folder)
    except ParamError as exc:
        typer.echo(f"参数错误: {exc}", err=True)
        raise typer.Exit(2) from exc


def _dump(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _month(text: str) -> tuple[int, int]:
    try:
        d = dt.datetime.strptime(text, "%Y-%m")
    except ValueError:
        raise typer.BadParameter(f"月份应写成 YYYY-MM，实际为 {text!r}") from None
    return d.year, d.month


def _console():
    from rich.console import Console

    return Console()


@app.command("post")
def post_command(database_url: Optional[str] = DB, params: Optional[Path] = PARAMS, rebuild: bool = typer.Option(False, "--rebuild", help="重算所有月份的汇总"),
                 as_json: bool = JSON) -> None:
    """记账：把尚未记账的结算、撤销、冲正和期初结余记入账簿，并更新月度汇总（重复运行不重复记账）.
    Example: yibao fund post"""
    from .ledger import post

    engine = _engine(database_url)
    with engine.begin() as conn:
        report = post(conn, _params(params), rebuild=rebuild)
    data = report.as_dict()
    if as_json:
        _dump(data)
        return
    typer.echo(f"记账完成：结算 {report.settlements:,} 笔，冲正 {report.voids:,} 笔，凭证行 {report.rows:,}，"
               f"更新月份 {', '.join(report.periods) or '无'}（{report.seconds:.1f} 秒）")
    for fund, fen in report.opening.items():
        typer.echo(f"  期初结余 {fund}: {fen / 100:,.2f} 元")
    for note in report.notes:
        typer.echo(f"  注意: {note}")


@app.command("contributions")
def contributions_command(year: int = typer.Option(..., "--year", help="年度"), database_url: Optional[str] = DB,
                          params: Optional[Path] = PARAMS, as_json: bool = JSON) -> None:
    """征缴：由参保登记推算本年度缴费（职工按月、居民按年），记入账簿（重复运行只记差额）.
    Example: yibao fund contributions --year 2024"""
    from .contributions import post_contributions

    engine = _engine(database_url)
    with engine.begin() as conn:
        report = post_contributions(conn, year, _params(params))
    data = report.as_dict()
    if as_json:
        _dump(data)
        return
    from rich.table import Table

    table = Table(title=f"{year}年征缴（由参保登记推算）")
    for col in ("项目", "人·期", "金额（元）"):
        table.add_column(col, justify="right" if col != "项目" else "left")
    for row in data["by_item"]:
        table.add_row(row["item_name"], f"{row['head_periods']:,}", f"{float(row['amount']):,.2f}")
    _console().print(table)
    typer.echo(f"凭证行 {report.journal_rows:,}（调整 {report.adjusted:,}）；汇总行 {report.rows:,}")


@app.command("balances")
def balances_command(month: str = typer.Option(..., "--month", help="YYYY-MM"), database_url: Optional[str] = DB,
                     as_json: bool = JSON) -> None:
    """各基金收支、当期结余、累计结余和可支付月数.  Example: yibao fund balances --month 2024-06"""
    from .api import balances

    y, m = _month(month)
    engine = _engine(database_url)
    with engine.connect() as conn:
        data = balances(conn, y, m)
    if as_json:
        _dump(data)
        return
    from rich.table import Table

    table = Table(title=f"基金收支结余（{data['period']}，万元）")
    for col in ("基金", "本年收入", "本年支出", "当期结余", "累计结余", "可支付月数"):
        table.add_column(col, justify="left" if col == "基金" else "right")
    for row in data["funds"] + data["schemes"]:
        mor = row["months_of_reserve"]
        table.add_row(row["name"], *(f"{float(row[k]) / 1e4:,.2f}" for k in ("income_ytd", "spending_ytd", "surplus_ytd", "balance")),
                      "—" if mor is None else f"{mor:.1f}")
    _console().print(table)


@app.command("trial-balance")
def trial_balance_command(database_url: Optional[str] = DB, as_json: bool = JSON) -> None:
    """试算平衡：借方合计 = 贷方合计，每个基金 存款 − 应付 = 期初 + 收入 − 支出.  Example: yibao fund trial-balance"""
    from .api import trial_balance

    engine = _engine(database_url)
    with engine.connect() as conn:
        data = trial_balance(conn)
    if as_json:
        _dump(data)
    else:
        typer.echo(f"借方合计 {data['debits']} 元，贷方合计 {data['credits']} 元，差额 {data['difference']} 元；"
                   f"{'平衡' if data['balanced'] else '不平衡'}")
    if not data["balanced"]:
        raise typer.Exit(1)


@app.command("kpi")
def kpi_command(year: int = typer.Option(..., "--year"), month: Optional[int] = typer.Option(None, "--month", help="截至月份（默认有数据的最后一月）"),
                database_url: Optional[str] = DB, params: Optional[Path] = PARAMS,
                region: Optional[Path] = typer.Option(None, "--region", help="合成区域目录（读取 admdvs.parquet 的人口）"),
                population: Optional[int] = typer.Option(None, "--population", help="常住人口（参保率分母）"),
                as_json: bool = JSON) -> None:
    """指标：由数据计算清远“十四五”规划指标及其他常用指标，无数据的说明原因.  Example: yibao fund kpi --year 2024 --json"""
    from .indicators import compute, population_from_region

    if month is not None and not 1 <= month <= 12:
        raise typer.BadParameter(f"--month 应为 1–12，实际为 {month}")
    source = "--population" if population else ""
    if population is None and region is not None:
        population, source = population_from_region(region)
    engine = _engine(database_url)
    with engine.connect() as conn:
        data = compute(conn, year, month, params=_params(params), population=population, population_source=source)
    if as_json:
        _dump(data)
        return
    from rich.table import Table

    table = Table(title=f"{year}年指标（{data['period_from']}至{data['period_to']}）", show_lines=False)
    for col in ("类别", "指标", "数值", "目标（对照）", "说明"):
        table.add_column(col)
    for item in data["indicators"]:
        shown = item["display"] if item["display"] is not None else str(item["value"])
        extra = "；".join(f"{b['label']} {b.get('display', '')}".strip() for b in item["breakdown"] if "display" in b)
        table.add_row(item["category"], item["name"], shown, item["target"] or "", (extra + ("；" if extra and item["note"] else "") + item["note"])[:160])
    _console().print(table)


@app.command("dashboard")
def dashboard_command(month: str = typer.Option(..., "--month", help="YYYY-MM"), database_url: Optional[str] = DB,
                      params: Optional[Path] = PARAMS) -> None:
    """控制台首页数据（JSON）：余额、可支付月数、关键指标、预警、增长分解.  Example: yibao fund dashboard --month 2024-06"""
    from .api import dashboard

    y, m = _month(month)
    engine = _engine(database_url)
    with engine.connect() as conn:
        _dump(dashboard(conn, y, m, params=_params(params)))


@app.command("report")
def report_command(month: str = typer.Option(..., "--month", help="YYYY-MM"), out: Path = typer.Option(Path("."), "--out", help="输出目录"),
                   database_url: Optional[str] = DB, params: Optional[Path] = PARAMS,
                   region: Optional[Path] = typer.Option(None, "--region", help="合成区域目录（人口）"),
                   pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="同时生成 PDF")) -> None:
    """月报：HTML 与 PDF（图表、增长分解、医院与病种排行、预警）.  Example: yibao fund report --month 2024-06 --out reports/"""
    from .indicators import population_from_region
    from .report import write_report

    y, m = _month(month)
    population, source = (population_from_region(region) if region is not None else (None, ""))
    engine = _engine(database_url)
    with engine.connect() as conn:
        files = write_report(conn, y, m, out, params=_params(params), pdf=pdf, population=population, population_source=source)
    for f in files:
        typer.echo(f"已写出 {f}")


@app.command("project")
def project_command(years: int = typer.Option(5, "--years", help="预测年数"),
                    assume: list[str] = typer.Option([], "--assume", help="假设 key=value，可重复，如 --assume cost_growth=0.06"),
                    whatif: list[str] = typer.Option([], "--whatif", help="政策变动：参数路径=值（或 +增量），可重复，如 schemes.390.basic.benefits.inpatient.ratio.level3=0.70"),
                    sample: int = typer.Option(2000, "--sample", help="what-if 抽样人数"),
                    seed: int = typer.Option(1, "--seed"),
                    database_url: Optional[str] = DB, params: Optional[Path] = PARAMS, as_json: bool = JSON) -> None:
    """五年预测（收入、支出、结余，假设列在结果旁），以及政策变动的模拟.
    Example: yibao fund project --years 5 --assume cost_growth=0.06 --whatif schemes.390.basic.benefits.inpatient.ratio.level3=+0.05"""
    from .projection import parse_assumptions, project, render_text, whatif as run_whatif

    engine = _engine(database_url)
    try:
        assumed = parse_assumptions(assume)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    with engine.connect() as conn:
        data = project(conn, years, assumed, params=_params(params))
        if whatif:
            changes = {}
            for w in whatif:
                if "=" not in w:
                    raise typer.BadParameter(f"--whatif 需写成 路径=值: {w}")
                k, v = w.split("=", 1)
                changes[k.strip()] = v.strip()
            data["whatif"] = run_whatif(conn, changes, sample=sample, seed=seed)
    if as_json:
        _dump(data)
    else:
        typer.echo(render_text(data))


@app.command("import-grouping")
def import_grouping_command(path: Path = typer.Argument(..., help="yibao drg pay / yibao dip clear 的输出目录或 cases.csv"),
                            method: str = typer.Option(..., "--method", help="drg 或 dip"), database_url: Optional[str] = DB) -> None:
    """导入 DRG/DIP 付费结果（哪些结算按病组/病种付费），用于“DRG/DIP 付费住院费用占比”.
    Example: yibao fund import-grouping clear2024/ --method dip"""
    from .indicators import import_grouping

    engine = _engine(database_url)
    with engine.begin() as conn:
        n = import_grouping(conn, path, method)
    typer.echo(f"已导入 {n['cases']:,} 例，其中按病组/病种付费 {n['paid_by_group']:,} 例")


@app.command("recovery")
def recovery_command(fund: str = typer.Option(..., "--fund", help="基金 fund_pay_type，如 390100"),
                     amount: str = typer.Option(..., "--amount", help="追回金额（元）"),
                     on: str = typer.Option(..., "--date", help="YYYY-MM-DD"), ref: str = typer.Option(..., "--ref", help="稽核案件号"),
                     penalty: str = typer.Option("0", "--penalty", help="违约金（元）"),
                     fixmedins_code: Optional[str] = typer.Option(None, "--fixmedins-code"), database_url: Optional[str] = DB) -> None:
    """记账：追回违规基金与违约金（同一案件号只记一次）.  Example: yibao fund recovery --fund 390100 --amount 12000 --penalty 3600 --date 2024-06-30 --ref JC2024-017"""
    from yibao.money import yuan_to_fen

    from .ledger import post_recovery

    engine = _engine(database_url)
    with engine.begin() as conn:
        n = post_recovery(conn, fund, yuan_to_fen(amount), dt.date.fromisoformat(on), ref, penalty=yuan_to_fen(penalty),
                          fixmedins_code=fixmedins_code)
    typer.echo(f"记账 {n} 行" if n else f"案件 {ref} 已记账，未重复记账")


@app.command("clearing")
def clearing_command(csv_path: Path = typer.Argument(..., help="CSV：fixmedins_code,fund_pay_type,amount[,memo]（元，负数为扣回）"),
                     on: str = typer.Option(..., "--date", help="YYYY-MM-DD"), ref: str = typer.Option(..., "--ref", help="清算批次，如 dip-2024"),
                     database_url: Optional[str] = DB) -> None:
    """记账：DRG/DIP 年度清算调整（按机构、基金；同一批次只记一次）.  Example: yibao fund clearing adjust.csv --date 2025-03-31 --ref dip-2024"""
    import csv

    from yibao.money import yuan_to_fen

    from .ledger import post_clearing

    engine = _engine(database_url)
    total = rows = 0
    with engine.begin() as conn, open(csv_path, encoding="utf-8", newline="") as fh:
        for rec in csv.DictReader(fh):
            fen = yuan_to_fen(rec["amount"])
            rows += post_clearing(conn, rec["fund_pay_type"], fen, dt.date.fromisoformat(on), f"{ref}:{rec['fixmedins_code']}:{rec['fund_pay_type']}",
                                  fixmedins_code=rec["fixmedins_code"], memo=rec.get("memo") or "")
            total += fen
    typer.echo(f"记账 {rows} 行，调整合计 {total / 100:,.2f} 元")
