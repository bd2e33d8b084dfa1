"""FastStatement and FastInsert write and read exactly what SQLAlchemy Core does, on both databases."""

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import bindparam, select, update

from yibao.storage import schema as s
from yibao.storage.fast import FastInsert, FastStatement

NOW = dt.datetime(2024, 5, 6, 7, 8, 9, 123456)


def _seed(conn):
    conn.execute(s.institutions.insert().values(fixmedins_code="H1", fixmedins_name="医院", medins_lv="level3", admdvs="511402"))
    conn.execute(s.persons.insert().values(psn_no="P1", certno="511402198001011230", psn_name="张三", gend="1",
                                           brdy=dt.date(1980, 1, 1), psn_cert_type="01"))
    FastInsert(s.encounters).run(conn, dict(mdtrt_id="M1", psn_no="P1", fixmedins_code="H1", insutype="390", med_type="21",
                                            visit_kind="inpatient", begntime=NOW))  # status: its default "open"
    conn.execute(s.encounters.insert().values(mdtrt_id="M2", psn_no="P1", fixmedins_code="H1", insutype="390",
                                              med_type="21", visit_kind="inpatient", begntime=NOW))


def _line(sn, pric, cnt, **kw):
    row = dict(mdtrt_id="M1", feedetl_sn=sn, med_list_codg="X", fee_ocur_time=NOW, pric=pric, cnt=cnt,
               det_item_fee_sumamt=1234, fulamt_ownpay_amt=0, overlmt_amt=0, preselfpay_amt=1, inscp_scp_amt=1233,
               chrgitm_lv="02", status="active")
    row.update(kw)
    return row


def test_rows_read_fast_equal_rows_read_by_sqlalchemy(engine):
    lines = select(s.fee_lines).where(s.fee_lines.c.mdtrt_id == bindparam("mdtrt_id")).where(s.fee_lines.c.status == "active")
    with engine.begin() as conn:
        _seed(conn)
        # Written once each way: the fast insert (a single row, then several) and SQLAlchemy's.
        FastInsert(s.fee_lines).run(conn, _line("1", Decimal("12.345678"), Decimal("2")))
        FastInsert(s.fee_lines).run(conn, [_line("2", Decimal("0.5"), Decimal("1.2500")), _line("3", Decimal("100"), Decimal("-1"))])
        conn.execute(s.fee_lines.insert(), [_line("4", Decimal("7.000001"), Decimal("3.5")), _line("5", Decimal("1"), Decimal("1"), status="cancelled")])
        expected = conn.execute(lines, {"mdtrt_id": "M1"}).fetchall()
        got = FastStatement(lines).all(conn, {"mdtrt_id": "M1"})
        assert [tuple(r) for r in got] == [tuple(r) for r in expected]
        assert [r.feedetl_sn for r in got] == ["1", "2", "3", "4"]  # the fixed "active" was applied
        assert got[0].pric == Decimal("12.345678") and isinstance(got[0].cnt, Decimal)
        assert got[0].fee_ocur_time == NOW and isinstance(got[0].det_item_fee_sumamt, int)
        encounter = FastStatement(select(s.encounters).where(s.encounters.c.mdtrt_id == bindparam("m")))
        first = encounter.first(conn, {"m": "M1"})
        assert first.status == "open" and first.begntime == NOW  # defaults and datetimes as SQLAlchemy writes them
        assert tuple(first)[1:] == tuple(conn.execute(encounter.statement, {"m": "M2"}).first())[1:]
        assert encounter.first(conn, {"m": "nope"}) is None


def test_updates_and_booleans(engine):
    with engine.begin() as conn:
        _seed(conn)
        FastInsert(s.fee_lines).run(conn, [_line("1", Decimal(1), Decimal(1)), _line("2", Decimal(1), Decimal(1))])
        settle = FastStatement(
            update(s.fee_lines)
            .where(s.fee_lines.c.mdtrt_id == bindparam("k_mdtrt_id"))
            .where(s.fee_lines.c.feedetl_sn == bindparam("k_sn"))
            .values(status="settled", setl_id=bindparam("setl_id"))
        )
        settle.run_many(conn, [{"k_mdtrt_id": "M1", "k_sn": sn, "setl_id": "S1"} for sn in ("1", "2")])
        rows = conn.execute(select(s.fee_lines.c.status, s.fee_lines.c.setl_id)).fetchall()
        assert sorted(rows) == [("settled", "S1"), ("settled", "S1")]
        assert settle.run(conn, {"k_mdtrt_id": "M1", "k_sn": "9", "setl_id": "S2"}) == 0
        FastInsert(s.accumulators).run(conn, dict(psn_no="P1", year=2024, layer="390100", base="1/3", paid=5))
        acc = conn.execute(select(s.accumulators)).first()
        assert (acc.base, acc.paid, acc.count) == ("1/3", 5, 0)  # count took its default


