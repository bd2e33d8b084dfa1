"""Load benchmark of the interface over HTTP: 20-line inpatient claims settled end to end.

    python benchmarks/http/bench_load.py --claims 6000 --workers 2                   # SQLite
    python benchmarks/http/bench_load.py --claims 6000 --workers 2 \\
        --database-url postgresql://postgres@127.0.0.1:5432/yibao_bench               # PostgreSQL

What it does:
  1. builds the seeded workload of ``benchmarks/settlement/workload.py`` (persons, institutions,
     catalogue, 20-line claims), loads it into a fresh database and issues one gateway key per
     institution;
  2. admits every claim's patient (2401, in process: admissions are not what is measured);
  3. starts ``yibao serve --workers N`` as a subprocess on a free loopback port;
  4. saturation: C keep-alive connections each send, for one claim after another, 2301 (the 20
     fee lines) then 2304 (the settlement), signed with the gateway headers (HMAC-SHA1);
  5. paced: the same at 80 % of the measured saturation rate (open loop, fixed arrival times),
     for the latencies a hospital sees when the platform is busy but not overloaded.
It reports settlements/s (one settlement = 2301 + 2304) and p50/p99 latency of the settlement
(both requests) and of each request; then, from the workers' access logs, the paced phase's
latency as the server saw it and how the requests were spread over the workers.
``--rate N`` paces at N settlements/s instead of 80 % of the measured rate: the same load for
both sides of an A/B of latencies. The load client is a small asyncio HTTP/1.1 client (no
third-party HTTP library) so that it takes as little of the shared CPU as possible; it runs on
the same machine as the server. Like wrk or h2load it sends requests prepared beforehand: every
envelope is serialised and signed (gateway headers, HMAC-SHA1, well inside the 30-minute
window) before the clock starts, so the client's CPU goes to sending and reading. Every answer is checked (infcode 0), and the number of settlements
in the database is compared with the number sent.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "settlement"))

from workload import build  # noqa: E402

from yibao import jsonio  # noqa: E402
from yibao.interface.gateway import signed_headers  # noqa: E402


def prepare(args, url: str, data_dir: Path):
    from sqlalchemy import text

    from yibao.interface import Platform
    from yibao.interface.client import InProcess, InterfaceClient
    from yibao.interface.gateway import issue_key
    from yibao.registry import store
    from yibao.storage import db

    work = build(args.claims, args.persons, seed=args.seed)
    engine = db.make_engine(url)
    db.create_all(engine)
    db.reset(engine)
    with engine.begin() as conn:
        store.upsert_catalogue(conn, work.catalogue)
        store.upsert_institutions(conn, work.institutions)
        store.upsert_persons(conn, [
            store.PersonRecord(p["psn_no"], p["certno"], p["psn_name"], p["gend"], p["brdy"], p["insutype"], p["psn_type"],
                               p["insu_admdvs"], p["assistance"], p["cvlserv"], p["acct_balc"])
            for p in work.persons
        ])
        try:
            from yibao.interface.sealing import SecretBox
        except ImportError:  # code from before secrets were sealed (an A/B run against an older commit)
            sealing = {}
        else:  # the data folder the server runs on: its master key opens the sealed secrets
            sealing = {"box": SecretBox.of(data_dir)}
        keys = {i["fixmedins_code"]: issue_key(conn, i["fixmedins_code"], **sealing) for i in work.institutions}
    platform = Platform(engine)
    persons = {p["psn_no"]: p for p in work.persons}
    claims = []
    clients: dict[str, InterfaceClient] = {}
    started = time.perf_counter()
    for n, c in enumerate(work.claims):
        code = c["fixmedins_code"]
        when = dt.datetime.combine(c["date"], dt.time(10, 0))
        client = clients.setdefault(code, InterfaceClient(InProcess(platform), code))
        client.clock = lambda when=when: when
        p = persons[c["psn_no"]]
        mdtrt_id = client.admit(psn_no=p["psn_no"], insutype=p["insutype"], med_type="21",
                                begntime=f"{c['date'] - dt.timedelta(days=3)} 08:00:00", ipt_no=f"B{n}")
        lines = client.fee_lines(mdtrt_id, p["psn_no"], c["lines"])
        total = sum((pric * cnt for _, pric, cnt in c["lines"]), start=0)
        claims.append({"code": code, "when": when, "mdtrt_id": mdtrt_id, "lines": lines,
                       "settle": client.settle_data(mdtrt_id, p["psn_no"], p["insutype"], str(total))})
    print(f"  prepared {len(claims):,} admissions in {time.perf_counter() - started:.0f} s", flush=True)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    engine.dispose()
    return claims, keys


class Verdict(msgspec.Struct):
    """What the load client reads of an answer while it measures: msgspec passes over the rest
    (the 20 result rows, their exact decimals) without building it, so the client takes less of
    the CPU it shares with the server."""

    infcode: int
    err_msg: str | None = None


_verdict = msgspec.json.Decoder(Verdict)


class Connection:
    """One keep-alive HTTP/1.1 connection that posts envelopes and reads JSON answers."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, request: bytes, *, verdict: bool = False) -> "dict | Verdict":
        """The answer as a dict, or only its ``Verdict`` (infcode, err_msg)."""
        self.writer.write(request)
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        payload = await self.reader.readexactly(length)
        if b" 200 " not in status_line:
            raise RuntimeError(f"HTTP {status_line!r}: {payload[:200]!r}")
        return _verdict.decode(payload) if verdict else jsonio.loads(payload)


