"""Each special rule of the CHS-DRG 1.1 README (shared/data/chs-drg-1.1/README.md), on the
real tables, with hand-made records. Every expectation is derived in its comment from the
tables: which list a code is in, which tag a procedure carries, which exclusion table applies.
"""

from __future__ import annotations

import pytest

from groupworld import grp

FAIL = ("FAIL", "0000", "00", "0000")
CHECK_FAILED = ("CHECK_FAILED", "0000", "00", "0000")


# ----------------------------------------------------------------------------- 1. validation

@pytest.mark.parametrize("gender", [0, 9, None, 3])
def test_gender_must_be_1_or_2(chs, gender):
    # I50.900 (心力衰竭) would group to MDCF; a bad gender stops it first.
    assert grp(chs, ["I50.900"], gender=gender) == CHECK_FAILED


def test_valid_gender_groups(chs):
    # I50.900 is in the MDCF list; FK1 and FP1 also need a procedure (pdx:zd&ppr:ss), FR2 is
    # pdx:zd -> FR2; no secondary diagnosis -> FR25.
    assert grp(chs, ["I50.900"], gender=2) == ("SUCCESS", "MDCF", "FR2", "FR25")


def test_age_missing_fails_validation(chs):
    assert grp(chs, ["I50.900"], age=None) == CHECK_FAILED


def test_age_zero_needs_age_days(chs):
    # Age 0 with no age in days: CHECK_FAILED even with a weight.
    assert grp(chs, ["P07.300"], age=0, age_days=None, weight=3000) == CHECK_FAILED


def test_neonate_needs_weight_but_zero_counts_as_present(chs):
    # Age 0 and age_days <= 28 needs a weight: missing -> CHECK_FAILED ...
    assert grp(chs, ["P07.300"], age=0, age_days=28, weight=None) == CHECK_FAILED
    # ... but 0 is a weight that is present: validation passes (it then matches no PS band).
    assert grp(chs, ["P07.300"], age=0, age_days=28, weight=0)[0] == "SUCCESS"


def test_infant_over_28_days_needs_no_weight(chs):
    # 29 days: the weight rule does not apply; P07.300 is an MDCP principal -> PV1 (rule true),
    # the only MDCP ADRG that does not need ageday <= 28. No secondary -> PV15.
    assert grp(chs, ["P07.300"], age=0, age_days=29, weight=None) == ("SUCCESS", "MDCP", "PV1", "PV15")


def test_empty_diagnosis_list_fails_validation(chs):
    assert grp(chs, []) == CHECK_FAILED


def test_empty_dx_string_is_one_empty_code(chs):
    # An empty dx string becomes [''] (one empty code): validation passes. With no procedure no
    # MDC takes it -> FAIL; with a main procedure 37.5100 (心脏移植, an OR procedure in AA1's
    # ss list) MDCA takes it -> AA19.
    assert grp(chs, [""]) == FAIL
    assert grp(chs, [""], ["37.5100"]) == ("SUCCESS", "MDCA", "AA1", "AA19")


# ----------------------------------------------------------------------------- 2. MDCA

def test_mdca_main_procedure_transplant(chs):
    # 37.5100 is the main procedure, an OR procedure and in AA1.ss -> AA19 (AA1 is not split).
    assert grp(chs, ["I50.900"], ["37.5100"]) == ("SUCCESS", "MDCA", "AA1", "AA19")


def test_mdca_needs_the_main_procedure_to_be_or(chs):
    # The transplant is second; the main procedure 88.5600 (coronary angiography) is not an OR
    # procedure, so MDCA is not entered. I50.900 -> MDCF; 88.5600 is in FM3.ss (ppr:ss) -> FM39.
    assert grp(chs, ["I50.900"], ["88.5600", "37.5100"]) == ("SUCCESS", "MDCF", "FM3", "FM39")


