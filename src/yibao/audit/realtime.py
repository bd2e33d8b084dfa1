"""3101 明细审核事前分析服务 / 3102 事中分析服务: the rule library on one encounter, and the settlement block.

- :func:`evaluate_3101` ``(input, conn) -> output``: reads the 3101/3102 ``input`` (``data.patient_dtos``
  → ``fsi_encounter_dtos`` → ``fsi_diagnose_dtos`` / ``fsi_order_dtos`` / ``fsi_operation_dtos``), adds
  the person's stored history from the database, runs :func:`yibao.audit.online.evaluate` and returns the
  ``output`` node: ``{"result": [{jr_id, rule_id, rule_name, vola_cont, patn_id, mdtrt_id,
  judge_result_detail_dtos[], vola_amt, vola_amt_stas, sev_deg, vola_evid, vola_bhvr_type, task_id}]}``.
- :data:`AUDITOR` is the same as an auditor for the interface's 3101/3102 hook
  (``auditor(scene, data, context) -> result rows``); :func:`register_auditor` registers it where the
  hook exists (``yibao.interface.prereview``).
- :func:`settlement_check` / :func:`raise_if_blocked`: what the settlement path calls before 2304/2207
  settles an encounter: refuse-severity (拒付) findings block it when the library says
  ``block_settlement_on_refuse: true`` or ``YIBAO_AUDIT_BLOCK_REFUSE=1`` is set.

Order lines are fee lines: ``rx_id`` is the ``feedetl_sn``, ``hilist_code`` the ``med_list_codg``,
``drord_begn_date`` the time, ``sumamt`` the amount; a traceability code travels in
``extend_order_map.drug_trac_codg`` (comma-separated). Orders with ``curr_drord_flag`` 0 (history) are
not the current visit's and are left out. When the encounter has discharge diagnoses
(``inout_dise_type`` 2) only those are used, else all it has.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, select

from yibao.money import fen_to_yuan
from yibao.storage import schema as s

from . import knowledge as kn
from .findings import Finding
from .library import Library, active_library
from .online import Case, Compiled, Encounter, Line, Person, Visit, evaluate

HOSP_LV_TO_MEDINS_LV = {"1": "level3", "2": "level3", "3": "level3", "4": "level3", "12": "level3",
                        "5": "level2", "6": "level2", "7": "level2", "13": "level2",
                        "8": "level1", "9": "level1", "10": "level1", "14": "level1"}


class AuditInputError(ValueError):
    """A 3101/3102 input the engine cannot read; the message names the field (Chinese)."""


# ── the compiled library, cached per database ─────────────────────────────────────────────────

_cache: dict[str, tuple[float, Compiled]] = {}
_cache_lock = threading.Lock()
CACHE_SECONDS = float(os.environ.get("YIBAO_AUDIT_CACHE_SECONDS", "60"))


# The text of each engine's URL, made once: rendering a URL on every settlement cost more than
# the rest of the cache lookup.
_url_texts: "weakref.WeakKeyDictionary[Any, str]" = weakref.WeakKeyDictionary()


def _cache_key(engine: Any, library: Library | None) -> str:
    url = _url_texts.get(engine)
    if url is None:
        url = str(engine.url)
        with _cache_lock:
            _url_texts[engine] = url
    return url + (library.sha256 if library else "")


def _cached(key: str, now: float) -> Compiled | None:
    """The compiled library cached under ``key``, while it is younger than CACHE_SECONDS."""
    with _cache_lock:
        hit = _cache.get(key)
    return hit[1] if hit is not None and now - hit[0] < CACHE_SECONDS else None


def is_fresh(engine: Any, library: Library | None = None) -> bool:
    """Would ``compiled_for`` on ``engine`` answer from the cache, without rebuilding?"""
    return _cached(_cache_key(engine, library), time.monotonic()) is not None


def compiled_for(conn, library: Library | None = None) -> Compiled:
    """The active library with its knowledge and the catalogue, rebuilt at most every CACHE_SECONDS."""
    key = _cache_key(conn.engine, library)
    now = time.monotonic()
    cached = _cached(key, now)
    if cached is not None:
        return cached
    lib = library or active_library(conn)
    tables, _notes = kn.resolve(lib, conn=conn)
    cat = s.catalogue
    catalogue = {r.med_list_codg: {"item_name": r.name, "list_type": r.list_type, "med_chrgitm_type": r.med_chrgitm_type,
                                   "lmt_used_flag": r.lmt_used_flag}
                 for r in conn.execute(select(cat.c.med_list_codg, cat.c.name, cat.c.list_type, cat.c.med_chrgitm_type,
                                              cat.c.lmt_used_flag))}
    compiled = Compiled(lib, tables, catalogue)
    with _cache_lock:
        _cache[key] = (now, compiled)
    return compiled


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


# ── reading the input ─────────────────────────────────────────────────────────────────────────

def _list(node: Any) -> list[dict]:
    if node in (None, "", []):
        return []
    if isinstance(node, dict):
        return [node]
    if isinstance(node, list) and all(isinstance(x, dict) for x in node):
        return node
    raise AuditInputError("应为对象数组")


def _when(value: Any, where: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    try:
        text = str(value).strip()
        return dt.datetime.fromisoformat(text) if len(text) > 10 else dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
    except (TypeError, ValueError):
        raise AuditInputError(f"{where} 应为 yyyy-MM-dd HH:mm:ss 格式的时间，而不是 {value!r}") from None


def _decimal(value: Any, where: str) -> Decimal:
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, TypeError):
        raise AuditInputError(f"{where} 应为数字，而不是 {value!r}") from None


def _encounter_from_dto(psn_no: str, enc: dict, where: str) -> Encounter:
    mdtrt_id = str(enc.get("mdtrt_id") or "").strip()
    if not mdtrt_id:
        raise AuditInputError(f"{where}.mdtrt_id 不能为空")
    begin = _when(enc.get("adm_date"), f"{where}.adm_date")
    end = _when(enc.get("dscg_date") or enc.get("adm_date"), f"{where}.dscg_date")
    dxs = _list(enc.get("fsi_diagnose_dtos"))
    discharge = [d for d in dxs if str(d.get("inout_dise_type", "")) == "2"]
    chosen = discharge or dxs
    chosen = sorted(chosen, key=lambda d: int(str(d.get("dias_srt_no") or 0) or 0))
    diagnoses = [(str(d.get("dise_codg")), str(d.get("maindise_flag") or "0")) for d in chosen if d.get("dise_codg")]
    lines = []
    for i, o in enumerate(_list(enc.get("fsi_order_dtos"))):
        w = f"{where}.fsi_order_dtos[{i}]"
        if str(o.get("curr_drord_flag", "1")) == "0":
            continue
        sn = str(o.get("rx_id") or "").strip()
        code = str(o.get("hilist_code") or "").strip()
        if not sn or not code:
            raise AuditInputError(f"{w}: rx_id 和 hilist_code 不能为空")
        amount = _decimal(o.get("sumamt"), f"{w}.sumamt") * 100
        if amount != amount.to_integral_value():
            raise AuditInputError(f"{w}.sumamt 最多两位小数")
        ext = o.get("extend_order_map") or {}
        codes = tuple(c for c in str(ext.get("drug_trac_codg") or "").split(",") if c)
        lines.append(Line(sn, code, _when(o.get("drord_begn_date") or begin, f"{w}.drord_begn_date"),
                          _decimal(o.get("pric"), f"{w}.pric"), _decimal(o.get("cnt"), f"{w}.cnt"), int(amount),
                          o.get("drord_dept_codg") or None, codes))
    procedures = [str(p.get("oprn_code")) for p in _list(enc.get("fsi_operation_dtos")) if p.get("oprn_code")]
    return Encounter(mdtrt_id, psn_no, str(enc.get("medins_id") or ""), enc.get("insutype"), str(enc.get("med_type") or ""),
                     begin, end, enc.get("dscg_main_dise_codg") or None,
                     enc.get("dscg_dept_codg") or enc.get("adm_dept_codg") or None, None, diagnoses, procedures, lines)


def _rel_ttp(exp_content: str | None) -> str | None:
    if not exp_content:
        return None
    import json

    try:
        value = json.loads(exp_content).get("REL_TTP_FLAG")
    except (ValueError, AttributeError):
        return None
    return None if value is None else str(value)


def build_case(conn, patient: dict, compiled: Compiled, where: str = "patient_dtos[0]") -> Case:
    """The encounter of ``curr_mdtrt_id`` with the person's stored facts and history."""
    psn_no = str(patient.get("patn_id") or "").strip()
    current_id = str(patient.get("curr_mdtrt_id") or "").strip()
    if not psn_no or not current_id:
        raise AuditInputError(f"{where}: patn_id 和 curr_mdtrt_id 不能为空")
    dtos = _list(patient.get("fsi_encounter_dtos"))
    current = None
    others: list[Visit] = []
    for i, enc in enumerate(dtos):
        w = f"{where}.fsi_encounter_dtos[{i}]"
        if str(enc.get("mdtrt_id") or "").strip() == current_id:
            current = _encounter_from_dto(psn_no, enc, w)
            current.rel_ttp_flag = _rel_ttp(enc.get("exp_content"))
        else:
            v = _encounter_from_dto(psn_no, enc, w)
            others.append(Visit(v.mdtrt_id, v.fixmedins_code, v.med_type, v.begntime, v.endtime, v.dscg_maindiag_code))
    if current is None:
        raise AuditInputError(f"{where}: fsi_encounter_dtos 中没有当前就诊 {current_id}")
    return complete_case(conn, current, compiled, others,
                         Person(psn_no, patient.get("gend"), _when(patient["brdy"], f"{where}.brdy").date()
                                if patient.get("brdy") else None))


