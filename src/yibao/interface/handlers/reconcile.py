"""3202 医药机构费用结算对明细账 (chs-interface.md §5.4).

The institution uploads its settlement lines with 9101 (TXT, or a ZIP holding one TXT: setl_id,
mdtrt_id, psn_no, medfee_sumamt, fund_pay_sumamt, acct_pay, refd_setl_flag; refunds as two
rows) and calls 3202 with the ``file_qury_no``. The platform compares every line with its own
settlements of the institution in the period and writes a result TXT (psn_no, mdtrt_id, setl_id,
msgid, stmt_rslt, refd_setl_flag, memo, medfee_sumamt, fund_pay_sumamt, acct_pay — the centre's
amounts), fetched with 9102. Settlements the centre holds in the period that the file does not
list come back as 不平 too, so that the institution can find what it is missing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from yibao.money import fen_to_yuan
from yibao.storage import schema as s

from .. import files
from ..errors import InterfaceError
from ..fields import date_field, money, node, opt_str, req_str
from ..platform import Call

FILE_COLUMNS = ("setl_id", "mdtrt_id", "psn_no", "medfee_sumamt", "fund_pay_sumamt", "acct_pay", "refd_setl_flag")
AMOUNTS = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay")
MAX_LINES = 200_000


def _fen(text: str, line: int, column: str) -> int:
    try:
        value = Decimal(text or "0")
    except InvalidOperation:
        raise InterfaceError(f"对账文件第 {line} 行 {column} 不是数字: {text[:20]}", field="file_qury_no") from None
    if value != value.quantize(Decimal("0.01")) or abs(value) >= 10**14:
        raise InterfaceError(f"对账文件第 {line} 行 {column} 应为最多两位小数的金额: {text[:20]}", field="file_qury_no")
    return int(value * 100)


def _parse(content: bytes) -> list[dict[str, Any]]:
    records = files.read_txt(content)
    if len(records) > MAX_LINES:
        raise InterfaceError(f"对账文件超过 {MAX_LINES} 行，请按日期分批对账", field="file_qury_no")
    lines = []
    for number, cells in enumerate(records, start=1):
        if len(cells) != len(FILE_COLUMNS):
            raise InterfaceError(
                f"对账文件第 {number} 行应有 {len(FILE_COLUMNS)} 列（{'、'.join(FILE_COLUMNS)}），实际 {len(cells)} 列",
                field="file_qury_no")
        row = dict(zip(FILE_COLUMNS, cells))
        if not row["psn_no"]:
            raise InterfaceError(f"对账文件第 {number} 行缺少 psn_no", field="file_qury_no")
        if row["refd_setl_flag"] not in ("0", "1"):
            raise InterfaceError(f"对账文件第 {number} 行 refd_setl_flag 应为 0 或 1", field="file_qury_no")
        for column in AMOUNTS:
            row[column] = _fen(row[column], number, column)
        row["line"] = number
        lines.append(row)
    return lines


def reconcile_details(call: Call) -> dict[str, Any]:
    data = node(call.input, "data")
    req_str(data, "setl_optins", 6)
    number = req_str(data, "file_qury_no", 30)
    begin = date_field(data, "stmt_begndate")
    end = date_field(data, "stmt_enddate")
    if end < begin:
        raise InterfaceError(f"对账结束日期 {end} 早于开始日期 {begin}", field="stmt_enddate")
    for key in ("medfee_sumamt", "fund_pay_sumamt", "cash_payamt"):
        money(data, key, allow_negative=True)
    clr_type = req_str(data, "clr_type", 6)
    refd = opt_str(data, "refd_setl_flag", 3)
    req_str(data, "fixmedins_refd_setl_flag", 6)
    upload = files.fetch(call.conn, number)
    if upload is None or upload.owner != call.fixmedins_code or upload.kind != "upload":
        raise InterfaceError(f"没有本机构上传的文件 file_qury_no {number}；请先用 9101 上传对账明细文件", field="file_qury_no")
    lines = _parse(upload.content)

    t = s.settlements
    period = (
        select(t).where(t.c.fixmedins_code == call.fixmedins_code).where(t.c.clr_type == clr_type)
        .where(t.c.status != "voided")
        .where(t.c.setl_time >= dt.datetime.combine(begin, dt.time.min))
        .where(t.c.setl_time <= dt.datetime.combine(end, dt.time.max))
    )
    if refd in ("0", "1"):
        period = period.where(t.c.refd_setl_flag == refd)
    centre = {r.setl_id: r for r in call.conn.execute(period)}
    named = {l["setl_id"] for l in lines if l["setl_id"]} - set(centre)
    if named:  # settlements the file names outside the period or clearing type: still compared
        for r in call.conn.execute(select(t).where(t.c.fixmedins_code == call.fixmedins_code).where(t.c.setl_id.in_(named))
                                   .where(t.c.status != "voided")):
            centre[r.setl_id] = r

    results: list[tuple] = []
    seen: set[str] = set()
    balanced = 0
    for line in lines:
        match = centre.get(line["setl_id"]) if line["setl_id"] else None
        if match is None and not line["setl_id"]:
            candidates = [r for r in centre.values() if r.psn_no == line["psn_no"] and (not line["mdtrt_id"] or r.mdtrt_id == line["mdtrt_id"])
                          and r.refd_setl_flag == line["refd_setl_flag"]]
            if len(candidates) > 1:
                results.append((line["psn_no"], "", "", "", "1", line["refd_setl_flag"],
                                f"中心有 {len(candidates)} 笔可能对应的结算，请在文件中填写 setl_id", None, None, None))
                continue
            match = candidates[0] if candidates else None
        if match is None:
            results.append((line["psn_no"], line["mdtrt_id"], line["setl_id"], "", "1", line["refd_setl_flag"],
                            "中心无此结算（或已冲正）", None, None, None))
            continue
        seen.add(match.setl_id)
        problems = []
        if match.psn_no != line["psn_no"]:
            problems.append(f"人员编号 机构{line['psn_no']}/中心{match.psn_no}")
        if line["mdtrt_id"] and match.mdtrt_id != line["mdtrt_id"]:
            problems.append(f"就诊ID 机构{line['mdtrt_id']}/中心{match.mdtrt_id}")
        if match.refd_setl_flag != line["refd_setl_flag"]:
            problems.append(f"退费结算标志 机构{line['refd_setl_flag']}/中心{match.refd_setl_flag}")
        for column in AMOUNTS:
            mine = int(getattr(match, column))
            if mine != line[column]:
                problems.append(f"{column} 机构{fen_to_yuan(line[column])}/中心{fen_to_yuan(mine)}")
        if match.status == "reversed" and match.refd_setl_flag == "0":
            note = "（该结算已撤销，撤销记录另行对账）"
        else:
            note = ""
        if not problems:
            balanced += 1
        results.append((match.psn_no, match.mdtrt_id, match.setl_id, match.msgid, "0" if not problems else "1",
                        match.refd_setl_flag, ("平" if not problems else "不平：" + "；".join(problems)) + note,
                        fen_to_yuan(match.medfee_sumamt), fen_to_yuan(match.fund_pay_sumamt), fen_to_yuan(match.acct_pay)))
    for setl_id, r in sorted(centre.items()):
        if setl_id in seen:
            continue
        in_period = begin <= r.setl_time.date() <= end and r.clr_type == clr_type
        if not in_period:
            continue
        results.append((r.psn_no, r.mdtrt_id, r.setl_id, r.msgid, "1", r.refd_setl_flag, "机构对账文件中无此结算",
                        fen_to_yuan(r.medfee_sumamt), fen_to_yuan(r.fund_pay_sumamt), fen_to_yuan(r.acct_pay)))

    now = dt.datetime.now()
    base = f"3202_{call.fixmedins_code}_{begin:%Y%m%d}_{end:%Y%m%d}"
    content = files.zip_one(f"{base}.txt", files.txt_lines(results))
    stored = files.store(call.conn, owner=call.fixmedins_code, filename=f"{base}.zip", kind="reconcile_result",
                         content=content, now=now, infno="3202", data_cnt=len(results))
    call.ref_id = stored["file_qury_no"]
    return {
        "fileinfo": {
            "file_qury_no": stored["file_qury_no"],
            "filename": stored["filename"],
            "dld_endtime": stored["dld_endtime"].strftime("%Y-%m-%d %H:%M:%S"),
        },
        "stmtinfo": {"stmt_rslt": "0" if balanced == len(results) else "1", "data_cnt": len(results), "balanced_cnt": balanced},
    }
