"""The real-time engine: the library's rules on one encounter plus the person's history, in plain Python.

This is a pure function: :func:`evaluate` takes a :class:`Case` (the encounter being checked, the
person, the institution, and the history the rules look at: the person's other encounters, their
lines of items with a yearly limit, earlier sales of the same traceability codes) and the compiled
knowledge, and returns :class:`~yibao.audit.findings.Finding` objects. No database, no I/O.

Each rule type has an evaluator here that implements its template's definition exactly (the
templates in ``templates/*.sql`` are the reference); the differential test runs every encounter of a
synthetic region through this engine and demands the batch engine's findings for it, field by field.
SQL's three-valued logic is mirrored: a comparison with a missing fact finds nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

import pyarrow as pa

from .findings import Finding, dedupe, make_finding
from .library import Library, Rule

D4 = Decimal("0.0001")
D6 = Decimal("0.000001")


@dataclass
class Line:
    feedetl_sn: str
    med_list_codg: str
    fee_ocur_time: dt.datetime
    pric: Decimal
    cnt: Decimal
    amt: int  # fen
    bilg_dept_codg: str | None = None
    trace_codes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.pric = Decimal(self.pric).quantize(D6)
        self.cnt = Decimal(self.cnt).quantize(D4)
        try:
            self.sn = int(self.feedetl_sn)
        except (TypeError, ValueError):
            self.sn = 0
        self.fee_date = self.fee_ocur_time.date()


@dataclass
class Encounter:
    mdtrt_id: str
    psn_no: str
    fixmedins_code: str
    insutype: str | None
    med_type: str
    begntime: dt.datetime
    endtime: dt.datetime
    dscg_maindiag_code: str | None = None
    dept: str | None = None
    rel_ttp_flag: str | None = None
    diagnoses: list[tuple[str, str]] = field(default_factory=list)  # (diag_code, maindiag_flag)
    procedures: list[str] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)

    @property
    def begn_date(self) -> dt.date:
        return self.begntime.date()

    @property
    def end_date(self) -> dt.date:
        return self.endtime.date()

    @property
    def ipt_days(self) -> int:
        return (self.end_date - self.begn_date).days

    @property
    def medfee(self) -> int:
        return sum(l.amt for l in self.lines)


@dataclass(frozen=True)
class Visit:
    """Another encounter of the person, as the history rules need it."""

    mdtrt_id: str
    fixmedins_code: str
    med_type: str
    begntime: dt.datetime
    endtime: dt.datetime
    dscg_maindiag_code: str | None = None

    @property
    def begn_date(self) -> dt.date:
        return self.begntime.date()

    @property
    def end_date(self) -> dt.date:
        return self.endtime.date()


@dataclass
class Person:
    psn_no: str
    gend: str | None
    brdy: dt.date | None
    death_date: dt.date | None = None
    insu_begn_date: dt.date | None = None
    move_out_date: dt.date | None = None


@dataclass
class Case:
    encounter: Encounter
    person: Person | None
    medins_lv: str | None  # level3 … pharmacy; None when unknown
    history: list[Visit] = field(default_factory=list)
    # lines of other encounters of the person for items with a yearly limit: (code, time, mdtrt_id, sn)
    year_lines: list[tuple[str, dt.datetime, str, int]] = field(default_factory=list)
    # earlier (or later) sales of the traceability codes on this encounter: code -> [(time, mdtrt_id, sn)]
    trace_sales: dict[str, list[tuple[dt.datetime, str, int]]] = field(default_factory=dict)


# ── knowledge, compiled for look-ups ──────────────────────────────────────────────────────────

class Compiled:
    """The library's rules with their knowledge tables indexed by item code."""

    def __init__(self, library: Library, knowledge: dict[str, pa.Table], catalogue: dict[str, dict]) -> None:
        self.library = library
        self.catalogue = catalogue
        self.rows: dict[str, list[dict]] = {name: t.to_pylist() for name, t in knowledge.items()}
        self._by: dict[tuple[str, str], dict[str, list[dict]]] = {}
        self.year_limited: set[str] = set()
        for rule in library.enabled_rules():
            if rule.type_id == "over_testing" and rule.knowledge:
                self.year_limited |= {r["med_list_codg"] for r in self.rows.get(rule.knowledge, [])
                                      if r.get("max_per_year") is not None}

    def by(self, table: str, column: str) -> dict[str, list[dict]]:
        key = (table, column)
        if key not in self._by:
            index: dict[str, list[dict]] = defaultdict(list)
            for r in self.rows.get(table, []):
                index[r[column]].append(r)
            self._by[key] = dict(index)
        return self._by[key]

    def item(self, code: str) -> dict:
        return self.catalogue.get(code) or {}


