"""The audit findings the console shows and reviews — a small interface over the audit tables.

The console reads ``audit_findings`` and ``audit_reviews`` (written by ``yibao audit run`` and
``yibao audit review``, branch/package ``yibao.audit``) when they exist, and says plainly that no
audit has run when they do not. The interface:

- ``available(conn)`` → ``{"tables": bool, "findings": int, "runs": [...], "why": str}``;
- ``list_findings(conn, rule_type=, severity=, fixmedins_code=, status=, limit=, offset=)`` →
  ``{"rows", "total", "amount" (fen), "available"}``;
- ``get_finding(conn, finding_id)`` → the finding with its evidence, its fee lines and its
  review history, or ``None``;
- ``review(conn, finding_id, decision, reason, reviewer)`` with decision ``confirm`` (确认),
  ``exclude`` (排除) or ``reopen`` (重新核实): 待核实 → 确认/排除 with a reason, kept in
  ``audit_reviews``. When ``yibao.audit.store`` is installed its ``review`` does the write (so the
  audit package's own rules apply); otherwise the same workflow is applied here.

Table layout: ``audit_findings(finding_id, rule_id, rule_type, subject, severity refuse|warn,
mdtrt_id, feedetl_sn, psn_no, fixmedins_code, med_list_codg, event_date, amount (fen), message,
evidence (JSON), lines (JSON [{feedetl_sn, role}]), status pending|confirmed|excluded, reviewer,
review_reason, reviewed_at, …)`` and ``audit_reviews(review_id, finding_id, action, from_status,
to_status, reviewer, reason, at)``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import (BigInteger, Column, Date, DateTime, Integer, MetaData, String, Table, Text, func, inspect,
                        select, update)
from sqlalchemy.engine import Connection

from yibao.storage import schema as s

STATUS_NAMES = {"pending": "待核实", "confirmed": "确认", "excluded": "排除"}
SEVERITY_NAMES = {"refuse": "拒付", "warn": "警示"}
DECISIONS = {"confirm": ("pending", "confirmed", "确认"), "exclude": ("pending", "excluded", "排除"),
             "reopen": (None, "pending", "重新核实")}
HOW_TO_RUN = "yibao audit run --database-url …（或由管理员安排每日审核任务）"

# The columns the console reads; a MetaData of its own, so that it never clashes with the audit
# package's definitions in yibao.storage.schema once that lands.
_md = MetaData()
findings_t = Table(
    "audit_findings", _md,
    Column("finding_id", Integer, primary_key=True), Column("rule_id", String(64)), Column("rule_type", String(40)),
    Column("subject", String(200)), Column("severity", String(12)), Column("mdtrt_id", String(30)),
    Column("feedetl_sn", String(30)), Column("psn_no", String(30)), Column("fixmedins_code", String(30)),
    Column("med_list_codg", String(50)), Column("event_date", Date), Column("amount", BigInteger),
    Column("message", String(1000)), Column("evidence", Text), Column("lines", Text), Column("status", String(12)),
    Column("reviewer", String(50)), Column("review_reason", String(1000)), Column("reviewed_at", DateTime),
    Column("first_run_id", String(40)), Column("last_run_id", String(40)), Column("found_at", DateTime),
)
reviews_t = Table(
    "audit_reviews", _md,
    Column("review_id", Integer, primary_key=True, autoincrement=True), Column("finding_id", Integer),
    Column("action", String(12)), Column("from_status", String(12)), Column("to_status", String(12)),
    Column("reviewer", String(50)), Column("reason", String(1000)), Column("at", DateTime),
)
runs_t = Table(
    "audit_runs", _md,
    Column("run_id", String(40), primary_key=True), Column("engine", String(12)), Column("started_at", DateTime),
    Column("finished_at", DateTime), Column("findings", Integer), Column("new_findings", Integer), Column("status", String(12)),
)


class ReviewError(ValueError):
    """A review that cannot be made; the message says why and what to do."""


def _has(conn: Connection, name: str) -> bool:
    return inspect(conn).has_table(name)


def rule_type_names() -> dict[str, str]:
    try:  # the audit package's Chinese names of its rule types, when it is installed
        from yibao.audit.types import RULE_TYPES  # type: ignore[import-not-found]

        return {k: v.name for k, v in RULE_TYPES.items()}
    except Exception:  # noqa: BLE001 - not installed (yet)
        return {}


def available(conn: Connection) -> dict[str, Any]:
    if not _has(conn, "audit_findings"):
        return {"tables": False, "findings": 0, "runs": [],
                "why": "尚未运行智能审核：数据库中还没有审核结果表（智能审核模块尚未安装或未升级数据库）。"}
    n = conn.execute(select(func.count()).select_from(findings_t)).scalar_one()
    runs = []
    if _has(conn, "audit_runs"):
        runs = [dict(r._mapping) for r in conn.execute(select(runs_t).order_by(runs_t.c.started_at.desc()).limit(5))]
    why = "" if n else ("智能审核已运行，没有发现疑点。" if runs else "尚未运行智能审核：审核结果表是空的。")
    return {"tables": True, "findings": n, "runs": runs, "why": why}


def list_findings(conn: Connection, *, rule_type: str = "", severity: str = "", fixmedins_code: str = "",
                  status: str = "", limit: int = 20, offset: int = 0) -> dict[str, Any]:
    if not _has(conn, "audit_findings"):
        return {"rows": [], "total": 0, "amount": 0, "available": False}
    f = findings_t
    cond = []
    if rule_type:
        cond.append((f.c.rule_type == rule_type) | (f.c.rule_id == rule_type))
    if severity:
        cond.append(f.c.severity == severity)
    if fixmedins_code:
        cond.append(f.c.fixmedins_code == fixmedins_code)
    if status:
        cond.append(f.c.status == status)
    cols = [c for c in f.c if c.name not in ("evidence", "lines")]
    q = select(*cols).order_by(f.c.amount.desc(), f.c.finding_id).limit(limit + 1).offset(offset)
    c = select(func.count(), func.coalesce(func.sum(f.c.amount), 0)).select_from(f)
    for cnd in cond:
        q, c = q.where(cnd), c.where(cnd)
    rows = [dict(r._mapping) for r in conn.execute(q)]
    total, amount = conn.execute(c).one()
    return {"rows": rows[:limit], "more": len(rows) > limit, "total": int(total), "amount": int(amount), "available": True}


def facets(conn: Connection) -> dict[str, list[Any]]:
    """Values for the filter menus: rule types and institutions that have findings."""
    if not _has(conn, "audit_findings"):
        return {"rule_types": [], "institutions": []}
    f = findings_t
    types = [r[0] for r in conn.execute(select(f.c.rule_type).distinct().order_by(f.c.rule_type))]
    codes = [r[0] for r in conn.execute(select(f.c.fixmedins_code).where(f.c.fixmedins_code.is_not(None)).distinct())]
    names = dict(conn.execute(select(s.institutions.c.fixmedins_code, s.institutions.c.fixmedins_name)
                              .where(s.institutions.c.fixmedins_code.in_(codes))).all()) if codes else {}
    return {"rule_types": types, "institutions": sorted(((c, names.get(c, "")) for c in codes), key=lambda x: x[0])}


def get_finding(conn: Connection, finding_id: int) -> dict[str, Any] | None:
    if not _has(conn, "audit_findings"):
        return None
    row = conn.execute(select(findings_t).where(findings_t.c.finding_id == finding_id)).first()
    if row is None:
        return None
    out = dict(row._mapping)
    try:
        out["evidence"] = json.loads(out["evidence"] or "{}")
    except ValueError:
        out["evidence"] = {"原始证据": out["evidence"]}
    try:
        roles = json.loads(out["lines"] or "[]")
    except ValueError:
        roles = []
    sns = [str(x.get("feedetl_sn")) for x in roles if isinstance(x, dict) and x.get("feedetl_sn")]
    if out.get("feedetl_sn") and out["feedetl_sn"] not in sns:
        sns.insert(0, out["feedetl_sn"])
    lines = []
    if out.get("mdtrt_id") and sns:
        fl = s.fee_lines
        by_sn = {r.feedetl_sn: dict(r._mapping) for r in conn.execute(
            select(fl).where(fl.c.mdtrt_id == out["mdtrt_id"]).where(fl.c.feedetl_sn.in_(sns)))}
        codes = sorted({r["med_list_codg"] for r in by_sn.values()})
        names = dict(conn.execute(select(s.catalogue.c.med_list_codg, s.catalogue.c.name)
                                  .where(s.catalogue.c.med_list_codg.in_(codes))).all()) if codes else {}
        role_of = {str(x.get("feedetl_sn")): x.get("role", "") for x in roles if isinstance(x, dict)}
        for sn in sns:
            if sn in by_sn:
                line = by_sn[sn]
                line["name"] = names.get(line["med_list_codg"], "")
                line["role"] = {"1": "违规明细", "2": "关联明细"}.get(str(role_of.get(sn, "1")), str(role_of.get(sn, "")))
                lines.append(line)
    out["fee_lines"] = lines
    out["history"] = [dict(r._mapping) for r in conn.execute(
        select(reviews_t).where(reviews_t.c.finding_id == finding_id).order_by(reviews_t.c.review_id))] \
        if _has(conn, "audit_reviews") else []
    if out.get("mdtrt_id"):
        setl = conn.execute(select(s.settlements.c.setl_id).where(s.settlements.c.mdtrt_id == out["mdtrt_id"])
                            .where(s.settlements.c.refd_setl_flag == "0").order_by(s.settlements.c.setl_time)).first()
        out["setl_id"] = setl.setl_id if setl else None
    inst = conn.execute(select(s.institutions.c.fixmedins_name).where(s.institutions.c.fixmedins_code == out.get("fixmedins_code"))).first()
    out["fixmedins_name"] = inst.fixmedins_name if inst else ""
    psn = conn.execute(select(s.persons.c.psn_name).where(s.persons.c.psn_no == out.get("psn_no"))).first()
    out["psn_name"] = psn.psn_name if psn else ""
    out["rule_name"] = rule_type_names().get(out["rule_type"], "")
    return out


def review(conn: Connection, finding_id: int, decision: str, reason: str, reviewer: str) -> dict[str, Any]:
    """Confirm (确认) or exclude (排除) a pending finding, or reopen a reviewed one; always with a reason."""
    reason = (reason or "").strip()
    if decision not in DECISIONS:
        raise ReviewError("请选择核实结论：确认违规，或排除（不违规）")
    if not reason:
        raise ReviewError("请填写核实理由（例如核对了哪些病历、票据或说明），再提交")
    if len(reason) > 1000:
        raise ReviewError("核实理由不能超过 1000 个字符，请精简后再提交")
    if not _has(conn, "audit_findings"):
        raise ReviewError("尚未运行智能审核，没有可核实的审核结果")
    try:
        from yibao.audit import store as audit_store  # type: ignore[import-not-found]
    except Exception:  # noqa: BLE001 - the audit package is not installed: apply the same workflow here
        audit_store = None
    if audit_store is not None:
        try:
            audit_store.review(conn, finding_id, decision, reviewer, reason)
        except audit_store.ReviewError as exc:
            raise ReviewError(str(exc)) from None
        return get_finding(conn, finding_id) or {}
    current = conn.execute(select(findings_t.c.status).where(findings_t.c.finding_id == finding_id)).first()
    if current is None:
        raise ReviewError(f"没有编号为 {finding_id} 的审核结果")
    expected, target, name = DECISIONS[decision]
    if expected is not None and current.status != expected:
        raise ReviewError(f"该审核结果当前为“{STATUS_NAMES.get(current.status, current.status)}”，只有待核实的结果可以{name}；"
                          "如需改判，请先“重新核实”")
    if decision == "reopen" and current.status == "pending":
        raise ReviewError("该审核结果尚待核实，无需重新核实")
    at = dt.datetime.now().replace(microsecond=0)
    done = target != "pending"
    conn.execute(update(findings_t).where(findings_t.c.finding_id == finding_id).values(
        status=target, reviewer=reviewer if done else None, review_reason=reason if done else None, reviewed_at=at if done else None))
    conn.execute(reviews_t.insert().values(finding_id=finding_id, action=decision, from_status=current.status, to_status=target,
                                           reviewer=reviewer, reason=reason, at=at))
    return get_finding(conn, finding_id) or {}


def for_encounter(conn: Connection, mdtrt_id: str) -> list[dict[str, Any]]:
    if not _has(conn, "audit_findings"):
        return []
    f = findings_t
    return [dict(r._mapping) for r in conn.execute(
        select(f.c.finding_id, f.c.rule_type, f.c.severity, f.c.amount, f.c.message, f.c.status)
        .where(f.c.mdtrt_id == mdtrt_id).order_by(f.c.finding_id))]


def for_institution(conn: Connection, code: str) -> dict[str, Any]:
    if not _has(conn, "audit_findings"):
        return {"available": False, "by_status": {}, "recent": []}
    f = findings_t
    by_status = {r[0]: (int(r[1]), int(r[2] or 0)) for r in conn.execute(
        select(f.c.status, func.count(), func.sum(f.c.amount)).where(f.c.fixmedins_code == code).group_by(f.c.status))}
    recent = [dict(r._mapping) for r in conn.execute(
        select(f.c.finding_id, f.c.rule_type, f.c.severity, f.c.amount, f.c.message, f.c.status, f.c.event_date)
        .where(f.c.fixmedins_code == code).order_by(f.c.amount.desc()).limit(10))]
    return {"available": True, "by_status": by_status, "recent": recent}


def create_tables(conn: Connection) -> None:
    """Create the audit tables this module reads (for tests and a bureau trying the console before
    the audit package is installed). Never drops or alters existing tables."""
    _md.create_all(conn, checkfirst=True)
