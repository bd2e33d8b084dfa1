"""Bad input, repeated messages, reversal and races: never pay twice, never store half a request."""

import datetime as dt
import itertools
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from interfaceworld import DAY
from test_day import admit_and_upload
from yibao.interface import Platform
from yibao.interface.client import InProcess, InterfaceClient
from yibao.storage import schema as s


def count(engine, table, *where):
    with engine.connect() as conn:
        query = select(func.count()).select_from(table)
        for clause in where:
            query = query.where(clause)
        return conn.execute(query).scalar()


def accumulators(engine):
    with engine.connect() as conn:
        return sorted((r.psn_no, r.year, r.layer, r.base, r.paid, r.count) for r in conn.execute(select(s.accumulators)))


# ── repeated messages ───────────────────────────────────────────────────────────────────────

def test_retry_with_same_msgid_returns_the_stored_answer_and_pays_once(hospital, world):
    mdtrt_id, _ = admit_and_upload(hospital)
    envelope = hospital.envelope("2304", {"data": hospital.settle_data(mdtrt_id, "P1", "390", "10500.00")})
    first = hospital.transport.send(envelope)
    second = hospital.transport.send(dict(envelope))
    assert first["infcode"] == 0 and second == first
    assert count(world, s.settlements) == 1
    with world.connect() as conn:
        paid = conn.execute(select(s.accumulators.c.paid).where(s.accumulators.c.layer == "390100")).scalar()
    assert paid == 594100


def test_same_msgid_with_a_different_body_is_refused(hospital, world):
    mdtrt_id, _ = admit_and_upload(hospital)
    envelope = hospital.envelope("2304", {"data": hospital.settle_data(mdtrt_id, "P1", "390", "10500.00")})
    assert hospital.transport.send(envelope)["infcode"] == 0
    changed = dict(envelope, input={"data": hospital.settle_data(mdtrt_id, "P1", "390", "10500.00", acct_used=True)})
    answer = hospital.transport.send(changed)
    assert answer["infcode"] == -1 and "重复报文" in answer["err_msg"]
    assert count(world, s.settlements) == 1


# ── bad input is refused with a clear message, and nothing is stored ────────────────────────

def test_one_bad_line_refuses_the_whole_upload(hospital, world):
    mdtrt_id = hospital.admit(psn_no="P1", insutype="390", med_type="21", begntime="2020-03-01 08:00:00")
    lines = hospital.fee_lines(mdtrt_id, "P1", [("XA", 10, 1), ("XA", 10, 1, {"det_item_fee_sumamt": "10.50"})])
    answer = hospital.call("2301", {"feedetail": lines})
    assert answer["infcode"] == -1 and "det_item_fee_sumamt" in answer["err_msg"] and "0.01" in answer["err_msg"]
    assert count(world, s.fee_lines) == 0


@pytest.mark.parametrize(
    "line_extra, message",
    [
        ({"pric": "-1"}, "单价不能为负数"),
        ({"pric": "1.0000001"}, "小数位数超过6位"),
        ({"det_item_fee_sumamt": "10.001"}, "小数位数超过2位"),
        ({"cnt": "abc"}, "cnt"),
        ({"med_list_codg": ""}, "med_list_codg"),
    ],
)
def test_malformed_lines(hospital, world, line_extra, message):
    mdtrt_id = hospital.admit(psn_no="P1", insutype="390", med_type="21", begntime="2020-03-01 08:00:00")
    answer = hospital.call("2301", {"feedetail": hospital.fee_lines(mdtrt_id, "P1", [("XA", 10, 1, line_extra)])})
    assert answer["infcode"] == -1 and message in answer["err_msg"], answer["err_msg"]
    assert count(world, s.fee_lines) == 0


def test_unknown_code_is_not_an_error_but_fully_self_paid(hospital):
    mdtrt_id, result = admit_and_upload(hospital, lines=(("NO-SUCH-CODE", 12, 2),))
    assert result[0]["fulamt_ownpay_amt"] == Decimal("24.00") and result[0]["inscp_scp_amt"] == Decimal("0.00")


def test_unknown_person_institution_and_encounter(hospital, platform):
    assert "psn_no" in hospital.call("2401", {"mdtrtinfo": {"psn_no": "NOBODY", "insutype": "390", "begntime": "2020-03-01 08:00:00", "med_type": "21", "ipt_no": "1"}})["err_msg"]
    stranger = InterfaceClient(InProcess(platform), "H99999999999", clock=lambda: DAY)
    assert "未知的定点医药机构" in stranger.call("1101", {"data": {"certno": "x"}})["err_msg"]
    assert "mdtrt_id" in hospital.call("2303", {"data": hospital.settle_data("M-NONE", "P1", "390", "1.00")})["err_msg"]