def catalogue_index(rows: list[dict]) -> dict[str, dict]:
    """med_list_codg -> {item_name, list_type, med_chrgitm_type, lmt_used_flag} from catalogue rows."""
    return {r["med_list_codg"]: {"item_name": r.get("item_name", r.get("med_list_name", r.get("name"))),
                                 "list_type": r.get("list_type"), "med_chrgitm_type": r.get("med_chrgitm_type"),
                                 "lmt_used_flag": r.get("lmt_used_flag")} for r in rows}


# ── helpers mirroring the templates ───────────────────────────────────────────────────────────

def _age(person: Person | None, when: dt.datetime) -> int | None:
    if person is None or person.brdy is None:
        return None
    b = person.brdy
    return when.year - b.year - (1 if (when.month * 100 + when.day) < (b.month * 100 + b.day) else 0)


def _half_up(x: Decimal) -> int:
    return int(x.quantize(Decimal(1), rounding=ROUND_HALF_UP))


class _Ctx:
    def __init__(self, case: Case, kb: Compiled, ranks: dict[str, int]) -> None:
        self.case = case
        self.e = case.encounter
        self.kb = kb
        p = case.person
        self.gend = p.gend if p else None
        self.age = _age(p, self.e.begntime)
        self.lv_rank = ranks.get(case.medins_lv or "pharmacy") if case.medins_lv is not None else None
        self.medins_lv = case.medins_lv

    def line_row(self, l: Line, amount: int | None = None, **ev) -> dict[str, Any]:
        e = self.e
        return {"mdtrt_id": e.mdtrt_id, "feedetl_sn": l.feedetl_sn, "psn_no": e.psn_no, "fixmedins_code": e.fixmedins_code,
                "med_list_codg": l.med_list_codg, "event_date": e.begn_date, "amount": l.amt if amount is None else amount,
                **{f"ev_{k}": v for k, v in ev.items()}}

    def enc_row(self, amount: int, **ev) -> dict[str, Any]:
        e = self.e
        return {"mdtrt_id": e.mdtrt_id, "feedetl_sn": None, "psn_no": e.psn_no, "fixmedins_code": e.fixmedins_code,
                "med_list_codg": None, "event_date": e.begn_date, "amount": amount,
                **{f"ev_{k}": v for k, v in ev.items()}}

    def name(self, code: str) -> str | None:
        return self.kb.item(code).get("item_name")

    def positive(self):
        return [l for l in self.e.lines if l.cnt > 0]


def _ordered(lines: list[Line]) -> list[Line]:
    return sorted(lines, key=lambda l: (l.fee_ocur_time, l.sn))


def _in_list(value: str | None, listed: str | None) -> bool:
    return f",{value or ''}," in f",{listed or ''},"


# ── the evaluators, one per rule type ─────────────────────────────────────────────────────────

def _item_rows(rule: Rule, c: _Ctx):
    """Each billed (positive) line with each row of the rule's knowledge table for its item."""
    kb = c.kb.by(rule.knowledge, "med_list_codg")
    for l in c.positive():
        for k in kb.get(l.med_list_codg, ()):
            yield l, k


def _gender(rule: Rule, c: _Ctx):
    for l, k in _item_rows(rule, c):
        if c.gend is not None and k["gend"] is not None and c.gend != k["gend"]:
            yield c.line_row(l, item_name=c.name(l.med_list_codg), allowed_gend=k["gend"], psn_gend=c.gend)


def _age_rule(rule: Rule, c: _Ctx):
    for l, k in _item_rows(rule, c):
        if c.age is None:
            continue
        lo = k["min_age"] if k["min_age"] is not None else -1
        hi = k["max_age"] if k["max_age"] is not None else 999
        if c.age < lo or c.age > hi:
            yield c.line_row(l, item_name=c.name(l.med_list_codg), age=c.age, min_age=k["min_age"], max_age=k["max_age"])


