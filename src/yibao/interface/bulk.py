"""The bulk channel: many encounters at once, with the same rules and the same books as the
per-request interface.

- ``upload(encounters)`` files finished encounters with their fee lines, each line priced and
  split as 2301/2204 would (a batch 上传);
- ``settle_stored()`` settles what is on file and not yet settled, in order of discharge, as
  2304/2207 would (批量结算);
- ``settle(encounters)`` does both in one pass (history replay, the demo).

Each chunk is one transaction that locks its persons (PostgreSQL row locks in psn_no order, so
that two bulk jobs cannot deadlock; SQLite's write lock otherwise), reads their accumulators
once, settles every encounter of the chunk in order through the pure engine, and writes each
table with one statement. An encounter already on file (same institution and visit number) is
not filed again; an encounter the rules refuse is reported with the reason and nothing of it is
stored. Replaying history does not check deaths known today: a death is often recorded long
after the care that followed it was paid, and such care (``care_after_death``) is what fund
supervision must find in the replayed books. The real-time interface refuses it, with the
death known at the time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable, Iterable, Iterator, NamedTuple

from sqlalchemy import and_, bindparam, case, func, select, tuple_, update
from sqlalchemy.engine import Connection, Engine

from yibao.money import exact_from_text, exact_to_text, round_half_up
from yibao.policy import PolicyError, PolicyLibrary, resolve
from yibao.policy.schema import ResolvedPolicy
from yibao.registry.certno import CertnoError, validate
from yibao.registry.levels import LevelError, settlement_level
from yibao.settlement import (
    Claim,
    FeeLine,
    InstitutionFacts,
    LineError,
    LineSplit,
    PersonFacts,
    SettlementError,
    YearState,
    classify_lines,
    settle,
)
from yibao.settlement.model import LayerAccum
from yibao.storage import schema as s
from yibao.storage.bulk import insert_rows
from yibao.storage.db import writing

from . import statements as q
from .lookups import most_generous
from .reference import Reference
from .settling import new_id, ratio_out

REFUSALS = (LineError, SettlementError, PolicyError, LevelError, CertnoError)


class BulkLine(NamedTuple):
    """One fee line as the institution sent it (a plain tuple of the first four works too)."""

    feedetl_sn: str
    med_list_codg: str
    pric: Any
    cnt: Any
    det_item_fee_sumamt: int | None = None  # fen
    init_feedetl_sn: str | None = None
    fee_ocur_time: dt.datetime | None = None
    medins_list_codg: str | None = None
    bilg_dept_codg: str | None = None
    bilg_dr_codg: str | None = None
    hosp_appr_flag: str | None = None


@dataclass
class BulkEncounter:
    """A finished encounter with its fee lines, in national field names."""

    psn_no: str
    fixmedins_code: str
    insutype: str
    med_type: str
    begntime: dt.datetime
    endtime: dt.datetime
    ipt_otp_no: str
    lines: list[tuple]  # BulkLine, or (feedetl_sn, med_list_codg, pric, cnt[, det_item_fee_sumamt fen[, init_feedetl_sn]])
    setl_time: dt.datetime | None = None  # default: endtime
    dise_codg: str | None = None
    diagnoses: list[str] = field(default_factory=list)  # principal first
    procedures: list[str] = field(default_factory=list)  # main first
    dscg_way: str | None = None
    dept_code: str | None = None
    acct_used: bool = False
    mdtrt_id: str | None = None
    exp_content: str | None = None


@dataclass
class BulkReport:
    settled: int = 0
    uploaded: int = 0
    skipped: int = 0  # already on file
    refused: list[tuple[str, str]] = field(default_factory=list)  # (ipt_otp_no or mdtrt_id, reason)
    medfee_sumamt: int = 0
    fund_pay_sumamt: int = 0

    def merge(self, other: "BulkReport") -> None:
        self.settled += other.settled
        self.uploaded += other.uploaded
        self.skipped += other.skipped
        self.refused.extend(other.refused)
        self.medfee_sumamt += other.medfee_sumamt
        self.fund_pay_sumamt += other.fund_pay_sumamt


@dataclass
class _Visit:
    """What settling needs to know about one encounter, whichever way it arrived."""

    mdtrt_id: str
    key: str  # for reports: the visit number or mdtrt_id
    psn_no: str
    fixmedins_code: str
    insutype: str
    med_type: str
    when: dt.datetime
    acct_used: bool


class _Refused(ValueError):
    pass


PolicyFor = Callable[[str, str, dt.date], ResolvedPolicy]
Progress = Callable[[int], None]

UNSETTLED = (
    select(s.encounters.c.mdtrt_id, s.encounters.c.psn_no, s.encounters.c.fixmedins_code, s.encounters.c.insutype,
           s.encounters.c.med_type, s.encounters.c.endtime, s.encounters.c.begntime)
    .where(s.encounters.c.status.in_(("open", "discharged")))
    .order_by(s.encounters.c.endtime, s.encounters.c.mdtrt_id)
)
LINES_OF_ENCOUNTER_SETTLED = (
    update(s.fee_lines)
    .where(s.fee_lines.c.mdtrt_id == bindparam("k_mdtrt_id"))
    .where(s.fee_lines.c.status == "active")
    .values(status="settled", setl_id=bindparam("setl_id"))
)
_F, _C = s.fee_lines, s.catalogue
_NEGO = and_(_C.c.nego_drug.is_(True), _F.c.chrgitm_lv != "")
_LINE_SUMS = (
    select(
        _F.c.mdtrt_id, case((_NEGO, 1), else_=0).label("nego"), func.count().label("n"),
        func.sum(_F.c.det_item_fee_sumamt), func.sum(_F.c.fulamt_ownpay_amt), func.sum(_F.c.overlmt_amt),
        func.sum(_F.c.preselfpay_amt), func.sum(_F.c.inscp_scp_amt),
    )
    .select_from(_F.outerjoin(_C, _C.c.med_list_codg == _F.c.med_list_codg))
    .where(_F.c.mdtrt_id.in_(bindparam("ids", expanding=True)))
    .where(_F.c.status == "active")
    .group_by(_F.c.mdtrt_id, case((_NEGO, 1), else_=0))
)
ENCOUNTERS_SETTLED = (
    update(s.encounters).where(s.encounters.c.mdtrt_id.in_(bindparam("ids", expanding=True))).values(status="settled")
)


class BulkSettler:
    def __init__(self, engine: Engine, policies: PolicyLibrary | None = None, policy_for: PolicyFor | None = None) -> None:
        self.engine = engine
        self.library = policies or PolicyLibrary.shipped()
        self.policy_for = policy_for or (lambda admdvs, insutype, on: resolve(self.library.find(admdvs, insutype, on), on))
        self.reference = Reference(engine)

    # ── entry points ─────────────────────────────────────────────────────────────────────────

    def settle(self, encounters: Iterable[BulkEncounter], *, chunk: int = 2000, progress: Progress | None = None) -> BulkReport:
        """File and settle, in one pass."""
        return self._run(encounters, chunk, progress, settle_now=True)

    def upload(self, encounters: Iterable[BulkEncounter], *, chunk: int = 2000, progress: Progress | None = None) -> BulkReport:
        """File encounters and their priced lines, unsettled (as 2401/2301/2402 would)."""
        return self._run(encounters, chunk, progress, settle_now=False)

    def settle_stored(self, *, chunk: int = 2000, progress: Progress | None = None, limit: int | None = None) -> BulkReport:
        """Settle every encounter on file that has no settlement yet, in order of discharge."""
        report = BulkReport()
        with self.engine.connect() as conn:
            todo = conn.execute(UNSETTLED.limit(limit) if limit else UNSETTLED).fetchall()
        for start in range(0, len(todo), chunk):
            part = todo[start : start + chunk]
            report.merge(self._settle_stored_chunk(part))
            if progress is not None:
                progress(len(part))
        return report

    def _run(self, encounters, chunk, progress, *, settle_now: bool) -> BulkReport:
        report = BulkReport()
        for batch in _chunks(encounters, chunk):
            report.merge(self._file_chunk(batch, settle_now))
            if progress is not None:
                progress(len(batch))
        return report

    # ── chunks ───────────────────────────────────────────────────────────────────────────────

    def _file_chunk(self, batch: list[BulkEncounter], settle_now: bool) -> BulkReport:
        report = BulkReport()
        catalogue = self.reference.catalogue()
        with writing(self.engine) as conn:
            ctx = _Context.load(conn, {e.psn_no for e in batch}, lock=settle_now)
            on_file = _on_file(conn, [(e.fixmedins_code, e.ipt_otp_no) for e in batch])
            rows = _Rows()
            for enc in batch:
                if (enc.fixmedins_code, enc.ipt_otp_no) in on_file:
                    report.skipped += 1
                    continue
                on_file.add((enc.fixmedins_code, enc.ipt_otp_no))
                try:
                    lines = self._file_one(enc, ctx, catalogue)
                    mdtrt_id = enc.mdtrt_id or new_id("M")
                    visit = _Visit(mdtrt_id, enc.ipt_otp_no, enc.psn_no, enc.fixmedins_code, enc.insutype,
                                   enc.med_type, enc.setl_time or enc.endtime, enc.acct_used)
                    setl_id = None
                    if settle_now:
                        setl_id = self._settle_one(visit, lines, ctx, rows, report)
                    rows.add_encounter(enc, mdtrt_id, ctx.insurance[(enc.psn_no, enc.insutype)], setl_id, lines)
                    report.uploaded += 1
                except (*REFUSALS, _Refused) as exc:
                    report.refused.append((enc.ipt_otp_no, str(exc)))
            rows.write(conn, ctx)
        return report

    def _settle_stored_chunk(self, todo: list[Any]) -> BulkReport:
        report = BulkReport()
        with writing(self.engine) as conn:
            ctx = _Context.load(conn, {r.psn_no for r in todo}, lock=True)
            by_encounter: dict[str, list[LineSplit]] = {r.mdtrt_id: [] for r in todo}
            # Settling needs each encounter's totals, and for the civil-servant layer the policy-scope
            # part of its negotiated-drug lines: the database adds them up, so each encounter comes
            # as at most two aggregate lines (negotiated drugs, the rest) with exactly the same sums.
            for mdtrt_id, is_nego, n, amount, fulamt, overlmt, pre, inscp in conn.execute(
                _LINE_SUMS, {"ids": list(by_encounter)}
            ).all():
                by_encounter[mdtrt_id].append(LineSplit(
                    f"Σ{'nego' if is_nego else 'rest'}({n})", "", "02" if is_nego else "01", 0, 0,
                    int(amount), int(fulamt), int(overlmt), int(pre), int(inscp), None, 0, bool(is_nego),
                ))
            rows = _Rows()
            settled = []
            for r in todo:
                lines = by_encounter[r.mdtrt_id]
                if not lines:
                    report.refused.append((r.mdtrt_id, "没有未结算的费用明细"))
                    continue
                visit = _Visit(r.mdtrt_id, r.mdtrt_id, r.psn_no, r.fixmedins_code, r.insutype, r.med_type,
                               r.endtime or r.begntime, r.insutype == "310" and r.med_type in ("11", "13", "14", "41"))
                try:
                    self._check_person(visit, ctx)
                    setl_id = self._settle_one(visit, tuple(lines), ctx, rows, report)
                    settled.append({"k_mdtrt_id": r.mdtrt_id, "setl_id": setl_id, "status": "settled"})
                except (*REFUSALS, _Refused) as exc:
                    report.refused.append((r.mdtrt_id, str(exc)))
            rows.write(conn, ctx)
            if settled:
                # One statement each: every active line takes the settlement of its encounter.
                ids = [x["k_mdtrt_id"] for x in settled]
                conn.execute(LINES_OF_ENCOUNTER_SETTLED, settled)
                conn.execute(ENCOUNTERS_SETTLED, {"ids": ids})
        return report

    # ── one encounter ────────────────────────────────────────────────────────────────────────

    def _check_person(self, visit: _Visit, ctx: "_Context") -> Any:
        person = ctx.persons.get(visit.psn_no)
        if person is None:
            raise _Refused(f"未知的人员编号 psn_no {visit.psn_no}")
        validate(person.certno)
        if (visit.psn_no, visit.insutype) not in ctx.insurance:
            raise _Refused(f"人员 {visit.psn_no} 未参加险种 insutype {visit.insutype}")
        return person

    def _file_one(self, enc: BulkEncounter, ctx: "_Context", catalogue) -> tuple[LineSplit, ...]:
        self._check_person(_Visit("", enc.ipt_otp_no, enc.psn_no, enc.fixmedins_code, enc.insutype, enc.med_type, enc.endtime, False), ctx)
        if self.reference.institution(enc.fixmedins_code) is None:
            raise _Refused(f"未知的定点医药机构 fixmedins_code {enc.fixmedins_code}")
        if enc.endtime < enc.begntime:
            raise _Refused(f"结束时间 {enc.endtime} 早于开始时间 {enc.begntime}")
        fees = []
        for spec in enc.lines:
            sn, code, pric, cnt = spec[:4]
            total = spec[4] if len(spec) > 4 else None
            init = spec[5] if len(spec) > 5 else None
            flag = spec[10] if len(spec) > 10 else None
            fees.append(FeeLine(str(sn), code, _exact(pric), _exact(cnt), total, init, flag))
        return tuple(classify_lines(fees, catalogue))

    def _settle_one(self, visit: _Visit, lines: tuple[LineSplit, ...], ctx: "_Context", rows: "_Rows", report: BulkReport) -> str:
        institution = self.reference.institution(visit.fixmedins_code)
        if institution is None:
            raise _Refused(f"未知的定点医药机构 fixmedins_code {visit.fixmedins_code}")
        ins = ctx.insurance[(visit.psn_no, visit.insutype)]
        when = visit.when
        on = when.date()
        inst = InstitutionFacts(visit.fixmedins_code, settlement_level(institution["medins_lv"]), institution["admdvs"])
        balance = ctx.balances[(visit.psn_no, visit.insutype)]
        facts = PersonFacts(
            visit.psn_no, ins.insutype, ins.psn_type, ins.insu_admdvs, ctx.assistance(visit.psn_no, when),
            ins.cvlserv_flag == "1", balance,
        )
        policy = self.policy_for(ins.insu_admdvs, ins.insutype, on)
        filed, referred = ctx.filings_for(visit.psn_no, on, inst) if not inst.admdvs.startswith(policy.pooling_region.admdvs) else (False, False)
        claim = Claim(facts, inst, visit.med_type, on, lines, filed, referred, visit.acct_used)
        state = ctx.states.setdefault((visit.psn_no, on.year), YearState())
        result = settle(claim, policy, state)
        result.delta.apply(state)
        ctx.balances[(visit.psn_no, visit.insutype)] = balance - result.acct_pay
        ctx.touched.add((visit.psn_no, on.year))
        setl_id = new_id("S")
        rows.add_settlement(visit, setl_id, ins, result)
        report.settled += 1
        report.medfee_sumamt += result.totals.medfee_sumamt
        report.fund_pay_sumamt += result.fund_pay_sumamt
        return setl_id


_IN_PSN = bindparam("psn_nos", expanding=True)
_LOCK_PERSONS = select(s.persons.c.psn_no).where(s.persons.c.psn_no.in_(_IN_PSN)).order_by(s.persons.c.psn_no).with_for_update()
_PERSONS = select(s.persons).where(s.persons.c.psn_no.in_(_IN_PSN))
_INSURANCE = select(s.insurance).where(s.insurance.c.psn_no.in_(_IN_PSN))
_IDENTITIES = select(s.identities).where(s.identities.c.psn_no.in_(_IN_PSN)).where(s.identities.c.assistance.is_not(None))
_FILINGS = select(s.filings).where(s.filings.c.psn_no.in_(_IN_PSN)).where(s.filings.c.status == "valid")
_ACCUMULATORS = select(s.accumulators).where(s.accumulators.c.psn_no.in_(_IN_PSN))


class _Context:
    """The persons of one chunk: enrollment, identities, filings, accumulators, balances."""

    def __init__(self) -> None:
        self.persons: dict[str, Any] = {}
        self.insurance: dict[tuple[str, str], Any] = {}
        self.identities: dict[str, list[Any]] = {}
        self.filings: dict[str, list[Any]] = {}
        self.states: dict[tuple[str, int], YearState] = {}
        self.balances: dict[tuple[str, str], int] = {}
        self.touched: set[tuple[str, int]] = set()

    @classmethod
    def load(cls, conn: Connection, psn_nos: set[str], *, lock: bool) -> "_Context":
        ctx = cls()
        wanted = {"psn_nos": sorted(psn_nos)}
        if lock and conn.dialect.name == "postgresql":
            conn.execute(_LOCK_PERSONS, wanted)
        ctx.persons = {r.psn_no: r for r in conn.execute(_PERSONS, wanted)}
        ctx.insurance = {(r.psn_no, r.insutype): r for r in conn.execute(_INSURANCE, wanted)}
        for r in conn.execute(_IDENTITIES, wanted):
            ctx.identities.setdefault(r.psn_no, []).append(r)
        for r in conn.execute(_FILINGS, wanted):
            ctx.filings.setdefault(r.psn_no, []).append(r)
        for r in conn.execute(_ACCUMULATORS, wanted):
            state = ctx.states.setdefault((r.psn_no, r.year), YearState())
            if r.layer == "admissions":
                state.admissions = r.count
            else:
                state.layers[r.layer] = LayerAccum(exact_from_text(r.base), r.paid)
        ctx.balances = {key: row.acct_balc for key, row in ctx.insurance.items()}
        return ctx

    def assistance(self, psn_no: str, when: dt.datetime) -> str | None:
        return most_generous(
            r.assistance for r in self.identities.get(psn_no, ()) if r.begntime <= when and (r.endtime is None or r.endtime >= when)
        )

    def filings_for(self, psn_no: str, on: dt.date, inst: InstitutionFacts) -> tuple[bool, bool]:
        filed = referred = False
        for f in self.filings.get(psn_no, ()):
            if f.begndate <= on and (f.enddate is None or f.enddate >= on) and (
                not f.mdtrtarea_admdvs or inst.admdvs.startswith(f.mdtrtarea_admdvs)
            ) and (not f.reflin_medins_no or f.reflin_medins_no == inst.fixmedins_code):
                filed = filed or f.kind == "out_of_region"
                referred = referred or f.kind == "referral"
        return filed, referred


def _on_file(conn: Connection, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    if not keys:
        return set()
    query = select(s.encounters.c.fixmedins_code, s.encounters.c.ipt_otp_no).where(
        tuple_(s.encounters.c.fixmedins_code, s.encounters.c.ipt_otp_no).in_(keys)
    )
    return {(r.fixmedins_code, r.ipt_otp_no) for r in conn.execute(query)}


class _Rows:
    """Rows gathered for one chunk, written with one statement per table."""

    def __init__(self) -> None:
        self.encounters: list[dict] = []
        self.diagnoses: list[dict] = []
        self.procedures: list[dict] = []
        self.lines: list[dict] = []
        self.settlements: list[dict] = []
        self.funds: list[dict] = []

    def add_encounter(self, enc: BulkEncounter, mdtrt_id: str, ins: Any, setl_id: str | None, lines: tuple[LineSplit, ...]) -> None:
        inpatient = enc.med_type.startswith("2")
        self.encounters.append(dict(
            mdtrt_id=mdtrt_id, psn_no=enc.psn_no, fixmedins_code=enc.fixmedins_code, insutype=enc.insutype,
            med_type=enc.med_type, visit_kind="inpatient" if inpatient else "outpatient", ipt_otp_no=enc.ipt_otp_no,
            begntime=enc.begntime, endtime=enc.endtime, dise_codg=enc.dise_codg, dise_name=None,
            dscg_maindiag_code=enc.diagnoses[0] if enc.diagnoses else enc.dise_codg, dscg_way=enc.dscg_way,
            dept_code=enc.dept_code, mdtrt_cert_type="02", mdtrt_cert_no=None, mdtrtarea_admvs=None,
            insuplc_admdvs=ins.insu_admdvs, exp_content=enc.exp_content,
            status="settled" if setl_id else "discharged", created_msgid="bulk",
        ))
        for i, code in enumerate(enc.diagnoses, start=1):
            self.diagnoses.append(dict(mdtrt_id=mdtrt_id, diag_srt_no=i, inout_diag_type="2", diag_type="1",
                                       maindiag_flag="1" if i == 1 else "0", diag_code=code, diag_name=None, vali_flag="1"))
        for i, code in enumerate(enc.procedures, start=1):
            self.procedures.append(dict(mdtrt_id=mdtrt_id, srt_no=i, oprn_oprt_code=code, oprn_oprt_name=None,
                                        main_flag="1" if i == 1 else "0"))
        status = "settled" if setl_id else "active"
        sent = {str(spec[0]): BulkLine(*spec) for spec in enc.lines}
        for line in lines:
            raw = sent[line.feedetl_sn]
            self.lines.append(dict(
                mdtrt_id=mdtrt_id, feedetl_sn=line.feedetl_sn, init_feedetl_sn=line.init_feedetl_sn, chrg_bchno="1",
                med_list_codg=line.med_list_codg, medins_list_codg=raw.medins_list_codg,
                fee_ocur_time=raw.fee_ocur_time or enc.begntime,
                pric=_decimal(line.pric, 6), cnt=_decimal(line.cnt, 4), det_item_fee_sumamt=line.amount,
                fulamt_ownpay_amt=line.fulamt_ownpay, overlmt_amt=line.overlmt, preselfpay_amt=line.preselfpay,
                inscp_scp_amt=line.inscp, chrgitm_lv=line.chrgitm_lv, hosp_appr_flag=raw.hosp_appr_flag,
                bilg_dept_codg=raw.bilg_dept_codg or enc.dept_code, bilg_dr_codg=raw.bilg_dr_codg,
                status=status, setl_id=setl_id, upload_msgid="bulk",
            ))

    def add_settlement(self, visit: _Visit, setl_id: str, ins: Any, result) -> None:
        inpatient = result.category == "inpatient" or (result.category is None and visit.med_type.startswith("2"))
        t = result.totals
        when = visit.when
        self.settlements.append(dict(
            setl_id=setl_id, mdtrt_id=visit.mdtrt_id, psn_no=visit.psn_no, fixmedins_code=visit.fixmedins_code,
            insutype=visit.insutype, psn_type=ins.psn_type, med_type=visit.med_type, setl_time=when, setl_year=when.year,
            msgid="bulk", infno="2304" if inpatient else "2207", policy_id=result.policy_id, status="settled",
            refd_setl_flag="0", init_setl_id=None, clr_type="21" if inpatient else "11", clr_way="1",
            clr_optins=ins.insu_admdvs, in_region=result.in_region, medfee_sumamt=t.medfee_sumamt,
            fulamt_ownpay_amt=t.fulamt_ownpay_amt, overlmt_selfpay=t.overlmt_selfpay, preselfpay_amt=t.preselfpay_amt,
            inscp_scp_amt=t.inscp_scp_amt, act_pay_dedc=result.act_pay_dedc, pool_prop_selfpay=ratio_out(result.pool_prop),
            hifp_pay=result.pays["hifp_pay"], hifmi_pay=result.pays["hifmi_pay"], hifob_pay=result.pays["hifob_pay"],
            cvlserv_pay=result.pays["cvlserv_pay"], maf_pay=result.pays["maf_pay"], oth_pay=0,
            fund_pay_sumamt=result.fund_pay_sumamt, psn_part_amt=result.psn_part_amt, acct_pay=result.acct_pay,
            psn_cash_pay=result.psn_cash_pay, hosp_part_amt=0, balc=result.balc,
            admissions_counted=result.delta.admissions, trace="\n".join(result.trace),
        ))
        for row in result.rows:
            self.funds.append(dict(
                setl_id=setl_id, fund_pay_type=row.fund_pay_type, kind=row.kind, base=exact_to_text(row.base),
                inscp_scp_amt=round_half_up(row.base), crt_payb_lmt_amt=row.cap_remaining, fund_payamt=row.payamt,
                setl_proc_info=row.proc_info, counted=row.counted,
            ))

    def write(self, conn: Connection, ctx: _Context) -> None:
        for table, rows in (
            (s.encounters, self.encounters), (s.diagnoses, self.diagnoses), (s.procedures, self.procedures),
            (s.fee_lines, self.lines), (s.settlements, self.settlements), (s.settlement_funds, self.funds),
        ):
            insert_rows(conn, table, rows)
        rows = []
        for psn_no, year in ctx.touched:
            state = ctx.states[(psn_no, year)]
            values = [("admissions", "0", 0, state.admissions)] + [
                (key, exact_to_text(acc.base), acc.paid, 0) for key, acc in state.layers.items()
            ]
            rows.extend(dict(psn_no=psn_no, year=year, layer=layer, base=base, paid=paid, count=count)
                        for layer, base, paid, count in values)
        q.ACCUMULATOR_WRITE.run(conn, rows)
        changes = [
            dict(k_psn_no=psn, k_insutype=insutype, change=ctx.balances[(psn, insutype)] - row.acct_balc)
            for (psn, insutype), row in ctx.insurance.items()
            if ctx.balances[(psn, insutype)] != row.acct_balc
        ]
        if changes:
            q.ACCOUNT_CHANGE.run_many(conn, changes)


def _exact(value: Any) -> Fraction | Decimal:
    """A price or quantity as given (Decimal stays Decimal: exact and cheap); text is read exactly."""
    if isinstance(value, (Decimal, Fraction, int)):
        return value
    return Decimal(str(value))


def _decimal(value: Any, places: int) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, Fraction):
        return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal(1).scaleb(-places))
    return Decimal(str(value))


def _chunks(items: Iterable[BulkEncounter], size: int) -> Iterator[list[BulkEncounter]]:
    batch: list[BulkEncounter] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
