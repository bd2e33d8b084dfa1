"""A client for the national interface, as a hospital system (HIS) would use it.

It builds envelopes (msgid = fixmedins_code + yyyyMMddHHmmss + 4-digit sequence), sends them
through a transport and returns the response envelope. ``InProcess`` calls a ``Platform``
directly; the HTTP transport (signed gateway headers) lives in ``yibao.interface.http_client``.

Example::

    client = InterfaceClient(InProcess(platform), "H51140200001")
    visit = client.admit(psn_no="P1", insutype="390", med_type="21", begntime="2020-03-01 08:00:00")
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol


class Transport(Protocol):
    def send(self, envelope: dict[str, Any]) -> dict[str, Any]: ...


@dataclass
class InProcess:
    platform: Any

    def send(self, envelope: dict[str, Any]) -> dict[str, Any]:
        return self.platform.call(envelope)


class CallRefused(RuntimeError):
    def __init__(self, infno: str, response: dict[str, Any]) -> None:
        super().__init__(f"{infno} refused: {response.get('err_msg')}")
        self.infno = infno
        self.response = response


@dataclass
class InterfaceClient:
    transport: Transport
    fixmedins_code: str
    fixmedins_name: str = ""
    mdtrtarea_admvs: str = ""
    clock: Callable[[], dt.datetime] = dt.datetime.now
    _seq: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_msgid(self, when: dt.datetime) -> str:
        with self._lock:
            seq = next(self._seq) % 10000
        return f"{self.fixmedins_code}{when:%Y%m%d%H%M%S}{seq:04d}"

    def envelope(self, infno: str, payload: dict[str, Any], *, msgid: str | None = None, when: dt.datetime | None = None) -> dict[str, Any]:
        when = when or self.clock()
        return {
            "infno": infno,
            "msgid": msgid or self.next_msgid(when),
            "mdtrtarea_admvs": self.mdtrtarea_admvs,
            "insuplc_admdvs": "",
            "recer_sys_code": "YBXT",
            "dev_no": "",
            "dev_safe_info": "",
            "cainfo": "",
            "signtype": "",
            "infver": "1.0.0",
            "opter_type": "1",
            "opter": "0001",
            "opter_name": "收费员",
            "inf_time": when.strftime("%Y-%m-%d %H:%M:%S"),
            "fixmedins_code": self.fixmedins_code,
            "fixmedins_name": self.fixmedins_name,
            "sign_no": "",
            "input": payload,
        }

    def call(self, infno: str, payload: dict[str, Any], *, msgid: str | None = None, when: dt.datetime | None = None) -> dict[str, Any]:
        return self.transport.send(self.envelope(infno, payload, msgid=msgid, when=when))

    def ok(self, infno: str, payload: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Call and return ``output``; raise CallRefused when the platform refuses."""
        response = self.call(infno, payload, **kwargs)
        if response.get("infcode") != 0:
            raise CallRefused(infno, response)
        return response.get("output") or {}

    # ── the usual steps of a day ─────────────────────────────────────────────────────────────

    def admit(self, *, psn_no: str, insutype: str, med_type: str, begntime: str, certno: str = "",
              ipt_no: str | None = None, dise_codg: str = "", when: dt.datetime | None = None, exp_content: str = "") -> str:
        out = self.ok("2401", {
            "mdtrtinfo": {
                "psn_no": psn_no, "insutype": insutype, "begntime": begntime, "mdtrt_cert_type": "02",
                "mdtrt_cert_no": certno, "certno": certno, "med_type": med_type,
                "ipt_no": ipt_no or f"IP{self.next_msgid(when or self.clock())[-14:]}",
                "atddr_no": "D001", "chfpdr_name": "医师", "adm_diag_dscr": dise_codg, "adm_dept_codg": "A03",
                "adm_dept_name": "内科", "adm_bed": "1", "dscg_maindiag_code": dise_codg, "dscg_maindiag_name": dise_codg,
                "dise_codg": dise_codg, "insuplc_admdvs": "", "mdtrtarea_admvs": self.mdtrtarea_admvs,
                "exp_content": exp_content,
            },
            "diseinfo": [{"diag_type": "1", "diag_srt_no": 1, "diag_code": dise_codg or "R69", "diag_name": "", "maindiag_flag": "1"}],
        }, when=when)
        return out["result"]["mdtrt_id"]

    def register(self, *, psn_no: str, insutype: str, begntime: str, med_type: str = "11", certno: str = "",
                 dise_codg: str = "", when: dt.datetime | None = None, otp_no: str | None = None, exp_content: str = "") -> str:
        out = self.ok("2201", {"data": {
            "psn_no": psn_no, "insutype": insutype, "begntime": begntime, "mdtrt_cert_type": "02",
            "mdtrt_cert_no": certno, "psn_cert_type": "01", "certno": certno, "psn_type": "11", "psn_name": "",
            "ipt_otp_no": otp_no or f"OP{self.next_msgid(when or self.clock())[-14:]}", "dept_code": "A03", "dept_name": "内科",
            "caty": "A03", "med_type": med_type, "exp_content": exp_content,
        }}, when=when)
        mdtrt_id = out["data"]["mdtrt_id"]
        self.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": psn_no, "med_type": med_type,
                                       "begntime": begntime, "dise_codg": dise_codg, "dise_name": dise_codg}}, when=when)
        return mdtrt_id

    @staticmethod
    def fee_lines(mdtrt_id: str, psn_no: str, lines: list[tuple], *, start: int = 1, when: str = "") -> list[dict[str, Any]]:
        """lines: (med_list_codg, pric, cnt[, extra dict]) tuples → feedetail nodes."""
        out = []
        for i, spec in enumerate(lines, start=start):
            code, pric, cnt = spec[:3]
            node = {
                "feedetl_sn": str(i), "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": "1", "rx_circ_flag": "0",
                "fee_ocur_time": when, "med_list_codg": code, "medins_list_codg": code, "pric": str(pric), "cnt": str(cnt),
                "bilg_dept_codg": "A03", "bilg_dept_name": "内科", "bilg_dr_codg": "D001", "bilg_dr_name": "医师",
            }
            if len(spec) > 3:
                node.update(spec[3])
            out.append(node)
        return out

    def settle_data(self, mdtrt_id: str, psn_no: str, insutype: str, medfee_sumamt: str, *, acct_used: bool = False) -> dict[str, Any]:
        return {
            "psn_no": psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": "", "psn_cert_type": "01", "certno": "",
            "psn_type": "11", "psn_name": "", "medfee_sumamt": medfee_sumamt, "psn_setlway": "01", "mdtrt_id": mdtrt_id,
            "insutype": insutype, "acct_used_flag": "1" if acct_used else "0", "mid_setl_flag": "0",
            "insuplc_admdvs": "", "mdtrtarea_admvs": self.mdtrtarea_admvs, "chrg_bchno": "1",
        }
