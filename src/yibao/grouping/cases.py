"""The inpatient case file a bureau has: one row per settlement, national field names.

Read from CSV (UTF-8, header row) or Parquet into a DuckDB view ``cases`` with typed columns.
Amounts are yuan with at most two decimals in the file and ``BIGINT`` fen in the view. A value
that cannot be read stops with a :class:`CaseFileError` naming the line and the column.

==========================  ====================================================  ===========
column                      meaning                                               needed by
==========================  ====================================================  ===========
``setl_id``                 结算ID, unique                                        all
``mdtrt_id``                就诊ID                                                optional
``psn_no``                  人员编号                                              optional
``insutype``                险种类型 (310 职工, 390 居民)                         optional
``fixmedins_code``          定点医药机构编号 (the hospital)                       all
``fixmedins_name``          定点医药机构名称                                      optional
``medins_lv``               医疗机构等级 (mapped to level3/level2/level1/…)       all
``setl_time``               结算时间 ``YYYY-MM-DD[ HH:MM:SS]`` (year and month)   all¹
``setl_year``               结算年度, when ``setl_time`` is absent                ¹
``dscg_maindiag_code``      出院主要诊断代码 (ICD-10 医保版)                     all
``oprn_oprt_code``          手术操作代码, ``|``-separated, main procedure first   all
``othr_diag_codes``         其他诊断代码, ``|``-separated                         DRG
``gend``                    性别 1/2                                              DRG
``age``                     年龄 (岁)                                             DRG
``nwb_age``                 新生儿入院年龄 (天)                                   DRG
``nwb_bir_wt``              新生儿出生体重 (克)                                   DRG
``ipt_days``                住院天数                                              reports
``medfee_sumamt``           医疗费总额 (元)                                       all
``fund_pay_sumamt``         基金支付总额 (元)                                     all
``day_surg_flag``           日间手术标志 1/0                                      optional
``drg_code``                DRG already assigned (skips grouping)                 optional
==========================  ====================================================  ===========

¹ one of ``setl_time`` / ``setl_year``; monthly pre-settlement needs ``setl_time``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

REQUIRED = ("setl_id", "fixmedins_code", "medins_lv", "dscg_maindiag_code", "oprn_oprt_code",
            "medfee_sumamt", "fund_pay_sumamt")
OPTIONAL_TEXT = ("mdtrt_id", "psn_no", "insutype", "fixmedins_name", "othr_diag_codes", "drg_code")
INT_COLUMNS = ("gend", "age", "nwb_age", "ipt_days", "day_surg_flag", "setl_year")
NUM_COLUMNS = ("nwb_bir_wt",)
MONEY_COLUMNS = ("medfee_sumamt", "fund_pay_sumamt")
DRG_FIELDS = ("othr_diag_codes", "gend", "age", "nwb_age", "nwb_bir_wt")


class CaseFileError(ValueError):
    def __init__(self, message: str, line: int | None = None, column: str | None = None) -> None:
        self.line, self.column = line, column
        where = ""
        if line is not None:
            where = f"第{line}行 (line {line})"
        if column:
            where += f" 列 {column} (column {column})"
        super().__init__(f"{where}: {message}" if where else message)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def open_cases(con: duckdb.DuckDBPyConnection, path: str | Path, *, view: str = "cases",
               need: tuple[str, ...] = ()) -> list[str]:
    """Create view ``view`` over the case file. Returns the columns the file has.

    ``need``: extra columns required for this use (e.g. the DRG fields)."""
    path = Path(path)
    if not path.exists():
        raise CaseFileError(f"找不到病例文件 / case file not found: {path}")
    raw = f"{view}_raw"
    if path.suffix.lower() in (".parquet", ".pq"):
        src = f"read_parquet({_lit(str(path))})"
        line_offset = 0  # Parquet: "line" is the row number
    else:
        src = f"read_csv({_lit(str(path))}, header=true, all_varchar=true, auto_detect=true)"
        line_offset = 1
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT *, row_number() OVER () AS _rn FROM {src}")
    except duckdb.Error as exc:
        raise CaseFileError(f"无法读取病例文件 {path}: {exc}") from None
    cols = [r[0] for r in con.execute(f"DESCRIBE {raw}").fetchall() if r[0] != "_rn"]
    missing = [c for c in (*REQUIRED, *need) if c not in cols]
    if "setl_time" not in cols and "setl_year" not in cols:
        missing.append("setl_time")
    if missing:
        raise CaseFileError(f"缺少列 {', '.join(missing)} (missing column); 文件的列为 {', '.join(cols)}",
                            1, missing[0])

    def text(c: str) -> str:
        return f"trim(CAST({_q(c)} AS VARCHAR))"

    def first_bad(cond: str, column: str, message: str) -> None:
        row = con.execute(f"SELECT min(_rn) FROM {raw} WHERE {cond}").fetchone()
        if row and row[0] is not None:
            value = con.execute(f"SELECT CAST({_q(column)} AS VARCHAR) FROM {raw} WHERE _rn = ?", [row[0]]).fetchone()
            raise CaseFileError(f"{message}: {value[0]!r}", int(row[0]) + line_offset, column)

    for c in ("setl_id", "fixmedins_code", "dscg_maindiag_code"):
        first_bad(f"{_q(c)} IS NULL OR {text(c)} = ''", c, "不能为空 (empty)")
    for c in MONEY_COLUMNS:
        first_bad(f"{_q(c)} IS NULL OR NOT regexp_full_match({text(c)}, '-?[0-9]+(\\.[0-9]{{1,2}})?')",
                  c, "不是金额（元，最多两位小数）(not an amount)")
    for c in INT_COLUMNS:
        if c in cols:
            first_bad(f"{_q(c)} IS NOT NULL AND {text(c)} <> '' AND TRY_CAST(TRY_CAST({text(c)} AS DOUBLE) AS BIGINT) IS NULL",
                      c, "不是整数 (not a whole number)")
            first_bad(f"{_q(c)} IS NOT NULL AND {text(c)} <> '' AND TRY_CAST({text(c)} AS DOUBLE) <> floor(TRY_CAST({text(c)} AS DOUBLE))",
                      c, "不是整数 (not a whole number)")
    for c in NUM_COLUMNS:
        if c in cols:
            first_bad(f"{_q(c)} IS NOT NULL AND {text(c)} <> '' AND TRY_CAST({text(c)} AS DOUBLE) IS NULL",
                      c, "不是数字 (not a number)")
    if "setl_time" in cols:
        first_bad(f"TRY_CAST(substr({text('setl_time')}, 1, 10) AS DATE) IS NULL", "setl_time",
                  "不是日期 YYYY-MM-DD (not a date)")
    dup = con.execute(f"SELECT setl_id, min(_rn), count(*) FROM {raw} GROUP BY setl_id HAVING count(*) > 1 ORDER BY 2 LIMIT 1").fetchone()
    if dup:
        second = con.execute(f"SELECT _rn FROM {raw} WHERE setl_id = ? ORDER BY _rn LIMIT 1 OFFSET 1", [dup[0]]).fetchone()[0]
        raise CaseFileError(f"结算ID {dup[0]} 重复 (duplicate setl_id), 首次出现在第{int(dup[1]) + line_offset}行",
                            int(second) + line_offset, "setl_id")

    def money(c: str) -> str:
        return f"CAST(round(CAST({text(c)} AS DECIMAL(18,2)) * 100) AS BIGINT)"

    def opt_text(c: str) -> str:
        return f"{text(c)}" if c in cols else "CAST(NULL AS VARCHAR)"

    def opt_int(c: str) -> str:
        return (f"CAST(TRY_CAST(NULLIF({text(c)}, '') AS DOUBLE) AS BIGINT)" if c in cols else "CAST(NULL AS BIGINT)")

    if "setl_time" in cols:
        year = f"CAST(substr({text('setl_time')}, 1, 4) AS INTEGER)"
        month = f"CAST(substr({text('setl_time')}, 6, 2) AS INTEGER)"
    else:
        year = f"CAST({opt_int('setl_year')} AS INTEGER)"
        month = "CAST(NULL AS INTEGER)"
    select = f"""
        SELECT {text('setl_id')} AS setl_id,
               {opt_text('mdtrt_id')} AS mdtrt_id,
               {opt_text('psn_no')} AS psn_no,
               {opt_text('insutype')} AS insutype,
               {text('fixmedins_code')} AS fixmedins_code,
               {opt_text('fixmedins_name')} AS fixmedins_name,
               coalesce({text('medins_lv')}, '') AS medins_lv,
               {year} AS setl_year,
               {month} AS setl_month,
               {text('dscg_maindiag_code')} AS dscg_maindiag_code,
               coalesce({text('oprn_oprt_code')}, '') AS oprn_oprt_code,
               {opt_text('othr_diag_codes')} AS othr_diag_codes,
               {opt_int('gend')} AS gend,
               {opt_int('age')} AS age,
               {opt_int('nwb_age')} AS nwb_age,
               {"TRY_CAST(NULLIF(" + text('nwb_bir_wt') + ", '') AS DOUBLE)" if 'nwb_bir_wt' in cols else 'CAST(NULL AS DOUBLE)'} AS nwb_bir_wt,
               {opt_int('ipt_days')} AS ipt_days,
               {money('medfee_sumamt')} AS medfee_fen,
               {money('fund_pay_sumamt')} AS fund_fen,
               coalesce({opt_int('day_surg_flag')}, 0) AS day_surg_flag,
               {opt_text('drg_code')} AS drg_code,
               _rn
        FROM {raw}
    """
    con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {select}")
    return cols
