"""2503/2504 人员慢特病备案 and its withdrawal, 2505/2506 人员定点备案 and its withdrawal.

Filings are kept in ``filings`` (kind ``chronic`` or ``designated``) with the rest of the
form as JSON in ``detail``. The platform has no review queue yet: a filing is in force
(``valid``) from its filing, and the institution that filed it may withdraw it (2504/2506)
until it is withdrawn; a withdrawn filing cannot be withdrawn again.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import or_, select, update

from yibao.storage import schema as s

from .. import lookups
from ..errors import InterfaceError
from ..fields import date_field, node, opt_str, req_str
from ..platform import Call
from ..settling import new_id
from .dictionary import dictionaries

CHRONIC_EXTRA = ("opsp_dise_name", "tel", "addr", "insu_optins", "ide_fixmedins_name", "hosp_ide_date", "diag_dr_codg",
                 "diag_dr_name", "exp_content", "selfdef_splm_flag", "memo")
DESIGNATED_EXTRA = ("tel", "addr", "biz_appy_type", "agnter_name", "agnter_cert_type", "agnter_certno", "agnter_tel",
                    "agnter_addr", "agnter_rlts", "fix_srt_no", "fixmedins_name", "memo", "exp_content")


def _detail(data: dict[str, Any], keys: tuple[str, ...]) -> str:
    return json.dumps({k: str(data[k]) for k in keys if data.get(k) not in (None, "", "null")}, ensure_ascii=False)


def _overlapping(call: Call, psn_no: str, kind: str, code_column, code: str, begndate, enddate) -> Any:
    f = s.filings
    query = (
        select(f.c.trt_dcla_detl_sn)
        .where(f.c.psn_no == psn_no).where(f.c.kind == kind).where(f.c.status == "valid").where(code_column == code)
        .where(or_(f.c.enddate.is_(None), f.c.enddate >= begndate))
    )
    if enddate is not None:
        query = query.where(f.c.begndate <= enddate)
    return call.conn.execute(query).first()


def _dates(data: dict[str, Any]):
    begndate = date_field(data, "begndate")
    enddate = date_field(data, "enddate", required=False)
    if enddate is not None and enddate < begndate:
        raise InterfaceError(f"结束日期 enddate {enddate} 早于开始日期 begndate {begndate}", field="enddate")
    return begndate, enddate


def file_chronic(call: Call) -> dict[str, Any]:
    """2503 人员慢特病备案."""
    data = node(call.input, "data")
    psn_no = req_str(data, "psn_no", 30)
    insutype = req_str(data, "insutype", 6)
    lookups.person(call.conn, psn_no)
    lookups.insurance(call.conn, psn_no, insutype)
    code = req_str(data, "opsp_dise_code", 30)
    req_str(data, "opsp_dise_name", 300)
    req_str(data, "insu_optins", 6)
    ide_no = req_str(data, "ide_fixmedins_no", 30)
    req_str(data, "ide_fixmedins_name", 200)
    date_field(data, "hosp_ide_date")
    req_str(data, "diag_dr_codg", 30)
    req_str(data, "diag_dr_name", 50)
    begndate, enddate = _dates(data)
    existing = _overlapping(call, psn_no, "chronic", s.filings.c.diag_code, code, begndate, enddate)
    if existing is not None:
        raise InterfaceError(f"人员 {psn_no} 已有病种 {code} 的有效慢特病备案 {existing.trt_dcla_detl_sn}，期间重叠", field="opsp_dise_code")
    sn = new_id("M")
    call.conn.execute(s.filings.insert().values(
        trt_dcla_detl_sn=sn, psn_no=psn_no, kind="chronic", insutype=insutype, reflin_medins_no=ide_no,
        mdtrtarea_admdvs=opt_str(data, "insu_optins", 6), diag_code=code, begndate=begndate, enddate=enddate,
        status="valid", fixmedins_code=call.fixmedins_code, msgid=call.request.msgid, detail=_detail(data, CHRONIC_EXTRA),
    ))
    call.ref_id = sn
    return {"result": {"trt_dcla_detl_sn": sn, "exp_content": ""}}


def file_designated(call: Call) -> dict[str, Any]:
    """2505 人员定点备案: the person's designated institution (data.fixmedins_code)."""
    data = node(call.input, "data")
    psn_no = req_str(data, "psn_no", 30)
    lookups.person(call.conn, psn_no)
    biz = req_str(data, "biz_appy_type", 3)
    if biz not in {e["value"] for e in dictionaries()["tables"]["biz_appy_type"]["entries"]}:
        raise InterfaceError(f"业务申请类型 biz_appy_type {biz} 不在代码表中", field="biz_appy_type")
    req_str(data, "fix_srt_no", 3)
    target = req_str(data, "fixmedins_code", 30)
    req_str(data, "fixmedins_name", 200)
    known = call.conn.execute(select(s.institutions.c.fixmedins_code).where(s.institutions.c.fixmedins_code == target)).first()
    if known is None:  # read on this transaction's connection: a second one would wait for SQLite's write lock
        raise InterfaceError(f"备案的定点医药机构 fixmedins_code {target} 不存在", field="fixmedins_code")
    begndate, enddate = _dates(data)
    existing = _overlapping(call, psn_no, "designated", s.filings.c.reflin_medins_no, target, begndate, enddate)
    if existing is not None:
        raise InterfaceError(f"人员 {psn_no} 已有定点 {target} 的有效备案 {existing.trt_dcla_detl_sn}，期间重叠", field="fixmedins_code")
    sn = new_id("D")
    call.conn.execute(s.filings.insert().values(
        trt_dcla_detl_sn=sn, psn_no=psn_no, kind="designated", reflin_medins_no=target, begndate=begndate, enddate=enddate,
        status="valid", fixmedins_code=call.fixmedins_code, msgid=call.request.msgid, detail=_detail(data, DESIGNATED_EXTRA),
    ))
    call.ref_id = sn
    return {"result": {"trt_dcla_detl_sn": sn, "exp_content": ""}}


def _withdraw(call: Call, kind: str, label: str) -> None:
    data = node(call.input, "data")
    sn = req_str(data, "trt_dcla_detl_sn", 30)
    psn_no = req_str(data, "psn_no", 30)
    memo = req_str(data, "memo", 500)
    row = call.conn.execute(select(s.filings).where(s.filings.c.trt_dcla_detl_sn == sn)).first()
    if row is None or row.kind != kind or row.psn_no != psn_no or row.fixmedins_code != call.fixmedins_code:
        raise InterfaceError(f"本机构没有人员 {psn_no} 的{label} {sn}", field="trt_dcla_detl_sn")
    if row.status != "valid":
        raise InterfaceError(f"{label} {sn} 已撤销", field="trt_dcla_detl_sn")
    detail = json.loads(row.detail or "{}")
    detail["cancel_memo"] = memo
    call.conn.execute(update(s.filings).where(s.filings.c.trt_dcla_detl_sn == sn)
                      .values(status="cancelled", detail=json.dumps(detail, ensure_ascii=False)))
    call.ref_id = sn


def withdraw_chronic(call: Call) -> None:
    """2504 人员慢特病备案撤销."""
    _withdraw(call, "chronic", "慢特病备案")


def withdraw_designated(call: Call) -> None:
    """2506 人员定点备案撤销."""
    _withdraw(call, "designated", "定点备案")
