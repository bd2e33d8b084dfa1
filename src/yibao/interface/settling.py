"""Settlement, pre-settlement and reversal as the interface performs them (2206/2207/2208,
2303/2304/2305, 2601): gather the facts, call the pure engine, book the result.

Booking is one transaction: the person is locked first (PostgreSQL row lock; SQLite holds the
write lock from BEGIN IMMEDIATE), the accumulators are read after the lock, and the settlement,
its fund rows, the lines, the accumulators and the personal account are written together.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any


from yibao.money import exact_from_text, exact_to_text, fen_to_yuan, fmt_yuan, round_half_up
from yibao.policy import PolicyError
from yibao.policy.schema import ResolvedPolicy
from yibao.settlement import (
    Claim,
    LineSplit,
    SettlementError,
    SettlementResult,
    YearState,
    is_inpatient,
    settle,
)
from yibao.settlement.lines import make_split
from yibao.settlement.model import FUND_NAMES, LayerAccum
from yibao.storage import fast
from yibao.storage import schema as s

from . import lookups
from . import statements as q
from .errors import InterfaceError
from .platform import Call

_ids = itertools.count(1)


def new_id(prefix: str, when: dt.datetime | None = None) -> str:
    """A unique platform ID of at most 30 characters: prefix + time + process + counter."""
    now = dt.datetime.now()
    return f"{prefix}{now:%Y%m%d%H%M%S}{now.microsecond:06d}{os.getpid() % 1000:03d}{next(_ids) % 10000:04d}"[:30]


def ratio_out(r: Fraction) -> Decimal:
    return (Decimal(r.numerator) / Decimal(r.denominator)).quantize(Decimal("0.0001"))


@dataclass
class Prepared:
    encounter: Any
    person: Any
    insurance: Any
    claim: Claim
    policy: ResolvedPolicy
    state: YearState
    chrg_bchno: str | None = None  # the one charge batch being settled; None: every active line


def load_state(call: Call, psn_no: str, year: int) -> YearState:
    rows = q.ACCUMULATORS.all(call.conn, {"psn_no": psn_no, "year": year})
    state = YearState()
    for row in rows:
        if row.layer == "admissions":
            state.admissions = row.count
        else:
            state.layers[row.layer] = LayerAccum(exact_from_text(row.base), row.paid)
    return state


def split_of(row: Any, catalogue: dict) -> LineSplit:
    """A stored line's split, with the catalogue's name and negotiated-drug flag (the settlement
    needs no more of the item: the rest of the split is what was stored at upload)."""
    item = catalogue.get(row.med_list_codg)
    return make_split(
        feedetl_sn=row.feedetl_sn,
        med_list_codg=row.med_list_codg,
        chrgitm_lv=row.chrgitm_lv,
        pric=row.pric,
        cnt=row.cnt,
        amount=row.det_item_fee_sumamt,
        fulamt_ownpay=row.fulamt_ownpay_amt,
        overlmt=row.overlmt_amt,
        preselfpay=row.preselfpay_amt,
        inscp=row.inscp_scp_amt,
        nego_drug=bool(item.nego_drug) if item is not None and row.chrgitm_lv else False,
        name=item.name if item is not None else "",
        init_feedetl_sn=row.init_feedetl_sn,
    )


def prepare(
    call: Call,
    mdtrt_id: str,
    psn_no: str,
    insutype: str | None,
    *,
    lock: bool,
    acct_used: bool,
    chrg_bchno: str | None = None,
) -> Prepared:
    conn = call.conn
    when = call.when
    # The person first: on PostgreSQL their row lock is what keeps two settlements of one
    # person apart, and it is taken before the encounter's, always in that order.
    insured = lookups.insured_person(conn, psn_no, when, lock=lock)
    enc = lookups.encounter(conn, mdtrt_id, call.fixmedins_code, psn_no, lock=lock)
    if enc.status == "cancelled":
        raise InterfaceError(f"就诊 {mdtrt_id} 已撤销，不能结算", field="mdtrt_id")
    if insutype is not None and insutype != enc.insutype:
        raise InterfaceError(f"险种 insutype {insutype} 与就诊登记的险种 {enc.insutype} 不一致", field="insutype")
    person_row = insured.person
    ins = insured.insurance(enc.insutype)
    if person_row.death_date is not None and person_row.death_date < enc.begntime.date():
        raise InterfaceError(f"人员 {psn_no} 已于 {person_row.death_date} 死亡，不能在其后就医结算", field="psn_no")
    facts = lookups.person_facts(person_row, ins, insured.assistance)
    inst = lookups.institution_facts(call.institution)
    try:
        policy = call.platform.resolve_policy(ins.insu_admdvs, ins.insutype, when.date())
    except PolicyError as exc:
        raise InterfaceError(f"{exc}，不能结算", field="insutype") from None
    if ins.insutype not in policy.schemes:
        raise InterfaceError(
            f"政策 {policy.id} 不包含人员 {psn_no} 的险种 {ins.insutype}，不能结算", field="insutype"
        )
    batch = lookups.charge_batch(chrg_bchno)
    rows = lookups.active_lines(conn, mdtrt_id, batch)
    if not rows:
        raise InterfaceError(f"就诊 {mdtrt_id} 没有未结算的费用明细，请先上传费用明细", field="mdtrt_id")
    catalogue = call.platform.reference.catalogue()
    lines = tuple(split_of(r, catalogue) for r in rows)
    on = when.date()
    in_region = inst.admdvs.startswith(policy.pooling_region.admdvs)
    filed = referred = False
    if not in_region:
        filed = lookups.filing_on_record(conn, psn_no, "out_of_region", on, call.fixmedins_code, inst.admdvs)
        referred = lookups.filing_on_record(conn, psn_no, "referral", on, call.fixmedins_code, inst.admdvs)
    claim = Claim(
        person=facts,
        institution=inst,
        med_type=enc.med_type,
        settle_date=on,
        lines=lines,
        filed=filed,
        referred=referred,
        acct_used=acct_used,
    )
    return Prepared(enc, person_row, ins, claim, policy, load_state(call, psn_no, on.year), batch)


def compute(prep: Prepared) -> SettlementResult:
    try:
        return settle(prep.claim, prep.policy, prep.state)
    except SettlementError as exc:
        raise InterfaceError(str(exc)) from None


def check_declared(data: dict[str, Any], result: SettlementResult, keys: tuple[str, ...]) -> None:
    """The amounts the institution declares must match what its uploaded lines add up to."""
    from .fields import money

    mapping = {
        "medfee_sumamt": result.totals.medfee_sumamt,
        "fulamt_ownpay_amt": result.totals.fulamt_ownpay_amt,
        "overlmt_selfpay": result.totals.overlmt_selfpay,
        "preselfpay_amt": result.totals.preselfpay_amt,
        "inscp_scp_amt": result.totals.inscp_scp_amt,
    }
    for key in keys:
        declared = money(data, key, required=key == "medfee_sumamt")
        if declared is not None and declared != mapping[key]:
            raise InterfaceError(
                f"{key} 申报 {fmt_yuan(declared)} 与平台按已上传费用明细计算的 {fmt_yuan(mapping[key])} 不符，"
                f"请核对费用明细后重新结算",
                field=key,
            )


def book(call: Call, prep: Prepared, result: SettlementResult) -> str:
    # Only writes follow, none of whose results is read: on PostgreSQL they go in one round trip.
    with fast.pipelined(call.conn):
        return _book(call, prep, result)


def _book(call: Call, prep: Prepared, result: SettlementResult) -> str:
    conn = call.conn
    setl_id = new_id("S")
    when = call.when
    enc = prep.encounter
    admissions = result.delta.admissions if is_inpatient(prep.policy, enc.med_type) else 0
    clr_type = "21" if is_inpatient(prep.policy, enc.med_type) else "11"
    q.SETTLEMENT_INSERT.run(
        conn,
        dict(
            setl_id=setl_id,
            mdtrt_id=enc.mdtrt_id,
            psn_no=enc.psn_no,
            fixmedins_code=call.fixmedins_code,
            insutype=enc.insutype,
            psn_type=prep.insurance.psn_type,
            med_type=enc.med_type,
            setl_time=when,
            setl_year=when.year,
            msgid=call.request.msgid,
            infno=call.request.infno,
            policy_id=result.policy_id,
            status="settled",
            refd_setl_flag="0",
            clr_type=clr_type,
            clr_way="1",
            clr_optins=prep.insurance.insu_admdvs,
            in_region=result.in_region,
            medfee_sumamt=result.totals.medfee_sumamt,
            fulamt_ownpay_amt=result.totals.fulamt_ownpay_amt,
            overlmt_selfpay=result.totals.overlmt_selfpay,
            preselfpay_amt=result.totals.preselfpay_amt,
            inscp_scp_amt=result.totals.inscp_scp_amt,
            act_pay_dedc=result.act_pay_dedc,
            pool_prop_selfpay=ratio_out(result.pool_prop),
            hifp_pay=result.pays["hifp_pay"],
            hifmi_pay=result.pays["hifmi_pay"],
            hifob_pay=result.pays["hifob_pay"],
            cvlserv_pay=result.pays["cvlserv_pay"],
            maf_pay=result.pays["maf_pay"],
            oth_pay=0,
            fund_pay_sumamt=result.fund_pay_sumamt,
            psn_part_amt=result.psn_part_amt,
            acct_pay=result.acct_pay,
            psn_cash_pay=result.psn_cash_pay,
            hosp_part_amt=0,
            balc=result.balc,
            admissions_counted=admissions,
            trace="\n".join(result.trace),
        ),
    )
    q.FUNDS_INSERT.run(
        conn,
        [
            dict(
                setl_id=setl_id,
                fund_pay_type=row.fund_pay_type,
                kind=row.kind,
                base=exact_to_text(row.base),
                inscp_scp_amt=round_half_up(row.base),
                crt_payb_lmt_amt=row.cap_remaining,
                fund_payamt=row.payamt,
                setl_proc_info=row.proc_info,
                counted=row.counted,
            )
            for row in result.rows
        ],
    )
    if prep.chrg_bchno is None:
        q.LINES_SETTLED.run(conn, {"k_mdtrt_id": enc.mdtrt_id, "setl_id": setl_id})
    else:
        q.LINES_SETTLED_OF_BATCH.run(conn, {"k_mdtrt_id": enc.mdtrt_id, "k_chrg_bchno": prep.chrg_bchno, "setl_id": setl_id})
    write_accumulators(call, enc.psn_no, result.delta.year, prep.state, result.delta.layers, admissions, sign=1)
    if result.acct_pay:
        q.ACCOUNT_CHANGE.run(conn, {"k_psn_no": enc.psn_no, "k_insutype": enc.insutype, "change": -result.acct_pay})
    q.ENCOUNTER_STATUS.run(conn, {"k_mdtrt_id": enc.mdtrt_id, "status": "settled"})
    call.ref_id = setl_id
    return setl_id


def write_accumulators(
    call: Call,
    psn_no: str,
    year: int,
    state: YearState,
    layers: tuple[tuple[str, Any, int], ...],
    admissions: int,
    *,
    sign: int,
) -> None:
    """Add (sign=1) or subtract (sign=−1) a settlement's delta, row by row."""
    conn = call.conn
    changes: dict[str, tuple[Any, int, int]] = {}
    for key, base, paid in layers:
        old = state.layers.get(key, LayerAccum())
        new_base = old.base + sign * base
        if isinstance(new_base, Fraction) and new_base.denominator == 1:
            new_base = new_base.numerator
        changes[key] = (new_base, old.paid + sign * paid, 0)
    if admissions:
        changes["admissions"] = (0, 0, state.admissions + sign * admissions)
    q.ACCUMULATOR_WRITE.run(conn, [dict(psn_no=psn_no, year=year, layer=key, base=exact_to_text(base), paid=paid, count=count)
                                   for key, (base, paid, count) in changes.items()])


