"""Safety over HTTP: replays, malformed bodies, a fuzzer over the envelope, and 2601 after a lost
response — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from decimal import Decimal

import simplejson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from yibao.storage import schema as s

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def counts(engine):
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in s.metadata.sorted_tables}


def raw_post(hospital, body: bytes, content_type="application/json", infno="2401"):
    headers = hospital.transport.headers(infno)
    headers["Content-Type"] = content_type
    return hospital.transport.client.post("/fsi/api/callService", content=body, headers=headers)


def admit_payload(ipt_no="IP1"):
    return {"mdtrtinfo": {"psn_no": "P1", "insutype": "390", "begntime": "2020-03-01 08:00:00", "med_type": "21",
                          "ipt_no": ipt_no, "atddr_no": "D1", "chfpdr_name": "医师", "adm_dept_codg": "A03",
                          "adm_dept_name": "内科", "dscg_maindiag_code": "R69"},
            "diseinfo": [{"diag_type": "1", "diag_srt_no": 1, "diag_code": "R69", "maindiag_flag": "1"}]}


def test_a_repeated_msgid_gets_the_stored_answer(hospital, world):
    envelope = hospital.envelope("2401", admit_payload())
    first = hospital.transport.send(envelope)
    assert first["infcode"] == 0
    before = counts(world)
    again = hospital.transport.send(dict(envelope, inf_time="2020-03-10 09:00:05"))  # a retry, later
    assert again == first
    assert counts(world) == before
    changed = hospital.transport.send(dict(envelope, input=admit_payload("IP2")))
    assert changed["infcode"] == -1
    assert changed["err_msg"] == f"重复报文: msgid {envelope['msgid']} 已用于交易 2401，本次内容不同；请使用新的 msgid"
    assert counts(world) == before


def test_malformed_bodies_get_a_clean_minus_one(hospital, world):
    before = counts(world)
    cases = [
        (b"{not json", "application/json", "请求报文不是有效的 JSON：第 1 行第 2 列"),
        (b"", "application/json", "请求体为空"),
        ("{\"infno\":\"2401\"}".encode("gbk") + b"\xff\xfe", "application/json", "请求体不是有效的 UTF-8 编码"),
        (b"<xml/>", "application/xml", "不支持的 Content-Type application/xml"),
        (b"{}", "text/plain; charset=gbk", "不支持的字符集 gbk"),
        (b"[1,2,3]", "application/json", "请求报文应为 JSON 对象"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", "请求报文嵌套层数过深"),
        (b"{" + b" " * (300 * 1024) + b"}", "application/json", "请求体 307202 字节，超过上限 262144 字节"),
    ]
    for body, content_type, message in cases:
        answer = raw_post(hospital, body, content_type)
        assert answer.status_code == 200, body[:40]
        envelope = answer.json()
        assert envelope["infcode"] == -1 and envelope["err_msg"].startswith(message), (body[:40], envelope["err_msg"])
        assert envelope["output"] == {} and len(envelope["inf_refmsgid"]) == 30
    assert counts(world) == before


def test_text_plain_utf8_is_accepted_and_chinese_unescaped(hospital):
    envelope = hospital.envelope("1101", {"data": {"certno": "511402198001011230"}})
    answer = raw_post(hospital, json.dumps(envelope, ensure_ascii=False).encode(), "text/plain; charset=utf-8", infno="1101")
    assert answer.status_code == 200 and answer.json()["infcode"] == 0
    assert "张123" in answer.content.decode("utf-8") and "\\u" not in answer.text


def test_input_over_40000_characters_is_refused(hospital, world):
    before = counts(world)
    lines = hospital.fee_lines("M1", "P1", [("XA", 1, 1, {"memo": "备" * 400})] * 120)
    envelope = hospital.envelope("2301", {"feedetail": lines})
    answer = raw_post(hospital, simplejson.dumps(envelope, ensure_ascii=False).encode(), infno="2301")
    assert answer.status_code == 200
    assert answer.json()["infcode"] == -1 and "超过 40000 个字符的上限" in answer.json()["err_msg"]
    assert counts(world) == before


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
ENVELOPE_KEYS = ["infno", "msgid", "mdtrtarea_admvs", "insuplc_admdvs", "inf_time", "fixmedins_code", "opter", "sign_no", "input"]
INFNOS = ["2401", "2301", "2304", "2207", "2601", "9001", "2503", "3202", "9101", "1301", "2201"]


@st.composite
def broken_envelopes(draw, hospital):
    infno = draw(st.sampled_from(INFNOS))
    envelope = hospital.envelope(infno, draw(st.dictionaries(st.sampled_from(["data", "mdtrtinfo", "feedetail", "signIn", "fsUploadIn"]),
                                                             JSON_VALUES, max_size=3)))
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(ENVELOPE_KEYS))
        action = draw(st.sampled_from(["drop", "replace"]))
        if action == "drop":
            envelope.pop(key, None)
        else:
            envelope[key] = draw(JSON_VALUES)
    body = simplejson.dumps(envelope, ensure_ascii=False).encode()
    cut = draw(st.sampled_from([None, None, None, "truncate", "garbage"]))
    if cut == "truncate":
        body = body[: draw(st.integers(0, max(len(body) - 1, 0)))]
    elif cut == "garbage":
        body = draw(st.binary(max_size=200))
    return infno, body


def test_fuzzed_envelopes_never_500_and_store_nothing_when_refused(hospital, world):
    @SETTINGS
    @given(data=st.data())
    def run(data):
        infno, body = data.draw(broken_envelopes(hospital))
        before = counts(world)
        answer = raw_post(hospital, body, infno=infno)
        assert answer.status_code in (200, 401), answer.text[:200]
        decoded = answer.json()
        if answer.status_code == 401:
            assert decoded["code"] == 401 and counts(world) == before
            return
        assert decoded["infcode"] in (0, -1) and set(decoded) == {"infcode", "inf_refmsgid", "refmsg_time", "respond_time", "err_msg", "output"}
        if decoded["infcode"] == -1:
            assert decoded["err_msg"] and counts(world) == before

    run()


def books(engine):
    """What a settlement changes: the accumulators (zero rows are the same as none), the fund
    rows of every settlement still in force, account balances, and line and encounter states."""
    with engine.connect() as conn:
        acc = {(r.psn_no, r.year, r.layer): (r.base, r.paid, r.count) for r in conn.execute(select(s.accumulators))
               if (r.base, r.paid, r.count) != ("0", 0, 0)}
        live = select(s.settlements.c.setl_id).where(s.settlements.c.status != "voided")
        funds = sorted((r.setl_id, r.fund_pay_type, r.fund_payamt, r.base) for r in conn.execute(
            select(s.settlement_funds).where(s.settlement_funds.c.setl_id.in_(live))))
        balances = sorted((r.psn_no, r.insutype, r.acct_balc) for r in conn.execute(select(s.insurance)))
        lines = sorted((r.mdtrt_id, r.feedetl_sn, r.status, r.setl_id) for r in conn.execute(select(s.fee_lines)))
        encounters = sorted((r.mdtrt_id, r.status) for r in conn.execute(select(s.encounters)))
        settled = conn.execute(select(func.count()).select_from(s.settlements).where(s.settlements.c.status != "voided")).scalar_one()
    return acc, funds, balances, lines, encounters, settled


def test_2601_after_a_lost_response_leaves_the_books_as_if_nothing_happened(hospital, world):
    # a first settlement this year, so that accumulators already hold something
    first = hospital.admit(psn_no="P2", insutype="390", med_type="21", begntime="2020-02-01 08:00:00")
    hospital.ok("2301", {"feedetail": hospital.fee_lines(first, "P2", [("XA", 100, 30)])})
    hospital.ok("2304", {"data": hospital.settle_data(first, "P2", "390", "3000.00")})
    mdtrt_id = hospital.admit(psn_no="P2", insutype="390", med_type="21", begntime="2020-03-01 08:00:00")
    hospital.ok("2301", {"feedetail": hospital.fee_lines(mdtrt_id, "P2", [("XA", 100, 80), ("XB", 50, 40)])})
    data = hospital.settle_data(mdtrt_id, "P2", "390", "10000.00")
    before = books(world)

    lost = hospital.envelope("2304", {"data": data})
    answer = hospital.transport.post(lost)  # the platform settles; the hospital never reads the answer
    assert answer.status_code == 200
    lost_info = simplejson.loads(answer.text, use_decimal=True)["output"]["setlinfo"]
    assert books(world) != before
    hospital.ok("2601", {"data": {"psn_no": "P2", "omsgid": lost["msgid"], "oinfno": "2304"}})
    assert books(world) == before
    late = hospital.transport.send(lost)  # the original arriving again is refused
    assert late["infcode"] == -1 and "已被冲正" in late["err_msg"]
    assert books(world) == before
    again = hospital.ok("2304", {"data": data})["setlinfo"]  # settling anew gives the same amounts
    for key in ("hifp_pay", "maf_pay", "fund_pay_sumamt", "psn_part_amt", "act_pay_dedc"):
        assert again[key] == lost_info[key], key
    assert again["setl_id"] != lost_info["setl_id"] and again["maf_pay"] >= Decimal("0")
