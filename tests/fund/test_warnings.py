"""Warnings fire strictly beyond their thresholds, and explain themselves with the numbers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert

from yibao.fund import ledger
from yibao.fund import warnings as w
from yibao.storage import schema as s

ON = dt.date(2024, 6, 1)


def reserve(balance: int, spending_window: int, months: int, params) -> list[dict]:
    pos = ledger.Position("390", "居民医保", balance=balance, spending_window=spending_window, window_months=months, window_first="2024-04")
    active: list[dict] = []
    w._reserve(pos, params, ON, "2024-06", active, [])
    return active


def test_months_of_reserve_thresholds(params):
    # average monthly spending 300 ÷ 3 = 100 fen: a balance of 600 is exactly 6 months
    assert reserve(600, 300, 3, params) == []
    low = reserve(599, 300, 3, params)
    assert [(x["level"], x["value"], x["threshold"]) for x in low] == [("yellow", 5.99, 6.0)]
    assert "可支付6.0个月" in low[0]["message"] and "低于6个月" in low[0]["message"]
    assert [x["level"] for x in reserve(300, 300, 3, params)] == ["yellow"]  # exactly 3: not red
    assert [x["level"] for x in reserve(299, 300, 3, params)] == ["red"]
    assert reserve(1500, 300, 3, params) == []  # exactly 15: not "too much"
    assert [x["level"] for x in reserve(1501, 300, 3, params)] == ["info"]


def _acct(conn, period: str, code: str, debit: int = 0, credit: int = 0) -> None:
    conn.execute(insert(s.fund_month_acct).values(period=period, acct_code=code, debit=debit, credit=credit))


def test_growth_and_deficit_thresholds(engine, params):
    # 2023-01: income 1,000.00, spending 1,000.00; 2024-01: both +10 % → no warning
    with engine.begin() as conn:
        _acct(conn, "2023-01", "390100.inc.individual", credit=100000)
        _acct(conn, "2023-01", "390100.exp.benefit", debit=100000)
        _acct(conn, "2024-01", "390100.inc.individual", credit=110000)
        _acct(conn, "2024-01", "390100.exp.benefit", debit=110000)
        result = w.evaluate(conn, "2024-01", params)
    codes = {x["code"] for x in result["active"]}
    assert "spending_vs_income_growth" not in codes and "current_deficit" not in codes
    assert "spending_growth_month" not in codes  # +10 % is under 15 %
    # one fen more spending: spending grows faster than income, and the year runs a deficit of 0.01
    with engine.begin() as conn:
        conn.execute(s.fund_month_acct.update().where(s.fund_month_acct.c.acct_code == "390100.exp.benefit")
                     .where(s.fund_month_acct.c.period == "2024-01").values(debit=110001))
        result = w.evaluate(conn, "2024-01", params)
    found = {x["code"]: x for x in result["active"] if x["subject"].startswith("城乡居民")}
    assert found["spending_vs_income_growth"]["value"] == round(1 / 100000, 6)
    assert "10.0%" in found["spending_vs_income_growth"]["message"]
    assert found["current_deficit"]["value"] == -0.01
    # spending +15 % exactly does not fire the monthly growth warning; +15 % and a fen does
    with engine.begin() as conn:
        conn.execute(s.fund_month_acct.update().where(s.fund_month_acct.c.acct_code == "390100.exp.benefit")
                     .where(s.fund_month_acct.c.period == "2024-01").values(debit=115000))
        conn.execute(insert(s.fund_month_setl).values(period="2023-01", insutype="390", psn_type="15", medins_lv="level3", med_type="21",
                                                      in_region="1", assistance="", setl_cnt=1, row_cnt=1,
                                                      **{f: 0 for f in ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
                                                                        "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "hifmi_pay", "hifob_pay",
                                                                        "cvlserv_pay", "maf_pay", "fund_pay_sumamt", "acct_pay", "psn_cash_pay")}))
        assert "spending_growth_month" not in {x["code"] for x in w.evaluate(conn, "2024-01", params)["active"]}
        conn.execute(s.fund_month_acct.update().where(s.fund_month_acct.c.acct_code == "390100.exp.benefit")
                     .where(s.fund_month_acct.c.period == "2024-01").values(debit=115001))
        fired = [x for x in w.evaluate(conn, "2024-01", params)["active"] if x["code"] == "spending_growth_month"]
    assert len(fired) == 1 and fired[0]["base_period"] == "2023-01" and "同比" in fired[0]["message"]


def _hosp(conn, period: str, cases: int, medfee: int) -> None:
    conn.execute(insert(s.fund_month_hosp).values(period=period, fixmedins_code="H9", insutype="390", category="inpatient",
                                                  setl_cnt=cases, medfee_sumamt=medfee, fund_pay_sumamt=0))


def test_hospital_cost_per_case_threshold(engine, params):
    with engine.begin() as conn:
        conn.execute(insert(s.institutions).values(fixmedins_code="H9", fixmedins_name="第九医院", medins_lv="level2", admdvs="511402"))
        _hosp(conn, "2023-06", 20, 20 * 100000)  # 1,000.00 a case
        _hosp(conn, "2024-06", 20, 20 * 120000)  # 1,200.00: exactly +20 %
        assert not [x for x in w.evaluate(conn, "2024-06", params)["active"] if x["code"] == "hospital_cost_per_case"]
        conn.execute(s.fund_month_hosp.update().where(s.fund_month_hosp.c.period == "2024-06").values(medfee_sumamt=20 * 120000 + 1))
        fired = [x for x in w.evaluate(conn, "2024-06", params)["active"] if x["code"] == "hospital_cost_per_case"]
        assert len(fired) == 1 and fired[0]["fixmedins_code"] == "H9"
        assert "第九医院" in fired[0]["message"] and "上年同月2023-06" in fired[0]["message"] and "20人次" in fired[0]["message"]
        # fewer than 20 cases: not judged
        conn.execute(s.fund_month_hosp.update().where(s.fund_month_hosp.c.period == "2024-06").values(setl_cnt=19, medfee_sumamt=19 * 200000))
        assert not [x for x in w.evaluate(conn, "2024-06", params)["active"] if x["code"] == "hospital_cost_per_case"]


def test_warnings_on_the_tiny_region(tiny, params):
    with tiny.begin() as conn:
        ledger.post(conn, params)
        result = w.evaluate(conn, "2024-03", params)
    # employees' pool: 110,735 ÷ (9,265 ÷ 3) = 35.9 months > 15: "too much"; no income yet: a deficit
    by = {(x["code"], x["subject"]) for x in result["active"]}
    assert ("reserve_months", "职工医保统筹基金（含生育保险）") in by
    assert ("current_deficit", "职工医保统筹基金（含生育保险）") in by
    assert any(x["code"] == "spending_vs_income_growth" for x in result["not_evaluated"])
