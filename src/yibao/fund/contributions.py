"""Contributions (征缴) derived from enrollment, posted to the ledger.

The platform records who is insured (``insurance``, ``identities``) but not what they paid, so
contributions are derived from enrollment with the dated, cited figures of
``contributions-qingyi.yaml`` (see the header of that file and docs/fund.md §1):

- employees (310), monthly, for every month a person is insured on at least one day:
  in service — employer (→ pool), maternity (→ 生育, folded into the employees' insurance),
  employee (→ personal account), civil-servant subsidy (→ 公务员医疗补助) for civil servants;
  retired — a fixed transfer from the pool to the personal accounts; everyone — 大额 premium;
- residents (390), annually, for everyone insured on 1 January (posted in January) or enrolled
  later in the year (posted in the month of enrolment): the individual contribution (medical
  assistance pays a share of it for its groups: 资助参保), the government subsidy, and the
  transfer from the residents' fund to the critical-illness fund (大病保险);
- medical assistance: the budget's appropriation per group member insured on 1 January.

Amounts per head are exact: round_half_up(base × rate) in fen, once per head and period.
Rows are grouped by (period, insutype, psn_type, county, payer group, item) with the head count.
Running the command again posts nothing when enrollment is unchanged, and only the difference
(as an adjustment entry, 补缴/退费) when it changed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from yibao.money import round_half_up
from yibao.settlement.model import ASSISTANCE_ORDER
from yibao.storage import schema as s

from . import aggregates
from .ledger import _entry_row, _yuan, ensure_accounts
from .params import FundParams, ParamFile, as_decimal
from .params import load as load_params
from .sqlutil import month_end, month_start, period_of, periods_between

# item → (fund, legs: [(leg, debit, credit)])
ITEMS: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    "employer": ("310100", [("main", "310100.bank", "310100.inc.employer")]),
    "employer_account": ("310200", [("main", "310200.bank", "310200.inc.employer")]),
    "maternity": ("510100", [("main", "510100.bank", "510100.inc.employer")]),
    "employee": ("310200", [("main", "310200.bank", "310200.inc.employee")]),
    "employee_pool": ("310100", [("main", "310100.bank", "310100.inc.employee")]),
    "large_amount": ("330100", [("main", "330100.bank", "330100.inc.employee")]),
    "civil_servant": ("320100", [("main", "320100.bank", "320100.inc.subsidy")]),
    "retiree_account": ("310200", [("out", "310100.exp.transfer.310200", "310100.bank"), ("in", "310200.bank", "310200.inc.transfer.310100")]),
    "individual": ("390100", [("main", "390100.bank", "390100.inc.individual")]),
    "aid": ("390100", [("out", "610100.exp.aid", "610100.bank"), ("in", "390100.bank", "390100.inc.individual")]),
    "subsidy": ("390100", [("main", "390100.bank", "390100.inc.subsidy")]),
    "critical_illness": ("390200", [("out", "390100.exp.transfer.390200", "390100.bank"), ("in", "390200.bank", "390200.inc.transfer.390100")]),
    "appropriation": ("610100", [("main", "610100.bank", "610100.inc.subsidy")]),
}
ITEM_NAMES = {
    "employer": "单位缴费（统筹基金）",
    "employer_account": "单位缴费划入个人账户",
    "maternity": "生育保险费（单位）",
    "employee": "职工个人缴费（个人账户）",
    "employee_pool": "职工个人缴费（未计入账户部分，统筹基金）",
    "large_amount": "大额医疗费用补助缴费",
    "civil_servant": "公务员医疗补助（财政）",
    "retiree_account": "统筹基金划入退休人员个人账户",
    "individual": "居民个人缴费（本人缴纳）",
    "aid": "居民个人缴费（医疗救助资助）",
    "subsidy": "居民医保财政补助",
    "critical_illness": "居民医保基金划转大病保险",
    "appropriation": "财政医疗救助资金",
}


def _fen_of(yuan: Decimal) -> Fraction:
    return Fraction(yuan) * 100


def _pct(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


@dataclass(frozen=True)
class Key:
    period: str
    insutype: str
    psn_type: str
    insu_admdvs: str
    payer_group: str
    item: str

    @property
    def source_id(self) -> str:
        return "|".join((self.period, self.insutype, self.psn_type, self.insu_admdvs, self.payer_group, self.item))


@dataclass
class Derived:
    unit: int
    basis: str
    count: int = 0

    @property
    def amount(self) -> int:
        return self.unit * self.count


@dataclass
class ContributionReport:
    year: int
    rows: int = 0
    journal_rows: int = 0
    adjusted: int = 0
    by_item: dict[str, dict[str, int]] = field(default_factory=dict)  # item → {persons·periods, amount}
    by_fund: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "rows": self.rows,
            "journal_rows": self.journal_rows,
            "adjusted_rows": self.adjusted,
            "by_item": [
                {"item": k, "item_name": ITEM_NAMES.get(k, k), "head_periods": v["heads"], "amount": _yuan(v["amount"])}
                for k, v in self.by_item.items()
            ],
            "by_fund": {k: _yuan(v) for k, v in sorted(self.by_fund.items())},
        }


def _insured_on(start: dt.date | None, stop: dt.date | None, day: dt.date) -> bool:
    return (start is None or start <= day) and (stop is None or stop > day)


def _insured_during(start: dt.date | None, stop: dt.date | None, first: dt.date, last: dt.date) -> bool:
    return (start is None or start <= last) and (stop is None or stop > first)


def _group_on(groups: list[tuple[str, dt.datetime, dt.datetime | None]], day: dt.date) -> str:
    when = dt.datetime.combine(day, dt.time(0, 0))
    valid = [g for g, b, e in groups if b <= when and (e is None or e >= when)]
    for g in ASSISTANCE_ORDER:
        if g in valid:
            return g
    return ""


class _Rates:
    """The year's figures per head, in exact fen, with the text that explains each."""

    def __init__(self, p: ParamFile, on: dt.date) -> None:
        g = p.get
        self.base = as_decimal(g("employees.base_monthly", on), "employees.base_monthly")
        self.employer = as_decimal(g("employees.employer_rate", on), "employer_rate")
        self.maternity = as_decimal(g("employees.maternity_rate", on), "maternity_rate")
        self.employee = as_decimal(g("employees.employee_rate", on), "employee_rate")
        self.employee_to_acct = as_decimal(g("employees.employee_to_account", on), "employee_to_account")
        self.employer_to_acct = as_decimal(g("employees.employer_to_account", on), "employer_to_account")
        self.retiree = as_decimal(g("employees.retiree_account_monthly", on), "retiree_account_monthly")
        self.large = as_decimal(g("employees.large_amount_monthly", on), "large_amount_monthly")
        self.civil = as_decimal(g("employees.civil_servant_rate", on), "civil_servant_rate")
        self.individual = as_decimal(g("residents.individual_annual", on), "individual_annual")
        self.subsidy = as_decimal(g("residents.subsidy_annual", on), "subsidy_annual")
        self.ci = as_decimal(g("residents.critical_illness_transfer_annual", on), "critical_illness_transfer_annual")
        self.aid = {k: as_decimal(v, f"premium_aid.{k}") for k, v in (g("assistance.premium_aid", on) or {}).items()}
        self.appropriation = as_decimal(g("assistance.appropriation_per_member_annual", on), "appropriation_per_member_annual")

    def in_service(self, civil: bool) -> list[tuple[str, int, str]]:
        base = _fen_of(self.base)
        b = f"{self.base}元"
        employer_all = base * Fraction(self.employer)
        to_acct = employer_all * Fraction(self.employer_to_acct)
        out = [
            ("employer", round_half_up(employer_all - to_acct),
             f"缴费基数{b}×单位费率{_pct(self.employer)}" + (f"×(1−划入个人账户{_pct(self.employer_to_acct)})" if to_acct else "")),
            ("maternity", round_half_up(base * Fraction(self.maternity)), f"缴费基数{b}×生育保险费率{_pct(self.maternity)}"),
            ("employee", round_half_up(base * Fraction(self.employee) * Fraction(self.employee_to_acct)),
             f"缴费基数{b}×个人费率{_pct(self.employee)}" + ("" if self.employee_to_acct == 1 else f"×计入账户{_pct(self.employee_to_acct)}")),
            ("large_amount", round_half_up(_fen_of(self.large)), f"每人每月{self.large}元"),
        ]
        if to_acct:
            out.append(("employer_account", round_half_up(to_acct), f"缴费基数{b}×单位费率{_pct(self.employer)}×划入个人账户{_pct(self.employer_to_acct)}"))
        if self.employee_to_acct != 1:
            rest = base * Fraction(self.employee) * (1 - Fraction(self.employee_to_acct))
            out.append(("employee_pool", round_half_up(rest), "个人缴费未计入账户部分"))
        if civil:
            out.append(("civil_servant", round_half_up(base * Fraction(self.civil)), f"缴费基数{b}×公务员医疗补助{_pct(self.civil)}"))
        return out

    def retired(self) -> list[tuple[str, int, str]]:
        return [
            ("retiree_account", round_half_up(_fen_of(self.retiree)), f"统筹基金每人每月划入{self.retiree}元"),
            ("large_amount", round_half_up(_fen_of(self.large)), f"每人每月{self.large}元"),
        ]

    def resident(self, group: str) -> list[tuple[str, int, str]]:
        individual = round_half_up(_fen_of(self.individual))
        share = self.aid.get(group, Decimal(0)) if group else Decimal(0)
        aid = round_half_up(Fraction(individual) * Fraction(share))
        out = [
            ("individual", individual - aid, f"个人缴费{self.individual}元" + (f"−医疗救助资助{_pct(share)}" if aid else "")),
            ("subsidy", round_half_up(_fen_of(self.subsidy)), f"人均财政补助{self.subsidy}元"),
            ("critical_illness", round_half_up(_fen_of(self.ci)), f"每人划转大病保险{self.ci}元"),
        ]
        if aid:
            out.append(("aid", aid, f"个人缴费{self.individual}元×资助比例{_pct(share)}"))
        return out