# ── output nodes ────────────────────────────────────────────────────────────────────────────

def age_on(brdy: dt.date, on: dt.date) -> Decimal:
    years = on.year - brdy.year - ((on.month, on.day) < (brdy.month, brdy.day))
    return Decimal(years).quantize(Decimal("0.1"))


def setlinfo(prep: Prepared, result: SettlementResult, setl_id: str | None, call: Call) -> dict[str, Any]:
    person, enc, ins = prep.person, prep.encounter, prep.insurance
    y = fen_to_yuan
    info: dict[str, Any] = {
        "mdtrt_id": enc.mdtrt_id,
        "psn_no": person.psn_no,
        "psn_name": person.psn_name,
        "psn_cert_type": person.psn_cert_type,
        "certno": person.certno,
        "gend": person.gend,
        "naty": person.naty or "",
        "brdy": person.brdy.isoformat(),
        "age": age_on(person.brdy, call.when.date()),
        "insutype": enc.insutype,
        "psn_type": ins.psn_type,
        "cvlserv_flag": ins.cvlserv_flag,
        "setl_time": call.when.strftime("%Y-%m-%d %H:%M:%S"),
        "mdtrt_cert_type": enc.mdtrt_cert_type or "02",
        "med_type": enc.med_type,
        "medfee_sumamt": y(result.totals.medfee_sumamt),
        "fulamt_ownpay_amt": y(result.totals.fulamt_ownpay_amt),
        "overlmt_selfpay": y(result.totals.overlmt_selfpay),
        "preselfpay_amt": y(result.totals.preselfpay_amt),
        "inscp_scp_amt": y(result.totals.inscp_scp_amt),
        "act_pay_dedc": y(result.act_pay_dedc),
        "hifp_pay": y(result.pays["hifp_pay"]),
        "pool_prop_selfpay": ratio_out(result.pool_prop),
        "cvlserv_pay": y(result.pays["cvlserv_pay"]),
        "hifes_pay": y(0),
        "hifmi_pay": y(result.pays["hifmi_pay"]),
        "hifob_pay": y(result.pays["hifob_pay"]),
        "maf_pay": y(result.pays["maf_pay"]),
        "oth_pay": y(0),
        "fund_pay_sumamt": y(result.fund_pay_sumamt),
        "psn_part_amt": y(result.psn_part_amt),
        "acct_pay": y(result.acct_pay),
        "psn_cash_pay": y(result.psn_cash_pay),
        "hosp_part_amt": y(0),
        "balc": y(result.balc),
        "acct_mulaid_pay": y(0),
        "medins_setl_id": call.request.msgid,
        "clr_optins": ins.insu_admdvs,
        "clr_way": "1",
        "clr_type": "21" if is_inpatient(prep.policy, enc.med_type) else "11",
        "hifdm_pay": y(0),
    }
    if setl_id is not None:
        info = {"mdtrt_id": enc.mdtrt_id, "setl_id": setl_id, **{k: v for k, v in info.items() if k != "mdtrt_id"}}
    return info


