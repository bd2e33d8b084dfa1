"""DRG payment against hand-worked numbers (amounts in fen unless said otherwise)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest

from yibao.grouping.alloc import apportion
from yibao.grouping.drg_payment import (
    DrgPayParams,
    PayCase,
    Trim,
    WeightTable,
    compute_weights,
    computed_level_coefficients,
    pay,
    write_reports,
)
from yibao.grouping.params import bundled, load_params

Y = 100  # fen per yuan


def case(sid, h, drg, cost_yuan, *, level="level3", fund_yuan=None, los=5, day=False):
    cost = cost_yuan * Y
    fund = cost if fund_yuan is None else fund_yuan * Y
    return PayCase(sid, h, level, drg, cost, fund, los, day)


# History: DRG A costs 1000, 2000, 3000 yuan; DRG B 6000, 6000.
HISTORY = [case("h1", "H1", "A", 1000), case("h2", "H1", "A", 2000), case("h3", "H2", "A", 3000),
           case("h4", "H2", "B", 6000), case("h5", "H2", "B", 6000), case("h6", "H2", None, 999)]


def test_apportion_sums_exactly():
    assert apportion(100, [1, 1, 1]) == [34, 33, 33]
    assert apportion(7, [Fraction(1, 3), Fraction(2, 3)]) == [2, 5]
    assert sum(apportion(1_000_003, [3, 7, 11, 0, 13])) == 1_000_003
    with pytest.raises(ValueError):
        apportion(5, [0, 0])


def test_weights_are_mean_cost_over_overall_mean():
    wt = compute_weights(HISTORY, Trim("none"))
    # Overall mean = (1000 + 2000 + 3000 + 6000 + 6000) / 5 = 3600 yuan (the ungrouped case is out).
    assert wt.overall_mean == 3600 * Y
    # A: 2000 / 3600 = 0.5555… -> 0.5556; B: 6000 / 3600 = 1.6666… -> 1.6667.
    assert wt.weight("A") == Decimal("0.5556") and wt.weight("B") == Decimal("1.6667")
    assert (wt.rows["A"].n, wt.rows["A"].n_used, wt.n_cases) == (3, 3, 5)


def test_log_sd_trimming_drops_the_outlier():
    # 19 cases of 1000 yuan and one of 1,000,000. With L = ln 1000 the 20 logs have
    # mean = (19·L + 2·L)/20 = 1.05·L;
    # sample s.d. = L·sqrt((19·0.05² + 0.95²)/19) = 0.2236·L, so the outlier sits
    # 0.95·L = 4.25 s.d. above the mean -> dropped; the 19 others stay.
    cases = [case(f"c{i}", "H", "A", 1000) for i in range(19)] + [case("big", "H", "A", 1_000_000)]
    cases += [case(f"b{i}", "H", "B", 2000) for i in range(20)]
    wt = compute_weights(cases, Trim("log_sd", k=Decimal(3), min_cases=10))
    assert wt.rows["A"].n_used == 19 and wt.rows["A"].mean_cost == 1000 * Y
    # overall mean over kept cases: (19·1000 + 20·2000) / 39 = 1512.82…; A = 0.6610, B = 1.3220
    assert wt.weight("A") == Decimal("0.6610") and wt.weight("B") == Decimal("1.3220")
    # below min_cases nothing is trimmed
    few = compute_weights(cases[15:21], Trim("log_sd", min_cases=10))
    assert few.rows["A"].n_used == 5


def test_percentile_trimming():
    costs = list(range(1, 101))  # 1..100 yuan
    cases = [case(f"c{i}", "H", "A", c) for i, c in enumerate(costs)]
    wt = compute_weights(cases, Trim("percentile", low_pct=Decimal(5), high_pct=Decimal(95), min_cases=10))
    # nearest rank: P5 = 5th value = 5, P95 = 95th = 95 -> keep 5..95 (91 cases)
    assert wt.rows["A"].n_used == 91 and wt.rows["A"].mean_cost == 50 * Y


def _params(**kw) -> DrgPayParams:
    base = dict(method="point", level_mode="uniform", budget_basis="total", low_ratio=Decimal("0.4"))
    base.update(kw)
    return DrgPayParams(**base)


# Payment year: H1 has a normal A (2000) and a low-cost A (500); H2 a high-cost B (18000), a
# normal B (6000) and an ungrouped case (1000).
YEAR = [case("p1", "H1", "A", 2000), case("p2", "H1", "A", 500), case("p3", "H2", "B", 18000),
        case("p4", "H2", "B", 6000), case("p5", "H2", None, 1000)]


def test_point_method_with_a_budget():
    wt = compute_weights(HISTORY, Trim("none"))
    r = pay(YEAR, wt, _params(), budget=30_000 * Y)
    pts = {c.case.setl_id: c.points for c in r.cases}
    kinds = {c.case.setl_id: c.kind for c in r.cases}
    # p1: ratio 2000/2000 = 1 -> normal, 0.5556 × 100 = 55.56 points
    # p2: ratio 500/2000 = 0.25 < 0.4 -> low, 0.5556 × 0.25 × 100 = 13.89
    # p3: RW 1.6667 ≤ 2 -> high threshold 2.5; ratio 18000/6000 = 3 -> high,
    #     1.6667 × (3 − 2.5 + 1) × 100 = 250.005
    # p4: normal 166.67; p5: not grouped -> fee-for-service, 0 points
    assert pts == {"p1": Decimal("55.5600"), "p2": Decimal("13.8900"), "p3": Decimal("250.0050"),
                   "p4": Decimal("166.6700"), "p5": Decimal("0")}
    assert kinds == {"p1": "normal", "p2": "low", "p3": "high", "p4": "normal", "p5": "ffs_ungrouped"}
    # total 486.125 points; budget 30,000 yuan -> point value 3,000,000 / 486.125 = 6171.2522… fen
    assert r.total_points == Decimal("486.1250")
    assert r.point_value == Fraction(3_000_000) / Fraction("486.125")
    # H1: 3,000,000 × 69.45 / 486.125 = 428,593.47 fen; H2: 2,571,406.53 -> the spare fen goes to
    # the larger remainder (H2): H1 428,593, H2 2,571,407; together exactly the budget.
    h1, h2 = r.hospitals["H1"], r.hospitals["H2"]
    assert (h1.amount, h2.amount) == (428_593, 2_571_407)
    assert h1.amount + h2.amount == 30_000 * Y
    # H1's cases: 428,593 × 55.56/69.45 = 342,874.4 and × 13.89/69.45 = 85,718.6 -> 342,874 + 85,719
    amounts = {c.case.setl_id: c.amount for c in r.cases}
    assert (amounts["p1"], amounts["p2"]) == (342_874, 85_719)
    assert amounts["p3"] + amounts["p4"] == h2.amount
    assert amounts["p5"] == 1000 * Y  # fee-for-service: paid its cost
    # gains: H1 4285.93 − (2000 + 500) = +1785.93 yuan
    assert h1.gain == 428_593 - 250_000
    # indicators: 4 of 5 grouped; 4 of 5 paid by DRG; cost 26,500 of 27,500 covered
    assert r.grouping_rate == Fraction(4, 5) and r.case_coverage == Fraction(4, 5)
    assert r.cost_coverage == Fraction(26_500, 27_500)
    # CMI uses the DRG weights themselves: H1 (0.5556 + 0.5556) / 2, H2 (1.6667 + 1.6667) / 2
    assert h1.cmi == Fraction("0.5556") and h2.cmi == Fraction("1.6667")
    # cost per weight H1 = 2500 / 1.1112 yuan
    assert h1.cost_per_weight == Fraction(250_000) / Fraction("1.1112")
    assert (h1.low, h1.high, h2.high) == (1, 0, 1)


def test_fund_budget_adds_the_patients_share():
    wt = compute_weights(HISTORY, Trim("none"))
    year = [case("p1", "H1", "A", 2000, fund_yuan=1500), case("p4", "H2", "B", 6000, fund_yuan=5000)]
    r = pay(year, wt, _params(budget_basis="fund"), budget=7000 * Y)
    # patients paid 500 + 1000 = 1500 yuan: pool = 7000 + 1500 = 8500 yuan over 55.56 + 166.67 points
    assert r.pool == 8500 * Y
    assert sum(c.amount for c in r.cases) == 8500 * Y
    # what the fund owes = pool − patients' share = the budget
    assert sum(c.fund_due for c in r.cases) == 7000 * Y


def test_rate_method():
    wt = compute_weights(HISTORY, Trim("none"))
    r = pay(YEAR, wt, _params(method="rate", rate_per_weight=Decimal(10_000)))
    amounts = {c.case.setl_id: c.amount for c in r.cases}
    # 10,000 yuan per weight: p1 55.56/100 × 10,000 = 5,556.00; p2 1,389.00; p3 25,000.50; p4 16,667.00
    assert amounts == {"p1": 555_600, "p2": 138_900, "p3": 2_500_050, "p4": 1_666_700, "p5": 100_000}
    assert r.hospitals["H2"].amount == 2_500_050 + 1_666_700


def test_day_surgery_and_fixed_level_coefficients():
    wt = compute_weights(HISTORY, Trim("none"))
    p = _params(method="rate", rate_per_weight=Decimal(10_000), level_mode="fixed",
                level_coefficients={"level3": Decimal(1), "level2": Decimal("0.8")},
                day_surgery_factor=Decimal("0.9"))
    year = [case("d1", "H1", "A", 1600, level="level2", day=True)]
    r = pay(year, wt, p)
    c = r.cases[0]
    # reference cost at level 2 = 2000 × 0.8 = 1600 -> ratio 1 -> normal;
    # W = 0.5556 × 0.8 × 0.9 = 0.400032 -> 40.0032 points -> 4,000.32 yuan
    assert (c.kind, c.points, c.amount) == ("normal", Decimal("40.0032"), 400_032)


def test_uniform_levels_ignore_the_level():
    # 眉山: one weight for one disease at every level
    wt = compute_weights(HISTORY, Trim("none"))
    p = _params(method="rate", rate_per_weight=Decimal(10_000))
    r = pay([case("x", "H", "A", 2000, level="level1"), case("y", "H", "A", 2000, level="level3")], wt, p)
    assert r.cases[0].amount == r.cases[1].amount == 555_600


def test_computed_level_coefficients():
    wt = compute_weights(HISTORY, Trim("none"))
    hist = [case("a", "H1", "A", 3000, level="level3"), case("b", "H2", "A", 1000, level="level2")]
    coefs = computed_level_coefficients(hist, wt)
    # cost per weight: level3 3000/0.5556, level2 1000/0.5556, overall 4000/1.1112 = 2000/0.5556
    # -> level3 1.5, level2 0.5
    assert coefs == {"level2": Decimal("0.5000"), "level3": Decimal("1.5000")}


def test_point_method_needs_a_budget():
    wt = compute_weights(HISTORY, Trim("none"))
    with pytest.raises(ValueError):
        pay(YEAR, wt, _params())


def test_weight_table_round_trip(tmp_path):
    wt = compute_weights(HISTORY, Trim("none"))
    wt.write_csv(tmp_path / "w.csv")
    back = WeightTable.read_csv(tmp_path / "w.csv")
    assert back.weight("A") == Decimal("0.5556") and back.overall_mean == 3600 * Y
    assert back.rows["B"].mean_cost == 6000 * Y


def test_meishan_parameter_file():
    ps = load_params(bundled("meishan-drg"))
    p = DrgPayParams.from_params(ps, dt.date(2024, 6, 30))
    assert (p.method, p.level_mode, p.points_per_weight) == ("point", "uniform", Decimal(100))
    assert p.high_ratio(Decimal("0.9")) == 3 and p.high_ratio(Decimal("2.5")) == 2
    assert ps.params["method"].reference.startswith("yibao 项目议题")
    assert ps.params["low_ratio"].illustrative


def test_reports_are_written(tmp_path):
    wt = compute_weights(HISTORY, Trim("none"))
    r = pay(YEAR, wt, _params(), budget=30_000 * Y)
    write_reports(r, tmp_path)
    hospitals = (tmp_path / "hospitals.csv").read_text(encoding="utf-8").splitlines()
    assert hospitals[1].startswith("H1,,level3,2,2,2,0.5556,")
    assert ",4285.93,1785.93," in hospitals[1]
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "入组率 grouping rate: 80.00%" in summary and "61.712522 元/点" in summary
