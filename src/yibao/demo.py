"""``yibao demo``: the main job. Runs the platform end to end on the embedded default (SQLite
and DuckDB files in ./yibao-data) and prints what it did.

1. the settlement scenarios (hand-worked figures) through the national interface;
2. a synthetic region (about 20,000 persons, one year) generated and loaded into the registry;
3. its year of claims settled through the bulk channel, with a sample through the interface;
then (as those capabilities land) audit, DRG/DIP payment, fund reports and the console.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

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


def step_region(console: Console, data_dir: Path, persons: int, seed: int, years: str) -> Path:
    from yibao.synth import generate

    region = data_dir / "region"
    started = time.perf_counter()
    with console.status(f"2. 生成合成区域：{persons:,} 参保人，{years} 年，种子 {seed} …"):
        manifest = generate(persons=persons, seed=seed, out=region, years=years, progress=False)
    rows = manifest.get("row_counts", {})
    console.print(
        f"2. 合成区域 青衣市（{region}，{time.perf_counter() - started:.1f} s）：参保人 {rows.get('persons', 0):,}，"
        f"定点机构 {rows.get('institutions', 0):,}，目录 {rows.get('catalogue', 0):,}，就诊 {rows.get('encounters', 0):,}，"
        f"费用明细 {rows.get('fee_lines', 0):,}，违规标注 {rows.get('labels', 0):,}"
    )
    return region


def step_load(console: Console, region: Path, url: str):
    from yibao.policy import PolicyLibrary
    from yibao.registry.store import import_policy
    from yibao.storage import db
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
        f"目录 {loaded.get('catalogue', 0):,}，救助身份 {loaded.get('identities', 0):,}；政策 {', '.join(PolicyLibrary.shipped().ids())}"
    )
    return engine


def step_bulk(console: Console, engine, region: Path, until: dt.datetime) -> None:
    from yibao.interface.bulk import BulkSettler
    from yibao.synth.claims import count, iter_claims

    total = count(region, until=until)
    started = time.perf_counter()
    with _progress(console) as progress:
        task = progress.add_task(f"4. 历史结算（批量通道，至 {until:%Y-%m-%d}）", total=total)
        report = BulkSettler(engine).settle(iter_claims(region, until=until), progress=lambda n: progress.advance(task, n))
    elapsed = time.perf_counter() - started
    console.print(
        f"4. 批量结算 {report.settled:,} 笔（{report.settled / max(elapsed, 1e-9):,.0f} 笔/秒），拒绝 {len(report.refused):,}；"
        f"医疗费 {report.medfee_sumamt / 100:,.2f} 元，基金支付 {report.fund_pay_sumamt / 100:,.2f} 元"
    )


def step_http(console: Console, engine, region: Path, url: str, data_dir: Path, since: dt.datetime, port: int) -> "Server":
    """Start `yibao serve`, give every institution a gateway key, and send the last days' visits
    through the real HTTP interface with signed headers, several cashier desks at once."""
    server = Server.start(url, data_dir, port)
    try:
        _drive_over_http(console, engine, region, data_dir, since, server)
    except BaseException:
        server.stop()  # nobody else will: the caller gets no server to stop
        raise
    return server


def _drive_over_http(console: Console, engine, region: Path, data_dir: Path, since: dt.datetime, server: "Server") -> None:
    import concurrent.futures as cf
    import threading

    from sqlalchemy import select

    from yibao.interface import gateway
    from yibao.interface.bulk import BulkSettler
    from yibao.interface.client import CallRefused, InterfaceClient
    from yibao.interface.drive import drive
    from yibao.interface.http_client import HttpTransport
    from yibao.interface.sealing import SecretBox
    from yibao.storage import schema as s
    from yibao.synth.claims import count, iter_claims

    keys = {}
    box = SecretBox.of(data_dir)  # the server's own master key: it runs on the same data folder
    with engine.begin() as conn:
        for code in conn.execute(select(s.institutions.c.fixmedins_code).where(s.institutions.c.fixmedins_type == "1")).scalars():
            keys[code] = gateway.issue_key(conn, code, box=box)
    where = "med_type <> '41'"  # pharmacies settle through 2101–2103, which the demo does not drive
    total = count(region, since=since, where=where)
    clients: dict[str, InterfaceClient] = {}
    lock = threading.Lock()

    def client_for(code: str) -> InterfaceClient:
        with lock:
            if code not in clients:
                key = keys[code]
                clients[code] = InterfaceClient(HttpTransport(server.url, key.access_key, key.secret, key.algorithm), code)
            return clients[code]

    refused: dict[str, int] = {}
    settled = 0
    started = time.perf_counter()
    with _progress(console) as progress, cf.ThreadPoolExecutor(max_workers=6) as pool:
        task = progress.add_task(f"5. 实时结算（HTTP 国家接口，{since:%m-%d} 起）", total=total)

        def one(enc):
            try:
                drive(client_for(enc.fixmedins_code), enc)
                return None
            except CallRefused as exc:
                return str(exc.response.get("err_msg", ""))[:30]

        pending = set()
        for enc in iter_claims(region, since=since, where=where):
            pending.add(pool.submit(one, enc))
            if len(pending) >= 64:
                done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for f in done:
                    why = f.result()
                    settled += why is None
                    if why:
                        refused[why] = refused.get(why, 0) + 1
                    progress.advance(task)
        for f in cf.as_completed(pending):
            why = f.result()
            settled += why is None
            if why:
                refused[why] = refused.get(why, 0) + 1
            progress.advance(task)
    elapsed = time.perf_counter() - started
    console.print(
        f"5. HTTP 实时结算 {settled:,} 笔（{settled / max(elapsed, 1e-9):,.0f} 笔/秒，每笔 4–5 个交易，网关 HMAC-SHA1 签名），"
        f"拒绝 {sum(refused.values()):,}" + (f"（{'；'.join(f'{k}… ×{v}' for k, v in refused.items())}）" if refused else "")
    )
    rest = BulkSettler(engine).settle(iter_claims(region, since=since, where="med_type = '41'"))
    console.print(f"   药店购药 {rest.settled:,} 笔经批量通道结算。")


def step_summary(console: Console, engine) -> None:
    from sqlalchemy import text

    table = Table(title="结算汇总（按年度 × 险种 × 医疗类别；金额单位：万元）")
    for column in ("年度", "险种", "类别", "笔数", "医疗费", "统筹", "大病大额", "救助", "账户", "基金占比"):
        table.add_column(column, justify="right")
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT setl_year, insutype, med_type, count(*), sum(medfee_sumamt), sum(hifp_pay), sum(hifmi_pay + hifob_pay),"
            " sum(maf_pay), sum(acct_pay), sum(fund_pay_sumamt) FROM settlements WHERE status = 'settled'"
            " GROUP BY setl_year, insutype, med_type ORDER BY setl_year, insutype, med_type"
        )).fetchall()
    names = {"11": "普通门诊", "13": "急诊", "14": "门诊慢特病", "21": "住院", "41": "药店购药"}
    for year, insutype, med_type, n, medfee, hifp, big, maf, acct, fund in rows:
        share = f"{fund / medfee:.1%}" if medfee else "—"
        table.add_row(
            str(year), {"310": "职工", "390": "居民"}.get(insutype, insutype), names.get(med_type, med_type), f"{n:,}",
            *(f"{v / 1_000_000:,.1f}" for v in (medfee, hifp, big, maf, acct)), share,
        )
    console.print(table)


def _run(console: Console, title: str, argv: list[str], keep: int = 12) -> str:
    """Run a yibao command as a user would, show it, and show the end of what it printed."""
    import subprocess
    import sys

    shown = "yibao " + " ".join(argv)
    console.print(f"[dim]$ {shown}[/dim]")
    result = subprocess.run([sys.executable, "-m", "yibao.cli", *argv], capture_output=True, text=True, env={**os.environ, "COLUMNS": str(max(console.width - 3, 60))})
    output = (result.stdout + result.stderr).strip().splitlines()
    for line in (output[-keep:] if keep else []):
        console.print(f"   {line}", highlight=False, markup=False)
    if result.returncode != 0:
        console.print(f"[red]   {title} 失败（退出码 {result.returncode}）[/red]")
    return "\n".join(output)


def step_payment(console: Console, engine, url: str, data_dir: Path, years: list[int]) -> None:
    from sqlalchemy import text

    from yibao.grouping.export import export_cases

    cases = data_dir / "cases.parquet"
    n = export_cases(cases, database_url=url)
    scheme = _scheme()
    last, history = years[-1], years[:-1] or years[-1:]
    with engine.connect() as conn:
        fund, total = conn.execute(text(
            "SELECT coalesce(sum(fund_pay_sumamt), 0), coalesce(sum(medfee_sumamt), 0) FROM settlements"
            " WHERE status = 'settled' AND clr_type = '21' AND setl_year = :y"
        ), {"y": last}).one()
    # The demo's budgets: what the year actually cost (a bureau sets them ahead from its plan).
    budget, dip_budget = fund / 100, total / 100
    which = "CHS-DRG 1.1" if scheme != "demo" else "yibao 演示方案（按合成区域编制；设置 YIBAO_SHARED_DATA 可用 CHS-DRG 1.1 完整方案）"
    console.print(
        f"6. 按病种付费：{n:,} 个住院病例（{cases}），分组方案 {which}；"
        f"{last} 年 DRG 基金预算 {budget:,.2f} 元，DIP 总额预算 {dip_budget:,.2f} 元"
    )
    span = f"{history[0]}-{history[-1]}" if len(history) > 1 else str(history[0])
    (data_dir / "drg").mkdir(parents=True, exist_ok=True)
    dip_params = str(Path(__file__).parent / "grouping" / "data" / "qingyi-dip.yaml")
    _run(console, "DRG 权重", ["drg", "weights", str(cases), "--scheme", scheme, "--years", span, "--out", str(data_dir / "drg" / "weights.csv")], keep=2)
    _run(console, "DRG 付费", ["drg", "pay", str(cases), "--scheme", scheme, "--weights", str(data_dir / "drg" / "weights.csv"),
                              "--year", str(last), "--budget", f"{budget:.2f}", "--out", str(data_dir / "drg" / str(last))], keep=9)
    # DIP weights the group means of the years before: 1:2:7 over three (the technical
    # specification, built-in parameters) or 3:7 over two (the demo's parameter file).
    dip_args = {3: [], 2: ["--params", dip_params]}.get(len(history))
    if years[:-1] and dip_args is not None:
        _run(console, "DIP 目录", ["dip", "build", str(cases), "--years", span, *dip_args,
                                  "--out", str(data_dir / "dip" / "catalogue")], keep=2)
        _run(console, "DIP 清算", ["dip", "clear", str(cases), "--catalogue", str(data_dir / "dip" / "catalogue"),
                                  "--budget", f"{dip_budget:.2f}", "--year", str(last), *dip_args,
                                  "--out", str(data_dir / "dip" / str(last))], keep=10)
    else:
        console.print("   DIP：病种目录需要清算年度之前两年或三年的病例（--years 2022-2024），本次跳过。")
    _run(console, "DRG 付费占比", ["fund", "import-grouping", str(data_dir / "drg" / str(last)), "--method", "drg", "--database-url", url], keep=2)


def _scheme() -> str:
    """The full CHS-DRG 1.1 scheme when the bureau's folder is at hand, else the demo scheme."""
    env = os.environ.get("YIBAO_SHARED_DATA")
    for base in ([Path(env)] if env else []) + [parent / "shared" / "data" for parent in (REPO, *REPO.parents)]:
        if (base / "chs-drg-1.1" / "mdc.csv").is_file():
            return str(base / "chs-drg-1.1")
    return "demo"