def setldetail(result: SettlementResult) -> list[dict[str, Any]]:
    return [
        {
            "fund_pay_type": row.fund_pay_type,
            "inscp_scp_amt": fen_to_yuan(round_half_up(row.base)),
            "crt_payb_lmt_amt": fen_to_yuan(row.cap_remaining) if row.cap_remaining is not None else None,
            "fund_payamt": fen_to_yuan(row.payamt),
            "fund_pay_type_name": row.name,
            "setl_proc_info": row.proc_info,
        }
        for row in result.detail_rows()
    ]


# ── reversal ────────────────────────────────────────────────────────────────────────────────

def reverse(call: Call, setl_id: str | None, mdtrt_id: str, psn_no: str, *, void: bool = False) -> dict[str, Any]:
    """Undo a settlement: subtract exactly what it added and return its amounts negated.

    ``void`` (2601 冲正) keeps no reversal record: the settlement is marked voided, as if it
    had never happened; a business reversal (2208/2305) books a negative settlement row.
    """
    conn = call.conn
    lookups.lock_person(conn, psn_no)
    enc = lookups.encounter(conn, mdtrt_id, call.fixmedins_code, psn_no)
    if not setl_id:
        raise InterfaceError(
            f"结算ID setl_id 为空：就诊 {mdtrt_id} 需指定要撤销的结算（预结算不产生结算记录，不能撤销）", field="setl_id"
        )
    original = q.SETTLEMENT.first(conn, {"setl_id": setl_id})
    if original is None or original.mdtrt_id != enc.mdtrt_id or original.refd_setl_flag != "0":
        raise InterfaceError(f"就诊 {mdtrt_id} 没有结算ID为 {setl_id} 的结算记录（预结算不能撤销）", field="setl_id")
    if original.status != "settled":
        raise InterfaceError(f"结算 {setl_id} 已撤销（状态: {original.status}），不能重复撤销", field="setl_id")
    funds = q.FUNDS.all(conn, {"setl_id": setl_id})
    state = load_state(call, psn_no, original.setl_year)
    layers = tuple((f.fund_pay_type, exact_from_text(f.base), f.fund_payamt) for f in funds if f.counted)
    write_accumulators(call, psn_no, original.setl_year, state, layers, original.admissions_counted, sign=-1)
    if original.acct_pay:
        q.ACCOUNT_CHANGE.run(conn, {"k_psn_no": psn_no, "k_insutype": original.insutype, "change": original.acct_pay})
    q.LINES_UNSETTLED.run(conn, {"k_setl_id": setl_id})
    q.ENCOUNTER_STATUS.run(conn, {"k_mdtrt_id": mdtrt_id, "status": "discharged" if enc.endtime else "open"})
    q.SETTLEMENT_STATUS.run(conn, {"k_setl_id": setl_id, "status": "voided" if void else "reversed"})
    money_fields = (
        "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
        "act_pay_dedc", "hifp_pay", "hifmi_pay", "hifob_pay", "cvlserv_pay", "maf_pay", "oth_pay",
        "fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay", "hosp_part_amt",
    )
    rev_id = setl_id if void else new_id("R")
    if not void:
        row = original._asdict()
        row.update({k: -row[k] for k in money_fields})
        row.update(
            setl_id=rev_id, setl_time=call.when, setl_year=original.setl_year, msgid=call.request.msgid,
            infno=call.request.infno, status="reversal", refd_setl_flag="1", init_setl_id=setl_id,
            admissions_counted=-original.admissions_counted,
            balc=original.balc + original.acct_pay,
            trace=f"撤销结算 {setl_id}：冲减原结算的全部金额及年度累计",
        )
        conn.execute(s.settlements.insert().values(**row))
        conn.execute(
            s.settlement_funds.insert(),
            [
                dict(
                    setl_id=rev_id, fund_pay_type=f.fund_pay_type, kind=f.kind,
                    base=exact_to_text(-exact_from_text(f.base)), inscp_scp_amt=-f.inscp_scp_amt,
                    crt_payb_lmt_amt=f.crt_payb_lmt_amt, fund_payamt=-f.fund_payamt,
                    setl_proc_info=f"撤销结算 {setl_id} 的{f.fund_pay_type}支付",
                    counted=f.counted,
                )
                for f in funds
            ],
        )
    call.ref_id = rev_id
    y = fen_to_yuan
    info = {
        "mdtrt_id": mdtrt_id,
        "setl_id": rev_id,
        "clr_optins": original.clr_optins,
        "setl_time": call.when.strftime("%Y-%m-%d %H:%M:%S"),
        **{k: y(-getattr(original, k)) for k in money_fields},
        "pool_prop_selfpay": original.pool_prop_selfpay,
        "balc": y(original.balc + original.acct_pay),
        "acct_mulaid_pay": y(0),
        "medins_setl_id": original.msgid,
        "psn_cash_pay": y(-original.psn_cash_pay),
        "hifdm_pay": y(0),
        "psn_no": psn_no,
        "insutype": original.insutype,
        "psn_type": original.psn_type,
        "med_type": original.med_type,
        "clr_type": original.clr_type,
        "clr_way": original.clr_way,
        "begndate": enc.begntime.date().isoformat(),
        "enddate": call.when.date().isoformat(),
    }
    detail = [
        {
            "fund_pay_type": f.fund_pay_type,
            "inscp_scp_amt": y(-f.inscp_scp_amt),
            "crt_payb_lmt_amt": y(f.crt_payb_lmt_amt) if f.crt_payb_lmt_amt is not None else None,
            "fund_payamt": y(-f.fund_payamt),
            "fund_pay_type_name": FUND_NAMES.get(f.fund_pay_type, f.fund_pay_type),
            "setl_proc_info": f"撤销结算 {setl_id}",
        }
        for f in funds
        if f.fund_payamt
    ]
    return {"setlinfo": info, "setldetail": detail}
