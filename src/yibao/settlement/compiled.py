"""A resolved policy turned into what the engine computes with: fen and exact Fractions.

Resolving a policy gives Decimals (yuan and ratios) checked by pydantic; converting them on
every claim would cost more than the settlement itself, so each resolved policy is compiled
once and remembered.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from yibao.policy.schema import ResolvedPolicy

from .layers import BandRule, CumulativeRule, mul_round

ZERO = Fraction(0)
ONE = Fraction(1)


def _fen(yuan: Decimal | None) -> int | None:
    return None if yuan is None else int(yuan * 100)


def _table_fen(table: dict[str, Decimal]) -> dict[str, int]:
    return {k: int(v * 100) for k, v in table.items()}


def _table_ratio(table: dict[str, Decimal] | None) -> dict[str, Fraction] | None:
    return None if table is None else {k: Fraction(v) for k, v in table.items()}


def level_value(table: dict | None, level: str):
    """A per-level value: the level itself, else level1 for township, else ``any``."""
    if not table:
        return None
    if level in table:
        return table[level]
    if level == "township" and "level1" in table:
        return table["level1"]
    return table.get("any")


@dataclass(frozen=True, slots=True)
class BenefitRule:
    deductible: dict[str, int]
    ratio: dict[str, Fraction]
    retired_ratio: dict[str, Fraction] | None
    later_factor: Fraction


@dataclass(frozen=True, slots=True)
class TiltRule:
    name: str
    points: Fraction
    assistance: frozenset[str] | None
    admdvs: str | None


def applies(layer, category: str) -> bool:
    """Does a yearly layer cover this benefit category?"""
    return layer.benefits is None or category in layer.benefits


@dataclass(frozen=True, slots=True)
class CriticalRule:
    fund_pay_type: str
    normal: CumulativeRule
    special: CumulativeRule | None  # for the special groups
    special_groups: frozenset[str]
    special_factor: Fraction
    special_add: Fraction
    benefits: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class SimpleLayer:
    """大额 and 公务员: one ratio from zero, a yearly cap."""

    fund_pay_type: str
    ratio: Fraction
    rule: CumulativeRule
    line_flag: str = "all"
    benefits: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class AssistanceRule:
    fund_pay_type: str
    groups: dict[str, CumulativeRule]
    ratios: dict[str, Fraction]
    exclude_out_of_region_without_referral: bool
    benefits: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class BasicTerms:
    """A benefit's basic-fund terms at one institution level, for retired or other persons.

    Worked out once per (category, level, retired) and remembered on the scheme, so that a
    claim does no table look-ups and no Fraction arithmetic for them."""

    category: str
    level: str
    retired: bool  # the retired persons' ratio table applies
    deductible: int  # fen: the first admission of the year, and any other kind of care
    later_factor: Fraction
    reduces: bool  # inpatient, with a factor other than 1 for the 2nd and later admissions
    later_deductible: int  # deductible × later_factor, rounded
    level_ratio: Fraction | None  # None: the basic fund does not pay at this level
    ratio: Fraction | None  # level_ratio within [0, 1]: no tilt, no out-of-region cut
    cut_ratio: Fraction | None  # level_ratio less the out-of-region cut, within [0, 1]


def clamp_ratio(ratio: Fraction) -> Fraction:
    return min(max(ratio, ZERO), ONE)


def _basic_terms(benefit: BenefitRule, category: str, level: str, retired: bool, cut: Fraction) -> BasicTerms:
    deductible = level_value(benefit.deductible, level) or 0
    factor = benefit.later_factor
    reduces = category == "inpatient" and factor != ONE
    level_ratio = level_value(benefit.retired_ratio if retired else benefit.ratio, level)
    return BasicTerms(
        category, level, retired, deductible, factor, reduces,
        mul_round(deductible, factor) if reduces else deductible,
        level_ratio,
        None if level_ratio is None else clamp_ratio(level_ratio),
        None if level_ratio is None else clamp_ratio(level_ratio - cut),
    )


@dataclass(frozen=True, slots=True)
class CompiledScheme:
    basic_fund: str
    basic_cap: int | None
    benefits: dict[str, BenefitRule]
    out_of_region_cut: Fraction
    tilts: tuple[TiltRule, ...]
    critical: CriticalRule | None
    large: SimpleLayer | None
    civil: SimpleLayer | None
    assistance: AssistanceRule | None
    # BasicTerms by (category, level, retired), filled as claims ask for them. A race between
    # threads only computes the same terms twice.
    _terms: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def basic_terms(self, category: str, level: str, retired: bool) -> BasicTerms:
        """The basic terms for a covered category (one in ``benefits``)."""
        key = (category, level, retired)
        terms = self._terms.get(key)
        if terms is None:
            benefit = self.benefits[category]
            retired = retired and benefit.retired_ratio is not None
            terms = self._terms[key] = _basic_terms(benefit, category, level, retired, self.out_of_region_cut)
        return terms


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    id: str
    name: str
    pooling_prefix: str
    insutypes: tuple[str, ...]
    med_categories: dict[str, str]  # med_type (aliases applied) → benefit category
    schemes: dict[str, CompiledScheme]

    def category(self, med_type: str) -> str | None:
        return self.med_categories.get(med_type)


def _bands(layer, add: Fraction = Fraction(0)) -> tuple[BandRule, ...]:
    return tuple(BandRule(_fen(b.upto), min(Fraction(b.ratio) + add, Fraction(1))) for b in layer.bands)


def _benefits(layer) -> frozenset[str] | None:
    return None if layer.benefits is None else frozenset(layer.benefits)


def _compile_scheme(scheme) -> CompiledScheme:
    basic = scheme.basic
    benefits = {
        cat: BenefitRule(
            _table_fen(b.deductible), _table_ratio(b.ratio), _table_ratio(b.retired_ratio), Fraction(b.later_admission_deductible_factor)
        )
        for cat, b in basic.benefits.items()
    }
    tilts = tuple(
        TiltRule(t.name, Fraction(t.points), frozenset(t.assistance) if t.assistance is not None else None, t.institution_admdvs)
        for t in basic.tilts
    )
    critical = None
    if scheme.critical_illness is not None:
        ci = scheme.critical_illness
        deductible = _fen(ci.deductible) or 0
        normal = CumulativeRule(deductible, _bands(ci), _fen(ci.cap))
        special = None
        groups: frozenset[str] = frozenset()
        factor, add = Fraction(1), Fraction(0)
        if ci.special_groups is not None:
            sg = ci.special_groups
            groups = frozenset(sg.groups)
            factor, add = Fraction(sg.deductible_factor), Fraction(sg.ratio_add)
            halved = Fraction(deductible) * factor
            special = CumulativeRule(
                halved.numerator if halved.denominator == 1 else halved,
                _bands(ci, add),
                _fen(ci.cap) if sg.capped else None,
            )
        critical = CriticalRule(ci.fund_pay_type, normal, special, groups, factor, add, _benefits(ci))
    large = None
    if scheme.large_amount is not None:
        la = scheme.large_amount
        ratio = Fraction(la.ratio)
        large = SimpleLayer(la.fund_pay_type, ratio, CumulativeRule(0, (BandRule(None, ratio),), _fen(la.cap)), "all", _benefits(la))
    civil = None
    if scheme.civil_servant is not None:
        cs = scheme.civil_servant
        ratio = Fraction(cs.ratio)
        civil = SimpleLayer(cs.fund_pay_type, ratio, CumulativeRule(0, (BandRule(None, ratio),), _fen(cs.cap)), cs.line_flag, _benefits(cs))
    assistance = None
    if scheme.assistance is not None:
        a = scheme.assistance
        assistance = AssistanceRule(
            a.fund_pay_type,
            {g: CumulativeRule(_fen(p.deductible) or 0, (BandRule(None, Fraction(p.ratio)),), _fen(p.cap)) for g, p in a.groups.items()},
            {g: Fraction(p.ratio) for g, p in a.groups.items()},
            a.exclude_out_of_region_without_referral,
            _benefits(a),
        )
    return CompiledScheme(
        basic.fund_pay_type, _fen(basic.cap), benefits, Fraction(basic.out_of_region_unfiled_reduction), tilts,
        critical, large, civil, assistance,
    )


def _compile(policy: ResolvedPolicy) -> CompiledPolicy:
    categories = dict(policy.med_types)
    for alias, code in policy.med_type_aliases.items():
        if code in policy.med_types:
            categories[alias] = policy.med_types[code]
    return CompiledPolicy(
        policy.id,
        policy.name,
        policy.pooling_region.admdvs,
        tuple(policy.insutypes),
        categories,
        {insutype: _compile_scheme(scheme) for insutype, scheme in policy.schemes.items()},
    )


_cache: dict[int, tuple[ResolvedPolicy, CompiledPolicy]] = {}
# The last policy compiled under each policy id. A policy is resolved afresh for every date
# (ResolvedPolicy.on), but its values change only a few times a year: when a new resolution
# equals the last one in everything but the date, its compiled form is the same.
_latest: dict[str, tuple[ResolvedPolicy, CompiledPolicy]] = {}
_lock = threading.Lock()


def _same_but_date(a: ResolvedPolicy, b: ResolvedPolicy) -> bool:
    return type(a) is type(b) and all(getattr(a, f) == getattr(b, f) for f in type(a).model_fields if f != "on")


def compile_policy(policy: ResolvedPolicy) -> CompiledPolicy:
    """The compiled form of a resolved policy, remembered by identity."""
    hit = _cache.get(id(policy))
    if hit is not None and hit[0] is policy:
        return hit[1]
    latest = _latest.get(policy.id)
    compiled = latest[1] if latest is not None and _same_but_date(latest[0], policy) else _compile(policy)
    with _lock:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[id(policy)] = (policy, compiled)  # keeps ``policy`` alive, so its id stays unique
        _latest[policy.id] = (policy, compiled)
    return compiled