def derive(conn: Connection, year: int, params: FundParams | None = None) -> dict[Key, Derived]:
    """The year's contributions from enrollment, grouped. Pure reading; nothing is written."""
    params = params or load_params()
    p = params.contributions
    jan1 = dt.date(year, 1, 1)
    dec31 = dt.date(year, 12, 31)
    months = periods_between(f"{year:04d}-01", f"{year:04d}-12")
    rates_by_month = {m: _Rates(p, month_start(m).date()) for m in months}
    groups: dict[str, list[tuple[str, dt.datetime, dt.datetime | None]]] = defaultdict(list)
    for r in conn.execute(select(s.identities.c.psn_no, s.identities.c.assistance, s.identities.c.begntime, s.identities.c.endtime)
                          .where(s.identities.c.assistance.is_not(None))):
        groups[r.psn_no].append((r.assistance, r.begntime, r.endtime))
    out: dict[Key, Derived] = {}

    def add(key: Key, unit: int, basis: str) -> None:
        d = out.get(key)
        if d is None:
            d = out[key] = Derived(unit, basis)
        elif d.unit != unit:  # cannot happen: one rate per period and group
            raise ValueError(f"{key}: 同组单位金额不一致 {d.unit} ≠ {unit}")
        d.count += 1

    jan_rates = _Rates(p, jan1)
    in_service = {(m, civil): rates_by_month[m].in_service(civil) for m in months for civil in (False, True)}
    retired_items = {m: rates_by_month[m].retired() for m in months}
    resident_items = {g: jan_rates.resident(g) for g in ("", *ASSISTANCE_ORDER)}
    appropriation = (round_half_up(_fen_of(jan_rates.appropriation)), f"每名救助对象{jan_rates.appropriation}元")
    month_bounds = [(m, month_start(m).date(), month_end(m)) for m in months]
    cols = s.insurance.c
    for r in conn.execute(select(cols.psn_no, cols.insutype, cols.psn_type, cols.insu_admdvs, cols.cvlserv_flag,
                                 cols.psn_insu_date, cols.paus_insu_date)):
        start, stop = r.psn_insu_date, r.paus_insu_date
        if not _insured_during(start, stop, jan1, dec31):
            continue
        admdvs = r.insu_admdvs or ""
        psn_type = r.psn_type or ""
        if r.insutype.startswith("31"):
            civil = r.cvlserv_flag == "1"
            payer = "cvlserv" if civil else ""
            retired = psn_type.startswith("12")
            for m, first, last in month_bounds:
                if not _insured_during(start, stop, first, last):
                    continue
                for item, unit, basis in (retired_items[m] if retired else in_service[(m, civil)]):
                    add(Key(m, r.insutype, psn_type, admdvs, payer, item), unit, basis)
        elif r.insutype.startswith("39"):
            day = jan1 if start is None or start <= jan1 else start
            if not _insured_on(start, stop, day):
                continue
            group = _group_on(groups.get(r.psn_no, []), day)
            for item, unit, basis in resident_items[group]:
                add(Key(period_of(day), r.insutype, psn_type, admdvs, group, item), unit, basis)
        if _insured_on(start, stop, jan1):
            group = _group_on(groups.get(r.psn_no, []), jan1)
            if group:
                add(Key(f"{year:04d}-01", r.insutype, psn_type, admdvs, group, "appropriation"), *appropriation)
    return out


