"""The dashboard's shared and grouped reads (yibao.fund.api.dashboard, the console's front page)
give what the single-purpose functions give, and what the hand-made region says
(tests/fund/fundworld.py: S1, S2 in January, S3, S4 in February, S5 + its reversal and S6 in March)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from yibao.fund import api, growth, indicators, ledger, warnings


@pytest.fixture
def posted(tiny, params):
    with tiny.begin() as conn:
        ledger.post(conn, params)
    return tiny


def _without_timing(board):
    return {k: v for k, v in board.items() if k != "server_ms"}


@pytest.mark.parametrize("month", [1, 2, 3])
def test_dashboard_equals_the_separate_reads(posted, params, month):
    """One ledger read, one base-month lookup and one figures read for three scopes give the same
    page as balances(), indicators(), warnings() and growth() each reading for themselves."""
    period = f"2024-{month:02d}"
    with posted.connect() as conn:
        board = _without_timing(api.dashboard(conn, 2024, month, params=params))
        ind = indicators.compute(conn, 2024, month, params=params, fast=True)
        warn = warnings.evaluate(conn, period, params)
        bal = api.balances(conn, 2024, month)
        scopes = [growth.decompose(conn, period, insutype=k) for k in ("*", "310", "390")]
    assert board["funds"] == bal["funds"] and board["schemes"] == bal["schemes"]
    assert board["indicators"] == [i for i in ind["indicators"] if i["code"] in api.KEY_INDICATORS]
    assert board["warnings"] == warn["active"] and board["warnings_not_evaluated"] == warn["not_evaluated"]
    assert board["growth"] == {"total": scopes[0], "by_scheme": scopes[1:]}
    if month == 1:  # nothing to compare January with
        assert [g["status"] for g in scopes] == ["no_data"] * 3
    else:
        assert scopes[0]["status"] == "ok" and scopes[0]["basis"].startswith("环比")


def test_a_later_ledger_read_gives_the_same_positions(posted):
    """Flows read up to March serve January and February (later months are ignored); a read up
    to January is not used for March (read again)."""
    with posted.connect() as conn:
        march = ledger.read_flows(conn, "2024-03")
        january = ledger.read_flows(conn, "2024-01")
        for period in ("2024-01", "2024-02", "2024-03"):
            fresh = ledger.scheme_positions(conn, period)
            assert ledger.scheme_positions(conn, period, flows=march) == fresh
            assert ledger.scheme_positions(conn, period, flows=january) == fresh
        assert api.balance_series(conn, 2024, 3, flows=january) == api.balance_series(conn, 2024, 3)
        feb = ledger.positions(conn, "2024-02", flows=march)["310100"]
    # the employees' pool: 6,000 in January, 65 in February; balance 120,000 − 6,065
    assert (feb.spending_month, feb.spending_ytd, feb.balance) == (65_00, 6_065_00, 113_935_00)


def test_balance_series_by_hand(posted):
    with posted.connect() as conn:
        series = api.balance_series(conn, 2024, 3)
    pool = next(f for f in series["funds"] if f["key"] == "310100")["series"]
    assert [p["spending_month"] for p in pool] == ["6000.00", "65.00", "3200.00"]
    assert [p["balance"] for p in pool] == ["114000.00", "113935.00", "110735.00"]
    # months of reserve at the end of March: 110,735 ÷ (9,265 ÷ 3) (docs/fund.md §2)
    assert pool[-1]["months_of_reserve"] == round(110735 * 3 / 9265, 2)
    assert pool[0]["months_of_reserve"] == round(114000 / 6000, 2)


@pytest.mark.parametrize("month, employees, residents", [
    # January: S1 in service 6,000 ÷ 8,000; S2 三级 2,000 ÷ 4,000
    (1, (6000, 8000), (2000, 4000)),
    # to February: + S3 一级及以下 1,500 ÷ 2,000 (S4 is outpatient)
    (2, (6000, 8000), (3500, 6000)),
    # to March: + S6 retired 3,200 ÷ 4,000; S5 and its reversal cancel
    (3, (9200, 12000), (3500, 6000)),
])
def test_year_to_date_indicators_add_up_the_months(posted, params, month, employees, residents):
    """The indicators' cube is summed over January..month in SQL: each month's figures are the
    months so far, no more."""
    with posted.connect() as conn:
        result = indicators.compute(conn, 2024, month, params=params, fast=True)
    emp, res = indicators.find(result, "employees_inpatient_ratio"), indicators.find(result, "residents_inpatient_ratio")
    assert (emp["numerator"], emp["denominator"]) == (f"{employees[0]}.00", f"{employees[1]}.00")
    assert (res["numerator"], res["denominator"]) == (f"{residents[0]}.00", f"{residents[1]}.00")
    overall = indicators.find(result, "overall_reimbursement_ratio")
    fund, cost = {1: (8000, 15000), 2: (9990, 17100), 3: (13190, 21100)}[month]
    assert (overall["numerator"], overall["denominator"]) == (f"{fund}.00", f"{cost}.00")
    assert isinstance(overall["value"], float) and overall["value"] == round(fund / cost, 6)


def test_monthly_series_by_hand(posted):
    with posted.connect() as conn:
        m = api.monthly_series(conn, 2024, 3)
    assert m["months"] == ["2024-01", "2024-02", "2024-03"]
    by = lambda rows: {r["key"]: r["fund_pay_sumamt"] for r in rows}  # noqa: E731
    # employees: S1 6,000 | S4 65 | S6 3,200; residents: S2 2,000 | S3 1,925 | S5 1,500 − 1,500
    assert by(m["by_scheme"]) == {"310": ["6000.00", "65.00", "3200.00"], "390": ["2000.00", "1925.00", "0.00"]}
    assert by(m["by_level"]) == {"level3": ["8000.00", "0.00", "0.00"], "level2": ["0.00", "0.00", "3200.00"],
                                 "township": ["0.00", "1990.00", "0.00"]}
    assert by(m["by_category"]) == {"inpatient": ["8000.00", "1925.00", "3200.00"], "outpatient": ["0.00", "65.00", "0.00"]}
    # settlements (人次): 2 | 2 | S5 + 1, R5 − 1, S6 + 1
    assert m["setl_cnt"] == [2, 2, 1]


def test_post_leaves_statistics_for_the_planner(posted):
    """On PostgreSQL, post analyses the aggregate tables it rewrote (the dashboard's GROUP BYs are
    planned from them); on SQLite, whose plans here do not use statistics, it leaves none."""
    with posted.connect() as conn:
        if conn.dialect.name == "postgresql":
            analysed = {r[0] for r in conn.execute(text(
                "SELECT relname FROM pg_stat_user_tables WHERE relname LIKE 'fund_month_%' AND last_analyze IS NOT NULL"))}
            assert {"fund_month_setl", "fund_month_acct", "fund_month_persons", "fund_month_hosp",
                    "fund_month_enrol"} <= analysed
        else:
            stat_tables = conn.execute(text("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")).all()
            assert stat_tables == []  # no ANALYZE was run, so SQLite's plans stay what they were
