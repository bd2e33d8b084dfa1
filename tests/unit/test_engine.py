"""The payer chain on hand-worked cases (each figure worked out in the comment)."""

import datetime as dt
from fractions import Fraction

import pytest

from builders import claim, policy
from yibao.settlement import SettlementError, YearState, settle
from yibao.settlement.model import LayerAccum

MEISHAN = policy("meishan-2020", dt.date(2020, 6, 1))
QINGYUAN = policy("qingyuan-2021", dt.date(2021, 6, 1))
ANJI = policy("anji-2020", dt.date(2020, 6, 1))


def test_basic_deductible_and_ratio_by_level():
    r = settle(claim(("XA", 100, 80), ("XB", 50, 40), ("XC", 500, 1)), MEISHAN, YearState())
    assert r.totals.inscp_scp_amt == 980000
    assert r.act_pay_dedc == 66000  # 三级 660
    assert r.pays["hifp_pay"] == 594100  # (9800 − 660) × 65%
    assert r.pool_prop == Fraction(13, 20)
    assert r.fund_pay_sumamt + r.psn_part_amt == r.totals.medfee_sumamt
    township = settle(claim(("XA", 100, 10), level="township"), MEISHAN, YearState())
    assert township.pays["hifp_pay"] == 76500  # (1000 − 150) × 90%


def test_second_admission_halves_the_deductible():
    r = settle(claim(("XA", 100, 98)), MEISHAN, YearState(admissions=1))
    assert r.act_pay_dedc == 33000  # 660 × 50%
    assert r.pays["hifp_pay"] == 615550  # (9800 − 330) × 65% = 6155.50
    q = settle(claim(("XA", 100, 98), insutype="390", admdvs="441802"), QINGYUAN, YearState(admissions=1))
    assert q.act_pay_dedc == 100000  # 清远 never reduces it


def test_basic_cap_across_encounters():
    state = YearState(layers={"390100": LayerAccum(0, 29_950_000)})  # 299,500 paid already
    r = settle(claim(("XA", 100, 98)), MEISHAN, state)
    assert r.pays["hifp_pay"] == 50000  # due 5941.00, cap leaves 500.00
    assert r.rows[0].cap_remaining == 50000


def test_critical_illness_band_and_special_group():
    # inscp 100,000; basic (100000 − 660) × 65% = 64571; base for 大病 = 35429
    ordinary = settle(claim(("XA", 1000, 100)), MEISHAN, YearState())
    assert ordinary.pays["hifp_pay"] == 6_457_100
    assert ordinary.pays["hifmi_pay"] == 1_225_740  # (35429 − 15000) × 60% = 12257.40
    # 低保: deductible 7500, 65%: (35429 − 7500) × 65% = 18153.85; then assistance 85% of the rest
    special = settle(claim(("XA", 1000, 100), assistance="dibao"), MEISHAN, YearState())
    assert special.pays["hifmi_pay"] == 1_815_385
    rest = 10_000_000 - 6_457_100 - 1_815_385  # 17275.15
    assert special.pays["maf_pay"] == 1_468_388  # 17275.15 × 85% = 14683.8775 → 14683.88
    assert rest == 1_727_515


def test_critical_illness_crosses_bands_cumulatively():
    state = YearState(layers={"390200": LayerAccum(6_000_000, 2_700_000)})  # base 60,000 so far
    # F(60000) = 45000 × 60% = 27000 (already paid). This encounter adds 20379.68 (below), so
    # the base crosses from the 60% band into the 70% band.
    small = settle(claim(("XA", 2000, 1)), MEISHAN, YearState())
    assert small.totals.inscp_scp_amt - small.pays["hifp_pay"] == 200000 - 87100  # 2000 − 1340 × 65%
    big = claim(("XA", 1000, 57), ("XA", "1.94", 1))  # inscp 57001.94; basic 36622.261 → 36622.26
    r2 = settle(big, MEISHAN, state)
    assert r2.pays["hifp_pay"] == 3_662_226
    added = 5_700_194 - 3_662_226  # 20379.68
    # F(80379.68) = 30000 + 15379.68 × 70% = 40765.776 → 40765.78; minus 27000 = 13765.78
    assert r2.pays["hifmi_pay"] == 1_376_578
    assert added == 2_037_968


