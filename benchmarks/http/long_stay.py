"""A long stay's fee uploads: the cost of one 20-line 2301 as the encounter's stored lines grow.

A hospital uploads an inpatient's fees daily or more often; a long stay ends with thousands of
lines. This uploads ``--batches`` batches of 20 lines into one admission (in process, through
``Platform.call``, SQLite file) and prints the CPU time of an upload at several sizes, so that a
cost that grows with the stored lines shows.

    python benchmarks/http/long_stay.py --batches 200        # up to 4,000 stored lines
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "interface"))

from interfaceworld import DAY, seed_world  # noqa: E402

from yibao.interface import Platform  # noqa: E402
from yibao.interface.client import InProcess, InterfaceClient  # noqa: E402
from yibao.storage import db  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=200, help="20-line uploads into one admission")
    args = parser.parse_args()
    engine = db.make_engine(f"sqlite:///{Path(tempfile.mkdtemp(prefix='yibao-stay-')) / 'stay.sqlite'}")
    db.create_all(engine)
    seed_world(engine)
    hospital = InterfaceClient(InProcess(Platform(engine)), "H51140200001", clock=lambda: DAY)
    mdtrt_id = hospital.admit(psn_no="P1", insutype="390", med_type="21", begntime="2020-01-01 08:00:00")
    report = {1, 10, 50, 100, 150, 200, 300, 400, 500}
    window: list[float] = []
    for n in range(1, args.batches + 1):
        lines = hospital.fee_lines(mdtrt_id, "P1", [("XA", 12.5, 2)] * 10 + [("XB", 3, 4)] * 10, start=(n - 1) * 20 + 1,
                                   when=f"{DAY - dt.timedelta(days=1):%Y-%m-%d} 10:00:00")
        cpu = time.process_time()
        hospital.ok("2301", {"feedetail": lines})
        window.append((time.process_time() - cpu) * 1000)
        if n in report or n == args.batches:
            recent = sorted(window[-10:])
            print(f"upload {n:4d} (stored lines before it: {(n - 1) * 20:5,d}): {recent[len(recent) // 2]:.2f} ms CPU "
                  f"(median of the last {len(recent)})", flush=True)


if __name__ == "__main__":
    main()
