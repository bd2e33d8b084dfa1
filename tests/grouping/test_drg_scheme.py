"""Loading a scheme folder: every problem is reported with file, line and column; the demo
scheme loads and groups; optional code translation; the explained trail."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from groupworld import grp
from yibao.grouping.drg import DrgGrouper, DrgRecord, SchemeError, Status, load_scheme
from yibao.grouping.drg_cli import demo_scheme_path


@pytest.fixture
def scheme_copy(tmp_path) -> Path:
    dst = tmp_path / "scheme"
    shutil.copytree(demo_scheme_path(), dst)
    return dst


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _issues(folder) -> list[str]:
    with pytest.raises(SchemeError) as info:
        load_scheme(folder)
    return [str(i) for i in info.value.issues]


def _line_of(path: Path, startswith: str) -> int:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith(startswith):
            return n
    raise AssertionError(startswith)


def test_chs_tables_load_with_the_readme_counts(chs_scheme):
    s = chs_scheme
    assert len(s.mdcs) == 26 and len(s.adrgs) == 376 and len(s.drgs) == 628
    assert [m.code for m in s.mdcs][:6] == ["MDCA", "MDCP", "MDCY", "MDCZ", "MDCM", "MDCN"]
    assert sum(len(m.codes) for m in s.mdcs) == 29_541
    assert len(s.mcc) == 4_678 and len(s.cc) == 16_568 and len(s.cce) == 28_302
    assert len(s.or_procedures) == 10_251
    assert s.warnings == []
    # JA1's ss rows carry tags 1–4 instead of an ss1 list
    assert sorted(s.adrgs["JA1"].tags) == ["1", "2", "3", "4"] and "ss1" not in s.adrgs["JA1"].lists


def test_missing_file(scheme_copy):
    (scheme_copy / "cc.csv").unlink()
    assert any(i.startswith("cc.csv") and "缺少必需的文件" in i for i in _issues(scheme_copy))


def test_missing_column(scheme_copy):
    _edit(scheme_copy / "mdc.csv", "entry_rule", "rule")
    issues = _issues(scheme_copy)
    assert any("mdc.csv" in i and "line 1" in i and "entry_rule" in i for i in issues)


def test_rule_syntax_error_names_file_line_and_column(scheme_copy):
    path = scheme_copy / "adrg.csv"
    line = _line_of(path, "FB1,")
    _edit(path, "anypr:ss&anypr:ss1", "anypr:ss&(anypr:ss1")
    issues = _issues(scheme_copy)
    assert len(issues) == 1
    assert issues[0].startswith(f"adrg.csv 第{line}行 (line {line}) 列 rule")
    assert "')'" in issues[0]


def test_unknown_list_in_rule(scheme_copy):
    path = scheme_copy / "mdc.csv"
    line = _line_of(path, "MDCE,")
    _edit(path, "MDCE,10,呼吸系统疾病及功能障碍,pdx:mdc", "MDCE,10,呼吸系统疾病及功能障碍,pdx:zz")
    issues = _issues(scheme_copy)
    assert any(f"line {line})" in i and "entry_rule" in i and "'zz'" in i for i in issues)


def test_bad_severity_and_order(scheme_copy):
    path = scheme_copy / "drg.csv"
    line = _line_of(path, "ES23,")
    _edit(path, "ES2,MDCE,2,MCC_OR_CC", "ES2,MDCE,2,CC")
    line2 = _line_of(path, "ES25,")
    _edit(path, "ES2,MDCE,3,NONE", "ES2,MDCE,x,NONE")
    issues = _issues(scheme_copy)
    assert any(f"drg.csv 第{line}行" in i and "列 severity" in i for i in issues)
    assert any(f"drg.csv 第{line2}行" in i and "列 order" in i and "不是整数" in i for i in issues)


def test_last_drg_must_be_none(scheme_copy):
    _edit(scheme_copy / "drg.csv", "GZ1,MDCG,1,NONE", "GZ1,MDCG,1,MCC")
    issues = _issues(scheme_copy)
    assert any("GZ19" in i and "NONE" in i for i in issues)


def test_unknown_references(scheme_copy):
    _edit(scheme_copy / "adrg_codes.csv", "GS1,zd,K92.200", "GS9,zd,K92.200")
    _edit(scheme_copy / "drg.csv", "GZ19,其他消化系统诊断,GZ1,MDCG", "GZ19,其他消化系统诊断,GZ1,MDCF")
    issues = _issues(scheme_copy)
    assert any(i.startswith("adrg_codes.csv") and "GS9" in i for i in issues)
    assert any(i.startswith("drg.csv") and "列 mdc" in i for i in issues)


def test_missing_tag_group_is_an_error(scheme_copy):
    _edit(scheme_copy / "adrg.csv", "GD1,MDCG,2,阑尾切除术,ppr:ss", "GD1,MDCG,2,阑尾切除术,ssgrp:1")
    assert any("手术组标签 '1'" in i for i in _issues(scheme_copy))


def test_conflicting_exclusion_tables(scheme_copy):
    with open(scheme_copy / "cc_exclusion.csv", "a", encoding="utf-8") as fh:
        fh.write("J18.900,E9\n")
    assert any(i.startswith("cc_exclusion.csv") and "J18.900" in i for i in _issues(scheme_copy))


def test_not_a_folder(tmp_path):
    assert any("不是目录" in i for i in _issues(tmp_path / "nope"))


# ----------------------------------------------------------------------------- demo scheme

def test_demo_scheme_groups(demo):
    # README of the demo scheme: each line exercises one rule.
    assert grp(demo, ["K35.800", "E11.900"], ["47.0100"]) == ("SUCCESS", "MDCG", "GD1", "GD13")  # CC E11.900
    assert grp(demo, ["D25.900"], ["68.4100"], gender=2) == ("SUCCESS", "MDCN", "NF1", "NF15")
    assert grp(demo, ["D25.900"], ["68.4100"], gender=1) == ("FAIL", "0000", "00", "0000")
    assert grp(demo, ["P07.300", "P22.000"], age=0, age_days=10, weight=1200) == ("SUCCESS", "MDCP", "PS1", "PS11")
    assert grp(demo, ["S06.500", "S27.000"]) == ("SUCCESS", "MDCZ", "ZZ1", "ZZ15")
    # one region: not MDCZ; the fracture groups in its own body system
    assert grp(demo, ["S72.000", "S72.100"]) == ("SUCCESS", "MDCI", "IR1", "IR15")
    assert grp(demo, ["I35.000"], ["36.1200", "35.2200"]) == ("SUCCESS", "MDCF", "FB1", "FB15")
    # J96.000 is an MCC of table E1 = J44.100's table -> excluded; E87.102 is a CC -> ET23.
    assert grp(demo, ["J44.100", "J96.000", "E87.102"]) == ("SUCCESS", "MDCE", "ET2", "ET23")


def test_repeat_of_principal_counts_when_its_table_differs(demo):
    # Demo: I50.900 is an MCC (table F2) and, as a principal, has no exclusion table. Repeating
    # it as a secondary diagnosis counts (duplicates are not removed): FZ15 -> FZ13.
    assert grp(demo, ["I50.900"]) == ("SUCCESS", "MDCF", "FZ1", "FZ15")
    assert grp(demo, ["I50.900", "I50.900"]) == ("SUCCESS", "MDCF", "FZ1", "FZ13")


def test_translation_is_off_by_default_and_maps_codes_when_on():
    scheme = load_scheme(demo_scheme_path())
    plain, trans = DrgGrouper(scheme), DrgGrouper(scheme, translate=True)
    # K35.900 is in no list; the demo map recodes it to K35.800, and 47.0900 to 47.0901.
    assert grp(plain, ["K35.900"], ["47.0900"]) == ("FAIL", "0000", "00", "0000")
    assert grp(trans, ["K35.900"], ["47.0900"]) == ("SUCCESS", "MDCG", "GD1", "GD15")
    assert grp(trans, ["X99.999"]) == ("ZD_NOT_MAPPING", "0000", "00", "0000")
    assert grp(trans, ["K35.800"], ["99.9999"]) == ("SS_NOT_MAPPING", "0000", "00", "0000")
    # translation comes before validation (as in the reference implementation)
    assert grp(trans, ["X99.999"], gender=None) == ("ZD_NOT_MAPPING", "0000", "00", "0000")
    trail = trans.group(DrgRecord(gender=1, age=30, dx=["K35.900"], px=["47.0900"]), explain=True).trail
    assert any("K35.900→K35.800" in n.zh for n in trail)


def test_chs_translation_map(chs_scheme):
    trans = DrgGrouper(chs_scheme, translate=True)
    dx_map, _ = chs_scheme.translation_maps()
    assert len(dx_map) == 35_591 and dx_map["A01.000x002"] == "A01.003"
    assert trans.group_values(1, 40, None, None, ["NOT.A.CODE"], [])[0] is Status.ZD_NOT_MAPPING


def test_translation_needs_the_map_files(scheme_copy):
    (scheme_copy / "icd9cm3_map.csv").unlink()
    with pytest.raises(SchemeError) as info:
        DrgGrouper(load_scheme(scheme_copy), translate=True)
    assert "icd9cm3_map.csv" in str(info.value)


# ----------------------------------------------------------------------------- the trail

def test_trail_names_rules_lists_and_exclusions(chs):
    record = DrgRecord(id="t1", gender=1, age=50, dx=["S06.500", "S06.202", "G93.501", "E11.900"], px=[])
    result = chs.group(record, explain=True)
    assert (result.mdc, result.adrg, result.drg) == ("MDCB", "BY1", "BY11")
    zh = "\n".join(n.zh for n in result.trail)
    en = "\n".join(n.en for n in result.trail)
    assert "进入 MDCB" in zh and "入组规则 pdx:mdc 成立" in zh
    assert "entering MDCB" in en
    # MDCZ was a near miss: the principal is in its list but one region only
    assert "未进入 MDCZ" in zh and "1 个部位" in zh
    assert "入组 ADRG BY1" in zh and "BY1 诊断表(zd)" in zh
    assert "S06.202" in zh and "被排除" in zh            # MCC excluded by CCE
    assert "G93.501" in zh and "计入" in zh              # the MCC that counts
    assert "DRG BY11" in zh and result.trail[-1].en.startswith("result: SUCCESS")


def test_trail_reports_fall_through_and_validation(chs):
    r = chs.group(DrgRecord(gender=1, age=60, dx=["Z51.103"], px=["99.2503"]), explain=True)
    assert any("falling through" in n.en and "MDCA" in n.en for n in r.trail)
    bad = chs.group(DrgRecord(gender=1, age=0, age_days=3, dx=["P07.300"]), explain=True)
    assert bad.status is Status.CHECK_FAILED
    assert any("出生体重" in n.zh for n in bad.trail)
