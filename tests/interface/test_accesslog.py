"""The interface's access log file: masked JSON lines, rotated by size, none lost."""

from __future__ import annotations

import json

from yibao.interface.accesslog import AccessLog


def test_lines_are_json_masked_and_written_at_once(tmp_path):
    log = AccessLog(tmp_path / "access.log")
    log.record(msgid="m1", infno="2301", infcode=-1, err_msg="证件号码 511402198001011230 不一致", latency_ms=1.25)
    # Written before record() returns (no buffer): a crash right after loses nothing.
    line = (tmp_path / "access.log").read_text(encoding="utf-8")
    entry = json.loads(line)
    assert entry["err_msg"] == "证件号码 511402********1230 不一致"
    assert entry["latency_ms"] == 1.25 and entry["infno"] == "2301"
    assert line.endswith("\n") and "证件号码" in line  # Chinese unescaped
    log.close()


def test_rotation_by_size_keeps_every_line_within_the_backups(tmp_path):
    path = tmp_path / "access.log"
    log = AccessLog(path, max_bytes=1000, backups=3)
    for n in range(60):
        log.record(msgid=f"msg{n:04d}", infno="2304", infcode=0, err_msg="")
    log.close()
    files = [path.with_name("access.log.3"), path.with_name("access.log.2"), path.with_name("access.log.1"), path]
    assert all(f.exists() for f in files) and not path.with_name("access.log.4").exists()
    assert all(f.stat().st_size <= 1000 for f in files)
    msgids = [json.loads(line)["msgid"] for f in files for line in f.read_text().splitlines()]
    # The newest lines survive, in order, with no gap and none torn.
    assert msgids == [f"msg{n:04d}" for n in range(60 - len(msgids), 60)]
    assert len(msgids) > 30


def test_reopening_continues_the_count(tmp_path):
    path = tmp_path / "access.log"
    first = AccessLog(path, max_bytes=300, backups=1)
    first.record(msgid="a" * 100)
    first.close()
    second = AccessLog(path, max_bytes=300, backups=1)
    for _ in range(3):
        second.record(msgid="b" * 100)
    second.close()
    assert path.stat().st_size <= 300 and path.with_name("access.log.1").exists()
