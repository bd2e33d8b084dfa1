"""Withdrawing fee lines (2302 inpatient by feedetl_sn, 2205 outpatient by chrg_bchno) and what
may be uploaded after: on SQLite and PostgreSQL."""

from decimal import Decimal

from sqlalchemy import select

from test_day import admit_and_upload
from yibao.storage import schema as s


def statuses(world, mdtrt_id):
    with world.connect() as conn:
        rows = conn.execute(select(s.fee_lines.c.feedetl_sn, s.fee_lines.c.status).where(s.fee_lines.c.mdtrt_id == mdtrt_id))
        return dict(rows.all())


def withdraw(hospital, infno, mdtrt_id, key_name, key, psn_no="P1"):
    return hospital.call(infno, {"data": {"mdtrt_id": mdtrt_id, "psn_no": psn_no, key_name: key}})


def test_2302_withdraws_one_line_and_the_settlement_leaves_it_out(hospital, world):
    mdtrt_id, _ = admit_and_upload(hospital)  # lines 1 (XA 8,000.00), 2 (XB 2,000.00), 3 (XC 500.00)
    assert withdraw(hospital, "2302", mdtrt_id, "feedetl_sn", "2")["infcode"] == 0
    assert statuses(world, mdtrt_id) == {"1": "active", "2": "cancelled", "3": "active"}
    # The full 10,500.00 no longer matches the lines; 8,500.00 does.
    wrong = hospital.call("2304", {"data": hospital.settle_data(mdtrt_id, "P1", "390", "10500.00")})
    assert wrong["infcode"] == -1 and "medfee_sumamt" in wrong["err_msg"]
    settled = hospital.ok("2304", {"data": hospital.settle_data(mdtrt_id, "P1", "390", "8500.00")})
    assert settled["setlinfo"]["medfee_sumamt"] == Decimal("8500.00")
    assert statuses(world, mdtrt_id) == {"1": "settled", "2": "cancelled", "3": "settled"}


def test_2302_refusals_name_the_line(hospital, world):
    mdtrt_id, _ = admit_and_upload(hospital)
    unknown = withdraw(hospital, "2302", mdtrt_id, "feedetl_sn", "99")
    assert unknown["infcode"] == -1 and "没有feedetl_sn 99 的费用明细" in unknown["err_msg"]
    assert withdraw(hospital, "2302", mdtrt_id, "feedetl_sn", "1")["infcode"] == 0
    again = withdraw(hospital, "2302", mdtrt_id, "feedetl_sn", "1")
    assert again["infcode"] == -1 and "已撤销" in again["err_msg"]
    hospital.ok("2304", {"data": hospital.settle_data(mdtrt_id, "P1", "390", "2500.00")})
    settled = withdraw(hospital, "2302", mdtrt_id, "feedetl_sn", "2")
    assert settled["infcode"] == -1 and "已结算，不能撤销" in settled["err_msg"]
    assert statuses(world, mdtrt_id) == {"1": "cancelled", "2": "settled", "3": "settled"}


def test_2302_with_0000_withdraws_every_unsettled_line(hospital, world):
    mdtrt_id, _ = admit_and_upload(hospital)
    assert withdraw(hospital, "2302", mdtrt_id, "feedetl_sn", "0000")["infcode"] == 0
    assert set(statuses(world, mdtrt_id).values()) == {"cancelled"}
    nothing = hospital.call("2304", {"data": hospital.settle_data(mdtrt_id, "P1", "390", "0.00")})
    assert nothing["infcode"] == -1 and "没有未结算的费用明细" in nothing["err_msg"]


def test_a_withdrawn_serial_number_cannot_be_used_again_and_says_so(hospital, world):
    mdtrt_id, _ = admit_and_upload(hospital)
    assert withdraw(hospital, "2302", mdtrt_id, "feedetl_sn", "3")["infcode"] == 0
    again = hospital.call("2301", {"feedetail": hospital.fee_lines(mdtrt_id, "P1", [("XC", 400, 1)], start=3)})
    assert again["infcode"] == -1
    assert "feedetl_sn 3" in again["err_msg"] and "已撤销" in again["err_msg"] and "新的" in again["err_msg"]
    fresh = hospital.ok("2301", {"feedetail": hospital.fee_lines(mdtrt_id, "P1", [("XC", 400, 1)], start=4)})
    assert fresh["result"][0]["feedetl_sn"] == "4"
    assert statuses(world, mdtrt_id) == {"1": "active", "2": "active", "3": "cancelled", "4": "active"}


