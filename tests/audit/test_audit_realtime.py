"""Real-time (3101/3102) against batch on a whole synthetic region stored in the database, the 3101
output, the interface hook and the settlement block."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import select

from yibao.audit import batch, dbexport, knowledge, realtime, store
from yibao.audit.his import input_3101
from yibao.audit.types import RULE_TYPES
from yibao.storage import db
from yibao.storage import schema as s
from yibao.synth.load import load


@pytest.fixture(scope="module")
def stored(small_region, tmp_path_factory, library):
    """The region loaded into a SQLite database with its pharmacy stock and knowledge; batch findings from it."""
    url = f"sqlite:///{tmp_path_factory.mktemp('rt') / 'yibao.sqlite'}"
    load(small_region, url)
    engine = db.make_engine(url)
    with engine.begin() as conn:
        store.import_stock(conn, small_region)
        knowledge.import_tables(conn, library, small_region)
    out = tmp_path_factory.mktemp("export")
    dbexport.export(engine, out)
    with engine.connect() as conn:
        tables, notes = knowledge.resolve(library, conn=conn)
    assert not notes
    result = batch.run(out, library, tables)
    assert not result.errors
    realtime.clear_cache()
    yield engine, result.findings
    engine.dispose()


def test_realtime_equals_batch_on_every_encounter(stored, library):
    engine, batch_findings = stored
    expected: dict[str, set] = {}
    for f in batch_findings:
        if RULE_TYPES[f.rule_type].realtime:
            expected.setdefault(f.mdtrt_id, set()).add(f.comparable())
    got: dict[str, set] = {}
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(select(s.encounters.c.mdtrt_id))]
        for mdtrt_id in ids:
            for _psn, findings in realtime.findings_3101(input_3101(conn, mdtrt_id)["data"], conn, library=library):
                for f in findings:
                    assert f.mdtrt_id == mdtrt_id
                    got.setdefault(mdtrt_id, set()).add(f.comparable())
    assert len(ids) > 5000
    assert got == expected
    kinds = Counter(c[0] for v in got.values() for c in v)
    # the region exercises most real-time rules, not a handful
    assert len(kinds) >= 15, kinds


def test_3101_output_fields(stored, library):
    engine, batch_findings = stored
    f = next(x for x in sorted(batch_findings, key=lambda x: x.subject) if x.rule_type == "price_ceiling")
    with engine.connect() as conn:
        out = realtime.evaluate_3101(input_3101(conn, f.mdtrt_id), conn, library=library)
    rows = [r for r in out["result"] if r["rule_id"] == f.rule_id]
    assert len(rows) == 1
    row = rows[0]
    assert row["patn_id"] == f.psn_no and row["mdtrt_id"] == f.mdtrt_id
    assert row["vola_amt"] == Decimal(f.amount) / 100 and row["vola_amt_stas"] == "1"
    assert row["sev_deg"] == "1" and row["vola_bhvr_type"] == "2"  # 拒付 → 明确违规; a line → 项目类
    assert row["rule_name"] == "超限价收费" and "超过限价" in row["vola_cont"]
    assert row["vola_evid"].startswith("《医疗保障基金使用监督管理条例》")
    detail = row["judge_result_detail_dtos"][0]
    assert detail["rx_id"] == f.feedetl_sn and detail["vola_item_type"] == "1" and detail["vola_amt"] == row["vola_amt"]
    assert len(row["jr_id"]) <= 50 and row["jr_id"] != detail["jrd_id"]


def test_3101_limits_to_rule_ids_and_reads_admission_diagnoses(stored, library):
    engine, batch_findings = stored
    f = next(x for x in sorted(batch_findings, key=lambda x: x.subject) if x.rule_type == "indication")
    with engine.connect() as conn:
        inp = input_3101(conn, f.mdtrt_id)
        inp["data"]["rule_ids"] = ["QY-XJ-001"]
        assert all(r["rule_id"] == "QY-XJ-001" for r in realtime.evaluate_3101(inp, conn, library=library)["result"])
        inp = input_3101(conn, f.mdtrt_id)
        enc = inp["data"]["patient_dtos"][0]["fsi_encounter_dtos"][0]
        # 事前: only an admission diagnosis that is an indication of the drug — no longer off-indication
        drug = next(o for o in enc["fsi_order_dtos"] if o["rx_id"] == f.feedetl_sn)["hilist_code"]
        prefix = conn.execute(select(s.audit_knowledge_rows.c.data).where(
            s.audit_knowledge_rows.c.table_name == "kb_indication",
            s.audit_knowledge_rows.c.data.like(f'%"{drug}"%'))).first()
        import json

        code = json.loads(prefix.data)["icd10_prefix"] + ".900"
        enc["fsi_diagnose_dtos"] = [{"dise_id": "1", "inout_dise_type": "1", "maindise_flag": "1", "dias_srt_no": "1",
                                     "dise_codg": code, "dise_name": "", "dise_date": enc["adm_date"]}]
        rows = realtime.evaluate_3101(inp, conn, library=library)["result"]
        assert not [r for r in rows if r["rule_id"] == f.rule_id]


def test_3101_refuses_bad_input(stored, library):
    engine, _ = stored
    with engine.connect() as conn:
        with pytest.raises(realtime.AuditInputError, match="patient_dtos"):
            realtime.evaluate_3101({"data": {}}, conn, library=library)
        inp = input_3101(conn, conn.execute(select(s.encounters.c.mdtrt_id)).scalar())
        inp["data"]["patient_dtos"][0]["curr_mdtrt_id"] = "NOPE"
        with pytest.raises(realtime.AuditInputError, match="没有当前就诊 NOPE"):
            realtime.evaluate_3101(inp, conn, library=library)
        inp = input_3101(conn, conn.execute(select(s.encounters.c.mdtrt_id)).scalar())
        inp["data"]["patient_dtos"][0]["fsi_encounter_dtos"][0]["fsi_order_dtos"][0]["sumamt"] = "abc"
        with pytest.raises(realtime.AuditInputError, match="sumamt 应为数字"):
            realtime.evaluate_3101(inp, conn, library=library)


def test_auditor_hook(stored, library):
    engine, batch_findings = stored
    f = next(x for x in sorted(batch_findings, key=lambda x: x.subject) if x.rule_type == "split_admission")

    class Ctx:
        def __init__(self, conn):
            self.conn, self.fixmedins_code, self.infno = conn, f.fixmedins_code, "3102"

    with engine.connect() as conn:
        rows = realtime.AUDITOR("during", input_3101(conn, f.mdtrt_id)["data"], Ctx(conn))
    assert any(r["rule_id"] == f.rule_id and r["vola_bhvr_type"] == "1" for r in rows)


def test_3101_through_the_interface(stored, library):
    """The auditor registered with the interface's hook answers a hospital's 3101 through the platform."""
    from yibao.interface import Platform, prereview
    from yibao.interface.client import InProcess, InterfaceClient

    engine, batch_findings = stored
    f = next(x for x in sorted(batch_findings, key=lambda x: x.subject) if x.rule_type == "age")
    with engine.connect() as conn:
        payload = input_3101(conn, f.mdtrt_id)
    client = InterfaceClient(InProcess(Platform(engine)), f.fixmedins_code, mdtrtarea_admvs=f.fixmedins_code[1:7])
    assert realtime.register_auditor() is True
    try:
        assert realtime.AUDITOR.name in prereview.auditors()
        out = client.ok("3101", payload)
        bad = dict(payload)
        bad["data"] = {**payload["data"], "patient_dtos": [{**payload["data"]["patient_dtos"][0], "curr_mdtrt_id": "X"}]}
        refused = client.call("3101", bad)
    finally:
        realtime.unregister_auditor()
    assert realtime.AUDITOR.name not in prereview.auditors()
    rows = [r for r in out["result"] if r["rule_id"] == f.rule_id]
    assert rows and rows[0]["judge_result_detail_dtos"][0]["rx_id"] == f.feedetl_sn and "note" not in out
    assert rows[0]["vola_amt"] == Decimal(f.amount) / 100
    assert refused["infcode"] == -1 and "没有当前就诊 X" in refused["err_msg"]


def test_settlement_block(stored, library, monkeypatch):
    engine, batch_findings = stored
    refuse = next(x for x in sorted(batch_findings, key=lambda x: x.subject)
                  if x.severity == "refuse" and RULE_TYPES[x.rule_type].realtime)
    warn_only = {x.mdtrt_id for x in batch_findings if x.severity == "warn" and x.mdtrt_id} - \
        {x.mdtrt_id for x in batch_findings if x.severity == "refuse"}
    monkeypatch.delenv("YIBAO_AUDIT_BLOCK_REFUSE", raising=False)
    with engine.connect() as conn:
        assert library.block_settlement_on_refuse is False
        d = realtime.settlement_check(conn, refuse.mdtrt_id, library=library)
        assert not d.blocked and refuse.rule_id in {x.rule_id for x in d.refusing}
        monkeypatch.setenv("YIBAO_AUDIT_BLOCK_REFUSE", "1")
        with pytest.raises(realtime.SettlementBlocked, match="不予结算") as exc:
            realtime.raise_if_blocked(conn, refuse.mdtrt_id, library=library)
        assert exc.value.decision.refusing
        # warnings never block
        assert not realtime.settlement_check(conn, min(warn_only), library=library).blocked
        assert realtime.settlement_check(conn, refuse.mdtrt_id, block=False, library=library).blocked is False


def test_the_server_answers_3101_with_the_rule_library(stored, library):
    """`yibao serve` registers the audit engine: a hospital's 3101 over the app gets real findings."""
    from fastapi.testclient import TestClient

    from yibao.interface import prereview
    from yibao.interface.client import InterfaceClient
    from yibao.interface.server import create_app

    engine, batch_findings = stored
    f = next(x for x in sorted(batch_findings, key=lambda x: x.subject) if x.rule_type == "age")
    with engine.connect() as conn:
        payload = input_3101(conn, f.mdtrt_id)
    app = create_app(engine, auth=False, api=False, console=False)
    try:
        assert realtime.AUDITOR.name in prereview.auditors()

        class Transport:
            def __init__(self):
                self.http = TestClient(app)

            def send(self, envelope):
                import simplejson

                response = self.http.post("/fsi/api/callService", content=simplejson.dumps(envelope, use_decimal=True))
                return simplejson.loads(response.content, use_decimal=True)

        client = InterfaceClient(Transport(), f.fixmedins_code)
        out = client.ok("3101", payload)
    finally:
        realtime.unregister_auditor()
    assert any(r["rule_id"] == f.rule_id for r in out["result"]) and "note" not in out


