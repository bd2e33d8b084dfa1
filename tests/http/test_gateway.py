"""The service gateway (§1.3) over HTTP: each refusal is HTTP 401 with its exact message and
happens before any business code runs (nothing is stored); a key acts only as its institution."""

from __future__ import annotations

import time

import httpx
import pytest
import simplejson
from sqlalchemy import func, select

from httpkit import DAY, HOSPITAL, PHARMACY, TOWNSHIP, http_client
from yibao.interface import gateway, sealing
from yibao.interface.client import InterfaceClient
from yibao.interface.gateway import sign, signed_headers
from yibao.interface.http_client import GatewayRefused, HttpTransport
from yibao.interface.sealing import SealError
from yibao.storage import schema as s


def counts(engine):
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in s.metadata.sorted_tables}


def post(server, envelope, headers):
    body = simplejson.dumps(envelope, ensure_ascii=False).encode()
    return httpx.post(server.url + "/fsi/api/callService", content=body, headers={"Content-Type": "application/json", **headers})


def admit_envelope(hospital):
    return hospital.envelope("2401", {"mdtrtinfo": {"psn_no": "P1", "insutype": "390", "begntime": "2020-03-01 08:00:00",
                                                    "med_type": "21", "ipt_no": "IPX1", "atddr_no": "D1", "chfpdr_name": "医师",
                                                    "adm_dept_codg": "A03", "adm_dept_name": "内科", "dscg_maindiag_code": "R69"},
                                      "diseinfo": [{"diag_type": "1", "diag_srt_no": 1, "diag_code": "R69", "maindiag_flag": "1"}]})


def test_signature_matches_the_printed_algorithm():
    headers = {"_api_access_key": "AK", "_api_name": "1101", "_api_timestamp": "1600000000000", "_api_version": "1.0.0"}
    import base64, hashlib, hmac

    text = "_api_access_key=AK&_api_name=1101&_api_timestamp=1600000000000&_api_version=1.0.0"
    assert gateway.string_to_sign(headers) == text
    assert sign(headers, "SK") == base64.b64encode(hmac.new(b"SK", text.encode(), hashlib.sha1).digest()).decode()
    assert sign(headers, "SK", "HMAC-SM3") != sign(headers, "SK")


def test_hmac_sm3_known_answer():
    # SM3 of "abc" is the GB/T 32905 example; HMAC is RFC 2104 over it.
    assert sealing._sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    key, msg = b"k" * 10, b"message"
    inner = sealing._sm3(bytes(b ^ 0x36 for b in key.ljust(64, b"\0")) + msg)
    assert sealing.hmac_sm3(key, msg) == sealing._sm3(bytes(b ^ 0x5C for b in key.ljust(64, b"\0")) + inner)


@pytest.mark.parametrize("case", ["missing", "unknown", "stale", "future", "bad_signature", "other_institution",
                                  "revoked", "wrong_api_name"])
def test_gateway_refusals(case, server, keys, hospital, world):
    key = keys[HOSPITAL]
    envelope = admit_envelope(hospital)
    headers = signed_headers("2401", access_key=key.access_key, secret=key.secret)
    expected = None
    if case == "missing":
        del headers["_api_timestamp"]
        expected = "缺少服务网关的请求头：_api_timestamp"
    elif case == "unknown":
        headers = signed_headers("2401", access_key="AKnobody", secret="x")
        expected = "非法用户：访问密钥 AKnobody 不存在或已吊销"
    elif case in ("stale", "future"):
        shift = -31 * 60 * 1000 if case == "stale" else 31 * 60 * 1000
        headers = signed_headers("2401", access_key=key.access_key, secret=key.secret, timestamp_ms=int(time.time() * 1000) + shift)
        expected = "签名时间戳超时：与服务器时间相差超过30分钟，请校准时钟后重新签名"
    elif case == "bad_signature":
        headers = signed_headers("2401", access_key=key.access_key, secret="not-the-secret")
        expected = "签名不一致：请按 HMAC-SHA1 对 _api_access_key、_api_name、_api_timestamp、_api_version 签名"
    elif case == "other_institution":
        other = keys[TOWNSHIP]
        headers = signed_headers("2401", access_key=other.access_key, secret=other.secret, algorithm=other.algorithm)
        expected = f"非法用户：访问密钥属于 {TOWNSHIP}，不能以定点医药机构 {HOSPITAL} 的名义调用"
    elif case == "revoked":
        with world.begin() as conn:
            assert gateway.revoke_key(conn, key.access_key)
        server.app.state.service.gateway._cache.clear()
        expected = f"非法用户：访问密钥 {key.access_key} 不存在或已吊销"
    elif case == "wrong_api_name":
        headers = signed_headers("1101", access_key=key.access_key, secret=key.secret)
        expected = "签名不一致：请求头 _api_name 1101 与报文 infno 2401 不一致"
    before = counts(world)
    answer = post(server, envelope, headers)
    assert answer.status_code == 401
    assert answer.json() == {"code": 401, "message": expected}
    assert counts(world) == before  # nothing stored, not even a request_log row