def step_audit(console: Console, url: str, region: Path) -> None:
    console.print("7. 智能审核：知识库、药店进销存、全量批量审核（DuckDB），与合成区域的标注比对")
    _run(console, "知识库", ["audit", "knowledge", "import", str(region), "--database-url", url], keep=2)
    _run(console, "进销存", ["audit", "stock", "import", str(region), "--database-url", url], keep=2)
    _run(console, "批量审核", ["audit", "run", "--database-url", url, "--no-progress"], keep=32)
    import json

    text = _run(console, "查准查全", ["audit", "evaluate", str(region), "--json"], keep=0)
    try:
        rows = json.loads(text[text.index("["):])
    except ValueError:
        return
    table = Table(title="智能审核质量：与合成区域标注比对（规则生效期内）")
    for column in ("规则类型", "标注", "发现", "命中", "查准率", "查全率"):
        table.add_column(column, justify="left" if column == "规则类型" else "right")
    for r in rows:
        table.add_row(r["rule_type"], str(r["labelled"]), str(r["found"]), str(r["true_positive"]),
                      f"{r['precision']:.4f}", f"{r['recall']:.4f}")
    console.print(table)
    console.print(
        f"   {len(rows)} 类有标注的违规：最低查准率 {min(r['precision'] for r in rows):.4f}，"
        f"最低查全率 {min(r['recall'] for r in rows):.4f}"
    )


