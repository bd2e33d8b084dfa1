"""SQLite writers queue on a lock file beside the database (``storage.db.writing``)."""

from __future__ import annotations

import fcntl
import os
import threading

from yibao.storage import db


def _held(path) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_a_writer_holds_the_lock_file_until_its_commit_and_the_next_one_waits(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'q.sqlite'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    lock_file = tmp_path / "q.sqlite-writers.lock"
    events: list[str] = []
    inside, release = threading.Event(), threading.Event()

    def first():
        with db.writing(engine) as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            events.append("first in")
            inside.set()
            release.wait(5)
            events.append("first out")

    def second():
        inside.wait(5)
        with db.writing(engine) as conn:
            events.append("second in")
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    inside.wait(5)
    assert _held(lock_file)  # another process would queue here, in the kernel
    release.set()
    for t in threads:
        t.join(10)
    assert events == ["first in", "first out", "second in"]
    assert not _held(lock_file)
    with engine.connect() as conn:
        assert [r[0] for r in conn.exec_driver_sql("SELECT x FROM t ORDER BY x")] == [1, 2]


def test_no_lock_file_for_a_database_in_memory_or_on_postgresql(engine, tmp_path):
    memory = db.make_engine("sqlite://")
    with db.writing(memory) as conn:
        conn.exec_driver_sql("SELECT 1")
    with db.writing(engine) as conn:  # the suite's SQLite file or PostgreSQL database
        conn.exec_driver_sql("SELECT 1")
    if engine.dialect.name == "postgresql":
        assert db._queue_path(engine) is None
    assert db._queue_path(memory) is None
