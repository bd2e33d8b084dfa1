"""Projection with its assumptions, and the what-if re-settlement."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from typer.testing import CliRunner

from yibao.fund import ledger
from yibao.fund.projection import project, whatif


def test_projection_shows_its_assumptions(tiny, params):
    with tiny.begin() as conn:
        ledger.post(conn, params)
        data = project(conn, 5, {"cost_growth": 0.10}, params=params)
    assert data["base_year"] == 2024 and data["base_months"] == 3
    assert any("年化" in n for n in data["notes"])  # three months of 2024, annualised
    for scheme in data["schemes"]:
        assumptions = {a["key"]: a for a in scheme["assumptions"]}
        assert {"cost_growth", "insured_growth", "ageing", "interest_rate"} <= set(assumptions)
        assert assumptions["cost_growth"]["value"] == 0.10 and assumptions["cost_growth"]["source"] == "--assume 指定"
        assert "默认" in assumptions["interest_rate"]["source"]
        assert len(scheme["rows"]) == 6
    res = next(x for x in data["schemes"] if x["scheme"] == "390")
    a = {x["key"]: x["value"] for x in res["assumptions"]}
    base, first = res["rows"][0], res["rows"][1]
    # base: 3,500 in three months → 14,000 a year; then × (1 + 0) × 1.10 × (1 + ageing)
    assert base["spending"] == "14000.00"
    expected = 14000 * (1 + a["insured_growth"]) * 1.10 * (1 + a["ageing"])
    assert abs(float(first["spending"]) - expected) < 0.01
    # balance: 56,500 at the end of March + income 0 + interest 1.5 % − spending
    assert abs(float(first["balance"]) - (56500 + 56500 * 0.015 - expected)) < 0.01


def test_project_command_prints_assumptions_next_to_the_result(tiny, params_dir):
    from yibao.fund.cli import app

    url = tiny.url.render_as_string(hide_password=False)
    runner = CliRunner()
    out = runner.invoke(app, ["post", "--database-url", url, "--params", str(params_dir)])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["project", "--years", "5", "--assume", "cost_growth=0.06", "--database-url", url, "--params", str(params_dir)])
    assert out.exit_code == 0, out.output
    assert "假设：" in out.output and "人均医疗费用（可比人口结构）年增长率 6.00%（--assume 指定）" in out.output
    assert "2029" in out.output and "公式" in out.output
    bad = runner.invoke(app, ["project", "--assume", "nonsense=1", "--database-url", url])
    assert bad.exit_code != 0


def test_whatif_resettles_and_measures_a_higher_ratio(engine):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "settlement"))
    from workload import build

    from yibao.interface.bulk import BulkEncounter, BulkSettler
    from yibao.registry import store

    work = build(n_claims=150, n_persons=40, seed=5)
    with engine.begin() as conn:
        store.upsert_catalogue(conn, work.catalogue)
        store.upsert_institutions(conn, work.institutions)
        store.upsert_persons(conn, [
            store.PersonRecord(p["psn_no"], p["certno"], p["psn_name"], p["gend"], p["brdy"], p["insutype"], p["psn_type"],
                               p["insu_admdvs"], p["assistance"], p["cvlserv"], p["acct_balc"]) for p in work.persons])
    persons = {p["psn_no"]: p for p in work.persons}
    encounters = [
        BulkEncounter(psn_no=c["psn_no"], fixmedins_code=c["fixmedins_code"], insutype=persons[c["psn_no"]]["insutype"], med_type="21",
                      begntime=dt.datetime.combine(c["date"], dt.time(9)) - dt.timedelta(days=3),
                      endtime=dt.datetime.combine(c["date"], dt.time(9)), ipt_otp_no=f"W{n}",
                      lines=[(str(i), code, pric, cnt) for i, (code, pric, cnt) in enumerate(c["lines"], start=1)])
        for n, c in enumerate(work.claims)
    ]
    report = BulkSettler(engine).settle(encounters)
    assert report.settled > 100
    with engine.connect() as conn:
        result = whatif(conn, {"schemes.390.basic.benefits.inpatient.ratio.level3": "+0.05"}, sample=1000)
        none = whatif(conn, {"schemes.390.no_such_thing": "1"}, sample=10)
    assert result["status"] == "ok", result
    assert result["baseline_matches_stored"] and result["errors"] == []
    assert result["sample_persons"] == result["persons_settled_in_year"] and result["scale_factor"] == 1.0
    assert result["changes"][0]["new"] == str(__import__("decimal").Decimal(result["changes"][0]["old"]) + __import__("decimal").Decimal("0.05"))
    # more paid by the basic fund at level 3; the later layers pay a little less or the same
    assert float(result["change_in_sample"]["hifp_pay"]) > 0
    assert float(result["sample"]["changed"]["hifp_pay"]) > float(result["sample"]["base"]["hifp_pay"])
    assert none["status"] == "error"