def _level(rule: Rule, c: _Ctx):
    for l, k in _item_rows(rule, c):
        if c.lv_rank is not None and k["min_lv_rank"] is not None and c.lv_rank < k["min_lv_rank"]:
            yield c.line_row(l, item_name=c.name(l.med_list_codg), medins_lv=c.medins_lv, lv_rank=c.lv_rank,
                             min_lv_rank=k["min_lv_rank"])


def _med_type(rule: Rule, c: _Ctx):
    for l, k in _item_rows(rule, c):
        if not _in_list(c.e.med_type, k["med_types"]):
            yield c.line_row(l, item_name=c.name(l.med_list_codg), med_type=c.e.med_type,
                             allowed_med_types=k["med_types"])


def _insutype(rule: Rule, c: _Ctx):
    for l, k in _item_rows(rule, c):
        if not _in_list(c.e.insutype, k["insutypes"]):
            yield c.line_row(l, item_name=c.name(l.med_list_codg), insutype=c.e.insutype,
                             allowed_insutypes=k["insutypes"])


def _department(rule: Rule, c: _Ctx):
    kb = c.kb.by(rule.knowledge, "med_list_codg")
    for l in c.positive():
        rows = kb.get(l.med_list_codg)
        if not rows:
            continue
        dept = l.bilg_dept_codg if l.bilg_dept_codg is not None else c.e.dept
        ok = dept is not None and any(k["dept_prefix"] is not None and dept[:len(k["dept_prefix"])] == k["dept_prefix"]
                                      for k in rows)
        if not ok:
            yield c.line_row(l, item_name=c.name(l.med_list_codg), dept=dept)


def _indication(rule: Rule, c: _Ctx):
    kb = c.kb.by(rule.knowledge, "med_list_codg")
    codes = [d for d, _flag in c.e.diagnoses if d is not None]
    for l in c.positive():
        if c.kb.item(l.med_list_codg).get("lmt_used_flag") != "1":
            continue
        prefixes = [k["icd10_prefix"] for k in kb.get(l.med_list_codg, ()) if k["icd10_prefix"] is not None]
        if not any(d[:len(p)] == p for d in codes for p in prefixes):
            yield c.line_row(l, item_name=c.name(l.med_list_codg), main_diag=c.e.dscg_maindiag_code)


def _running(rule: Rule, c: _Ctx, column: str, by_day: bool):
    kb = c.kb.by(rule.knowledge, "med_list_codg")
    groups: dict[tuple, list[Line]] = defaultdict(list)
    for l in c.e.lines:
        rows = kb.get(l.med_list_codg)
        if rows and rows[0][column] is not None:
            groups[(l.med_list_codg, l.fee_date if by_day else None)].append(l)
    for (code, day), lines in groups.items():
        mx = kb[code][0][column]
        run = Decimal(0).quantize(D4)
        for l in _ordered(lines):
            run += l.cnt
            if run > mx and l.cnt > 0:
                ev = {"item_name": c.name(code)}
                if by_day:
                    ev.update(day=day, running_cnt=run, max_per_day=mx)
                else:
                    ev.update(running_cnt=run, max_per_visit=mx)
                yield c.line_row(l, **ev)


def _over_course(rule: Rule, c: _Ctx):
    kb = c.kb.by(rule.knowledge, "med_list_codg")
    for code, rows in ((code, kb.get(code)) for code in {l.med_list_codg for l in c.positive()}):
        if not rows:
            continue
        mx = rows[0]["max_days"]
        lines = [l for l in c.positive() if l.med_list_codg == code]
        days = {d: i + 1 for i, d in enumerate(sorted({l.fee_date for l in lines}))}
        for l in lines:
            if mx is not None and days[l.fee_date] > mx:
                yield c.line_row(l, item_name=c.name(code), day_of_use=days[l.fee_date], max_days=mx)


def _price(rule: Rule, c: _Ctx):
    for l, k in _item_rows(rule, c):
        ceiling = k["pric_uplmt_amt"]
        if ceiling is not None and l.pric > ceiling:
            amount = _half_up((l.pric - ceiling) * l.cnt * 100)
            yield c.line_row(l, amount, item_name=c.name(l.med_list_codg), pric=l.pric,
                             pric_uplmt_amt=Decimal(ceiling).quantize(D6), cnt=l.cnt)


