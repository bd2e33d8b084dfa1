"""Findings in the database (SQLite and PostgreSQL): saving, re-running, and the review workflow."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from yibao.audit import store
from yibao.audit.findings import Finding
from yibao.storage import schema as s


def _finding(sn: str, amount: int = 1234, rule: str = "QY-XB-001") -> Finding:
    return Finding(rule_id=rule, rule_type="gender", rule_name="限性别项目用于不符合性别的患者", severity="refuse",
                   sev_deg="1", bhvr_type="2", subject=f"line:M1:{sn}", mdtrt_id="M1", feedetl_sn=sn, psn_no="P1",
                   fixmedins_code="H1", med_list_codg="X1", event_date=dt.date(2024, 3, 1), amount=amount,
                   evidence={"allowed_gend": "1", "psn_gend": "2"}, message="限性别项目用于不符合性别的患者：…")


def test_save_rerun_keeps_review(engine, library):
    with engine.begin() as conn:
        run1 = store.start_run(conn, "duckdb", "test", library)
        assert store.save_findings(conn, run1, [_finding("1"), _finding("2", 500)]) == (2, 2)
        store.finish_run(conn, run1, 2, 2)
        rows, n, amount = store.list_findings(conn)
        assert n == 2 and amount == 1734
        first = rows[0]
        assert first.status == "pending" and first.evidence == {"allowed_gend": "1", "psn_gend": "2"}
        store.review(conn, first.finding_id, "confirm", "张三", "病历核实：患者为女性")
    with engine.begin() as conn:
        run2 = store.start_run(conn, "spark", "test", library)
        # found again (amount corrected) plus one new
        assert store.save_findings(conn, run2, [_finding("1", 1300), _finding("3")]) == (2, 1)
        row = store.get_finding(conn, first.finding_id)
        assert row.status == "confirmed" and row.reviewer == "张三" and row.amount == 1300
        raw = conn.execute(select(s.audit_findings).where(s.audit_findings.c.finding_id == first.finding_id)).one()
        assert raw.first_run_id == run1 and raw.last_run_id == run2
        assert json.loads(raw.lines) == [{"feedetl_sn": "1", "role": "1"}]
        run = conn.execute(select(s.audit_runs).where(s.audit_runs.c.run_id == run1)).one()
        assert run.status == "done" and run.findings == 2 and run.engine == "duckdb"
        assert store.list_findings(conn, status="confirmed")[1] == 1
        assert store.list_findings(conn, status="pending")[1] == 2
        assert store.list_findings(conn, rule="gender")[1] == 3


def test_review_workflow(engine, library):
    with engine.begin() as conn:
        run = store.start_run(conn, "duckdb", "test", library)
        store.save_findings(conn, run, [_finding("1"), _finding("2")])
        a, b = (r.finding_id for r in store.list_findings(conn)[0])
        with pytest.raises(store.ReviewError, match="须填写核实理由"):
            store.review(conn, a, "confirm", "张三", "  ")
        with pytest.raises(store.ReviewError, match="须填写核实人"):
            store.review(conn, a, "confirm", "", "理由")
        with pytest.raises(store.ReviewError, match="尚待核实"):
            store.review(conn, a, "reopen", "张三", "理由")
        ex = store.review(conn, b, "exclude", "李四", "系统误报：性别登记错误已更正")
        assert ex.status == "excluded" and ex.reviewer == "李四" and ex.reviewed_at is not None
        with pytest.raises(store.ReviewError, match="当前为排除"):
            store.review(conn, b, "confirm", "张三", "改判")
        back = store.review(conn, b, "reopen", "王五", "复核：更正记录不实")
        assert back.status == "pending" and back.reviewer is None
        done = store.review(conn, b, "confirm", "王五", "复核确认")
        assert done.status == "confirmed"
        history = store.review_history(conn, b)
        assert [(h["action"], h["from_status"], h["to_status"], h["reviewer"]) for h in history] == [
            ("exclude", "pending", "excluded", "李四"), ("reopen", "excluded", "pending", "王五"),
            ("confirm", "pending", "confirmed", "王五")]
        with pytest.raises(store.ReviewError, match="没有编号为 999999"):
            store.review(conn, 999999, "confirm", "张三", "理由")
        with pytest.raises(store.ReviewError, match="未知的核实操作"):
            store.review(conn, a, "approve", "张三", "理由")


def test_rule_set_import_activates(engine, library):
    from yibao.audit.library import SHIPPED_LIBRARY, active_library

    text = SHIPPED_LIBRARY.read_text(encoding="utf-8")
    changed = text.replace("block_settlement_on_refuse: false", "block_settlement_on_refuse: true").replace(
        'version: "2024.1"', 'version: "2024.2"')
    with engine.begin() as conn:
        store.import_rule_set(conn, text, "a.yaml")
        store.import_rule_set(conn, changed, "b.yaml")
        lib = active_library(conn)
        assert lib.version == "2024.2" and lib.block_settlement_on_refuse is True
        assert conn.execute(select(s.audit_rule_sets.c.active).where(s.audit_rule_sets.c.version == "2024.1")).scalar() is False
