"""Visits: admission and discharge (2401–2405), outpatient registration and visit facts
(2201–2203)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from yibao.storage import schema as s

from .. import lookups
from .. import statements as q
from ..errors import InterfaceError
from ..fields import date_field, datetime_field, node, opt_str, req_str
from ..platform import Call
from ..settling import new_id


def _diagnoses(call: Call, mdtrt_id: str, nodes: list[dict[str, Any]], inout: str) -> None:
    rows = []
    seen = set()
    for i, d in enumerate(nodes):
        try:
            srt = int(str(d.get("diag_srt_no", i + 1)))
        except ValueError:
            raise InterfaceError(f"diseinfo[{i}].diag_srt_no 应为数字", field="diag_srt_no") from None
        if srt in seen:
            raise InterfaceError(f"diseinfo[{i}].diag_srt_no {srt} 重复", field="diag_srt_no")
        seen.add(srt)
        rows.append(
            dict(
                mdtrt_id=mdtrt_id,
                diag_srt_no=srt,
                inout_diag_type=inout,
                diag_type=opt_str(d, "diag_type"),
                maindiag_flag=opt_str(d, "maindiag_flag") or ("1" if srt == 1 else "0"),
                diag_code=req_str(d, "diag_code", 40),
                diag_name=opt_str(d, "diag_name", 200),
                vali_flag=opt_str(d, "vali_flag") or "1",
            )
        )
    q.DIAGNOSES_DELETE.run(call.conn, {"mdtrt_id": mdtrt_id, "inout": inout})
    if rows:
        q.DIAGNOSES_INSERT.run(call.conn, rows)


def _person_for_visit(call: Call, data: dict[str, Any]) -> tuple[Any, Any]:
    psn_no = req_str(data, "psn_no", 30)
    person = lookups.person(call.conn, psn_no)
    certno = opt_str(data, "certno")
    if certno is not None and certno != person.certno:
        raise InterfaceError(f"证件号码 certno 与人员 {psn_no} 的登记信息不一致", field="certno")
    insutype = req_str(data, "insutype", 6)
    ins = lookups.insurance(call.conn, psn_no, insutype)
    if ins.psn_insu_stas not in ("1", None):
        raise InterfaceError(f"人员 {psn_no} 险种 {insutype} 参保状态为暂停或终止，不能享受待遇", field="insutype")
    return person, ins


def admit(call: Call) -> dict[str, Any]:
    """2401 入院办理: returns the platform's mdtrt_id."""
    info = node(call.input, "mdtrtinfo")
    person, ins = _person_for_visit(call, info)
    begntime = datetime_field(info, "begntime")
    if person.death_date is not None and begntime.date() > person.death_date:
        raise InterfaceError(f"人员 {person.psn_no} 已于 {person.death_date} 死亡，不能办理入院", field="begntime")
    ipt_no = req_str(info, "ipt_no", 30)
    mdtrt_id = new_id("M")
    exists = q.OPEN_VISIT_NO.first(call.conn, {"fixmedins_code": call.fixmedins_code, "ipt_otp_no": ipt_no})
    if exists is not None:
        raise InterfaceError(f"住院号 ipt_no {ipt_no} 已有在院登记（mdtrt_id {exists.mdtrt_id}）", field="ipt_no")
    q.ENCOUNTER_INSERT.run(
        call.conn,
        dict(
            mdtrt_id=mdtrt_id,
            psn_no=person.psn_no,
            fixmedins_code=call.fixmedins_code,
            insutype=ins.insutype,
            med_type=req_str(info, "med_type", 6),
            visit_kind="inpatient",
            ipt_otp_no=ipt_no,
            begntime=begntime,
            dise_codg=opt_str(info, "dise_codg", 30),
            dscg_maindiag_code=opt_str(info, "dscg_maindiag_code", 20),
            dept_code=opt_str(info, "adm_dept_codg", 30),
            mdtrt_cert_type=opt_str(info, "mdtrt_cert_type", 3),
            mdtrt_cert_no=opt_str(info, "mdtrt_cert_no", 50),
            mdtrtarea_admvs=opt_str(info, "mdtrtarea_admvs", 6) or call.request.mdtrtarea_admvs,
            insuplc_admdvs=opt_str(info, "insuplc_admdvs", 6) or ins.insu_admdvs,
            exp_content=opt_str(info, "exp_content", 4000),
            status="open",
            created_msgid=call.request.msgid,
        ),
    )
    dise = call.input.get("diseinfo")
    if dise:
        _diagnoses(call, mdtrt_id, dise if isinstance(dise, list) else [dise], "1")
    call.ref_id = mdtrt_id
    return {"result": {"mdtrt_id": mdtrt_id, "psn_no": person.psn_no, "ipt_otp_no": ipt_no}}


