"""The case file of DRG/DIP, made from the platform's own settlements.

One row per inpatient settlement in force, in the columns of :mod:`yibao.grouping.cases`, read
from the database through DuckDB (``yibao.storage.analytics``) and written as Parquet.
"""

from __future__ import annotations

from pathlib import Path

from yibao.storage.analytics import duck

CASES_SQL = """
WITH s AS (
    SELECT * FROM db.settlements
    WHERE status = 'settled' AND refd_setl_flag = '0' AND clr_type = '21' {years}
),
dx AS (
    SELECT mdtrt_id, string_agg(diag_code, '|' ORDER BY diag_srt_no) FILTER (WHERE diag_srt_no > 1) AS othr
    FROM db.diagnoses WHERE inout_diag_type = '2' AND vali_flag = '1' GROUP BY mdtrt_id
),
px AS (
    SELECT mdtrt_id, string_agg(oprn_oprt_code, '|' ORDER BY srt_no) AS codes FROM db.procedures GROUP BY mdtrt_id
)
SELECT s.setl_id, s.mdtrt_id, s.psn_no, s.insutype, s.fixmedins_code, i.fixmedins_name, i.medins_lv,
       strftime(s.setl_time, '%Y-%m-%d %H:%M:%S') AS setl_time,
       coalesce(e.dscg_maindiag_code, e.dise_codg) AS dscg_maindiag_code,
       coalesce(px.codes, '') AS oprn_oprt_code,
       coalesce(dx.othr, '') AS othr_diag_codes,
       CAST(p.gend AS INTEGER) AS gend,
       CAST(date_diff('year', p.brdy, CAST(e.begntime AS DATE))
            - CASE WHEN strftime(CAST(e.begntime AS DATE), '%m%d') < strftime(p.brdy, '%m%d') THEN 1 ELSE 0 END AS INTEGER) AS age,
       CASE WHEN date_diff('day', p.brdy, CAST(e.begntime AS DATE)) < 365
            THEN CAST(date_diff('day', p.brdy, CAST(e.begntime AS DATE)) AS INTEGER) END AS nwb_age,
       greatest(CAST(date_diff('day', CAST(e.begntime AS DATE), CAST(coalesce(e.endtime, s.setl_time) AS DATE)) AS INTEGER), 1) AS ipt_days,
       CAST(s.medfee_sumamt AS DECIMAL(18, 0)) / 100 AS medfee_sumamt,
       CAST(s.fund_pay_sumamt AS DECIMAL(18, 0)) / 100 AS fund_pay_sumamt
FROM s
JOIN db.encounters e ON e.mdtrt_id = s.mdtrt_id
JOIN db.persons p ON p.psn_no = s.psn_no
JOIN db.institutions i ON i.fixmedins_code = s.fixmedins_code
LEFT JOIN dx ON dx.mdtrt_id = s.mdtrt_id
LEFT JOIN px ON px.mdtrt_id = s.mdtrt_id
WHERE coalesce(e.dscg_maindiag_code, e.dise_codg) IS NOT NULL
ORDER BY s.setl_time, s.setl_id
"""


def export_cases(out: str | Path, *, database_url: str | None = None, years: list[int] | None = None) -> int:
    """Write the inpatient case file to ``out`` (Parquet); returns the number of cases."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    con = duck(database_url)
    where = f"AND setl_year IN ({', '.join(str(int(y)) for y in years)})" if years else ""
    query = CASES_SQL.format(years=where)
    con.execute(
        f"COPY ({query}) TO '{str(out).replace(chr(39), chr(39) * 2)}' (FORMAT parquet, COMPRESSION zstd)"
    )
    return con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]