def test_a_refuse_finding_blocks_2304_when_blocking_is_on(stored, library, monkeypatch):
    """With blocking switched on, the interface refuses to settle an encounter with a 拒付 finding."""
    from yibao.interface import Platform
    from yibao.interface.client import InProcess, InterfaceClient

    engine, batch_findings = stored
    with engine.connect() as conn:
        pharmacies = {r[0] for r in conn.execute(select(s.institutions.c.fixmedins_code).where(s.institutions.c.fixmedins_type == "2"))}
        refuse = next(x for x in sorted(batch_findings, key=lambda x: x.subject)
                      if x.severity == "refuse" and RULE_TYPES[x.rule_type].realtime and x.mdtrt_id
                      and x.fixmedins_code not in pharmacies)
        enc = conn.execute(select(s.encounters).where(s.encounters.c.mdtrt_id == refuse.mdtrt_id)).one()
        total = sum(r.det_item_fee_sumamt for r in conn.execute(
            select(s.fee_lines.c.det_item_fee_sumamt).where(s.fee_lines.c.mdtrt_id == refuse.mdtrt_id, s.fee_lines.c.status == "active")))
    client = InterfaceClient(InProcess(Platform(engine)), enc.fixmedins_code, clock=lambda: enc.endtime or enc.begntime)
    infno = "2304" if enc.visit_kind == "inpatient" else "2207"
    data = client.settle_data(enc.mdtrt_id, enc.psn_no, enc.insutype, f"{Decimal(total) / 100:.2f}")
    data["chrg_bchno"] = "0000"  # every unsettled line of the visit
    monkeypatch.setenv("YIBAO_AUDIT_BLOCK_REFUSE", "1")
    realtime.clear_cache()
    if infno == "2207":
        pre = client.ok("2206", {"data": data})["setlinfo"]
        for key in ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt"):
            data[key] = str(pre[key])
    blocked = client.call(infno, {"data": data})
    assert blocked["infcode"] == -1 and "不予结算" in blocked["err_msg"], blocked
    with engine.connect() as conn:
        assert conn.execute(select(s.settlements.c.setl_id).where(s.settlements.c.mdtrt_id == refuse.mdtrt_id)).first() is None
    monkeypatch.delenv("YIBAO_AUDIT_BLOCK_REFUSE")  # the library's default: refuse findings do not block
    realtime.clear_cache()
    assert client.call(infno, {"data": data})["infcode"] == 0