def _duplicate(rule: Rule, c: _Ctx):
    kinds = set(rule.params["list_types"])
    groups: dict[tuple, list[Line]] = defaultdict(list)
    for l in c.positive():
        if c.kb.item(l.med_list_codg).get("list_type") in kinds:
            groups[(l.med_list_codg, l.fee_ocur_time, l.pric, l.cnt)].append(l)
    for lines in groups.values():
        for n, l in enumerate(sorted(lines, key=lambda x: x.sn), start=1):
            if n > 1:
                yield c.line_row(l, item_name=c.name(l.med_list_codg), fee_ocur_time=l.fee_ocur_time, copy_no=n)


def _exclusive(rule: Rule, c: _Ctx):
    kb = c.kb.by(rule.knowledge, "med_list_codg_b")
    pos = c.positive()
    by_code: dict[str, list[Line]] = defaultdict(list)
    for l in pos:
        by_code[l.med_list_codg].append(l)
    for b in pos:
        for x in kb.get(b.med_list_codg, ()):
            a_lines = by_code.get(x["med_list_codg_a"], ())
            if any(x["scope"] == "encounter" or a.fee_date == b.fee_date for a in a_lines):
                yield c.line_row(b, item_name=c.name(b.med_list_codg), excluded_by=x["med_list_codg_a"],
                                 excluded_by_name=x["med_list_name_a"], scope=x["scope"])


def _included(rule: Rule, c: _Ctx):
    kb = c.kb.by(rule.knowledge, "included_med_list_codg")
    pos = c.positive()
    codes = {l.med_list_codg for l in pos}
    for b in pos:
        for x in kb.get(b.med_list_codg, ()):
            if x["med_list_codg"] in codes:
                yield c.line_row(b, item_name=c.name(b.med_list_codg), included_in=x["med_list_codg"],
                                 included_in_name=x["med_list_name"])


def _missing_related(rule: Rule, c: _Ctx):
    kb = c.kb.by(rule.knowledge, "med_list_codg")
    pos = c.positive()
    codes = {l.med_list_codg for l in pos}
    for l in pos:
        rows = kb.get(l.med_list_codg)
        if rows and not any(k["related_med_list_codg"] in codes for k in rows):
            yield c.line_row(l, item_name=c.name(l.med_list_codg))


def _bed_days(rule: Rule, c: _Ctx):
    e = c.e
    if e.med_type != "21":
        return
    kinds = set(rule.params["bed_types"])
    tol = int(rule.params["tolerance_days"])
    beds = [l for l in e.lines if c.kb.item(l.med_list_codg).get("med_chrgitm_type") in kinds]
    if not beds:
        return
    run, excess, total = Decimal(0).quantize(D4), 0, Decimal(0).quantize(D4)
    for l in _ordered(beds):
        run += l.cnt
        total += l.cnt
        if run > e.ipt_days + tol:
            excess += l.amt
    if total > e.ipt_days + tol:
        yield c.enc_row(excess, bed_days=total, ipt_days=e.ipt_days)


def _visits_with_current(c: _Ctx) -> list[Visit]:
    e = c.e
    me = Visit(e.mdtrt_id, e.fixmedins_code, e.med_type, e.begntime, e.endtime, e.dscg_maindiag_code)
    return [v for v in c.case.history if v.mdtrt_id != e.mdtrt_id] + [me]


def _split(rule: Rule, c: _Ctx):
    e = c.e
    if e.med_type != "21":
        return
    stays = sorted((v for v in _visits_with_current(c) if v.med_type == "21"), key=lambda v: (v.begntime, v.mdtrt_id))
    i = next(k for k, v in enumerate(stays) if v.mdtrt_id == e.mdtrt_id)
    if i == 0:
        return
    prev = stays[i - 1]
    gap = (e.begn_date - prev.end_date).days
    n = int(rule.params["dx_prefix_len"])
    excluded = tuple(rule.params.get("exclude_dx_prefixes") or ())
    if e.dscg_maindiag_code is not None and excluded and e.dscg_maindiag_code.startswith(excluded):
        return  # planned courses of chemo- or radiotherapy
    if 0 <= gap <= int(rule.params["max_gap_days"]) and prev.dscg_maindiag_code is not None \
            and e.dscg_maindiag_code is not None and prev.dscg_maindiag_code[:n] == e.dscg_maindiag_code[:n]:
        yield c.enc_row(e.medfee, previous_stay=prev.mdtrt_id, gap_days=gap, main_diag=e.dscg_maindiag_code,
                        previous_main_diag=prev.dscg_maindiag_code)


