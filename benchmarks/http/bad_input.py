"""Bad input against a live ``yibao serve`` (SQLite in a temporary folder), as a hospital system
might send it, and what was stored afterwards:

    python benchmarks/http/bad_input.py
    python benchmarks/http/bad_input.py postgresql://postgres@127.0.0.1:5432/yibao_bad   # emptied first

malformed JSON, an unknown infno, an unknown catalogue code (accepted, wholly self-paid), a
negative price, a settlement sent twice with the same msgid (one settlement, the same answer),
and the same msgid with another body (refused as 重复报文). The same cases are tests in
tests/interface and tests/http; this shows them over real HTTP with signed gateway headers.
"""
import argparse, copy, socket, subprocess, sys, tempfile, time, json
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_load as b
import httpx
from sqlalchemy import func, select
from yibao.interface.gateway import signed_headers
from yibao.storage import db
from yibao.storage import schema as s

tmp = Path(tempfile.mkdtemp()); url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{tmp/'bad.sqlite'}"
claims, keys = b.prepare(argparse.Namespace(claims=3, persons=20, seed=5), url, tmp)
port = b.free_port()
srv = subprocess.Popen([sys.executable, "-m", "yibao.cli", "serve", "--port", str(port), "--database-url", url, "--data-dir", str(tmp)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for _ in range(100):
    try: socket.create_connection(("127.0.0.1", port), 0.5).close(); break
    except OSError: time.sleep(0.2)
time.sleep(1)
c = claims[0]; key = keys[c["code"]]
def post(env, body=None):
    h = signed_headers(env["infno"], access_key=key.access_key, secret=key.secret)
    r = httpx.post(f"http://127.0.0.1:{port}/fsi/api/callService", content=body if body is not None else json.dumps(env, ensure_ascii=False, default=str).encode(),
                   headers={**h, "Content-Type": "application/json"})
    return r.status_code, r.json()
up = b.envelope("2301", c, {"feedetail": c["lines"]}, 1)
st, a = post(up, body=json.dumps(up, default=str).encode()[:-2] + b",}")
print("malformed JSON ->", st, a["infcode"], a["err_msg"][:80])
bad = copy.deepcopy(up); bad["infno"] = "9999"; bad["msgid"] = bad["msgid"][:-4] + "9999"
st, a = post(bad); print("unknown infno ->", st, a.get("infcode"), (a.get("err_msg") or a.get("message"))[:80])
unk = copy.deepcopy(up); unk["input"]["feedetail"][0]["med_list_codg"] = "NO-SUCH-CODE"; unk["msgid"] = unk["msgid"][:-4] + "0002"
for l in unk["input"]["feedetail"]: l["feedetl_sn"] = "U" + l["feedetl_sn"]
st, a = post(unk); r0 = a["output"]["result"][0]
print("unknown catalogue code ->", st, a["infcode"], r0["fulamt_ownpay_amt"], "of", r0["det_item_fee_sumamt"], r0["memo"])
neg = copy.deepcopy(up); neg["input"]["feedetail"][3]["pric"] = "-5"; neg["msgid"] = neg["msgid"][:-4] + "0003"
st, a = post(neg); print("negative price ->", st, a["infcode"], a["err_msg"][:80])
c = claims[1]; key = keys[c["code"]]
st, a1 = post(b.envelope("2301", c, {"feedetail": c["lines"]}, 1)); settle = b.envelope("2304", c, {"data": c["settle"]}, 1)
st, s1 = post(settle); st, s2 = post(settle)
print("2301 ok", a1["infcode"], "| 2304 twice:", s1["infcode"], s2["infcode"], "identical:", s1 == s2)
diff = copy.deepcopy(settle); diff["input"]["data"]["medfee_sumamt"] = "1.00"
st, d = post(diff); print("same msgid, other body ->", d["infcode"], d["err_msg"][:70])
srv.terminate(); srv.wait(20)
with db.make_engine(url).connect() as conn:
    n = conn.execute(select(func.count()).select_from(s.settlements).where(s.settlements.c.mdtrt_id == c["mdtrt_id"])).scalar()
    lines = conn.execute(select(func.count()).select_from(s.fee_lines).where(s.fee_lines.c.mdtrt_id == c["mdtrt_id"])).scalar()
print("stored for this stay: settlements", n, "fee lines", lines, "(1 settlement and 20 lines expected)")
