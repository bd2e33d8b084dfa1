"""Monthly aggregates that `yibao fund post` keeps, so that the dashboard reads a few hundred
rows instead of a year of settlements.

- ``fund_month_acct``: debits and credits per account and month (from the journal);
- ``fund_month_setl``: settlements per month × scheme × psn_type × institution level × med_type
  × in/out of region × assistance group, with the national amount fields summed (reversal rows
  count −1 and carry negated amounts, so sums are net);
- ``fund_month_persons``: distinct persons with a valid settlement (人数), by scheme and category;
- ``fund_month_hosp`` / ``fund_month_dise``: per institution / principal diagnosis;
- ``fund_month_enrol``: persons insured on the last day of the month.

A month is recomputed whole (delete, then insert … select) whenever posting touched it, or when
its settlements no longer match what the aggregate counted.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from yibao.settlement.model import ASSISTANCE_ORDER
from yibao.storage import schema as s

from .accounts import category_sql
from .sqlutil import TS, month_end, month_start, next_month, period_expr, sql

MONEY_FIELDS = (
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc",
    "hifp_pay", "hifmi_pay", "hifob_pay", "cvlserv_pay", "maf_pay", "fund_pay_sumamt", "acct_pay", "psn_cash_pay",
)
AGG_TABLES = (s.fund_month_setl, s.fund_month_persons, s.fund_month_hosp, s.fund_month_dise, s.fund_month_enrol)


def _assistance_subquery(psn: str, when: str) -> str:
    rank = " ".join(f"WHEN '{g}' THEN {i}" for i, g in enumerate(ASSISTANCE_ORDER, start=1))
    back = " ".join(f"WHEN {i} THEN '{g}'" for i, g in enumerate(ASSISTANCE_ORDER, start=1))
    return (
        f"COALESCE((SELECT CASE MIN(CASE d.assistance {rank} ELSE 99 END) {back} ELSE '' END "
        f"FROM identities d WHERE d.psn_no = {psn} AND d.assistance IS NOT NULL "
        f"AND d.begntime <= {when} AND (d.endtime IS NULL OR d.endtime >= {when})), '')"
    )


def settlement_row_counts(conn: Connection) -> dict[str, int]:
    """Settlement rows (not voided) per month, as in the database now."""
    p = period_expr(conn, "setl_time")
    rows = conn.execute(sql(f"SELECT {p} AS period, COUNT(*) FROM settlements WHERE status <> 'voided' GROUP BY {p}"))
    return {r[0]: r[1] for r in rows}


def stale_periods(conn: Connection) -> set[str]:
    """Months whose settlements changed since their aggregate was computed (new rows, voids)."""
    now = settlement_row_counts(conn)
    stored = {r[0]: r[1] for r in conn.execute(sql("SELECT period, SUM(row_cnt) FROM fund_month_setl GROUP BY period"))}
    return {p for p, n in now.items() if stored.get(p) != n} | {p for p in stored if p not in now}


def refresh(conn: Connection, periods: Iterable[str]) -> list[str]:
    """Recompute every aggregate of the given months (one pass over their settlements per
    aggregate). Returns them sorted."""
    months = sorted(set(periods))
    if months:
        _refresh_months(conn, months)
        analyze(conn)
    return months


def analyze(conn: Connection) -> None:
    """Refresh PostgreSQL's statistics of the aggregate tables just rewritten. Without them (a
    fresh database, autovacuum off or not yet round) the planner takes a year's ~3,000 rows for a
    handful and sorts them for the dashboard's GROUP BYs instead of hashing: about twice the time.
    The tables are small, so this takes milliseconds. SQLite's plans here do not use statistics."""
    if conn.dialect.name != "postgresql":
        return
    for table in (s.fund_month_acct, *AGG_TABLES):
        conn.execute(sql(f"ANALYZE {table.name}"))


def refresh_accounts(conn: Connection, periods: Iterable[str]) -> None:
    months = sorted(set(periods))
    if not months:
        return
    for period in months:
        conn.execute(delete(s.fund_month_acct).where(s.fund_month_acct.c.period == period))
        conn.execute(sql(
            "INSERT INTO fund_month_acct (period, acct_code, debit, credit) "
            "SELECT :p, acct, SUM(dr), SUM(cr) FROM ("
            " SELECT dr_acct AS acct, amount AS dr, 0 AS cr FROM fund_journal WHERE period = :p"
            " UNION ALL SELECT cr_acct AS acct, 0 AS dr, amount AS cr FROM fund_journal WHERE period = :p"
            ") x GROUP BY acct"
        ), {"p": period})


