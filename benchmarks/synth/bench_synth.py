"""Benchmark of the synthetic region generator.

    .venv/bin/python benchmarks/synth/bench_synth.py --persons 20000 100000 1000000
    .venv/bin/python benchmarks/synth/bench_synth.py --persons 100000 --years 2022-2024

Each size runs in a fresh subprocess (so that peak memory is per run) and writes into a temporary
directory that is removed afterwards. Prints one line per run and, with --json, the figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from yibao.synth import generate
persons, seed, years, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
t = time.perf_counter()
m = generate(persons=persons, seed=seed, out=out, years=years)
wall = time.perf_counter() - t
size = sum(p.stat().st_size for p in Path(out).rglob('*') if p.is_file())
rc = m['row_counts']
print(json.dumps({'persons': persons, 'years': years, 'seconds': round(wall, 1),
                  'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                  'encounters': rc['encounters'], 'fee_lines': rc['fee_lines'], 'labels': rc['labels'],
                  'fee_lines_per_s': int(rc['fee_lines'] / wall), 'disk_mb': size // 2**20}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, nargs="+", default=[20_000, 100_000])
    ap.add_argument("--years", default="2024")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON list")
    args = ap.parse_args()
    results = []
    for n in args.persons:
        with tempfile.TemporaryDirectory(prefix="bench-synth-") as tmp:
            out = Path(tmp) / "region"
            proc = subprocess.run([sys.executable, "-c", CHILD, str(n), str(args.seed), args.years, str(out)],
                                  capture_output=True, text=True, check=True)
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            results.append(r)
            print(f"persons={r['persons']:>9,} years={r['years']:<9} {r['seconds']:>7.1f} s  "
                  f"peak {r['peak_rss_mb']:>6,} MB  encounters {r['encounters']:>10,}  fee lines {r['fee_lines']:>11,}  "
                  f"({r['fee_lines_per_s']:,}/s)  disk {r['disk_mb']:,} MB", flush=True)
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
