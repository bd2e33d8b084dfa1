"""Benchmark: CHS-DRG grouping throughput.

Generates N realistic records (seeded) from the scheme's full code lists with
``yibao.grouping.casegen`` and reports cases per second for

1. grouping records already in memory, one process (``DrgGrouper.group_values``);
2. the whole ``yibao drg group`` job — read the CSV, group, write the result CSV — with
   1 process and with ``--jobs`` processes (default 2).

Usage:
    .venv/bin/python benchmarks/grouping/bench_drg.py              # 200,000 records
    .venv/bin/python benchmarks/grouping/bench_drg.py --n 1000000 --jobs 2

The scheme folder defaults to $YIBAO_SHARED_DATA/chs-drg-1.1, else the first
shared/data/chs-drg-1.1 beside the repository or one of its parents.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from yibao.grouping import casegen
from yibao.grouping.drg import DrgGrouper, load_scheme
from yibao.grouping.drg_io import group_csv

REPO = Path(__file__).resolve().parents[2]


def default_scheme() -> Path:
    env = os.environ.get("YIBAO_SHARED_DATA")
    if env:
        return Path(env) / "chs-drg-1.1"
    for parent in REPO.parents:
        if (parent / "shared" / "data" / "chs-drg-1.1").is_dir():
            return parent / "shared" / "data" / "chs-drg-1.1"
    return REPO.parent / "shared" / "data" / "chs-drg-1.1"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--scheme", type=Path, default=None)
    args = ap.parse_args()
    scheme_dir = args.scheme or default_scheme()
    if not (scheme_dir / "mdc.csv").is_file():
        print(f"scheme not found: {scheme_dir} (set YIBAO_SHARED_DATA or --scheme)", file=sys.stderr)
        return 2

    t = time.perf_counter()
    scheme = load_scheme(scheme_dir)
    grouper = DrgGrouper(scheme)
    t_load = time.perf_counter() - t
    t = time.perf_counter()
    records = list(casegen.generate(scheme, args.n, seed=args.seed))
    t_gen = time.perf_counter() - t

    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    fields = [(r.gender, r.age, r.age_days, r.weight, r.dx, r.px) for r in records]
    gv = grouper.group_values
    t, c = time.perf_counter(), time.process_time()
    counts: dict[str, int] = {}
    for f in fields:
        status = gv(*f)[0].value
        counts[status] = counts.get(status, 0) + 1
    t_mem, c_mem = time.perf_counter() - t, time.process_time() - c

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "cases.csv"
        casegen.write_csv(records, src)
        size_mb = src.stat().st_size / 1e6
        del records, fields
        g1 = DrgGrouper(scheme)
        t, c = time.perf_counter(), time.process_time()
        group_csv(src, Path(tmp) / "out1.csv", g1, jobs=1)
        t_file1, c_file1 = time.perf_counter() - t, time.process_time() - c
        t = time.perf_counter()
        summary = group_csv(src, Path(tmp) / "outn.csv", DrgGrouper(scheme), jobs=args.jobs)
        t_filen = time.perf_counter() - t
        same = (Path(tmp) / "out1.csv").read_bytes() == (Path(tmp) / "outn.csv").read_bytes()

    n = args.n
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"scheme {scheme_dir}: load+compile {t_load:.2f} s; generated {n:,} records (seed {args.seed}) in {t_gen:.1f} s, CSV {size_mb:.1f} MB")
    print(f"statuses: {dict(sorted(counts.items()))}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average before the timed runs: {load_before:.2f}, after: {load:.2f} (other work on the machine slows wall-clock figures)")
    print(f"in memory, 1 process        : {n / t_mem:>10,.0f} cases/s wall ({t_mem:.2f} s), {n / c_mem:,.0f} cases per CPU-second")
    print(f"CSV in -> CSV out, 1 process: {n / t_file1:>10,.0f} cases/s wall ({t_file1:.2f} s), {n / c_file1:,.0f} cases per CPU-second")
    print(f"CSV in -> CSV out, {summary.jobs} procs  : {n / t_filen:>10,.0f} cases/s ({t_filen:.2f} s)  same output: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