def test_ac1_needs_one_procedure_from_each_list_in_any_position(chs):
    # AC1 (胰/肾联合移植): anypr:ss&anypr:ss1 with ss 52.8000 (胰腺移植) and ss1 55.6100 (肾移植).
    # AC1 comes before AD1/AE1, so the pair goes to AC1 whichever is the main procedure.
    assert grp(chs, ["N18.500"], ["55.6100", "52.8000"]) == ("SUCCESS", "MDCA", "AC1", "AC19")
    assert grp(chs, ["N18.500"], ["52.8000", "55.6100"]) == ("SUCCESS", "MDCA", "AC1", "AC19")
    # Either one alone: the main-procedure ADRGs AE1 (kidney) / AD1 (pancreas).
    assert grp(chs, ["N18.500"], ["55.6100"]) == ("SUCCESS", "MDCA", "AE1", "AE19")
    assert grp(chs, ["N18.500"], ["52.8000"]) == ("SUCCESS", "MDCA", "AD1", "AD19")


def test_ac1_pair_behind_a_non_or_main_procedure_does_not_enter_mdca(chs):
    # MDCA's entry rule is ppr:OR: a non-OR main procedure (88.5600) keeps the record out of
    # MDCA although both transplant procedures are present; N18.500 -> MDCL, LR1 -> LR15.
    assert grp(chs, ["N18.500"], ["88.5600", "52.8000", "55.6100"]) == ("SUCCESS", "MDCL", "LR1", "LR15")


def test_fall_through_from_mdca(chs):
    # 99.2503 (静脉注射化疗药物) is an OR procedure -> MDCA is entered, but it is in none of
    # AA1–AH1's lists -> fall through. Z51.103 is an MDCR principal and RE1 is pdx:zd&ppr:ss with
    # both -> RE1. Secondary C15.900 is a CC (table 22) while Z51.103's table is 222 -> RE13.
    assert grp(chs, ["Z51.103", "C15.900"], ["99.2503"]) == ("SUCCESS", "MDCR", "RE1", "RE13")


# ----------------------------------------------------------------------------- 3. MDCP

@pytest.mark.parametrize("weight, adrg, drg", [
    (1200, "PS1", "PS15"),  # < 1500
    (1499, "PS1", "PS15"),
    (1500, "PS2", "PS25"),  # 1500–1999
    (1999, "PS2", "PS25"),
    (2000, "PS3", "PS39"),  # 2000–2499 (PS3 is not split)
    (2499, "PS3", "PS39"),
    (2500, "PS4", "PS45"),  # >= 2500
])
def test_ps_weight_bands(chs, weight, adrg, drg):
    # P07.300 (早产婴儿) is an MDCP principal and in PS1–PS4's zd lists; not in PR1's. Age 0,
    # 10 days. No secondary diagnosis -> the last DRG of each PS ADRG.
    assert grp(chs, ["P07.300"], age=0, age_days=10, weight=weight) == ("SUCCESS", "MDCP", adrg, drg)


def test_weight_zero_matches_no_ps_band(chs):
    # weight!=0 is part of every PS rule: 0 g falls through PS1–PS4; P07.300 is not in PU1's zd
    # list either -> PV1 (rule true) -> PV15.
    assert grp(chs, ["P07.300"], age=0, age_days=10, weight=0) == ("SUCCESS", "MDCP", "PV1", "PV15")


def test_ps_diagnosis_may_be_secondary(chs):
    # PS rules use anydx: principal P07.000 is an MDCP code but in neither PR1 nor PS lists;
    # the secondary P07.300 is in PS2's list and 1800 g is the 1500–1999 band -> PS2.
    assert grp(chs, ["P07.000", "P07.300"], age=0, age_days=5, weight=1800) == ("SUCCESS", "MDCP", "PS2", "PS25")


def test_pr1_comes_before_ps(chs):
    # P22.000 (新生儿呼吸窘迫综合征) is in PR1.zd and PR1 (order 5) precedes PS1–PS4 (6–9).
    # P07.300 is a CC (table 163) and P22.000's table is 165 -> counted -> PR13.
    assert grp(chs, ["P22.000", "P07.300"], age=0, age_days=5, weight=1800) == ("SUCCESS", "MDCP", "PR1", "PR13")


