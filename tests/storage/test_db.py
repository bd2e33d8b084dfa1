"""Storage behaviour that everything else relies on."""

import threading
import time

from sqlalchemy import func, select, text

from yibao.interface.reference import Reference
from yibao.storage import db
from yibao.storage import schema as s


def test_readers_do_not_wait_for_a_writer(engine):
    """A read (e.g. the reference cache reloading) while a write transaction is open in the same
    thread must not block — on SQLite it used to take the write lock and deadlock."""
    with engine.begin() as conn:
        conn.execute(s.catalogue.insert().values(med_list_codg="X1", name="x", chrgitm_lv="01", nego_drug=False, lmt_used_flag="0"))
        started = time.perf_counter()
        catalogue = Reference(engine).catalogue()
        assert time.perf_counter() - started < 5
        assert "X1" not in catalogue  # the reader sees the last committed state
    assert "X1" in Reference(engine).catalogue()


def test_writers_are_serialised_on_sqlite(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    db.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (v INTEGER)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))

    def bump():
        with engine.begin() as conn:
            value = conn.execute(text("SELECT v FROM counter")).scalar()
            time.sleep(0.05)
            conn.execute(text("UPDATE counter SET v = :v"), {"v": value + 1})

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.reading(engine) as conn:
        assert conn.execute(text("SELECT v FROM counter")).scalar() == 4


def test_migrations_create_every_table(engine):
    with db.reading(engine) as conn:
        for table in s.metadata.sorted_tables:
            assert conn.execute(select(func.count()).select_from(table)).scalar() == 0


def test_duckdb_reads_the_platform_database(engine):
    from yibao.storage.analytics import duck

    with engine.begin() as conn:
        conn.execute(s.catalogue.insert(), [
            {"med_list_codg": "A1", "name": "甲", "chrgitm_lv": "01", "nego_drug": False, "lmt_used_flag": "0"},
            {"med_list_codg": "B2", "name": "乙", "chrgitm_lv": "02", "nego_drug": True, "lmt_used_flag": "0"},
        ])
    con = duck(engine.url.render_as_string(hide_password=False))
    rows = con.execute("SELECT med_list_codg, chrgitm_lv FROM db.catalogue ORDER BY 1").fetchall()
    assert rows == [("A1", "01"), ("B2", "02")]