def _phantom(rule: Rule, c: _Ctx):
    e = c.e
    if e.med_type != "21":
        return
    bed, allowed = set(rule.params["bed_types"]), set(rule.params["allowed_types"])
    days: dict[dt.date, list[Line]] = defaultdict(list)
    for l in c.positive():
        days[l.fee_date].append(l)
    idle = []
    for day, lines in days.items():
        types = [c.kb.item(l.med_list_codg).get("med_chrgitm_type") for l in lines]
        if any(t in bed for t in types) and all(t in allowed for t in types):
            idle.append((day, sum(l.amt for l in lines)))
    if len(idle) >= int(rule.params["min_days"]):
        yield c.enc_row(sum(a for _d, a in idle), idle_days=len(idle), first_idle_day=min(d for d, _a in idle),
                        last_idle_day=max(d for d, _a in idle))


def _overlong(rule: Rule, c: _Ctx):
    e = c.e
    mx = int(rule.params["max_days"])
    if e.med_type == "21" and e.ipt_days > mx:
        start = e.begn_date + dt.timedelta(days=mx)
        yield c.enc_row(sum(l.amt for l in e.lines if l.fee_date >= start), ipt_days=e.ipt_days)


def _low_standard(rule: Rule, c: _Ctx):
    e = c.e
    if e.med_type != "21" or e.procedures or e.ipt_days > int(rule.params["max_days"]):
        return
    pos = c.positive()
    if not pos:
        return
    kinds = set(rule.params["exam_types"])
    total = sum(l.amt for l in pos)
    exam = sum(l.amt for l in pos if c.kb.item(l.med_list_codg).get("med_chrgitm_type") in kinds)
    share = int(Decimal(rule.params["min_exam_share"]) * 10000)
    if total > 0 and exam * 10000 >= total * share:
        yield c.enc_row(e.medfee, ipt_days=e.ipt_days, exam_amt=exam, total_amt=total)


def _upcoding(rule: Rule, c: _Ctx):
    e = c.e
    if e.med_type != "21":
        return
    kb = c.kb.by(rule.knowledge, "diag_code")
    coded = {d for d, flag in e.diagnoses if flag == "0" and d in kb}
    codes = {l.med_list_codg for l in c.positive()}
    bare = sorted(d for d in coded if not any(k["med_list_codg"] in codes for k in kb[d]))
    if bare:
        amount = int((Decimal(e.medfee) * Decimal(rule.params["share"])).quantize(Decimal(1), rounding=ROUND_FLOOR))
        yield c.enc_row(amount, diag_code=bare[0], unsupported_codes=len(bare))


def _over_testing(rule: Rule, c: _Ctx):
    kb = c.kb.by(rule.knowledge, "med_list_codg")
    mine = [l for l in c.positive() if kb.get(l.med_list_codg) and kb[l.med_list_codg][0]["max_per_year"] is not None]
    if not mine:
        return
    e = c.e
    for l in mine:
        mx = kb[l.med_list_codg][0]["max_per_year"]
        year = l.fee_ocur_time.year
        key = (l.fee_ocur_time, e.mdtrt_id, l.sn)
        earlier = sum(1 for code, t, m, sn in c.case.year_lines
                      if code == l.med_list_codg and t.year == year and m != e.mdtrt_id and (t, m, sn) < key)
        earlier += sum(1 for o in mine if o.med_list_codg == l.med_list_codg and o.fee_ocur_time.year == year
                       and (o.fee_ocur_time, e.mdtrt_id, o.sn) < key)
        nth = earlier + 1
        if nth > mx:
            yield c.line_row(l, item_name=c.name(l.med_list_codg), nth_in_year=nth, max_per_year=mx)


def _after_death(rule: Rule, c: _Ctx):
    p, e = c.case.person, c.e
    if p is not None and p.death_date is not None and e.begn_date > p.death_date:
        yield c.enc_row(e.medfee, death_date=p.death_date, days_after_death=(e.begn_date - p.death_date).days)


def _outside_coverage(rule: Rule, c: _Ctx):
    p, e = c.case.person, c.e
    if p is None:
        return
    before = p.insu_begn_date is not None and e.begn_date < p.insu_begn_date
    after = p.death_date is None and p.move_out_date is not None and e.begn_date >= p.move_out_date
    if before or after:
        yield c.enc_row(e.medfee, insu_begn_date=p.insu_begn_date, move_out_date=p.move_out_date)


