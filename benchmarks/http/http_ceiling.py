"""The HTTP layer's own ceiling: the load client of ``bench_load.py`` against a trivial ASGI app
under the same uvicorn (httptools, uvloop), which reads each request body and answers a 1.5 KB
JSON envelope with infcode 0. What it reports — request pairs per second and the server's CPU
per pair — is what uvicorn and the socket cost before any of yibao's work.

    python benchmarks/http/http_ceiling.py                 # 3,000 pairs, the first 200 warm up
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_load  # noqa: E402

BODY = b'{"infcode":0,"output":{"padding":"' + b"x" * 1500 + b'"}}'


async def app(scope, receive, send):  # the trivial ASGI app the subprocess serves
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]})
    await send({"type": "http.response.body", "body": BODY})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=3000, help="request pairs (2301 + 2304 bodies) in all")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="yibao-ceiling-"))
    # Real signed requests of the benchmark's workload, so that the bytes on the wire are the same.
    claims, keys = bench_load.prepare(argparse.Namespace(claims=args.pairs, persons=1000, seed=11), f"sqlite:///{tmp / 'b.sqlite'}", tmp)
    bench_load.prepare_requests(claims, keys)
    port = bench_load.free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "http_ceiling:app", "--port", str(port), "--http", "httptools", "--loop", "uvloop",
         "--no-access-log", "--log-level", "warning"],
        cwd=Path(__file__).resolve().parent,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("uvicorn did not start")
                time.sleep(0.1)
        asyncio.run(bench_load.saturate("127.0.0.1", port, claims[:200], keys, 16))
        server0, client0 = bench_load.cpu_split(server.pid)[0], time.process_time()
        sat = asyncio.run(bench_load.saturate("127.0.0.1", port, claims[200:], keys, 16))
        server_cpu, client_cpu = bench_load.cpu_split(server.pid)[0] - server0, time.process_time() - client0
    finally:
        server.terminate()
        server.wait(timeout=10)
    per = 1000 / sat["count"]
    print(f"trivial ASGI app: {sat['rate']:,.0f} request pairs/s; CPU per pair: server {server_cpu * per:.3f} ms, "
          f"load client {client_cpu * per:.3f} ms; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