def test_unknown_columns_are_refused(engine):
    with engine.begin() as conn:
        with pytest.raises(ValueError, match="no column"):
            FastInsert(s.accumulators).run(conn, dict(psn_no="P1", year=2024, layer="x", nonsense=1))


def test_driver_errors_arrive_as_sqlalchemy_errors(engine):
    from sqlalchemy.exc import IntegrityError

    with engine.begin() as conn:
        _seed(conn)
        with pytest.raises(IntegrityError):
            FastInsert(s.encounters).run(conn, dict(mdtrt_id="M1", psn_no="P1", fixmedins_code="H1", insutype="390",
                                                    med_type="21", visit_kind="inpatient", begntime=NOW))
        conn.rollback()


def test_savepoints_undo_only_their_own_part(engine):
    from yibao.storage import fast

    with engine.begin() as conn:
        _seed(conn)
        fast.savepoint(conn, "sp")
        FastInsert(s.fee_lines).run(conn, _line("1", Decimal(1), Decimal(1)))
        fast.rollback_to(conn, "sp")
        fast.release(conn, "sp")
        fast.savepoint(conn, "sp")
        FastInsert(s.fee_lines).run(conn, _line("2", Decimal(1), Decimal(1)))
        fast.release(conn, "sp")
    with engine.connect() as conn:
        assert conn.execute(select(s.fee_lines.c.feedetl_sn)).scalars().all() == ["2"]
        assert conn.execute(select(s.encounters.c.mdtrt_id).order_by(s.encounters.c.mdtrt_id)).scalars().all() == ["M1", "M2"]


def test_many_rows_go_in_chunks_of_one_statement(engine):
    from yibao.storage.fast import FastInsert as Insert

    insert = Insert(s.fee_lines)
    insert.CHUNK = 3  # force several statements, the last one short
    rows = [_line(str(n), Decimal("1.5"), Decimal(n)) for n in range(1, 8)]
    with engine.begin() as conn:
        _seed(conn)
        insert.run(conn, rows)
        stored = conn.execute(select(s.fee_lines.c.feedetl_sn, s.fee_lines.c.cnt).order_by(s.fee_lines.c.cnt)).fetchall()
    assert [(r.feedetl_sn, r.cnt) for r in stored] == [(str(n), Decimal(n)) for n in range(1, 8)]


def test_rows_with_fewer_keys_than_the_first_take_defaults_and_nulls(engine):
    with engine.begin() as conn:
        _seed(conn)
        first = _line("1", Decimal("1.5"), Decimal("2"), hosp_appr_flag="1")
        second = _line("2", Decimal("3"), Decimal("1"))
        del second["status"]  # default "active"
        FastInsert(s.fee_lines).run(conn, [first, second])
        rows = {r.feedetl_sn: r for r in conn.execute(select(s.fee_lines).order_by(s.fee_lines.c.feedetl_sn))}
        assert rows["1"].hosp_appr_flag == "1" and rows["2"].hosp_appr_flag is None
        assert rows["2"].status == "active" and rows["2"].pric == Decimal("3")


def test_rows_converted_beforehand_are_written_as_the_dicts_would_be_and_only_where_they_belong(engine):
    lines = FastInsert(s.fee_lines)
    rows = [_line("1", Decimal("1.5"), Decimal("2")), _line("2", Decimal("0.000001"), Decimal("3.25"), hosp_appr_flag="1")]
    converted = lines.convert(engine.dialect, rows)  # no connection needed
    with engine.begin() as conn:
        _seed(conn)
        lines.run(conn, converted)
        direct = [dict(r, mdtrt_id="M2") for r in rows]
        lines.run(conn, direct)
        stored = conn.execute(select(s.fee_lines).order_by(s.fee_lines.c.mdtrt_id, s.fee_lines.c.feedetl_sn)).mappings().all()
        by_encounter = {m: [{k: v for k, v in r.items() if k not in ("mdtrt_id", "id")} for r in stored if r["mdtrt_id"] == m]
                        for m in ("M1", "M2")}
        assert by_encounter["M1"] == by_encounter["M2"] and len(by_encounter["M1"]) == 2
        with pytest.raises(ValueError, match="converted for fee_lines"):
            FastInsert(s.request_log).run(conn, converted)