def test_wrong_check_digit_refuses_the_event(hospital, world):
    answer = hospital.call("2401", {"mdtrtinfo": {"psn_no": "PBAD", "insutype": "390", "begntime": "2020-03-01 08:00:00", "med_type": "21", "ipt_no": "9"}})
    assert answer["infcode"] == -1 and "校验位" in answer["err_msg"]
    assert count(world, s.encounters) == 0


def test_dates_out_of_order(hospital):
    mdtrt_id, _ = admit_and_upload(hospital)
    answer = hospital.call("2402", {"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": "P1", "insutype": "390",
                                                 "endtime": "2020-02-01 10:00:00", "dscg_dept_codg": "A03", "dscg_dept_name": "内科", "dscg_way": "1"}})
    assert answer["infcode"] == -1 and "早于入院时间" in answer["err_msg"]


def test_declared_total_must_match_the_lines(hospital, world):
    mdtrt_id, _ = admit_and_upload(hospital)
    answer = hospital.call("2304", {"data": hospital.settle_data(mdtrt_id, "P1", "390", "10400.00")})
    assert answer["infcode"] == -1 and "medfee_sumamt" in answer["err_msg"] and "10500.00" in answer["err_msg"]
    assert count(world, s.settlements) == 0
    assert accumulators(world) == []


def test_policy_missing_for_the_date(world):
    platform = Platform(world)
    early = InterfaceClient(InProcess(platform), "H51140200001", clock=lambda: dt.datetime(2019, 6, 1, 9))
    mdtrt_id, _ = admit_and_upload(early)
    answer = early.call("2304", {"data": early.settle_data(mdtrt_id, "P1", "390", "10500.00")})
    assert answer["infcode"] == -1 and "没有生效的医保政策" in answer["err_msg"]
    assert count(world, s.settlements) == 0


@pytest.mark.parametrize(
    "envelope, message",
    [
        ("not a dict", "JSON 对象"),
        ({"infno": "2304"}, "msgid"),
        ({"infno": "23/4", "msgid": "m", "fixmedins_code": "H51140200001", "inf_time": "2020-03-10 09:00:00"}, "infno"),
        ({"infno": "2304", "msgid": "m", "fixmedins_code": "H51140200001", "inf_time": "2020/03/10"}, "inf_time"),
        ({"infno": "9999", "msgid": "m", "fixmedins_code": "H51140200001", "inf_time": "2020-03-10 09:00:00"}, "不支持的交易编号"),
        ({"infno": "2304", "msgid": "m", "fixmedins_code": "H51140200001", "inf_time": "2020-03-10 09:00:00", "input": "{bad"}, "input"),
        ({"infno": "2304", "msgid": "m", "fixmedins_code": "H51140200001", "inf_time": "2020-03-10 09:00:00", "input": {}}, "data"),
    ],
)
def test_malformed_envelopes(platform, envelope, message):
    answer = platform.call(envelope)
    assert answer["infcode"] == -1 and message in answer["err_msg"], answer["err_msg"]


def test_input_may_arrive_as_a_json_string(hospital):
    envelope = hospital.envelope("1101", {})
    envelope["input"] = '{"data": {"certno": "511402198001011230"}}'
    assert hospital.transport.send(envelope)["output"]["baseinfo"]["psn_no"] == "P1"


def test_pharmacy_may_not_send_inpatient_transactions(platform):
    pharmacy = InterfaceClient(InProcess(platform), "P51140200001", clock=lambda: DAY)
    answer = pharmacy.call("2301", {"feedetail": []})
    assert answer["infcode"] == -1 and "零售药店" in answer["err_msg"]


def test_an_institution_cannot_touch_another_ones_encounter(hospital, township, world):
    mdtrt_id, _ = admit_and_upload(hospital)
    answer = township.call("2304", {"data": township.settle_data(mdtrt_id, "P1", "390", "10500.00")})
    assert answer["infcode"] == -1 and "本机构没有就诊ID" in answer["err_msg"]
    answer = township.call("2301", {"feedetail": township.fee_lines(mdtrt_id, "P1", [("XA", 1, 1)])})
    assert answer["infcode"] == -1
    assert count(world, s.settlements) == 0


# ── reversal ────────────────────────────────────────────────────────────────────────────────

