"""``yibao settle``: settle the encounters of a scenario file, or show a stored settlement,
with the explanation a policy officer can follow."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

FIELDS = [
    ("medfee_sumamt", "医疗费总额"), ("fulamt_ownpay_amt", "全自费"), ("overlmt_selfpay", "超限价自费"),
    ("preselfpay_amt", "先行自付"), ("inscp_scp_amt", "政策范围内"), ("act_pay_dedc", "起付线"),
    ("pool_prop_selfpay", "统筹支付比例"), ("hifp_pay", "统筹基金"), ("hifmi_pay", "大病保险"),
    ("hifob_pay", "大额补助"), ("cvlserv_pay", "公务员补助"), ("maf_pay", "医疗救助"),
    ("fund_pay_sumamt", "基金支付合计"), ("psn_part_amt", "个人负担"), ("acct_pay", "个人账户"),
    ("psn_cash_pay", "个人现金"),
]


def settle_command(
    file: Optional[Path] = typer.Argument(None, help="A scenario file whose settle/presettle events to run.", exists=True, dir_okay=False),
    explain: bool = typer.Option(False, "--explain", help="Print the step-by-step explanation of each settlement."),
    setl_id: Optional[str] = typer.Option(None, "--setl-id", help="Show a stored settlement instead (from the database)."),
    database_url: Optional[str] = typer.Option(None, "--database-url", help="Database for --setl-id (default: YIBAO_DATABASE_URL or ./yibao-data)."),
) -> None:
    """Settle the encounters of FILE (a scenario) and show how each bill was split.

    Example: yibao settle examples/scenarios/meishan_example.yaml --explain
             yibao settle --setl-id S2026… --explain
    """
    console = Console()
    if setl_id:
        _show_stored(console, setl_id, database_url, explain)
        return
    if file is None:
        console.print("[red]请给出场景文件，或用 --setl-id 查看已保存的结算。[/red] 例: yibao settle examples/scenarios/meishan_example.yaml --explain")
        raise typer.Exit(2)
    from yibao.scenario import ScenarioFileError, ScenarioRunner, load

    try:
        scenario = load(file)
    except ScenarioFileError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    runner = ScenarioRunner()
    report = runner.run(scenario)
    if report.error:
        console.print(f"[red]{report.error}[/red]")
        raise typer.Exit(1)
    for event in report.events:
        title = f"{event.event.label}  {'→'.join(event.calls)}"
        response = event.response
        if response.get("infcode") != 0:
            console.print(f"[bold]{title}[/bold]\n  [red]拒绝: {response.get('err_msg')}[/red]")
            continue
        info = response["output"].get("setlinfo", {})
        _print_setlinfo(console, title, info)
        if explain and event.event.kind != "reverse":
            _print_explanation(console, runner, info.get("setl_id"), response["output"].get("setldetail", []))


def _print_setlinfo(console: Console, title: str, info: dict) -> None:
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("字段")
    table.add_column("名称")
    table.add_column("金额", justify="right")
    for key, name in FIELDS:
        if key in info:
            table.add_row(key, name, str(info[key]))
    console.print(table)


def _print_explanation(console: Console, runner, setl_id: str | None, detail: list) -> None:
    from sqlalchemy import select

    from yibao.storage import schema as s

    if setl_id:
        with runner.engine.connect() as conn:
            trace = conn.execute(select(s.settlements.c.trace).where(s.settlements.c.setl_id == setl_id)).scalar()
        for step in (trace or "").splitlines():
            console.print(f"  • {step}")
    else:
        for row in detail:
            console.print(f"  • {row['fund_pay_type']} {row.get('fund_pay_type_name', '')}: {row.get('setl_proc_info', '')}")


def _show_stored(console: Console, setl_id: str, database_url: str | None, explain: bool) -> None:
    from sqlalchemy import select

    from yibao.money import fen_to_yuan
    from yibao.storage import db
    from yibao.storage import schema as s

    engine = db.make_engine(database_url)
    with engine.connect() as conn:
        row = conn.execute(select(s.settlements).where(s.settlements.c.setl_id == setl_id)).first()
        funds = conn.execute(select(s.settlement_funds).where(s.settlement_funds.c.setl_id == setl_id)).fetchall()
    if row is None:
        console.print(f"[red]没有结算ID为 {setl_id} 的结算记录[/red]（数据库 {engine.url.render_as_string()}）")
        raise typer.Exit(1)
    info = {k: (fen_to_yuan(v) if isinstance(v, int) and k not in ("setl_year", "admissions_counted") else v) for k, v in row._mapping.items()}
    _print_setlinfo(console, f"结算 {setl_id}（{row.status}）", info)
    if explain:
        for step in (row.trace or "").splitlines():
            console.print(f"  • {step}")
        for f in funds:
            console.print(f"  [dim]{f.fund_pay_type}: {f.setl_proc_info}[/dim]")
