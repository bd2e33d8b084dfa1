"""``yibao audit``: 智能审核 — the rule library, knowledge, batch runs, findings and their review."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import typer

app = typer.Typer(
    name="audit",
    help=(
        "智能审核：一套规则库，结算前（3101/3102）逐笔审核，批量审核全部历史。\n\n"
        "Example: yibao audit evaluate region"
    ),
    no_args_is_help=True,
    add_completion=False,
)
rules_app = typer.Typer(help="规则库：查看、校验、导入。\n\nExample: yibao audit rules list", no_args_is_help=True)
knowledge_app = typer.Typer(help="知识库表：导入与查看。\n\nExample: yibao audit knowledge import region", no_args_is_help=True)
stock_app = typer.Typer(help="药店进销存：导入销售（含追溯码）与采购。\n\nExample: yibao audit stock import region",
                        no_args_is_help=True)
app.add_typer(rules_app, name="rules")
app.add_typer(knowledge_app, name="knowledge")
app.add_typer(stock_app, name="stock")

DB_OPT = typer.Option(None, "--database-url", help="数据库地址（默认 YIBAO_DATABASE_URL 或本地 SQLite）")
LIB_OPT = typer.Option(None, "--library", help="规则库文件（默认：数据库中已导入的规则库，否则随附的示例规则库）")


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr)


def _fail(message: str) -> None:
    _console(stderr=True).print(f"[red]错误[/red]: {message}")
    raise typer.Exit(2)


def _engine(url: str | None):
    from yibao.storage import db

    engine = db.make_engine(url)
    db.create_all(engine)
    return engine


def _library(library: Path | None, url: str | None = None, *, use_db: bool = False):
    from .library import LibraryError, active_library

    try:
        if use_db and library is None:
            engine = _engine(url)
            with engine.connect() as conn:
                return active_library(conn)
        return active_library(None, library)
    except LibraryError as exc:
        _fail(str(exc))


def _yuan(fen: int) -> str:
    from .findings import yuan

    return yuan(fen)


# ── rules ─────────────────────────────────────────────────────────────────────────────────────

@rules_app.command("list")
def rules_list(library: Path | None = LIB_OPT, database_url: str | None = DB_OPT,
               db: bool = typer.Option(False, "--db", help="读数据库中已导入的规则库")) -> None:
    """列出规则.  Example: yibao audit rules list"""
    from rich.table import Table

    lib = _library(library, database_url, use_db=db)
    t = Table(title=f"{lib.name}（{lib.library_id} 版本 {lib.version}，{len(lib.rules)} 条规则）")
    for c in ("规则编号", "类型", "名称", "严重程度", "生效", "知识表", "实时"):
        t.add_column(c)
    for r in lib.rules:
        t.add_row(r.rule_id, f"{r.rtype.name} ({r.type_id})", r.name, r.severity_name,
                  f"{r.effective_from}～{r.effective_to or ''}", r.knowledge or "—", "是" if r.rtype.realtime else "否（仅批量）")
    _console().print(t)


@rules_app.command("types")
def rules_types() -> None:
    """列出规则类型（模板）及示例.  Example: yibao audit rules types"""
    from rich.table import Table

    from .types import RULE_TYPES

    t = Table(title=f"规则类型 {len(RULE_TYPES)} 种")
    for c in ("类型", "名称", "对象", "知识表列", "示例"):
        t.add_column(c)
    levels = {"line": "费用明细", "encounter": "就诊", "stock": "药店药品", "provider": "机构"}
    for rt in RULE_TYPES.values():
        t.add_row(rt.type_id, rt.name, levels[rt.level], ", ".join(rt.knowledge) or "—", rt.example)
    _console().print(t)


@rules_app.command("show")
def rules_show(rule_id: str = typer.Argument(..., help="规则编号"), library: Path | None = LIB_OPT,
               database_url: str | None = DB_OPT, db: bool = typer.Option(False, "--db", help="读数据库中已导入的规则库"),
               sql: bool = typer.Option(False, "--sql", help="显示规则的 DuckDB 查询")) -> None:
    """显示一条规则：依据、参数、知识表与示例.  Example: yibao audit rules show QY-XB-001 --sql"""
    from .library import LibraryError
    from .views import Dialect, rule_sql

    lib = _library(library, database_url, use_db=db)
    try:
        r = lib.rule(rule_id)
    except LibraryError as exc:
        _fail(str(exc))
    c = _console()
    c.print(f"[bold]{r.rule_id} {r.name}[/bold]")
    c.print(f"类型：{r.rtype.name}（{r.type_id}），对象：{r.rtype.level}，严重程度：{r.severity_name}（sev_deg {r.sev_deg}）")
    c.print(f"依据：{r.basis}")
    c.print(f"生效：{r.effective_from} 至 {r.effective_to or '长期'}；{'启用' if r.enabled else '停用'}")
    c.print(f"参数：{json.dumps(r.params, ensure_ascii=False)}")
    if r.knowledge:
        spec = lib.knowledge[r.knowledge]
        c.print(f"知识表：{r.knowledge}（{spec.name}），列 {', '.join(spec.columns)}")
    c.print(f"示例：{r.rtype.example}")
    if sql:
        c.print(rule_sql(r, Dialect("duckdb")), markup=False, highlight=False)


@rules_app.command("check")
def rules_check(file: Path = typer.Argument(..., help="规则库 YAML 文件"),
                knowledge_dir: Path | None = typer.Option(None, "--knowledge", help="同时校验此目录中的知识表")) -> None:
    """校验规则库文件（及知识表）.  Example: yibao audit rules check my-rules.yaml --knowledge kb/"""
    from . import knowledge as kn
    from .library import LibraryError, load_library
    from .views import Dialect, rule_sql

    try:
        lib = load_library(file)
        for r in lib.rules:
            rule_sql(r, Dialect("duckdb"))
            rule_sql(r, Dialect("spark"))
        tables, notes = kn.resolve(lib, region=knowledge_dir)
    except (LibraryError, kn.KnowledgeError) as exc:
        _fail(str(exc))
    except Exception as exc:
        _fail(f"规则模板无法生成查询: {exc}")
    typer.echo(f"规则库 {lib.library_id}（{lib.name}）校验通过：{len(lib.rules)} 条规则，"
               f"{len({r.type_id for r in lib.rules})} 种类型，知识表 {len(tables)} 张")
    for n in notes:
        typer.echo(f"提示：{n}")


@rules_app.command("import")
def rules_import(file: Path = typer.Argument(..., help="规则库 YAML 文件"), database_url: str | None = DB_OPT) -> None:
    """校验并导入规则库，设为当前规则库.  Example: yibao audit rules import my-rules.yaml"""
    from .library import LibraryError
    from .store import import_rule_set

    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        _fail(f"{file}: 无法读取: {exc.strerror}")
    engine = _engine(database_url)
    try:
        with engine.begin() as conn:
            lib = import_rule_set(conn, text, str(file))
    except LibraryError as exc:
        _fail(str(exc))
    typer.echo(f"已导入规则库 {lib.library_id} 版本 {lib.version}：{len(lib.rules)} 条规则（当前规则库）")


# ── knowledge and stock ───────────────────────────────────────────────────────────────────────

@knowledge_app.command("import")
def knowledge_import(folder: Path = typer.Argument(..., help="含 kb_*.parquet / kb_*.csv 的目录"),
                     database_url: str | None = DB_OPT, library: Path | None = LIB_OPT) -> None:
    """导入知识表（按规则库声明的列校验）.  Example: yibao audit knowledge import region"""
    from . import knowledge as kn

    if not folder.is_dir():
        _fail(f"{folder} 不是目录")
    engine = _engine(database_url)
    with engine.connect() as conn:
        from .library import active_library

        lib = active_library(conn, library)
    try:
        with engine.begin() as conn:
            done = kn.import_tables(conn, lib, folder)
    except kn.KnowledgeError as exc:
        _fail(str(exc))
    if not done:
        _fail(f"{folder} 中没有规则库声明的知识表（{', '.join(lib.knowledge)}）")
    typer.echo("已导入知识表：" + "，".join(f"{k} {v:,} 行" for k, v in done.items()))


@knowledge_app.command("list")
def knowledge_list(database_url: str | None = DB_OPT, region: Path | None = typer.Option(None, "--region"),
                   library: Path | None = LIB_OPT) -> None:
    """列出规则库声明的知识表及其来源.  Example: yibao audit knowledge list --region region"""
    from rich.table import Table

    from . import knowledge as kn
    from .library import SHIPPED_KNOWLEDGE, active_library

    engine = _engine(database_url) if region is None else None
    conn = engine.connect() if engine is not None else None
    try:
        lib = active_library(conn, library)
        imported = kn.read_imported(conn, lib) if conn is not None else {}
        t = Table(title="知识表")
        for c in ("表", "名称", "列", "行数", "来源"):
            t.add_column(c)
        for name, spec in lib.knowledge.items():
            if name in imported:
                rows, src = imported[name].num_rows, "数据库"
            else:
                path = (kn.find_file(region, name) if region else None) or kn.find_file(SHIPPED_KNOWLEDGE, name)
                rows, src = (kn.read_file(path, spec).num_rows, str(path)) if path else (0, "缺失")
            t.add_row(name, spec.name, ", ".join(spec.columns), f"{rows:,}", src)
        _console().print(t)
    finally:
        if conn is not None:
            conn.close()


@stock_app.command("import")
def stock_import(folder: Path = typer.Argument(..., help="含 sales.parquet / purchases.parquet 的目录"),
                 database_url: str | None = DB_OPT) -> None:
    """导入药店销售（含追溯码）与采购.  Example: yibao audit stock import region"""
    from .store import import_stock

    engine = _engine(database_url)
    try:
        with engine.begin() as conn:
            n = import_stock(conn, folder)
    except FileNotFoundError as exc:
        _fail(str(exc))
    typer.echo(f"已导入：销售 {n['sales']:,} 行（追溯码 {n['trace_codes']:,} 个），采购 {n['purchases']:,} 行")


# ── running ───────────────────────────────────────────────────────────────────────────────────

def _run_batch(region: Path, lib, tables, engine_name: str, show_progress: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from . import batch

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=_console(stderr=True), disable=not show_progress, transient=True) as bar:
        task = bar.add_task(f"审核（{engine_name}）", total=len(lib.enabled_rules()))

        def step(rule_id: str, done: int, total: int) -> None:
            bar.update(task, completed=done, description=f"审核（{engine_name}）{rule_id}")

        if engine_name == "spark":
            from . import spark

            return spark.run(region, lib, tables, progress=step)
        return batch.run(region, lib, tables, progress=step)


def _summary(findings, lib, title: str) -> None:
    from rich.table import Table

    n, amt = Counter(), defaultdict(int)
    for f in findings:
        n[f.rule_id] += 1
        amt[f.rule_id] += f.amount
    t = Table(title=title)
    for c in ("规则", "名称", "严重程度", "发现", "违规金额(元)"):
        t.add_column(c, justify="right" if c in ("发现", "违规金额(元)") else "left")
    for r in lib.enabled_rules():
        t.add_row(r.rule_id, r.name, r.severity_name, f"{n[r.rule_id]:,}", _yuan(amt[r.rule_id]))
    t.add_row("合计", "", "", f"{sum(n.values()):,}", _yuan(sum(amt.values())))
    _console().print(t)


@app.command()
def run(
    database_url: str | None = DB_OPT,
    region: Path | None = typer.Option(None, "--region", help="直接审核 yibao synth 生成的区域目录（Parquet）"),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb（单机）或 spark（PySpark）"),
    library: Path | None = LIB_OPT,
    save: bool = typer.Option(True, "--save/--no-save", help="将审核结果写入数据库（--region 时默认不写，除非给出 --database-url）"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="显示进度条"),
) -> None:
    """批量审核全部历史，结果写入数据库.  Example: yibao audit run --region region --engine duckdb"""
    from . import dbexport
    from . import knowledge as kn
    from .store import finish_run, save_findings, start_run

    if engine not in ("duckdb", "spark"):
        _fail("--engine 应为 duckdb 或 spark")
    t0 = time.perf_counter()
    if region is not None:
        lib = _library(library)
        try:
            tables, notes = kn.resolve(lib, region=region)
            result = _run_batch(region, lib, tables, engine, progress)
        except (FileNotFoundError, kn.KnowledgeError) as exc:
            _fail(str(exc))
        source = str(region)
        store_to = database_url if save and database_url else None
    else:
        db_engine = _engine(database_url)
        with db_engine.connect() as conn:
            from .library import active_library

            lib = active_library(conn, library)
            tables, notes = kn.resolve(lib, conn=conn)
        with tempfile.TemporaryDirectory(prefix="yibao-audit-") as tmp:
            with _console(stderr=True).status("导出数据库…") as status:
                dbexport.export(db_engine, tmp, progress=lambda t, n: status.update(f"导出数据库：{t} {n:,} 行"))
            result = _run_batch(Path(tmp), lib, tables, engine, progress)
        source = str(db_engine.url.render_as_string(hide_password=True))
        store_to = database_url if save else None
        if save and store_to is None:
            store_to = str(db_engine.url.render_as_string(hide_password=False))
    for note in notes:
        _console(stderr=True).print(f"[yellow]提示[/yellow]: {note}")
    for rid, err in result.errors.items():
        _console(stderr=True).print(f"[red]规则 {rid} 执行失败[/red]: {err}")
    _summary(result.findings, lib, f"批量审核（{engine}，{time.perf_counter() - t0:.1f} 秒）：{source}")
    if store_to:
        dbe = _engine(store_to)
        with dbe.begin() as conn:
            run_id = start_run(conn, engine, source, lib)
            total, new = save_findings(conn, run_id, result.findings)
            finish_run(conn, run_id, total, new, "failed" if result.errors else "done")
        typer.echo(f"审核批次 {run_id}：结果 {total:,} 条，其中新发现 {new:,} 条（已有结果的核实状态保持不变）")
    if result.errors:
        raise typer.Exit(1)


@app.command()
def findings(
    database_url: str | None = DB_OPT,
    rule: str | None = typer.Option(None, "--rule", help="规则编号或规则类型"),
    status: str | None = typer.Option(None, "--status", help="pending 待核实 | confirmed 确认 | excluded 排除"),
    mdtrt_id: str | None = typer.Option(None, "--mdtrt-id", help="就诊编号"),
    fixmedins_code: str | None = typer.Option(None, "--fixmedins-code", help="定点机构编号"),
    limit: int = typer.Option(50, "--limit"),
    offset: int = typer.Option(0, "--offset"),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON"),
) -> None:
    """查询审核结果.  Example: yibao audit findings --rule split_admission --status pending"""
    from rich.table import Table

    from .store import STATUS_NAMES, list_findings

    if status and status not in STATUS_NAMES:
        _fail("--status 应为 pending、confirmed 或 excluded")
    engine = _engine(database_url)
    with engine.connect() as conn:
        rows, n, amount = list_findings(conn, rule=rule, status=status, mdtrt_id=mdtrt_id, fixmedins_code=fixmedins_code,
                                        limit=limit, offset=offset)
    if as_json:
        typer.echo(json.dumps([{**r.__dict__, "reviewed_at": r.reviewed_at.isoformat() if r.reviewed_at else None}
                               for r in rows], ensure_ascii=False, indent=1))
        return
    t = Table(title=f"审核结果 {n:,} 条，违规金额合计 {_yuan(amount)} 元（显示 {offset + 1}–{offset + len(rows)}）")
    for c in ("编号", "规则", "状态", "就诊", "明细", "金额(元)", "违规内容"):
        t.add_column(c)
    for r in rows:
        t.add_row(str(r.finding_id), r.rule_id, STATUS_NAMES[r.status], r.mdtrt_id or r.fixmedins_code or "—",
                  r.feedetl_sn or "—", _yuan(r.amount), r.message)
    _console().print(t)


@app.command()
def review(
    finding_id: int = typer.Argument(..., help="审核结果编号"),
    confirm: bool = typer.Option(False, "--confirm", help="确认违规"),
    exclude: bool = typer.Option(False, "--exclude", help="排除（非违规）"),
    reopen: bool = typer.Option(False, "--reopen", help="重新核实"),
    reason: str = typer.Option(..., "--reason", help="理由（必填）"),
    reviewer: str = typer.Option("", "--reviewer", help="核实人（默认当前系统用户）"),
    database_url: str | None = DB_OPT,
) -> None:
    """核实一条审核结果：待核实 → 确认 / 排除.  Example: yibao audit review 12 --confirm --reason "病历无护理记录" --reviewer 张三"""
    import getpass

    from .store import STATUS_NAMES, ReviewError
    from .store import review as do_review

    chosen = [a for a, on in (("confirm", confirm), ("exclude", exclude), ("reopen", reopen)) if on]
    if len(chosen) != 1:
        _fail("请给出 --confirm、--exclude 或 --reopen 之一")
    who = reviewer or getpass.getuser()
    engine = _engine(database_url)
    try:
        with engine.begin() as conn:
            row = do_review(conn, finding_id, chosen[0], who, reason)
    except ReviewError as exc:
        _fail(str(exc))
    typer.echo(f"审核结果 {finding_id} 已{ {'confirm': '确认', 'exclude': '排除', 'reopen': '重新核实'}[chosen[0]] }"
               f"（当前状态：{STATUS_NAMES[row.status]}，核实人 {who}）")


@app.command()
def encounter(mdtrt_id: str = typer.Argument(..., help="就诊编号"), database_url: str | None = DB_OPT) -> None:
    """对一次已存储的就诊做实时审核（与 3101/3102 相同的规则）.  Example: yibao audit encounter 2024000000012345"""
    from rich.table import Table

    from .realtime import AuditInputError, settlement_check

    engine = _engine(database_url)
    try:
        with engine.connect() as conn:
            decision = settlement_check(conn, mdtrt_id)
    except AuditInputError as exc:
        _fail(str(exc))
    t = Table(title=f"就诊 {mdtrt_id} 实时审核：{len(decision.findings)} 条" + ("（拦截结算）" if decision.blocked else ""))
    for c in ("规则", "严重程度", "明细", "金额(元)", "违规内容"):
        t.add_column(c)
    for f in decision.findings:
        t.add_row(f.rule_id, "拒付" if f.severity == "refuse" else "警示", f.feedetl_sn or "—", _yuan(f.amount), f.message)
    _console().print(t)


@app.command()
def evaluate(
    region: Path = typer.Argument(..., help="yibao synth 生成的区域目录"),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb 或 spark"),
    library: Path | None = LIB_OPT,
    as_json: bool = typer.Option(False, "--json", help="输出 JSON 列表"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="显示进度条"),
) -> None:
    """审核合成区域并与标注比较：各规则类型的查准率与查全率.  Example: yibao audit evaluate region --json"""
    from rich.table import Table

    from . import knowledge as kn
    from .evaluate import evaluate as score

    lib = _library(library)
    if not (region / "labels.parquet").exists():
        _fail(f"{region} 不是 yibao synth 生成的区域（缺少 labels.parquet）")
    try:
        tables, _notes = kn.resolve(lib, region=region)
        result = _run_batch(region, lib, tables, engine, progress and not as_json)
    except (FileNotFoundError, kn.KnowledgeError) as exc:
        _fail(str(exc))
    ev = score(region, result.findings, lib)
    if as_json:
        typer.echo(json.dumps([s.as_json() for s in ev.scores], ensure_ascii=False, indent=1))
        return
    from .types import RULE_TYPES

    t = Table(title=f"审核质量：{region}（{engine}）")
    for c in ("规则类型", "标注类型", "标注", "发现", "命中", "查准率", "查全率", "金额一致"):
        t.add_column(c, justify="left" if c in ("规则类型", "标注类型") else "right")
    for s in ev.scores:
        names = "+".join(RULE_TYPES[x].name for x in s.rule_types)
        style = "" if min(s.precision, s.recall) >= 0.95 else "red"
        t.add_row(names, s.pattern, f"{s.labelled:,}", f"{s.found:,}", f"{s.true_positive:,}", f"{s.precision:.4f}",
                  f"{s.recall:.4f}", f"{s.amount_agree:,}", style=style)
    c = _console()
    c.print(t)
    u = Table(title="无标注的规则类型（示例知识表）：发现数")
    u.add_column("规则类型")
    u.add_column("发现", justify="right")
    for k, v in sorted(ev.unlabelled.items()):
        u.add_row(f"{RULE_TYPES[k].name} ({k})", f"{v:,}")
    c.print(u)
    o = Table(title=f"机构统计异常（无标注，{len(ev.outliers)} 条）")
    for col in ("规则", "机构", "说明"):
        o.add_column(col)
    for f in sorted(ev.outliers, key=lambda x: -float(x.evidence.get("robust_z") or 0)):
        o.add_row(f.rule_id, f.fixmedins_code or "", f.message)
    c.print(o)


if __name__ == "__main__":  # pragma: no cover
    app()
    sys.exit(0)
