"""Benchmark of real-time audit (3101/3102): one encounter plus the person's stored history.

    .venv/bin/python benchmarks/audit/bench_realtime.py                        # SQLite file under /tmp
    .venv/bin/python benchmarks/audit/bench_realtime.py --database-url postgresql://postgres@127.0.0.1/yibao_bench

Generates a one-year region (default 5,000 persons), loads it into the database with its pharmacy
stock and knowledge, picks encounters with 18–22 fee lines of persons with at least 5 other
encounters that year, builds their 3101 inputs (as a hospital would send them) and times
``evaluate_3101(input, conn)``: parsing, reading the person, institution, visits, yearly-limited lines
and traceability sales from the database, and every real-time rule. Prints p50/p95/p99/max.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--database-url")
    ap.add_argument("--encounters", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from sqlalchemy import func, select

    from yibao.audit import knowledge, realtime, store
    from yibao.audit.his import input_3101
    from yibao.audit.library import load_library
    from yibao.storage import db
    from yibao.storage import schema as s
    from yibao.synth import generate
    from yibao.synth.load import load

    tmp = tempfile.TemporaryDirectory(prefix="yibao-bench-rt-", dir="/tmp")
    region = Path(tmp.name) / "region"
    generate(persons=args.persons, seed=args.seed, out=region, progress=False)
    url = args.database_url or f"sqlite:///{tmp.name}/yibao.sqlite"
    t = time.perf_counter()
    load(region, url, replace=True)
    engine = db.make_engine(url)
    lib = load_library()
    with engine.begin() as conn:
        store.import_stock(conn, region)
        knowledge.import_tables(conn, lib, region)
    print(f"loaded in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    e, f = s.encounters, s.fee_lines
    with engine.connect() as conn:
        sizes = select(f.c.mdtrt_id, func.count().label("n")).group_by(f.c.mdtrt_id).subquery()
        visits = select(e.c.psn_no, func.count().label("v")).group_by(e.c.psn_no).subquery()
        ids = [r[0] for r in conn.execute(
            select(e.c.mdtrt_id).join(sizes, sizes.c.mdtrt_id == e.c.mdtrt_id).join(visits, visits.c.psn_no == e.c.psn_no)
            .where(sizes.c.n.between(18, 22), visits.c.v >= 6).order_by(e.c.mdtrt_id).limit(args.encounters))]
        inputs = [input_3101(conn, m) for m in ids]
        lines = [len(i["data"]["patient_dtos"][0]["fsi_encounter_dtos"][0]["fsi_order_dtos"]) for i in inputs]
        history = [conn.execute(select(func.count()).where(e.c.psn_no == i["data"]["patient_dtos"][0]["patn_id"])).scalar() - 1
                   for i in inputs]
        realtime.evaluate_3101(inputs[0], conn)  # warm the compiled library
        times, findings = [], 0
        for _ in range(args.rounds):
            for inp in inputs:
                t0 = time.perf_counter()
                out = realtime.evaluate_3101(inp, conn)
                times.append((time.perf_counter() - t0) * 1000)
                findings += len(out["result"])
    times.sort()
    q = lambda p: round(times[min(len(times) - 1, int(len(times) * p))], 2)
    figures = {"database": engine.dialect.name, "calls": len(times), "encounters": len(ids),
               "lines_mean": round(statistics.mean(lines), 1), "history_encounters_mean": round(statistics.mean(history), 1),
               "p50_ms": q(0.50), "p95_ms": q(0.95), "p99_ms": q(0.99), "max_ms": round(times[-1], 2),
               "findings_per_call": round(findings / len(times), 3), "load_avg": round(os.getloadavg()[0], 1)}
    print(json.dumps(figures) if args.json else
          f"3101 on {figures['database']}: {len(times)} calls, {figures['lines_mean']} lines, "
          f"{figures['history_encounters_mean']} encounters of history: p50 {figures['p50_ms']} ms, "
          f"p95 {figures['p95_ms']} ms, p99 {figures['p99_ms']} ms, max {figures['max_ms']} ms (load {figures['load_avg']})")
    engine.dispose()
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