def test_large_amount_when_basic_cap_cuts_mid_encounter():
    state = YearState(layers={"310100": LayerAccum(0, 89_900_000)})  # 899,000 of 900,000 paid
    c = claim(("XA", 200, 100), insutype="310", admdvs="441802")
    r = settle(c, QINGYUAN, state)
    assert r.pays["hifp_pay"] == 100000  # cap leaves 1,000
    # base = (20000 − 1000) − 1000 ÷ 0.87 = 17850.574712…; × 90% = 16065.517… → 16065.52
    assert r.pays["hifob_pay"] == 1_606_552
    large = [row for row in r.rows if row.kind == "large_amount"][0]
    assert large.base == Fraction(1_900_000) - Fraction(100_000) / Fraction(87, 100)


def test_large_amount_when_cap_already_used_up():
    state = YearState(layers={"310100": LayerAccum(0, 90_000_000)})
    r = settle(claim(("XA", 200, 100), insutype="310", psn_type="1201", admdvs="441802"), QINGYUAN, state)
    assert r.pays["hifp_pay"] == 0
    assert r.pays["hifob_pay"] == 1_710_000  # (20000 − 1000) × 90%
    assert r.pool_prop == Fraction(9, 10)  # retired


def test_civil_servant_on_negotiated_drug_lines():
    # lines: 甲 5000 (scope 5000), 谈判药 5000 with 10% 先行自付 (scope 4500); scope 9500
    r = settle(claim(("XA", 100, 50), ("XN", 100, 50), cvlserv=True), MEISHAN, YearState())
    assert r.pays["hifp_pay"] == 574600  # (9500 − 660) × 65% = 5746
    # share of earlier payments on the nego line: 4500 × (9500 − 5746) / 9500 = 1778.21…; × 90% = 1600.39
    assert r.pays["cvlserv_pay"] == 160039
    row = [x for x in r.rows if x.kind == "civil_servant"][0]
    assert row.base == Fraction(450000) * (950000 - 574600) / 950000


def test_outpatient_only_at_primary_levels():
    primary = settle(claim(("XA", 20, 5), med_type="11", level="level1"), MEISHAN, YearState())
    assert primary.act_pay_dedc == 0 and primary.pays["hifp_pay"] == 5000  # 100 × 50%
    tertiary = settle(claim(("XA", 20, 5), med_type="11", level="level3"), MEISHAN, YearState())
    assert tertiary.pays["hifp_pay"] == 0
    assert "不予统筹支付" in tertiary.rows[0].proc_info


def test_med_type_not_covered_pays_nothing_and_says_why():
    r = settle(claim(("XA", 100, 10), med_type="14", assistance="tekun"), MEISHAN, YearState())
    assert r.fund_pay_sumamt == 0
    assert "不在政策" in r.detail_rows()[0].proc_info
    assert r.delta.layers == () and r.delta.admissions == 0


def test_out_of_region_filing_and_referral_in_qingyuan():
    unfiled = settle(claim(("XA", 100, 100), admdvs="440100", insu_admdvs="441802", assistance="dibao"), QINGYUAN, YearState())
    assert unfiled.pool_prop == Fraction(40, 100)  # 60% − 20 points
    assert unfiled.pays["hifp_pay"] == 360000  # (10000 − 1000) × 40%
    assert unfiled.pays["maf_pay"] == 0  # no referral: no assistance
    filed = settle(claim(("XA", 100, 100), admdvs="440100", insu_admdvs="441802", assistance="dibao", filed=True), QINGYUAN, YearState())
    assert filed.pays["hifp_pay"] == 540000  # (10000 − 1000) × 60%
    assert filed.pays["maf_pay"] == 391000  # (10000 − 5400) × 85%


