"""The standard views every rule template reads, over a region-format folder, for DuckDB or Spark.

A *source* is a folder in the synthetic region's format (docs/synthetic-region.md): a region written by
``yibao synth``, or the database exported to that format (:mod:`yibao.audit.dbexport`). Both engines
build the same views from it:

========================  =============================================================================
``persons``               psn_no, gend, brdy, death_date, insu_begn_date, move_out_date
``institutions``          fixmedins_code, medins_lv (``pharmacy`` for pharmacies), lv_rank
``catalogue``             med_list_codg, item_name, list_type, med_chrgitm_type, chrgitm_lv,
                          pric_uplmt_amt, lmt_used_flag
``encounters``            mdtrt_id, psn_no, fixmedins_code, insutype, med_type, begntime, endtime,
                          dscg_maindiag_code, dept, dscg_way, rel_ttp_flag, drg_code
``diagnoses``             mdtrt_id, diag_srt_no, diag_code, maindiag_flag
``procedures``            mdtrt_id, srt_no, oprn_oprt_code
``lines``                 mdtrt_id, feedetl_sn, sn, med_list_codg, fee_ocur_time, fee_date, pric, cnt,
                          amt (fen), bilg_dept_codg
``trace_codes``           mdtrt_id, feedetl_sn, sn, fee_ocur_time, code (one row per traceability code)
``sales``, ``purchases``  pharmacy stock: fixmedins_code, med_list_codg, sel_time/purc_date, cnt/purc_cnt, pric
``kb_*``                  the knowledge tables
``ex``                    encounters with person, institution and cost facts (begn_date, end_date,
                          ipt_days, medfee in fen, year, gend, age, death_date, lv_rank …)
``lx``                    lines with their encounter's facts and the catalogue's (shared by every
                          line rule: DuckDB materialises it once, Spark caches it)
========================  =============================================================================

Templates are written in the SQL that DuckDB and Spark SQL share; the few functions that differ
are Jinja macros (``days``, ``add_days``, ``make_date``).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import jinja2

TEMPLATE_DIR = Path(str(resources.files("yibao.audit") / "templates"))


class Dialect:
    def __init__(self, name: str) -> None:
        assert name in ("duckdb", "spark")
        self.name = name

    def days(self, a: str, b: str) -> str:
        """Whole days from date a to date b."""
        return f"date_diff('day', {a}, {b})" if self.name == "duckdb" else f"datediff({b}, {a})"

    def add_days(self, d: str, n: int) -> str:
        return f"({d} + {int(n)})" if self.name == "duckdb" else f"date_add({d}, {int(n)})"

    def make_date(self, y: str, m: int, d: int) -> str:
        return f"make_date(cast({y} as integer), {int(m)}, {int(d)})"

    @property
    def timestamp(self) -> str:
        """Local date-time without a zone (Spark's TIMESTAMP is zoned; its TIMESTAMP_NTZ is not)."""
        return "timestamp" if self.name == "duckdb" else "timestamp_ntz"

    def json_string(self, col: str, key: str) -> str:
        return f"json_extract_string({col}, '$.{key}')" if self.name == "duckdb" else f"get_json_object({col}, '$.{key}')"


def _sqlstr(value) -> str:
    text = str(value)
    return "'" + text.replace("'", "''") + "'"


def _sqllist(values) -> str:
    if not values:
        return "null"
    return ", ".join(_sqlstr(v) for v in values)


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), undefined=jinja2.StrictUndefined,
                             autoescape=False, keep_trailing_newline=False)
    env.filters["sqlstr"] = _sqlstr
    env.filters["sqllist"] = _sqllist
    return env


def render_template(template: str, *, dialect: Dialect, params: dict, kb: str | None) -> str:
    tpl = _env().get_template(f"{template}.sql")
    return tpl.render(p=_Params(params), kb=kb or "", days=dialect.days, add_days=dialect.add_days,
                      make_date=dialect.make_date)


class _Params(dict):
    """Parameters, readable as attributes in templates (``p.max_days``); decimals given as text are numbers."""

    def __getattr__(self, name):
        try:
            value = self[name]
        except KeyError:
            raise jinja2.UndefinedError(f"参数 {name} 未定义") from None
        if isinstance(value, str) and name == "min_exam_share":
            from decimal import Decimal

            return Decimal(value)
        return value