def complete_case(conn, current: Encounter, compiled: Compiled, others: list[Visit] = (),
                  given: Person | None = None) -> Case:
    """Add the stored person, institution, visits, yearly-limited lines and traceability sales."""
    e, p, ins, inst = s.encounters, s.persons, s.insurance, s.institutions
    row = conn.execute(select(p.c.gend, p.c.brdy, p.c.death_date, ins.c.psn_insu_date, ins.c.paus_insu_date)
                       .select_from(p.outerjoin(ins, ins.c.psn_no == p.c.psn_no))
                       .where(p.c.psn_no == current.psn_no).order_by(ins.c.insutype)).first()
    if row is not None:
        person = Person(current.psn_no, row.gend, row.brdy, row.death_date, row.psn_insu_date,
                        row.paus_insu_date if row.death_date is None else None)
    else:
        person = given
    level = conn.execute(select(inst.c.medins_lv).where(inst.c.fixmedins_code == current.fixmedins_code)).scalar()
    stored = conn.execute(select(e.c.exp_content, e.c.dept_code).where(e.c.mdtrt_id == current.mdtrt_id)).first()
    if stored is not None:
        if current.rel_ttp_flag is None:
            current.rel_ttp_flag = _rel_ttp(stored.exp_content)
        if current.dept is None:
            current.dept = stored.dept_code
    visits = [Visit(r.mdtrt_id, r.fixmedins_code, r.med_type, r.begntime, r.endtime, r.dscg_maindiag_code)
              for r in conn.execute(select(e.c.mdtrt_id, e.c.fixmedins_code, e.c.med_type, e.c.begntime, e.c.endtime,
                                           e.c.dscg_maindiag_code)
                                    .where(e.c.psn_no == current.psn_no, e.c.status != "cancelled",
                                           e.c.mdtrt_id != current.mdtrt_id))]
    known = {v.mdtrt_id for v in visits}
    visits += [v for v in others if v.mdtrt_id not in known and v.mdtrt_id != current.mdtrt_id]
    case = Case(current, person, level, visits)
    f = s.fee_lines
    limited = sorted(compiled.year_limited & {l.med_list_codg for l in current.lines})
    if limited and known:
        years = {l.fee_ocur_time.year for l in current.lines}
        lo, hi = dt.datetime(min(years), 1, 1), dt.datetime(max(years) + 1, 1, 1)
        ids = sorted(known)
        for i in range(0, len(ids), 500):
            for r in conn.execute(select(f.c.med_list_codg, f.c.fee_ocur_time, f.c.mdtrt_id, f.c.feedetl_sn, f.c.cnt)
                                  .where(f.c.mdtrt_id.in_(ids[i:i + 500]), f.c.med_list_codg.in_(limited),
                                         f.c.status != "cancelled", f.c.fee_ocur_time >= lo, f.c.fee_ocur_time < hi)):
                if r.cnt <= 0:
                    continue
                case.year_lines.append((r.med_list_codg, r.fee_ocur_time, r.mdtrt_id, _sn(r.feedetl_sn)))
    codes = sorted({c for l in current.lines for c in l.trace_codes})
    if codes:
        t = s.audit_trace_codes
        for i in range(0, len(codes), 500):
            for r in conn.execute(select(t.c.drug_trac_codg, f.c.fee_ocur_time, t.c.mdtrt_id, t.c.feedetl_sn)
                                  .select_from(t.join(f, and_(f.c.mdtrt_id == t.c.mdtrt_id, f.c.feedetl_sn == t.c.feedetl_sn))
                                               .join(e, e.c.mdtrt_id == t.c.mdtrt_id))
                                  .where(t.c.drug_trac_codg.in_(codes[i:i + 500]), f.c.status != "cancelled",
                                         e.c.status != "cancelled")):
                case.trace_sales.setdefault(r.drug_trac_codg, []).append((r.fee_ocur_time, r.mdtrt_id, _sn(r.feedetl_sn)))
    return case