def test_pu1_full_term(chs):
    # A04.000x001 is in PU1.zd (not in PR1/PS) -> PU1; no CC -> PU15.
    assert grp(chs, ["A04.000x001"], age=0, age_days=5, weight=3200) == ("SUCCESS", "MDCP", "PU1", "PU15")


def test_mdcp_needs_age_zero(chs):
    # Age 1: MDCP's entry rule (pdx:mdc&age==0) is false; P07.300 is in no other MDC -> FAIL.
    assert grp(chs, ["P07.300"], age=1) == FAIL


# ----------------------------------------------------------------------------- 4. MDCY

def test_yc1_needs_any_yc1_diagnosis_and_or_main_procedure(chs):
    # B20.001 is in the HIV list and YC1.zd; 47.0100 (腹腔镜下阑尾切除) is an OR procedure -> YC1.
    assert grp(chs, ["B20.001"], ["47.0100"]) == ("SUCCESS", "MDCY", "YC1", "YC15")
    # anydx: the YC1 diagnosis may be secondary (B20.000x001 is HIV but not in YC1.zd).
    # B20.001 is an MCC of table 13, the same as B20.000x001's -> excluded -> YC15.
    assert grp(chs, ["B20.000x001", "B20.001"], ["47.0100"]) == ("SUCCESS", "MDCY", "YC1", "YC15")


def test_yc1_near_misses(chs):
    # No YC1 diagnosis anywhere -> YR1 (pdx:zd) even with an OR main procedure.
    assert grp(chs, ["B20.000x001"], ["47.0100"]) == ("SUCCESS", "MDCY", "YR1", "YR15")
    # OR procedure present but not main (38.9301 is not OR) -> YR1.
    assert grp(chs, ["B20.001"], ["38.9301", "47.0100"]) == ("SUCCESS", "MDCY", "YR1", "YR15")


# ----------------------------------------------------------------------------- 5. MDCZ

def test_mdcz_two_regions_no_operation(chs):
    # S72.000 (股骨颈骨折, 下肢创伤) is in both the MDCZ and MDCI lists; S27.000 (创伤性气胸) is
    # 胸部创伤: two regions -> MDCZ, tried before MDCI. No OR procedure -> ZZ1. S27.000 is a CC
    # (table 198, principal's is 203) but ZZ1 splits only on MCC -> ZZ15.
    assert grp(chs, ["S72.000", "S27.000"]) == ("SUCCESS", "MDCZ", "ZZ1", "ZZ15")
    # A non-OR procedure (38.9301) does not stop ZZ1.
    assert grp(chs, ["S72.000", "S27.000"], ["38.9301"]) == ("SUCCESS", "MDCZ", "ZZ1", "ZZ15")


def test_mdcz_one_region_does_not_enter(chs):
    # S82.000 is also 下肢创伤: one region only -> not MDCZ -> MDCI, IR2 (pdx:zd) -> IR29.
    assert grp(chs, ["S72.000", "S82.000"]) == ("SUCCESS", "MDCI", "IR2", "IR29")


def test_mdcz_surgical_adrg_by_main_procedure(chs):
    # 79.6201 is in ZC1.ss; it is an OR procedure, so MDCA is entered first and falls through.
    assert grp(chs, ["S72.000", "S27.000"], ["79.6201"]) == ("SUCCESS", "MDCZ", "ZC1", "ZC15")


def test_mdcz_falls_through_with_an_or_procedure_outside_the_z_lists(chs):
    # 68.4100 (腹腔镜全子宫切除) is OR but in no Z list: ZB1–ZJ1 fail, ZZ1 fails (an OR procedure
    # exists) -> on to MDCI, where 68.4100 is in no list either -> IR2 (pdx:zd).
    assert grp(chs, ["S72.000", "S27.000"], ["68.4100"]) == ("SUCCESS", "MDCI", "IR2", "IR29")
    # The same when the OR procedure is not the main one: ZZ1 looks at every position.
    assert grp(chs, ["S72.000", "S27.000"], ["38.9301", "68.4100"]) == ("SUCCESS", "MDCI", "IR2", "IR29")


