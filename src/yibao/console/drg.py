"""DRG reports on the stored inpatient cases, through the grouping package.

``run(engine, folder, year)`` exports the year's inpatient settlements in force as a case file
(``yibao.grouping.export.export_cases``, the national field names of docs/payment.md §1), groups them with the DRG scheme
(``YIBAO_DRG_SCHEME``, else the CHS-DRG 1.1 tables of the shared reference data, else the small
demo scheme), computes relative weights from the same cases, pays them by the point method with a
budget equal to the fund payments they had (budget-neutral), and keeps the reports
(``yibao.grouping.drg_payment.write_reports``: cases.csv, hospitals.csv, drgs.csv, summary.md) and
a JSON summary in ``<data dir>/console/drg-<year>/``. The page reads that JSON: reading is fast;
the run takes seconds and is started from the page (基金/管理员) or by the same function.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from yibao.money import fmt_yuan, round_half_up
from yibao.storage import schema as s
from yibao.storage.db import reading


def scheme_path() -> tuple[Path, str]:
    """The DRG scheme folder and how it was chosen."""
    env = os.environ.get("YIBAO_DRG_SCHEME")
    if env:
        return Path(env), "环境变量 YIBAO_DRG_SCHEME"
    for base in [Path(os.environ["YIBAO_SHARED_DATA"])] if os.environ.get("YIBAO_SHARED_DATA") else []:
        if (base / "chs-drg-1.1").is_dir():
            return base / "chs-drg-1.1", "CHS-DRG 1.1（共享参考数据）"
    here = Path(__file__).resolve()
    for parent in (*here.parents, Path.cwd(), *Path.cwd().parents, Path("/work")):
        candidate = parent / "shared" / "data" / "chs-drg-1.1"
        if candidate.is_dir():
            return candidate, "CHS-DRG 1.1（共享参考数据）"
    from yibao.grouping.drg_cli import demo_scheme_path

    return demo_scheme_path(), "yibao 内置演示方案（按合成区域的病种编制，非国家分组方案）"


def folder_for(data_dir: Path | None, year: int) -> Path:
    base = data_dir if data_dir is not None else Path(tempfile.gettempdir()) / "yibao-console"
    return base / "console" / f"drg-{year}"


def load(data_dir: Path | None, year: int) -> dict[str, Any] | None:
    path = folder_for(data_dir, year) / "console.json"
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def years_with_inpatient(engine: Engine) -> list[int]:
    t = s.settlements
    with reading(engine) as conn:
        return [r[0] for r in conn.execute(select(t.c.setl_year).where(t.c.med_type == "21").distinct()
                                           .order_by(t.c.setl_year.desc()))]


def run(engine: Engine, data_dir: Path | None, year: int) -> dict[str, Any]:
    """Group, weigh and pay the year's stored inpatient cases; keep the reports; return the summary."""
    from yibao.grouping.drg import DrgGrouper, load_scheme
    from yibao.grouping.export import export_cases
    from yibao.grouping.drg_payment import Trim, compute_weights, load_pay_cases, pay, write_reports
    from yibao.grouping.drg_payment import DrgPayParams
    from yibao.grouping.params import bundled, load_params

    started = time.perf_counter()
    out = folder_for(data_dir, year)
    out.mkdir(parents=True, exist_ok=True)
    scheme_dir, scheme_how = scheme_path()
    cases_file = out / "inpatient-cases.parquet"
    n = export_cases(cases_file, database_url=engine.url.render_as_string(hide_password=False), years=[year])
    if n == 0:
        raise ValueError(f"{year} 年没有住院结算（医疗类别 21），无法分组")
    ps = load_params(bundled("meishan-drg"))
    day = dt.date(year, 12, 31)
    params = DrgPayParams.from_params(ps, day)
    trim = Trim.parse(str(ps.get("weight_trim", day)) if ps.has("weight_trim") else "log3sd",
                      int(ps.get("weight_trim_min_cases", day)) if ps.has("weight_trim_min_cases") else 10)
    grouper = DrgGrouper(load_scheme(scheme_dir))
    cases = load_pay_cases(cases_file, grouper=grouper, years=[year], level_map=params.level_map)
    weights = compute_weights(cases, trim)
    budget = sum(c.fund for c in cases if c.drg is not None and c.drg in weights.rows)
    result = pay(cases, weights, params, budget=budget or None)
    write_reports(result, out)
    rcpw, rlpw = result.region_cost_per_weight, result.region_los_per_weight

    def f4(x: Fraction | None) -> float | None:
        return None if x is None else round(float(x), 4)

    hospitals = []
    for h in sorted(result.hospitals.values(), key=lambda h: -h.cases):
        cpw, lpw = h.cost_per_weight, h.los_per_weight
        hospitals.append({
            "fixmedins_code": h.hospital, "fixmedins_name": h.name, "level": h.level, "cases": h.cases, "grouped": h.grouped,
            "grouping_rate": round(h.grouped / h.cases, 4) if h.cases else None, "drg_paid": h.drg_paid, "cmi": f4(h.cmi),
            "cost_per_weight": None if cpw is None else fmt_yuan(round_half_up(cpw)),
            "cost_index": f4(cpw / rcpw) if cpw is not None and rcpw else None,
            "los_per_weight": None if lpw is None else round(float(lpw), 2),
            "time_index": f4(lpw / rlpw) if lpw is not None and rlpw else None,
            "drg_cost": fmt_yuan(h.drg_cost), "drg_amount": fmt_yuan(h.amount), "gain": fmt_yuan(h.gain), "gain_fen": h.gain,
            "low": h.low, "high": h.high})
    drgs = sorted(result.drgs.values(), key=lambda d: -d.cases)
    summary = {
        "year": year, "computed_at": dt.datetime.now().isoformat(timespec="seconds"), "seconds": round(time.perf_counter() - started, 1),
        "scheme": str(scheme_dir), "scheme_how": scheme_how, "cases": result.n_cases,
        "grouping_rate": round(float(result.grouping_rate), 4), "case_coverage": round(float(result.case_coverage), 4),
        "cost_coverage": round(float(result.cost_coverage), 4), "drg_count": len(weights.rows),
        "weights_used": weights.n_used if hasattr(weights, "n_used") else None, "trim": trim.describe(),
        "method": params.method, "budget": fmt_yuan(budget), "point_value": None if result.point_value is None else
        f"{float(result.point_value) / 100:.6f}", "total_points": f"{result.total_points:,.2f}",
        "region_cost_per_weight": None if rcpw is None else fmt_yuan(round_half_up(rcpw)),
        "region_los_per_weight": None if rlpw is None else round(float(rlpw), 2),
        "hospitals": hospitals,
        "drgs": [{"drg": d.drg, "weight": f"{d.weight:.4f}", "cases": d.cases, "cost": fmt_yuan(d.cost),
                  "drg_amount": fmt_yuan(d.amount), "gain": fmt_yuan(d.gain), "gain_fen": d.gain} for d in drgs[:30]],
        "files": sorted(p.name for p in out.iterdir() if p.suffix in (".csv", ".md", ".parquet")),
    }
    (out / "console.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    return summary
