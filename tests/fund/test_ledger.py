"""The fund ledger on the hand-made region (tests/fund/conftest.py), SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from sqlalchemy import select, update

from fundworld import Y, setl
from yibao.fund import ledger
from yibao.storage import schema as s


def journal(engine):
    with engine.connect() as conn:
        return sorted(
            (r.source_type, r.source_id, r.leg, r.dr_acct, r.cr_acct, r.amount, str(r.entry_date), r.period)
            for r in conn.execute(select(s.fund_journal))
        )


def aggregates(engine):
    with engine.connect() as conn:
        return {t.name: sorted(tuple(r) for r in conn.execute(select(t)))
                for t in (s.fund_month_acct, s.fund_month_setl, s.fund_month_persons, s.fund_month_hosp, s.fund_month_dise, s.fund_month_enrol)}


def post(engine, params):
    with engine.begin() as conn:
        return ledger.post(conn, params)


def test_posting_twice_changes_nothing(tiny, params):
    first = post(tiny, params)
    # 10 settlement rows (S1 pool + account, S2, S3 pool + assistance, S4 pool + account, S5, R5, S6) + 8 opening balances
    assert first.settlements == 7 and first.rows == 18
    assert first.periods == ["2024-01", "2024-02", "2024-03"]
    before_j, before_a = journal(tiny), aggregates(tiny)
    second = post(tiny, params)
    assert second.rows == 0 and second.settlements == 0 and second.opening == {} and second.periods == []
    assert journal(tiny) == before_j
    assert aggregates(tiny) == before_a


def test_trial_balance_is_zero_after_every_kind_of_posting(tiny, params):
    post(tiny, params)
    with tiny.begin() as conn:
        ledger.post_recovery(conn, "390100", 1000 * Y, dt.date(2024, 3, 31), "JC-1", penalty=300 * Y, fixmedins_code="H1")
        ledger.post_clearing(conn, "310100", -200 * Y, dt.date(2024, 3, 31), "dip-2024:H1", fixmedins_code="H1")
        conn.execute(update(s.settlements).where(s.settlements.c.setl_id == "S6").values(status="voided"))
    post(tiny, params)
    with tiny.connect() as conn:
        tb = ledger.trial_balance(conn)
    assert tb["debits"] == tb["credits"] and tb["difference"] == 0 and tb["net_sum"] == 0
    assert tb["debits"] > 0
    assert all(f["balanced"] for f in tb["funds"].values()) and tb["balanced"]
    # bank − payable = opening + income − expense, e.g. 390100: 60,000 + 1,300 − 3,500 = 57,800
    f = tb["funds"]["390100"]
    assert f["opening"] + f["income"] - f["expense"] == 57800 * Y
    assert f["bank"] - f["payable"] == 57800 * Y


def test_balances_and_months_of_reserve_by_hand(tiny, params):
    post(tiny, params)
    with tiny.connect() as conn:
        pos = ledger.positions(conn, "2024-03")
        scheme = ledger.scheme_positions(conn, "2024-03")
    pool = pos["310100"]
    # spending: S1 6,000 (Jan) + S4 65 (Feb) + S6 3,200 (Mar) = 9,265; balance 120,000 − 9,265 = 110,735
    assert pool.opening_balance == 120000 * Y
    assert pool.spending_ytd == 9265 * Y and pool.spending_month == 3200 * Y and pool.income_ytd == 0
    assert pool.surplus_ytd == -9265 * Y
    assert pool.balance == 110735 * Y
    # the ledger starts in January: 3 months in the window; 110,735 ÷ (9,265 ÷ 3) = 35.856…
    assert pool.window_months == 3 and pool.window_first == "2024-01"
    assert pool.months_of_reserve == Fraction(110735 * 3, 9265)
    acct = pos["310200"]  # S1 500 + S4 35 from the personal accounts
    assert acct.balance == (10000 - 535) * Y and acct.months_of_reserve == Fraction(9465 * 3, 535)
    res = pos["390100"]  # S2 2,000 + S3 1,500 + S5 1,500 − R5 1,500 = 3,500
    assert res.spending_ytd == 3500 * Y and res.spending_month == 0 and res.balance == 56500 * Y
    assert res.months_of_reserve == Fraction(56500 * 3, 3500)
    assert pos["610100"].balance == (5000 - 425) * Y
    assert pos["510100"].months_of_reserve is None  # no spending: no meaningful months
    assert scheme["310"].balance == 110735 * Y and scheme["390"].balance == 56500 * Y
    with tiny.connect() as conn:
        jan = ledger.positions(conn, "2024-01")["310100"]
    assert jan.balance == 114000 * Y and jan.months_of_reserve == 19


def test_a_reversal_posts_exactly_the_negative(tiny, params):
    post(tiny, params)
    rows = [r for r in journal(tiny) if r[1] in ("S5", "R5")]
    original = [r for r in rows if r[1] == "S5"]
    reversal = [r for r in rows if r[1] == "R5"]
    assert len(original) == len(reversal) == 1
    assert [(r[2], r[3], r[4], -r[5]) for r in original] == [(r[2], r[3], r[4], r[5]) for r in reversal]
    assert original[0][5] == 1500 * Y


def test_a_void_after_posting_is_posted_negative_on_the_original_date(tiny, params):
    post(tiny, params)
    with tiny.begin() as conn:
        conn.execute(update(s.settlements).where(s.settlements.c.setl_id == "S6").values(status="voided"))
    report = post(tiny, params)
    assert report.voids == 1 and report.rows == 1
    void = [r for r in journal(tiny) if r[0] == "void"]
    assert void == [("void", "S6", "310100", "310100.exp.benefit", "310100.payable", -3200 * Y, "2024-03-15", "2024-03")]
    with tiny.connect() as conn:
        assert ledger.positions(conn, "2024-03")["310100"].spending_ytd == 6065 * Y
        # the month's settlement aggregate drops the voided row too
        rows = conn.execute(select(s.fund_month_setl.c.hifp_pay).where(s.fund_month_setl.c.period == "2024-03")
                            .where(s.fund_month_setl.c.insutype == "310")).scalars().all()
        assert sum(rows) == 0
    assert post(tiny, params).rows == 0


def test_recovery_and_clearing_are_booked_once(tiny, params):
    post(tiny, params)
    with tiny.begin() as conn:
        assert ledger.post_recovery(conn, "390100", 1000 * Y, dt.date(2024, 3, 31), "JC-1", penalty=300 * Y) == 2
        assert ledger.post_recovery(conn, "390100", 1000 * Y, dt.date(2024, 3, 31), "JC-1", penalty=300 * Y) == 0
        assert ledger.post_clearing(conn, "310100", -200 * Y, dt.date(2024, 3, 31), "dip-2024:H1") == 1
        assert ledger.post_clearing(conn, "310100", -200 * Y, dt.date(2024, 3, 31), "dip-2024:H1") == 0
    with tiny.connect() as conn:
        pos = ledger.positions(conn, "2024-03")
    assert pos["390100"].income_ytd == 1300 * Y and pos["390100"].balance == 57800 * Y
    assert pos["310100"].spending_ytd == (9265 - 200) * Y


def test_settlement_aggregates_agree_with_the_ledger(tiny, params):
    post(tiny, params)
    with tiny.connect() as conn:
        for period in ("2024-01", "2024-02", "2024-03"):
            cube = conn.execute(select(s.fund_month_setl).where(s.fund_month_setl.c.period == period)).all()
            acct = {r.acct_code: r.debit - r.credit for r in conn.execute(select(s.fund_month_acct).where(s.fund_month_acct.c.period == period))}
            assert sum(r.hifp_pay for r in cube if r.insutype == "310") == acct.get("310100.exp.benefit", 0)
            assert sum(r.hifp_pay for r in cube if r.insutype == "390") == acct.get("390100.exp.benefit", 0)
            assert sum(r.maf_pay for r in cube) == acct.get("610100.exp.benefit", 0)
            assert sum(r.acct_pay for r in cube) == acct.get("310200.exp.benefit", 0)
        persons = {(r.insutype, r.category): r.psn_cnt for r in conn.execute(select(s.fund_month_persons).where(s.fund_month_persons.c.period == "2024-02"))}
    assert persons[("*", "*")] == 2 and persons[("310", "outpatient")] == 1 and persons[("390", "inpatient")] == 1


def test_new_settlements_in_a_posted_month_refresh_its_aggregates(tiny, params):
    post(tiny, params)
    row, funds = setl("S8", "P3", "390", "15", "H2", "11", dt.datetime(2024, 2, 20, 9), 50, 50, 0)  # nothing paid by any fund
    with tiny.begin() as conn:
        conn.execute(s.encounters.insert().values(mdtrt_id="M8", psn_no="P3", fixmedins_code="H2", insutype="390", med_type="11",
                                                   visit_kind="outpatient", begntime=row["setl_time"], endtime=row["setl_time"], status="settled"))
        conn.execute(s.settlements.insert().values(**row))
        conn.execute(s.settlement_funds.insert(), funds)
    report = post(tiny, params)
    assert report.rows == 0 and report.periods == ["2024-02"]
    with tiny.connect() as conn:
        n = conn.execute(select(s.fund_month_setl.c.setl_cnt).where(s.fund_month_setl.c.period == "2024-02")).scalars().all()
    assert sum(n) == 3  # S3, S4 and the unpaid visit


def test_balance_series_month_by_month(tiny, params):
    from yibao.fund import api

    post(tiny, params)
    with tiny.connect() as conn:
        series = api.balance_series(conn, 2024, 3)
    pool = next(x for x in series["schemes"] if x["key"] == "310")["series"]
    # 120,000 − 6,000 (Jan) − 65 (Feb) − 3,200 (Mar); January: 114,000 ÷ 6,000 = 19 months
    assert [r["balance"] for r in pool] == ["114000.00", "113935.00", "110735.00"]
    assert [r["spending_month"] for r in pool] == ["6000.00", "65.00", "3200.00"]
    assert pool[0]["months_of_reserve"] == 19.0