# ----------------------------------------------------------------------------- 6. MDCM / MDCN

def test_mdcm_needs_male(chs):
    # C61.x00 (前列腺恶性肿瘤) is only in the MDCM list: male -> MR1 -> MR15; female -> FAIL.
    assert grp(chs, ["C61.x00"], gender=1) == ("SUCCESS", "MDCM", "MR1", "MR15")
    assert grp(chs, ["C61.x00"], gender=2) == FAIL


def test_male_with_mdcn_principal_does_not_enter_mdcn(chs):
    # D25.900 (子宫平滑肌瘤) is only in the MDCN list.
    assert grp(chs, ["D25.900"], gender=2) == ("SUCCESS", "MDCN", "NZ1", "NZ19")
    assert grp(chs, ["D25.900"], gender=1) == FAIL


# ----------------------------------------------------------------------------- 7. any-OR ADRGs

def test_sb1_takes_any_or_main_procedure(chs):
    # A41.900 (脓毒症) -> MDCS. 68.4100 is OR and in no MDCA/MDCS list; SB1 is ppr:OR -> SB1.
    assert grp(chs, ["A41.900"], ["68.4100"]) == ("SUCCESS", "MDCS", "SB1", "SB15")
    # Without a procedure -> the medical SR1.
    assert grp(chs, ["A41.900"]) == ("SUCCESS", "MDCS", "SR1", "SR15")


# ----------------------------------------------------------------------------- 8. two procedures

def test_fb1_two_procedures_in_any_order(chs):
    # FB1: 35.0101 (主动脉瓣闭式扩张, ss) with 00.6601 (冠脉药物球囊成形, ss1), either order.
    assert grp(chs, ["I35.000"], ["35.0101", "00.6601"]) == ("SUCCESS", "MDCF", "FB1", "FB19")
    assert grp(chs, ["I35.000"], ["00.6601", "35.0101"]) == ("SUCCESS", "MDCF", "FB1", "FB19")
    # ss alone -> the valve ADRG FB2 (ppr:ss).
    assert grp(chs, ["I35.000"], ["35.0101"]) == ("SUCCESS", "MDCF", "FB2", "FB25")


def test_ib1_needs_principal_and_both_procedures(chs):
    pdx = "A18.000x047+M49.0*"  # in IB1.zd and the MDCI list
    assert grp(chs, [pdx], ["03.0900x025", "03.0900x007"]) == ("SUCCESS", "MDCI", "IB1", "IB19")
    assert grp(chs, [pdx], ["03.0900x007", "03.0900x025"]) == ("SUCCESS", "MDCI", "IB1", "IB19")
    # Only the ss procedure -> IB3 (与脊柱有关的其他手术, ppr:ss).
    assert grp(chs, [pdx], ["03.0900x025"]) == ("SUCCESS", "MDCI", "IB3", "IB39")


# ----------------------------------------------------------------------------- 9. tag groups

def test_ja1_groups_1_and_2(chs):
    # In JA1's ss list 85.5300x001 (乳房假体置入) has tag 1 and 85.4300x003 tag 2 -> JA1.
    assert grp(chs, ["C50.900x005"], ["85.5300x001", "85.4300x003"], gender=2) == ("SUCCESS", "MDCJ", "JA1", "JA19")


def test_ja1_groups_1_3_4(chs):
    # 85.2200 has JA1 tag 3 and 40.2100 tag 4; with tag 1 -> JA1.
    assert grp(chs, ["C50.900x005"], ["85.5300x001", "85.2200", "40.2100"], gender=2) == ("SUCCESS", "MDCJ", "JA1", "JA19")


def test_ja1_groups_1_3_without_4_is_not_ja1(chs):
    # Tags 1 and 3 only: neither JA1 combination. In JA2's list 85.2200 is tag 2 and
    # 85.5300x001 has no tag, so JA2 (1, or 2 and 3) fails too. The main procedure 85.5300x001
    # then matches JB1 (ppr:ss) -> JB19.
    assert grp(chs, ["C50.900x005"], ["85.5300x001", "85.2200"], gender=2) == ("SUCCESS", "MDCJ", "JB1", "JB19")


