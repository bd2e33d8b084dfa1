"""Bed-day payment (按床日付费) for long psychiatric stays, and per-capita budgets (按人头付费)
for primary care and the two chronic diseases (门诊"两病"：高血压、糖尿病).

**Bed-day payment.** A stay qualifies when its principal diagnosis starts with one of
``eligible_dx_prefixes`` (e.g. ``F20`` schizophrenia) and it lasts at least ``min_days``. Its
days are paid by the rate of the stay band (``bands``, per hospital level) they fall in:

- ``progressive`` (分段递减): day *n* of the stay is paid at the rate of the band containing
  *n* — like tax brackets, so a long stay is paid the early, higher rates for its early days;
- ``whole_stay``: every day is paid at the rate of the band containing the total length of stay.

Long stays are settled every ``interim_days`` days (中途结算) in progressive mode; the interim
amounts add up exactly to the amount of the whole stay because each day is paid once at its own
band's rate.

**Per-capita budgets.** For each primary-care institution: Σ over its enrollees of the rate ×
months enrolled / 12 for primary care (普通门诊统筹, everyone), hypertension and diabetes (the
people registered with each condition; ``both_rate`` may replace the sum for people with both).
Each component is rounded half-up once per institution, and the annual budget is paid in 12
monthly instalments that sum to it exactly. At year-end the fund spending on those people is
compared with the budget: the institution keeps ``surplus_keep_share`` of a surplus and bears
``overrun_institution_share`` of an overrun (the fund the rest).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterable

from yibao.grouping.alloc import apportion
from yibao.grouping.params import ParamSet, bundled, dec, load_params
from yibao.money import round_half_up

DEFAULT_PARAMS = "perdiem-capitation"


def _fen(yuan) -> int:
    v = dec(yuan) * 100
    if v != v.to_integral_value():
        raise ValueError(f"金额 {yuan} 元超过两位小数")
    return int(v)


# ----------------------------------------------------------------------------- bed-day


@dataclass(frozen=True)
class Band:
    from_day: int
    to_day: int | None  # inclusive; None = no upper end
    rate: int  # fen per day

    def days_in(self, first: int, last: int) -> int:
        lo = max(first, self.from_day)
        hi = last if self.to_day is None else min(last, self.to_day)
        return max(0, hi - lo + 1)


@dataclass
class PerDiemParams:
    mode: str = "progressive"  # progressive | whole_stay
    bands: dict[str, list[Band]] = field(default_factory=dict)  # level (or "any") -> bands
    eligible_dx_prefixes: tuple[str, ...] = ("F20", "F25", "F31", "F32", "F33")
    min_days: int = 30
    interim_days: int = 90

    @classmethod
    def from_params(cls, ps: ParamSet, day: dt.date) -> "PerDiemParams":
        bands: dict[str, list[Band]] = {}
        for level, rows in (ps.get("bed_day_bands", day) or {}).items():
            bands[str(level)] = [Band(int(r["from_day"]), None if r.get("to_day") is None else int(r["to_day"]),
                                      _fen(r["rate"])) for r in rows]
        p = cls(mode=str(ps.get("bed_day_mode", day)), bands=bands,
                eligible_dx_prefixes=tuple(str(x) for x in ps.get("bed_day_eligible_dx_prefixes", day)),
                min_days=int(ps.get("bed_day_min_days", day)), interim_days=int(ps.get("bed_day_interim_days", day)))
        p.check()
        return p

    def check(self) -> None:
        if self.mode not in ("progressive", "whole_stay"):
            raise ValueError(f"bed_day_mode 必须是 progressive 或 whole_stay，实为 {self.mode!r}")
        for level, bands in self.bands.items():
            expect = 1
            for i, b in enumerate(bands):
                if b.from_day != expect:
                    raise ValueError(f"{level} 的床日分段必须从第 {expect} 天接续，实为 {b.from_day}")
                if b.to_day is None:
                    if i != len(bands) - 1:
                        raise ValueError(f"{level} 只有最后一段可以不设上限")
                    break
                if b.to_day < b.from_day:
                    raise ValueError(f"{level} 的分段 {b.from_day}–{b.to_day} 无效")
                expect = b.to_day + 1
            else:
                raise ValueError(f"{level} 的最后一段必须不设上限（to_day: null）")

    def level_bands(self, level: str) -> list[Band]:
        if level in self.bands:
            return self.bands[level]
        if "any" in self.bands:
            return self.bands["any"]
        raise ValueError(f"没有医疗机构等级 {level!r} 的床日费率")


@dataclass(frozen=True)
class BedDayLine:
    band: Band
    days: int
    amount: int


@dataclass(frozen=True)
class BedDayPeriod:
    first_day: int
    last_day: int
    lines: tuple[BedDayLine, ...]

    @property
    def amount(self) -> int:
        return sum(line.amount for line in self.lines)


def eligible(params: PerDiemParams, principal_dx: str, los: int) -> bool:
    return los >= params.min_days and any(principal_dx.startswith(p) for p in params.eligible_dx_prefixes)


def bed_day_amount(params: PerDiemParams, level: str, first_day: int, last_day: int, *,
                   total_los: int | None = None) -> BedDayPeriod:
    """The payment for days ``first_day``…``last_day`` (1-based days of the stay)."""
    if first_day < 1 or last_day < first_day:
        raise ValueError(f"床日区间无效: {first_day}–{last_day}")
    bands = params.level_bands(level)
    if params.mode == "progressive":
        lines = tuple(BedDayLine(b, n, n * b.rate) for b in bands if (n := b.days_in(first_day, last_day)) > 0)
    else:
        los = total_los if total_los is not None else last_day
        band = next(b for b in bands if b.days_in(los, los))
        n = last_day - first_day + 1
        lines = (BedDayLine(band, n, n * band.rate),)
    return BedDayPeriod(first_day, last_day, lines)


def settle_stay(params: PerDiemParams, level: str, los: int) -> list[BedDayPeriod]:
    """A stay's settlements: every ``interim_days`` days (progressive mode), else once."""
    if los < 1:
        raise ValueError("住院天数至少为 1")
    if params.mode != "progressive" or params.interim_days <= 0:
        return [bed_day_amount(params, level, 1, los, total_los=los)]
    out, first = [], 1
    while first <= los:
        last = min(los, first + params.interim_days - 1)
        out.append(bed_day_amount(params, level, first, last))
        first = last + 1
    return out


