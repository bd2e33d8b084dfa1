"""Group commit: ``Platform.call_many`` answers each request exactly as ``call`` would, while
writing the mutating ones in one transaction with a savepoint each."""

from decimal import Decimal

from sqlalchemy import select

from interfaceworld import DAY, seed_world
from test_day import admit_and_upload
from test_safety import accumulators, count
from yibao.interface import Platform
from yibao.interface.client import InProcess, InterfaceClient
from yibao.storage import db
from yibao.storage import schema as s

VOLATILE = ("inf_refmsgid", "refmsg_time", "respond_time")


def stable(answer):
    """An answer without the fields that name the moment it was made."""
    out = {k: v for k, v in answer.items() if k not in VOLATILE}
    setlinfo = (out.get("output") or {}).get("setlinfo")
    if isinstance(setlinfo, dict):
        ids = ("setl_id", "mdtrt_id", "medins_setl_id")
        out["output"] = dict(out["output"], setlinfo={k: v for k, v in setlinfo.items() if k not in ids})
    return out


def test_a_refused_request_in_a_group_leaves_nothing_and_the_others_are_kept(hospital, platform, world):
    first, _ = admit_and_upload(hospital)
    second = hospital.admit(psn_no="P2", insutype="390", med_type="21", begntime="2020-03-02 08:00:00")
    good = hospital.envelope("2304", {"data": hospital.settle_data(first, "P1", "390", "10500.00")})
    # A fee upload whose second line is malformed: refused whole, in the middle of the group.
    bad_lines = hospital.fee_lines(second, "P2", [("XA", 10, 1), ("XA", 10, 1, {"det_item_fee_sumamt": "10.50"})])
    bad = hospital.envelope("2301", {"feedetail": bad_lines})
    fine_lines = hospital.fee_lines(second, "P2", [("XA", 10, 2)], start=10)
    fine = hospital.envelope("2301", {"feedetail": fine_lines})
    answers = platform.call_many([good, bad, fine])
    assert [a["infcode"] for a in answers] == [0, -1, 0]
    assert "det_item_fee_sumamt" in answers[1]["err_msg"]
    with world.connect() as conn:
        lines = conn.execute(select(s.fee_lines.c.feedetl_sn).where(s.fee_lines.c.mdtrt_id == second)).scalars().all()
        logged = conn.execute(select(s.request_log.c.msgid)).scalars().all()
    assert lines == ["10"]  # only the fine upload's line
    assert good["msgid"] in logged and fine["msgid"] in logged and bad["msgid"] not in logged
    assert count(world, s.settlements) == 1


def test_a_repeated_msgid_inside_one_group_is_answered_from_the_first(hospital, platform, world):
    mdtrt_id, _ = admit_and_upload(hospital)
    envelope = hospital.envelope("2304", {"data": hospital.settle_data(mdtrt_id, "P1", "390", "10500.00")})
    first, again = platform.call_many([envelope, dict(envelope)])
    assert first["infcode"] == 0 and again == first
    assert count(world, s.settlements) == 1
    with world.connect() as conn:
        paid = conn.execute(select(s.accumulators.c.paid).where(s.accumulators.c.layer == "390100")).scalar()
    assert paid == 594100  # paid once, as in the single-request retry test


def test_a_logged_msgid_in_a_group_is_answered_from_the_log_even_where_serving_it_again_would_succeed(
        hospital, platform, world):
    """A group's plain pass does not look its requests up in the request log one by one. Here
    serving the requests again would succeed (2601 is idempotent; the late original of a
    reversed msgid would settle): only the log's primary key, met when the group's log rows go
    in, catches them. The group is then served again request by request, and nothing is paid
    twice."""
    first, _ = admit_and_upload(hospital)
    lost = hospital.envelope("2304", {"data": hospital.settle_data(first, "P1", "390", "10500.00")})
    reversal = hospital.envelope("2601", {"data": {"psn_no": "P1", "omsgid": lost["msgid"], "oinfno": "2304"}})
    assert platform.call(reversal)["infcode"] == 0  # the original never arrived: its msgid is voided
    second = hospital.admit(psn_no="P2", insutype="390", med_type="21", begntime="2020-03-02 08:00:00")
    upload = hospital.envelope("2301", {"feedetail": hospital.fee_lines(second, "P2", [("XA", 10, 2)], start=10)})
    stored_reversal = platform.call(dict(reversal))
    answers = platform.call_many([dict(reversal), lost, upload])
    assert answers[0] == stored_reversal  # the stored answer, word for word
    assert answers[1]["infcode"] == -1 and "已被冲正" in answers[1]["err_msg"]
    assert answers[2]["infcode"] == 0
    assert count(world, s.settlements) == 0
    with world.connect() as conn:
        lines = conn.execute(select(s.fee_lines.c.feedetl_sn, s.fee_lines.c.status)
                             .where(s.fee_lines.c.mdtrt_id == first)).all()
        log = s.request_log.c
        mine = [lost["msgid"], reversal["msgid"], upload["msgid"]]
        logged = dict(conn.execute(select(log.msgid, log.status).where(log.msgid.in_(mine))).all())
    assert {status for _, status in lines} == {"active"}  # the late original settled nothing
    assert logged == {lost["msgid"]: "voided", reversal["msgid"]: "ok", upload["msgid"]: "ok"}