def discharge(call: Call) -> None:
    """2402 出院办理: discharge time, way and discharge diagnoses."""
    info = node(call.input, "dscginfo")
    enc = lookups.encounter(call.conn, req_str(info, "mdtrt_id"), call.fixmedins_code, req_str(info, "psn_no"))
    if enc.status not in ("open",):
        raise InterfaceError(f"就诊 {enc.mdtrt_id} 当前状态为 {enc.status}，不能办理出院", field="mdtrt_id")
    endtime = datetime_field(info, "endtime")
    if endtime < enc.begntime:
        raise InterfaceError(f"出院时间 endtime {endtime} 早于入院时间 {enc.begntime}", field="endtime")
    dscg_way = req_str(info, "dscg_way", 3)
    call.conn.execute(
        update(s.encounters)
        .where(s.encounters.c.mdtrt_id == enc.mdtrt_id)
        .values(endtime=endtime, dscg_way=dscg_way, status="discharged", dise_codg=opt_str(info, "dise_codg") or enc.dise_codg)
    )
    dise = call.input.get("diseinfo")
    if dise:
        nodes = dise if isinstance(dise, list) else [dise]
        _diagnoses(call, enc.mdtrt_id, nodes, "2")
        main = next((d for d in nodes if str(d.get("maindiag_flag")) == "1"), nodes[0])
        call.conn.execute(
            update(s.encounters).where(s.encounters.c.mdtrt_id == enc.mdtrt_id).values(dscg_maindiag_code=main.get("diag_code"))
        )
    call.ref_id = enc.mdtrt_id
    return None


def change_admission(call: Call) -> None:
    """2403 入院信息变更."""
    info = node(call.input, "adminfo")
    enc = lookups.encounter(call.conn, req_str(info, "mdtrt_id"), call.fixmedins_code, req_str(info, "psn_no"))
    if enc.status in ("settled", "cancelled"):
        raise InterfaceError(f"就诊 {enc.mdtrt_id} 已{'结算' if enc.status == 'settled' else '撤销'}，不能变更", field="mdtrt_id")
    values = {}
    for key, column in (("med_type", "med_type"), ("dscg_maindiag_code", "dscg_maindiag_code"), ("dise_codg", "dise_codg")):
        value = opt_str(info, key)
        if value is not None:
            values[column] = value
    begntime = datetime_field(info, "begntime", required=False)
    if begntime is not None:
        values["begntime"] = begntime
    if values:
        call.conn.execute(update(s.encounters).where(s.encounters.c.mdtrt_id == enc.mdtrt_id).values(**values))
    dise = call.input.get("diseinfo")
    if dise:
        _diagnoses(call, enc.mdtrt_id, dise if isinstance(dise, list) else [dise], "1")
    call.ref_id = enc.mdtrt_id
    return None


def cancel_visit(call: Call) -> None:
    """2404 入院撤销 / 2202 门诊挂号撤销: only a visit with no settlement in force."""
    data = node(call.input, "data")
    enc = lookups.encounter(call.conn, req_str(data, "mdtrt_id"), call.fixmedins_code, req_str(data, "psn_no"))
    cancel_encounter(call, enc)
    return None


def cancel_encounter(call: Call, enc: Any) -> None:
    if enc.status == "cancelled":
        raise InterfaceError(f"就诊 {enc.mdtrt_id} 已撤销", field="mdtrt_id")
    settled = call.conn.execute(
        select(s.settlements.c.setl_id)
        .where(s.settlements.c.mdtrt_id == enc.mdtrt_id)
        .where(s.settlements.c.status == "settled")
    ).first()
    if settled is not None:
        raise InterfaceError(f"就诊 {enc.mdtrt_id} 有结算 {settled.setl_id}，请先撤销结算", field="mdtrt_id")
    call.conn.execute(update(s.encounters).where(s.encounters.c.mdtrt_id == enc.mdtrt_id).values(status="cancelled"))
    call.conn.execute(
        update(s.fee_lines).where(s.fee_lines.c.mdtrt_id == enc.mdtrt_id).where(s.fee_lines.c.status == "active").values(status="cancelled")
    )
    call.ref_id = enc.mdtrt_id


