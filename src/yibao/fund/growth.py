"""Spending growth decomposed into persons, visits per person and cost per visit.

For a month (and a scheme, or all), with S the fund payments (基金支付, ``fund_pay_sumamt``
net of reversals), N the settlements (人次, reversals counted −1) and P the distinct persons
with a valid settlement (人数):

    S = P × (N / P) × (S / N)              persons × visits per person × cost per visit

so the growth factor against a base month splits exactly into a product:

    S1/S0 = (P1/P0) × (v1/v0) × (c1/c0),   v = N/P, c = S/N

computed in exact fractions (the product equals S1/S0 exactly). In logarithms the three parts
add up: ln(S1/S0) = ln(P1/P0) + ln(v1/v0) + ln(c1/c0). The change in yuan is shared out with
the logarithmic mean L(S1, S0) = (S1 − S0) / (ln S1 − ln S0) (LMDI):

    ΔS = L·ln(P1/P0) + L·ln(v1/v0) + L·ln(c1/c0)

and the three amounts are rounded to the fen by the largest-remainder method, so they add up
to ΔS to the fen. The base month is the same month a year earlier (同比) when the ledger has
it, else the month before (环比).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from yibao.storage import schema as s

from .accounts import CATEGORY_NAMES, INSUTYPE_NAMES
from .sqlutil import prev_month

FORMULA = (
    "S = P × (N/P) × (S/N)；S1/S0 = (P1/P0) × (v1/v0) × (c1/c0)，v = N/P（人均人次），c = S/N（次均基金支付）；"
    "ΔS = L·ln(P1/P0) + L·ln(v1/v0) + L·ln(c1/c0)，L = (S1 − S0)/(ln S1 − ln S0)"
)
PARTS = ("persons", "visits_per_person", "cost_per_visit")
PART_NAMES = {"persons": "人数", "visits_per_person": "人均人次", "cost_per_visit": "次均费用"}


@dataclass(frozen=True)
class Month:
    spending: int  # fen
    visits: int
    persons: int


def month_figures(conn: Connection, period: str, insutype: str = "*", category: str = "*",
                  measure: str = "fund_pay_sumamt") -> Month | None:
    t = s.fund_month_setl
    q = select(func.coalesce(func.sum(getattr(t.c, measure)), 0), func.coalesce(func.sum(t.c.setl_cnt), 0), func.count()).where(t.c.period == period)
    if insutype != "*":
        q = q.where(t.c.insutype == insutype)
    spending, visits, rows = conn.execute(q).one()
    if category != "*":
        from .accounts import category_of

        spending = visits = 0
        rows = 0
        qq = select(t.c.med_type, getattr(t.c, measure), t.c.setl_cnt).where(t.c.period == period)
        if insutype != "*":
            qq = qq.where(t.c.insutype == insutype)
        for med_type, amount, n in conn.execute(qq):
            if category_of(med_type) == category:
                spending += amount
                visits += n
                rows += 1
    if not rows:
        return None
    p = s.fund_month_persons
    persons = conn.execute(select(p.c.psn_cnt).where(p.c.period == period).where(p.c.insutype == insutype)
                           .where(p.c.category == category)).scalar()
    return Month(int(spending), int(visits), int(persons or 0))


def scheme_figures(conn: Connection, periods: list[str]) -> dict[tuple[str, str], Month]:
    """``month_figures`` (all categories) of every scheme and of all schemes ('*') for the given
    months, keyed (period, insutype), in two queries: the dashboard decomposes three scopes
    against a base month, which ``month_figures`` answers in twelve."""
    t = s.fund_month_setl
    cells: dict[tuple[str, str], list[int]] = {}
    for period, insutype, spending, visits, rows in conn.execute(
        select(t.c.period, t.c.insutype, func.sum(t.c.fund_pay_sumamt), func.sum(t.c.setl_cnt), func.count())
        .where(t.c.period.in_(periods)).group_by(t.c.period, t.c.insutype)
    ):
        for key in ((period, insutype), (period, "*")):
            cell = cells.setdefault(key, [0, 0, 0])
            cell[0] += int(spending)
            cell[1] += int(visits)
            cell[2] += rows
    p = s.fund_month_persons
    persons = {(r.period, r.insutype): r.psn_cnt for r in conn.execute(
        select(p.c.period, p.c.insutype, p.c.psn_cnt).where(p.c.period.in_(periods)).where(p.c.category == "*"))}
    return {key: Month(spending, visits, int(persons.get(key) or 0)) for key, (spending, visits, rows) in cells.items() if rows}


def exact_factors(cur: Month, base: Month) -> dict[str, Fraction] | None:
    """{'persons', 'visits_per_person', 'cost_per_visit', 'total'} as exact growth factors, or
    None when a figure is zero (nothing to decompose)."""
    if min(cur.spending, base.spending, cur.visits, base.visits, cur.persons, base.persons) <= 0:
        return None
    fp = Fraction(cur.persons, base.persons)
    fv = Fraction(cur.visits, cur.persons) / Fraction(base.visits, base.persons)
    fc = Fraction(cur.spending, cur.visits) / Fraction(base.spending, base.visits)
    return {"persons": fp, "visits_per_person": fv, "cost_per_visit": fc, "total": Fraction(cur.spending, base.spending)}


def lmdi_fen(cur: Month, base: Month, factors: dict[str, Fraction]) -> dict[str, int]:
    """The change in fen shared among the three parts, adding up to S₁ − S₀ exactly."""
    delta = cur.spending - base.spending
    if cur.spending == base.spending:
        weight = float(cur.spending)
    else:
        weight = (cur.spending - base.spending) / (math.log(cur.spending) - math.log(base.spending))
    raw = {k: weight * math.log(factors[k]) for k in PARTS}
    floors = {k: math.floor(v) for k, v in raw.items()}
    spare = delta - sum(floors.values())
    order = sorted(PARTS, key=lambda k: raw[k] - floors[k], reverse=True)
    # |spare| ≤ 3 in practice (rounding of three floats); hand it out by largest remainder
    i = 0
    while spare > 0:
        floors[order[i % 3]] += 1
        spare -= 1
        i += 1
    while spare < 0:
        floors[order[-1 - (i % 3)]] -= 1
        spare += 1
        i += 1
    return floors


def base_period_for(conn: Connection, period: str) -> tuple[str | None, str]:
    """Same month a year earlier when the aggregates have it (同比), else the month before (环比)."""
    t = s.fund_month_setl
    have = {r[0] for r in conn.execute(select(t.c.period).distinct())}
    yoy = f"{int(period[:4]) - 1:04d}{period[4:]}"
    if yoy in have:
        return yoy, "同比（上年同月）"
    mom = prev_month(period)
    if mom in have:
        return mom, "环比（上月）"
    return None, "无对比期数据"


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def _month_dict(m: Month) -> dict[str, Any]:
    return {
        "psn_cnt": m.persons,
        "setl_cnt": m.visits,
        "fund_pay_sumamt": _yuan(m.spending),
        "visits_per_person": round(m.visits / m.persons, 4) if m.persons else None,
        "cost_per_visit": _yuan(round(m.spending / m.visits)) if m.visits else None,
    }


def decompose(conn: Connection, period: str, *, insutype: str = "*", category: str = "*",
              base_period: str | None = None, basis: str | None = None) -> dict[str, Any]:
    """The month's fund payments against the base month, decomposed (see the module text).
    Without ``base_period`` and ``basis`` the base month is looked up (``base_period_for``);
    a caller that looked it up already passes both."""
    if base_period is None and basis is None:
        base_period, basis = base_period_for(conn, period)
    cur = month_figures(conn, period, insutype, category)
    base = month_figures(conn, base_period, insutype, category) if base_period else None
    return _decomposition(period, base_period, basis or "指定对比期", insutype, category, cur, base)


def decompose_schemes(conn: Connection, period: str, insutypes: tuple[str, ...], base_period: str | None,
                      basis: str) -> list[dict[str, Any]]:
    """``decompose`` (all categories) of each of ``insutypes`` ('*' for all schemes), with the
    figures of both months read at once (``scheme_figures``)."""
    figures = scheme_figures(conn, [p for p in (period, base_period) if p])
    return [_decomposition(period, base_period, basis, k, "*", figures.get((period, k)),
                           figures.get((base_period, k)) if base_period else None) for k in insutypes]


def _decomposition(period: str, base_period: str | None, basis: str, insutype: str, category: str,
                   cur: Month | None, base: Month | None) -> dict[str, Any]:
    scope = "全部险种" if insutype == "*" else INSUTYPE_NAMES.get(insutype, insutype)
    if category != "*":
        scope += "·" + CATEGORY_NAMES.get(category, category)
    out: dict[str, Any] = {"period": period, "base_period": base_period, "basis": basis, "insutype": insutype,
                           "category": category, "scope": scope, "formula": FORMULA}
    if cur is None or base is None:
        out.update(status="no_data", note="本月或对比期没有结算数据，无法分解")
        return out
    factors = exact_factors(cur, base)
    out["current"], out["base"] = _month_dict(cur), _month_dict(base)
    if factors is None:
        out.update(status="no_data", note="人数、人次或支出为零，无法分解")
        return out
    fen = lmdi_fen(cur, base, factors)
    out.update(
        status="ok",
        factors={k: round(float(v), 6) for k, v in factors.items()},
        factors_exact={k: f"{v.numerator}/{v.denominator}" for k, v in factors.items()},
        growth={k: round(float(v) - 1, 6) for k, v in factors.items()},
        log_growth={k: round(math.log(v), 6) for k, v in factors.items()},
        contributions={**{k: _yuan(v) for k, v in fen.items()}, "total": _yuan(cur.spending - base.spending)},
        product_equals_total=factors["persons"] * factors["visits_per_person"] * factors["cost_per_visit"] == factors["total"],
        parts_add_up=sum(fen.values()) == cur.spending - base.spending,
    )
    return out
