"""Supporting transactions: sign-in/out (9001/9002), person (1101), institution (1201),
treatment check (2001), filings (2501/2502) and totals reconciliation (3201)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, update

from yibao.money import fen_to_yuan
from yibao.policy import PolicyError
from yibao.registry.levels import LEVEL_TO_HOSP_LV
from yibao.storage import schema as s

from .. import lookups
from ..errors import InterfaceError
from ..fields import date_field, money, node, opt_str, req_str
from ..platform import Call
from ..settling import age_on, new_id

IDET_BY_GROUP = {"tekun": "2102", "dibao": "2103", "poverty": "2104", "low_income": "2105"}


def sign_in(call: Call) -> dict[str, Any]:
    data = node(call.input, "signIn")
    opter_no = req_str(data, "opter_no", 30)
    sign_no = new_id("G")
    call.conn.execute(
        s.sign_ins.insert().values(sign_no=sign_no, fixmedins_code=call.fixmedins_code, opter_no=opter_no, sign_time=call.when)
    )
    call.ref_id = sign_no
    return {"signinoutb": {"sign_time": call.when.strftime("%Y-%m-%d %H:%M:%S"), "sign_no": sign_no}}


def sign_out(call: Call) -> dict[str, Any]:
    data = node(call.input, "signOut")
    sign_no = req_str(data, "sign_no", 30)
    row = call.conn.execute(select(s.sign_ins).where(s.sign_ins.c.sign_no == sign_no)).first()
    if row is None or row.fixmedins_code != call.fixmedins_code:
        raise InterfaceError(f"本机构没有签到编号 sign_no {sign_no}", field="sign_no")
    if row.sign_out_time is not None:
        raise InterfaceError(f"签到 {sign_no} 已签退", field="sign_no")
    if row.sign_time.date() != call.when.date():
        raise InterfaceError(f"签到 {sign_no} 不是当日签到，不能签退", field="sign_no")
    call.conn.execute(update(s.sign_ins).where(s.sign_ins.c.sign_no == sign_no).values(sign_out_time=call.when))
    return {"sign_time": {"sign_time": call.when.strftime("%Y-%m-%d %H:%M:%S")}}


def person_info(call: Call) -> dict[str, Any]:
    """1101 人员信息获取: by certificate number (mdtrt_cert_type 02) or psn_no."""
    data = node(call.input, "data")
    certno = opt_str(data, "certno") or opt_str(data, "mdtrt_cert_no")
    if certno is None:
        raise InterfaceError("缺少必填字段 certno（证件号码）", field="certno")
    row = call.conn.execute(select(s.persons).where(s.persons.c.certno == certno)).first()
    if row is None:
        row = call.conn.execute(select(s.persons).where(s.persons.c.psn_no == certno)).first()
    if row is None:
        raise InterfaceError(f"未找到证件号码为 {certno[:6]}********{certno[-4:]} 的参保人员", field="certno")
    name = opt_str(data, "psn_name")
    if name is not None and name != row.psn_name:
        raise InterfaceError("人员姓名 psn_name 与证件号码登记信息不一致", field="psn_name")
    person = lookups.person(call.conn, row.psn_no)
    insurances = call.conn.execute(select(s.insurance).where(s.insurance.c.psn_no == row.psn_no)).fetchall()
    identities = call.conn.execute(select(s.identities).where(s.identities.c.psn_no == row.psn_no)).fetchall()
    return {
        "baseinfo": {
            "psn_no": person.psn_no,
            "psn_cert_type": person.psn_cert_type,
            "certno": person.certno,
            "psn_name": person.psn_name,
            "gend": person.gend,
            "naty": person.naty or "",
            "brdy": person.brdy.isoformat(),
            "age": age_on(person.brdy, call.when.date()),
        },
        "insuinfo": [
            {
                "balc": fen_to_yuan(i.acct_balc),
                "insutype": i.insutype,
                "psn_type": i.psn_type,
                "psn_insu_stas": i.psn_insu_stas,
                "psn_insu_date": i.psn_insu_date.isoformat() if i.psn_insu_date else "",
                "paus_insu_date": i.paus_insu_date.isoformat() if i.paus_insu_date else "",
                "cvlserv_flag": i.cvlserv_flag,
                "insuplc_admdvs": i.insu_admdvs,
                "emp_name": i.emp_name or "",
            }
            for i in insurances
        ],
        "idetinfo": [
            {
                "psn_idet_type": d.psn_idet_type,
                "psn_type_lv": "",
                "memo": d.memo or "",
                "begntime": d.begntime.strftime("%Y-%m-%d %H:%M:%S"),
                "endtime": d.endtime.strftime("%Y-%m-%d %H:%M:%S") if d.endtime else "",
            }
            for d in identities
        ],
    }


def institution_info(call: Call) -> dict[str, Any]:
    """1201 医药机构信息获取: by code or a fragment of the name."""
    data = node(call.input, "medinsinfo")
    code = opt_str(data, "fixmedins_code")
    name = opt_str(data, "fixmedins_name")
    if code is None and name is None:
        raise InterfaceError("fixmedins_code 与 fixmedins_name 至少填写一项", field="fixmedins_name")
    query = select(s.institutions)
    if code is not None:
        query = query.where(s.institutions.c.fixmedins_code == code)
    if name is not None:
        query = query.where(s.institutions.c.fixmedins_name.contains(name))
    fixmedins_type = opt_str(data, "fixmedins_type")
    if fixmedins_type is not None:
        query = query.where(s.institutions.c.fixmedins_type == fixmedins_type)
    rows = call.conn.execute(query.limit(100)).fetchall()
    return {
        "medinsinfo": [
            {
                "fixmedins_code": r.fixmedins_code,
                "fixmedins_name": r.fixmedins_name,
                "uscc": r.uscc or "",
                "fixmedins_type": r.fixmedins_type,
                "hosp_lv": r.hosp_lv or LEVEL_TO_HOSP_LV.get(r.medins_lv, "11"),
            }
            for r in rows
        ]
    }


def treatment_check(call: Call) -> dict[str, Any]:
    """2001 人员待遇享受检查: which funds the person may draw on for this kind of care."""
    data = node(call.input, "data")
    psn_no = req_str(data, "psn_no")
    insutype = req_str(data, "insutype")
    med_type = req_str(data, "med_type")
    begntime = date_field(data, "begntime") or call.when.date()
    person = lookups.person(call.conn, psn_no)
    ins = lookups.insurance(call.conn, psn_no, insutype)
    rows = []
    try:
        policy = call.platform.resolve_policy(ins.insu_admdvs, insutype, begntime)
    except PolicyError as exc:
        return {"trtinfo": [{"fund_pay_type": "", "trt_enjymnt_flag": "0", "trt_chk_rslt": str(exc)}]}
    from yibao.settlement import benefit_category

    scheme = policy.schemes.get(insutype)
    category = benefit_category(policy, med_type)
    layers = []
    if scheme is not None:
        layers = [("basic", scheme.basic.fund_pay_type)]
        for kind in ("critical_illness", "large_amount", "civil_servant", "assistance"):
            layer = getattr(scheme, kind)
            if layer is not None:
                layers.append((kind, layer.fund_pay_type))
    group = lookups.assistance_on(call.conn, psn_no, dt.datetime.combine(begntime, dt.time()))
    for kind, fund in layers:
        ok = category is not None and ins.psn_insu_stas == "1" and person.death_date is None
        reason = "" if ok else ("医疗类别不在支付范围" if category is None else "参保状态异常")
        if ok and kind == "civil_servant" and ins.cvlserv_flag != "1":
            ok, reason = False, "非公务员"
        if ok and kind == "assistance" and group is None:
            ok, reason = False, "非医疗救助对象"
        rows.append({"fund_pay_type": fund, "trt_enjymnt_flag": "1" if ok else "0", "trt_chk_rslt": reason or "享受"})
    return {"trtinfo": rows}


def file_referral(call: Call) -> dict[str, Any]:
    """2501 转院备案: a referral on record lets out-of-region care keep assistance."""
    data = node(call.input, "refmedin")
    psn_no = req_str(data, "psn_no")
    lookups.person(call.conn, psn_no)
    begndate = date_field(data, "begndate", required=False) or date_field(data, "refl_date")
    enddate = date_field(data, "enddate", required=False)
    if enddate is not None and enddate < begndate:
        raise InterfaceError(f"结束日期 enddate {enddate} 早于开始日期 {begndate}", field="enddate")
    sn = new_id("F")
    call.conn.execute(
        s.filings.insert().values(
            trt_dcla_detl_sn=sn,
            psn_no=psn_no,
            kind="referral",
            insutype=opt_str(data, "insutype"),
            reflin_medins_no=req_str(data, "reflin_medins_no"),
            mdtrtarea_admdvs=opt_str(data, "mdtrtarea_admdvs"),
            diag_code=req_str(data, "diag_code"),
            begndate=begndate,
            enddate=enddate,
            status="valid",
            fixmedins_code=call.fixmedins_code,
            msgid=call.request.msgid,
        )
    )
    call.ref_id = sn
    return {"result": {"trt_dcla_detl_sn": sn}}


def cancel_filing(call: Call) -> None:
    """2502 转院备案撤销."""
    data = node(call.input, "data")
    sn = req_str(data, "trt_dcla_detl_sn")
    psn_no = req_str(data, "psn_no")
    row = call.conn.execute(select(s.filings).where(s.filings.c.trt_dcla_detl_sn == sn)).first()
    if row is None or row.psn_no != psn_no or row.fixmedins_code != call.fixmedins_code:
        raise InterfaceError(f"本机构没有人员 {psn_no} 的备案 {sn}", field="trt_dcla_detl_sn")
    if row.status != "valid":
        raise InterfaceError(f"备案 {sn} 已撤销", field="trt_dcla_detl_sn")
    call.conn.execute(update(s.filings).where(s.filings.c.trt_dcla_detl_sn == sn).values(status="cancelled"))
    call.ref_id = sn
    return None


def reconcile_totals(call: Call) -> dict[str, Any]:
    """3201 医药机构费用结算对总账: the platform's totals for the period against the institution's."""
    data = node(call.input, "data")
    insutype = req_str(data, "insutype")
    clr_type = req_str(data, "clr_type")
    begin = date_field(data, "stmt_begndate")
    end = date_field(data, "stmt_enddate")
    if end < begin:
        raise InterfaceError(f"对账结束日期 {end} 早于开始日期 {begin}", field="stmt_enddate")
    declared = {
        "medfee_sumamt": money(data, "medfee_sumamt", allow_negative=True),
        "fund_pay_sumamt": money(data, "fund_pay_sumamt", allow_negative=True),
        "acct_pay": money(data, "acct_pay", allow_negative=True),
    }
    try:
        declared_cnt = int(str(data.get("fixmedins_setl_cnt", "")).strip())
    except ValueError:
        raise InterfaceError("fixmedins_setl_cnt 结算笔数应为整数", field="fixmedins_setl_cnt") from None
    refd = opt_str(data, "refd_setl_flag")
    t = s.settlements
    query = (
        select(
            func.coalesce(func.sum(t.c.medfee_sumamt), 0),
            func.coalesce(func.sum(t.c.fund_pay_sumamt), 0),
            func.coalesce(func.sum(t.c.acct_pay), 0),
            func.count(),
        )
        .where(t.c.fixmedins_code == call.fixmedins_code)
        .where(t.c.insutype == insutype)
        .where(t.c.clr_type == clr_type)
        .where(t.c.status != "voided")
        .where(t.c.setl_time >= dt.datetime.combine(begin, dt.time.min))
        .where(t.c.setl_time <= dt.datetime.combine(end, dt.time.max))
    )
    if refd in ("0", "1"):
        query = query.where(t.c.refd_setl_flag == refd)
    medfee, fund, acct, count = call.conn.execute(query).one()
    platform = {"medfee_sumamt": int(medfee), "fund_pay_sumamt": int(fund), "acct_pay": int(acct)}
    differences = [
        f"{k} 机构{fen_to_yuan(declared[k])}/中心{fen_to_yuan(platform[k])}" for k in platform if declared[k] != platform[k]
    ]
    if declared_cnt != count:
        differences.append(f"结算笔数 机构{declared_cnt}/中心{count}")
    return {
        "stmtinfo": {
            "setl_optins": opt_str(data, "setl_optins") or "",
            "stmt_rslt": "0" if not differences else "1",
            "stmt_rslt_dscr": "平" if not differences else "不平：" + "；".join(differences),
        }
    }


__all__ = [
    "cancel_filing",
    "file_referral",
    "institution_info",
    "person_info",
    "reconcile_totals",
    "sign_in",
    "sign_out",
    "treatment_check",
]
