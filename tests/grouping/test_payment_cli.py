"""``yibao dip build/clear`` and ``yibao drg weights/pay`` end to end on case files."""

from __future__ import annotations

import csv
from decimal import Decimal

from typer.testing import CliRunner

from test_dip import HISTORY, YEAR, write_cases
from yibao.cli import app
from yibao.grouping import casegen
from yibao.grouping.drg import load_scheme
from yibao.grouping.drg_cli import demo_scheme_path

runner = CliRunner()

PARAMS = """
id: test-dip
reference: illustrative
parameters:
  year_weights: {values: {2020-01-01: [1, 2, 7]}}
  core_group_threshold: {values: {2020-01-01: 3}}
  comprehensive_threshold: {values: {2020-01-01: 2}}
  px_exclude_prefixes: {values: {2020-01-01: ["88."]}}
  level_mode: {values: {2020-01-01: fixed}}
  level_coefficients: {values: {2020-01-01: {level3: 1.0, level2: 0.8}}}
  level_map: {values: {2020-01-01: {"3": level3, "2": level2}}}
  provisional_point_value: {values: {2020-01-01: 3.5}}
"""


def test_dip_build_and_clear(tmp_path):
    cases = write_cases(tmp_path / "cases.csv", HISTORY + YEAR)
    params = tmp_path / "dip.yaml"
    params.write_text(PARAMS, encoding="utf-8")
    build = runner.invoke(app, ["dip", "build", str(cases), "--years", "2021-2023", "--out", str(tmp_path / "cat"),
                                "--params", str(params)])
    assert build.exit_code == 0, build.output
    assert "3 个病种（核心 2" in " ".join(build.output.split())
    clear = runner.invoke(app, ["dip", "clear", str(cases), "--catalogue", str(tmp_path / "cat"), "--budget", "28,854",
                                "--year", "2024", "--out", str(tmp_path / "out"), "--params", str(params)])
    assert clear.exit_code == 0, clear.output
    # the hand-worked example of test_dip: point value 3.5 yuan, H1 balance 1,417.50
    assert "点值 point value: 3.500000 元/分" in " ".join(clear.output.split())
    rows = {r["fixmedins_code"]: r for r in csv.DictReader(open(tmp_path / "out" / "hospitals.csv", encoding="utf-8"))}
    assert rows["H1"]["balance"] == "1417.50" and rows["H3"]["band"] == "surplus_below_floor"
    assert sum(Decimal(r["dip_payment"]) for r in rows.values()) == Decimal("28854.00")
    assert (tmp_path / "out" / "statements" / "H2.md").exists()


def test_dip_cli_errors(tmp_path):
    cases = write_cases(tmp_path / "cases.csv", HISTORY + YEAR)
    bad_budget = runner.invoke(app, ["dip", "clear", str(cases), "--catalogue", str(tmp_path), "--budget", "lots",
                                     "--year", "2024", "--out", str(tmp_path / "o")])
    assert bad_budget.exit_code == 2
    no_catalogue = runner.invoke(app, ["dip", "clear", str(cases), "--catalogue", str(tmp_path / "none"),
                                       "--budget", "100", "--year", "2024", "--out", str(tmp_path / "o")])
    assert no_catalogue.exit_code == 1 and "病种目录有误" in " ".join(no_catalogue.output.split())
    wrong_years = runner.invoke(app, ["dip", "build", str(cases), "--years", "2022-2023", "--out", str(tmp_path / "c")])
    assert wrong_years.exit_code == 1 and "年度权重" in " ".join(wrong_years.output.split())


def test_drg_weights_and_pay(tmp_path):
    scheme = load_scheme(demo_scheme_path())
    table = casegen.settlements(scheme, [2022, 2023], 400, n_hospitals=4, seed=9)
    cases = tmp_path / "cases.csv"
    casegen.write_settlements(table, cases)
    w = runner.invoke(app, ["drg", "weights", str(cases), "--scheme", "demo", "--years", "2022",
                            "--out", str(tmp_path / "w.csv")])
    assert w.exit_code == 0, w.output
    weights = list(csv.DictReader(open(tmp_path / "w.csv", encoding="utf-8")))
    assert weights[-1]["drg"] == "*" and weights[-1]["weight"] == "1.0000"
    assert all(Decimal(r["weight"]) > 0 for r in weights)
    out = tmp_path / "pay"
    p = runner.invoke(app, ["drg", "pay", str(cases), "--scheme", "demo", "--weights", str(tmp_path / "w.csv"),
                            "--year", "2023", "--budget", "500000", "--out", str(out)])
    assert p.exit_code == 0, p.output
    hospitals = list(csv.DictReader(open(out / "hospitals.csv", encoding="utf-8")))
    assert len(hospitals) == 4
    # budget basis "fund" (meishan-drg): the fund's dues add up to the budget exactly
    assert sum(Decimal(h["fund_due"]) for h in hospitals) == Decimal("500000.00")
    assert "入组率 grouping rate" in (out / "summary.md").read_text(encoding="utf-8")


def test_drg_pay_needs_a_budget_for_the_point_method(tmp_path):
    scheme = load_scheme(demo_scheme_path())
    cases = tmp_path / "cases.csv"
    casegen.write_settlements(casegen.settlements(scheme, [2022], 100, n_hospitals=2, seed=1), cases)
    assert runner.invoke(app, ["drg", "weights", str(cases), "--scheme", "demo", "--years", "2022",
                               "--out", str(tmp_path / "w.csv")]).exit_code == 0
    r = runner.invoke(app, ["drg", "pay", str(cases), "--scheme", "demo", "--weights", str(tmp_path / "w.csv"),
                            "--year", "2022", "--out", str(tmp_path / "o")])
    assert r.exit_code == 1 and "预算" in " ".join(r.output.split())
