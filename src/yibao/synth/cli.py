"""``yibao synth``: generate, describe and check synthetic regions."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    name="synth",
    help=(
        "合成区域：参保人、定点机构、医保目录、就诊与费用明细及带标注的违规样本。\n\n"
        "Example: yibao synth generate --persons 20000 --seed 1 --out region"
    ),
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def generate(
    persons: int = typer.Option(20_000, "--persons", "-n", help="参保人数（首年1月1日）"),
    seed: int = typer.Option(1, "--seed", "-s", help="随机种子：同一种子生成逐字节相同的文件"),
    out: Path = typer.Option(Path("region"), "--out", "-o", help="输出目录"),
    years: str = typer.Option("2024", "--years", help="年度，如 2024 或 2022-2024"),
    counties: int = typer.Option(6, "--counties", help="县区数（3–8，第一个为市辖区）"),
    codes: Path | None = typer.Option(None, "--codes", help="含 icd10.csv / icd9cm3.csv 的目录，用于核对所用编码"),
    rate: list[str] = typer.Option([], "--rate", help="违规注入比例，pattern=比例，可重复，如 --rate split_admission=0.02"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="显示进度条"),
) -> None:
    """生成合成区域.  Example: yibao synth generate --persons 100000 --seed 7 --out region --years 2022-2024"""
    from rich.console import Console

    from .generator import generate as gen

    rates = {}
    for r in rate:
        if "=" not in r:
            raise typer.BadParameter(f"--rate 需写成 pattern=比例: {r}")
        k, v = r.split("=", 1)
        rates[k.strip()] = float(v)
    console = Console(stderr=True)
    try:
        m = gen(persons=persons, seed=seed, out=out, years=years, counties=counties, rates=rates, codes=codes,
                progress=progress)
    except (ValueError, FileNotFoundError) as exc:
        console.print(f"[red]错误[/red]: {exc}")
        raise typer.Exit(2) from exc
    rc = m["row_counts"]
    typer.echo(f"已生成 {out}: 参保人 {rc['persons']:,}，机构 {rc['institutions']:,}，目录 {rc['catalogue']:,}，"
               f"就诊 {rc['encounters']:,}，费用明细 {rc['fee_lines']:,}，违规标注 {rc['labels']:,}")


@app.command()
def describe(region: Path = typer.Argument(..., help="generate 生成的目录")) -> None:
    """显示区域内容：各表行数与金额合计.  Example: yibao synth describe region"""
    from rich.console import Console

    from .describe import render

    try:
        render(region, Console())
    except FileNotFoundError as exc:
        typer.echo(f"错误: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command()
def check(region: Path = typer.Argument(..., help="generate 生成的目录")) -> None:
    """用参考检测规则核对标注：每种违规的查准率与查全率应均为 1.  Example: yibao synth check region"""
    from rich.console import Console
    from rich.table import Table

    from .check import compare

    res = compare(region)
    t = Table(title="参考检测 vs 标注")
    for c in ("pattern", "labelled", "detected", "TP", "FP", "FN"):
        t.add_column(c, justify="right")
    bad = False
    for p, v in res.items():
        bad |= bool(v["fp"] or v["fn"])
        t.add_row(p, str(v["labelled"]), str(v["detected"]), str(v["tp"]), str(v["fp"]), str(v["fn"]))
    Console().print(t)
    if bad:
        raise typer.Exit(1)


@app.command()
def load(
    region: Path = typer.Argument(..., help="generate 生成的目录"),
    database_url: str | None = typer.Option(None, "--database-url", help="数据库 URL（默认 YIBAO_DATABASE_URL 或 ./yibao-data 下的 SQLite）"),
    claims: bool = typer.Option(True, "--claims/--no-claims", help="是否导入就诊、诊断、手术和费用明细"),
    replace: bool = typer.Option(False, "--replace", help="清空已有的人员、机构、目录和就诊数据后再导入"),
) -> None:
    """把合成区域导入平台数据库.  Example: yibao synth load region --database-url sqlite:///yibao-data/yibao.sqlite"""
    from rich.console import Console

    from .load import LoadError
    from .load import load as do_load

    console = Console(stderr=True)
    try:
        with console.status("导入中…") as status:
            counts = do_load(region, database_url, claims=claims, replace=replace,
                             progress=lambda t, n: status.update(f"导入 {t}: {n:,} 行"))
    except (LoadError, FileNotFoundError) as exc:
        console.print(f"[red]错误[/red]: {exc}")
        raise typer.Exit(2) from exc
    typer.echo("已导入: " + "，".join(f"{t} {n:,}" for t, n in counts.items()))