def _refresh_months(conn: Connection, months: list[str]) -> None:
    for table in AGG_TABLES:
        for period in months:
            conn.execute(delete(table).where(table.c.period == period))
    bounds = {"start": month_start(months[0]), "end": month_start(next_month(months[-1]))}
    wanted = ", ".join(f"'{m}'" for m in months)
    window = "s.setl_time >= :start AND s.setl_time < :end"
    per = period_expr(conn, "s.setl_time")
    sums = ", ".join(f"SUM({f}) AS {f}" for f in MONEY_FIELDS)
    cols = ", ".join(MONEY_FIELDS)
    inner_money = ", ".join(f"s.{f}" for f in MONEY_FIELDS)
    conn.execute(sql(
        f"INSERT INTO fund_month_setl (period, insutype, psn_type, medins_lv, med_type, in_region, assistance, setl_cnt, row_cnt, {cols}) "
        f"SELECT period, insutype, psn_type, medins_lv, med_type, in_region, assistance, SUM(n), COUNT(*), {sums} FROM ("
        f" SELECT {per} AS period, s.insutype, COALESCE(s.psn_type, '') AS psn_type, COALESCE(i.medins_lv, '') AS medins_lv,"
        f"  s.med_type, CASE WHEN s.in_region THEN '1' ELSE '0' END AS in_region,"
        f"  {_assistance_subquery('s.psn_no', 's.setl_time')} AS assistance,"
        f"  CASE WHEN s.refd_setl_flag = '1' THEN -1 ELSE 1 END AS n, {inner_money}"
        f" FROM settlements s LEFT JOIN institutions i ON i.fixmedins_code = s.fixmedins_code"
        f" WHERE s.status <> 'voided' AND {window}"
        f") x WHERE period IN ({wanted}) GROUP BY period, insutype, psn_type, medins_lv, med_type, in_region, assistance",
        start=TS, end=TS,
    ), bounds)
    cat = category_sql("s.med_type")
    valid = f"s.status = 'settled' AND s.refd_setl_flag = '0' AND {window}"
    for ins, c in (("s.insutype", cat), ("s.insutype", "'*'"), ("'*'", cat), ("'*'", "'*'")):
        conn.execute(sql(
            f"INSERT INTO fund_month_persons (period, insutype, category, psn_cnt) "
            f"SELECT period, ins, cat, COUNT(DISTINCT psn_no) FROM ("
            f" SELECT {per} AS period, {ins} AS ins, {c} AS cat, s.psn_no FROM settlements s WHERE {valid}"
            f") x WHERE period IN ({wanted}) GROUP BY period, ins, cat",
            start=TS, end=TS,
        ), bounds)
    net = "CASE WHEN s.refd_setl_flag = '1' THEN -1 ELSE 1 END"
    conn.execute(sql(
        f"INSERT INTO fund_month_hosp (period, fixmedins_code, insutype, category, setl_cnt, medfee_sumamt, fund_pay_sumamt) "
        f"SELECT period, fixmedins_code, insutype, cat, SUM(n), SUM(medfee_sumamt), SUM(fund_pay_sumamt) FROM ("
        f" SELECT {per} AS period, s.fixmedins_code, s.insutype, {cat} AS cat, {net} AS n, s.medfee_sumamt, s.fund_pay_sumamt"
        f" FROM settlements s WHERE s.status <> 'voided' AND {window}"
        f") x WHERE period IN ({wanted}) GROUP BY period, fixmedins_code, insutype, cat",
        start=TS, end=TS,
    ), bounds)
    conn.execute(sql(
        f"INSERT INTO fund_month_dise (period, dise_codg, insutype, category, setl_cnt, medfee_sumamt, fund_pay_sumamt) "
        f"SELECT period, dise, insutype, cat, SUM(n), SUM(medfee_sumamt), SUM(fund_pay_sumamt) FROM ("
        f" SELECT {per} AS period, COALESCE(e.dscg_maindiag_code, e.dise_codg, '') AS dise, s.insutype, {cat} AS cat,"
        f"  {net} AS n, s.medfee_sumamt, s.fund_pay_sumamt"
        f" FROM settlements s JOIN encounters e ON e.mdtrt_id = s.mdtrt_id WHERE s.status <> 'voided' AND {window}"
        f") x WHERE period IN ({wanted}) GROUP BY period, dise, insutype, cat",
        start=TS, end=TS,
    ), bounds)
    for period in months:
        day = month_end(period)
        at = {"p": period, "d": day, "ts_end": dt.datetime.combine(day, dt.time(23, 59, 59))}
        conn.execute(sql(
            f"INSERT INTO fund_month_enrol (period, insutype, psn_type, assistance, psn_cnt) "
            f"SELECT :p, insutype, psn_type, assistance, COUNT(*) FROM ("
            f" SELECT n.insutype, n.psn_type, {_assistance_subquery('n.psn_no', ':ts_end')} AS assistance"
            f" FROM insurance n WHERE (n.psn_insu_date IS NULL OR n.psn_insu_date <= :d)"
            f" AND (n.paus_insu_date IS NULL OR n.paus_insu_date > :d)"
            f") x GROUP BY insutype, psn_type, assistance",
            d=s.insurance.c.psn_insu_date.type, ts_end=TS,
        ), at)


def known_periods(conn: Connection) -> list[str]:
    return [r[0] for r in conn.execute(select(s.fund_month_acct.c.period).distinct().order_by(s.fund_month_acct.c.period))]
