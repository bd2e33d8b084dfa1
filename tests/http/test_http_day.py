"""A hospital's inpatient day and a township centre's outpatient day over real HTTP, with the
gateway on, on SQLite and PostgreSQL: 9001 → 1101 → 2401 → 2301 → 2303 → 2304 → 2305 → 3201 →
9101 → 3202 → 9102."""

from __future__ import annotations

import base64
import io
import zipfile
from decimal import Decimal

import httpx

from httpkit import HOSPITAL, TOWNSHIP


def upload_txt(client, rows, name="detail.txt"):
    text = "".join("\t".join(str(v) for v in row) + "\n" for row in rows).encode("utf-8")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(name, text)
    out = client.ok("9101", {"fsUploadIn": {"in": base64.b64encode(archive.getvalue()).decode(), "filename": "detail.zip",
                                            "fixmedins_code": client.fixmedins_code}})
    assert out["fixmedins_code"] == client.fixmedins_code and out["filename"] == "detail.zip"
    return out["file_qury_no"]


def download_rows(client, file_qury_no, filename, owner):
    out = client.ok("9102", {"fsDownloadIn": {"file_qury_no": file_qury_no, "filename": filename, "fixmedins_code": owner}})
    stream = out["file_stream"]
    assert stream["filename"] == filename
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(stream["content"]))) as z:
        (name,) = z.namelist()
        text = z.read(name).decode("utf-8")
    return [line.split("\t") for line in text.splitlines()]


def reconcile(client, file_qury_no, day="2020-03-10", clr_type="21"):
    return client.ok("3202", {"data": {
        "setl_optins": "511402", "file_qury_no": file_qury_no, "stmt_begndate": day, "stmt_enddate": day,
        "medfee_sumamt": "0", "fund_pay_sumamt": "0", "cash_payamt": "0", "fixmedins_setl_cnt": "2", "clr_type": clr_type,
        "fixmedins_refd_setl_flag": "1"}})


def test_inpatient_day_over_http(hospital, server, world):
    sign = hospital.ok("9001", {"signIn": {"opter_no": "0001", "mac": "00-00", "ip": "127.0.0.1"}})
    assert sign["signinoutb"]["sign_no"]
    person = hospital.ok("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "", "psn_cert_type": "01",
                                          "certno": "511402198001011230", "psn_name": "张123"}})
    assert person["baseinfo"]["psn_no"] == "P1" and person["baseinfo"]["psn_name"] == "张123"
    mdtrt_id = hospital.admit(psn_no="P1", insutype="390", med_type="21", begntime="2020-03-01 08:00:00")
    result = hospital.ok("2301", {"feedetail": hospital.fee_lines(mdtrt_id, "P1", [("XA", 100, 80), ("XB", 50, 40), ("XC", 500, 1)])})["result"]
    assert [r["inscp_scp_amt"] for r in result] == [Decimal("8000.00"), Decimal("1800.00"), Decimal("0.00")]
    data = hospital.settle_data(mdtrt_id, "P1", "390", "10500.00")
    pre = hospital.ok("2303", {"data": data})["setlinfo"]
    assert pre["hifp_pay"] == Decimal("5941.00") and "setl_id" not in pre

    # the settlement itself, looked at on the wire: exact decimals, Chinese unescaped, compact
    envelope = hospital.envelope("2304", {"data": data})
    raw = hospital.transport.post(envelope)
    assert raw.status_code == 200 and raw.headers["content-type"] == "application/json; charset=utf-8"
    assert '"hifp_pay":5941.00' in raw.text and '"medfee_sumamt":10500.00' in raw.text
    info = raw.json()["output"]["setlinfo"]
    setl_id = info["setl_id"]
    assert info["medins_setl_id"] == envelope["msgid"]

    totals = {"insutype": "390", "clr_type": "21", "setl_optins": "511402", "stmt_begndate": "2020-03-10",
              "stmt_enddate": "2020-03-10", "medfee_sumamt": "10500.00", "fund_pay_sumamt": "5941.00", "acct_pay": "0",
              "fixmedins_setl_cnt": "1", "fixmedins_refd_setl_flag": "0"}
    assert hospital.ok("3201", {"data": totals})["stmtinfo"]["stmt_rslt"] == "0"
    rev = hospital.ok("2305", {"data": {"mdtrt_id": mdtrt_id, "setl_id": setl_id, "psn_no": "P1"}})["setlinfo"]
    assert rev["hifp_pay"] == Decimal("-5941.00")
    assert hospital.ok("3201", {"data": totals})["stmtinfo"]["stmt_rslt"] == "1"  # the reversal counts too

    # 3202: the institution lists both rows (the settlement and its reversal); one amount is wrong
    file_no = upload_txt(hospital, [
        (setl_id, mdtrt_id, "P1", "10500.00", "5941.00", "0.00", "0"),
        (rev["setl_id"], mdtrt_id, "P1", "-10500.00", "-5940.00", "0.00", "1"),
    ])
    fileinfo = reconcile(hospital, file_no)["fileinfo"]
    rows = download_rows(hospital, fileinfo["file_qury_no"], fileinfo["filename"], HOSPITAL)
    assert len(rows) == 2
    first, second = rows
    assert first[:6] == ["P1", mdtrt_id, setl_id, envelope["msgid"], "0", "0"] and first[7:] == ["10500.00", "5941.00", "0.00"]
    assert second[2] == rev["setl_id"] and second[4] == "1" and "fund_pay_sumamt 机构-5940.00/中心-5941.00" in second[6]
    hospital.ok("9002", {"signOut": {"sign_no": sign["signinoutb"]["sign_no"], "opter_no": "0001"}})


