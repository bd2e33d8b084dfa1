from fractions import Fraction

import pytest

from builders import CATALOGUE, lines
from yibao.settlement import FeeLine, LineError, classify_lines


def test_classes_and_parts():
    a, b, c, x = lines(("XA", 100, 80), ("XB", 50, 40), ("XC", 500, 1), ("NOT-IN-CATALOGUE", 3, 2))
    assert (a.amount, a.inscp, a.fulamt_ownpay) == (800000, 800000, 0)
    assert (b.amount, b.preselfpay, b.inscp) == (200000, 20000, 180000)  # 10% 先行自付
    assert (c.fulamt_ownpay, c.inscp) == (50000, 0)  # 丙类
    assert (x.fulamt_ownpay, x.chrgitm_lv) == (600, "")  # not in the catalogue: 全自费, not an error


def test_price_ceiling():
    over, equal = lines(("BED", 80, 10), ("BED", 60, 10))
    assert (over.amount, over.overlmt, over.inscp) == (80000, 20000, 60000)
    assert equal.overlmt == 0  # a price equal to the ceiling has no over-limit part


def test_preselfpay_is_on_the_part_within_the_ceiling():
    item = {"XB2": CATALOGUE["XB"].__class__("XB2", "乙", "02", Fraction(1, 10), Fraction(30))}
    (line,) = lines(("XB2", 40, 3), catalogue=item)
    assert line.overlmt == 3000  # (40 − 30) × 3
    assert line.preselfpay == 900  # (12000 − 3000) × 10%
    assert line.inscp == 8100


def test_each_part_rounded_half_up_and_parts_sum():
    (line,) = lines(("XB", "0.125", 3))  # 0.375 yuan → 0.38
    assert line.amount == 38
    assert line.preselfpay == 4  # 3.8 fen → 4
    assert line.amount == line.fulamt_ownpay + line.overlmt + line.preselfpay + line.inscp


def test_sent_total_must_match_price_times_count():
    ok = FeeLine("1", "XA", Fraction("3.333"), Fraction(3), det_item_fee_sumamt=1000)  # 9.999 vs 10.00
    assert classify_lines([ok], CATALOGUE)[0].amount == 1000
    bad = FeeLine("1", "XA", Fraction("3.333"), Fraction(3), det_item_fee_sumamt=1002)
    with pytest.raises(LineError, match="相差超过 0.01"):
        classify_lines([bad], CATALOGUE)


def test_refund_classified_like_its_line_and_not_below_zero():
    first = FeeLine("1", "XB", Fraction(50), Fraction(4))
    refund = FeeLine("2", "XB", Fraction(50), Fraction(-1), init_feedetl_sn="1")
    original, back = classify_lines([first, refund], CATALOGUE)
    assert (back.amount, back.preselfpay, back.inscp) == (-5000, -500, -4500)
    assert original.amount + back.amount == 15000
    too_much = FeeLine("3", "XB", Fraction(50), Fraction(-4), init_feedetl_sn="1")
    with pytest.raises(LineError, match="超过原明细"):
        classify_lines([first, refund, too_much], CATALOGUE)


@pytest.mark.parametrize(
    "line, message",
    [
        (FeeLine("1", "XA", Fraction(-1), Fraction(1)), "单价不能为负数"),
        (FeeLine("1", "XA", Fraction(1), Fraction(-1)), "init_feedetl_sn"),
        (FeeLine("1", "XA", Fraction(1), Fraction(-1), init_feedetl_sn="9"), "不是本次就诊的原费用明细"),
        (FeeLine("1", "XA", Fraction(1), Fraction(0)), "数量不能为 0"),
    ],
)
def test_bad_lines_say_what_is_wrong(line, message):
    with pytest.raises(LineError, match=message):
        classify_lines([line], CATALOGUE)


def test_duplicate_serial_refused():
    with pytest.raises(LineError, match="重复"):
        classify_lines([FeeLine("1", "XA", Fraction(1), Fraction(1))] * 2, CATALOGUE)


def test_hospital_approval_flag():
    restricted = {"R": CATALOGUE["XA"].__class__("R", "限制药", "01", lmt_used_flag="1")}
    approved = classify_lines([FeeLine("1", "R", Fraction(10), Fraction(1), hosp_appr_flag="1")], restricted)[0]
    refused = classify_lines([FeeLine("1", "R", Fraction(10), Fraction(1), hosp_appr_flag="0")], restricted)[0]
    assert approved.inscp == 1000 and refused.fulamt_ownpay == 1000
    self_paid = classify_lines([FeeLine("1", "XA", Fraction(10), Fraction(1), hosp_appr_flag="2")], CATALOGUE)[0]
    assert self_paid.fulamt_ownpay == 1000


def test_splits_carry_every_field_where_the_dataclass_would_put_it():
    """classify_line builds its LineSplit from all 18 fields in order (a faster constructor): each
    field lands where ``LineSplit(**…)`` by name would put it, and the dataclass's defaults
    hold where a split has nothing to say."""
    from dataclasses import fields

    from yibao.settlement.model import LineSplit

    a, c, x = lines(("XB", 50, 40), ("XC", 500, 1), ("NOT-IN-CATALOGUE", 3, 2))
    item = CATALOGUE["XB"]
    expected = LineSplit(feedetl_sn=a.feedetl_sn, med_list_codg="XB", chrgitm_lv="02", pric=a.pric, cnt=a.cnt,
                         amount=200000, fulamt_ownpay=0, overlmt=0, preselfpay=20000, inscp=180000,
                         pric_uplmt_amt=item.pric_uplmt_amt, selfpay_prop=item.selfpay_prop, nego_drug=item.nego_drug,
                         name=item.name, init_feedetl_sn=None, med_chrgitm_type=item.med_chrgitm_type,
                         lmt_used_flag=item.lmt_used_flag, note=a.note)
    assert a == expected and "先行自付" in a.note
    assert c.name == CATALOGUE["XC"].name and c.note == "丙类项目，全自费" and c.fulamt_ownpay == c.amount
    defaults = {f.name: f.default for f in fields(LineSplit) if f.name in ("pric_uplmt_amt", "selfpay_prop", "nego_drug",
                                                                            "name", "med_chrgitm_type", "lmt_used_flag")}
    assert {name: getattr(x, name) for name in defaults} == defaults
    assert (x.chrgitm_lv, x.note) == ("", "医保目录外项目，全自费")
