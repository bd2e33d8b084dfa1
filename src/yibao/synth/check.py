"""Reference detectors: each irregularity pattern's definition written as a query over a region.

These are the definitions of docs/synthetic-region.md in executable form. The tests run them on
generated regions and require them to find exactly the labelled cases (precision = recall = 1);
the audit engineer's detectors can be compared with them.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from .irregular import PATTERNS

LINE_PATTERNS = ("gender_mismatch", "age_mismatch", "level_mismatch", "exclusive_items", "included_consumable",
                 "frequency_excess", "price_over_ceiling", "off_indication", "over_testing_hba1c",
                 "trace_code_resale")
ENCOUNTER_PATTERNS = ("split_admission", "phantom_stay", "overlong_stay", "drg_upcoding", "care_after_death",
                      "two_places", "third_party_injury")

AGE = ("(year(e.begntime) - year(p.brdy) - case when month(e.begntime) * 100 + day(e.begntime) "
       "< month(p.brdy) * 100 + day(p.brdy) then 1 else 0 end)")
RANK = ("case i.medins_lv when 'village' then 1 when 'township' then 2 when 'level1' then 3 "
        "when 'level2' then 4 when 'level3' then 5 else 0 end")

QUERIES: dict[str, str] = {
    "gender_mismatch": """
        select f.mdtrt_id, f.feedetl_sn from f join e using (mdtrt_id) join p on p.psn_no = e.psn_no
        join kb_gender g on g.med_list_codg = f.med_list_codg where f.cnt > 0 and p.gend <> g.gend""",
    "age_mismatch": f"""
        select f.mdtrt_id, f.feedetl_sn from f join e using (mdtrt_id) join p on p.psn_no = e.psn_no
        join kb_age a on a.med_list_codg = f.med_list_codg
        where f.cnt > 0 and ({AGE} < coalesce(a.min_age, -1) or {AGE} > coalesce(a.max_age, 999))""",
    "level_mismatch": f"""
        select f.mdtrt_id, f.feedetl_sn from f join e using (mdtrt_id) join i on i.fixmedins_code = e.fixmedins_code
        join kb_level k on k.med_list_codg = f.med_list_codg where f.cnt > 0 and {RANK} < k.min_lv_rank""",
    "exclusive_items": """
        select distinct b.mdtrt_id, b.feedetl_sn from kb_exclusive x
        join f a on a.med_list_codg = x.med_list codg_a_placeholder""",
    "included_consumable": """
        select distinct b.mdtrt_id, b.feedetl_sn from kb_included x
        join f a on a.med_list_codg = x.med_list_codg and a.cnt > 0
        join f b on b.mdtrt_id = a.mdtrt_id and b.med_list_codg = x.included_med_list_codg and b.cnt > 0""",
    "frequency_excess": """
        with lim as (select f.*, k.max_per_day, k.max_per_visit from f join kb_frequency k using (med_list_codg)
                     where k.max_per_year is null),
        d as (select mdtrt_id, feedetl_sn, max_per_day as mx,
                     sum(cnt) over (partition by mdtrt_id, med_list_codg, cast(fee_ocur_time as date)
                                    order by fee_ocur_time, cast(feedetl_sn as bigint)) as run
              from lim where max_per_day is not null),
        v as (select mdtrt_id, feedetl_sn, max_per_visit as mx,
                     sum(cnt) over (partition by mdtrt_id, med_list_codg
                                    order by fee_ocur_time, cast(feedetl_sn as bigint)) as run
              from lim where max_per_visit is not null)
        select mdtrt_id, feedetl_sn from d where run > mx
        union select mdtrt_id, feedetl_sn from v where run > mx""",
    "price_over_ceiling": """
        select f.mdtrt_id, f.feedetl_sn from f join c using (med_list_codg)
        where c.pric_uplmt_amt is not null and f.pric > c.pric_uplmt_amt and f.cnt > 0""",
    "off_indication": """
        select f.mdtrt_id, f.feedetl_sn from f join c using (med_list_codg)
        where c.lmt_used_flag = '1' and f.cnt > 0 and not exists (
            select 1 from dx join kb_indication k on starts_with(dx.diag_code, k.icd10_prefix)
            where dx.mdtrt_id = f.mdtrt_id and k.med_list_codg = f.med_list_codg)""",
    "over_testing_hba1c": """
        with h as (select f.mdtrt_id, f.feedetl_sn, e.psn_no, year(f.fee_ocur_time) as y,
                          row_number() over (partition by e.psn_no, year(f.fee_ocur_time)
                                             order by f.fee_ocur_time, f.mdtrt_id, cast(f.feedetl_sn as bigint)) as n
                   from f join e using (mdtrt_id) join kb_frequency k using (med_list_codg)
                   where k.max_per_year is not null and f.cnt > 0)
        select h.mdtrt_id, h.feedetl_sn from h join kb_frequency k on true
        where k.max_per_year is not null and h.n > k.max_per_year""",
    "trace_code_resale": """
        with codes as (select mdtrt_id, feedetl_sn, fee_ocur_time, unnest(string_split(drug_trac_codg, ',')) as code
                       from f where drug_trac_codg is not null),
        r as (select *, row_number() over (partition by code order by fee_ocur_time, mdtrt_id, cast(feedetl_sn as bigint)) n
              from codes)
        select distinct mdtrt_id, feedetl_sn from r where n > 1""",
    "split_admission": """
        with s as (select mdtrt_id, psn_no, begntime, endtime, dscg_maindiag_code,
                          lag(endtime) over w as prev_end, lag(dscg_maindiag_code) over w as prev_dx
                   from e where med_type = '21' window w as (partition by psn_no order by begntime))
        select mdtrt_id from s where prev_end is not null
          and date_diff('day', cast(prev_end as date), cast(begntime as date)) between 0 and 15
          and left(prev_dx, 3) = left(dscg_maindiag_code, 3)""",
    "phantom_stay": """
        with d as (select f.mdtrt_id, cast(f.fee_ocur_time as date) as day,
                          bool_or(c.med_chrgitm_type = '01') as bed,
                          bool_and(c.med_chrgitm_type in ('01', '07')) as only_bed
                   from f join c using (med_list_codg) join e using (mdtrt_id)
                   where e.med_type = '21' and f.cnt > 0 group by 1, 2)
        select mdtrt_id from d where bed and only_bed group by 1 having count(*) >= 3""",
    "overlong_stay": "select mdtrt_id from e where med_type = '21' and ipt_days > 60",
    "drg_upcoding": """
        select distinct dx.mdtrt_id from dx join e using (mdtrt_id)
        where e.med_type = '21' and dx.maindiag_flag = '0'
          and dx.diag_code in (select diag_code from kb_dx_evidence)
          and not exists (select 1 from f join kb_dx_evidence k on k.med_list_codg = f.med_list_codg
                          where f.mdtrt_id = dx.mdtrt_id and k.diag_code = dx.diag_code and f.cnt > 0)""",
    "care_after_death": """
        select e.mdtrt_id from e join p using (psn_no)
        where p.death_date is not null and cast(e.begntime as date) > p.death_date""",
    "two_places": """
        select distinct o.mdtrt_id from e s join e o on o.psn_no = s.psn_no and o.mdtrt_id <> s.mdtrt_id
        where s.med_type = '21' and o.fixmedins_code <> s.fixmedins_code
          and cast(o.begntime as date) > cast(s.begntime as date)
          and cast(o.begntime as date) < cast(s.endtime as date)""",
    "third_party_injury": """
        select distinct e.mdtrt_id from e left join dx using (mdtrt_id)
        where json_extract_string(e.exp_content, '$.REL_TTP_FLAG') = '1'
           or dx.diag_code like 'V%' or dx.diag_code similar to '(X8[5-9]|X9.|Y0[0-9]).*'""",
    "stock_mismatch": """
        with years as (select distinct year(sel_time) as y from s),
        pairs as (select distinct fixmedins_code, med_list_codg from s
                  union select distinct fixmedins_code, med_list_codg from pu)
        select pairs.fixmedins_code, pairs.med_list_codg, years.y from pairs cross join years
        where coalesce((select sum(purc_cnt) from pu where pu.fixmedins_code = pairs.fixmedins_code
                        and pu.med_list_codg = pairs.med_list_codg and year(pu.purc_date) <= years.y), 0)
            - coalesce((select sum(cnt) from s where s.fixmedins_code = pairs.fixmedins_code
                        and s.med_list_codg = pairs.med_list_codg and year(s.sel_time) <= years.y), 0) < 0""",
}
QUERIES["exclusive_items"] = """
    select distinct b.mdtrt_id, b.feedetl_sn from kb_exclusive x
    join f a on a.med_list_codg = x.med_list_codg_a and a.cnt > 0
    join f b on b.mdtrt_id = a.mdtrt_id and b.med_list_codg = x.med_list_codg_b and b.cnt > 0
    where x.scope = 'encounter' or cast(a.fee_ocur_time as date) = cast(b.fee_ocur_time as date)"""


def connect(region: str | Path) -> duckdb.DuckDBPyConnection:
    d = Path(region)
    con = duckdb.connect()
    views = {
        "e": f"read_parquet('{d}/encounters/*/*.parquet', hive_partitioning = true)", "f": f"read_parquet('{d}/fee_lines/*/*.parquet', hive_partitioning = true)",
        "dx": f"read_parquet('{d}/diagnoses/*/*.parquet', hive_partitioning = true)", "p": f"read_parquet('{d}/persons.parquet')",
        "i": f"read_parquet('{d}/institutions.parquet')", "c": f"read_parquet('{d}/catalogue.parquet')",
        "s": f"read_parquet('{d}/sales.parquet')", "pu": f"read_parquet('{d}/purchases.parquet')",
        "labels": f"read_parquet('{d}/labels.parquet')",
    }
    for name in ("kb_gender", "kb_age", "kb_level", "kb_exclusive", "kb_included", "kb_frequency", "kb_indication",
                 "kb_dx_evidence"):
        views[name] = f"read_parquet('{d}/{name}.parquet')"
    for name, src in views.items():
        con.execute(f"create view {name} as select * from {src}")
    return con


def _keys(rows) -> set[tuple]:
    return {tuple(str(v) for v in r) for r in rows}


def compare(region: str | Path) -> dict[str, dict[str, int]]:
    """Per pattern: labelled, detected, true positives, false positives, false negatives."""
    con = connect(region)
    out = {}
    for pattern in PATTERNS:
        detected = _keys(con.execute(QUERIES[pattern]).fetchall())
        if pattern in LINE_PATTERNS:
            q = "select mdtrt_id, feedetl_sn from labels where pattern = ?"
        elif pattern == "stock_mismatch":
            q = "select fixmedins_code, med_list_codg, year from labels where pattern = ?"
        else:
            q = "select mdtrt_id from labels where pattern = ?"
        labelled = _keys(con.execute(q, [pattern]).fetchall())
        tp = len(detected & labelled)
        out[pattern] = {"labelled": len(labelled), "detected": len(detected), "tp": tp,
                        "fp": len(detected - labelled), "fn": len(labelled - detected)}
    return out


def mismatches(region: str | Path, pattern: str) -> tuple[set, set]:
    """(detected but not labelled, labelled but not detected) for one pattern, for debugging."""
    con = connect(region)
    detected = _keys(con.execute(QUERIES[pattern]).fetchall())
    if pattern in LINE_PATTERNS:
        q = "select mdtrt_id, feedetl_sn from labels where pattern = ?"
    elif pattern == "stock_mismatch":
        q = "select fixmedins_code, med_list_codg, year from labels where pattern = ?"
    else:
        q = "select mdtrt_id from labels where pattern = ?"
    labelled = _keys(con.execute(q, [pattern]).fetchall())
    return detected - labelled, labelled - detected
