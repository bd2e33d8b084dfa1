"""Plain-data functions for the console and the bureau REST API.

Every function takes an open SQLAlchemy ``Connection`` and returns JSON-able data: amounts are
yuan as strings with two decimals (exact; national field names where they exist, e.g.
``fund_pay_sumamt``), ratios and months are numbers rounded for display, counts are ints.
They read the monthly aggregates that ``post`` keeps, so a dashboard is a few small queries.

- ``dashboard(conn, year, month)`` — balances, months of reserve, key indicators, warnings,
  growth decomposition of the month (one call for the console's front page);
- ``read_flows(conn, year, month)`` — the ledger's monthly totals read once, for ``flows=`` of
  the functions below when a page shows several of them;
- ``balances(conn, year, month)`` — per fund and per scheme;
- ``balance_series(conn, year)`` — the same month by month;
- ``indicators(conn, year, month=None, fast=False)`` — the bureau's indicators;
- ``warnings(conn, year, month)`` — active warnings and checks not made;
- ``growth(conn, year, month, insutype='*')`` — the decomposition;
- ``monthly_series(conn, year)`` — spending by scheme, level and medical type per month;
- ``top_institutions`` / ``top_diseases`` — the month's largest;
- ``trial_balance(conn)``, ``post(conn)``, ``post_contributions(conn, year)``,
  ``post_recovery(...)``, ``post_clearing(...)`` — the ledger's operations;
- ``projection(conn, years=5, assume=None)``, ``whatif(conn, changes, ...)``.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import BigInteger, cast, func, select
from sqlalchemy.engine import Connection

from yibao.storage import schema as s

from . import contributions as _contributions
from . import growth as _growth
from . import indicators as _indicators
from . import ledger
from . import warnings as _warnings
from .accounts import CATEGORY_NAMES, CATEGORY_ORDER, FUNDS, LEVEL_NAMES, LEVEL_ORDER, POOLED, SCHEMES, category_of
from .params import FundParams
from .params import load as load_params


def _yuan(fen: int | float) -> str:
    fen = int(round(fen))
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def _period(year: int, month: int) -> str:
    if not 1 <= month <= 12:
        raise ValueError(f"月份应为 1–12，实际为 {month}")
    return f"{year:04d}-{month:02d}"


def _position_dict(p: ledger.Position) -> dict[str, Any]:
    mor = p.months_of_reserve
    avg = p.avg_monthly_spending
    return {
        "key": p.key,
        "name": p.name,
        "opening_balance": _yuan(p.opening_balance),
        "income_month": _yuan(p.income_month),
        "spending_month": _yuan(p.spending_month),
        "income_ytd": _yuan(p.income_ytd),
        "spending_ytd": _yuan(p.spending_ytd),
        "surplus_ytd": _yuan(p.surplus_ytd),
        "balance": _yuan(p.balance),
        "avg_monthly_spending": None if avg is None else _yuan(round(avg)),
        "reserve_window": {"from": p.window_first, "months": p.window_months},
        "months_of_reserve": None if mor is None else round(float(mor), 2),
    }


def read_flows(conn: Connection, year: int, month: int) -> ledger.Flows:
    """The ledger's monthly account totals up to the month, read once; pass it as ``flows`` to
    ``balances``, ``balance_series``, ``indicators``, ``warnings`` and ``dashboard`` of that month
    (or an earlier one) when a page shows several of them."""
    return ledger.read_flows(conn, _period(year, month))


def balances(conn: Connection, year: int, month: int, *, flows: ledger.Flows | None = None) -> dict[str, Any]:
    """Per fund (fund_pay_type) and per scheme: opening balance, the month's and the year's
    income and spending, current-year surplus (当期结余), accumulated balance (累计结余) and
    months of reserve (累计结余 ÷ average monthly spending of the last 12 months)."""
    period = _period(year, month)
    flows = flows or ledger.read_flows(conn, period)
    funds = ledger.positions(conn, period, funds=[f for f in FUNDS], flows=flows)
    schemes = ledger.scheme_positions(conn, period, flows=flows)
    return {
        "period": period,
        "funds": [{"fund_pay_type": k, **_position_dict(v)} for k, v in funds.items()],
        "schemes": [{"scheme": k, "members": list(SCHEMES[k][1]), "pooled": k in POOLED, **_position_dict(v)} for k, v in schemes.items()],
    }


def balance_series(conn: Connection, year: int, upto_month: int = 12, *, flows: ledger.Flows | None = None) -> dict[str, Any]:
    """Per scheme and per fund, month by month: income, spending, balance at month end and
    months of reserve (for the console's balance charts)."""
    months = [_period(year, m) for m in range(1, upto_month + 1)]
    if flows is None or flows.upto < months[-1]:
        flows = ledger.read_flows(conn, months[-1])
    flows, first = flows.by_fund, flows.first
    out: dict[str, Any] = {"months": months, "schemes": [], "funds": []}
    groups = [("schemes", k, name, members) for k, (name, members) in SCHEMES.items()]
    groups += [("funds", f, FUNDS[f][0], (f,)) for f in FUNDS]
    for bucket, key, name, members in groups:
        # the group's monthly net flows once, then a position per month from them
        net = ledger.net_flows([flows.get(f, {}) for f in members], members if bucket == "schemes" else ())
        rows = []
        for p in months:
            pos = ledger.position_from_net(key, name, net, p, first)
            mor = pos.months_of_reserve
            rows.append({"period": p, "income_month": _yuan(pos.income_month), "spending_month": _yuan(pos.spending_month),
                         "balance": _yuan(pos.balance), "months_of_reserve": None if mor is None else round(float(mor), 2)})
        out[bucket].append({"key": key, "name": name, "series": rows})
    return out


def indicators(conn: Connection, year: int, month: int | None = None, *, fast: bool = False, params: FundParams | None = None,
               population: int | None = None, population_source: str = "", flows: ledger.Flows | None = None) -> dict[str, Any]:
    return _indicators.compute(conn, year, month, params=params, fast=fast, population=population, population_source=population_source,
                               flows=flows)


def warnings(conn: Connection, year: int, month: int, *, params: FundParams | None = None,
             flows: ledger.Flows | None = None) -> dict[str, Any]:
    return _warnings.evaluate(conn, _period(year, month), params, flows=flows)


def growth(conn: Connection, year: int, month: int, *, insutype: str = "*", category: str = "*",
           base_period: str | None = None) -> dict[str, Any]:
    return _growth.decompose(conn, _period(year, month), insutype=insutype, category=category, base_period=base_period)


def monthly_series(conn: Connection, year: int, upto_month: int = 12) -> dict[str, Any]:
    """Fund payments (fund_pay_sumamt) and settlements per month of the year, by scheme, by
    institution level and by medical category (for the console's and the report's charts)."""
    first, last = f"{year:04d}-01", _period(year, upto_month)
    t = s.fund_month_setl
    months: list[str] = []
    by_scheme: dict[str, dict[str, int]] = {}
    by_level: dict[str, dict[str, int]] = {}
    by_cat: dict[str, dict[str, int]] = {}
    visits: dict[str, int] = {}
    # the chart needs only these four dimensions: grouping by them in SQL reads ~30 rows a month
    # instead of ~250 (psn_type, region and assistance group summed away)
    dims = (t.c.period, t.c.insutype, t.c.medins_lv, t.c.med_type)
    rows = conn.execute(select(*dims, cast(func.sum(t.c.setl_cnt), BigInteger).label("setl_cnt"),
                               cast(func.sum(t.c.fund_pay_sumamt), BigInteger).label("fund_pay_sumamt"))
                        .where(t.c.period >= first).where(t.c.period <= last).group_by(*dims))
    for period, insutype, medins_lv, med_type, setl_cnt, fund_pay in rows:  # unpacked: Row attributes are slow
        if period not in months:
            months.append(period)
        for table, key in ((by_scheme, insutype), (by_level, medins_lv), (by_cat, category_of(med_type))):
            cell = table.setdefault(key, {})
            cell[period] = cell.get(period, 0) + fund_pay
        visits[period] = visits.get(period, 0) + setl_cnt
    months.sort()

    def series(table: dict[str, dict[str, int]], names: dict[str, str], order: list[str]) -> list[dict[str, Any]]:
        keys = [k for k in order if k in table] + sorted(k for k in table if k not in order)
        return [{"key": k, "name": names.get(k, k), "fund_pay_sumamt": [_yuan(table[k].get(m, 0)) for m in months]} for k in keys]

    return {
        "months": months,
        "by_scheme": series(by_scheme, {"310": "职工医保", "390": "居民医保"}, ["310", "390"]),
        "by_level": series(by_level, LEVEL_NAMES, LEVEL_ORDER),
        "by_category": series(by_cat, CATEGORY_NAMES, CATEGORY_ORDER),
        "setl_cnt": [visits.get(m, 0) for m in months],
    }


def top_institutions(conn: Connection, year: int, month: int, n: int = 10) -> list[dict[str, Any]]:
    """The month's institutions with the largest fund payments, with inpatient cost per case."""
    period = _period(year, month)
    t = s.fund_month_hosp
    cells: dict[str, dict[str, int]] = {}
    for r in conn.execute(select(t).where(t.c.period == period)):
        c = cells.setdefault(r.fixmedins_code, {"setl_cnt": 0, "medfee": 0, "fund": 0, "ipt_cnt": 0, "ipt_medfee": 0})
        c["setl_cnt"] += r.setl_cnt
        c["medfee"] += r.medfee_sumamt
        c["fund"] += r.fund_pay_sumamt
        if r.category == "inpatient":
            c["ipt_cnt"] += r.setl_cnt
            c["ipt_medfee"] += r.medfee_sumamt
    inst = {r.fixmedins_code: r for r in conn.execute(select(s.institutions.c.fixmedins_code, s.institutions.c.fixmedins_name, s.institutions.c.medins_lv))}
    top = sorted(cells.items(), key=lambda kv: (-kv[1]["fund"], kv[0]))[:n]
    return [
        {"fixmedins_code": k, "fixmedins_name": inst[k].fixmedins_name if k in inst else k,
         "medins_lv": inst[k].medins_lv if k in inst else "", "setl_cnt": v["setl_cnt"], "medfee_sumamt": _yuan(v["medfee"]),
         "fund_pay_sumamt": _yuan(v["fund"]), "ipt_cnt": v["ipt_cnt"],
         "ipt_cost_per_case": _yuan(v["ipt_medfee"] / v["ipt_cnt"]) if v["ipt_cnt"] > 0 else None}
        for k, v in top
    ]


def top_diseases(conn: Connection, year: int, month: int, n: int = 10, category: str = "inpatient") -> list[dict[str, Any]]:
    """The month's principal diagnoses with the largest fund payments (inpatient by default)."""
    from .names import disease_name

    period = _period(year, month)
    t = s.fund_month_dise
    cells: dict[str, list[int]] = {}
    q = select(t).where(t.c.period == period)
    if category != "*":
        q = q.where(t.c.category == category)
    for r in conn.execute(q):
        c = cells.setdefault(r.dise_codg, [0, 0, 0])
        c[0] += r.setl_cnt
        c[1] += r.medfee_sumamt
        c[2] += r.fund_pay_sumamt
    top = sorted(cells.items(), key=lambda kv: (-kv[1][2], kv[0]))[:n]
    return [{"dise_codg": k, "dise_name": disease_name(k), "setl_cnt": v[0], "medfee_sumamt": _yuan(v[1]),
             "fund_pay_sumamt": _yuan(v[2]), "cost_per_case": _yuan(v[1] / v[0]) if v[0] > 0 else None} for k, v in top]


KEY_INDICATORS = ("coverage_rate", "fund_income", "fund_spending", "employees_inpatient_ratio", "residents_inpatient_ratio",
                  "assistance_ratio", "overall_reimbursement_ratio")


def dashboard(conn: Connection, year: int, month: int, *, params: FundParams | None = None,
              flows: ledger.Flows | None = None) -> dict[str, Any]:
    """The console's front page for a month: balances and months of reserve per fund and
    scheme, key indicators (year to date), active warnings, and the month's spending growth
    decomposed (all schemes, and each). ``flows``: see ``read_flows``."""
    started = time.perf_counter()
    params = params or load_params()
    period = _period(year, month)
    # balances, indicators and warnings all compute positions from the same ledger read
    flows = flows or ledger.read_flows(conn, period)
    bal = balances(conn, year, month, flows=flows)
    ind = _indicators.compute(conn, year, month, params=params, fast=True, flows=flows)
    base = _growth.base_period_for(conn, period)  # 同比 or 环比: one lookup for the warnings and the growth
    warn = _warnings.evaluate(conn, period, params, flows=flows, base=base)
    growth_all, *growth_by = _growth.decompose_schemes(conn, period, ("*", "310", "390"), *base)
    return {
        "period": period,
        "region": {"admdvs": params.fund.region_admdvs, "name": params.fund.region_name},
        "funds": bal["funds"],
        "schemes": bal["schemes"],
        "indicators": [i for i in ind["indicators"] if i["code"] in KEY_INDICATORS],
        "warnings": warn["active"],
        "warnings_not_evaluated": warn["not_evaluated"],
        "growth": {"total": growth_all, "by_scheme": growth_by},
        "server_ms": round((time.perf_counter() - started) * 1000, 1),
    }


def trial_balance(conn: Connection) -> dict[str, Any]:
    tb = ledger.trial_balance(conn)
    return {
        "debits": _yuan(tb["debits"]), "credits": _yuan(tb["credits"]), "difference": _yuan(tb["difference"]),
        "balanced": tb["balanced"],
        "accounts": [{"acct_code": k, "debit": _yuan(v["debit"]), "credit": _yuan(v["credit"])} for k, v in tb["accounts"].items()],
        "funds": {k: {**{kk: _yuan(vv) for kk, vv in v.items() if kk != "balanced"}, "balanced": v["balanced"]} for k, v in tb["funds"].items()},
    }


def post(conn: Connection, *, params: FundParams | None = None, rebuild: bool = False) -> dict[str, Any]:
    return ledger.post(conn, params, rebuild=rebuild).as_dict()


def post_contributions(conn: Connection, year: int, *, params: FundParams | None = None) -> dict[str, Any]:
    return _contributions.post_contributions(conn, year, params).as_dict()


post_recovery = ledger.post_recovery
post_clearing = ledger.post_clearing


def projection(conn: Connection, years: int = 5, assume: dict[str, Any] | None = None, *, params: FundParams | None = None) -> dict[str, Any]:
    from . import projection as _projection

    return _projection.project(conn, years, assume or {}, params=params)


def whatif(conn: Connection, changes: dict[str, Any], *, year: int | None = None, sample: int = 2000, seed: int = 1) -> dict[str, Any]:
    from . import projection as _projection

    return _projection.whatif(conn, changes, year=year, sample=sample, seed=seed)