def post_contributions(conn: Connection, year: int, params: FundParams | None = None, *, now: dt.datetime | None = None) -> ContributionReport:
    """Derive the year's contributions, store them in ``fund_contributions`` and post them (or
    the difference from what was posted before) to the journal. Idempotent."""
    now = now or dt.datetime.now().replace(microsecond=0)
    derived = derive(conn, year, params)
    t = s.fund_contributions
    stored = {
        Key(r.period, r.insutype, r.psn_type, r.insu_admdvs, r.payer_group, r.item): r
        for r in conn.execute(select(t).where(t.c.period >= f"{year:04d}-01").where(t.c.period <= f"{year:04d}-12"))
    }
    report = ContributionReport(year)
    new_rows, journal, touched = [], [], set()
    legs_done = _existing_legs(conn, year)
    for key in sorted(set(derived) | set(stored), key=lambda k: k.source_id):
        d = derived.get(key)
        old = stored.get(key)
        amount = d.amount if d else 0
        before = old.amount if old is not None else 0
        if d is not None:
            entry = report.by_item.setdefault(key.item, {"heads": 0, "amount": 0})
            entry["heads"] += d.count
            entry["amount"] += d.amount
            fund = ITEMS.get(key.item, ("310100", []))[0]
            report.by_fund[fund] = report.by_fund.get(fund, 0) + d.amount
        fund, legs = ITEMS.get(key.item, ("310100", [("main", "310100.bank", "310100.inc.employee")]))
        if old is None and d is not None:
            new_rows.append(dict(period=key.period, insutype=key.insutype, psn_type=key.psn_type, insu_admdvs=key.insu_admdvs,
                                 payer_group=key.payer_group, item=key.item, fund_pay_type=fund, psn_cnt=d.count,
                                 unit_amount=d.unit, amount=d.amount, basis=d.basis[:300]))
        elif old is not None and d is None:
            conn.execute(delete(t).where(*(getattr(t.c, c) == getattr(key, c) for c in ("period", "insutype", "psn_type", "insu_admdvs", "payer_group", "item"))))
        elif old is not None and d is not None and (old.amount, old.psn_cnt, old.unit_amount) != (d.amount, d.count, d.unit):
            conn.execute(update(t).where(*(getattr(t.c, c) == getattr(key, c) for c in ("period", "insutype", "psn_type", "insu_admdvs", "payer_group", "item")))
                         .values(psn_cnt=d.count, unit_amount=d.unit, amount=d.amount, basis=d.basis[:300]))
        delta = amount - before
        have = legs_done.get(key.source_id, set())
        if old is None and have:
            # rows were posted but the stored record is gone (e.g. deleted by hand): compare with the journal
            delta = amount - _posted_amount(conn, key.source_id, legs[0][0])
        if delta == 0 and (have or amount == 0):
            continue
        n_adj = sum(1 for leg in have if "@" in leg) // max(len(legs), 1)
        suffix = "" if not have else f"@{n_adj + 1}"
        on = month_start(key.period).date()
        memo = f"{ITEM_NAMES.get(key.item, key.item)} {key.period} {key.insutype}/{key.psn_type}/{key.insu_admdvs}" + (
            f"/{key.payer_group}" if key.payer_group else "") + (f" {d.count}人" if d is not None else "")
        if suffix:
            memo = f"调整（补缴/退费）{_yuan(delta)}元 " + memo
            report.adjusted += 1
        for leg, dr, cr in legs:
            journal.append(_entry_row("contribution", key.source_id, leg + suffix, on, dr, cr, delta, memo, now))
        touched.add(key.period)
    if new_rows:
        conn.execute(insert(t), new_rows)
    if journal:
        conn.execute(insert(s.fund_journal), journal)
        ensure_accounts(conn)
    aggregates.refresh_accounts(conn, touched)
    report.rows = len(derived)
    report.journal_rows = len(journal)
    return report