# ----------------------------------------------------------------------------- capitation


@dataclass(frozen=True)
class Enrollee:
    psn_no: str
    institution: str  # the primary-care institution the person signed with (签约机构)
    months: int = 12  # months enrolled in the year
    hypertension: bool = False
    diabetes: bool = False


@dataclass
class CapitationParams:
    primary_rate: int  # fen per person-year
    hypertension_rate: int
    diabetes_rate: int
    both_rate: int | None = None  # replaces hypertension + diabetes for people with both
    surplus_keep_share: Fraction = Fraction(1, 2)
    overrun_institution_share: Fraction = Fraction(1, 2)

    @classmethod
    def from_params(cls, ps: ParamSet, day: dt.date) -> "CapitationParams":
        both = ps.get("capitation_both_rate", day) if ps.has("capitation_both_rate") else None
        return cls(_fen(ps.get("capitation_primary_rate", day)), _fen(ps.get("capitation_hypertension_rate", day)),
                   _fen(ps.get("capitation_diabetes_rate", day)), None if both is None else _fen(both),
                   Fraction(dec(ps.get("capitation_surplus_keep_share", day))),
                   Fraction(dec(ps.get("capitation_overrun_institution_share", day))))


@dataclass
class CapitationBudget:
    institution: str
    persons: int = 0
    hypertension: int = 0  # people
    diabetes: int = 0
    both: int = 0
    primary_amount: int = 0  # fen
    chronic_amount: int = 0
    monthly: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.primary_amount + self.chronic_amount


def capitation_budgets(enrollees: Iterable[Enrollee], params: CapitationParams) -> dict[str, CapitationBudget]:
    primary: dict[str, Fraction] = {}
    chronic: dict[str, Fraction] = {}
    out: dict[str, CapitationBudget] = {}
    for e in enrollees:
        if not 0 <= e.months <= 12:
            raise ValueError(f"{e.psn_no}: 参保月数必须在 0–12 之间")
        b = out.setdefault(e.institution, CapitationBudget(e.institution))
        b.persons += 1
        share = Fraction(e.months, 12)
        primary[e.institution] = primary.get(e.institution, Fraction(0)) + params.primary_rate * share
        if e.hypertension and e.diabetes and params.both_rate is not None:
            rate = params.both_rate
        else:
            rate = (params.hypertension_rate if e.hypertension else 0) + (params.diabetes_rate if e.diabetes else 0)
        b.hypertension += e.hypertension
        b.diabetes += e.diabetes
        b.both += e.hypertension and e.diabetes
        chronic[e.institution] = chronic.get(e.institution, Fraction(0)) + rate * share
    for code, b in out.items():
        b.primary_amount = round_half_up(primary[code])
        b.chronic_amount = round_half_up(chronic[code])
        b.monthly = apportion(b.total, [1] * 12)
    return out


@dataclass(frozen=True)
class CapitationClearing:
    institution: str
    budget: int
    spent: int  # fund spending on the enrollees' care in the year
    retained: int  # surplus kept by the institution (≥ 0)
    institution_bears: int  # part of an overrun the institution bears (≥ 0)
    fund_pays: int  # what the fund finally pays in the year = spent + retained − institution_bears

    @property
    def surplus(self) -> int:
        return self.budget - self.spent


def capitation_clearing(budget: CapitationBudget, spent: int, params: CapitationParams) -> CapitationClearing:
    diff = budget.total - spent
    if diff >= 0:
        retained, bears = round_half_up(params.surplus_keep_share * diff), 0
    else:
        retained, bears = 0, round_half_up(params.overrun_institution_share * -diff)
    return CapitationClearing(budget.institution, budget.total, spent, retained, bears, spent + retained - bears)


def load(path: str | Path | None, day: dt.date) -> tuple[PerDiemParams, CapitationParams]:
    ps = load_params(path or bundled(DEFAULT_PARAMS))
    return PerDiemParams.from_params(ps, day), CapitationParams.from_params(ps, day)