def rule_sql(rule, dialect: Dialect) -> str:
    """The rule's query: its template rendered with its parameters, limited to its dates in force."""
    body = render_template(rule.rtype.template, dialect=dialect, params=rule.params, kb=rule.knowledge)
    where = f"q.event_date >= date '{rule.effective_from.isoformat()}'"
    if rule.effective_to is not None:
        where += f" and q.event_date <= date '{rule.effective_to.isoformat()}'"
    return f"select q.* from (\n{body}\n) q where {where}"


# ── standard views ────────────────────────────────────────────────────────────────────────────

def base_selects(d: Dialect, raw: dict[str, str], *, trace_from_lines: bool) -> dict[str, str]:
    """SELECTs of the standard views over raw relations (names of views/tables holding the files)."""
    out = {
        "persons": f"select psn_no, gend, cast(brdy as date) as brdy, cast(death_date as date) as death_date, "
                   f"cast(psn_insu_date as date) as insu_begn_date, cast(move_out_date as date) as move_out_date "
                   f"from {raw['persons']}",
        "institutions": f"select i.fixmedins_code, coalesce(i.medins_lv, 'pharmacy') as medins_lv, r.lv_rank "
                        f"from {raw['institutions']} i left join level_ranks r on r.medins_lv = coalesce(i.medins_lv, 'pharmacy')",
        "catalogue": f"select med_list_codg, med_list_name as item_name, list_type, med_chrgitm_type, chrgitm_lv, "
                     f"cast(pric_uplmt_amt as decimal(16, 6)) as pric_uplmt_amt, lmt_used_flag from {raw['catalogue']}",
        "encounters": f"select e.mdtrt_id, e.psn_no, e.fixmedins_code, e.insutype, e.med_type, "
                      f"cast(e.begntime as {d.timestamp}) as begntime, cast(e.endtime as {d.timestamp}) as endtime, "
                      f"e.dscg_maindiag_code, e.dept, e.dscg_way, {d.json_string('e.exp_content', 'REL_TTP_FLAG')} as rel_ttp_flag, "
                      f"g.drg_code from {raw['encounters']} e left join {raw['drg_groups']} g on g.mdtrt_id = e.mdtrt_id",
        "diagnoses": f"select mdtrt_id, cast(diag_srt_no as integer) as diag_srt_no, diag_code, maindiag_flag from {raw['diagnoses']}",
        "procedures": f"select mdtrt_id, cast(srt_no as integer) as srt_no, oprn_oprt_code from {raw['procedures']}",
        "lines": f"select mdtrt_id, feedetl_sn, coalesce(try_cast(feedetl_sn as bigint), 0) as sn, med_list_codg, "
                 f"cast(fee_ocur_time as {d.timestamp}) as fee_ocur_time, cast(fee_ocur_time as date) as fee_date, "
                 f"cast(pric as decimal(16, 6)) as pric, cast(cnt as decimal(16, 4)) as cnt, "
                 f"cast(cast(det_item_fee_sumamt as decimal(16, 2)) * 100 as bigint) as amt, bilg_dept_codg from {raw['fee_lines']}",
        "sales": f"select fixmedins_code, med_list_codg, cast(sel_time as {d.timestamp}) as sel_time, "
                 f"cast(cnt as decimal(16, 4)) as cnt, cast(pric as decimal(16, 6)) as pric from {raw['sales']}",
        "purchases": f"select fixmedins_code, med_list_codg, cast(purc_date as date) as purc_date, "
                     f"cast(purc_cnt as decimal(16, 4)) as purc_cnt from {raw['purchases']}",
    }
    key = (f"mdtrt_id, feedetl_sn, coalesce(try_cast(feedetl_sn as bigint), 0) as sn, "
           f"cast(fee_ocur_time as {d.timestamp}) as fee_ocur_time")
    if trace_from_lines:
        split = ("unnest(string_split(drug_trac_codg, ','))" if d.name == "duckdb"
                 else "explode(split(drug_trac_codg, ','))")
        out["trace_codes"] = f"select {key}, {split} as code from {raw['fee_lines']} where drug_trac_codg is not null"
    else:
        out["trace_codes"] = f"select {key}, drug_trac_codg as code from {raw['trace_codes']}"
    return out


