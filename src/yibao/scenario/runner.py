"""Running a scenario against a fresh, empty platform, through the national interface.

Each event becomes the calls a hospital system would make: an inpatient ``settle`` is
2401 admission → 2301 fee upload → 2402 discharge → 2304 settlement; an outpatient one is
2201 → 2203 → 2204 → 2206 → 2207. ``presettle`` stops at 2303/2206; ``reverse`` is 2305/2208.
The event's answer is the last call's response; when a call is refused the event is refused
and what the event created is withdrawn (2404/2202), as a hospital would.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine

from yibao.money import yuan_to_fen
from yibao.policy import PolicyError, PolicyLibrary, resolve
from yibao.registry import store
from yibao.registry.catalogue import demo_catalogue, merge
from yibao.registry.certno import birth_date
from yibao.storage import db
from yibao.storage import schema as s

from .model import Event, Scenario, as_text

SETLINFO_FIELDS = {
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
    "act_pay_dedc", "hifp_pay", "pool_prop_selfpay", "cvlserv_pay", "hifes_pay", "hifmi_pay",
    "hifob_pay", "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay",
    "psn_cash_pay", "hosp_part_amt", "balc", "acct_mulaid_pay", "hifdm_pay",
}


@dataclass
class EventReport:
    event: Event
    response: dict[str, Any]
    mismatches: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)  # the infnos sent, in order

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def as_json(self) -> dict[str, Any]:
        return {
            "event": self.event.index,
            "kind": self.event.kind,
            "id": self.event.body.get("id"),
            "calls": self.calls,
            "infcode": self.response.get("infcode"),
            "err_msg": self.response.get("err_msg", ""),
            "output": self.response.get("output", {}),
            "passed": self.ok,
            "mismatches": self.mismatches,
        }


@dataclass
class ScenarioReport:
    path: str
    events: list[EventReport]
    error: str | None = None  # the scenario could not be run at all

    @property
    def ok(self) -> bool:
        return self.error is None and all(e.ok for e in self.events)


@dataclass
class _Visit:
    mdtrt_id: str
    fixmedins_code: str
    inpatient: bool
    psn_no: str
    setl_id: str | None = None
    sn_round: int = 0


class ScenarioRunner:
    """Runs scenarios on one database, emptied before each scenario."""

    def __init__(self, engine: Engine | None = None, library: PolicyLibrary | None = None) -> None:
        self.engine = engine or db.make_engine("sqlite://")
        self.library = library or PolicyLibrary.shipped()
        db.create_all(self.engine)

    # ── world ────────────────────────────────────────────────────────────────────────────────

    def run(self, scenario: Scenario) -> ScenarioReport:
        from yibao.interface import Platform

        try:
            policy_file = self.library.get(scenario.policy)
        except PolicyError as exc:
            return ScenarioReport(scenario.path, [], error=str(exc))
        start = policy_file.complete_from()

        def pinned(insu_admdvs: str, insutype: str, on: dt.date):
            # scenarios.md: the named policy applies whatever the event dates.
            if insutype not in policy_file.insutypes:
                raise PolicyError(f"政策 {policy_file.id} 不包含险种 {insutype}")
            return resolve(policy_file, max(on, start))

        db.reset(self.engine)
        try:
            self._load_world(scenario)
        except (ValueError, KeyError) as exc:
            return ScenarioReport(scenario.path, [], error=f"场景的参保人、机构或目录无法载入: {exc}")
        self.platform = Platform(self.engine, self.library, resolve_policy=pinned)
        self.visits: dict[str, _Visit] = {}
        self.seq = itertools.count(1)
        self.scenario = scenario
        self.persons = {p["psn_no"]: p for p in scenario.persons}
        self.institutions = {i["fixmedins_code"]: i for i in scenario.institutions}
        reports = []
        for event in scenario.events:
            report = self._event(event)
            report.mismatches = compare(event, report.response)
            reports.append(report)
        return ScenarioReport(scenario.path, reports)

    def _load_world(self, scenario: Scenario) -> None:
        records = []
        for p in scenario.persons:
            certno = str(p["certno"])
            try:
                brdy = p.get("brdy") or birth_date(certno)
            except ValueError:
                brdy = dt.date(1970, 1, 1)
            if isinstance(brdy, str):
                brdy = dt.date.fromisoformat(brdy)
            assistance = p.get("assistance")
            records.append(
                store.PersonRecord(
                    psn_no=str(p["psn_no"]),
                    certno=certno,
                    psn_name=str(p.get("psn_name") or p["psn_no"]),
                    gend=str(p.get("gend", "1")),
                    brdy=brdy,
                    insutype=str(p["insutype"]),
                    psn_type=str(p.get("psn_type", "11")),
                    insu_admdvs=str(p.get("insu_admdvs", "")),
                    assistance=None if assistance in (None, "none", "") else str(assistance),
                    cvlserv=bool(p.get("cvlserv", False)),
                    acct_balc=yuan_to_fen(p.get("acct_balc", 0), field="acct_balc"),
                    naty=p.get("naty"),
                    death_date=p.get("death_date"),
                )
            )
        with self.engine.begin() as conn:
            store.upsert_catalogue(conn, merge(demo_catalogue(), scenario.catalogue))
            store.upsert_institutions(conn, scenario.institutions)
            store.upsert_persons(conn, records)

    # ── events ───────────────────────────────────────────────────────────────────────────────

    def _call(self, report: EventReport, infno: str, code: str, when: dt.datetime, payload: dict[str, Any]) -> dict[str, Any]:
        inst = self.institutions.get(code, {})
        envelope = {
            "infno": infno,
            "msgid": f"{code}{when:%Y%m%d%H%M%S}{next(self.seq):04d}",
            "mdtrtarea_admvs": str(inst.get("admdvs", "")),
            "insuplc_admdvs": "",
            "recer_sys_code": "YBXT",
            "infver": "1.0.0",
            "opter_type": "1",
            "opter": "scenario",
            "opter_name": "scenario",
            "inf_time": when.strftime("%Y-%m-%d %H:%M:%S"),
            "fixmedins_code": code,
            "fixmedins_name": str(inst.get("name", "")),
            "sign_no": "",
            "input": payload,
        }
        report.calls.append(infno)
        return self.platform.call(envelope)

    def _event(self, event: Event) -> EventReport:
        report = EventReport(event, {})
        if event.kind == "reverse":
            report.response = self._reverse(event, report)
        else:
            report.response = self._settle(event, report, book=event.kind == "settle")
        return report

    def _is_inpatient(self, med_type: str) -> bool:
        policy = self.library.get(self.scenario.policy).raw
        code = str((policy.get("med_type_aliases") or {}).get(med_type, med_type))
        category = (policy.get("med_types") or {}).get(code)
        return category == "inpatient" or (category is None and code.startswith("2"))

    def _settle(self, event: Event, report: EventReport, *, book: bool) -> dict[str, Any]:
        body = event.body
        sid = str(body["id"])
        psn_no = str(body["psn_no"])
        code = str(body["fixmedins_code"])
        med_type = str(body["med_type"])
        on = _as_date(body.get("date", self.scenario.date))
        begin = _as_date(body.get("begndate", on))
        end = _as_date(body.get("enddate", on))
        when = dt.datetime.combine(on, dt.time(12, 0))
        inpatient = self._is_inpatient(med_type)
        person = self.persons.get(psn_no, {})
        insutype = str(body.get("insutype", person.get("insutype", "")))
        visit = self.visits.get(sid)
        created = False
        if visit is not None and (visit.fixmedins_code != code or visit.psn_no != psn_no):
            visit = None
        if visit is None:
            answer = self._open_visit(report, body, inpatient, code, psn_no, insutype, med_type, begin, when)
            if answer.get("infcode") != 0:
                return answer
            node = answer["output"].get("result") or answer["output"].get("data") or {}
            visit = _Visit(str(node["mdtrt_id"]), code, inpatient, psn_no)
            created = True
        else:
            answer = self._withdraw_lines(report, visit, when)
            if answer.get("infcode") != 0:
                return answer
        filings = self._file(report, body, visit, begin, on, when)
        try:
            answer = self._upload_and_settle(report, visit, body, med_type, insutype, end, when, book)
        finally:
            self._unfile(report, filings, visit, when)
        if answer.get("infcode") == 0:
            if book:
                visit.setl_id = answer["output"]["setlinfo"]["setl_id"]
            self.visits[sid] = visit
        elif created:
            self._call(report, "2404" if inpatient else "2202", code, when, {"data": {"mdtrt_id": visit.mdtrt_id, "psn_no": psn_no}})
        return answer

    def _open_visit(self, report, body, inpatient, code, psn_no, insutype, med_type, begin, when):
        person = self.persons.get(psn_no, {})
        dise = str(body.get("dise_codg", "") or "")
        if inpatient:
            return self._call(report, "2401", code, when, {
                "mdtrtinfo": {
                    "psn_no": psn_no, "insutype": insutype, "begntime": f"{begin} 08:00:00",
                    "mdtrt_cert_type": "02", "mdtrt_cert_no": str(person.get("certno", "")),
                    "certno": str(person.get("certno", "")), "med_type": med_type,
                    "ipt_no": f"IP{next(self.seq):08d}", "atddr_no": "D001", "chfpdr_name": "医师",
                    "adm_diag_dscr": dise, "adm_dept_codg": "A03", "adm_dept_name": "内科", "adm_bed": "1",
                    "dscg_maindiag_code": dise, "dscg_maindiag_name": dise, "dise_codg": dise,
                    "insuplc_admdvs": str(person.get("insu_admdvs", "")), "mdtrtarea_admvs": "",
                },
                "diseinfo": [{"diag_type": "1", "diag_srt_no": 1, "diag_code": dise or "R69", "diag_name": dise,
                              "maindiag_flag": "1"}],
            })
        answer = self._call(report, "2201", code, when, {
            "data": {
                "psn_no": psn_no, "insutype": insutype, "begntime": f"{begin} 08:00:00",
                "mdtrt_cert_type": "02", "mdtrt_cert_no": str(person.get("certno", "")),
                "psn_cert_type": "01", "certno": str(person.get("certno", "")),
                "psn_type": str(person.get("psn_type", "11")), "psn_name": str(person.get("psn_name", psn_no)),
                "ipt_otp_no": f"OP{next(self.seq):08d}", "dept_code": "A03", "dept_name": "内科", "caty": "A03",
                "med_type": med_type,
            }
        })
        if answer.get("infcode") != 0:
            return answer
        mdtrt_id = answer["output"]["data"]["mdtrt_id"]
        facts = self._call(report, "2203", code, when, {
            "mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": psn_no, "med_type": med_type, "begntime": f"{begin} 08:00:00",
                          "dise_codg": dise, "dise_name": dise},
            "diseinfo": [{"diag_type": "1", "diag_srt_no": 1, "diag_code": dise or "R69", "diag_name": dise, "vali_flag": "1"}] if dise else [],
        })
        if facts.get("infcode") != 0:
            self._call(report, "2202", code, when, {"data": {"mdtrt_id": mdtrt_id, "psn_no": psn_no}})
            return facts
        return answer

    def _withdraw_lines(self, report: EventReport, visit: _Visit, when: dt.datetime) -> dict[str, Any]:
        if visit.inpatient:
            payload = {"data": {"feedetl_sn": "0000", "mdtrt_id": visit.mdtrt_id, "psn_no": visit.psn_no}}
            return self._call(report, "2302", visit.fixmedins_code, when, payload)
        payload = {"data": {"chrg_bchno": "0000", "mdtrt_id": visit.mdtrt_id, "psn_no": visit.psn_no}}
        return self._call(report, "2205", visit.fixmedins_code, when, payload)

    def _file(self, report, body, visit, begin, on, when) -> list[str]:
        """Put the event's out-of-region filing and referral on record (for this event only)."""
        made = []
        filed = bool(body.get("filed", False))
        referred = bool(body.get("referred", filed))
        if filed:
            sn = f"YD{next(self.seq):010d}"
            with self.engine.begin() as conn:
                conn.execute(s.filings.insert().values(
                    trt_dcla_detl_sn=sn, psn_no=visit.psn_no, kind="out_of_region", begndate=min(begin, on),
                    enddate=max(on, begin), status="valid", mdtrtarea_admdvs=None, reflin_medins_no=None,
                ))
            made.append(sn)
        if referred:
            answer = self._call(report, "2501", visit.fixmedins_code, when, {"refmedin": {
                "psn_no": visit.psn_no, "diag_code": str(body.get("dise_codg", "") or "R69"), "diag_name": "",
                "reflin_medins_no": visit.fixmedins_code, "reflin_medins_name": "", "mdtrtarea_admdvs": "",
                "refl_type": "1", "refl_date": str(min(begin, on)), "refl_rea": "病情需要", "refl_opnn": "同意",
                "begndate": str(min(begin, on)), "enddate": str(max(on, begin)),
            }})
            if answer.get("infcode") == 0:
                made.append(answer["output"]["result"]["trt_dcla_detl_sn"])
        return made

    def _unfile(self, report, filings, visit, when) -> None:
        for sn in filings:
            if sn.startswith("YD"):
                with self.engine.begin() as conn:
                    conn.execute(s.filings.update().where(s.filings.c.trt_dcla_detl_sn == sn).values(status="cancelled"))
            else:
                self._call(report, "2502", visit.fixmedins_code, when, {"data": {"trt_dcla_detl_sn": sn, "psn_no": visit.psn_no}})

    def _upload_and_settle(self, report, visit, body, med_type, insutype, end, when, book) -> dict[str, Any]:
        visit.sn_round += 1
        base = visit.sn_round * 100000
        fees = body["fees"]
        mapping = {}
        for i, fee in enumerate(fees, start=1):
            own = str(fee.get("feedetl_sn", i))
            mapping[own] = str(base + int(own)) if own.isdigit() and int(own) < 100000 else f"{visit.sn_round}{own}"
        lines = []
        for i, fee in enumerate(fees, start=1):
            own = str(fee.get("feedetl_sn", i))
            line = {
                "feedetl_sn": mapping[own], "mdtrt_id": visit.mdtrt_id, "psn_no": visit.psn_no, "med_type": med_type,
                "chrg_bchno": "1", "fee_ocur_time": when.strftime("%Y-%m-%d %H:%M:%S"),
                "med_list_codg": str(fee["med_list_codg"]), "medins_list_codg": str(fee["med_list_codg"]),
                "pric": as_text(fee["pric"]), "cnt": as_text(fee["cnt"]), "rx_circ_flag": "0",
                "bilg_dept_codg": "A03", "bilg_dept_name": "内科", "bilg_dr_codg": "D001", "bilg_dr_name": "医师",
            }
            if fee.get("det_item_fee_sumamt") is not None:
                line["det_item_fee_sumamt"] = as_text(fee["det_item_fee_sumamt"])
            if fee.get("init_feedetl_sn") is not None:
                init = str(fee["init_feedetl_sn"])
                line["init_feedetl_sn"] = mapping.get(init, init)
            if fee.get("hosp_appr_flag") is not None:
                line["hosp_appr_flag"] = str(fee["hosp_appr_flag"])
            lines.append(line)
        upload = self._call(report, "2301" if visit.inpatient else "2204", visit.fixmedins_code, when, {"feedetail": lines})
        if upload.get("infcode") != 0:
            return upload
        total = sum((Decimal(str(r["det_item_fee_sumamt"])) for r in upload["output"]["result"]), Decimal("0.00"))
        person = self.persons.get(visit.psn_no, {})
        data = {
            "psn_no": visit.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": str(person.get("certno", "")),
            "psn_cert_type": "01", "certno": str(person.get("certno", "")), "psn_type": str(person.get("psn_type", "11")),
            "psn_name": str(person.get("psn_name", visit.psn_no)), "medfee_sumamt": str(total), "psn_setlway": "01",
            "mdtrt_id": visit.mdtrt_id, "insutype": insutype, "acct_used_flag": str(body.get("acct_used_flag", "0")),
            "mid_setl_flag": "0", "insuplc_admdvs": str(person.get("insu_admdvs", "")), "mdtrtarea_admvs": "",
        }
        if visit.inpatient:
            disc = self._call(report, "2402", visit.fixmedins_code, when, {
                "dscginfo": {"mdtrt_id": visit.mdtrt_id, "psn_no": visit.psn_no, "insutype": insutype,
                             "endtime": f"{end} 10:00:00", "dscg_dept_codg": "A03", "dscg_dept_name": "内科", "dscg_way": "1"},
            }) if not self._discharged(visit) else {"infcode": 0}
            if disc.get("infcode") != 0:
                return disc
            return self._call(report, "2304" if book else "2303", visit.fixmedins_code, when, {"data": data})
        data["chrg_bchno"] = "1"
        pre = self._call(report, "2206", visit.fixmedins_code, when, {"data": data})
        if pre.get("infcode") != 0 or not book:
            return pre
        info = pre["output"]["setlinfo"]
        for key in ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt"):
            data[key] = str(info[key])
        return self._call(report, "2207", visit.fixmedins_code, when, {"data": data})

    def _discharged(self, visit: _Visit) -> bool:
        from sqlalchemy import select

        with self.engine.connect() as conn:
            status = conn.execute(select(s.encounters.c.status).where(s.encounters.c.mdtrt_id == visit.mdtrt_id)).scalar()
        return status != "open"

    def _reverse(self, event: Event, report: EventReport) -> dict[str, Any]:
        sid = str(event.body["id"])
        visit = self.visits.get(sid)
        on = _as_date(event.body.get("date", self.scenario.date))
        when = dt.datetime.combine(on, dt.time(12, 0))
        if visit is None:
            # Nothing was settled under this id: the platform is asked anyway and must refuse.
            code = next(iter(self.institutions), "H000000000000")
            return self._call(report, "2305", code, when, {"data": {"mdtrt_id": "", "setl_id": "", "psn_no": ""}})
        infno = "2305" if visit.inpatient else "2208"
        return self._call(report, infno, visit.fixmedins_code, when, {
            "data": {"mdtrt_id": visit.mdtrt_id, "setl_id": visit.setl_id or "", "psn_no": visit.psn_no}
        })


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def compare(event: Event, response: dict[str, Any]) -> list[str]:
    """What differs between an event's ``expect`` and the platform's answer (empty = passed)."""
    expect = event.expect
    if not expect:
        return []
    problems: list[str] = []
    infcode = response.get("infcode")
    err = str(response.get("err_msg", ""))
    if "error" in expect:
        wanted = expect["error"]
        if wanted is False:
            if infcode != 0:
                problems.append(f"{event.label}: expected success, got refusal: {err}")
        elif infcode == 0:
            problems.append(f"{event.label}: expected a refusal, but the platform accepted it")
        elif not err:
            problems.append(f"{event.label}: refused without an err_msg")
        elif isinstance(wanted, str) and wanted not in err:
            problems.append(f"{event.label}: err_msg should contain {wanted!r}, got {err!r}")
    others = {k: v for k, v in expect.items() if k != "error"}
    if not others:
        return problems
    if infcode != 0:
        problems.append(f"{event.label}: refused ({err}) but expected {sorted(others)}")
        return problems
    setlinfo = response.get("output", {}).get("setlinfo", {})
    for key, wanted in others.items():
        if key == "ok":
            if bool(wanted) != (infcode == 0):
                problems.append(f"{event.label}: ok expected {wanted}, got infcode {infcode}")
        elif key == "setldetail":
            rows = {r["fund_pay_type"]: r for r in response.get("output", {}).get("setldetail", [])}
            for fund, amount in (wanted or {}).items():
                actual = Decimal(str(rows[str(fund)]["fund_payamt"])) if str(fund) in rows else Decimal("0.00")
                if actual != Decimal(as_text(amount)):
                    problems.append(
                        f"{event.label}: setldetail[{fund}].fund_payamt expected {as_text(amount)}, got {actual}"
                    )
        elif key in setlinfo:
            actual = setlinfo[key]
            places = 4 if key == "pool_prop_selfpay" else 2
            try:
                same = Decimal(str(actual)).quantize(Decimal(1).scaleb(-places)) == Decimal(as_text(wanted)).quantize(
                    Decimal(1).scaleb(-places)
                )
            except ArithmeticError:
                same = str(actual) == str(wanted)
            if not same:
                problems.append(f"{event.label}: {key} expected {as_text(wanted)}, got {actual}")
        else:
            problems.append(f"{event.label}: {key} is not a field of the answer (setlinfo has {len(setlinfo)} fields)")
    return problems
