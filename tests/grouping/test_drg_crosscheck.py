"""The grouper against an independent, README-literal grouper (tests/grouping/
literal_reference.py) on many synthetic records, the fast path against the explained path,
and a property test that grouping never crashes and returns a consistent MDC/ADRG/DRG."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from literal_reference import LiteralGrouper
from yibao.grouping import casegen
from yibao.grouping.drg import Status


def _compare(chs, literal, records):
    mismatches = []
    for r in records:
        mine = chs.group_values(r.gender, r.age, r.age_days, r.weight, r.dx, r.px)
        mine = (mine[0].value, *mine[1:])
        ref = literal.group(r.gender, r.age, r.age_days, r.weight, r.dx, r.px)
        if mine != ref:
            mismatches.append((r, mine, ref))
    return mismatches


def test_agrees_with_literal_reference(chs, chs_scheme, chs_path):
    literal = LiteralGrouper(chs_path)
    realistic = list(casegen.generate(chs_scheme, 30_000, seed=7))
    adversarial = list(casegen.generate(chs_scheme, 20_000, seed=12, mix="adversarial"))
    assert _compare(chs, literal, realistic) == []
    assert _compare(chs, literal, adversarial) == []
    # The records reach every DRG of the scheme, FAIL and CHECK_FAILED: the comparison
    # exercised every ADRG rule form, not just the common ones.
    drgs = {chs.group(r).drg for r in realistic}
    statuses = {chs.group(r).status for r in realistic + adversarial}
    assert set(chs_scheme.drgs) <= drgs
    assert {Status.SUCCESS, Status.FAIL, Status.CHECK_FAILED} <= statuses


def test_fast_path_agrees_with_explained_path(chs, chs_scheme):
    # The explained path evaluates every rule in full, without the pdx/ppr indexes.
    for mix, seed in (("realistic", 21), ("adversarial", 22)):
        for r in casegen.generate(chs_scheme, 3_000, seed=seed, mix=mix):
            fast = chs.group(r)
            slow = chs.group(r, explain=True)
            assert (fast.status, fast.mdc, fast.adrg, fast.drg) == (slow.status, slow.mdc, slow.adrg, slow.drg), r
            assert slow.trail[-1].en.startswith(f"result: {fast.status.value}")


def test_generator_is_reproducible(chs_scheme):
    a = list(casegen.generate(chs_scheme, 50, seed=3))
    b = list(casegen.generate(chs_scheme, 50, seed=3))
    assert a == b and a != list(casegen.generate(chs_scheme, 50, seed=4))


def _code_pool(scheme) -> list[str]:
    pool: set[str] = set()
    for m in scheme.mdcs:
        pool |= set(sorted(m.codes)[:40])
    for a in scheme.adrgs.values():
        for codes in a.lists.values():
            pool |= set(sorted(codes)[:4])
    pool |= set(sorted(scheme.mcc)[:50]) | set(sorted(scheme.cc)[:50]) | set(sorted(scheme.or_procedures)[:50])
    return sorted(pool)


def test_property_never_crashes_and_is_consistent(chs, chs_scheme):
    pool = _code_pool(chs_scheme)
    code = st.one_of(st.sampled_from(pool), st.text(string.ascii_uppercase + string.digits + ".x", max_size=12))
    maybe_int = st.one_of(st.none(), st.integers(-5, 200))

    @settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(dx=st.lists(code, max_size=8), px=st.lists(code, max_size=6),
           gender=st.one_of(st.none(), st.integers(0, 3)), age=maybe_int,
           age_days=maybe_int, weight=st.one_of(st.none(), st.integers(0, 6000), st.floats(0, 6000)))
    def check(dx, px, gender, age, age_days, weight):
        status, mdc, adrg, drg = chs.group_values(gender, age, age_days, weight, dx, px)
        if status is Status.SUCCESS:
            d = chs_scheme.drgs[drg]
            assert d.adrg == adrg
            assert chs_scheme.adrgs[adrg].mdc == mdc
        else:
            assert status in (Status.FAIL, Status.CHECK_FAILED)
            assert (mdc, adrg, drg) == ("0000", "00", "0000")
        if not dx or gender not in (1, 2) or age is None:
            assert status is Status.CHECK_FAILED

    check()
