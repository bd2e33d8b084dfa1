"""Benchmark: DIP catalogue + a year's clearing.

Generates a synthetic settlement file (``yibao.grouping.casegen.settlements``, seeded) with
``--history-per-year`` cases in each of the three catalogue years and ``--cases`` cases in the
clearing year, then times ``build_catalogue`` over the three years plus ``clear_year`` (scoring,
point value, monthly pre-settlement, year-end clearing and writing every output file, including
one statement per hospital), as ``yibao dip build`` + ``yibao dip clear`` do.

Usage:
    .venv/bin/python benchmarks/grouping/bench_dip.py                       # 1,000,000 + 3 × 1,000,000
    .venv/bin/python benchmarks/grouping/bench_dip.py --cases 1000000 --history-per-year 1000000 --format csv
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from yibao.grouping import casegen
from yibao.grouping.dip import DipParams, build_catalogue, clear_year
from yibao.grouping.drg import load_scheme

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
    ap.add_argument("--cases", type=int, default=1_000_000, help="cases in the clearing year")
    ap.add_argument("--history-per-year", type=int, default=1_000_000)
    ap.add_argument("--hospitals", type=int, default=300)
    ap.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    scheme_dir = default_scheme()
    if not (scheme_dir / "mdc.csv").is_file():
        print(f"scheme not found: {scheme_dir} (set YIBAO_SHARED_DATA)", file=sys.stderr)
        return 2
    scheme = load_scheme(scheme_dir)
    t = time.perf_counter()
    import pyarrow as pa

    hist = casegen.settlements(scheme, [2021, 2022, 2023], args.history_per_year, n_hospitals=args.hospitals, seed=args.seed)
    year = casegen.settlements(scheme, [2024], args.cases, n_hospitals=args.hospitals, seed=args.seed + 1)
    table = pa.concat_tables([hist, year])
    t_gen = time.perf_counter() - t
    params = DipParams.load(None, dt.date(2024, 12, 31))
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"cases.{args.format}"
        casegen.write_settlements(table, src)
        size_mb = src.stat().st_size / 1e6
        del table, hist, year
        t0 = time.perf_counter()
        cat = build_catalogue(src, [2021, 2022, 2023], params)
        cat.write(Path(tmp) / "catalogue")
        t1 = time.perf_counter()
        r = clear_year(src, cat, 2024, 10_000_000_000_00, params, out=Path(tmp) / "clear")
        t2 = time.perf_counter()
    core = sum(1 for g in cat.groups.values() if g.kind == "core")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"generated {3 * args.history_per_year:,} history + {args.cases:,} clearing-year cases in {t_gen:.1f} s "
          f"({args.format}, {size_mb:.0f} MB, {args.hospitals} hospitals)")
    print(f"catalogue: {len(cat.groups):,} groups ({core:,} core) from {cat.n_cases:,} cases: {t1 - t0:.1f} s")
    print(f"clearing : {r.n_cases:,} cases, {len(r.hospitals)} statements, point value "
          f"{float(r.point_value) / 100:.4f} yuan: {t2 - t1:.1f} s")
    print(f"catalogue + clearing: {t2 - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