def test_outpatient_day_over_http(township, server):
    """The township key signs with HMAC-SM3."""
    assert township.transport.algorithm == "HMAC-SM3"
    mdtrt_id = township.register(psn_no="P1", insutype="390", begntime="2020-03-10 08:00:00", dise_codg="J06.900")
    township.ok("2204", {"feedetail": township.fee_lines(mdtrt_id, "P1", [("XA", 20, 5), ("XC", 10, 1)])})
    data = township.settle_data(mdtrt_id, "P1", "390", "110.00")
    pre = township.ok("2206", {"data": data})["setlinfo"]
    assert pre["hifp_pay"] == Decimal("50.00")
    for key in ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt"):
        data[key] = str(pre[key])
    done = township.ok("2207", {"data": data})["setlinfo"]
    assert done["hifp_pay"] == Decimal("50.00") and done["psn_part_amt"] == Decimal("60.00")
    file_no = upload_txt(township, [(done["setl_id"], mdtrt_id, "P1", "110.00", "50.00", "0.00", "0")])
    answer = reconcile(township, file_no, clr_type="11")
    assert answer["stmtinfo"] == {"stmt_rslt": "0", "data_cnt": 1, "balanced_cnt": 1}
    rows = download_rows(township, answer["fileinfo"]["file_qury_no"], answer["fileinfo"]["filename"], TOWNSHIP)
    assert rows[0][4] == "0" and rows[0][6] == "平"
    rev = township.ok("2208", {"data": {"mdtrt_id": mdtrt_id, "setl_id": done["setl_id"], "psn_no": "P1"}})["setlinfo"]
    assert rev["fund_pay_sumamt"] == Decimal("-50.00")


def test_9102_over_http_answers_the_zip_itself(hospital, server):
    file_no = upload_txt(hospital, [("S1", "M1", "P1", "1.00", "0.00", "0.00", "0")])
    answer = reconcile(hospital, file_no)
    envelope = hospital.envelope("9102", {"fsDownloadIn": {**{k: answer["fileinfo"][k] for k in ("file_qury_no", "filename")},
                                                           "fixmedins_code": HOSPITAL}})
    raw = hospital.transport.post(envelope)
    assert raw.status_code == 200 and raw.headers["content-type"] == "application/zip"
    assert answer["fileinfo"]["filename"] in raw.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(raw.content)) as z:
        text = z.read(z.namelist()[0]).decode()
    assert text.split("\t")[6] == "中心无此结算（或已冲正）"


def test_healthz(server):
    answer = httpx.get(server.url + "/healthz")
    assert answer.status_code == 200 and answer.json()["status"] == "ok"


def test_access_log_masks_personal_data(hospital, server):
    hospital.ok("1101", {"data": {"mdtrt_cert_type": "02", "certno": "511402198001011230", "psn_name": "张123"}})
    hospital.call("1101", {"data": {"mdtrt_cert_type": "02", "certno": "511402198001011248"}})
    log = (server.data_dir / "logs" / "interface-access.log").read_text(encoding="utf-8")
    lines = log.splitlines()
    assert len(lines) == 2
    assert "511402198001011230" not in log and "511402198001011248" not in log and "张123" not in log
    assert '"certno":"511402********1230"' in lines[0] and '"psn_name":"张*"' in lines[0]
    assert '"infno":"1101"' in lines[1] and '"infcode":-1' in lines[1] and "511402********1248" in lines[1]
    assert '"latency_ms":' in lines[0] and f'"fixmedins_code":"{HOSPITAL}"' in lines[0]
