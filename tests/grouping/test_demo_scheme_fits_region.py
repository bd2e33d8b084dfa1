"""The demo scheme covers the synthetic region's inpatient case mix: ``yibao demo`` groups the
region's stays with it when no bureau scheme is at hand, so nearly all of them must group, each
principal diagnosis the region can admit must be in an MDC list, the region's operations must
lead to surgical ADRGs and the region's complications must raise the severity."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from groupworld import grp
from yibao.grouping.drg import DrgGrouper, load_scheme
from yibao.grouping.drg_cli import demo_scheme_path
from yibao.synth import generate, refdata

DISEASES = Path(refdata.__file__).parent / "data" / "diseases.csv"
MCC_CODES = [c for c, _n, level, _e in refdata.COMPLICATIONS if level == "MCC"]
CC_CODES = [c for c, _n, level, _e in refdata.COMPLICATIONS if level == "CC"]
# The region's operations: procedures done under general or spinal anaesthesia.
OPERATIONS = {c for c, (_n, _g, _cons, anaes) in refdata.PROCEDURES.items() if anaes in ("ga", "spinal")}


def _admitted() -> list[dict]:
    """Rows of the region's disease list that can be a stay's principal diagnosis."""
    with open(DISEASES, encoding="utf-8", newline="") as fh:
        return [r for r in csv.DictReader(fh) if float(r["ip_w"]) > 0]


def _surgical(adrg: str) -> bool:
    """CHS naming: the second letter of a surgical ADRG is A–J."""
    return "A" <= adrg[1] <= "J"


@pytest.fixture(scope="module")
def scheme():
    return load_scheme(demo_scheme_path())


@pytest.fixture(scope="module")
def stays(tmp_path_factory, scheme) -> list[tuple[dict, tuple[str, str, str, str]]]:
    """The inpatient stays of a small region (3,000 persons, two years), each with its result."""
    out = tmp_path_factory.mktemp("demo-region") / "r"
    generate(persons=3000, seed=5, out=out, years="2023-2024")
    grouper = DrgGrouper(scheme)
    rows = []
    with open(out / "drg_input.csv", encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            dx = r["dx"].split("|")
            px = [p for p in r["px"].split("|") if p]
            age_days = int(r["age_days"]) if r["age_days"] else None
            weight = int(r["weight"]) if r["weight"] else None
            status, mdc, adrg, drg = grouper.group_values(int(r["gender"]), int(r["age"]), age_days, weight, dx, px)
            rows.append(({**r, "dx": dx, "px": px}, (status.value, mdc, adrg, drg)))
    assert len(rows) > 1000
    return rows


def test_scheme_loads_without_warnings(scheme):
    assert scheme.warnings == []


def test_groups_at_least_90_percent_of_the_region_stays(stays):
    ok = sum(1 for _, res in stays if res[0] == "SUCCESS")
    assert ok / len(stays) >= 0.90, f"{ok}/{len(stays)}"


def test_every_admitted_principal_diagnosis_is_in_an_mdc_list(scheme):
    listed = {c for m in scheme.mdcs if m.code != "MDCZ" for c in m.codes}  # MDCZ needs two regions
    missing = [r["code"] for r in _admitted() if r["code"] not in listed]
    assert missing == []


def test_each_admitted_disease_groups_as_the_region_treats_it(scheme, demo):
    # One plain stay per disease: the sex and an age the region admits it at, its procedures.
    for r in _admitted():
        gender = int(r["sex"]) or 1
        age = max(int(r["age_min"]), min(int(r["age_max"]), 60))
        age_days, weight = (10, 3200) if age == 0 else (None, None)
        px = [p for p in r["proc"].split("|") if p]
        for procs in ([], px) if px else ([],):
            status, _mdc, adrg, _drg = grp(demo, [r["code"]], procs, gender=gender, age=age,
                                           age_days=age_days, weight=weight)
            assert status == "SUCCESS", (r["code"], procs)
            if procs and procs[0] in OPERATIONS:
                assert _surgical(adrg) and procs[0] in scheme.adrgs[adrg].lists["ss"], (r["code"], procs, adrg)
            if not procs:
                assert not _surgical(adrg), (r["code"], adrg)


def test_region_operations_are_or_procedures_and_land_in_surgical_adrgs(scheme, stays):
    assert OPERATIONS <= scheme.or_procedures
    operated = [(r, res) for r, res in stays if r["px"] and r["px"][0] in OPERATIONS]
    assert len(operated) > 100
    for r, (status, _mdc, adrg, _drg) in operated:
        assert status == "SUCCESS", r
        assert _surgical(adrg) and r["px"][0] in scheme.adrgs[adrg].lists["ss"], (r["dx"], r["px"], adrg)


def test_region_complications_are_mcc_or_cc(scheme):
    assert all(c in scheme.mcc for c in MCC_CODES)
    assert all(c in scheme.cc for c in CC_CODES)


def test_a_complication_raises_the_severity(scheme, demo):
    assert grp(demo, ["J18.900"]) == ("SUCCESS", "MDCE", "ES2", "ES25")
    for code in MCC_CODES:
        assert grp(demo, ["J18.900", code]) == ("SUCCESS", "MDCE", "ES2", "ES21"), code
    for code in CC_CODES:
        assert grp(demo, ["J18.900", code]) == ("SUCCESS", "MDCE", "ES2", "ES23"), code
    # a stroke in an elderly patient with acute renal failure
    assert grp(demo, ["I63.900", "N17.900"], age=78) == ("SUCCESS", "MDCB", "BR2", "BR21")


def test_region_stays_with_an_mcc_reach_mcc_drgs(scheme, stays):
    with_mcc = [(r, res) for r, res in stays if set(r["dx"][1:]) & set(MCC_CODES) and res[0] == "SUCCESS"]
    assert len(with_mcc) >= 20
    in_mcc_drg = [res for _, res in with_mcc if scheme.drgs[res[3]].severity == "MCC"]
    assert len(in_mcc_drg) >= len(with_mcc) // 3, (len(in_mcc_drg), len(with_mcc))
    assert all(res[3].endswith("1") for res in in_mcc_drg)


def test_translation_maps_cover_the_region_codes(scheme, stays):
    # --translate on the region's own codes changes nothing (identity maps, no unmapped code)
    trans = DrgGrouper(scheme, translate=True)
    for r, res in stays:
        age_days = int(r["age_days"]) if r["age_days"] else None
        weight = int(r["weight"]) if r["weight"] else None
        got = trans.group_values(int(r["gender"]), int(r["age"]), age_days, weight, r["dx"], r["px"])
        assert (got[0].value, *got[1:]) == res, r


def test_adrg_letters_follow_the_national_convention(scheme):
    # an ADRG entered by a procedure is surgical (A–J) or an operation (K–Q); one entered by the
    # diagnosis alone is medical (R–Z)
    for a in scheme.adrgs.values():
        by_procedure = "ppr:" in a.rule_text or "anypr:ss" in a.rule_text
        assert ("A" <= a.code[1] <= "Q") == by_procedure, (a.code, a.rule_text)
