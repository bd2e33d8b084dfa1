"""Fund operations on the demo region: contributions, posting, the dashboard, indicators, report.

    # a fresh region (20,000 persons, one year), settled into a new SQLite file, then timed
    .venv/bin/python benchmarks/fund/bench_fund.py --persons 20000 --seed 1 --work /tmp/fundbench
    # an already settled database (e.g. PostgreSQL): only the fund steps are timed
    .venv/bin/python benchmarks/fund/bench_fund.py --database-url postgresql://postgres@127.0.0.1:5432/fund_demo --settled

Prints a Markdown table: the step, the wall-clock time, and what it did. The dashboard is timed
over several calls (the console calls it on every page view) and the median and the slowest
are reported. The database must not have fund postings yet (the first post is what is timed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def settle(region: Path, url: str) -> float:
    from yibao.interface.bulk import BulkSettler

    from yibao.storage import db
    from yibao.synth.claims import iter_claims

    engine = db.make_engine(url)
    settler = BulkSettler(engine)
    # A reference-data refresh inside a chunk's transaction waits for SQLite's write lock held by
    # that same chunk; keep the cache for the whole run (see docs/benchmarks.md, fund section).
    settler.reference.ttl = float("inf")
    started = time.perf_counter()
    report = settler.settle(iter_claims(region))
    print(f"settled {report.settled:,} encounters, refused {len(report.refused)}", file=sys.stderr)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--years", default="2024")
    ap.add_argument("--work", type=Path, default=Path("/tmp/fundbench"))
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--settled", action="store_true", help="the database already holds the settled region")
    ap.add_argument("--year", type=int, default=2024)
    ap.add_argument("--month", type=int, default=6)
    ap.add_argument("--dashboard-runs", type=int, default=20)
    args = ap.parse_args()

    from yibao.fund import api, contributions, indicators, ledger
    from yibao.fund.report import write_report
    from sqlalchemy import text

    from yibao.storage import db

    rows: list[tuple[str, float, str]] = []
    url = args.database_url
    if not args.settled:
        args.work.mkdir(parents=True, exist_ok=True)
        region = args.work / f"region-{args.persons}-{args.seed}"
        url = url or f"sqlite:///{args.work / f'fund-{args.persons}-{args.seed}.sqlite'}"
        yibao = [sys.executable, "-m", "yibao.cli"]
        subprocess.run([*yibao, "synth", "generate", "--persons", str(args.persons), "--seed", str(args.seed), "--out", str(region),
                        "--years", args.years, "--no-progress"], check=True)
        subprocess.run([*yibao, "synth", "load", str(region), "--database-url", url, "--no-claims", "--replace"], check=True)
        rows.append(("settle the region (bulk channel; not a fund step)", settle(region, url), ""))
    engine = db.make_engine(url)
    db.create_all(engine)
    with engine.connect() as conn:
        n_setl = conn.execute(text("SELECT COUNT(*) FROM settlements")).scalar_one()
        n_journal = conn.execute(text("SELECT COUNT(*) FROM fund_journal")).scalar_one()
    if n_journal:
        sys.exit("the database already has fund postings; use a fresh copy")

    t = time.perf_counter()
    with engine.begin() as conn:
        c = contributions.post_contributions(conn, args.year)
    rows.append((f"yibao fund contributions --year {args.year}", time.perf_counter() - t, f"{c.rows:,} contribution rows, {c.journal_rows:,} journal rows"))
    t = time.perf_counter()
    with engine.begin() as conn:
        p = ledger.post(conn)
    rows.append(("yibao fund post (first)", time.perf_counter() - t, f"{n_setl:,} settlements → {p.rows:,} journal rows, {len(p.periods)} months aggregated"))
    t = time.perf_counter()
    with engine.begin() as conn:
        p2 = ledger.post(conn)
    rows.append(("yibao fund post (again: nothing new)", time.perf_counter() - t, f"{p2.rows} journal rows"))
    times = []
    with engine.connect() as conn:
        api.dashboard(conn, args.year, args.month)  # first call: imports, parameter files
        for _ in range(args.dashboard_runs):
            t = time.perf_counter()
            api.dashboard(conn, args.year, args.month)
            times.append(time.perf_counter() - t)
    rows.append((f"api.dashboard(conn, {args.year}, {args.month}) median of {args.dashboard_runs}", statistics.median(times),
                 f"slowest {max(times) * 1000:.0f} ms"))
    with engine.connect() as conn:
        t = time.perf_counter()
        result = indicators.compute(conn, args.year)
        rows.append((f"yibao fund kpi --year {args.year} (all indicators)", time.perf_counter() - t, f"{len(result['indicators'])} indicators"))
        out = args.work / "report"
        t = time.perf_counter()
        files = write_report(conn, args.year, args.month, out)
        rows.append((f"yibao fund report --month {args.year}-{args.month:02d}", time.perf_counter() - t, ", ".join(f.name for f in files)))
    print(f"\nbackend: {engine.dialect.name}; load average {os.getloadavg()[0]:.1f}\n")
    print("| step | time | what |\n|---|---|---|")
    for name, secs, what in rows:
        shown = f"{secs * 1000:.0f} ms" if secs < 1 else f"{secs:.1f} s"
        print(f"| {name} | {shown} | {what} |")


if __name__ == "__main__":
    main()
