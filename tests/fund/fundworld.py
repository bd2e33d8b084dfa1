"""A tiny hand-made region for the fund tests: a few persons, two institutions and seven
settlement rows whose amounts are round numbers, so that every figure can be worked by hand.

| setl_id | who (scheme, psn_type) | institution | med_type | date | medfee | inscp | hifp | other | acct | status |
|---|---|---|---|---|---|---|---|---|---|---|
| S1 | P1 employee in service | H1 level3 | 21 | 2024-01-10 | 10000 | 8000 | 6000 | | 500 | settled |
| S2 | P3 resident | H1 level3 | 21 | 2024-01-20 | 5000 | 4000 | 2000 | | | settled |
| S3 | P4 resident, 低保 | H2 township | 21 | 2024-02-05 | 2000 | 2000 | 1500 | maf 425 | | settled |
| S4 | P1 | H2 township | 11 | 2024-02-10 | 100 | 100 | 65 | | 35 | settled |
| S5 | P3 | H1 level3 | 21 | 2024-03-01 | 3000 | 3000 | 1500 | | | reversed |
| R5 | P3 (reversal of S5) | H1 level3 | 21 | 2024-03-02 | −3000 | −3000 | −1500 | | | reversal |
| S6 | P2 employee retired | H3 level2 | 21 | 2024-03-15 | 4000 | 4000 | 3200 | | | settled |

Amounts are yuan here and fen in the database. Opening balances (fund-test.yaml): 310100 120,000;
310200 10,000; 390100 60,000; 610100 5,000; the others 0.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert

from yibao.storage import schema as s

Y = 100  # fen per yuan

FUND_YAML = """
id: fund-test
name: 测试参数
region: {admdvs: "5114", name: 测试市}
reference: illustrative
parameters:
  opening_balance:
    values:
      2020-01-01:
        "310100": {yuan: 120000}
        "310200": {yuan: 10000}
        "510100": {yuan: 0}
        "390100": {yuan: 60000}
        "390200": {yuan: 0}
        "330100": {yuan: 0}
        "320100": {yuan: 0}
        "610100": {yuan: 5000}
  population:
    values: {2020-01-01: 8}
  manual_reimbursement_infno:
    values: {2020-01-01: []}
  targets:
    coverage_rate: {values: {2021-01-01: "> 95%"}}
  projection:
    cost_growth: {values: {2020-01-01: 0.06}}
    insured_growth: {values: {2020-01-01: 0}}
    contribution_base_growth: {values: {2020-01-01: 0.05}}
    resident_contribution_growth: {values: {2020-01-01: 0.05}}
    retiree_share_drift: {values: {2020-01-01: 0.005}}
    interest_rate: {values: {2020-01-01: 0.015}}
