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
               need: tuple[str, ...] = (), years: list[int] | None = None) -> list[str]:
    """Create table ``view`` from the case file (only the rows of ``years`` when given).
    Returns the columns the file has. ``need``: extra columns required for this use.

    One pass over the file: every value is checked while the typed table is built; the line
    number of a bad value is looked up only when there is one."""
    path = Path(path)
    if not path.exists():
        raise CaseFileError(f"找不到病例文件 / case file not found: {path}")
    if path.suffix.lower() in (".parquet", ".pq"):
        src = f"read_parquet({_lit(str(path))})"
        line_offset = 0  # Parquet: "line" is the row number
    else:
        src = f"read_csv({_lit(str(path))}, header=true, all_varchar=true, auto_detect=true)"
        line_offset = 1
    try:
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]
    except duckdb.Error as exc:
        raise CaseFileError(f"无法读取病例文件 {path}: {exc}") from None
    missing = [c for c in (*REQUIRED, *need) if c not in cols]
    if "setl_time" not in cols and "setl_year" not in cols:
        missing.append("setl_time")
    if missing:
        raise CaseFileError(f"缺少列 {', '.join(missing)} (missing column); 文件的列为 {', '.join(cols)}",
                            1, missing[0])

    known = [c for c in (*REQUIRED, *OPTIONAL_TEXT, *INT_COLUMNS, *NUM_COLUMNS, "setl_time") if c in cols]

    def t(c: str) -> str:
        return f"t_{c}"

    # -- checks, in column order: the first failing one names the column
    checks: list[tuple[str, str, str]] = []
    for c in ("setl_id", "fixmedins_code", "dscg_maindiag_code"):
        checks.append((c, f"{t(c)} IS NULL OR {t(c)} = ''", "不能为空 (empty)"))
    for c in MONEY_COLUMNS:
        checks.append((c, f"{t(c)} IS NULL OR NOT regexp_full_match({t(c)}, '-?[0-9]+(\\.[0-9]{{1,2}})?')",
                       "不是金额（元，最多两位小数）(not an amount)"))
    for c in INT_COLUMNS:
        if c in cols:
            checks.append((c, f"{t(c)} <> '' AND (TRY_CAST({t(c)} AS DOUBLE) IS NULL OR "
                              f"TRY_CAST({t(c)} AS DOUBLE) <> floor(TRY_CAST({t(c)} AS DOUBLE)))",
                           "不是整数 (not a whole number)"))
    for c in NUM_COLUMNS:
        if c in cols:
            checks.append((c, f"{t(c)} <> '' AND TRY_CAST({t(c)} AS DOUBLE) IS NULL", "不是数字 (not a number)"))
    if "setl_time" in cols:
        checks.append(("setl_time", f"TRY_CAST(substr({t('setl_time')}, 1, 10) AS DATE) IS NULL",
                       "不是日期 YYYY-MM-DD (not a date)"))
    bad = "CASE " + " ".join(f"WHEN {cond} THEN {_lit(c)}" for c, cond, _ in checks) + " END"
    messages = {c: m for c, _, m in checks}

    def opt_text(c: str) -> str:
        return t(c) if c in cols else "CAST(NULL AS VARCHAR)"

    def opt_int(c: str) -> str:
        return f"CAST(TRY_CAST(NULLIF({t(c)}, '') AS DOUBLE) AS BIGINT)" if c in cols else "CAST(NULL AS BIGINT)"

    def money(c: str) -> str:
        return f"TRY_CAST(round(TRY_CAST({t(c)} AS DECIMAL(18,2)) * 100) AS BIGINT)"

    if "setl_time" in cols:
        year = f"TRY_CAST(substr({t('setl_time')}, 1, 4) AS INTEGER)"
        month = f"TRY_CAST(substr({t('setl_time')}, 6, 2) AS INTEGER)"
    else:
        year = f"CAST({opt_int('setl_year')} AS INTEGER)"
        month = "CAST(NULL AS INTEGER)"
    where = ""
    if years is not None:
        ys = ",".join(str(int(y)) for y in sorted(set(years)))
        where = f"WHERE ({year} IN ({ys}) OR {year} IS NULL)"
    texts = ", ".join(f"trim(CAST({_q(c)} AS VARCHAR)) AS {t(c)}" for c in known)
    nwb = (f"TRY_CAST(NULLIF({t('nwb_bir_wt')}, '') AS DOUBLE)" if "nwb_bir_wt" in cols else "CAST(NULL AS DOUBLE)")
    try:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE {view} AS
            SELECT {t('setl_id')} AS setl_id,
                   {opt_text('mdtrt_id')} AS mdtrt_id,
                   {opt_text('psn_no')} AS psn_no,
                   {opt_text('insutype')} AS insutype,
                   {t('fixmedins_code')} AS fixmedins_code,
                   {opt_text('fixmedins_name')} AS fixmedins_name,
                   coalesce({t('medins_lv')}, '') AS medins_lv,
                   {year} AS setl_year,
                   {month} AS setl_month,
                   {t('dscg_maindiag_code')} AS dscg_maindiag_code,
                   coalesce({t('oprn_oprt_code')}, '') AS oprn_oprt_code,
                   {opt_text('othr_diag_codes')} AS othr_diag_codes,
                   {opt_int('gend')} AS gend,
                   {opt_int('age')} AS age,
                   {opt_int('nwb_age')} AS nwb_age,
                   {nwb} AS nwb_bir_wt,
                   {opt_int('ipt_days')} AS ipt_days,
                   {money('medfee_sumamt')} AS medfee_fen,
                   {money('fund_pay_sumamt')} AS fund_fen,
                   coalesce({opt_int('day_surg_flag')}, 0) AS day_surg_flag,
                   {opt_text('drg_code')} AS drg_code,
                   {bad} AS _bad
            FROM (SELECT {texts} FROM {src}) {where}""")
    except duckdb.Error as exc:
        raise CaseFileError(f"无法读取病例文件 {path}: {exc}") from None

    first = con.execute(f"SELECT _bad, setl_id FROM {view} WHERE _bad IS NOT NULL LIMIT 1").fetchone()
    if first:
        column = first[0]
        row = con.execute(f"""SELECT min(_rn) FROM (
                SELECT row_number() OVER () AS _rn, trim(CAST({_q(column)} AS VARCHAR)) AS v, {texts} FROM {src})
            WHERE {dict((c, cond) for c, cond, _ in checks)[column]}""").fetchone()
        line = int(row[0]) if row and row[0] is not None else None
        value = None
        if line is not None:
            value = con.execute(f"""SELECT CAST({_q(column)} AS VARCHAR) FROM (
                SELECT row_number() OVER () AS _rn, * FROM {src}) WHERE _rn = ?""", [line]).fetchone()[0]
        raise CaseFileError(f"{messages[column]}: {value!r}", None if line is None else line + line_offset, column)
    dup = con.execute(f"SELECT setl_id FROM {view} GROUP BY setl_id HAVING count(*) > 1 LIMIT 1").fetchone()
    if dup:
        lines = [int(r[0]) + line_offset for r in con.execute(f"""SELECT _rn FROM (
                SELECT row_number() OVER () AS _rn, trim(CAST(setl_id AS VARCHAR)) AS sid FROM {src})
            WHERE sid = ? ORDER BY _rn LIMIT 2""", [dup[0]]).fetchall()]
        raise CaseFileError(f"结算ID {dup[0]} 重复 (duplicate setl_id), 首次出现在第{lines[0]}行", lines[-1], "setl_id")
    return cols
