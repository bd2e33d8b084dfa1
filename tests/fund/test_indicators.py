"""Indicators and the growth decomposition against hand-computed values (tests/fund/fundworld.py)."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.fund import growth, indicators, ledger


@pytest.fixture
def posted(tiny, params):
    with tiny.begin() as conn:
        ledger.post(conn, params)
    return tiny


def test_kpis_by_hand(posted, params, tmp_path):
    csv = tmp_path / "cases.csv"
    csv.write_text("setl_id,fixmedins_code,level,drg,kind\nS1,H1,level3,ES21,normal\nS2,H1,level3,,ffs_ungrouped\n", encoding="utf-8")
    with posted.begin() as conn:
        assert indicators.import_grouping(conn, csv, "drg") == {"cases": 2, "paid_by_group": 1}
    with posted.connect() as conn:
        result = indicators.compute(conn, 2024, params=params)
    get = lambda code: indicators.find(result, code)  # noqa: E731
    assert result["period_to"] == "2024-03"
    # employees, inpatient: in service S1 6,000 ÷ 8,000; retired S6 3,200 ÷ 4,000; together 9,200 ÷ 12,000
    emp = get("employees_inpatient_ratio")
    assert emp["value"] == round(9200 / 12000, 6)
    assert [(b["label"], b["value"]) for b in emp["breakdown"]] == [("在职", 0.75), ("退休", 0.8)]
    # residents, inpatient: 三级 S2 2,000 ÷ 4,000 (S5 and its reversal cancel); 一级及以下 S3 1,500 ÷ 2,000; 二级 none
    res = get("residents_inpatient_ratio")
    assert {b["label"]: b["value"] for b in res["breakdown"]} == {"三级": 0.5, "二级": None, "一级及以下": 0.75}
    assert res["value"] == round(3500 / 6000, 6)
    # assistance, 低保: 425 ÷ (2,000 − 1,500) = 85 %
    maf = get("assistance_ratio")
    assert {b["group"]: b["value"] for b in maf["breakdown"]}["dibao"] == 0.85 and maf["value"] == 0.85
    # overall: fund 6,000 + 2,000 + 1,925 + 65 + 1,500 − 1,500 + 3,200 = 13,190 over cost 21,100
    overall = get("overall_reimbursement_ratio")
    assert overall["value"] == round(13190 / 21100, 6)
    assert {b["label"]: b["value"] for b in overall["breakdown"]} == {"职工医保": round(9265 / 14100, 6), "居民医保": round(3925 / 7000, 6)}
    # coverage: 4 insured at the end of March ÷ population 8 (parameter)
    cov = get("coverage_rate")
    assert (cov["value"], cov["numerator"], cov["denominator"]) == (0.5, 4, 8)
    # basic-insurance spending: pool 9,265 + accounts 535 + residents 3,500 = 13,300 yuan; no contributions posted
    assert get("fund_spending")["value"] == "13300.00" and get("fund_income")["value"] == "0.00"
    # DRG/DIP share: S1's 10,000 of inpatient cost 10,000 + 5,000 + 2,000 + 3,000 − 3,000 + 4,000 = 21,000
    drg = get("drg_dip_share")
    assert drg["value"] == round(10000 / 21000, 6) and drg["numerator"] == "10000.00" and drg["denominator"] == "21000.00"
    assert get("grouping_rate")["value"] == 0.5
    assert get("direct_in_city")["value"] == 1.0
    for code in ("direct_out_of_city", "drug_platform_share", "vbp_drugs", "online_services", "counter_services"):
        item = get(code)
        assert item["status"] == "no_data" and item["display"] == "暂无数据" and item["note"]
    assert get("reserve_months_390")["value"] == round(56500 * 3 / 3500, 2)
    assert get("assistance_settlements")["value"] == 1


def test_indicators_say_why_when_data_is_missing(posted, params):
    with posted.connect() as conn:
        result = indicators.compute(conn, 2024, params=params, population=None)
        assert indicators.find(result, "drg_dip_share")["status"] == "no_data"
        assert "import-grouping" in indicators.find(result, "drg_dip_share")["note"]
        empty = indicators.compute(conn, 2019, params=params)
    assert empty["indicators"] == [] and "没有记账数据" in empty["note"]


def test_growth_decomposition_by_hand(posted):
    with posted.connect() as conn:
        feb = growth.decompose(conn, "2024-02")
        mar = growth.decompose(conn, "2024-03")
    # February against January (no 2023 data: 环比): persons 2 → 2, visits 2 → 2, fund 8,000 → 1,990
    assert feb["base_period"] == "2024-01" and feb["basis"].startswith("环比")
    assert feb["factors_exact"] == {"persons": "1/1", "visits_per_person": "1/1", "cost_per_visit": "199/800", "total": "199/800"}
    assert feb["contributions"] == {"persons": "0.00", "visits_per_person": "0.00", "cost_per_visit": "-6010.00", "total": "-6010.00"}
    # March: S5 + its reversal count 1 − 1, S6 1 → 1 visit by 1 person, fund 3,200; against February 2 visits by 2
    assert mar["factors_exact"] == {"persons": "1/2", "visits_per_person": "1/1", "cost_per_visit": "640/199", "total": "320/199"}
    assert mar["product_equals_total"] and mar["parts_add_up"]
    parts = sum(Fraction(mar["contributions"][k]) for k in ("persons", "visits_per_person", "cost_per_visit"))
    assert parts == Fraction(mar["contributions"]["total"]) == Fraction(3200 - 1990)
    # ln(S1/S0) = Σ ln(factor)
    assert math.isclose(sum(mar["log_growth"][k] for k in growth.PARTS), mar["log_growth"]["total"], abs_tol=3e-6)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**12), st.integers(1, 10**6), st.integers(1, 10**6),
       st.integers(1, 10**12), st.integers(1, 10**6), st.integers(1, 10**6))
def test_decomposition_always_adds_up(s1, n1, p1, s0, n0, p0):
    cur, base = growth.Month(s1, n1, p1), growth.Month(s0, n0, p0)
    f = growth.exact_factors(cur, base)
    assert f["persons"] * f["visits_per_person"] * f["cost_per_visit"] == f["total"] == Fraction(s1, s0)
    fen = growth.lmdi_fen(cur, base, f)
    assert sum(fen.values()) == s1 - s0
    # each part has the sign of its factor's change (or is within a fen of zero)
    for k in growth.PARTS:
        if f[k] > 1:
            assert fen[k] >= -1
        elif f[k] < 1:
            assert fen[k] <= 1
