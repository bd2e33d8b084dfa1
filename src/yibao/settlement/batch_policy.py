"""Policies compiled for the batch path: one integer *profile* per kind of claim.

A profile is everything :func:`yibao.settlement.engine.settle` decides from the policy and the
discrete facts of a claim (insurance type, psn_type, assistance group, civil-servant flag,
institution level and admdvs, med_type, filing, referral) — deductibles, the basic ratio after
tilts and the out-of-region cut, caps, the bands of every cumulative layer — written as
integers: money in fen, ratios as numerators over the common denominator :data:`DEN`.

It is computed with the engine's own helpers and exact ``Fraction``s, once per distinct
profile; a profile that cannot be written exactly this way (a ratio that is not a whole number
of millionths, a deductible that is a fraction of a fen, an amount beyond
:data:`MONEY_LIMIT`) says why in ``reason``, and its claims go through the single-claim path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import numpy as np

from yibao.policy.schema import ResolvedPolicy

from .compiled import level_value as level_lookup
from .engine import benefit_category


def _fen(yuan: Decimal | None) -> int | None:
    return None if yuan is None else int(yuan * 100)


def _ratio(value: Decimal) -> Fraction:
    return Fraction(value)

# Ratios are integers over DEN. Every ratio of the shipped policies (two to four decimals) is.
DEN = 1_000_000
# Per-claim amounts and policy amounts must stay below this (2^36 fen ≈ 687 million yuan), a
# person's yearly accumulators below STATE_LIMIT (2^40 fen), so that every product of the
# vectorised path (amount × ratio numerator, doubled for rounding) fits in an int64:
# (2^40 + 2^36 + 2^36) × 2^20 × 2 < 2^63.
MONEY_LIMIT = 1 << 36
STATE_LIMIT = 1 << 40
OPEN = 1 << 62  # the width of a band without an upper end

KINDS = ("basic", "critical_illness", "large_amount", "civil_servant", "assistance")
BASIC, CRITICAL, LARGE, CIVIL, ASSIST = range(5)
CUMULATIVE = (CRITICAL, LARGE, CIVIL, ASSIST)


class Unsupported(Exception):
    """The profile cannot be written exactly in integers over DEN."""


def ratio_num(r: Fraction) -> int:
    n = r * DEN
    if n.denominator != 1:
        raise Unsupported(f"比例 {r} 不能精确表示为 1/{DEN} 的整数倍")
    if abs(n) > DEN:
        raise Unsupported(f"比例 {r} 超出 [-1, 1]")
    return int(n)


def money(x: int | Fraction | None) -> int:
    if isinstance(x, Fraction):
        if x.denominator != 1:
            raise Unsupported(f"金额 {x} 分不是整数")
        x = x.numerator
    if x is None:
        raise Unsupported("金额缺失")
    if abs(x) >= MONEY_LIMIT:
        raise Unsupported(f"金额 {x} 分超出批量计算范围")
    return int(x)


@dataclass(frozen=True, slots=True)
class LayerPlan:
    """A cumulative layer: F(x) = Σ ratio_k × clip(x − deductible − start_k, 0, width_k)."""

    key: str  # fund_pay_type
    deductible: int
    bands: tuple[tuple[int, int, int], ...]  # (start, width, ratio numerator)
    cap: int | None


@dataclass(slots=True)
class Profile:
    policy_id: str
    keys: tuple[str, ...]  # every fund_pay_type the scheme can touch
    error: bool = False  # settle() refuses the claim (insurance type not in the policy)
    reason: str | None = None  # why the profile is not vectorised; None when it is
    category: str | None = None
    in_region: bool = True
    covered: bool = False
    employee: bool = False
    inpatient: bool = False
    dedc_first: int = 0
    dedc_later: int = 0
    basic_key: str = ""
    basic_ratio: int | None = None  # None: the level has no ratio (fund pays 0)
    basic_cap: int | None = None
    layers: dict[int, LayerPlan] = field(default_factory=dict)  # CRITICAL … ASSIST
    civil_all_lines: bool = False
    assistance_excluded_key: str | None = None  # the "not paid out of region" row


def _scheme_keys(scheme) -> tuple[str, ...]:
    keys = [scheme.basic.fund_pay_type]
    for layer in (scheme.critical_illness, scheme.large_amount, scheme.civil_servant, scheme.assistance):
        if layer is not None:
            keys.append(layer.fund_pay_type)
    return tuple(keys)


def compile_profile(
    policy: ResolvedPolicy,
    insutype: str,
    psn_type: str,
    assistance: str | None,
    cvlserv: bool,
    level: str,
    admdvs: str,
    med_type: str,
    filed: bool,
    referred: bool,
) -> Profile:
    """The integer profile of one kind of claim; mirrors engine.settle step by step."""
    scheme = policy.schemes.get(insutype)
    if scheme is None:
        return Profile(policy.id, (), error=True, reason="险种不在政策内（单笔路径拒绝）")
    prof = Profile(policy.id, _scheme_keys(scheme))
    try:
        _fill(prof, policy, scheme, insutype, psn_type, assistance, cvlserv, level, admdvs, med_type, filed, referred)
    except Unsupported as exc:
        prof.reason = str(exc)
    return prof


def _fill(prof, policy, scheme, insutype, psn_type, assistance, cvlserv, level, admdvs, med_type, filed, referred):
    prof.in_region = admdvs.startswith(policy.pooling_region.admdvs)
    prof.employee = insutype.startswith("31")
    prof.category = category = benefit_category(policy, med_type)
    layer = scheme.basic
    prof.basic_key = layer.fund_pay_type
    if category is None or category not in layer.benefits:
        prof.covered = False
        return
    prof.covered = True
    benefit = layer.benefits[category]
    deductible = _fen(level_lookup(benefit.deductible, level)) or 0
    prof.dedc_first = prof.dedc_later = money(deductible)
    if category == "inpatient":
        prof.inpatient = True
        factor = benefit.later_admission_deductible_factor
        if factor != 1:
            later = Fraction(deductible) * _ratio(factor)
            num, den = later.numerator, later.denominator  # round_half_up, non-negative
            prof.dedc_later = money((2 * num + den) // (2 * den))
    ratio_table = benefit.ratio
    if prof.employee and psn_type.startswith("12") and benefit.retired_ratio:
        ratio_table = benefit.retired_ratio
    level_ratio = level_lookup(ratio_table, level)
    cap = _fen(layer.cap)
    prof.basic_cap = None if cap is None else money(cap)
    if level_ratio is None:
        prof.basic_ratio = None
    else:
        ratio = _ratio(level_ratio)
        for tilt in layer.tilts:
            group_ok = tilt.assistance is None or assistance in tilt.assistance
            place_ok = tilt.institution_admdvs is None or admdvs.startswith(tilt.institution_admdvs)
            if group_ok and place_ok:
                ratio += _ratio(tilt.points)
        if not prof.in_region and not filed and layer.out_of_region_unfiled_reduction:
            ratio -= _ratio(layer.out_of_region_unfiled_reduction)
        ratio = min(max(ratio, Fraction(0)), Fraction(1))
        prof.basic_ratio = ratio_num(ratio)

    def covers(layer) -> bool:
        return layer is not None and (layer.benefits is None or category in layer.benefits)

    ci = scheme.critical_illness
    if covers(ci):
        ded: Fraction = Fraction(_fen(ci.deductible) or 0)
        add = Fraction(0)
        capped = True
        special = ci.special_groups
        if special is not None and assistance in special.groups:
            ded = ded * _ratio(special.deductible_factor)
            add = _ratio(special.ratio_add)
            capped = special.capped
        bands = [(_fen(b.upto), min(_ratio(b.ratio) + add, Fraction(1))) for b in ci.bands]
        prof.layers[CRITICAL] = _plan(ci.fund_pay_type, ded, bands, _fen(ci.cap) if capped else None)

    la = scheme.large_amount
    if covers(la):
        prof.layers[LARGE] = _plan(la.fund_pay_type, 0, [(None, _ratio(la.ratio))], _fen(la.cap))

    cs = scheme.civil_servant
    if covers(cs) and cvlserv:
        prof.layers[CIVIL] = _plan(cs.fund_pay_type, 0, [(None, _ratio(cs.ratio))], _fen(cs.cap))
        prof.civil_all_lines = cs.line_flag == "all"

    aid = scheme.assistance
    if covers(aid) and assistance is not None and assistance in aid.groups:
        if aid.exclude_out_of_region_without_referral and not prof.in_region and not referred:
            prof.assistance_excluded_key = aid.fund_pay_type
        else:
            params = aid.groups[assistance]
            prof.layers[ASSIST] = _plan(
                aid.fund_pay_type, _fen(params.deductible) or 0, [(None, _ratio(params.ratio))], _fen(params.cap)
            )


def _plan(key: str, deductible, bands, cap) -> LayerPlan:
    out = []
    start = 0
    for upto, ratio in bands:
        if upto is None:
            out.append((start, OPEN, ratio_num(ratio)))
            break
        upto = money(upto)
        out.append((start, upto - start, ratio_num(ratio)))
        start = upto
    return LayerPlan(key, money(deductible), tuple(out), None if cap is None else money(cap))


# ---------------------------------------------------------------------------------------------
# The profile matrix: one int64 row per profile, one column per parameter.


class Col:
    """Column numbers of the profile matrix (set up by :func:`profile_matrix`)."""

    VECTOR = 0  # 1 when the profile is vectorised
    COVERED = 1
    EMPLOYEE = 2
    INPATIENT = 3
    DEDC_FIRST = 4
    DEDC_LATER = 5
    HAS_RATIO = 6
    RATIO = 7
    BASIC_KEY = 8
    BASIC_CAPPED = 9
    BASIC_CAP = 10
    CIVIL_ALL = 11
    ASSIST_EXCLUDED = 12
    ASSIST_EXCLUDED_KEY = 13
    IN_REGION = 14
    FIXED = 15
    # per cumulative layer L (0..3 for CRITICAL, LARGE, CIVIL, ASSIST):
    # PRESENT, KEY, DED, CAPPED, CAP, then K × (START, WIDTH, RATIO)


def layer_cols(slot: int, n_bands: int) -> tuple[int, int, int, int, int, int]:
    """(present, key, deductible, capped, cap, first band column) of cumulative layer ``slot``."""
    width = 5 + 3 * n_bands
    base = Col.FIXED + slot * width
    return base, base + 1, base + 2, base + 3, base + 4, base + 5


def profile_matrix(profiles: list[Profile], key_index: dict[str, int], dummy_key: int) -> tuple[np.ndarray, int]:
    """The int64 matrix of the profiles and the number of bands K every layer is padded to."""
    n_bands = max([1] + [len(p.bands) for prof in profiles for p in prof.layers.values()])
    width = Col.FIXED + len(CUMULATIVE) * (5 + 3 * n_bands)
    m = np.zeros((max(len(profiles), 1), width), dtype=np.int64)
    for i, prof in enumerate(profiles):
        row = m[i]
        row[Col.BASIC_KEY] = key_index.get(prof.basic_key, dummy_key)
        row[Col.ASSIST_EXCLUDED_KEY] = dummy_key
        for slot in range(len(CUMULATIVE)):
            row[layer_cols(slot, n_bands)[1]] = dummy_key
        if prof.reason is not None or prof.error:
            continue
        row[Col.VECTOR] = 1
        row[Col.COVERED] = prof.covered
        row[Col.EMPLOYEE] = prof.employee
        row[Col.INPATIENT] = prof.inpatient
        row[Col.IN_REGION] = prof.in_region
        row[Col.DEDC_FIRST] = prof.dedc_first
        row[Col.DEDC_LATER] = prof.dedc_later
        row[Col.HAS_RATIO] = prof.basic_ratio is not None
        row[Col.RATIO] = prof.basic_ratio or 0
        row[Col.BASIC_CAPPED] = prof.basic_cap is not None
        row[Col.BASIC_CAP] = prof.basic_cap or 0
        row[Col.CIVIL_ALL] = prof.civil_all_lines
        if prof.assistance_excluded_key is not None:
            row[Col.ASSIST_EXCLUDED] = 1
            row[Col.ASSIST_EXCLUDED_KEY] = key_index[prof.assistance_excluded_key]
        for slot, kind in enumerate(CUMULATIVE):
            plan = prof.layers.get(kind)
            if plan is None:
                continue
            present, key, ded, capped, cap, band0 = layer_cols(slot, n_bands)
            row[present] = 1
            row[key] = key_index[plan.key]
            row[ded] = plan.deductible
            row[capped] = plan.cap is not None
            row[cap] = plan.cap or 0
            for k, (start, bw, rn) in enumerate(plan.bands):
                row[band0 + 3 * k] = start
                row[band0 + 3 * k + 1] = bw
                row[band0 + 3 * k + 2] = rn
    return m, n_bands
