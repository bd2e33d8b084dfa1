"""Contributions derived from enrollment with the shipped 青衣市 parameters (2024: base 4,200 a
month, employer 6.5 %, maternity 0.5 %, employee 2 %, retirees' accounts 60 a month, 大额 2 a
month; residents 380 + subsidy 670, 35 to critical illness; 低保 aid 80 %; assistance 800)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select, update

from fundworld import Y
from yibao.fund import contributions, ledger
from yibao.storage import schema as s


def run(engine, year=2024):
    with engine.begin() as conn:
        return contributions.post_contributions(conn, year)


def test_contributions_by_hand(tiny, params):
    report = run(tiny)
    items = {r["item"]: r for r in report.as_dict()["by_item"]}
    # P1 in service, 12 months: employer 4,200 × 6.5 % = 273.00, maternity 21.00, employee 84.00, 大额 2.00
    assert items["employer"] == {"item": "employer", "item_name": "单位缴费（统筹基金）", "head_periods": 12, "amount": "3276.00"}
    assert items["maternity"]["amount"] == "252.00" and items["employee"]["amount"] == "1008.00"
    # P2 retired: the pool puts 60.00 a month into the account; both employees pay 大额
    assert items["retiree_account"]["amount"] == "720.00" and items["large_amount"]["amount"] == "48.00"
    # P3 pays 380; P4 (低保) pays 380 × 20 % = 76 and assistance pays 304; subsidy 670 and 35 to 大病 each
    assert items["individual"]["amount"] == "456.00" and items["aid"]["amount"] == "304.00"
    assert items["subsidy"]["amount"] == "1340.00" and items["critical_illness"]["amount"] == "70.00"
    assert items["appropriation"]["amount"] == "800.00"
    with tiny.begin() as conn:
        ledger.post(conn, params)
        pos = ledger.positions(conn, "2024-12")
        tb = ledger.trial_balance(conn)
    assert tb["balanced"]
    assert pos["310100"].income_ytd == 3276 * Y
    assert pos["310200"].income_ytd == (1008 + 720) * Y
    assert pos["390100"].income_ytd == (456 + 304 + 1340) * Y
    assert pos["390200"].income_ytd == 70 * Y
    assert pos["610100"].income_ytd == 800 * Y
    # 310100 spends settlements (9,265) and the transfer to retirees' accounts (720)
    assert pos["310100"].spending_ytd == (9265 + 720) * Y
    # monthly for employees, January for residents
    with tiny.connect() as conn:
        periods = {r.item: set() for r in conn.execute(select(s.fund_contributions.c.item))}
        for r in conn.execute(select(s.fund_contributions.c.item, s.fund_contributions.c.period)):
            periods[r.item].add(r.period)
    assert len(periods["employer"]) == 12 and periods["individual"] == {"2024-01"}


def test_rerun_posts_nothing_then_only_the_difference(tiny):
    first = run(tiny)
    assert first.journal_rows > 0
    assert run(tiny).journal_rows == 0
    with tiny.begin() as conn:
        # P1 leaves on 1 July (insured to 30 June); P5, a newborn resident, is insured from 15 June
        conn.execute(update(s.insurance).where(s.insurance.c.psn_no == "P1").values(paus_insu_date=dt.date(2024, 7, 1), psn_insu_stas="4"))
        conn.execute(insert(s.persons).values(psn_no="P5", certno="CP5", psn_name="人P5", gend="1", brdy=dt.date(2024, 6, 15)))
        conn.execute(insert(s.insurance).values(psn_no="P5", insutype="390", psn_type="1401", insu_admdvs="511402",
                                                psn_insu_date=dt.date(2024, 6, 15), acct_balc=0))
    third = run(tiny)
    # 6 months × 4 items of P1 reversed (adjustments), and P5's individual, subsidy, critical illness (2 legs) in June
    assert third.adjusted == 24
    assert third.journal_rows == 24 + 4
    with tiny.begin() as conn:
        ledger.post(conn)
        pos = ledger.positions(conn, "2024-12")
        june = conn.execute(select(s.fund_journal.c.amount).where(s.fund_journal.c.source_type == "contribution")
                            .where(s.fund_journal.c.period == "2024-06").where(s.fund_journal.c.cr_acct == "390100.inc.individual")).scalars().all()
    assert pos["310100"].income_ytd == 273 * 6 * Y
    assert june == [380 * Y]
    assert run(tiny).journal_rows == 0