def test_reversal_restores_every_accumulator_and_the_account(hospital, world):
    mdtrt_id, _ = admit_and_upload(hospital, psn_no="P2")
    before = accumulators(world)
    out = hospital.ok("2304", {"data": hospital.settle_data(mdtrt_id, "P2", "390", "10500.00")})
    assert accumulators(world) != before
    data = {"mdtrt_id": mdtrt_id, "setl_id": out["setlinfo"]["setl_id"], "psn_no": "P2"}
    hospital.ok("2305", {"data": data})
    after = [(p, y, layer, base, paid, cnt) for p, y, layer, base, paid, cnt in accumulators(world)]
    assert all(base == "0" and paid == 0 and cnt == 0 for _, _, _, base, paid, cnt in after)
    second = hospital.call("2305", {"data": data})
    assert second["infcode"] == -1 and "不能重复撤销" in second["err_msg"]
    # and the encounter can be settled again, giving the same answer as the first time
    again = hospital.ok("2304", {"data": hospital.settle_data(mdtrt_id, "P2", "390", "10500.00")})
    assert again["setlinfo"]["maf_pay"] == out["setlinfo"]["maf_pay"]


def test_reversing_a_presettlement_is_refused(hospital):
    mdtrt_id, _ = admit_and_upload(hospital)
    hospital.ok("2303", {"data": hospital.settle_data(mdtrt_id, "P1", "390", "10500.00")})
    answer = hospital.call("2305", {"data": {"mdtrt_id": mdtrt_id, "setl_id": "", "psn_no": "P1"}})
    assert answer["infcode"] == -1 and "预结算" in answer["err_msg"]


def test_technical_reversal_after_a_lost_response(hospital, world):
    mdtrt_id, _ = admit_and_upload(hospital)
    before = accumulators(world)
    lost = hospital.envelope("2304", {"data": hospital.settle_data(mdtrt_id, "P1", "390", "10500.00")})
    assert hospital.transport.send(lost)["infcode"] == 0  # applied, but the hospital never saw the answer
    hospital.ok("2601", {"data": {"psn_no": "P1", "omsgid": lost["msgid"], "oinfno": "2304"}})
    assert accumulators(world) == [(p, y, layer, "0", 0, 0) for p, y, layer, *_ in accumulators(world)]
    assert before == [] and count(world, s.settlements, s.settlements.c.status == "settled") == 0
    late = hospital.transport.send(lost)
    assert late["infcode"] == -1 and "冲正" in late["err_msg"]
    # 2601 is itself idempotent, and the encounter can be settled afresh
    assert hospital.call("2601", {"data": {"psn_no": "P1", "omsgid": lost["msgid"], "oinfno": "2304"}})["infcode"] == 0
    assert hospital.ok("2304", {"data": hospital.settle_data(mdtrt_id, "P1", "390", "10500.00")})["setlinfo"]["hifp_pay"] == Decimal("5941.00")


def test_technical_reversal_of_a_message_that_never_arrived(hospital, world):
    mdtrt_id, _ = admit_and_upload(hospital)
    never = hospital.envelope("2304", {"data": hospital.settle_data(mdtrt_id, "P1", "390", "10500.00")})
    assert hospital.call("2601", {"data": {"psn_no": "P1", "omsgid": never["msgid"], "oinfno": "2304"}})["infcode"] == 0
    late = hospital.transport.send(never)
    assert late["infcode"] == -1 and count(world, s.settlements) == 0


# ── races ───────────────────────────────────────────────────────────────────────────────────

def test_two_concurrent_settlements_never_both_spend_one_remaining_cap(world):
    """Two encounters of one person settle at the same moment with 1,000 yuan of basic cap left:
    together they must not be paid more than 1,000."""
    with world.begin() as conn:
        conn.execute(s.accumulators.insert().values(psn_no="P1", year=2020, layer="390100", base="0", paid=29_900_000, count=0))
    platform = Platform(world)
    # Two cashier terminals of one hospital: distinct msgid sequences, one clock.
    clients = [
        InterfaceClient(InProcess(platform), "H51140200001", clock=lambda: DAY, _seq=itertools.count(start))
        for start in (1, 5000)
    ]
    encounters = [admit_and_upload(c, lines=(("XA", 100, 98),))[0] for c in clients]
    barrier = threading.Barrier(2)
    answers = []

    def settle(client, mdtrt_id):
        barrier.wait()
        answers.append(client.call("2304", {"data": client.settle_data(mdtrt_id, "P1", "390", "9800.00")}))

    threads = [threading.Thread(target=settle, args=pair) for pair in zip(clients, encounters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a["infcode"] for a in answers] == [0, 0], [a["err_msg"] for a in answers]
    paid = sorted(a["output"]["setlinfo"]["hifp_pay"] for a in answers)
    assert paid == [Decimal("0.00"), Decimal("1000.00")]
    with world.connect() as conn:
        total = conn.execute(select(s.accumulators.c.paid).where(s.accumulators.c.layer == "390100")).scalar()
    assert total == 30_000_000