def test_a_timestamp_inside_the_window_is_accepted(server, keys, hospital):
    key = keys[HOSPITAL]
    headers = signed_headers("1101", access_key=key.access_key, secret=key.secret, timestamp_ms=int(time.time() * 1000) - 29 * 60 * 1000)
    answer = post(server, hospital.envelope("1101", {"data": {"certno": "511402198001011230"}}), headers)
    assert answer.status_code == 200 and answer.json()["infcode"] == 0


def test_a_pharmacy_key_only_reaches_pharmacy_transactions(server, keys):
    pharmacy = http_client(server, keys[PHARMACY], PHARMACY)
    assert pharmacy.call("1101", {"data": {"certno": "511402198001011230"}})["infcode"] == 0
    refused = pharmacy.call("2401", {"mdtrtinfo": {"psn_no": "P1"}})
    assert refused["infcode"] == -1 and refused["err_msg"] == "零售药店不能调用交易 2401（入院办理）"


def test_an_institution_cannot_touch_another_institutions_encounter(hospital, township, world):
    mdtrt_id = hospital.admit(psn_no="P1", insutype="390", med_type="21", begntime="2020-03-01 08:00:00")
    before = counts(world)
    lines = township.fee_lines(mdtrt_id, "P1", [("XA", 100, 1)])
    answer = township.call("2301", {"feedetail": lines})
    assert answer["infcode"] == -1 and mdtrt_id in answer["err_msg"]
    settle = township.call("2304", {"data": township.settle_data(mdtrt_id, "P1", "390", "100.00")})
    assert settle["infcode"] == -1
    cancel = township.call("2404", {"data": {"mdtrt_id": mdtrt_id, "psn_no": "P1"}})
    assert cancel["infcode"] == -1
    assert counts(world) == before


def test_sm2_signed_bodies(server, world, hospital, box):
    private, public = gateway.sm2_keypair()
    with world.begin() as conn:
        key = gateway.issue_key(conn, HOSPITAL, box=box, sm2_public_key=public)
    signed = http_client(server, key, HOSPITAL, sm2_private_key=private, sm2_public_key=public)
    assert signed.ok("1101", {"data": {"certno": "511402198001011230"}})["baseinfo"]["psn_no"] == "P1"
    unsigned = http_client(server, key, HOSPITAL)
    with pytest.raises(GatewayRefused) as refused:
        unsigned.call("1101", {"data": {"certno": "511402198001011230"}})
    assert refused.value.body["message"] == "签名不一致：该机构须用 SM2 对 input 签名（signtype=SM2，签名值放在 cainfo）"
    envelope = signed.transport._prepare(signed.envelope("1101", {"data": {"certno": "511402198001011230"}}))
    envelope["input"]["data"]["certno"] = "511402198001011248"  # tampered after signing
    answer = post(server, envelope, signed.transport.headers("1101"))
    assert answer.status_code == 401 and answer.json()["message"] == "签名不一致：cainfo 中的 SM2 签名与 input 不符"


def test_no_auth_mode_serves_without_headers(world, tmp_path):
    from httpkit import LiveServer
    from yibao.interface.server import create_app

    live = LiveServer(create_app(world, auth=False, data_dir=tmp_path, api=False, audit=False))
    try:
        client = InterfaceClient(HttpTransport(live.url), HOSPITAL, clock=lambda: DAY)
        assert client.ok("1101", {"data": {"certno": "511402198001011230"}})["baseinfo"]["psn_no"] == "P1"
    finally:
        live.stop()


def test_sm2_round_trip_for_keys_starting_with_0_or_4():
    """gmssl strips leading 0s and 4s of a public key given to its constructor; ours must not."""
    awkward = 0
    for _ in range(400):
        private, public = gateway.sm2_keypair()
        if public[0] not in "04":
            continue
        awkward += 1
        signature = gateway.sm2_sign(private, public, b'{"data":{"certno":"x"}}')
        assert gateway.sm2_verify(public, signature, b'{"data":{"certno":"x"}}')
        assert not gateway.sm2_verify(public, signature, b'{"data":{"certno":"y"}}')
        if awkward == 5:
            break
    assert awkward == 5


# ── secrets at rest ─────────────────────────────────────────────────────────────────────────

