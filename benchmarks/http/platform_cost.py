"""CPU and instructions per settlement in the platform alone: no HTTP, no event loop, no threads.

The prepared, signed 2301 + 2304 envelopes of ``bench_load.py`` go straight to
``Platform.call_many`` in groups of 8, as ``yibao serve``'s writer gives them. What is measured
is routing, parsing and pricing the fee lines, the settlement, the booking and the database
driver (SQLite in process; on PostgreSQL only the client side). Because this VM's speed varies
over a day, compare code versions by instruction counts, which do not move:

    python benchmarks/http/platform_cost.py --claims 1000                  # CPU ms per settlement
    python benchmarks/http/platform_cost.py --claims 1000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/yibao_bench
    valgrind --tool=callgrind python benchmarks/http/platform_cost.py --claims 200 --quiet
    valgrind --tool=callgrind python benchmarks/http/platform_cost.py --claims 0 --quiet
    # (instructions of the first − the second) / 200 = instructions per settlement

An older commit is measured the same way from a worktree: ``PYTHONPATH=<worktree>/src``.
The first 100 claims warm up (caches, prepared statements); ``--claims`` more are measured.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

# Instruction counts must not depend on how long a run takes: under valgrind a run lasts minutes,
# and the audit library's compiled form, cached for 60 s of wall time, would be rebuilt a
# varying number of times inside the measured part (millions of instructions each time).
os.environ.setdefault("YIBAO_AUDIT_CACHE_SECONDS", "1000000000")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_load  # noqa: E402

from yibao import jsonio  # noqa: E402
from yibao.interface.platform import Platform  # noqa: E402
from yibao.storage import db  # noqa: E402

WARM = 100
GROUP = 8


def envelopes_of(claims: list[dict]) -> list[dict]:
    return [jsonio.loads(raw.split(b"\r\n\r\n", 1)[1]) for claim in claims for raw in claim["requests"]]


def serve(platform: Platform, envelopes: list[dict]) -> None:
    for start in range(0, len(envelopes), GROUP):
        for answer in platform.call_many(envelopes[start : start + GROUP]):
            if answer["infcode"] != 0:
                raise RuntimeError(answer["err_msg"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=1000, help=f"claims measured, after {WARM} to warm up")
    parser.add_argument("--persons", type=int, default=1000)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--quiet", action="store_true", help="print nothing (for instruction counts)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="yibao-platform-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite'}"
    claims, keys = bench_load.prepare(argparse.Namespace(claims=WARM + args.claims, persons=args.persons, seed=11), url, tmp)
    bench_load.prepare_requests(claims, keys)
    platform = Platform(db.make_engine(url))
    serve(platform, envelopes_of(claims[:WARM]))
    measured = envelopes_of(claims[WARM:])
    cpu0 = time.process_time()
    serve(platform, measured)
    cpu = time.process_time() - cpu0
    if not args.quiet and args.claims:
        print(f"{args.claims:,} settlements in the platform ({'PostgreSQL' if url.startswith('postgres') else 'SQLite'}): "
              f"{cpu / args.claims * 1000:.2f} ms CPU each")


if __name__ == "__main__":
    main()
