"""The database's own floor for one settlement: its statements alone, with no yibao code running.

What a 20-line inpatient settlement writes and reads through the interface (the statements of
``bench_load.py``'s 2301 + 2304 as PostgreSQL's statement log shows them, on yibao's own
schema) is sent by the leanest client there is, and what remains of the machine is what any
server, in any language, would have left for HTTP, parsing, pricing and the settlement itself:

* PostgreSQL: ``pgbench`` (C, prepared statements, C connections, one transaction per
  settlement: as good as group commit gets) for a fixed time. The CPU PostgreSQL used is the
  machine's busy time (``/proc/stat``) less pgbench's own, so run it on an idle machine.
* SQLite: the same statements from Python's ``sqlite3`` in one process, eight settlements per
  commit (as ``yibao serve`` groups them): CPU per settlement of that process.

Each runs twice: as yibao stores a settlement, and without the update that marks the 20 lines
settled (the largest single write; how much a data model without it would save).

    python benchmarks/http/db_floor.py                                   # both databases
    python benchmarks/http/db_floor.py --seconds 30 --clients 16 \\
        --database-url postgresql://postgres@127.0.0.1:5432/yibao_floor
    python benchmarks/http/db_floor.py --sqlite-only

The PostgreSQL database named is emptied and loaded with 3,000 persons (needs ``pgbench`` on
the PATH: Debian's postgresql-client).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PERSONS = 3000
INSTITUTION = "H51140200001"
LINE_COLUMNS = ("mdtrt_id, feedetl_sn, init_feedetl_sn, chrg_bchno, med_list_codg, medins_list_codg, fee_ocur_time, pric, "
                "cnt, det_item_fee_sumamt, fulamt_ownpay_amt, overlmt_amt, preselfpay_amt, inscp_scp_amt, chrgitm_lv, "
                "hosp_appr_flag, bilg_dept_codg, bilg_dr_codg, status, upload_msgid")
SETTLEMENT_COLUMNS = ("setl_id, mdtrt_id, psn_no, fixmedins_code, insutype, psn_type, med_type, setl_time, setl_year, msgid, "
                      "infno, policy_id, status, refd_setl_flag, in_region, medfee_sumamt, fulamt_ownpay_amt, overlmt_selfpay, "
                      "preselfpay_amt, inscp_scp_amt, act_pay_dedc, pool_prop_selfpay, hifp_pay, hifmi_pay, hifob_pay, "
                      "cvlserv_pay, maf_pay, oth_pay, fund_pay_sumamt, psn_part_amt, acct_pay, psn_cash_pay, hosp_part_amt, "
                      "balc, admissions_counted, trace")
# Sizes as stored by bench_load.py's settlements: the 2301 answer ~1.9 KB, the 2304's ~1 KB, the trace ~1 KB.
UPLOAD_ANSWER, SETTLE_ANSWER, TRACE = 1900, 1000, 1000


def statements(p: str, m: str, n: str, *, mark_lines: bool) -> list[str]:
    """One settlement's statements. ``p``, ``m`` and ``n`` are SQL expressions for the person,
    the encounter and a unique number (pgbench variables, or literals for SQLite)."""
    lines = ", ".join(
        f"({m}, '{i + 1}', NULL, 'B1', 'X{i * 7 % 600}', 'H1', '2026-01-01 10:00:00', 12.5, 2, {2500 + i * 1700}, 0, 0, "
        f"{i}, {2500 + i * 1700 - i}, '01', NULL, 'D1', 'DR1', 'active', {m})" for i in range(20))
    year = "2026"
    out = [
        # 2301: the encounter, the lines, the request log
        f"SELECT mdtrt_id, psn_no, status FROM encounters WHERE mdtrt_id = {m}",
        f"INSERT INTO fee_lines ({LINE_COLUMNS}) VALUES {lines}",
        f"INSERT INTO request_log (fixmedins_code, msgid, infno, body_sha256, status, response, received_at) VALUES "
        f"('{INSTITUTION}', {m} || 'a', '2301', {m}, 'ok', '{'x' * UPLOAD_ANSWER}', '2026-01-01 10:00:00')",
        # 2304: person with insurance (locked on PostgreSQL), encounter, lines, accumulators, then the booking
        f"SELECT * FROM persons p JOIN insurance i ON i.psn_no = p.psn_no WHERE p.psn_no = {p}",
        f"SELECT mdtrt_id, psn_no, status FROM encounters WHERE mdtrt_id = {m}",
        f"SELECT feedetl_sn, med_list_codg, chrgitm_lv, pric, cnt, det_item_fee_sumamt, fulamt_ownpay_amt, overlmt_amt, "
        f"preselfpay_amt, inscp_scp_amt, init_feedetl_sn FROM fee_lines WHERE mdtrt_id = {m} AND status = 'active'",
        f"SELECT psn_no, year, layer, base, paid, count FROM accumulators WHERE psn_no = {p} AND year = {year}",
        f"INSERT INTO settlements ({SETTLEMENT_COLUMNS}) VALUES ('S' || {n}, {m}, {p}, '{INSTITUTION}', '310', '11', '21', "
        f"'2026-01-01 10:00:00', {year}, {m} || 'b', '2304', 'meishan-2020', 'settled', '0', TRUE, 100000, 0, 0, 100, "
        f"99900, 80000, 0.5, 30000, 0, 0, 0, 0, 0, 30000, 70000, 0, 70000, 0, 0, 1, '{'t' * TRACE}')",
        f"INSERT INTO settlement_funds (setl_id, fund_pay_type, kind, base, inscp_scp_amt, crt_payb_lmt_amt, fund_payamt, "
        f"setl_proc_info, counted) VALUES ('S' || {n}, '310100', 'basic', '100', 99900, NULL, 30000, 'x', TRUE), "
        f"('S' || {n}, '390200', 'critical', '100', 99900, NULL, 0, 'y', TRUE)",
        f"INSERT INTO accumulators (psn_no, year, layer, base, paid, count) VALUES ({p}, {year}, '310100', '1', 1, 0), "
        f"({p}, {year}, '390200', '1', 1, 0), ({p}, {year}, 'admissions', '0', 0, 1) ON CONFLICT (psn_no, year, layer) "
        f"DO UPDATE SET base = excluded.base, paid = excluded.paid, count = excluded.count",
        f"UPDATE encounters SET status = 'settled' WHERE mdtrt_id = {m}",
        f"INSERT INTO request_log (fixmedins_code, msgid, infno, body_sha256, status, response, received_at) VALUES "
        f"('{INSTITUTION}', {m} || 'b', '2304', {m}, 'ok', '{'x' * SETTLE_ANSWER}', '2026-01-01 10:00:00')",
    ]
    if mark_lines:
        out.insert(9, f"UPDATE fee_lines SET status = 'settled', setl_id = 'S' || {n} WHERE mdtrt_id = {m} AND status = 'active'")
    return out


def admission(p: str, m: str) -> str:
    """The encounter the settlement needs (made beforehand in bench_load.py; here in the same
    transaction, which only adds to the database's work)."""
    return (f"INSERT INTO encounters (mdtrt_id, psn_no, fixmedins_code, insutype, med_type, visit_kind, begntime, status) "
            f"VALUES ({m}, {p}, '{INSTITUTION}', '310', '21', 'inpatient', '2026-01-01 08:00:00', 'open')")


def load(url: str) -> None:
    """yibao's schema, emptied, with one institution and the persons the settlements name."""
    from sqlalchemy import insert

    from yibao.storage import db
    from yibao.storage import schema as s

    engine = db.make_engine(url)
    db.create_all(engine)
    db.reset(engine)
    with engine.begin() as conn:
        conn.execute(insert(s.institutions), [dict(fixmedins_code=INSTITUTION, fixmedins_name="医院", medins_lv="level3",
                                                   admdvs="511402")])
        conn.execute(insert(s.persons), [dict(psn_no=f"P{k:08d}", certno=f"51140219800101{k:04d}", psn_name=f"参保人{k}",
                                              gend="1", brdy=dt.date(1980, 1, 1), psn_cert_type="01") for k in range(1, PERSONS + 1)])
        conn.execute(insert(s.insurance), [dict(psn_no=f"P{k:08d}", insutype="310", psn_type="11", insu_admdvs="511402",
                                                psn_insu_stas="1") for k in range(1, PERSONS + 1)])
    engine.dispose()


def busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (user, nice, system, irq, softirq, steal)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def postgres(url: str, seconds: float, clients: int, *, mark_lines: bool) -> str:
    p = "('P' || lpad(:p::text, 8, '0'))"
    m = "('Z' || :n)"
    body = ";\n".join([admission(p, m)] + statements(p, m, ":n", mark_lines=mark_lines))
    person_lock = "SELECT * FROM persons p JOIN insurance i ON i.psn_no = p.psn_no WHERE p.psn_no = " + p
    body = body.replace(person_lock, person_lock + " FOR UPDATE OF p")
    script = f"\\set n random(1, 2000000000000)\n\\set p random(1, {PERSONS})\nBEGIN;\n{body};\nCOMMIT;\n"
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
        handle.write(script)
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    before_busy, before_child = busy_seconds(), resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", "1", "-T", str(int(seconds)),
                           "-f", handle.name, plain], capture_output=True, text=True)
    after_busy, after_child = busy_seconds(), resource.getrusage(resource.RUSAGE_CHILDREN)
    os.unlink(handle.name)
    if done.returncode != 0:
        raise SystemExit(f"pgbench failed:\n{done.stderr[-2000:]}")
    count = next(int(line.split(":")[1].split("/")[0]) for line in done.stdout.splitlines()
                 if line.startswith("number of transactions actually processed"))
    rate = next(float(line.split("=")[1].split()[0]) for line in done.stdout.splitlines() if line.startswith("tps"))
    client = (after_child.ru_utime - before_child.ru_utime) + (after_child.ru_stime - before_child.ru_stime)
    database = (after_busy - before_busy) - client
    return (f"PostgreSQL{'' if mark_lines else ', without the lines update'}: {rate:,.0f} settlements/s with "
            f"{clients} pgbench connections; CPU per settlement: PostgreSQL {database / count * 1000:.2f} ms, "
            f"pgbench {client / count * 1000:.2f} ms; the machine {(after_busy - before_busy) / seconds:.2f} of "
            f"{os.cpu_count()} CPUs busy")