def _sn(text: str) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return 0


# ── the output ────────────────────────────────────────────────────────────────────────────────

def _id(*parts: str) -> str:
    return hashlib.sha1("|".join(parts).encode("utf-8")).hexdigest()[:32]


def result_rows(findings: list[Finding], library: Library, psn_no: str) -> list[dict]:
    rows = []
    for f in sorted(findings, key=lambda x: (x.rule_id, x.subject)):
        rule = library.rule(f.rule_id)
        jr = _id(f.rule_id, f.subject)
        rows.append({
            "jr_id": jr, "rule_id": f.rule_id, "rule_name": f.rule_name, "vola_cont": f.message[:500],
            "patn_id": psn_no, "mdtrt_id": f.mdtrt_id,
            "judge_result_detail_dtos": [{"jrd_id": _id(jr, f.feedetl_sn or ""), "patn_id": psn_no, "mdtrt_id": f.mdtrt_id,
                                          "rx_id": f.feedetl_sn, "vola_item_type": "1", "vola_amt": fen_to_yuan(f.amount)}],
            "vola_amt": fen_to_yuan(f.amount), "vola_amt_stas": "1", "sev_deg": f.sev_deg,
            "vola_evid": rule.basis[:500], "vola_bhvr_type": f.bhvr_type, "task_id": None,
        })
    return rows