def envelope(infno: str, claim: dict, payload: dict, seq: int) -> dict:
    when = claim["when"]
    return {"infno": infno, "msgid": f"{claim['code']}{when:%Y%m%d%H%M%S}{seq:04d}{infno}"[:40], "mdtrtarea_admvs": "",
            "insuplc_admdvs": "", "recer_sys_code": "YBXT", "infver": "1.0.0", "opter_type": "1", "opter": "0001",
            "opter_name": "收费员", "inf_time": when.strftime("%Y-%m-%d %H:%M:%S"), "fixmedins_code": claim["code"],
            "fixmedins_name": "", "sign_no": "", "input": payload}


def http_request(envelope: dict, key, host: str = "127.0.0.1") -> bytes:
    """One signed POST of an envelope, as bytes ready for the socket."""
    body = jsonio.dumps(envelope)
    headers = signed_headers(envelope["infno"], access_key=key.access_key, secret=key.secret)
    head = (f"POST /fsi/api/callService HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()
    return head + body


def prepare_requests(claims: list[dict], keys, offset: int = 0) -> None:
    """Serialise and sign each claim's 2301 and 2304 before the clock starts."""
    for n, claim in enumerate(claims):
        key = keys[claim["code"]]
        claim["requests"] = (
            http_request(envelope("2301", claim, {"feedetail": claim["lines"]}, offset + n), key),
            http_request(envelope("2304", claim, {"data": claim["settle"]}, offset + n), key),
        )


async def settle_one(conn: Connection, claim: dict, n: int, keys, request_ms: list) -> float:
    upload, settle = claim["requests"]
    t0 = time.perf_counter()
    up = await conn.post(upload, verdict=True)
    t1 = time.perf_counter()
    done = await conn.post(settle, verdict=True)
    t2 = time.perf_counter()
    if up.infcode != 0 or done.infcode != 0:
        raise RuntimeError(f"claim {n} refused: {up.err_msg or done.err_msg}")
    request_ms.extend(((t1 - t0) * 1000, (t2 - t1) * 1000))
    return (t2 - t0) * 1000


async def saturate(host, port, claims, keys, connections: int) -> dict:
    queue = list(enumerate(claims))
    queue.reverse()
    settle_ms: list[float] = []
    request_ms: list[float] = []

    async def worker():
        conn = Connection(host, port)
        await conn.open()
        while queue:
            n, claim = queue.pop()
            settle_ms.append(await settle_one(conn, claim, n, keys, request_ms))
        conn.writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - start
    return {"count": len(settle_ms), "rate": len(settle_ms) / elapsed, "settle": settle_ms, "request": request_ms, "elapsed": elapsed}


async def paced(host, port, claims, keys, rate: float, connections: int, offset: int) -> dict:
    """Open loop: claim i starts at start + i/rate on a free connection (latency counts from its
    scheduled start, so queueing behind a busy connection is included)."""
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        conn = Connection(host, port)
        await conn.open()
        pool.put_nowait(conn)
    settle_ms: list[float] = []
    request_ms: list[float] = []
    start = time.perf_counter() + 0.05
    late = 0

    async def one(i, claim):
        nonlocal late
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        conn = await pool.get()
        waited = (time.perf_counter() - due) * 1000
        if waited > 1:
            late += 1
        ms = await settle_one(conn, claim, offset + i, keys, request_ms)
        settle_ms.append(ms + max(waited, 0.0))
        pool.put_nowait(conn)

    await asyncio.gather(*(one(i, c) for i, c in enumerate(claims)))
    elapsed = time.perf_counter() - start
    return {"count": len(settle_ms), "rate": len(settle_ms) / elapsed, "settle": settle_ms, "request": request_ms, "late": late}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def cpu_split(root: int) -> tuple[float, float]:
    """CPU seconds (user + system) of (the server process and its workers, every postgres
    process): CPU per settlement does not depend on what else the shared machine is doing."""
    tick = os.sysconf("SC_CLK_TCK")
    server = database = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        pid, ppid = int(entry), int(fields[1])
        used = (int(fields[11]) + int(fields[12])) / tick
        if pid == root or ppid == root:
            server += used
        elif comm == "postgres":
            database += used
    return server, database


def server_side(data_dir: Path, paced_requests: int) -> str:
    """The paced phase as the server saw it, from the workers' access logs: latency from the
    request's arrival to its answer (no client or kernel time), and how the requests were
    spread over the worker processes (one log per worker)."""
    entries = []
    for path in sorted((data_dir / "logs").glob("interface-access*.log")):
        for line in path.read_text().splitlines():
            entry = jsonio.loads(line)
            entries.append((entry["time"], float(entry["latency_ms"]), path.stem))
    entries.sort()
    paced = entries[-paced_requests:]
    latency = [ms for _, ms, _ in paced]
    spread = {}
    for _, _, worker in paced:
        spread[worker] = spread.get(worker, 0) + 1
    return (f"server side, paced phase: request p50 {pct(latency, 50):.1f} ms p99 {pct(latency, 99):.1f} ms; "
            f"requests per worker {sorted(spread.values(), reverse=True)}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=6000, help="claims in all (saturation uses 2/3, paced 1/3)")
    parser.add_argument("--persons", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (yibao serve --workers)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent client connections")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--pace", type=float, default=0.8, help="paced phase: this fraction of the saturation rate")
    parser.add_argument("--rate", type=float, default=None,
                        help="paced phase: this many settlements/s instead (the same load for an A/B of latencies)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="yibao-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite'}"
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"{backend}, {args.workers} server worker(s), {args.connections} client connections, {os.cpu_count()} CPUs shared "
          f"by server and client", flush=True)
    claims, keys = prepare(args, url, tmp)
    prepare_requests(claims, keys)
    port = free_port()
    env = dict(os.environ, YIBAO_API_SECRET="bench-secret-0123456789abcdef0123456789")
    server = subprocess.Popen(
        [sys.executable, "-m", "yibao.cli", "serve", "--port", str(port), "--workers", str(args.workers),
         "--database-url", url, "--data-dir", str(tmp)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("server did not start: " + (server.stderr.read().decode()[-2000:] if server.poll() is not None else ""))
                time.sleep(0.2)
        time.sleep(1.0 * args.workers)  # let every worker import and warm up
        split = len(claims) * 2 // 3
        warm = min(200, split // 10)
        asyncio.run(saturate("127.0.0.1", port, claims[:warm], keys, args.connections))  # caches, connection pools
        split0 = cpu_split(server.pid)
        client0 = time.process_time()
        sat = asyncio.run(saturate("127.0.0.1", port, claims[warm:split], keys, args.connections))
        client = time.process_time() - client0
        split1 = cpu_split(server.pid)
        server_cpu, database_cpu = split1[0] - split0[0], split1[1] - split0[1]
        cpu = server_cpu + (database_cpu if backend == "PostgreSQL" else 0.0)
        per = 1000 / sat["count"]
        print(f"load average (1 min): {os.getloadavg()[0]:.2f}; server{' + PostgreSQL' if backend == 'PostgreSQL' else ''} CPU "
              f"{cpu:.1f} s for {sat['count']:,} settlements = {sat['count'] / cpu:,.0f} settlements per server CPU-second")
        print(f"CPU per settlement: server {server_cpu * per:.2f} ms"
              + (f", PostgreSQL {database_cpu * per:.2f} ms" if backend == "PostgreSQL" else "")
              + f", load client {client * per:.2f} ms", flush=True)
        print(f"saturation: {sat['rate']:,.0f} settlements/s ({sat['count']:,} settlements = {2 * sat['count']:,} requests "
              f"in {sat['elapsed']:.1f} s); settlement p50 {pct(sat['settle'], 50):.1f} ms p99 {pct(sat['settle'], 99):.1f} ms; "
              f"request p50 {pct(sat['request'], 50):.1f} ms p99 {pct(sat['request'], 99):.1f} ms", flush=True)
        target = args.rate or args.pace * sat["rate"]
        pace = asyncio.run(paced("127.0.0.1", port, claims[split:], keys, target, args.connections, split))
        print(f"paced at {target / sat['rate']:.0%} ({target:,.0f}/s offered, {pace['rate']:,.0f}/s achieved, {pace['count']:,} settlements): "
              f"settlement p50 {pct(pace['settle'], 50):.1f} ms p99 {pct(pace['settle'], 99):.1f} ms; "
              f"request p50 {pct(pace['request'], 50):.1f} ms p99 {pct(pace['request'], 99):.1f} ms; "
              f"{pace['late']} started >1 ms late", flush=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    print(server_side(tmp, 2 * len(claims[split:])), flush=True)
    from sqlalchemy import func, select

    from yibao.storage import db
    from yibao.storage import schema as s

    engine = db.make_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(s.settlements)).scalar_one()
    print(f"check: {stored:,} settlements stored for {len(claims):,} claims sent", flush=True)
    if stored != len(claims):
        raise SystemExit("settlement count does not match")


if __name__ == "__main__":
    main()