def sqlite(path: Path, settlements: int, *, mark_lines: bool, group: int = 8) -> str:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    rng = random.Random(7)
    # Named parameters, as yibao's statements have: sqlite3 keeps each prepared in its cache.
    sql = [admission(":p", ":m")] + statements(":p", ":m", ":n", mark_lines=mark_lines)
    values = [{"p": f"P{rng.randint(1, PERSONS):08d}", "m": f"Z{k}", "n": str(k)} for k in range(settlements)]
    started = time.process_time()
    for start in range(0, settlements, group):
        conn.execute("BEGIN IMMEDIATE")
        for params in values[start : start + group]:
            for statement in sql:
                conn.execute(statement, params).fetchall()
        conn.execute("COMMIT")
    cpu = time.process_time() - started
    conn.close()
    return (f"SQLite{'' if mark_lines else ', without the lines update'}: {settlements:,} settlements in groups of {group}, "
            f"{cpu / settlements * 1000:.3f} ms CPU each (one process, no other work: at most "
            f"{settlements / cpu:,.0f}/s through SQLite's one writer)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/yibao_floor",
                        help="a PostgreSQL database to empty and use (created if missing)")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--settlements", type=int, default=5000, help="SQLite: settlements to write")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="yibao-floor-"))
    try:
        for mark_lines in (True, False):
            path = work / f"floor{mark_lines:d}.sqlite"
            load(f"sqlite:///{path}")
            print(sqlite(path, args.settlements, mark_lines=mark_lines), flush=True)
        if not args.sqlite_only:
            if shutil.which("pgbench") is None:
                raise SystemExit("pgbench not found: apt-get install postgresql-client")
            ensure_database(args.database_url)
            for mark_lines in (True, False):
                load(args.database_url)
                print(postgres(args.database_url, args.seconds, args.clients, mark_lines=mark_lines), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def ensure_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from yibao.storage import db

    target = make_url(db.normalise_url(url))
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