"""


def _person(psn_no: str, brdy: dt.date, gend: str = "1") -> dict:
    return dict(psn_no=psn_no, psn_cert_type="01", certno=f"C{psn_no}", psn_name=f"人{psn_no}", gend=gend, naty="01",
                brdy=brdy, hsecfc=None, death_date=None)


def _insurance(psn_no: str, insutype: str, psn_type: str, start: dt.date = dt.date(2010, 1, 1), stop: dt.date | None = None,
               cvlserv: str = "0", acct: int = 0) -> dict:
    return dict(psn_no=psn_no, insutype=insutype, psn_type=psn_type, insu_admdvs="511402", psn_insu_stas="1" if stop is None else "4",
                psn_insu_date=start, paus_insu_date=stop, cvlserv_flag=cvlserv, emp_name=None, acct_balc=acct)


def setl(setl_id: str, psn_no: str, insutype: str, psn_type: str, inst: str, med_type: str, when: dt.datetime, medfee: int,
         inscp: int, hifp: int, *, maf: int = 0, hifmi: int = 0, hifob: int = 0, acct: int = 0, status: str = "settled",
         refd: str = "0", init: str | None = None, mdtrt_id: str | None = None) -> tuple[dict, list[dict]]:
    """A settlement row and its fund rows; amounts in yuan."""
    fund = hifp + hifmi + hifob + maf
    row = dict(
        setl_id=setl_id, mdtrt_id=mdtrt_id or f"M{setl_id.lstrip('SR')}", psn_no=psn_no, fixmedins_code=inst, insutype=insutype,
        psn_type=psn_type, med_type=med_type, setl_time=when, setl_year=when.year, msgid=f"msg{setl_id}", infno="2304" if med_type.startswith("2") else "2207",
        policy_id="test", status=status, refd_setl_flag=refd, init_setl_id=init, clr_type="21", clr_way="1", clr_optins="511402",
        in_region=True, medfee_sumamt=medfee * Y, fulamt_ownpay_amt=(medfee - inscp) * Y, overlmt_selfpay=0, preselfpay_amt=0,
        inscp_scp_amt=inscp * Y, act_pay_dedc=0, pool_prop_selfpay="0.7500", hifp_pay=hifp * Y, hifmi_pay=hifmi * Y,
        hifob_pay=hifob * Y, cvlserv_pay=0, maf_pay=maf * Y, oth_pay=0, fund_pay_sumamt=fund * Y, psn_part_amt=(medfee - fund) * Y,
        acct_pay=acct * Y, psn_cash_pay=(medfee - fund - acct) * Y, hosp_part_amt=0, balc=0, admissions_counted=0, trace=None,
    )
    basic = "310100" if insutype == "310" else "390100"
    funds = [dict(setl_id=setl_id, fund_pay_type=basic, kind="basic", base=str(inscp * Y), inscp_scp_amt=inscp * Y,
                  crt_payb_lmt_amt=None, fund_payamt=hifp * Y, setl_proc_info="", counted=True)]
    for amount, ftype, kind in ((hifmi, "390200", "critical_illness"), (hifob, "330100", "large_amount"), (maf, "610100", "assistance")):
        if amount:
            funds.append(dict(setl_id=setl_id, fund_pay_type=ftype, kind=kind, base="0", inscp_scp_amt=0, crt_payb_lmt_amt=None,
                              fund_payamt=amount * Y, setl_proc_info="", counted=True))
    return row, funds


def build_tiny(engine) -> None:
    T = dt.datetime
    with engine.begin() as conn:
        conn.execute(insert(s.institutions), [
            dict(fixmedins_code="H1", fixmedins_name="测试市第一人民医院", fixmedins_type="1", hosp_lv="2", medins_lv="level3", admdvs="511402", beds=800, uscc=None, valid=True),
            dict(fixmedins_code="H2", fixmedins_name="测试镇卫生院", fixmedins_type="1", hosp_lv="11", medins_lv="township", admdvs="511402", beds=40, uscc=None, valid=True),
            dict(fixmedins_code="H3", fixmedins_name="测试县人民医院", fixmedins_type="1", hosp_lv="5", medins_lv="level2", admdvs="511402", beds=300, uscc=None, valid=True),
        ])
        conn.execute(insert(s.persons), [
            _person("P1", dt.date(1980, 5, 1)), _person("P2", dt.date(1955, 3, 1)), _person("P3", dt.date(1990, 7, 1), "2"),
            _person("P4", dt.date(1950, 1, 1), "2"),
        ])
        conn.execute(insert(s.insurance), [
            _insurance("P1", "310", "11", acct=1000 * Y), _insurance("P2", "310", "12"), _insurance("P3", "390", "15"),
            _insurance("P4", "390", "16"),
        ])
        conn.execute(insert(s.identities), [dict(psn_no="P4", psn_idet_type="2303", assistance="dibao", begntime=T(2015, 1, 1), endtime=None, memo=None)])
        rows = [
            setl("S1", "P1", "310", "11", "H1", "21", T(2024, 1, 10, 10), 10000, 8000, 6000, acct=500),
            setl("S2", "P3", "390", "15", "H1", "21", T(2024, 1, 20, 10), 5000, 4000, 2000),
            setl("S3", "P4", "390", "16", "H2", "21", T(2024, 2, 5, 10), 2000, 2000, 1500, maf=425),
            setl("S4", "P1", "310", "11", "H2", "11", T(2024, 2, 10, 10), 100, 100, 65, acct=35),
            setl("S5", "P3", "390", "15", "H1", "21", T(2024, 3, 1, 10), 3000, 3000, 1500, status="reversed"),
            setl("R5", "P3", "390", "15", "H1", "21", T(2024, 3, 2, 10), -3000, -3000, -1500, status="reversal", refd="1",
                 init="S5", mdtrt_id="M5"),
            setl("S6", "P2", "310", "12", "H3", "21", T(2024, 3, 15, 10), 4000, 4000, 3200),
        ]
        encounters = {}
        for row, _ in rows:
            encounters.setdefault(row["mdtrt_id"], dict(
                mdtrt_id=row["mdtrt_id"], psn_no=row["psn_no"], fixmedins_code=row["fixmedins_code"], insutype=row["insutype"],
                med_type=row["med_type"], visit_kind="inpatient" if row["med_type"] == "21" else "outpatient", ipt_otp_no=row["mdtrt_id"],
                begntime=row["setl_time"] - dt.timedelta(days=3), endtime=row["setl_time"], dise_codg=None, dise_name=None,
                dscg_maindiag_code={"P1": "I10.x00", "P2": "J18.900", "P3": "O80.000", "P4": "J18.900"}[row["psn_no"]],
                dscg_way="1", dept_code=None, mdtrt_cert_type="02", mdtrt_cert_no=None, mdtrtarea_admvs=None, insuplc_admdvs="511402",
                exp_content=None, status="settled", created_msgid="t"))
        conn.execute(insert(s.encounters), list(encounters.values()))
        conn.execute(insert(s.settlements), [r for r, _ in rows])
        conn.execute(insert(s.settlement_funds), [f for _, fs in rows for f in fs])


