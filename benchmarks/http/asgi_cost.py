"""CPU and instructions per settlement on the server side of the interface, without sockets.

The ASGI application of ``yibao serve`` is called directly with prepared, signed 2301 + 2304
requests (the gateway check, JSON, group commit, platform and SQLite all run; uvicorn's HTTP
parser and the socket do not). Prints CPU milliseconds per settlement. Because this VM's speed
varies over a day, compare code versions by instruction counts, which do not move:

    python benchmarks/http/asgi_cost.py --claims 1100                 # CPU ms per settlement
    valgrind --tool=callgrind python benchmarks/http/asgi_cost.py --claims 300
    valgrind --tool=callgrind python benchmarks/http/asgi_cost.py --claims 300 --stop-before
    # (instructions of the first − the second) / 200 = instructions per settlement

The first 100 claims warm up; the rest are measured.
"""

from __future__ import annotations

import argparse
import asyncio
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

from yibao.interface.server import create_app  # noqa: E402
from yibao.storage import db  # noqa: E402

WARM = 100


def scope_of(raw: bytes) -> tuple[dict, bytes]:
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")[1:]
    headers = [(k.strip().lower(), v.strip()) for k, v in (line.split(b":", 1) for line in lines)]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/fsi/api/callService", "raw_path": b"/fsi/api/callService", "query_string": b"", "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 1234), "server": ("127.0.0.1", 80)}
    return scope, body


async def post(app, raw: bytes) -> None:
    scope, body = scope_of(raw)
    delivered = False

    async def receive():
        nonlocal delivered
        if delivered:
            await asyncio.sleep(3600)
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    if b'"infcode":0' not in sent[-1]["body"]:
        raise RuntimeError(sent[-1]["body"][:300])


async def drive(app, claims: list[dict], connections: int) -> None:
    queue = list(reversed(claims))

    async def client():
        while queue:
            upload, settle = queue.pop()["requests"]
            await post(app, upload)
            await post(app, settle)

    await asyncio.gather(*(client() for _ in range(connections)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=1100, help=f"claims in all; the first {WARM} warm up")
    parser.add_argument("--connections", type=int, default=8, help="concurrent callers")
    parser.add_argument("--stop-before", action="store_true", help="stop before the measured part (for instruction counts)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="yibao-asgi-"))
    url = f"sqlite:///{tmp / 'bench.sqlite'}"
    claims, keys = bench_load.prepare(argparse.Namespace(claims=args.claims, persons=1000, seed=11), url, tmp)
    bench_load.prepare_requests(claims, keys)
    app = create_app(db.make_engine(url), data_dir=tmp, api_secret="bench-secret-0123456789abcdef0123456789")
    asyncio.run(drive(app, claims[:WARM], args.connections))
    if args.stop_before:
        return
    measured = claims[WARM:]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    asyncio.run(drive(app, measured, args.connections))
    cpu = time.process_time() - cpu0
    print(f"{len(measured):,} settlements through the ASGI app: {cpu / len(measured) * 1000:.2f} ms CPU each, "
          f"{len(measured) / (time.perf_counter() - wall0):,.0f}/s")


if __name__ == "__main__":
    main()