def test_group_answers_and_books_equal_one_by_one(world):
    """The same day's requests, once through ``call`` one at a time and once through
    ``call_many`` in one group, give the same answers and the same books."""
    results = []
    for grouped in (False, True):
        if grouped:
            db.reset(world)
            seed_world(world)
        platform = Platform(world)
        hospital = InterfaceClient(InProcess(platform), "H51140200001", mdtrtarea_admvs="511402", clock=lambda: DAY)
        envelopes = []
        for n, (psn_no, amount) in enumerate((("P1", 4000), ("P1", 9000), ("P2", 2500))):
            mdtrt_id = hospital.admit(psn_no=psn_no, insutype="390", med_type="21", begntime=f"2020-03-0{n + 1} 08:00:00")
            lines = hospital.fee_lines(mdtrt_id, psn_no, [("XA", amount, 1), ("XB", 30, 2)])
            envelopes.append(hospital.envelope("2301", {"feedetail": lines}))
            total = f"{amount + 60}.00"
            envelopes.append(hospital.envelope("2304", {"data": hospital.settle_data(mdtrt_id, psn_no, "390", total)}))
        answers = platform.call_many(envelopes) if grouped else [platform.call(e) for e in envelopes]
        assert all(a["infcode"] == 0 for a in answers), [a["err_msg"] for a in answers]
        results.append(([stable(a) for a in answers], accumulators(world)))
    assert results[0] == results[1]
    # The second settlement of P1 sees the first one's accumulators, inside the same group.
    assert any(row[0] == "P1" and row[2] == "admissions" and row[5] == 2 for row in results[1][1])


def test_several_writer_threads_never_both_spend_one_remaining_cap(world, monkeypatch):
    """``yibao serve`` on PostgreSQL writes with several threads per worker: six settlements of
    one person, each its own transaction on its own thread at once, with 1,000 yuan of basic cap
    left, are paid 1,000 yuan together (SQLite queues the same threads on its writer lock)."""
    import asyncio
    import itertools

    from yibao.interface.accesslog import AccessLog
    from yibao.interface.server import InterfaceService

    monkeypatch.setenv("YIBAO_SERVE_WRITERS", "4")
    monkeypatch.setenv("YIBAO_SERVE_GROUP", "1")
    with world.begin() as conn:
        conn.execute(s.accumulators.insert().values(psn_no="P1", year=2020, layer="390100", base="0", paid=29_900_000, count=0))
    platform = Platform(world)
    service = InterfaceService(world, auth=False, platform=platform, access_log=AccessLog(None))
    assert service.writers == 4
    clients = [InterfaceClient(InProcess(platform), "H51140200001", clock=lambda: DAY, _seq=itertools.count(1000 * n + 1))
               for n in range(6)]
    encounters = [admit_and_upload(c, lines=(("XA", 100, 98),))[0] for c in clients]
    envelopes = [c.envelope("2304", {"data": c.settle_data(m, "P1", "390", "9800.00")}) for c, m in zip(clients, encounters)]

    async def settle_all():
        return await asyncio.gather(*(service._write(e) for e in envelopes))

    answers = asyncio.run(settle_all())
    assert [a["infcode"] for a in answers] == [0] * 6, [a["err_msg"] for a in answers]
    paid = [a["output"]["setlinfo"]["hifp_pay"] for a in answers]
    assert sum(paid) == 1000 and sorted(paid)[-1] == 1000  # one of them took the last 1,000 yuan
    with world.connect() as conn:
        total = conn.execute(select(s.accumulators.c.paid).where(s.accumulators.c.layer == "390100")).scalar()
    assert total == 30_000_000
    assert count(world, s.settlements) == 6


