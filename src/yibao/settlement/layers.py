"""Cumulative layers (settlement.md §2): yearly bases, bands, deductibles and caps.

A cumulative layer keeps a yearly base x. Its payout rule is
F(x) = Σ ratio_k × (the part of max(0, x − D) inside band k), and an encounter moving the base
from x0 to x1 pays min(round(F(x1)) − round(F(x0)), cap − paid so far). F is exact; only the
two values of F are rounded (half-up, to the fen).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import lcm

from yibao.money import Exact, fmt_exact_yuan, fmt_percent, fmt_yuan, round_half_up


@dataclass(frozen=True, slots=True)
class BandRule:
    upto: int | None  # fen above the deductible where this band ends; None = no end
    ratio: Fraction


def mul_round(x: int, ratio: Fraction) -> int:
    """round_half_up(x × ratio) for x ≥ 0, in integers (no Fraction is built)."""
    den = ratio.denominator
    return (2 * x * ratio.numerator + den) // (2 * den)


@dataclass(frozen=True, slots=True)
class CumulativeRule:
    deductible: Exact  # fen
    bands: tuple[BandRule, ...]
    cap: int | None  # fen per year; None = no cap
    # The band ratios over one common denominator, for integer arithmetic: (upto, numerator).
    _den: int = field(init=False, repr=False, compare=False)
    _steps: tuple[tuple[int | None, int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        den = lcm(*(b.ratio.denominator for b in self.bands)) if self.bands else 1
        object.__setattr__(self, "_den", den)
        object.__setattr__(self, "_steps", tuple((b.upto, b.ratio.numerator * (den // b.ratio.denominator)) for b in self.bands))

    def payout_rounded(self, x: Exact) -> int:
        """round_half_up(F(x)), in integers when x and the deductible are whole fen."""
        deductible = self.deductible
        if type(x) is not int or type(deductible) is not int:
            return round_half_up(self.payout(x))
        above = x - deductible
        if above <= 0:
            return 0
        total = 0
        start = 0
        for end, num in self._steps:
            part = (above if end is None or above < end else end) - start
            if part <= 0:
                break
            total += num * part
            if end is None:
                break
            start = end
        den = self._den
        return (2 * total + den) // (2 * den)

    def payout(self, x: Exact) -> Exact:
        """F(x): exact payout for a yearly base of x fen."""
        above = x - self.deductible
        if above <= 0:
            return 0
        total: Exact = 0
        start = 0
        for band in self.bands:
            end = band.upto
            part = (min(above, end) if end is not None else above) - start
            if part <= 0:
                break
            total += band.ratio * part
            if end is None:
                break
            start = end
        return total


@dataclass(frozen=True, slots=True)
class LayerStep:
    base_before: Exact
    base_after: Exact
    due: int  # round(F(x1)) − round(F(x0))
    cap_remaining: int | None
    pay: int


def run_cumulative(rule: CumulativeRule, base_before: Exact, base_added: Exact, paid_before: int) -> LayerStep:
    """Pay what moving the yearly base from x0 to x0 + added is worth, within the cap."""
    return LayerStep(base_before, *advance(rule, base_before, base_added, paid_before))


def advance(rule: CumulativeRule, base_before: Exact, base_added: Exact, paid_before: int) -> tuple[Exact, int, int | None, int]:
    """``run_cumulative`` as a plain tuple (base_after, due, cap_remaining, pay), for the engine's
    hot path."""
    base_after = base_before + base_added
    due = rule.payout_rounded(base_after) - rule.payout_rounded(base_before)
    if due < 0:
        due = 0
    cap = rule.cap
    if cap is None:
        return base_after, due, None, due
    remaining = cap - paid_before
    if remaining < 0:
        remaining = 0
    return base_after, due, remaining, due if due < remaining else remaining


_described: dict[int, tuple[CumulativeRule, str]] = {}


def describe_bands(rule: CumulativeRule) -> str:
    """The rule in words (remembered per rule: rules live as long as their compiled policy)."""
    hit = _described.get(id(rule))
    if hit is not None and hit[0] is rule:
        return hit[1]
    text = _describe_bands(rule)
    if len(_described) > 10_000:
        _described.clear()
    _described[id(rule)] = (rule, text)
    return text


def _describe_bands(rule: CumulativeRule) -> str:
    """'起付线15000.00元；0–50000元 60%，50000–100000元 70%，100000元以上 80%'."""
    parts = []
    start = 0
    for band in rule.bands:
        if band.upto is None:
            parts.append(f"{fmt_yuan(start)[:-3]}元以上{fmt_percent(band.ratio)}")
        else:
            parts.append(f"{fmt_yuan(start)[:-3]}–{fmt_yuan(band.upto)[:-3]}元{fmt_percent(band.ratio)}")
            start = band.upto
    text = "，".join(parts)
    return f"起付线{fmt_exact_yuan(rule.deductible)}元（年度累计）；起付线以上{text}"