def test_an_upsert_inserts_new_keys_and_updates_taken_ones_in_one_statement(engine):
    accumulators = s.accumulators
    write = FastInsert(accumulators, upsert=("psn_no", "year", "layer"))
    with engine.begin() as conn:
        conn.execute(accumulators.insert(), [dict(psn_no="P1", year=2024, layer="390100", base="100", paid=90, count=0),
                                             dict(psn_no="P1", year=2024, layer="admissions", base="0", paid=0, count=1),
                                             dict(psn_no="P2", year=2024, layer="390100", base="7", paid=7, count=0)])
        write.run(conn, [dict(psn_no="P1", year=2024, layer="390100", base="250", paid=200, count=0),
                         dict(psn_no="P1", year=2024, layer="390201", base="5/3", paid=1, count=0),
                         dict(psn_no="P1", year=2024, layer="admissions", base="0", paid=0, count=2)])
        stored = conn.execute(select(accumulators).order_by(accumulators.c.psn_no, accumulators.c.layer)).fetchall()
    assert [tuple(r) for r in stored] == [
        ("P1", 2024, "390100", "250", 200, 0),
        ("P1", 2024, "390201", "5/3", 1, 0),
        ("P1", 2024, "admissions", "0", 0, 2),
        ("P2", 2024, "390100", "7", 7, 0),  # another person's row with the same layer: untouched
    ]
    sql = write._sql(engine.dialect, write._plan(engine.dialect, ("psn_no", "year", "layer", "base", "paid", "count")), 1)
    assert sql.endswith('ON CONFLICT (psn_no, year, layer) DO UPDATE SET base = excluded.base, paid = excluded.paid, '
                        'count = excluded.count')


def test_pipelined_writes_land_and_their_errors_arrive_as_sqlalchemy_errors(engine):
    from sqlalchemy.exc import IntegrityError

    from yibao.storage.fast import pipelined

    insert = FastInsert(s.fee_lines)
    with engine.begin() as conn:
        _seed(conn)
        with pipelined(conn):
            insert.run(conn, [_line("1", Decimal("2"), Decimal("3")), _line("2", Decimal("2"), Decimal("1"))])
            FastStatement(update(s.fee_lines).where(s.fee_lines.c.feedetl_sn == bindparam("k_sn")).values(status="settled")
                          ).run(conn, {"k_sn": "2"})
        stored = conn.execute(select(s.fee_lines.c.feedetl_sn, s.fee_lines.c.status).order_by(s.fee_lines.c.feedetl_sn)).all()
    assert [tuple(r) for r in stored] == [("1", "active"), ("2", "settled")]
    with pytest.raises(IntegrityError):
        with engine.begin() as conn, pipelined(conn):
            insert.run(conn, _line("3", Decimal("1"), Decimal("1")))
            insert.run(conn, _line("1", Decimal("1"), Decimal("1")))  # taken: M1's line 1
            insert.run(conn, _line("4", Decimal("1"), Decimal("1")))
    with engine.connect() as conn:
        kept = conn.execute(select(s.fee_lines.c.feedetl_sn).order_by(s.fee_lines.c.feedetl_sn)).scalars().all()
    assert kept == ["1", "2"]  # nothing of the failed transaction


def test_postgresql_prepares_a_repeated_insert_whatever_the_sizes_of_its_integers(_pg_engine):
    """psycopg types an int by its size (int2 below 32,768, int4, int8) and prepares only a
    statement seen five times with the same types: fee lines' amounts straddling 32,767 fen left
    the 20-line insert unprepared for ever, and PostgreSQL parsed and planned it on every upload."""
    from yibao.storage import db

    engine = _pg_engine
    db.reset(engine)
    insert = FastInsert(s.fee_lines)
    with engine.begin() as conn:
        _seed(conn)
        for n in range(8):
            # amounts of every size psycopg would type differently: int2, int4, int8
            amount = (7, 40_000, 3_000_000_000)[n % 3]
            insert.run(conn, [_line(f"{n}a", Decimal(1), Decimal(1), det_item_fee_sumamt=amount, inscp_scp_amt=amount),
                              _line(f"{n}b", Decimal(1), Decimal(1))])
        prepared = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_prepared_statements WHERE starts_with(statement, 'INSERT INTO fee_lines')").scalar_one()
        stored = conn.execute(select(s.fee_lines.c.det_item_fee_sumamt).where(s.fee_lines.c.feedetl_sn == "2a")).scalar_one()
    assert prepared == 1
    assert stored == 3_000_000_000