def test_a_group_with_nothing_refused_is_written_without_savepoints(hospital, platform, world, monkeypatch):
    """Savepoints are only for a group in which a request is refused: the plain pass writes the
    rest with two statements fewer per request, and a refusal sends the group round again."""
    from yibao.storage import fast

    taken = []
    real = fast.savepoint
    monkeypatch.setattr(fast, "savepoint", lambda conn, name: (taken.append(name), real(conn, name)))
    first, _ = admit_and_upload(hospital)
    second = hospital.admit(psn_no="P2", insutype="390", med_type="21", begntime="2020-03-02 08:00:00")
    settle = hospital.envelope("2304", {"data": hospital.settle_data(first, "P1", "390", "10500.00")})
    upload = hospital.envelope("2301", {"feedetail": hospital.fee_lines(second, "P2", [("XA", 10, 2)], start=10)})
    assert [a["infcode"] for a in platform.call_many([settle, upload])] == [0, 0]
    assert taken == []
    # One refused request: nothing of the plain pass is kept, and each request gets its savepoint.
    bad = hospital.envelope("2301", {"feedetail": hospital.fee_lines(second, "P2", [("XA", -10, 1)], start=20)})
    good = hospital.envelope("2301", {"feedetail": hospital.fee_lines(second, "P2", [("XA", 10, 1)], start=30)})
    answers = platform.call_many([good, bad])
    assert [a["infcode"] for a in answers] == [0, -1] and "pric" in answers[1]["err_msg"]
    assert taken == ["request", "request"]
    with world.connect() as conn:
        lines = conn.execute(select(s.fee_lines.c.feedetl_sn).where(s.fee_lines.c.mdtrt_id == second)).scalars().all()
    assert sorted(lines) == ["10", "30"]
    assert count(world, s.settlements) == 1


def test_fee_rows_written_from_a_prepared_upload_equal_those_written_under_the_lock(world):
    """``call_many`` converts a plain upload's rows before the write lock (fees.prepare_upload);
    ``call`` builds them under it. The stored rows are the same, field for field."""
    stored = []
    for grouped in (False, True):
        db.reset(world)
        seed_world(world)
        platform = Platform(world)
        hospital = InterfaceClient(InProcess(platform), "H51140200001", mdtrtarea_admvs="511402", clock=lambda: DAY)
        mdtrt_id = hospital.admit(psn_no="P1", insutype="390", med_type="21", begntime="2020-03-01 08:00:00")
        lines = hospital.fee_lines(mdtrt_id, "P1", [
            ("XA", "12.345678", "2.5", {"hosp_appr_flag": "1", "chrg_bchno": "B7"}),
            ("XB", 30, 2, {"det_item_fee_sumamt": "60.00"}),
            ("NOT-IN-CATALOGUE", "9.9", 1),
        ], when="2020-03-01 09:30:00")
        upload = hospital.envelope("2301", {"feedetail": lines})
        second = hospital.envelope("2301", {"feedetail": hospital.fee_lines(mdtrt_id, "P1", [("XA", 1, 1)], start=9)})
        answers = platform.call_many([upload, second]) if grouped else [platform.call(upload), platform.call(second)]
        assert [a["infcode"] for a in answers] == [0, 0], [a["err_msg"] for a in answers]
        with world.connect() as conn:
            rows = conn.execute(select(s.fee_lines).order_by(s.fee_lines.c.feedetl_sn)).mappings().all()
        assert [r["upload_msgid"] for r in rows] == [upload["msgid"]] * 3 + [second["msgid"]]
        stored.append([{k: v for k, v in r.items() if k not in ("mdtrt_id", "upload_msgid", "id")} for r in rows])
    assert stored[0] == stored[1]
    assert stored[1][0]["pric"] == Decimal("12.345678") and stored[1][0]["chrg_bchno"] == "B7"


def test_an_expired_audit_library_is_rebuilt_before_the_write_lock(hospital, platform, world, monkeypatch):
    """A settlement that finds the audit library's cache expired rebuilds it on a reading
    connection in ``prepare``, not under the group's write lock with every writer waiting."""
    from yibao.audit import realtime

    mdtrt_id, _ = admit_and_upload(hospital)
    envelope = hospital.envelope("2304", {"data": hospital.settle_data(mdtrt_id, "P1", "390", "10500.00")})
    upload = hospital.envelope("2301", {"feedetail": hospital.fee_lines(
        hospital.admit(psn_no="P2", insutype="390", med_type="21", begntime="2020-03-02 08:00:00"), "P2", [("XA", 10, 1)])})
    rebuilt_on = []
    real = realtime.active_library

    def counting(conn=None, path=None):
        rebuilt_on.append(bool(conn.get_execution_options().get("yibao_readonly")))
        return real(conn, path)

    monkeypatch.setattr(realtime, "active_library", counting)
    realtime.clear_cache()
    assert not realtime.is_fresh(world)
    answers = platform.call_many([envelope, upload])
    assert [a["infcode"] for a in answers] == [0, 0]
    assert rebuilt_on == [True]  # once, on the reading connection; the settlement found it fresh
    assert realtime.is_fresh(world)
