"""Driving finished encounters through the national interface, as a hospital system would:
2401 → 2301 → 2402 → 2304 for a stay, 2201 → 2203 → 2204 → 2206 → 2207 for a visit.

Used by the demo (a week of the synthetic region over real HTTP) and by load tests.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from .bulk import BulkEncounter, BulkLine
from .client import CallRefused, InterfaceClient

# A HIS sends a long stay's fee lines in several calls: the envelope's input is at most 40,000
# characters (chs-interface.md §1.1), about 100 lines.
LINES_PER_CALL = 80


def _stamp(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S")


def _lines(client: InterfaceClient, mdtrt_id: str, enc: BulkEncounter) -> list[dict[str, Any]]:
    out = []
    for spec in enc.lines:
        line = BulkLine(*spec)
        node = {
            "feedetl_sn": str(line.feedetl_sn), "mdtrt_id": mdtrt_id, "psn_no": enc.psn_no, "chrg_bchno": "1",
            "rx_circ_flag": "0", "fee_ocur_time": _stamp(line.fee_ocur_time or enc.begntime),
            "med_list_codg": line.med_list_codg, "medins_list_codg": line.medins_list_codg or line.med_list_codg,
            "pric": str(line.pric), "cnt": str(line.cnt), "bilg_dept_codg": line.bilg_dept_codg or enc.dept_code or "A03",
            "bilg_dept_name": "科室", "bilg_dr_codg": line.bilg_dr_codg or "D001", "bilg_dr_name": "医师",
            "med_type": enc.med_type,
        }
        if line.det_item_fee_sumamt is not None:
            node["det_item_fee_sumamt"] = f"{Decimal(line.det_item_fee_sumamt) / 100:.2f}"
        if line.init_feedetl_sn:
            node["init_feedetl_sn"] = str(line.init_feedetl_sn)
        if line.hosp_appr_flag:
            node["hosp_appr_flag"] = line.hosp_appr_flag
        out.append(node)
    return out


def _upload(client: InterfaceClient, infno: str, lines: list[dict[str, Any]], when: dt.datetime) -> dict[str, Any]:
    result: list[dict[str, Any]] = []
    for start in range(0, len(lines), LINES_PER_CALL):
        result.extend(client.ok(infno, {"feedetail": lines[start : start + LINES_PER_CALL]}, when=when)["result"])
    return {"result": result}


def drive(client: InterfaceClient, enc: BulkEncounter) -> dict[str, Any]:
    """Send one encounter; returns the settlement's response envelope (2304/2207).

    Raises CallRefused with the refusing call's response when a step is refused. The client may
    be shared by threads: every call carries its own time (the visit's), nothing is mutated."""
    begin, end = enc.begntime, enc.endtime
    dise = enc.dise_codg or (enc.diagnoses[0] if enc.diagnoses else "")
    if enc.med_type.startswith("2"):
        mdtrt_id = client.admit(psn_no=enc.psn_no, insutype=enc.insutype, med_type=enc.med_type,
                                begntime=_stamp(enc.begntime), ipt_no=enc.ipt_otp_no, dise_codg=dise, when=begin,
                                exp_content=enc.exp_content or "")
        out = _upload(client, "2301", _lines(client, mdtrt_id, enc), begin)
        client.ok("2402", {
            "dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": enc.psn_no, "insutype": enc.insutype, "endtime": _stamp(enc.endtime),
                         "dscg_dept_codg": enc.dept_code or "A03", "dscg_dept_name": "科室", "dscg_way": enc.dscg_way or "1"},
            "diseinfo": [{"mdtrt_id": mdtrt_id, "psn_no": enc.psn_no, "diag_type": "1", "maindiag_flag": "1" if i == 1 else "0",
                          "diag_srt_no": i, "diag_code": code, "diag_name": "", "diag_dept": "", "dise_dor_no": "D001",
                          "dise_dor_name": "医师", "diag_time": _stamp(enc.endtime)} for i, code in enumerate(enc.diagnoses, 1)],
        }, when=end)
        total = sum((r["det_item_fee_sumamt"] for r in out["result"]), Decimal("0.00"))
        answer = client.call("2304", {"data": client.settle_data(mdtrt_id, enc.psn_no, enc.insutype, str(total),
                                                                  acct_used=enc.acct_used)}, when=end)
    else:
        mdtrt_id = client.register(psn_no=enc.psn_no, insutype=enc.insutype, begntime=_stamp(enc.begntime),
                                   med_type=enc.med_type, dise_codg=dise, when=begin, otp_no=enc.ipt_otp_no,
                                   exp_content=enc.exp_content or "")
        out = _upload(client, "2204", _lines(client, mdtrt_id, enc), begin)
        total = sum((r["det_item_fee_sumamt"] for r in out["result"]), Decimal("0.00"))
        data = client.settle_data(mdtrt_id, enc.psn_no, enc.insutype, str(total), acct_used=enc.acct_used)
        pre = client.ok("2206", {"data": data}, when=end)["setlinfo"]
        for key in ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt"):
            data[key] = str(pre[key])
        answer = client.call("2207", {"data": data}, when=end)
    if answer.get("infcode") != 0:
        raise CallRefused("2304" if enc.med_type.startswith("2") else "2207", answer)
    return answer