def undo_discharge(call: Call) -> None:
    """2405 出院撤销: back to in hospital, when not settled."""
    data = node(call.input, "data")
    enc = lookups.encounter(call.conn, req_str(data, "mdtrt_id"), call.fixmedins_code, req_str(data, "psn_no"))
    if enc.status != "discharged":
        raise InterfaceError(f"就诊 {enc.mdtrt_id} 当前状态为 {enc.status}，只有已出院未结算的就诊可以撤销出院", field="mdtrt_id")
    call.conn.execute(
        update(s.encounters).where(s.encounters.c.mdtrt_id == enc.mdtrt_id).values(status="open", endtime=None, dscg_way=None)
    )
    call.ref_id = enc.mdtrt_id
    return None


def register(call: Call) -> dict[str, Any]:
    """2201 门诊挂号: returns the platform's mdtrt_id."""
    data = node(call.input, "data")
    person, ins = _person_for_visit(call, data)
    begntime = datetime_field(data, "begntime")
    if person.death_date is not None and begntime.date() > person.death_date:
        raise InterfaceError(f"人员 {person.psn_no} 已于 {person.death_date} 死亡，不能挂号", field="begntime")
    ipt_otp_no = req_str(data, "ipt_otp_no", 30)
    mdtrt_id = new_id("M")
    call.conn.execute(
        s.encounters.insert().values(
            mdtrt_id=mdtrt_id,
            psn_no=person.psn_no,
            fixmedins_code=call.fixmedins_code,
            insutype=ins.insutype,
            med_type=opt_str(data, "med_type") or "11",
            visit_kind="outpatient",
            ipt_otp_no=ipt_otp_no,
            begntime=begntime,
            dept_code=opt_str(data, "dept_code", 30),
            mdtrt_cert_type=opt_str(data, "mdtrt_cert_type", 3),
            mdtrt_cert_no=opt_str(data, "mdtrt_cert_no", 50),
            mdtrtarea_admvs=call.request.mdtrtarea_admvs,
            insuplc_admdvs=call.request.insuplc_admdvs or ins.insu_admdvs,
            exp_content=opt_str(data, "exp_content", 4000),
            status="open",
            created_msgid=call.request.msgid,
        )
    )
    call.ref_id = mdtrt_id
    return {"data": {"mdtrt_id": mdtrt_id, "psn_no": person.psn_no, "ipt_otp_no": ipt_otp_no}}


def visit_facts(call: Call) -> None:
    """2203 门诊就诊信息上传: med_type, disease and diagnoses of an outpatient visit."""
    info = node(call.input, "mdtrtinfo")
    enc = lookups.encounter(call.conn, req_str(info, "mdtrt_id"), call.fixmedins_code, req_str(info, "psn_no"))
    if enc.status in ("settled", "cancelled"):
        raise InterfaceError(f"就诊 {enc.mdtrt_id} 已{'结算' if enc.status == 'settled' else '撤销'}，不能修改就诊信息", field="mdtrt_id")
    values = dict(med_type=req_str(info, "med_type", 6), dise_codg=opt_str(info, "dise_codg", 30), dise_name=opt_str(info, "dise_name", 500))
    begntime = datetime_field(info, "begntime", required=False)
    if begntime is not None:
        values["begntime"] = begntime
    call.conn.execute(update(s.encounters).where(s.encounters.c.mdtrt_id == enc.mdtrt_id).values(**values))
    dise = call.input.get("diseinfo")
    if dise:
        nodes = dise if isinstance(dise, list) else [dise]
        _diagnoses(call, enc.mdtrt_id, [d for d in nodes if str(d.get("vali_flag", "1")) != "0"], "2")
    call.ref_id = enc.mdtrt_id
    return None


__all__ = [
    "admit",
    "cancel_encounter",
    "cancel_visit",
    "change_admission",
    "date_field",
    "discharge",
    "register",
    "undo_discharge",
    "visit_facts",
]
