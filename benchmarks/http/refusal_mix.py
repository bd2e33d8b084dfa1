"""Refused and good requests in the same write groups, over HTTP under load; the books checked after.

    python benchmarks/http/refusal_mix.py                                                  # SQLite
    python benchmarks/http/refusal_mix.py postgresql://postgres@127.0.0.1:5432/yibao_bench   # PostgreSQL

For each of 600 admitted claims, one of 16 keep-alive connections sends a 2301 whose sixth line
has a negative price (refused whole), then the good 2301, the 2304, and the same 2304 again (the
stored answer). ``yibao serve --workers 2`` writes whatever arrives together as one group, so
refused uploads share groups with good ones (the group is then written again with a savepoint
per request). At the end: every bad upload refused, nothing of it stored or logged, every
settlement stored once, every repeated 2304 answered identically.
"""
import argparse
import asyncio
import copy
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_load as b  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from yibao.storage import db  # noqa: E402
from yibao.storage import schema as s  # noqa: E402

url_arg = sys.argv[1] if len(sys.argv) > 1 else None
tmp = Path(tempfile.mkdtemp())
url = url_arg or f"sqlite:///{tmp/'live.sqlite'}"
claims, keys = b.prepare(argparse.Namespace(claims=600, persons=400, seed=3), url, tmp)
bad_msgids = []
reqs = []
for n, c in enumerate(claims):
    key = keys[c["code"]]
    lines = copy.deepcopy(c["lines"])
    bad = copy.deepcopy(lines)
    bad[5]["pric"] = "-1"
    for line in bad:
        line["feedetl_sn"] = "X" + line["feedetl_sn"]
    e_bad = b.envelope("2301", c, {"feedetail": bad}, 5000 + n)
    bad_msgids.append(e_bad["msgid"])
    reqs.append([b.http_request(e_bad, key), b.http_request(b.envelope("2301", c, {"feedetail": lines}, n), key),
                 b.http_request(b.envelope("2304", c, {"data": c["settle"]}, n), key)])
port = b.free_port()
server = subprocess.Popen([sys.executable, "-m", "yibao.cli", "serve", "--port", str(port), "--workers", "2", "--database-url", url,
                           "--data-dir", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        break
    except OSError:
        time.sleep(0.2)
time.sleep(2)
outcome = {"bad_refused": 0, "good": 0, "other": []}
async def one(conn, trio):
    a = await conn.post(trio[0])
    if a["infcode"] == -1 and "pric" in a["err_msg"]: outcome["bad_refused"] += 1
    else: outcome["other"].append(a.get("err_msg"))
    up = await conn.post(trio[1])
    st = await conn.post(trio[2])
    again = await conn.post(trio[2])   # the same settlement message again: the stored answer
    if up["infcode"] == 0 and st["infcode"] == 0 and again == st: outcome["good"] += 1
    else: outcome["other"].append((up.get("err_msg"), st.get("err_msg")))
async def main():
    queue = list(reqs)
    async def worker():
        c = b.Connection("127.0.0.1", port)
        await c.open()
        while queue:
            await one(c, queue.pop())
    await asyncio.gather(*(worker() for _ in range(16)))
asyncio.run(main())
server.terminate()
server.wait(20)
e = db.make_engine(url)
with e.connect() as conn:
    setl = conn.execute(select(func.count()).select_from(s.settlements)).scalar()
    lines = conn.execute(select(func.count()).select_from(s.fee_lines)).scalar()
    logged_bad = conn.execute(select(func.count()).select_from(s.request_log).where(s.request_log.c.msgid.in_(bad_msgids))).scalar()
print(f"claims {len(claims)}: refused bad uploads {outcome['bad_refused']}, good settle+replay {outcome['good']}, other {outcome['other'][:3]}")
print(f"stored: settlements {setl}, fee lines {lines} (expected {20*len(claims)}), bad msgids in the request log {logged_bad}")
ok = (outcome["bad_refused"] == outcome["good"] == setl == len(claims) and lines == 20 * len(claims) and logged_bad == 0
      and not outcome["other"])
print("check:", "all as expected" if ok else "NOT as expected")
sys.exit(0 if ok else 1)