def step_fund(console: Console, url: str, data_dir: Path, years: list[int]) -> None:
    last = years[-1]
    console.print("8. 基金运行：征缴、记账、指标、月报")
    for year in years:
        _run(console, "征缴", ["fund", "contributions", "--year", str(year), "--database-url", url], keep=1)
    _run(console, "记账", ["fund", "post", "--database-url", url], keep=2)
    _run(console, "余额", ["fund", "balances", "--month", f"{last}-12", "--database-url", url], keep=14)
    _run(console, "指标", ["fund", "kpi", "--year", str(last), "--database-url", url], keep=24)
    _run(console, "月报", ["fund", "report", "--month", f"{last}-12", "--out", str(data_dir / "reports"), "--database-url", url], keep=3)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False,
    )


class Server:
    """`yibao serve` in a child process, as it runs in production."""

    def __init__(self, process, url: str) -> None:
        self.process = process
        self.url = url

    @classmethod
    def start(cls, database_url: str, data_dir: Path, port: int) -> "Server":
        import subprocess
        import sys
        import urllib.request

        # What the server prints goes to a file: a pipe nobody reads once it is up would fill
        # and stop the server at its next warning.
        log_path = data_dir / "logs" / "demo-serve.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "yibao.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--database-url", database_url, "--data-dir", str(data_dir)],
                stdout=log, stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = log_path.read_bytes()[-500:].decode("utf-8", "replace")
                raise RuntimeError(f"yibao serve 未能启动（日志 {log_path}）: {tail}")
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        return cls(process, url)
            except OSError:
                time.sleep(0.2)
        process.kill()
        raise RuntimeError(f"yibao serve 在 60 秒内没有应答 {url}/healthz")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except Exception:  # noqa: BLE001
            self.process.kill()