def _two_places(rule: Rule, c: _Ctx):
    e = c.e
    for s in c.case.history:
        if s.mdtrt_id != e.mdtrt_id and s.med_type == "21" and s.fixmedins_code != e.fixmedins_code \
                and s.begn_date < e.begn_date < s.end_date:
            yield c.enc_row(e.medfee, stay=s.mdtrt_id, stay_fixmedins_code=s.fixmedins_code)


def _outpatient_during_stay(rule: Rule, c: _Ctx):
    e = c.e
    if e.med_type == "21":
        return
    for s in c.case.history:
        if s.mdtrt_id != e.mdtrt_id and s.med_type == "21" and s.fixmedins_code == e.fixmedins_code \
                and s.begn_date < e.begn_date < s.end_date:
            yield c.enc_row(e.medfee, stay=s.mdtrt_id)


def _overlapping(rule: Rule, c: _Ctx):
    e = c.e
    if e.med_type != "21":
        return
    for a in c.case.history:
        if a.mdtrt_id != e.mdtrt_id and a.med_type == "21" \
                and (a.begntime < e.begntime or (a.begntime == e.begntime and a.mdtrt_id < e.mdtrt_id)) \
                and e.begn_date < a.end_date:
            yield c.enc_row(e.medfee, other_stay=a.mdtrt_id)


def _third_party(rule: Rule, c: _Ctx):
    e = c.e
    ranges = rule.params["dx_ranges"]
    cause = any(d is not None and lo <= d[:3] <= hi for d, _f in e.diagnoses for lo, hi in ranges)
    if e.rel_ttp_flag == "1" or cause:
        yield c.enc_row(e.medfee, rel_ttp_flag=e.rel_ttp_flag, external_cause_dx=1 if cause else 0)


def _trace(rule: Rule, c: _Ctx):
    e = c.e
    occurrences: dict[str, list[tuple]] = defaultdict(list)
    for code, sales in c.case.trace_sales.items():
        occurrences[code].extend((t, m, sn) for t, m, sn in sales if m != e.mdtrt_id)
    for l in e.lines:
        for code in l.trace_codes:
            occurrences[code].append((l.fee_ocur_time, e.mdtrt_id, l.sn))
    for l in e.lines:
        resold = []
        for code in l.trace_codes:
            first = min(occurrences[code])
            if (l.fee_ocur_time, e.mdtrt_id, l.sn) != first:
                resold.append(code)
        if resold:
            yield c.line_row(l, _half_up(l.pric * 100), item_name=c.name(l.med_list_codg), trace_code=min(resold),
                             resold_codes=len(resold))


EVALUATORS: dict[str, Callable] = {
    "gender": _gender, "age": _age_rule, "institution_level": _level, "med_type": _med_type, "insutype": _insutype,
    "department": _department, "indication": _indication,
    "over_frequency_day": lambda r, c: _running(r, c, "max_per_day", True),
    "over_quantity_visit": lambda r, c: _running(r, c, "max_per_visit", False),
    "over_course": _over_course, "price_ceiling": _price, "duplicate_charge": _duplicate, "exclusive": _exclusive,
    "included_consumable": _included, "missing_related": _missing_related, "bed_days": _bed_days,
    "split_admission": _split, "phantom_stay": _phantom, "overlong_stay": _overlong,
    "low_standard_admission": _low_standard, "drg_upcoding": _upcoding, "over_testing": _over_testing,
    "care_after_death": _after_death, "outside_coverage": _outside_coverage, "two_places": _two_places,
    "outpatient_during_stay": _outpatient_during_stay, "overlapping_stays": _overlapping,
    "third_party_injury": _third_party, "trace_code_resale": _trace,
}


def evaluate(case: Case, compiled: Compiled, rules: list[Rule] | None = None) -> list[Finding]:
    """Findings of every real-time rule in force on the encounter being checked."""
    ctx = _Ctx(case, compiled, compiled.library.level_ranks)
    out: list[Finding] = []
    for rule in rules if rules is not None else compiled.library.enabled_rules():
        if not rule.rtype.realtime:
            continue
        for row in EVALUATORS[rule.type_id](rule, ctx):
            if rule.in_force(row["event_date"]):
                out.append(make_finding(rule, row))
    return dedupe(out)