def test_a_serial_number_of_an_earlier_upload_is_refused_as_a_duplicate(hospital, world):
    mdtrt_id, _ = admit_and_upload(hospital)
    dup = hospital.call("2301", {"feedetail": hospital.fee_lines(mdtrt_id, "P1", [("XA", 1, 1)], start=2)})
    assert dup["infcode"] == -1 and "feedetl_sn 2 在本次就诊中重复" in dup["err_msg"]


def test_a_refund_in_a_later_upload_is_checked_against_the_original(hospital, world):
    mdtrt_id, _ = admit_and_upload(hospital)  # line 1: XA 100 × 80
    refund = hospital.fee_lines(mdtrt_id, "P1", [("XA", 100, -30, {"init_feedetl_sn": "1"})], start=10)
    out = hospital.ok("2301", {"feedetail": refund})
    assert out["result"][0]["det_item_fee_sumamt"] == Decimal("-3000.00")
    too_much = hospital.fee_lines(mdtrt_id, "P1", [("XA", 100, -51, {"init_feedetl_sn": "1"})], start=11)
    refused = hospital.call("2301", {"feedetail": too_much})
    assert refused["infcode"] == -1 and "超过原明细 1 的剩余部分" in refused["err_msg"]


def test_2205_withdraws_an_outpatient_charge_batch(hospital, world):
    mdtrt_id = hospital.register(psn_no="P1", insutype="390", begntime="2020-03-10 08:00:00")
    first = hospital.fee_lines(mdtrt_id, "P1", [("XA", 10, 1), ("XB", 20, 1)])
    second = hospital.fee_lines(mdtrt_id, "P1", [("XA", 10, 3)], start=3)
    for node in second:
        node["chrg_bchno"] = "2"
    hospital.ok("2204", {"feedetail": first + second})
    assert withdraw(hospital, "2205", mdtrt_id, "chrg_bchno", "1")["infcode"] == 0
    assert statuses(world, mdtrt_id) == {"1": "cancelled", "2": "cancelled", "3": "active"}
    missing = withdraw(hospital, "2205", mdtrt_id, "chrg_bchno", "9")
    assert missing["infcode"] == -1 and "没有chrg_bchno 9 的费用明细" in missing["err_msg"]


def test_used_serial_numbers_in_a_group_are_refused_by_name_and_the_rest_is_kept(hospital, platform, world):
    """In a group (``yibao serve`` under load) the first pass leaves used serial numbers to the
    fee lines' primary key; the group is then served again with the check, so the refusals
    still name the number, and the group's other requests are kept."""
    mdtrt_id, _ = admit_and_upload(hospital)  # lines 1, 2, 3
    assert withdraw(hospital, "2302", mdtrt_id, "feedetl_sn", "3")["infcode"] == 0
    reused = hospital.envelope("2301", {"feedetail": hospital.fee_lines(mdtrt_id, "P1", [("XC", 400, 1)], start=3)})
    duplicate = hospital.envelope("2301", {"feedetail": hospital.fee_lines(mdtrt_id, "P1", [("XA", 1, 1)], start=2)})
    fresh = hospital.envelope("2301", {"feedetail": hospital.fee_lines(mdtrt_id, "P1", [("XC", 400, 1)], start=4)})
    answers = platform.call_many([reused, fresh, duplicate])
    assert [a["infcode"] for a in answers] == [-1, 0, -1]
    assert "feedetl_sn 3" in answers[0]["err_msg"] and "已撤销" in answers[0]["err_msg"]
    assert "feedetl_sn 2 在本次就诊中重复" in answers[2]["err_msg"]
    assert statuses(world, mdtrt_id) == {"1": "active", "2": "active", "3": "cancelled", "4": "active"}