def _selected_rules(data: dict, library: Library):
    wanted = data.get("rule_ids")
    if not wanted:
        return None
    ids = {str(x.get("rule_id") if isinstance(x, dict) else x) for x in (wanted if isinstance(wanted, list) else [wanted])}
    return [r for r in library.enabled_rules() if r.rule_id in ids]


def findings_3101(data: dict, conn, *, library: Library | None = None) -> list[tuple[str, list[Finding]]]:
    """(psn_no, findings) per patient of a 3101/3102 ``data`` node."""
    compiled = compiled_for(conn, library)
    rules = _selected_rules(data, compiled.library)
    out = []
    for i, patient in enumerate(_list(data.get("patient_dtos"))):
        case = build_case(conn, patient, compiled, f"patient_dtos[{i}]")
        out.append((case.encounter.psn_no, evaluate(case, compiled, rules)))
    return out


def evaluate_3101(input: dict, conn, *, library: Library | None = None) -> dict:
    """The 3101/3102 ``output`` node for an ``input`` node (``{"data": {...}}``, or the ``data`` node itself)."""
    data = input.get("data", input) if isinstance(input, dict) else None
    if not isinstance(data, dict) or not data.get("patient_dtos"):
        raise AuditInputError("data.patient_dtos 不能为空")
    compiled = compiled_for(conn, library)
    result = []
    for psn_no, findings in findings_3101(data, conn, library=library):
        result.extend(result_rows(findings, compiled.library, psn_no))
    return {"result": result}


class _Auditor:
    """The interface hook's auditor: ``auditor(scene, data, context) -> result rows`` (scene pre | during)."""

    name = "yibao-audit"

    def __call__(self, scene: str, data: dict, context) -> list[dict]:
        try:
            return evaluate_3101({"data": data}, context.conn)["result"]
        except AuditInputError as exc:  # answered as the interface's refusal (infcode -1) with the reason
            from yibao.interface.errors import InterfaceError

            raise InterfaceError(str(exc)) from None


AUDITOR = _Auditor()


