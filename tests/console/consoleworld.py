"""Helpers of the console tests: a small synthetic region settled through the bulk channel and
posted to the fund ledger, users of every role, and a test client that logs in through the login
form (CSRF included)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from yibao.api import security
from yibao.storage import schema as s

PASSWORD = "console-pass-1"
USERS = {"admin": "admin", "jingban": "agent", "jianguan": "supervisor", "jijin": "fund"}
SECRET = "console-test-secret-0123456789abcdef"
PERSONS = 300
SEED = 7


def populate(engine, region: Path) -> None:
    """Load the region, settle its year through the bulk channel, post contributions and the ledger,
    and add one user per role."""
    from yibao.fund import api as fund_api
    from yibao.interface.bulk import BulkSettler
    from yibao.policy import PolicyLibrary
    from yibao.registry.store import import_policy
    from yibao.synth.claims import iter_claims
    from yibao.synth.load import load

    load(region, engine.url.render_as_string(hide_password=False), claims=False, replace=True)
    with engine.begin() as conn:
        for policy in PolicyLibrary.shipped().all():
            import_policy(conn, policy)
    report = BulkSettler(engine).settle(iter_claims(region))
    assert report.settled > 1000, report
    with engine.begin() as conn:
        fund_api.post_contributions(conn, 2024)
        fund_api.post(conn)
        for name, role in USERS.items():
            security.add_user(conn, name, PASSWORD, role)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


def client_for(app, username: str | None) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False)
    if username:
        page = client.get("/console/login")
        answer = client.post("/console/login", data={"username": username, "password": PASSWORD,
                                                     "csrf_token": csrf_of(page.text), "next": "/console/"},
                             follow_redirects=False)
        assert answer.status_code == 303, answer.text[:500]
    return client


def make_app(engine, data_dir: Path):
    from yibao.interface.server import create_app

    return create_app(engine, auth=False, data_dir=data_dir, api_secret=SECRET, audit=False)


def sample(engine) -> dict[str, str]:
    """An inpatient settlement paid by the basic fund, its person, certificate number and institution."""
    with engine.connect() as conn:
        t = s.settlements
        row = conn.execute(select(t.c.setl_id, t.c.psn_no, t.c.fixmedins_code).where(t.c.med_type == "21")
                           .where(t.c.refd_setl_flag == "0").where(t.c.hifp_pay > 0).order_by(t.c.setl_id).limit(1)).one()
        certno = conn.execute(select(s.persons.c.certno).where(s.persons.c.psn_no == row.psn_no)).scalar_one()
    return {"setl_id": row.setl_id, "psn_no": row.psn_no, "certno": certno, "fixmedins_code": row.fixmedins_code}


def add_finding(engine, *, setl: dict[str, str], status: str = "pending") -> int:
    """One audit finding on the sample settlement's first fee line, in the audit tables (made by
    yibao.console.findings.create_tables when the audit package has not made them)."""
    import datetime as dt
    import json

    from yibao.console import findings

    with engine.begin() as conn:
        findings.create_tables(conn)
        mdtrt = conn.execute(select(s.settlements.c.mdtrt_id).where(s.settlements.c.setl_id == setl["setl_id"])).scalar_one()
        line = conn.execute(select(s.fee_lines).where(s.fee_lines.c.mdtrt_id == mdtrt).order_by(s.fee_lines.c.feedetl_sn).limit(1)).one()
        n = conn.execute(select(findings.findings_t.c.finding_id).order_by(findings.findings_t.c.finding_id.desc()).limit(1)).scalar() or 0
        conn.execute(findings.findings_t.insert().values(
            finding_id=n + 1, rule_id=f"R-TEST-{n + 1}", rule_type="over_quantity_visit", subject=f"line:{mdtrt}:{line.feedetl_sn}",
            severity="refuse", mdtrt_id=mdtrt, feedetl_sn=line.feedetl_sn, psn_no=setl["psn_no"],
            fixmedins_code=setl["fixmedins_code"], med_list_codg=line.med_list_codg, event_date=dt.date(2024, 3, 1),
            amount=line.det_item_fee_sumamt, message="单次就诊收费数量超过上限：测试疑点",
            evidence=json.dumps({"上限": "1", "收费数量": str(line.cnt)}, ensure_ascii=False),
            lines=json.dumps([{"feedetl_sn": line.feedetl_sn, "role": "1"}]), status=status,
            first_run_id="AR-TEST", last_run_id="AR-TEST", found_at=dt.datetime(2024, 3, 2, 8, 0)))
    return n + 1