def _free_port(preferred: int) -> int:
    import socket

    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError("no free port")


def _parse_years(years: str) -> list[int]:
    if "-" in years:
        first, last = years.split("-", 1)
        return list(range(int(first), int(last) + 1))
    return [int(y) for y in years.split(",")]


def demo_command(
    data_dir: Path = typer.Option(Path("yibao-data"), "--data-dir", help="Where the SQLite and DuckDB files go (replaced on every run)."),
    persons: int = typer.Option(20_000, "--persons", help="Size of the synthetic region."),
    years: str = typer.Option("2022-2024", "--years", help="Years of care to generate and settle (DRG weights and the DIP catalogue come from the earlier ones)."),
    seed: int = typer.Option(1, "--seed", help="Seed of the synthetic region."),
    http_days: int = typer.Option(7, "--http-days", help="The last N days of the last year go through the HTTP interface."),
    port: int = typer.Option(8000, "--port", help="Port of the service (another free port is used when it is taken)."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Keep serving the console and the interface at the end."),
    scenarios_only: bool = typer.Option(False, "--scenarios-only", help="Only run the settlement scenarios."),
) -> None:
    """Run the platform end to end on the embedded default and print what it did.

    Example: yibao demo                           # about 20,000 persons, 2022–2024, then serve
             yibao demo --persons 5000 --years 2024 --no-serve
    """
    # A supervisor's SIGTERM stops the job as Ctrl-C does, so the server it started stops too.
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        _main_job(data_dir, persons, years, seed, http_days, port, serve, scenarios_only)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main_job(data_dir: Path, persons: int, years: str, seed: int, http_days: int, port: int, serve: bool,
              scenarios_only: bool) -> None:
    console = Console()
    data_dir.mkdir(parents=True, exist_ok=True)
    console.print(Panel.fit("yibao 医保 — 主流程演示 (main job)", subtitle=str(data_dir.resolve())))
    started = time.perf_counter()
    step_scenarios(console, data_dir)
    if scenarios_only:
        return
    for old in ("yibao.sqlite", "yibao.sqlite-wal", "yibao.sqlite-shm"):
        (data_dir / old).unlink(missing_ok=True)
    for folder in ("region", "drg", "dip", "reports"):
        if (data_dir / folder).exists():
            shutil.rmtree(data_dir / folder)
    year_list = _parse_years(years)
    url = f"sqlite:///{(data_dir / 'yibao.sqlite').resolve()}"
    region = step_region(console, data_dir, persons, seed, years)
    engine = step_load(console, region, url)
    cutoff = dt.datetime(year_list[-1], 12, 31) - dt.timedelta(days=http_days - 1)
    step_bulk(console, engine, region, cutoff)
    server = step_http(console, engine, region, url, data_dir, cutoff, _free_port(port))
    try:
        step_summary(console, engine)
        step_payment(console, engine, url, data_dir, year_list)
        step_audit(console, url, region)
        step_fund(console, url, data_dir, year_list)
        console.print(f"[green]完成 done in {time.perf_counter() - started:.1f} s[/green] — data in {data_dir.resolve()}")
        if serve:
            _serve_forever(console, server, engine)
    finally:
        server.stop()


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _serve_forever(console: Console, server: Server, engine) -> None:
    import secrets

    from sqlalchemy import select

    from yibao.api import security
    from yibao.storage import schema as s

    password = secrets.token_urlsafe(9)
    with engine.begin() as conn:
        if conn.execute(select(s.api_users.c.username).where(s.api_users.c.username == "admin")).first() is None:
            security.add_user(conn, "admin", password, "admin", display_name="演示管理员")
        else:
            conn.execute(s.api_users.update().where(s.api_users.c.username == "admin").values(password_hash=security.hash_password(password)))
    console.print(Panel.fit(
        f"控制台 console: {server.url}/console   用户 admin   密码 {password}\n"
        f"国家接口 interface: POST {server.url}/fsi/api/callService\n"
        f"接口文档 API docs: {server.url}/api/docs\n"
        "按 Ctrl-C 停止 / press Ctrl-C to stop",
        title="yibao 正在服务",
    ))
    try:
        server.process.wait()
    except KeyboardInterrupt:
        console.print("已停止。")
