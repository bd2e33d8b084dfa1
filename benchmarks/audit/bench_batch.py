"""Benchmark of the audit batch engines: every rule of the library over a whole region.

    .venv/bin/python benchmarks/audit/bench_batch.py --region /tmp/r200k            # DuckDB
    .venv/bin/python benchmarks/audit/bench_batch.py --region /tmp/r200k --engine spark
    .venv/bin/python benchmarks/audit/bench_batch.py --persons 200000 --seed 5      # generates into /tmp first

A region of 200,000 persons (one year) has about 10 million fee lines. Prints the time to build the
shared views (``prepare``: reading the Parquet files and materialising ``ex``/``lx``), each rule's
query, the total, the findings and the peak resident memory; ``--json`` for the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--region", type=Path)
    ap.add_argument("--persons", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    ap.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from yibao.audit import batch, knowledge
    from yibao.audit.library import load_library

    tmp = None
    region = args.region
    if region is None:
        from yibao.synth import generate

        tmp = tempfile.TemporaryDirectory(prefix="yibao-bench-audit-", dir="/tmp")
        region = Path(tmp.name) / "region"
        t = time.perf_counter()
        generate(persons=args.persons, seed=args.seed, out=region, progress=False)
        print(f"generated {region} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    import pyarrow.parquet as pq

    lines = sum(pq.ParquetFile(p).metadata.num_rows for p in (region / "fee_lines").glob("*/*.parquet"))
    lib = load_library()
    tables, _ = knowledge.resolve(lib, region=region)
    cpu0 = os.times()
    t = time.perf_counter()
    if args.engine == "spark":
        from yibao.audit import spark

        result = spark.run(region, lib, tables)
    else:
        result = batch.run(region, lib, tables, threads=args.threads)
    wall = time.perf_counter() - t
    cpu1 = os.times()
    figures = {
        "engine": args.engine, "fee_lines": lines, "rules": len(lib.enabled_rules()), "seconds": round(wall, 2),
        "prepare_seconds": round(result.timings["prepare"], 2),
        "rules_seconds": round(sum(v for k, v in result.timings.items() if k != "prepare"), 2),
        "cpu_seconds": round((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system), 1),
        "findings": len(result.findings), "errors": result.errors,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "load_avg": round(os.getloadavg()[0], 1),
        "slowest": sorted(((k, round(v, 2)) for k, v in result.timings.items() if k != "prepare"), key=lambda x: -x[1])[:6],
    }
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
    else:
        print(f"{args.engine}: {lines:,} fee lines, {figures['rules']} rules: {wall:.1f} s "
              f"(prepare {figures['prepare_seconds']} s, rules {figures['rules_seconds']} s), "
              f"{len(result.findings):,} findings, peak {figures['peak_rss_mb']:,} MB, load {figures['load_avg']}")
        print("slowest rules:", ", ".join(f"{k} {v} s" for k, v in figures["slowest"]))
    if tmp is not None:
        tmp.cleanup()
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
