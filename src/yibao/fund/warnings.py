"""Warnings (预警) with thresholds from a parameter file (``warnings-qingyi.yaml``).

Each warning says what it measured, the numbers, and the threshold it crossed. A warning fires
strictly beyond its threshold: months of reserve *below* 6, growth *above* 20 %; exactly at the
threshold it does not. Comparisons are exact (fractions of fen and of the threshold's decimal).

| code | level | fires when |
|---|---|---|
| ``reserve_months`` | red / yellow / info | pooled fund's months of reserve < red_below / < yellow_below / > high_above |
| ``current_deficit`` | yellow | year-to-date income − spending < current_deficit (0) |
| ``spending_vs_income_growth`` | yellow | YTD spending growth − YTD income growth > threshold (needs last year) |
| ``spending_growth_month`` | yellow | the month's spending vs the base month (同比, else 环比) grows > threshold |
| ``hospital_cost_per_case`` | yellow | an institution's inpatient cost per case vs same month last year (else the 3 months before) grows > threshold, both with ≥ min_cases |
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from yibao.storage import schema as s

from . import ledger
from .accounts import POOLED, SCHEMES
from .growth import base_period_for
from .params import FundParams, as_decimal
from .params import load as load_params
from .sqlutil import month_start, prev_month

LEVELS = {"red": "红色预警", "yellow": "黄色预警", "info": "提示"}


def _wan(fen: int | Fraction) -> str:
    return f"{float(fen) / 1e6:,.2f}万元"


def _pct(x: Fraction) -> str:
    return f"{float(x) * 100:.1f}%"


def _thr(params: FundParams, path: str, on: dt.date) -> Fraction:
    return Fraction(as_decimal(params.warnings.get(path, on), path))


def warning(code: str, level: str, subject: str, title: str, message: str, value: Any, threshold: Any, **extra: Any) -> dict[str, Any]:
    return {"code": code, "level": level, "level_name": LEVELS[level], "subject": subject, "title": title,
            "message": message, "value": value, "threshold": threshold, **extra}


def evaluate(conn: Connection, period: str, params: FundParams | None = None, *, flows: ledger.Flows | None = None,
             base: tuple[str | None, str] | None = None) -> dict[str, Any]:
    """Active warnings for the month, and the checks that could not be made (with why).
    ``flows`` and ``base`` (``growth.base_period_for``): what the caller read already."""
    params = params or load_params()
    base = base or base_period_for(conn, period)
    on = month_start(period).date()
    active: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for key in POOLED:
        name, members = SCHEMES[key]
        pos = ledger.consolidated_position(conn, period, members, key, name, flows=flows)
        _reserve(pos, params, on, period, active, skipped)
        _deficit(pos, params, on, period, active)
        _growth_vs_income(pos, params, on, period, active, skipped)
        _month_growth(pos, base, params, on, period, active, skipped)
    _hospitals(conn, params, on, period, active, skipped)
    order = {"red": 0, "yellow": 1, "info": 2}
    active.sort(key=lambda w: (order[w["level"]], w["code"], w["subject"]))
    return {"period": period, "active": active, "not_evaluated": skipped,
            "thresholds_from": params.warnings.source}


def _reserve(pos: ledger.Position, params: FundParams, on: dt.date, period: str, active: list, skipped: list) -> None:
    mor = pos.months_of_reserve
    if mor is None:
        skipped.append({"code": "reserve_months", "subject": pos.name, "why": "近12个月没有支出，可支付月数无意义"})
        return
    red, yellow, high = (_thr(params, f"reserve_months.{k}", on) for k in ("red_below", "yellow_below", "high_above"))
    avg = pos.avg_monthly_spending
    basis = (f"{period}月末累计结余{_wan(pos.balance)}，{pos.window_first}至{period}（{pos.window_months}个月）"
             f"月均支出{_wan(avg)}，可支付{float(mor):.1f}个月")
    if mor < red:
        active.append(warning("reserve_months", "red", pos.name, "累计结余可支付月数低于风险线",
                              f"{pos.name}：{basis}，低于{red}个月（风险状态）", round(float(mor), 2), float(red)))
    elif mor < yellow:
        active.append(warning("reserve_months", "yellow", pos.name, "累计结余可支付月数不足",
                              f"{pos.name}：{basis}，低于{yellow}个月（结余不足）", round(float(mor), 2), float(yellow)))
    elif mor > high:
        active.append(warning("reserve_months", "info", pos.name, "累计结余过多",
                              f"{pos.name}：{basis}，超过{high}个月（结余过多，可研究提高待遇或降低费率）", round(float(mor), 2), float(high)))


def _deficit(pos: ledger.Position, params: FundParams, on: dt.date, period: str, active: list) -> None:
    floor = _thr(params, "current_deficit", on) * 100  # yuan → fen
    if pos.surplus_ytd < floor:
        active.append(warning("current_deficit", "yellow", pos.name, "当期收不抵支",
                              f"{pos.name}：{period[:4]}年1月至{period}收入{_wan(pos.income_ytd)}，支出{_wan(pos.spending_ytd)}，"
                              f"当期结余{_wan(pos.surplus_ytd)}", pos.surplus_ytd / 100, float(floor / 100)))


def _growth_vs_income(pos: ledger.Position, params: FundParams, on: dt.date, period: str, active: list, skipped: list) -> None:
    if pos.income_prior_ytd is None or pos.spending_prior_ytd is None:
        skipped.append({"code": "spending_vs_income_growth", "subject": pos.name, "why": "账簿中没有上年同期数据"})
        return
    if pos.income_prior_ytd <= 0 or pos.spending_prior_ytd <= 0:
        skipped.append({"code": "spending_vs_income_growth", "subject": pos.name, "why": "上年同期收入或支出为零"})
        return
    gs = Fraction(pos.spending_ytd, pos.spending_prior_ytd) - 1
    gi = Fraction(pos.income_ytd, pos.income_prior_ytd) - 1
    margin = _thr(params, "spending_vs_income_growth", on)
    if gs - gi > margin:
        active.append(warning("spending_vs_income_growth", "yellow", pos.name, "支出增速快于收入增速",
                              f"{pos.name}：1月至{period[5:]}月支出同比增长{_pct(gs)}（{_wan(pos.spending_prior_ytd)}→{_wan(pos.spending_ytd)}），"
                              f"收入同比增长{_pct(gi)}（{_wan(pos.income_prior_ytd)}→{_wan(pos.income_ytd)}），相差{float(gs - gi) * 100:.1f}个百分点",
                              round(float(gs - gi), 6), float(margin)))


def _month_growth(pos: ledger.Position, base_and_basis: tuple[str | None, str], params: FundParams, on: dt.date,
                  period: str, active: list, skipped: list) -> None:
    base, basis = base_and_basis
    if base is None or base not in pos.monthly_spending:
        skipped.append({"code": "spending_growth_month", "subject": pos.name, "why": "没有对比月份的数据"})
        return
    before, now = pos.monthly_spending.get(base, 0), pos.monthly_spending.get(period, 0)
    if before <= 0:
        skipped.append({"code": "spending_growth_month", "subject": pos.name, "why": f"对比月{base}支出为零"})
        return
    g = Fraction(now, before) - 1
    limit = _thr(params, "spending_growth_month", on)
    if g > limit:
        active.append(warning("spending_growth_month", "yellow", pos.name, "本月基金支出增长过快",
                              f"{pos.name}：{period}支出{_wan(now)}，{basis}{base}支出{_wan(before)}，增长{_pct(g)}，超过{_pct(limit)}",
                              round(float(g), 6), float(limit), base_period=base))


def _hospitals(conn: Connection, params: FundParams, on: dt.date, period: str, active: list, skipped: list) -> None:
    limit = _thr(params, "hospital_cost_per_case.growth_above", on)
    min_cases = int(_thr(params, "hospital_cost_per_case.min_cases", on))
    t = s.fund_month_hosp
    yoy = f"{int(period[:4]) - 1:04d}{period[4:]}"
    prior3 = [prev_month(period, k) for k in (1, 2, 3)]
    periods = [period, yoy, *prior3]
    cells: dict[tuple[str, str], list[int]] = {}
    for month, code, setl_cnt, medfee in conn.execute(select(t.c.period, t.c.fixmedins_code, t.c.setl_cnt, t.c.medfee_sumamt)
                                                      .where(t.c.period.in_(periods)).where(t.c.category == "inpatient")):
        c = cells.setdefault((code, month), [0, 0])
        c[0] += setl_cnt
        c[1] += medfee
    have_yoy = any(p == yoy for _, p in cells)
    names = {r.fixmedins_code: r.fixmedins_name for r in conn.execute(select(s.institutions.c.fixmedins_code, s.institutions.c.fixmedins_name))}
    hospitals = sorted({h for h, p in cells if p == period})
    if not hospitals:
        skipped.append({"code": "hospital_cost_per_case", "subject": "定点医疗机构", "why": f"{period}没有住院结算"})
        return
    for h in hospitals:
        n1, c1 = cells[(h, period)]
        if have_yoy:
            n0, c0 = cells.get((h, yoy), [0, 0])
            basis = f"上年同月{yoy}"
        else:
            n0 = sum(cells.get((h, p), [0, 0])[0] for p in prior3)
            c0 = sum(cells.get((h, p), [0, 0])[1] for p in prior3)
            basis = f"前三个月（{prior3[-1]}至{prior3[0]}）"
        if n1 < min_cases or n0 < min_cases or c0 <= 0:
            continue
        g = Fraction(c1 * n0, n1 * c0) - 1
        if g > limit:
            name = names.get(h, h)
            active.append(warning("hospital_cost_per_case", "yellow", f"{name}（{h}）", "住院次均费用上涨过快",
                                  f"{name}（{h}）：{period}住院{n1}人次，次均费用{c1 / n1 / 100:,.2f}元；{basis}{n0}人次，"
                                  f"次均{c0 / n0 / 100:,.2f}元；上涨{_pct(g)}，超过{_pct(limit)}",
                                  round(float(g), 6), float(limit), fixmedins_code=h))
