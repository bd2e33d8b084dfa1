"""DIP catalogue, point value and year-end clearing against hand-worked numbers."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest

from yibao.grouping.cases import CaseFileError
from yibao.grouping.dip import Catalogue, DipParams, build_catalogue, clear_year

COLUMNS = ("setl_id", "fixmedins_code", "fixmedins_name", "medins_lv", "setl_time", "dscg_maindiag_code",
           "oprn_oprt_code", "medfee_sumamt", "fund_pay_sumamt", "ipt_days")

# (id, hospital, level, date, principal dx, procedures, cost yuan); the fund pays 80% of each.
HISTORY = [
    # K35.8 + 47.01 (appendectomy): 4 cases over three years -> a core group (threshold 3)
    ("a21", "H1", "3", "2021-05-01", "K35.800x001", "47.0100", 4000),
    ("a22", "H1", "3", "2022-05-01", "K35.800", "47.0100|88.5600", 5000),  # 88.* is left out
    ("a23", "H1", "3", "2023-05-01", "K35.800", "47.0100", 6000),
    ("b23", "H2", "2", "2023-06-01", "K35.801", "47.0101", 6000),
    # J18.9 conservative (pneumonia): 4 cases -> core
    ("p21", "H1", "3", "2021-03-01", "J18.900", "", 2000),
    ("p22", "H2", "2", "2022-03-01", "J18.900", "", 2000),
    ("p23", "H2", "2", "2023-03-01", "J18.901", "", 2000),
    ("q23", "H1", "3", "2023-04-01", "J18.900", "88.5600", 2000),  # only diagnostic: conservative
    # rare conservative cases of chapter IX (circulatory, I00–I99): category groups too small (1 case each)
    ("h23", "H1", "3", "2023-07-01", "I10.x00", "", 1000),
    ("g23", "H2", "2", "2023-08-01", "I20.000", "", 3000),
]
YEAR = [
    ("c1", "H1", "3", "2024-01-10", "K35.800", "47.0100", 5600),   # normal
    ("c2", "H1", "3", "2024-01-20", "K35.800", "47.0100", 2000),   # low
    ("c3", "H1", "3", "2024-02-05", "J18.900", "", 5000),          # high
    ("c4", "H2", "2", "2024-01-15", "K35.801", "47.0101", 4480),   # normal at level 2
    ("c5", "H2", "2", "2024-03-01", "J18.900", "", 12000),         # high, special review
    ("c6", "H2", "2", "2024-03-02", "N39.000", "", 1000),          # no group: fee-for-service
    ("c7", "H3", "3", "2024-02-11", "J18.900", "", 1100),          # normal, far under its payment
]


def write_cases(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(COLUMNS)
        for sid, h, lv, date, dx, px, cost in rows:
            fund = Fraction(cost * 100 * 8, 10)
            w.writerow((sid, h, f"{h}医院", lv, f"{date} 10:00:00", dx, px, f"{cost}.00",
                        f"{int(fund) // 100}.{int(fund) % 100:02d}", 5))
    return path


def params(**kw) -> DipParams:
    base = dict(year_weights=(1, 2, 7), core_group_threshold=3, comprehensive_threshold=2,
                px_exclude_prefixes=("88.",), level_mode="fixed",
                level_coefficients={"level3": Decimal("1.0"), "level2": Decimal("0.8")},
                level_map={"3": "level3", "2": "level2"}, budget_basis="total",
                provisional_point_value=Fraction(350), source="test")
    base.update(kw)
    return DipParams(**base)


@pytest.fixture
def files(tmp_path):
    return write_cases(tmp_path / "cases.csv", HISTORY + YEAR)


def test_catalogue_scores(files):
    cat = build_catalogue(files, [2021, 2022, 2023], params())
    # yearly means of all cases: 2021 (4000 + 2000)/2 = 3000; 2022 (5000 + 2000)/2 = 3500;
    # 2023 (6000 + 6000 + 2000 + 2000 + 1000 + 3000)/6 = 3333.33…
    # weighted 1:2:7 -> (3000 + 7000 + 7 × 20000/6) / 10 = 10000/3 = 3333.33 yuan
    assert cat.overall_mean == Fraction(1_000_000, 3)
    g = cat.groups
    assert set(g) == {"K35.8|47.01", "J18.9", "ZH-CH09-C"}
    # K35.8|47.01: (1·4000 + 2·5000 + 7·6000) / 10 = 5600 -> score 5600 / (10000/3) × 1000 = 1680
    assert g["K35.8|47.01"].mean_cost == 560_000 and g["K35.8|47.01"].score == 1680 * 10_000
    assert g["K35.8|47.01"].n_by_year == {2021: 1, 2022: 1, 2023: 2}
    # J18.9 (2000 every year) -> 600; the two rare circulatory cases (categories I10 and I20 have
    # one case each, under the threshold of 2) form the chapter group: only 2023, mean 2000 -> 600
    assert g["J18.9"].score == 600 * 10_000 and g["J18.9"].kind == "core"
    assert g["ZH-CH09-C"].score == 600 * 10_000 and g["ZH-CH09-C"].kind == "comprehensive"
    assert g["ZH-CH09-C"].n_cases == 2


def test_catalogue_round_trip(files, tmp_path):
    cat = build_catalogue(files, [2021, 2022, 2023], params())
    cat.write(tmp_path / "cat")
    back = Catalogue.read(tmp_path / "cat")
    assert back.overall_mean == cat.overall_mean and back.years == (2021, 2022, 2023)
    assert {k: (v.score, v.mean_cost, v.kind) for k, v in back.groups.items()} == \
           {k: (v.score, v.mean_cost, v.kind) for k, v in cat.groups.items()}
    assert back.level_coefficients == {"level2": Decimal("0.8"), "level3": Decimal("1.0")}


def test_clearing_point_value_and_statements(files, tmp_path):
    p = params()
    cat = build_catalogue(files, [2021, 2022, 2023], p)
    # Points: c1 normal 1680; c2 low 1680 × 2000/5600 = 600; c3 high (std 2000, ratio 2.5):
    # 600 × (2.5 − 2 + 1) = 900; c4 level 2 (std 5600 × 0.8 = 4480, normal) 1680 × 0.8 = 1344;
    # c5 level 2 (std 1600, ratio 7.5 > 5: special review) 480 × (7.5 − 1) = 3120;
    # c6 no group (N39 is in no group) -> fee-for-service; c7 normal 600.
    # H1 3180, H2 4464, H3 600: total 8244. Budget 28,854 yuan -> point value 3.5 yuan.
    r = clear_year(files, cat, 2024, 2_885_400, p, out=tmp_path / "out")
    assert r.total_points == 8244 * 10_000
    assert r.point_value == 350
    h1, h2, h3 = r.hospitals["H1"], r.hospitals["H2"], r.hospitals["H3"]
    assert (h1.points, h2.points, h3.points) == (31_800_000, 44_640_000, 6_000_000)
    assert (h1.low, h1.high, h2.high, h2.special_review, h2.ffs_cases) == (1, 1, 1, 1, 1)
    # D = points × 3.5: 11,130 / 15,624 / 2,100 yuan, summing to the budget
    assert (h1.dip_payment, h2.dip_payment, h3.dip_payment) == (1_113_000, 1_562_400, 210_000)
    assert h1.dip_payment + h2.dip_payment + h3.dip_payment == 2_885_400
    # H1: C = 12,600 > 110% of 11,130 -> the fund shares 50% of the overrun up to 110%:
    #     0.5 × 1,113 = 556.50 -> settled 11,686.50
    assert (h1.cost, h1.band, h1.adjustment, h1.settled) == (1_260_000, "overrun_above_cap", 55_650, 1_168_650)
    # H2: C = 4,480 + 12,000 = 16,480 = 105.5% of 15,624 -> 0.5 × 856 = 428 -> settled 16,052
    assert (h2.cost, h2.band, h2.adjustment, h2.settled) == (1_648_000, "overrun", 42_800, 1_605_200)
    # H3: C = 1,100 is 52% of 2,100, under the 70% floor: the surplus counts down to 1,470 only:
    #     0.6 × (2,100 − 1,470) = 378 -> settled 1,478
    assert (h3.band, h3.adjustment, h3.settled) == ("surplus_below_floor", 37_800, 147_800)
    # fund due = settled − patients' 20%: H1 11,686.50 − 2,520 = 9,166.50
    assert h1.patient_share == 252_000 and h1.fund_due == 916_650
    # monthly, provisional point value 3.5, prepay 90% of (amount − patients' share):
    # H1 Jan (1680 + 600) × 3.5 = 7,980 − 1,520 -> 5,814; Feb 900 × 3.5 = 3,150 − 1,000 -> 1,935
    assert h1.prepaid == 581_400 + 193_500 and h1.balance == 916_650 - 774_900
    # H2 Jan 1344 × 3.5 = 4,704 − 896 -> 3,427.20; Mar 3120 × 3.5 = 10,920 − 2,400 -> 7,668
    assert h2.prepaid == 342_720 + 766_800 and h2.fund_due == 1_605_200 - 329_600
    # H3 got 0.9 × (2,100 − 220) = 1,692 in advance but is due 1,478 − 220 = 1,258: −434 back
    assert h3.balance == -43_400
    assert (r.n_cases, r.n_dip, r.n_core) == (7, 6, 6)

    out = tmp_path / "out"
    rows = {r_["setl_id"]: r_ for r_ in csv.DictReader(open(out / "cases.csv", encoding="utf-8"))}
    assert rows["c2"]["case_kind"] == "low" and rows["c5"]["special_review"] == "true"
    assert rows["c6"]["case_kind"] == "ffs" and Decimal(rows["c6"]["dip_amount"]) == 0
    # case amounts are each hospital's payment apportioned by points: H1 1680 × 3.5 = 5,880 …
    assert Decimal(rows["c1"]["dip_amount"]) == Decimal("5880.00")
    assert sum(Decimal(rows[c]["dip_amount"]) for c in ("c1", "c2", "c3")) == Decimal("11130.00")
    special = list(csv.DictReader(open(out / "special_review.csv", encoding="utf-8")))
    assert [s["setl_id"] for s in special] == ["c5"] and special[0]["ratio"] == "7.50"
    st = (out / "statements" / "H1.md").read_text(encoding="utf-8")
    assert "| DIP 支付 D = 分值 × 点值 | 11130.00 元 |" in st and "| **年终应拨付 balance** | **1417.50 元** |" in st
    assert "结余按 60% 留用" in st and "高于 5 倍的病例列入特病单议" in st
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "点值 point value: 3.500000 元/分" in summary


def test_monthly_without_provisional_value_uses_a_twelfth_of_the_budget(files):
    p = params(provisional_point_value=None)
    cat = build_catalogue(files, [2021, 2022, 2023], p)
    r = clear_year(files, cat, 2024, 2_885_400, p)
    # budget / 12 = 2,404.50 yuan a month; January: H1 2280 points, H2 1344 ->
    # H1 240,450 × 2280/3624 = 151,276.49, H2 89,173.51 -> the spare fen to H2: 151,276 + 89,174
    jan = {h: (amount, prepay) for m, h, _, amount, prepay in r.monthly if m == 1}
    assert jan["H1"][0] == 151_276 and jan["H2"][0] == 89_174
    # H1's January patients paid 1,520 yuan, more than 1,512.76: the advance is 0, not negative
    assert jan["H1"][1] == 0
    # H2: 0.9 × (891.74 − 896) < 0 -> 0 as well
    assert jan["H2"][1] == 0


def test_fund_budget_basis_adds_patient_share(files):
    p = params(budget_basis="fund")
    cat = build_catalogue(files, [2021, 2022, 2023], p)
    r = clear_year(files, cat, 2024, 2_000_000, p)
    patients = sum(h.patient_share for h in r.hospitals.values())
    assert r.pool == 2_000_000 + patients
    assert sum(h.dip_payment for h in r.hospitals.values()) == r.pool


def test_computed_level_coefficients(files):
    cat = build_catalogue(files, [2021, 2022, 2023], params(level_mode="computed"))
    # cost per score: level3 cases (a21 a22 a23 p21 q23 h23) cost 20,000 for 1680·3 + 600·3 = 6,840
    # points; level2 (b23 p22 p23 g23) 13,000 for 1680 + 600·3 = 3,480; overall 33,000 / 10,320.
    # level3: (20000/6840) / (33000/10320) = 0.9144; level2: (13000/3480)/(33000/10320) = 1.1682
    assert cat.level_coefficients == {"level3": Decimal("0.9144"), "level2": Decimal("1.1682")}


def test_year_weights_must_match_years(files):
    with pytest.raises(ValueError):
        build_catalogue(files, [2022, 2023], params())


def test_bad_case_file_names_line_and_column(tmp_path):
    path = write_cases(tmp_path / "bad.csv", HISTORY + YEAR)
    text = path.read_text(encoding="utf-8").splitlines()
    assert text[2].startswith("a22,")
    text[2] = text[2].replace("5000.00", "5千")  # file line 3
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(CaseFileError) as info:
        build_catalogue(path, [2021, 2022, 2023], params())
    assert (info.value.line, info.value.column) == (3, "medfee_sumamt")
    assert "'5千'" in str(info.value)


def test_duplicate_settlement_id(tmp_path):
    path = write_cases(tmp_path / "dup.csv", HISTORY + [("a21", "H9", "3", "2023-01-01", "K35.800", "", 100)])
    with pytest.raises(CaseFileError) as info:
        build_catalogue(path, [2021, 2022, 2023], params())
    assert (info.value.line, info.value.column) == (12, "setl_id") and "第2行" in str(info.value)


def test_missing_column(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("setl_id,fixmedins_code\n1,H\n", encoding="utf-8")
    with pytest.raises(CaseFileError) as info:
        build_catalogue(path, [2021, 2022, 2023], params())
    assert info.value.column == "medins_lv"


def test_statement_cites_the_parameter_file(files, tmp_path):
    p = DipParams.load(None, dt.date(2024, 12, 31))
    p.core_group_threshold, p.comprehensive_threshold, p.level_map = 3, 2, {"3": "level3", "2": "level2"}
    cat = build_catalogue(files, [2021, 2022, 2023], p)
    clear_year(files, cat, 2024, 2_885_400, p, out=tmp_path / "o")
    st = (tmp_path / "o" / "statements" / "H2.md").read_text(encoding="utf-8")
    assert "- low_ratio = 0.5 — 国家医疗保障局办公室" in st
    assert "- surplus_keep_share = 0.6 — illustrative" in st


def test_bundled_qingyuan_parameters():
    p = DipParams.load(None, dt.date(2024, 12, 31))
    assert p.year_weights == (1, 2, 7) and p.core_group_threshold == 15
    assert (p.low_ratio, p.high_ratio, p.special_review_ratio) == (Fraction(1, 2), 2, 5)
    assert p.surplus_keep_share == Fraction(3, 5) and p.overrun_share_upper_ratio == Fraction(11, 10)
    refs = {name: ref for name, _, ref in p.citations}
    assert "医保办发〔2020〕50号" in refs["core_group_threshold"] and refs["surplus_keep_share"] == "illustrative"