def derived_selects(d: Dialect) -> dict[str, str]:
    age = ("(year(e.begntime) - year(p.brdy) - case when month(e.begntime) * 100 + dayofmonth(e.begntime) "
           "< month(p.brdy) * 100 + dayofmonth(p.brdy) then 1 else 0 end)")
    return {
        "ex": f"""
            select e.mdtrt_id, e.psn_no, e.fixmedins_code, e.insutype, e.med_type, e.begntime, e.endtime,
                   cast(e.begntime as date) as begn_date, cast(e.endtime as date) as end_date,
                   {d.days('cast(e.begntime as date)', 'cast(e.endtime as date)')} as ipt_days,
                   e.dscg_maindiag_code, e.dept, e.dscg_way, e.rel_ttp_flag, e.drg_code,
                   coalesce(m.medfee, cast(0 as bigint)) as medfee, year(e.begntime) as year,
                   p.gend, p.brdy, {age} as age, p.death_date, p.insu_begn_date, p.move_out_date,
                   i.medins_lv, i.lv_rank
            from encounters e
            left join persons p on p.psn_no = e.psn_no
            left join institutions i on i.fixmedins_code = e.fixmedins_code
            left join (select mdtrt_id, sum(amt) as medfee from lines group by mdtrt_id) m on m.mdtrt_id = e.mdtrt_id""",
        "lx": """
            select l.mdtrt_id, l.feedetl_sn, l.sn, l.med_list_codg, l.fee_ocur_time, l.fee_date, l.pric, l.cnt, l.amt,
                   l.bilg_dept_codg, e.psn_no, e.fixmedins_code, e.med_type, e.insutype, e.dept, e.begn_date,
                   e.dscg_maindiag_code, e.age, e.gend, e.medins_lv, e.lv_rank,
                   c.item_name, c.list_type, c.med_chrgitm_type, c.lmt_used_flag
            from lines l
            join ex e on e.mdtrt_id = l.mdtrt_id
            left join catalogue c on c.med_list_codg = l.med_list_codg""",
    }


# ── the files of a region-format folder ───────────────────────────────────────────────────────

PARTITIONED = ("encounters", "diagnoses", "procedures", "fee_lines")
SINGLE = ("persons", "institutions", "catalogue")
OPTIONAL = ("sales", "purchases", "trace_codes", "drg_groups")

# Columns of optional files, for empty stand-ins when a folder has none.
OPTIONAL_SCHEMAS = {
    "sales": {"fixmedins_code": "varchar", "med_list_codg": "varchar", "sel_time": "timestamp", "cnt": "decimal(16,4)",
              "pric": "decimal(16,6)"},
    "purchases": {"fixmedins_code": "varchar", "med_list_codg": "varchar", "purc_date": "date", "purc_cnt": "decimal(16,4)"},
    "trace_codes": {"mdtrt_id": "varchar", "feedetl_sn": "varchar", "fee_ocur_time": "timestamp", "drug_trac_codg": "varchar"},
    "drg_groups": {"mdtrt_id": "varchar", "drg_code": "varchar"},
}


def files(region: Path, table: str) -> list[Path]:
    if table in PARTITIONED:
        return sorted((region / table).glob("*/*.parquet"))
    p = region / f"{table}.parquet"
    return [p] if p.exists() else []


def check_region(region: Path) -> None:
    if not region.is_dir():
        raise FileNotFoundError(f"{region} 不是目录")
    missing = [t for t in PARTITIONED + SINGLE if not files(region, t)]
    if missing:
        raise FileNotFoundError(f"{region} 缺少 {', '.join(missing)}（应为 yibao synth 生成或由数据库导出的区域目录）")


def has_line_trace_codes(region: Path) -> bool:
    import pyarrow.parquet as pq

    if files(region, "trace_codes"):
        return False
    first = files(region, "fee_lines")[0]
    return "drug_trac_codg" in pq.read_schema(first).names
