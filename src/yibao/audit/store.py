"""Findings in the database, their review, runs, the imported rule library and pharmacy stock.

Review workflow: a finding is 待核实 (``pending``) when found; a reviewer confirms it (确认,
``confirmed``) or excludes it (排除, ``excluded``), always with a reason; every action is kept in
``audit_reviews`` with the reviewer and the time. A confirmed or excluded finding can be reopened
(``reopen``) with a reason. Re-running the audit never changes a review: a finding found again
only gets its ``last_run_id`` (and amount/evidence) updated; cases, recoveries and credit scoring
read confirmed findings.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import and_, func, select, update
from sqlalchemy.engine import Connection

from yibao.storage import schema as s
from yibao.storage.bulk import insert_rows

from .findings import Finding
from .library import Library, parse_library

STATUS_NAMES = {"pending": "待核实", "confirmed": "确认", "excluded": "排除"}
ACTIONS = {"confirm": ("pending", "confirmed"), "exclude": ("pending", "excluded")}


class ReviewError(ValueError):
    pass


def now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


# ── rule library ──────────────────────────────────────────────────────────────────────────────

def import_rule_set(conn: Connection, text: str, source: str) -> Library:
    """Check a library file and make it the active one (the previous stays on file, inactive)."""
    library = parse_library(text, source)
    set_id = f"{library.library_id}@{library.version}"[:64]
    conn.execute(update(s.audit_rule_sets).values(active=False))
    existing = conn.execute(select(s.audit_rule_sets.c.set_id).where(s.audit_rule_sets.c.set_id == set_id)).first()
    values = dict(library_id=library.library_id, name=library.name, version=library.version, source=source,
                  sha256=library.sha256, document=text, active=True, imported_at=now())
    if existing:
        conn.execute(update(s.audit_rule_sets).where(s.audit_rule_sets.c.set_id == set_id).values(**values))
    else:
        conn.execute(s.audit_rule_sets.insert().values(set_id=set_id, **values))
    return library


def active_rule_set_text(conn: Connection) -> tuple[str, str] | None:
    row = conn.execute(select(s.audit_rule_sets.c.document, s.audit_rule_sets.c.set_id)
                       .where(s.audit_rule_sets.c.active.is_(True))).first()
    return (row.document, f"数据库规则库 {row.set_id}") if row else None


# ── runs and findings ─────────────────────────────────────────────────────────────────────────

def start_run(conn: Connection, engine: str, source: str, library: Library) -> str:
    run_id = "AR" + dt.datetime.now().strftime("%Y%m%d%H%M%S") + uuid.uuid4().hex[:6]
    conn.execute(s.audit_runs.insert().values(run_id=run_id, engine=engine, source=source[:500],
                                              library_sha256=library.sha256, rule_count=len(library.enabled_rules()),
                                              started_at=now(), findings=0, new_findings=0, status="running"))
    return run_id


def _row(f: Finding, run_id: str, at: dt.datetime) -> dict:
    return dict(rule_id=f.rule_id, rule_type=f.rule_type, subject=f.subject, severity=f.severity, mdtrt_id=f.mdtrt_id,
                feedetl_sn=f.feedetl_sn, psn_no=f.psn_no, fixmedins_code=f.fixmedins_code,
                med_list_codg=f.med_list_codg, event_date=f.event_date, amount=f.amount, message=f.message[:1000],
                evidence=json.dumps(f.evidence, ensure_ascii=False, sort_keys=True),
                lines=json.dumps(f.lines(), ensure_ascii=False), status="pending", first_run_id=run_id,
                last_run_id=run_id, found_at=at)


def save_findings(conn: Connection, run_id: str, findings: Iterable[Finding], *, chunk: int = 5000) -> tuple[int, int]:
    """Upsert by (rule_id, subject); returns (findings, new findings). Reviews are kept."""
    at = now()
    total = new = 0
    batch: list[Finding] = []

    def flush() -> None:
        nonlocal new
        if not batch:
            return
        keys = {(f.rule_id, f.subject) for f in batch}
        rule_ids = sorted({k[0] for k in keys})
        known: dict[tuple[str, str], int] = {}
        for rid in rule_ids:
            subjects = [k[1] for k in keys if k[0] == rid]
            for i in range(0, len(subjects), 900):
                part = subjects[i:i + 900]
                for r in conn.execute(select(s.audit_findings.c.finding_id, s.audit_findings.c.subject)
                                      .where(s.audit_findings.c.rule_id == rid, s.audit_findings.c.subject.in_(part))):
                    known[(rid, r.subject)] = r.finding_id
        fresh = [_row(f, run_id, at) for f in batch if (f.rule_id, f.subject) not in known]
        insert_rows(conn, s.audit_findings, fresh)
        new += len(fresh)
        again = [dict(k_id=known[(f.rule_id, f.subject)], last_run_id=run_id, amount=f.amount, message=f.message[:1000],
                      evidence=json.dumps(f.evidence, ensure_ascii=False, sort_keys=True))
                 for f in batch if (f.rule_id, f.subject) in known]
        if again:
            from sqlalchemy import bindparam

            conn.execute(update(s.audit_findings).where(s.audit_findings.c.finding_id == bindparam("k_id"))
                         .values(last_run_id=bindparam("last_run_id"), amount=bindparam("amount"),
                                 message=bindparam("message"), evidence=bindparam("evidence")), again)
        batch.clear()

    for f in findings:
        batch.append(f)
        total += 1
        if len(batch) >= chunk:
            flush()
    flush()
    return total, new


def finish_run(conn: Connection, run_id: str, findings: int, new: int, status: str = "done") -> None:
    conn.execute(update(s.audit_runs).where(s.audit_runs.c.run_id == run_id)
                 .values(finished_at=now(), findings=findings, new_findings=new, status=status))


@dataclass
class FindingRow:
    finding_id: int
    rule_id: str
    rule_type: str
    severity: str
    status: str
    mdtrt_id: str | None
    feedetl_sn: str | None
    fixmedins_code: str | None
    amount: int
    message: str
    evidence: dict
    reviewer: str | None
    review_reason: str | None
    reviewed_at: dt.datetime | None


def _finding_row(r) -> FindingRow:
    return FindingRow(r.finding_id, r.rule_id, r.rule_type, r.severity, r.status, r.mdtrt_id, r.feedetl_sn,
                      r.fixmedins_code, r.amount, r.message, json.loads(r.evidence), r.reviewer, r.review_reason,
                      r.reviewed_at)


def list_findings(conn: Connection, *, rule: str | None = None, status: str | None = None,
                  mdtrt_id: str | None = None, fixmedins_code: str | None = None, limit: int = 50,
                  offset: int = 0) -> tuple[list[FindingRow], int, int]:
    """Findings (newest rules first by id), the count matching and their total amount in fen."""
    f = s.audit_findings
    cond = []
    if rule:
        cond.append((f.c.rule_id == rule) | (f.c.rule_type == rule))
    if status:
        cond.append(f.c.status == status)
    if mdtrt_id:
        cond.append(f.c.mdtrt_id == mdtrt_id)
    if fixmedins_code:
        cond.append(f.c.fixmedins_code == fixmedins_code)
    where = and_(*cond) if cond else None
    q = select(f).order_by(f.c.finding_id).limit(limit).offset(offset)
    c = select(func.count(), func.coalesce(func.sum(f.c.amount), 0)).select_from(f)
    if where is not None:
        q, c = q.where(where), c.where(where)
    n, amount = conn.execute(c).one()
    return [_finding_row(r) for r in conn.execute(q)], int(n), int(amount)


def get_finding(conn: Connection, finding_id: int) -> FindingRow:
    r = conn.execute(select(s.audit_findings).where(s.audit_findings.c.finding_id == finding_id)).first()
    if r is None:
        raise ReviewError(f"没有编号为 {finding_id} 的审核结果")
    return _finding_row(r)


def review(conn: Connection, finding_id: int, action: str, reviewer: str, reason: str) -> FindingRow:
    """confirm (确认) or exclude (排除) a pending finding, or reopen (重新核实) a reviewed one."""
    if not reviewer or not reviewer.strip():
        raise ReviewError("须填写核实人")
    if not reason or not reason.strip():
        raise ReviewError("须填写核实理由")
    current = get_finding(conn, finding_id)
    if action == "reopen":
        if current.status == "pending":
            raise ReviewError(f"审核结果 {finding_id} 尚待核实，无需重新核实")
        target = "pending"
    elif action in ACTIONS:
        expected, target = ACTIONS[action]
        if current.status != expected:
            raise ReviewError(f"审核结果 {finding_id} 当前为{STATUS_NAMES[current.status]}，只有待核实的结果可以"
                              f"{'确认' if action == 'confirm' else '排除'}（可先重新核实）")
    else:
        raise ReviewError(f"未知的核实操作 {action}")
    at = now()
    conn.execute(update(s.audit_findings).where(s.audit_findings.c.finding_id == finding_id).values(
        status=target, reviewer=reviewer.strip() if target != "pending" else None,
        review_reason=reason.strip() if target != "pending" else None, reviewed_at=at if target != "pending" else None))
    conn.execute(s.audit_reviews.insert().values(finding_id=finding_id, action=action, from_status=current.status,
                                                 to_status=target, reviewer=reviewer.strip(), reason=reason.strip(), at=at))
    return get_finding(conn, finding_id)


def review_history(conn: Connection, finding_id: int) -> list[dict]:
    return [dict(r._mapping) for r in conn.execute(
        select(s.audit_reviews).where(s.audit_reviews.c.finding_id == finding_id).order_by(s.audit_reviews.c.review_id))]


# ── pharmacy stock ────────────────────────────────────────────────────────────────────────────

def import_stock(conn: Connection, folder: Path, *, batch: int = 20_000) -> dict[str, int]:
    """Import pharmacy sales (with traceability codes) and purchases (进销存) from ``sales.parquet`` and
    ``purchases.parquet`` in ``folder``, replacing what was imported before."""
    import pyarrow.parquet as pq

    counts = {"sales": 0, "purchases": 0, "trace_codes": 0}
    sales_path, purc_path = folder / "sales.parquet", folder / "purchases.parquet"
    if not sales_path.exists() and not purc_path.exists():
        raise FileNotFoundError(f"{folder} 中没有 sales.parquet 或 purchases.parquet")
    if sales_path.exists():
        conn.execute(s.audit_drug_sales.delete())
        conn.execute(s.audit_trace_codes.delete())
        pf = pq.ParquetFile(sales_path)
        cols = ["fixmedins_code", "med_list_codg", "sel_time", "cnt", "pric", "mdtrt_id", "feedetl_sn", "psn_no",
                "drug_trac_codg"]
        for rb in pf.iter_batches(batch_size=batch, columns=[c for c in cols if c in pf.schema_arrow.names]):
            rows = rb.to_pylist()
            insert_rows(conn, s.audit_drug_sales, [{k: r.get(k) for k in cols[:-1]} for r in rows])
            codes = {}
            for r in rows:
                for code in (r.get("drug_trac_codg") or "").split(","):
                    if code and r.get("mdtrt_id"):
                        codes[(code, r["mdtrt_id"], r["feedetl_sn"])] = {
                            "drug_trac_codg": code, "mdtrt_id": r["mdtrt_id"], "feedetl_sn": r["feedetl_sn"],
                            "fee_ocur_time": r["sel_time"], "fixmedins_code": r["fixmedins_code"],
                            "med_list_codg": r["med_list_codg"]}
            insert_rows(conn, s.audit_trace_codes, list(codes.values()))
            counts["sales"] += len(rows)
            counts["trace_codes"] += len(codes)
    if purc_path.exists():
        conn.execute(s.audit_drug_purchases.delete())
        pf = pq.ParquetFile(purc_path)
        for rb in pf.iter_batches(batch_size=batch, columns=["fixmedins_code", "med_list_codg", "purc_date", "purc_type",
                                                             "purc_cnt", "purc_pric"]):
            rows = rb.to_pylist()
            insert_rows(conn, s.audit_drug_purchases, rows)
            counts["purchases"] += len(rows)
    return counts
