"""The bulk channel: settle many finished encounters at once, with the same rules and the same
books as 2304/2207.

Used for batch files from institutions, for replaying history into a new platform, and by the
demo. Encounters are taken in order; each chunk is one transaction that locks its persons
(PostgreSQL row locks, in psn_no order so that two bulk jobs cannot deadlock; SQLite's write
lock otherwise), reads their accumulators once, settles every encounter of the chunk through
the pure engine, and writes encounters, lines, settlements, fund rows and accumulators with one
statement per table. An encounter already on file (same institution and visit number) is not
settled again. An encounter the rules refuse is reported with the reason and nothing of it is
stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable, Iterable, Iterator

from sqlalchemy import select, tuple_
from sqlalchemy.engine import Engine

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
    PersonFacts,
    SettlementError,
    YearState,
    classify_lines,
    settle,
)
from yibao.settlement.model import LayerAccum
from yibao.storage import schema as s
from yibao.storage.bulk import insert_rows

from .reference import Reference
from .settling import new_id, ratio_out

ASSISTANCE_ORDER = ["tekun", "dibao", "poverty", "low_income"]


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
    lines: list[tuple]  # (feedetl_sn, med_list_codg, pric, cnt[, det_item_fee_sumamt fen[, init_feedetl_sn]])
    setl_time: dt.datetime | None = None  # default: endtime
    dise_codg: str | None = None
    diagnoses: list[str] = field(default_factory=list)  # principal first
    procedures: list[str] = field(default_factory=list)  # main first
    dscg_way: str | None = None
    dept_code: str | None = None
    acct_used: bool = False
    mdtrt_id: str | None = None


@dataclass
class BulkReport:
    settled: int = 0
    skipped: int = 0  # already on file
    refused: list[tuple[str, str]] = field(default_factory=list)  # (ipt_otp_no, reason)
    medfee_sumamt: int = 0
    fund_pay_sumamt: int = 0

    def merge(self, other: "BulkReport") -> None:
        self.settled += other.settled
        self.skipped += other.skipped
        self.refused.extend(other.refused)
        self.medfee_sumamt += other.medfee_sumamt
        self.fund_pay_sumamt += other.fund_pay_sumamt


PolicyFor = Callable[[str, str, dt.date], ResolvedPolicy]


class BulkSettler:
    def __init__(self, engine: Engine, policies: PolicyLibrary | None = None, policy_for: PolicyFor | None = None) -> None:
        self.engine = engine
        self.library = policies or PolicyLibrary.shipped()
        self.policy_for = policy_for or (lambda admdvs, insutype, on: resolve(self.library.find(admdvs, insutype, on), on))
        self.reference = Reference(engine)

    def settle(
        self, encounters: Iterable[BulkEncounter], *, chunk: int = 2000, progress: Callable[[int], None] | None = None
    ) -> BulkReport:
        report = BulkReport()
        for batch in _chunks(encounters, chunk):
            report.merge(self._chunk(batch))
            if progress is not None:
                progress(len(batch))
        return report

    # ── one chunk, one transaction ───────────────────────────────────────────────────────────

    def _chunk(self, batch: list[BulkEncounter]) -> BulkReport:
        report = BulkReport()
        catalogue = self.reference.catalogue()
        with self.engine.begin() as conn:
            psn_nos = sorted({e.psn_no for e in batch})
            if conn.dialect.name == "postgresql":
                conn.execute(select(s.persons.c.psn_no).where(s.persons.c.psn_no.in_(psn_nos)).order_by(s.persons.c.psn_no).with_for_update())
            persons = {r.psn_no: r for r in conn.execute(select(s.persons).where(s.persons.c.psn_no.in_(psn_nos)))}
            insurance = {(r.psn_no, r.insutype): r for r in conn.execute(select(s.insurance).where(s.insurance.c.psn_no.in_(psn_nos)))}
            identities: dict[str, list[Any]] = {}
            for r in conn.execute(select(s.identities).where(s.identities.c.psn_no.in_(psn_nos)).where(s.identities.c.assistance.is_not(None))):
                identities.setdefault(r.psn_no, []).append(r)
            filings: dict[str, list[Any]] = {}
            for r in conn.execute(select(s.filings).where(s.filings.c.psn_no.in_(psn_nos)).where(s.filings.c.status == "valid")):
                filings.setdefault(r.psn_no, []).append(r)
            states: dict[tuple[str, int], YearState] = {}
            existing_keys: set[tuple[str, int, str]] = set()
            for r in conn.execute(select(s.accumulators).where(s.accumulators.c.psn_no.in_(psn_nos))):
                state = states.setdefault((r.psn_no, r.year), YearState())
                if r.layer == "admissions":
                    state.admissions = r.count
                else:
                    state.layers[r.layer] = LayerAccum(exact_from_text(r.base), r.paid)
                existing_keys.add((r.psn_no, r.year, r.layer))
            visit_keys = [(e.fixmedins_code, e.ipt_otp_no) for e in batch]
            on_file = {
                (r.fixmedins_code, r.ipt_otp_no)
                for r in conn.execute(
                    select(s.encounters.c.fixmedins_code, s.encounters.c.ipt_otp_no).where(
                        tuple_(s.encounters.c.fixmedins_code, s.encounters.c.ipt_otp_no).in_(visit_keys)
                    )
                )
            } if visit_keys else set()
            balances = {key: row.acct_balc for key, row in insurance.items()}
            rows = _Rows()
            for enc in batch:
                if (enc.fixmedins_code, enc.ipt_otp_no) in on_file:
                    report.skipped += 1
                    continue
                try:
                    self._one(enc, persons, insurance, identities, filings, states, balances, catalogue, rows, report)
                except (LineError, SettlementError, PolicyError, LevelError, CertnoError, _Refused) as exc:
                    report.refused.append((enc.ipt_otp_no, str(exc)))
                on_file.add((enc.fixmedins_code, enc.ipt_otp_no))
            rows.write(conn, states, existing_keys, balances, insurance)
        return report

    def _one(self, enc, persons, insurance, identities, filings, states, balances, catalogue, rows, report) -> None:
        person = persons.get(enc.psn_no)
        if person is None:
            raise _Refused(f"未知的人员编号 psn_no {enc.psn_no}")
        validate(person.certno)
        ins = insurance.get((enc.psn_no, enc.insutype))
        if ins is None:
            raise _Refused(f"人员 {enc.psn_no} 未参加险种 insutype {enc.insutype}")
        institution = self.reference.institution(enc.fixmedins_code)
        if institution is None:
            raise _Refused(f"未知的定点医药机构 fixmedins_code {enc.fixmedins_code}")
        if enc.endtime < enc.begntime:
            raise _Refused(f"结束时间 {enc.endtime} 早于开始时间 {enc.begntime}")
        when = enc.setl_time or enc.endtime
        on = when.date()
        inst = InstitutionFacts(enc.fixmedins_code, settlement_level(institution["medins_lv"]), institution["admdvs"])
        fees = []
        for spec in enc.lines:
            sn, code, pric, cnt = spec[:4]
            total = spec[4] if len(spec) > 4 else None
            init = spec[5] if len(spec) > 5 else None
            fees.append(FeeLine(str(sn), code, _exact(pric), _exact(cnt), total, init))
        lines = tuple(classify_lines(fees, catalogue))
        groups = sorted(
            {
                r.assistance
                for r in identities.get(enc.psn_no, [])
                if r.begntime <= when and (r.endtime is None or r.endtime >= when)
            },
            key=ASSISTANCE_ORDER.index,
        )
        balance = balances[(enc.psn_no, enc.insutype)]
        facts = PersonFacts(
            enc.psn_no, ins.insutype, ins.psn_type, ins.insu_admdvs, groups[0] if groups else None,
            ins.cvlserv_flag == "1", balance,
        )
        policy = self.policy_for(ins.insu_admdvs, ins.insutype, on)
        in_region = inst.admdvs.startswith(policy.pooling_region.admdvs)
        filed = referred = False
        if not in_region:
            for f in filings.get(enc.psn_no, []):
                if f.begndate <= on and (f.enddate is None or f.enddate >= on) and (
                    not f.mdtrtarea_admdvs or inst.admdvs.startswith(f.mdtrtarea_admdvs)
                ) and (not f.reflin_medins_no or f.reflin_medins_no == enc.fixmedins_code):
                    filed = filed or f.kind == "out_of_region"
                    referred = referred or f.kind == "referral"
        claim = Claim(facts, inst, enc.med_type, on, lines, filed, referred, enc.acct_used)
        state = states.setdefault((enc.psn_no, on.year), YearState())
        result = settle(claim, policy, state)
        result.delta.apply(state)
        balances[(enc.psn_no, enc.insutype)] = balance - result.acct_pay
        rows.add(enc, ins, when, result, policy)
        report.settled += 1
        report.medfee_sumamt += result.totals.medfee_sumamt
        report.fund_pay_sumamt += result.fund_pay_sumamt


class _Refused(ValueError):
    pass


class _Rows:
    """Rows gathered for one chunk, written with one statement per table."""

    def __init__(self) -> None:
        self.encounters: list[dict] = []
        self.diagnoses: list[dict] = []
        self.procedures: list[dict] = []
        self.lines: list[dict] = []
        self.settlements: list[dict] = []
        self.funds: list[dict] = []
        self.touched: set[tuple[str, int]] = set()

    def add(self, enc: BulkEncounter, ins: Any, when: dt.datetime, result, policy: ResolvedPolicy) -> None:
        mdtrt_id = enc.mdtrt_id or new_id("M")
        setl_id = new_id("S")
        inpatient = result.category == "inpatient" or (result.category is None and enc.med_type.startswith("2"))
        self.encounters.append(dict(
            mdtrt_id=mdtrt_id, psn_no=enc.psn_no, fixmedins_code=enc.fixmedins_code, insutype=enc.insutype,
            med_type=enc.med_type, visit_kind="inpatient" if inpatient else "outpatient", ipt_otp_no=enc.ipt_otp_no,
            begntime=enc.begntime, endtime=enc.endtime, dise_codg=enc.dise_codg, dise_name=None,
            dscg_maindiag_code=enc.diagnoses[0] if enc.diagnoses else enc.dise_codg, dscg_way=enc.dscg_way,
            dept_code=enc.dept_code, mdtrt_cert_type="02", mdtrt_cert_no=None, mdtrtarea_admvs=None,
            insuplc_admdvs=ins.insu_admdvs, exp_content=None, status="settled", created_msgid="bulk",
        ))
        for i, code in enumerate(enc.diagnoses, start=1):
            self.diagnoses.append(dict(mdtrt_id=mdtrt_id, diag_srt_no=i, inout_diag_type="2", diag_type="1",
                                       maindiag_flag="1" if i == 1 else "0", diag_code=code, diag_name=None, vali_flag="1"))
        for i, code in enumerate(enc.procedures, start=1):
            self.procedures.append(dict(mdtrt_id=mdtrt_id, srt_no=i, oprn_oprt_code=code, oprn_oprt_name=None,
                                        main_flag="1" if i == 1 else "0"))
        for line in result.lines:
            self.lines.append(dict(
                mdtrt_id=mdtrt_id, feedetl_sn=line.feedetl_sn, init_feedetl_sn=line.init_feedetl_sn, chrg_bchno="1",
                med_list_codg=line.med_list_codg, medins_list_codg=None, fee_ocur_time=enc.begntime,
                pric=_decimal(line.pric, 6), cnt=_decimal(line.cnt, 4), det_item_fee_sumamt=line.amount,
                fulamt_ownpay_amt=line.fulamt_ownpay, overlmt_amt=line.overlmt, preselfpay_amt=line.preselfpay,
                inscp_scp_amt=line.inscp, chrgitm_lv=line.chrgitm_lv, hosp_appr_flag=None, bilg_dept_codg=enc.dept_code,
                bilg_dr_codg=None, status="settled", setl_id=setl_id, upload_msgid="bulk",
            ))
        t = result.totals
        self.settlements.append(dict(
            setl_id=setl_id, mdtrt_id=mdtrt_id, psn_no=enc.psn_no, fixmedins_code=enc.fixmedins_code,
            insutype=enc.insutype, psn_type=ins.psn_type, med_type=enc.med_type, setl_time=when, setl_year=when.year,
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
        self.touched.add((enc.psn_no, when.year))

    def write(self, conn, states, existing_keys, balances, insurance) -> None:
        from . import statements as q

        for table, rows in (
            (s.encounters, self.encounters), (s.diagnoses, self.diagnoses), (s.procedures, self.procedures),
            (s.fee_lines, self.lines), (s.settlements, self.settlements), (s.settlement_funds, self.funds),
        ):
            insert_rows(conn, table, rows)
        updates, inserts = [], []
        for psn_no, year in self.touched:
            state = states[(psn_no, year)]
            values = [("admissions", "0", 0, state.admissions)] + [
                (key, exact_to_text(acc.base), acc.paid, 0) for key, acc in state.layers.items()
            ]
            for layer, base, paid, count in values:
                if (psn_no, year, layer) in existing_keys:
                    updates.append(dict(k_psn_no=psn_no, k_year=year, k_layer=layer, base=base, paid=paid, count=count))
                else:
                    inserts.append(dict(psn_no=psn_no, year=year, layer=layer, base=base, paid=paid, count=count))
        if updates:
            conn.execute(q.ACCUMULATOR_UPDATE, updates)
        if inserts:
            conn.execute(q.ACCUMULATOR_INSERT, inserts)
        changes = [
            dict(k_psn_no=psn, k_insutype=insutype, change=balances[(psn, insutype)] - row.acct_balc)
            for (psn, insutype), row in insurance.items()
            if balances[(psn, insutype)] != row.acct_balc
        ]
        if changes:
            conn.execute(q.ACCOUNT_CHANGE, changes)


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
