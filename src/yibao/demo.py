"""``yibao demo``: the main job. Runs the platform end to end on the embedded default (SQLite
and DuckDB files in ./yibao-data) and prints what it did.

1. the settlement scenarios (hand-worked figures) through the national interface;
2. a synthetic region (about 20,000 persons, one year) generated and loaded into the registry;
3. its year of claims settled through the bulk channel, with a sample through the interface;
then (as those capabilities land) audit, DRG/DIP payment, fund reports and the console.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

REPO = Path(__file__).resolve().parents[2]


def _scenario_files() -> list[Path]:
    return sorted((REPO / "examples" / "scenarios").glob("*.yaml")) + sorted((REPO / "tests" / "scenarios").glob("*.yaml"))


def step_scenarios(console: Console, data_dir: Path) -> None:
    from yibao.scenario import ScenarioRunner, load
    from yibao.storage import db

    files = _scenario_files()
    if not files:
        console.print("[yellow]没有找到场景文件（examples/scenarios），跳过。[/yellow]")
        return
    runner = ScenarioRunner(db.make_engine(f"sqlite:///{data_dir / 'scenarios.sqlite'}"))
    by_policy: dict[str, list[int]] = {}
    failed = []
    events = 0
    with _progress(console) as progress:
        task = progress.add_task("结算场景 scenarios", total=len(files))
        for path in files:
            scenario = load(path)
            report = runner.run(scenario)
            events += len(report.events)
            counts = by_policy.setdefault(scenario.policy, [0, 0])
            counts[0] += 1
            counts[1] += report.ok
            if not report.ok:
                failed.append((path.name, report.error or "; ".join(m for e in report.events for m in e.mismatches)))
            progress.advance(task)
    table = Table(title="1. 结算场景（每个数字都由政策原文手工计算）")
    table.add_column("政策 policy")
    table.add_column("场景", justify="right")
    table.add_column("通过", justify="right")
    for policy, (n, ok) in sorted(by_policy.items()):
        table.add_row(policy, str(n), f"{ok}/{n}")
    console.print(table)
    console.print(f"   {len(files) - len(failed)}/{len(files)} scenario files, {events} events, passed.")
    for name, why in failed:
        console.print(f"   [red]✗ {name}: {why}[/red]")
    if failed:
        raise typer.Exit(1)


def step_region(console: Console, data_dir: Path, persons: int, seed: int) -> Path:
    from yibao.synth import generate

    region = data_dir / "region"
    started = time.perf_counter()
    with console.status(f"2. 生成合成区域：{persons:,} 参保人，种子 {seed} …"):
        manifest = generate(persons=persons, seed=seed, out=region, progress=False)
    rows = manifest.get("row_counts", {})
    console.print(
        f"2. 合成区域 [bold]{region}[/bold]（{time.perf_counter() - started:.1f} s）："
        f"参保人 {rows.get('persons', 0):,}，机构 {rows.get('institutions', 0):,}，目录 {rows.get('catalogue', 0):,}，"
        f"就诊 {rows.get('encounters', 0):,}，费用明细 {rows.get('fee_lines', 0):,}，违规标注 {rows.get('labels', 0):,}"
    )
    return region


def step_settle(console: Console, region: Path, url: str) -> None:
    from sqlalchemy import text

    from yibao.interface.bulk import BulkSettler
    from yibao.registry.store import import_policy
    from yibao.policy import PolicyLibrary
    from yibao.storage import db
    from yibao.synth.claims import count, iter_claims
    from yibao.synth.load import load

    engine = db.make_engine(url)
    db.create_all(engine)
    with console.status("3. 载入参保登记、定点机构、医保目录 …"):
        loaded = load(region, url, claims=False, replace=True)
        with engine.begin() as conn:
            for policy in PolicyLibrary.shipped().all():
                import_policy(conn, policy)
    console.print(
        f"3. 已载入：参保人 {loaded.get('persons', 0):,}，机构 {loaded.get('institutions', 0):,}，"
        f"目录 {loaded.get('catalogue', 0):,}，救助身份 {loaded.get('identities', 0):,}；政策 {len(PolicyLibrary.shipped().ids())} 个"
    )
    total = count(region)
    started = time.perf_counter()
    with _progress(console) as progress:
        task = progress.add_task("4. 结算全年就诊 settling the year", total=total)
        report = BulkSettler(engine).settle(iter_claims(region), progress=lambda n: progress.advance(task, n))
    elapsed = time.perf_counter() - started
    console.print(
        f"4. 结算 {report.settled:,} 笔（{report.settled / elapsed:,.0f} 笔/秒），拒绝 {len(report.refused):,}，"
        f"医疗费 {report.medfee_sumamt / 100:,.2f} 元，基金支付 {report.fund_pay_sumamt / 100:,.2f} 元"
    )
    table = Table(title="结算汇总（按险种 × 医疗类别；金额单位：万元）")
    for column in ("险种", "类别", "笔数", "医疗费", "统筹", "大病大额", "救助", "账户", "基金占比"):
        table.add_column(column, justify="right")
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT insutype, med_type, count(*), sum(medfee_sumamt), sum(hifp_pay), sum(hifmi_pay + hifob_pay),"
            " sum(maf_pay), sum(acct_pay), sum(fund_pay_sumamt) FROM settlements WHERE status = 'settled'"
            " GROUP BY insutype, med_type ORDER BY insutype, med_type"
        )).fetchall()
    names = {"11": "普通门诊", "13": "急诊", "14": "门诊慢特病", "21": "住院", "41": "药店购药"}
    for insutype, med_type, n, medfee, hifp, big, maf, acct, fund in rows:
        share = f"{fund / medfee:.1%}" if medfee else "—"
        table.add_row(
            {"310": "职工", "390": "居民"}.get(insutype, insutype), names.get(med_type, med_type), f"{n:,}",
            *(f"{v / 1_000_000:,.1f}" for v in (medfee, hifp, big, maf, acct)), share,
        )
    console.print(table)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False,
    )


def demo_command(
    data_dir: Path = typer.Option(Path("yibao-data"), "--data-dir", help="Where the SQLite and DuckDB files go (replaced on every run)."),
    persons: int = typer.Option(20_000, "--persons", help="Size of the synthetic region."),
    seed: int = typer.Option(1, "--seed", help="Seed of the synthetic region."),
    scenarios_only: bool = typer.Option(False, "--scenarios-only", help="Only run the settlement scenarios."),
) -> None:
    """Run the platform end to end on the embedded default and print what it did.

    Example: yibao demo                    # about 20,000 persons, one year
             yibao demo --persons 5000     # quicker
    """
    console = Console()
    data_dir.mkdir(parents=True, exist_ok=True)
    console.print(Panel.fit("yibao 医保 — 主流程演示 (main job)", subtitle=str(data_dir.resolve())))
    started = time.perf_counter()
    step_scenarios(console, data_dir)
    if not scenarios_only:
        for old in ("yibao.sqlite", "yibao.sqlite-wal", "yibao.sqlite-shm"):
            (data_dir / old).unlink(missing_ok=True)
        if (data_dir / "region").exists():
            shutil.rmtree(data_dir / "region")
        region = step_region(console, data_dir, persons, seed)
        step_settle(console, region, f"sqlite:///{data_dir / 'yibao.sqlite'}")
    console.print(f"[green]完成 done in {time.perf_counter() - started:.1f} s[/green] — data in {data_dir.resolve()}")