def register_auditor() -> bool:
    """Register :data:`AUDITOR` with the interface's 3101/3102 hook (``yibao.interface.prereview``) when it
    is there; True when registered. Call it once where the platform starts (the server's start-up);
    ``unregister_auditor()`` undoes it."""
    try:
        from yibao.interface import prereview  # type: ignore[attr-defined]
    except ImportError:
        return False
    prereview.register(AUDITOR.name, AUDITOR)
    return True


def unregister_auditor() -> None:
    try:
        from yibao.interface import prereview  # type: ignore[attr-defined]
    except ImportError:
        return
    prereview.unregister(AUDITOR.name)


# ── before settlement ─────────────────────────────────────────────────────────────────────────

@dataclass
class BlockDecision:
    blocked: bool
    findings: list[Finding] = field(default_factory=list)  # every finding of the encounter
    refusing: list[Finding] = field(default_factory=list)  # the refuse-severity ones

    @property
    def message(self) -> str:
        if not self.refusing:
            return ""
        head = "；".join(f.message for f in self.refusing[:3])
        more = f"；另有{len(self.refusing) - 3}条" if len(self.refusing) > 3 else ""
        return f"智能审核发现拒付类违规，不予结算：{head}{more}"


class SettlementBlocked(Exception):
    def __init__(self, decision: BlockDecision) -> None:
        super().__init__(decision.message)
        self.decision = decision


def blocking_enabled(library: Library) -> bool:
    env = os.environ.get("YIBAO_AUDIT_BLOCK_REFUSE")
    if env is not None:
        return env.strip().lower() in ("1", "true", "yes", "on")
    return library.block_settlement_on_refuse


def case_from_db(conn, mdtrt_id: str, compiled: Compiled) -> Case:
    """The stored encounter (active lines, discharge diagnoses, procedures) as a case."""
    e, f, d, px = s.encounters, s.fee_lines, s.diagnoses, s.procedures
    r = conn.execute(select(e).where(e.c.mdtrt_id == mdtrt_id)).first()
    if r is None:
        raise AuditInputError(f"没有就诊 {mdtrt_id}")
    t = s.audit_trace_codes
    codes: dict[str, list[str]] = {}
    for c in conn.execute(select(t.c.feedetl_sn, t.c.drug_trac_codg).where(t.c.mdtrt_id == mdtrt_id)):
        codes.setdefault(c.feedetl_sn, []).append(c.drug_trac_codg)
    lines = [Line(l.feedetl_sn, l.med_list_codg, l.fee_ocur_time or r.begntime, l.pric, l.cnt, l.det_item_fee_sumamt,
                  l.bilg_dept_codg, tuple(sorted(codes.get(l.feedetl_sn, ()))))
             for l in conn.execute(select(f).where(f.c.mdtrt_id == mdtrt_id, f.c.status != "cancelled"))]
    dx = [(x.diag_code, x.maindiag_flag) for x in conn.execute(
        select(d.c.diag_code, d.c.maindiag_flag).where(d.c.mdtrt_id == mdtrt_id, d.c.inout_diag_type == "2",
                                                       d.c.vali_flag == "1").order_by(d.c.diag_srt_no))]
    procs = [x.oprn_oprt_code for x in conn.execute(select(px.c.oprn_oprt_code).where(px.c.mdtrt_id == mdtrt_id)
                                                    .order_by(px.c.srt_no))]
    enc = Encounter(r.mdtrt_id, r.psn_no, r.fixmedins_code, r.insutype, r.med_type, r.begntime,
                    r.endtime or r.begntime, r.dscg_maindiag_code, r.dept_code, _rel_ttp(r.exp_content), dx, procs, lines)
    return complete_case(conn, enc, compiled)


def settlement_check(conn, mdtrt_id: str, *, block: bool | None = None, library: Library | None = None) -> BlockDecision:
    """Audit a stored encounter before it is settled; ``blocked`` when refuse findings must stop settlement."""
    compiled = compiled_for(conn, library)
    findings = evaluate(case_from_db(conn, mdtrt_id, compiled), compiled)
    refusing = [f for f in findings if f.severity == "refuse"]
    enabled = blocking_enabled(compiled.library) if block is None else block
    return BlockDecision(bool(enabled and refusing), findings, refusing)


def raise_if_blocked(conn, mdtrt_id: str, **kwargs) -> BlockDecision:
    decision = settlement_check(conn, mdtrt_id, **kwargs)
    if decision.blocked:
        raise SettlementBlocked(decision)
    return decision