def test_anji_tilt_only_in_county():
    inside = settle(claim(("XA", 100, 100), admdvs="330523", assistance="low_income"), ANJI, YearState())
    assert inside.pool_prop == Fraction(80, 100)  # 65% + 15
    assert inside.pays["hifp_pay"] == 747200  # (10000 − 660) × 80%
    assert inside.pays["maf_pay"] == 202240  # (10000 − 7472) × 80%, no deductible in 安吉
    elsewhere = settle(claim(("XA", 100, 100), admdvs="330522", insu_admdvs="330523", assistance="low_income"), ANJI, YearState())
    assert elsewhere.pool_prop == Fraction(65, 100)


def test_low_income_assistance_deductible_is_cumulative():
    # meishan 低收入: yearly deductible 1000, 80%
    first = settle(claim(("XA", 10, 30), level="township", assistance="low_income"), MEISHAN, YearState())
    # scope 300 ≤ deductible 150? basic: (300 − 150) × 90% = 135; burden 165 → under 1000: nothing
    assert first.pays["hifp_pay"] == 13500 and first.pays["maf_pay"] == 0
    state = YearState()
    first.delta.apply(state)
    second = settle(claim(("XA", 100, 20), level="township", assistance="low_income"), MEISHAN, state)
    # scope 2000: 2nd admission deductible 75; basic (2000 − 75) × 90% = 1732.50; burden 267.50
    assert second.pays["hifp_pay"] == 173250
    # cumulative burden 165 + 267.50 = 432.50 < 1000: still nothing
    assert second.pays["maf_pay"] == 0


def test_personal_account_for_employees_only():
    employee = settle(claim(("XA", 100, 20), insutype="310", admdvs="441802", acct=50000, acct_used=True), QINGYUAN, YearState())
    # scope 2000: basic (2000 − 1000) × 87% = 870; personal part 1130; account 500 covers part
    assert employee.psn_part_amt == 113000
    assert (employee.acct_pay, employee.psn_cash_pay, employee.balc) == (50000, 63000, 0)
    resident = settle(claim(("XA", 100, 20), admdvs="441802", acct=50000, acct_used=True), QINGYUAN, YearState())
    assert resident.acct_pay == 0


def test_insurance_type_not_in_policy_is_refused():
    with pytest.raises(SettlementError, match="不包含险种 310"):
        settle(claim(("XA", 1, 1), insutype="310"), MEISHAN, YearState())


def test_negative_total_is_refused():
    from yibao.settlement import LineSplit, Claim

    c = claim(("XA", 1, 1))
    negative = LineSplit("9", "XA", "01", Fraction(1), Fraction(-5), -500, 0, 0, 0, -500)
    with pytest.raises(SettlementError, match="负数"):
        settle(Claim(c.person, c.institution, c.med_type, c.settle_date, (negative,)), MEISHAN, YearState())


def test_a_layer_can_be_limited_to_some_kinds_of_care():
    """qingyi-2022: 大病 counts only inpatient and 门诊慢特病 burden, not general outpatient."""
    qingyi = policy("qingyi-2022", dt.date(2024, 6, 1))
    past_deductible = YearState(layers={"390200": LayerAccum(2_000_000, 300_000)})  # 20,000 so far
    outpatient = settle(claim(("XA", 100, 10), med_type="11", level="level1", on=dt.date(2024, 6, 1)), qingyi, past_deductible)
    assert outpatient.pays["hifp_pay"] == 50000  # 1000 × 50%
    assert outpatient.pays["hifmi_pay"] == 0
    assert all(row.kind != "critical_illness" for row in outpatient.rows)
    assert all(key != "390200" for key, _, _ in outpatient.delta.layers)  # nothing added to the 大病 base
    special = settle(claim(("XA", 100, 10), med_type="14", level="level1", on=dt.date(2024, 6, 1)), qingyi, past_deductible)
    assert special.pays["hifp_pay"] == 70000  # 门诊慢特病 70% at 一级
    assert special.pays["hifmi_pay"] == 18000  # (1000 − 700) × 60%
    # the reference policy has no such limit: its 大病 counts outpatient burden too (literal reading)
    meishan = settle(claim(("XA", 100, 10), med_type="11", level="level1"), MEISHAN, past_deductible)
    assert meishan.pays["hifmi_pay"] == 30000  # (1000 − 500) × 60%
