"""The bulk channel books exactly what the per-request interface books."""

import datetime as dt
import sys
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "settlement"))

from workload import build  # noqa: E402

from yibao.interface import Platform
from yibao.interface.bulk import BulkEncounter, BulkSettler
from yibao.interface.client import InProcess, InterfaceClient
from yibao.registry import store
from yibao.storage import db
from yibao.storage import schema as s

MONEY = ("medfee_sumamt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "hifmi_pay", "hifob_pay", "cvlserv_pay",
         "maf_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay", "balc")


def load(engine, work):
    with engine.begin() as conn:
        store.upsert_catalogue(conn, work.catalogue)
        store.upsert_institutions(conn, work.institutions)
        store.upsert_persons(conn, [
            store.PersonRecord(p["psn_no"], p["certno"], p["psn_name"], p["gend"], p["brdy"], p["insutype"], p["psn_type"],
                               p["insu_admdvs"], p["assistance"], p["cvlserv"], p["acct_balc"])
            for p in work.persons
        ])


def encounters(work):
    persons = {p["psn_no"]: p for p in work.persons}
    for n, c in enumerate(work.claims):
        when = dt.datetime.combine(c["date"], dt.time(10, 0))
        yield BulkEncounter(
            psn_no=c["psn_no"], fixmedins_code=c["fixmedins_code"], insutype=persons[c["psn_no"]]["insutype"], med_type="21",
            begntime=when - dt.timedelta(days=3), endtime=when, ipt_otp_no=f"B{n}", acct_used=n % 3 == 0,
            lines=[(str(i), code, pric, cnt) for i, (code, pric, cnt) in enumerate(c["lines"], start=1)],
        )


def books(engine):
    with engine.connect() as conn:
        settlements = [tuple(getattr(r, k) for k in MONEY) for r in conn.execute(select(s.settlements).order_by(s.settlements.c.setl_time, s.settlements.c.medfee_sumamt))]
        accumulators = sorted((r.psn_no, r.year, r.layer, r.base, r.paid, r.count) for r in conn.execute(select(s.accumulators)) if (r.paid, r.count, r.base) != (0, 0, "0"))
        balances = sorted((r.psn_no, r.acct_balc) for r in conn.execute(select(s.insurance)))
    return settlements, accumulators, balances


def test_bulk_equals_per_request(engine, tmp_path):
    work = build(n_claims=400, n_persons=60, seed=11)
    load(engine, work)
    report = BulkSettler(engine).settle(encounters(work), chunk=97)
    assert report.settled + len(report.refused) == 400 and report.settled > 350
    bulk = books(engine)

    other = db.make_engine(f"sqlite:///{tmp_path / 'per-request.sqlite'}")
    db.create_all(other)
    load(other, work)
    platform = Platform(other)
    refused = set(report.refused and [r[0] for r in report.refused])
    for enc in encounters(work):
        client = InterfaceClient(InProcess(platform), enc.fixmedins_code, clock=lambda when=enc.endtime: when)
        mdtrt_id = client.admit(psn_no=enc.psn_no, insutype=enc.insutype, med_type="21", begntime=str(enc.begntime), ipt_no=enc.ipt_otp_no)
        out = client.ok("2301", {"feedetail": client.fee_lines(mdtrt_id, enc.psn_no, [line[1:] for line in enc.lines])})
        total = sum(r["det_item_fee_sumamt"] for r in out["result"])
        answer = client.call("2304", {"data": client.settle_data(mdtrt_id, enc.psn_no, enc.insutype, str(total), acct_used=enc.acct_used)})
        assert (answer["infcode"] == 0) == (enc.ipt_otp_no not in refused), answer["err_msg"]
    assert books(other) == bulk


def test_bulk_does_not_settle_twice(engine):
    work = build(n_claims=50, n_persons=20, seed=3)
    load(engine, work)
    first = BulkSettler(engine).settle(encounters(work))
    before = books(engine)
    second = BulkSettler(engine).settle(encounters(work))
    assert second.settled == 0 and second.skipped == first.settled + len(first.refused)
    assert books(engine) == before


def test_bulk_refuses_bad_encounters_and_keeps_the_rest(engine):
    work = build(n_claims=10, n_persons=5, seed=5)
    load(engine, work)
    items = list(encounters(work))
    items[3].psn_no = "NOBODY"
    items[5].lines.append(("99", "XB000001", "-5", "1"))
    report = BulkSettler(engine).settle(items)
    assert report.settled == 8
    reasons = dict(report.refused)
    assert "未知的人员编号" in reasons["B3"] and "单价不能为负数" in reasons["B5"]
    with engine.connect() as conn:
        stored = {r.ipt_otp_no for r in conn.execute(select(s.encounters.c.ipt_otp_no))}
    assert "B3" not in stored and "B5" not in stored and len(stored) == 8


def test_upload_then_settle_stored_books_the_same_as_one_pass(engine, tmp_path):
    work = build(n_claims=300, n_persons=50, seed=13)
    load(engine, work)
    items = list(encounters(work))
    for item in items:
        item.mdtrt_id = f"M-{item.ipt_otp_no}"
        item.acct_used = item.insutype == "310" and item.med_type != "21"  # what settle_stored assumes
    BulkSettler(engine).settle(items, chunk=64)
    one_pass = books(engine)

    other = db.make_engine(f"sqlite:///{tmp_path / 'two-pass.sqlite'}")
    db.create_all(other)
    load(other, work)
    uploaded = BulkSettler(other).upload(items, chunk=64)
    assert uploaded.uploaded == 300 and uploaded.settled == 0
    with other.connect() as conn:
        assert conn.execute(select(s.settlements.c.setl_id)).first() is None
        assert {r.status for r in conn.execute(select(s.fee_lines.c.status))} == {"active"}
    report = BulkSettler(other).settle_stored(chunk=64)
    assert report.settled + len(report.refused) == 300
    assert books(other) == one_pass
    with other.connect() as conn:
        assert {r.status for r in conn.execute(select(s.fee_lines.c.status))} == {"settled"}
        assert {r.status for r in conn.execute(select(s.encounters.c.status))} == {"settled"}
    again = BulkSettler(other).settle_stored()
    assert again.settled == 0 and books(other) == one_pass  # nothing is settled twice