def test_ja2_group_1_or_groups_2_and_3(chs):
    # JA2's own tags: 85.4301 tag 1 -> JA2 (JA1 fails: 85.4301 is JA1 tag 2 only, no tag 1).
    assert grp(chs, ["C50.900x005"], ["85.4301"], gender=2) == ("SUCCESS", "MDCJ", "JA2", "JA29")
    # 85.2200 (JA2 tag 2) + 40.2100 (JA2 tag 3) -> JA2.
    assert grp(chs, ["C50.900x005"], ["85.2200", "40.2100"], gender=2) == ("SUCCESS", "MDCJ", "JA2", "JA29")
    # Tag 2 alone is not enough -> JB2 (ppr:ss on 85.2200).
    assert grp(chs, ["C50.900x005"], ["85.2200"], gender=2) == ("SUCCESS", "MDCJ", "JB2", "JB29")


def test_na1_tag_groups(chs):
    # C51.000 (外阴恶性肿瘤): MDCN, NA1.zd. 68.6100x001 tag 1 -> NA1.
    assert grp(chs, ["C51.000"], ["68.6100x001"], gender=2) == ("SUCCESS", "MDCN", "NA1", "NA19")
    # 54.4x04 (网膜切除, tag 2) + 40.2905 (腹主动脉旁淋巴结切除, tag 3) -> NA1.
    assert grp(chs, ["C51.000"], ["54.4x04", "40.2905"], gender=2) == ("SUCCESS", "MDCN", "NA1", "NA19")
    # Tag 2 alone -> not NA1; the main procedure 54.4x04 -> NJ1.
    assert grp(chs, ["C51.000"], ["54.4x04"], gender=2) == ("SUCCESS", "MDCN", "NJ1", "NJ19")


# ----------------------------------------------------------------------------- 10. QY disabled

def test_no_ambiguous_group(chs):
    # I63.900 (脑梗死) with an OR procedure that is in no MDCB surgical list: OpenDRG's disabled
    # "BQY" branch would catch it; here it goes on to the medical ADRG BR2 -> BR25.
    assert grp(chs, ["I63.900"], ["68.4100"]) == ("SUCCESS", "MDCB", "BR2", "BR25")


# ----------------------------------------------------------------------------- 11. severity

def test_mcc_excluded_by_cce_does_not_raise_severity(chs):
    # S06.500 (创伤性硬膜下出血): one region -> MDCB, BY1 (pdx:zd). Its exclusion table is 196.
    assert grp(chs, ["S06.500"]) == ("SUCCESS", "MDCB", "BY1", "BY15")
    # S06.202 (脑挫伤) is an MCC of table 196 = the principal's -> excluded -> still BY15.
    assert grp(chs, ["S06.500", "S06.202"]) == ("SUCCESS", "MDCB", "BY1", "BY15")
    # G93.501 (脑疝) is an MCC of table 74 -> counted -> BY11.
    assert grp(chs, ["S06.500", "S06.202", "G93.501"]) == ("SUCCESS", "MDCB", "BY1", "BY11")


def test_repeat_of_principal_is_tested_and_excluded_by_its_own_table(chs):
    # J96.000 (急性呼吸衰竭) is an MCC of table 109, and its own exclusion table is 109: the
    # repeated principal is tested as a secondary diagnosis and excluded -> ER35, not ER31.
    assert grp(chs, ["J96.000", "J96.000"]) == ("SUCCESS", "MDCE", "ER3", "ER35")
    # I50.900 is an MCC of table 95 -> counted -> ER31.
    assert grp(chs, ["J96.000", "I50.900"]) == ("SUCCESS", "MDCE", "ER3", "ER31")


def test_cc_only_gives_the_cc_drg(chs):
    # Z51.103 + C15.900 (a CC, see the fall-through test) -> RE13; adding an MCC of another
    # table (I50.900, table 95) -> RE11.
    assert grp(chs, ["Z51.103", "C15.900", "I50.900"], ["99.2503"]) == ("SUCCESS", "MDCR", "RE1", "RE11")