def _existing_legs(conn: Connection, year: int) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    j = s.fund_journal
    for r in conn.execute(select(j.c.source_id, j.c.leg).where(j.c.source_type == "contribution")
                          .where(j.c.period >= f"{year:04d}-01").where(j.c.period <= f"{year:04d}-12")):
        out[r.source_id].add(r.leg)
    return out


def _posted_amount(conn: Connection, source_id: str, first_leg: str) -> int:
    j = s.fund_journal
    total = 0
    for r in conn.execute(select(j.c.leg, j.c.amount).where(j.c.source_type == "contribution").where(j.c.source_id == source_id)):
        if r.leg.split("@")[0] == first_leg:
            total += r.amount
    return total


def summary(conn: Connection, year: int) -> list[dict[str, Any]]:
    """The stored contribution rows of a year, by item and fund (head-periods and amount)."""
    t = s.fund_contributions
    out: dict[tuple[str, str], list[int]] = {}
    for r in conn.execute(select(t.c.item, t.c.fund_pay_type, t.c.psn_cnt, t.c.amount)
                          .where(t.c.period >= f"{year:04d}-01").where(t.c.period <= f"{year:04d}-12")):
        cell = out.setdefault((r.item, r.fund_pay_type), [0, 0])
        cell[0] += r.psn_cnt
        cell[1] += r.amount
    return [
        {"item": item, "item_name": ITEM_NAMES.get(item, item), "fund_pay_type": fund, "head_periods": v[0], "amount": _yuan(v[1])}
        for (item, fund), v in sorted(out.items())
    ]