def test_secrets_are_stored_sealed_with_sm4(world, keys, box):
    with world.connect() as conn:
        stored = dict(conn.execute(select(s.gateway_keys.c.access_key, s.gateway_keys.c.secret)).all())
    for key in keys.values():
        assert stored[key.access_key].startswith("sm4:") and key.secret not in stored[key.access_key]
        assert box.open(stored[key.access_key]) == key.secret
    # Two sealings of one secret differ (random IV), and a changed byte is detected.
    assert box.seal("same") != box.seal("same")
    sealed = box.seal("same")
    tampered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    with pytest.raises(SealError):
        box.open(tampered)


def test_a_key_sealed_under_another_master_key_is_refused_plainly(server, world):
    import os

    from yibao.interface.sealing import SecretBox

    with world.begin() as conn:
        foreign = gateway.issue_key(conn, HOSPITAL, box=SecretBox(os.urandom(32)))
    client = http_client(server, foreign, HOSPITAL)
    with pytest.raises(GatewayRefused) as refused:
        client.call("1101", {"data": {"certno": "511402198001011230"}})
    assert refused.value.body["message"].startswith("非法用户：平台无法解密访问密钥")
    client.transport.close()


def test_a_secret_stored_in_plain_text_before_sealing_still_works_and_can_be_sealed(server, world, box):
    import datetime as dt

    with world.begin() as conn:
        conn.execute(s.gateway_keys.insert().values(access_key="AKold", secret="plain-old-secret", fixmedins_code=HOSPITAL,
                                                    algorithm="HMAC-SHA1", status="active", created_at=dt.datetime(2024, 1, 1)))
    old = gateway.GatewayKey("AKold", "plain-old-secret", HOSPITAL, "HMAC-SHA1", None, "active")
    client = http_client(server, old, HOSPITAL)
    assert client.ok("1101", {"data": {"certno": "511402198001011230"}})["baseinfo"]["psn_no"] == "P1"
    with world.begin() as conn:
        assert gateway.seal_stored_secrets(conn, box) == 1
        assert gateway.seal_stored_secrets(conn, box) == 0
        stored = conn.execute(select(s.gateway_keys.c.secret).where(s.gateway_keys.c.access_key == "AKold")).scalar_one()
    assert stored.startswith("sm4:") and box.open(stored) == "plain-old-secret"
    client.transport.close()


def test_a_secret_is_opened_once_but_its_row_is_read_again_after_the_ttl(world, keys, box, tmp_path):
    """SM4 in pure Python takes milliseconds: the opened secret is kept by its sealed text, while
    the key's row is still read again every ``ttl`` (here 0: every time), so a revocation or a
    new secret takes effect."""
    opened = []

    class CountingBox:
        def open(self, sealed):
            opened.append(sealed)
            return box.open(sealed)

    checker = gateway.Gateway(world, data_dir=tmp_path, ttl=0)
    checker._box = CountingBox()
    first = checker.key(keys[HOSPITAL].access_key)
    again = checker.key(keys[HOSPITAL].access_key)
    assert first.secret == again.secret == keys[HOSPITAL].secret and len(opened) == 1
    assert checker.key(keys[TOWNSHIP].access_key).secret == keys[TOWNSHIP].secret and len(opened) == 2
    with world.begin() as conn:  # a new secret under the same access key is opened afresh
        conn.execute(s.gateway_keys.update().where(s.gateway_keys.c.access_key == keys[HOSPITAL].access_key)
                     .values(secret=box.seal("rotated-secret")))
    assert checker.key(keys[HOSPITAL].access_key).secret == "rotated-secret" and len(opened) == 3
    with world.begin() as conn:
        assert gateway.revoke_key(conn, keys[HOSPITAL].access_key)
    assert checker.key(keys[HOSPITAL].access_key).status == "revoked" and len(opened) == 3


def test_a_body_fingerprint_is_the_sha256_of_its_sorted_text():
    """Request-log fingerprints stored by earlier versions (hashed from the text) still match."""
    import hashlib
    from decimal import Decimal

    from yibao.interface.envelope import body_digest

    body = {"data": {"psn_no": "P1", "medfee_sumamt": Decimal("12.30"), "名称": "住院"}, "feedetail": [{"cnt": 2, "pric": "1.5"}]}
    text = '{"data":{"medfee_sumamt":"12.30","psn_no":"P1","名称":"住院"},"feedetail":[{"cnt":2,"pric":"1.5"}]}'
    assert body_digest("2304", body) == hashlib.sha256(f"2304\n{text}".encode()).hexdigest()
    assert body_digest("2304", {**body, "data": {**body["data"], "psn_no": "P2"}}) != body_digest("2304", body)
