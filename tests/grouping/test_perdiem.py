"""Bed-day payment for long psychiatric stays and per-capita budgets, with hand-worked numbers."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from yibao.grouping.perdiem import (
    Band,
    CapitationParams,
    Enrollee,
    PerDiemParams,
    bed_day_amount,
    capitation_budgets,
    capitation_clearing,
    eligible,
    load,
    settle_stay,
)

Y = 100


@pytest.fixture(scope="module")
def bundled():
    return load(None, dt.date(2024, 7, 1))


def test_progressive_bands(bundled):
    pd, _ = bundled
    # level3 bands: days 1–60 at 320, 61–180 at 280, 181+ at 240 yuan.
    # A 200-day stay: 60 × 320 + 120 × 280 + 20 × 240 = 19,200 + 33,600 + 4,800 = 57,600 yuan
    period = bed_day_amount(pd, "level3", 1, 200)
    assert [(line.days, line.amount) for line in period.lines] == [(60, 1_920_000), (120, 3_360_000), (20, 480_000)]
    assert period.amount == 57_600 * Y
    # a level without its own bands uses "any": 45 days × 260 = 11,700
    assert bed_day_amount(pd, "level2", 1, 45).amount == 11_700 * Y


def test_interim_settlements_add_up_to_the_whole_stay(bundled):
    pd, _ = bundled
    # every 90 days: days 1–90 = 60 × 320 + 30 × 280 = 27,600; 91–180 = 90 × 280 = 25,200;
    # 181–200 = 20 × 240 = 4,800 -> 57,600 in all, the same as one settlement of the stay
    periods = settle_stay(pd, "level3", 200)
    assert [(p.first_day, p.last_day, p.amount) for p in periods] == [
        (1, 90, 2_760_000), (91, 180, 2_520_000), (181, 200, 480_000)]
    assert sum(p.amount for p in periods) == bed_day_amount(pd, "level3", 1, 200).amount


def test_whole_stay_mode():
    pd = PerDiemParams(mode="whole_stay", bands={"any": [Band(1, 60, 30_000), Band(61, None, 25_000)]})
    pd.check()
    # 70 days: all days at the 61+ rate: 70 × 250 = 17,500 yuan; 60 days: 60 × 300 = 18,000
    assert settle_stay(pd, "level1", 70)[0].amount == 17_500 * Y
    assert settle_stay(pd, "level1", 60)[0].amount == 18_000 * Y


def test_eligibility(bundled):
    pd, _ = bundled
    assert eligible(pd, "F20.000", 45)          # schizophrenia, 45 days
    assert not eligible(pd, "F20.000", 29)      # too short
    assert not eligible(pd, "I21.000", 120)     # not a psychiatric diagnosis


def test_bands_must_be_contiguous():
    with pytest.raises(ValueError):
        PerDiemParams(bands={"any": [Band(1, 60, 1), Band(62, None, 1)]}).check()
    with pytest.raises(ValueError):
        PerDiemParams(bands={"any": [Band(1, 60, 1)]}).check()


def test_capitation_budgets(bundled):
    _, cap = bundled
    people = [
        Enrollee("p1", "C1"),                                        # 12 months: 120
        Enrollee("p2", "C1", months=6, hypertension=True),           # 60 + 180
        Enrollee("p3", "C1", diabetes=True, hypertension=True),      # 120 + 720 (both rate)
        Enrollee("p4", "C2", months=1, diabetes=True),               # 10 + 40
    ]
    b = capitation_budgets(people, cap)
    c1, c2 = b["C1"], b["C2"]
    # C1 primary 120 + 60 + 120 = 300; chronic 180 + 720 = 900; total 1,200
    assert (c1.primary_amount, c1.chronic_amount, c1.total) == (30_000, 90_000, 120_000)
    assert (c1.persons, c1.hypertension, c1.diabetes, c1.both) == (3, 2, 1, 1)
    # twelve instalments of 100 yuan
    assert c1.monthly == [10_000] * 12
    # C2: 120/12 = 10 and 480/12 = 40 -> 50 yuan = 5,000 fen in 12 parts: 8 × 417 + 4 × 416
    assert c2.total == 5_000 and sum(c2.monthly) == 5_000 and sorted(set(c2.monthly)) == [416, 417]


def test_capitation_clearing(bundled):
    _, cap = bundled
    budget = capitation_budgets([Enrollee("p", "C", hypertension=True)], cap)["C"]  # 120 + 360 = 480
    under = capitation_clearing(budget, 38_000, cap)
    # surplus 100 yuan, 50% kept: the fund pays 380 + 50 = 430
    assert (under.retained, under.institution_bears, under.fund_pays) == (5_000, 0, 43_000)
    over = capitation_clearing(budget, 58_000, cap)
    # overrun 100 yuan, the institution bears 50: the fund pays 580 − 50 = 530
    assert (over.retained, over.institution_bears, over.fund_pays) == (0, 5_000, 53_000)


def test_rates_must_be_whole_fen():
    cap = CapitationParams(primary_rate=1, hypertension_rate=0, diabetes_rate=0,
                           surplus_keep_share=Fraction(1, 2), overrun_institution_share=Fraction(1, 2))
    # 1 fen a year for 1 month: 1/12 fen -> rounds to 0; 6 months -> 0.5 -> rounds half up to 1
    assert capitation_budgets([Enrollee("a", "C", months=1)], cap)["C"].total == 0
    assert capitation_budgets([Enrollee("a", "C", months=6)], cap)["C"].total == 1
    with pytest.raises(ValueError):
        capitation_budgets([Enrollee("a", "C", months=13)], cap)
