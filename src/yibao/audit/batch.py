"""The batch engine on DuckDB: every rule of the library over the whole store.

The standard views are built once over the source folder's Parquet files; the two shared relations,
``ex`` (encounters with their person, institution and cost) and ``lx`` (lines with their encounter
and catalogue facts), are materialised once in memory, so that the thirty-odd rule queries share one
scan of the fee lines instead of reading them thirty times. Each rule is then one query.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from . import views
from .findings import Finding, dedupe, make_finding
from .library import Library, Rule

Progress = Callable[[str, int, int], None]  # (what, done, total)


@dataclass
class BatchResult:
    findings: list[Finding]
    timings: dict[str, float] = field(default_factory=dict)  # seconds per rule id, plus 'prepare'
    notes: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # rule id -> message


def _read(region: Path, table: str) -> str:
    fs = views.files(region, table)
    if table in views.PARTITIONED:
        return f"read_parquet('{region / table}/*/*.parquet', hive_partitioning = true, union_by_name = true)"
    return f"read_parquet('{fs[0]}')"


def _empty(table: str) -> str:
    cols = ", ".join(f"cast(null as {t}) as {c}" for c, t in views.OPTIONAL_SCHEMAS[table].items())
    return f"(select {cols} where false)"


def prepare(con: duckdb.DuckDBPyConnection, region: Path, knowledge: dict[str, pa.Table], library: Library,
            *, materialise: bool = True) -> None:
    """Create the standard views (and the shared ``ex``/``lx`` tables) on ``con``."""
    views.check_region(region)
    d = views.Dialect("duckdb")
    raw: dict[str, str] = {}
    for t in views.PARTITIONED + views.SINGLE:
        raw[t] = f"raw_{t}"
        con.execute(f"create or replace temp view raw_{t} as select * from {_read(region, t)}")
    for t in views.OPTIONAL:
        raw[t] = f"raw_{t}"
        src = _read(region, t) if views.files(region, t) else _empty(t)
        con.execute(f"create or replace temp view raw_{t} as select * from {src}")
    ranks = pa.table({"medins_lv": list(library.level_ranks), "lv_rank": list(library.level_ranks.values())})
    con.register("level_ranks_arrow", ranks)
    con.execute("create or replace temp table level_ranks as select * from level_ranks_arrow")
    con.unregister("level_ranks_arrow")
    for name, table in knowledge.items():
        con.register(f"{name}_arrow", table)
        con.execute(f"create or replace temp table {name} as select * from {name}_arrow")
        con.unregister(f"{name}_arrow")
    for name, sql in views.base_selects(d, raw, trace_from_lines=views.has_line_trace_codes(region)).items():
        con.execute(f"create or replace temp view {name} as {sql}")
    kind = "table" if materialise else "view"
    derived = views.derived_selects(d)
    con.execute(f"create or replace temp {kind} ex as {derived['ex']}")
    con.execute(f"create or replace temp {kind} lx as {derived['lx']}")


def run_rules(con: duckdb.DuckDBPyConnection, rules: list[Rule], *, progress: Progress | None = None,
              result: BatchResult | None = None) -> BatchResult:
    result = result or BatchResult([])
    d = views.Dialect("duckdb")
    for i, rule in enumerate(rules):
        t0 = time.perf_counter()
        try:
            table = con.sql(views.rule_sql(rule, d)).to_arrow_table()
        except duckdb.Error as exc:
            result.errors[rule.rule_id] = str(exc).splitlines()[0]
            continue
        finally:
            result.timings[rule.rule_id] = time.perf_counter() - t0
        result.findings.extend(dedupe([make_finding(rule, row) for row in table.to_pylist()]))
        if progress:
            progress(rule.rule_id, i + 1, len(rules))
    return result


def run(region: str | Path, library: Library, knowledge: dict[str, pa.Table], *, rules: list[Rule] | None = None,
        threads: int | None = None, memory_limit: str | None = None, progress: Progress | None = None) -> BatchResult:
    """Audit a region-format folder with every enabled rule (or ``rules``)."""
    region = Path(region)
    con = duckdb.connect()
    if threads:
        con.execute(f"set threads = {int(threads)}")
    if memory_limit:
        con.execute(f"set memory_limit = '{memory_limit}'")
    con.execute("set preserve_insertion_order = false")
    result = BatchResult([])
    t0 = time.perf_counter()
    prepare(con, region, knowledge, library)
    result.timings["prepare"] = time.perf_counter() - t0
    run_rules(con, rules if rules is not None else library.enabled_rules(), progress=progress, result=result)
    con.close()
    return result
