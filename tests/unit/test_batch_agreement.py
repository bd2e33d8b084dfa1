"""The batch path (settle_batch) agrees with the single-claim path (settle), claim by claim.

The reference is ``settle_each``: ``settle`` on each claim in turn, each result's delta applied to
its person's YearState of the settlement year before the next claim. Every output figure, every
row (base, cap remaining, payment, counted), every delta and the final states must be equal —
exactly, as ints and Fractions.

Small hypothesis batches would all be "small rounds" (settled by ``settle`` itself), so these
tests call ``settle_batch(..., min_round=1)`` and check that the vectorised path did the work.
"""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from builders import CATALOGUE, lines, policy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibao.settlement import (
    Claim,
    FeeLine,
    InstitutionFacts,
    LineSplit,
    PersonFacts,
    YearState,
    classify_lines,
)
from yibao.settlement.batch import (
    REASON_CIVIL,
    REASON_EXACT_STATE,
    REASON_LARGE,
    figures_of,
    settle_batch,
    settle_each,
)
from yibao.settlement.model import LayerAccum

POLICIES = {
    "meishan-2020": (policy("meishan-2020", dt.date(2020, 6, 1)), "5114"),
    "qingyuan-2021": (policy("qingyuan-2021", dt.date(2021, 6, 1)), "4418"),
    "anji-2020": (policy("anji-2020", dt.date(2020, 6, 1)), "330523"),
}
MEISHAN = POLICIES["meishan-2020"][0]
QINGYUAN = POLICIES["qingyuan-2021"][0]
CODES = sorted(CATALOGUE) + ["UNKNOWN"]
CAPS = {"310100": 90_000_000, "390100": 30_000_000, "390200": 40_000_000, "330100": 30_000_000,
        "320100": 5_000_000, "610100": 5_000_000}


def _state_snapshot(states):
    return {
        k: (v.admissions, {key: (Fraction(acc.base), acc.paid) for key, acc in v.layers.items()})
        for k, v in states.items()
    }


def assert_agree(claims, policy_for, states=None, **kw):
    """settle_batch and settle_each give the same figures for every claim and the same states."""
    states = states or {}
    before = _state_snapshot(states)
    expected, expected_states = settle_each(claims, policy_for, states)
    got = settle_batch(claims, policy_for, states, **kw)
    assert _state_snapshot(states) == before, "settle_batch modified its input states"
    assert got.n == len(claims)
    for i, want in enumerate(expected):
        assert got.figures(i) == figures_of(want), f"claim {i} disagrees"
        if not isinstance(want, Exception):
            assert got.delta(i) == want.delta
    assert _state_snapshot(got.states) == _state_snapshot(expected_states)
    # the types of the accumulators are those of the single path (int, or Fraction when not whole)
    for key, state in got.states.items():
        for fpt, acc in state.layers.items():
            assert type(acc.paid) is int
            assert isinstance(acc.base, (int, Fraction))
            assert not (isinstance(acc.base, Fraction) and acc.base.denominator == 1) or \
                expected_states[key].layers[fpt].base == acc.base
    return got, expected


# ---------------------------------------------------------------------------------------------
# hypothesis: sequences of claims of several persons under the three shipped policies

prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("20000"), places=2)
counts = st.integers(min_value=1, max_value=200)


@st.composite
def persons(draw, n):
    out = []
    for k in range(n):
        pid = draw(st.sampled_from(sorted(POLICIES)))
        resolved, region = POLICIES[pid]
        insutype = draw(st.sampled_from(resolved.insutypes))
        facts = PersonFacts(
            f"P{k}", insutype, draw(st.sampled_from(["11", "12", "1201", "15"])), (region + "0000")[:6],
            draw(st.sampled_from([None, None, "tekun", "dibao", "poverty", "low_income"])), draw(st.booleans()),
            draw(st.integers(0, 2_000_000)),
        )
        out.append((facts, pid))
    return out


@st.composite
def raw_splits(draw):
    """A line split built by hand, not by classify_lines: parts of either sign (a policy-scope
    part below zero makes negative layer bases, which the engine accepts)."""
    parts = [draw(st.integers(-3_000_000, 3_000_000)) for _ in range(4)]
    return LineSplit("R", "XN", "02", Fraction(1), Fraction(1), sum(parts), *parts, nego_drug=draw(st.booleans()))


@st.composite
def encounters(draw, people):
    facts, pid = draw(st.sampled_from(people))
    resolved, region = POLICIES[pid]
    in_region = draw(st.booleans())
    admdvs = draw(st.sampled_from([(region + "0000")[:6], "330523", "511402"])) if in_region else "110101"
    big = draw(st.booleans())
    fees = [
        FeeLine(str(i), draw(st.sampled_from(CODES)), Fraction(draw(prices)),
                Fraction(draw(counts if big else st.integers(1, 5))))
        for i in range(1, draw(st.integers(1, 8)) + 1)
    ]
    splits = tuple(classify_lines(fees, CATALOGUE))
    if draw(st.integers(0, 9)) == 0:
        splits += (draw(raw_splits()),)
    inst = InstitutionFacts("H", draw(st.sampled_from(["level3", "level2", "level1", "township"])), admdvs)
    filed = draw(st.booleans())
    c = Claim(
        facts, inst, draw(st.sampled_from(["21", "21", "11", "14", "2101"])),
        draw(st.sampled_from([dt.date(2021, 6, 1), dt.date(2021, 6, 1), dt.date(2020, 12, 31)])),
        splits, filed, draw(st.booleans()) or filed, draw(st.booleans()),
    )
    return c, resolved


@st.composite
def initial_states(draw, people):
    states = {}
    for facts, _ in people:
        for year in (2020, 2021):
            if not draw(st.booleans()):
                continue
            state = YearState(admissions=draw(st.integers(0, 3)))
            for key, cap in CAPS.items():
                if draw(st.booleans()):
                    # near the cap, or anywhere; bases sometimes a fraction of a fen
                    paid = draw(st.one_of(st.integers(0, cap), st.integers(max(cap - 200_000, 0), cap),
                                          st.integers(cap, cap + 1000)))
                    # only the 大额 and 公务员 bases become fractions through settle()
                    fractional = key in ("330100", "320100") and draw(st.booleans())
                    base = draw(st.builds(Fraction, st.integers(0, 10**9), st.sampled_from([1, 3, 87, 9]))
                                if fractional else st.integers(0, 100_000_000))
                    state.layers[key] = LayerAccum(base.numerator if isinstance(base, Fraction) and base.denominator == 1 else base, paid)
            states[(facts.psn_no, year)] = state
    return states


@st.composite
def batches(draw):
    people = draw(persons(draw(st.integers(1, 6))))
    pairs = draw(st.lists(encounters(people), min_size=1, max_size=24))
    states = draw(initial_states(people))
    return [c for c, _ in pairs], [p for _, p in pairs], states


SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

VECTORISED = {"claims": 0, "vectorised": 0}


@SETTINGS
@given(batches())
def test_batch_agrees_with_single_path(case):
    claims, pols, states = case
    got, _ = assert_agree(claims, pols, states, min_round=1)
    VECTORISED["claims"] += got.n
    VECTORISED["vectorised"] += int((~got.fallback).sum())


def test_the_hypothesis_batches_are_mostly_vectorised():
    """Guard against an agreement test that passes because everything fell back to settle()."""
    seen = {"claims": 0, "vectorised": 0}

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(batches())
    def run(case):
        claims, pols, states = case
        got, _ = assert_agree(claims, pols, states, min_round=1)
        seen["claims"] += got.n
        seen["vectorised"] += int((~got.fallback).sum())

    run()
    assert seen["vectorised"] > 200, seen
    assert seen["vectorised"] / seen["claims"] > 0.4, seen


@SETTINGS
@given(batches())
def test_batch_agrees_with_default_min_round_and_policy_function(case):
    claims, pols, states = case
    by_claim = {id(c): p for c, p in zip(claims, pols)}
    assert_agree(claims, lambda c: by_claim[id(c)], states)


# ---------------------------------------------------------------------------------------------
# targeted cases


def _employee(psn_no, **kw):
    return PersonFacts(psn_no, "310", kw.get("psn_type", "11"), "441802", None, False, kw.get("acct", 0))


def _claim(person, *specs, level="level3", admdvs="441802", med_type="21", on=dt.date(2021, 6, 1), acct_used=False):
    return Claim(person, InstitutionFacts("H", level, admdvs), med_type, on, lines(*specs), False, False, acct_used)


def _crowd(n, on=dt.date(2021, 6, 1)):
    """Other persons' claims, so that every round is a real vectorised round."""
    out = []
    for k in range(n):
        p = PersonFacts(f"C{k}", "390", "15", "441802", [None, "dibao", "tekun"][k % 3], False, 0)
        out.append(_claim(p, ("XA", 100 + 37 * k, 3), ("XB", 55, k % 7 + 1), on=on))
    return out


def test_large_amount_fractional_base_then_more_claims():
    """Basic cap cut mid-encounter: the 大额 base is 17850.574712… (not a whole fen); the
    person's later claims build on that fractional yearly base."""
    emp = _employee("E1", acct=5_000_000)
    states = {("E1", 2021): YearState(layers={"310100": LayerAccum(0, 89_900_000)})}
    mine = [
        _claim(emp, ("XA", 200, 100), acct_used=True),  # cap leaves 1,000 → base 19000 − 1000 ÷ 0.87
        _claim(emp, ("XA", 333, 7)),  # cap used up: all of excess counts
        _claim(emp, ("XA", 1234.56, 3), ("XB", 99, 2), level="level2"),
        _claim(emp, ("XA", 10, 1)),  # below the deductible
    ]
    crowd = _crowd(12)
    claims = []
    for k, c in enumerate(mine):
        claims.append(c)
        claims.extend(crowd[3 * k: 3 * k + 3])
    got, expected = assert_agree(claims, lambda c: QINGYUAN, states, min_round=1)
    first = expected[0]
    large = [r for r in first.rows if r.kind == "large_amount"][0]
    assert large.base == Fraction(1_900_000) - Fraction(100_000) / Fraction(87, 100)
    assert first.pays["hifob_pay"] == 1_606_552
    assert got.fallback_reasons.get(REASON_LARGE) == 1
    assert got.fallback_reasons.get(REASON_EXACT_STATE) == 3  # the three later claims
    assert isinstance(got.states[("E1", 2021)].layers["330100"].base, Fraction)
    assert not got.fallback[[i for i, c in enumerate(claims) if c.person.psn_no != "E1"]].any()


def test_large_amount_whole_fen_cut_stays_vectorised():
    """A cut where remaining ÷ ratio is a whole number of fen (8700 ÷ 0.87 = 10000) needs no fallback."""
    emp = _employee("E2")
    states = {("E2", 2021): YearState(layers={"310100": LayerAccum(0, 90_000_000 - 8700)})}
    claims = [_claim(emp, ("XA", 200, 100)), _claim(emp, ("XA", 500, 10))] + _crowd(4)
    claims = [claims[0], *claims[2:4], claims[1], *claims[4:]]
    got, expected = assert_agree(claims, lambda c: QINGYUAN, states, min_round=1)
    assert expected[0].rows[1].base == 2_000_000 - 100_000 - 10_000
    assert not got.fallback.any()


def test_civil_servants_with_several_claims():
    """公务员 base = nego lines' scope × (P − E) ÷ P: sometimes whole fen, mostly not."""
    people = [PersonFacts(f"G{k}", "390", "15", "511402", [None, "dibao"][k % 2], True, 0) for k in range(6)]
    claims = []
    for round_ in range(4):
        for k, p in enumerate(people):
            claims.append(_claim(p, ("XN", 800 + 13 * k + round_, 20 + round_), ("XA", 300, 5 + k),
                                 ("XC", 40, 1), admdvs="511402", level=["level3", "township"][k % 2]))
            claims.append(_claim(PersonFacts(f"N{k}", "390", "15", "511402", None, False, 0), ("XA", 90, 2), admdvs="511402"))
    # one whole-fen case: only nego lines, nothing paid before (below every deductible)
    claims.append(_claim(people[0], ("XN", 1, 1), admdvs="511402", med_type="21"))
    got, expected = assert_agree(claims, lambda c: MEISHAN, {}, min_round=1)
    assert got.fallback_reasons.get(REASON_CIVIL, 0) >= 1
    paid = sum(r.pays["cvlserv_pay"] for r in expected if not isinstance(r, Exception))
    assert paid > 0


def test_year_boundary_keeps_two_years_apart():
    p = PersonFacts("Y1", "390", "15", "511402", "low_income", False, 0)
    claims = []
    for k, on in enumerate([dt.date(2020, 12, 30), dt.date(2021, 1, 2), dt.date(2020, 12, 31), dt.date(2021, 1, 3)] * 2):
        claims.append(_claim(p, ("XA", 2000 + k, 10), admdvs="511402", on=on))
        claims.extend(_crowd(3, on=on))
    states = {("Y1", 2020): YearState(admissions=2, layers={"610100": LayerAccum(50_000, 40_000)})}
    got, expected = assert_agree(claims, lambda c: MEISHAN, states, min_round=1)
    assert got.states[("Y1", 2020)].admissions == 6
    assert got.states[("Y1", 2021)].admissions == 4
    second_2021 = [r for r, c in zip(expected, claims) if c.person.psn_no == "Y1" and c.settle_date.year == 2021][1]
    assert second_2021.act_pay_dedc == 33000  # the 2nd admission of 2021: 660 × 50%
    assert not got.fallback.any()


def test_refused_claims_change_nothing():
    """A claim settle() refuses (insurance type not in the policy, negative total) is reported
    as an error and changes no state; the person's other claims go on."""
    emp = _employee("R1")
    bad_line = LineSplit("1", "XA", "01", Fraction(-1), Fraction(1), -500, 0, 0, 0, -500)
    claims = [
        _claim(emp, ("XA", 100, 20), admdvs="511402"),  # 310 under meishan: no such scheme
        Claim(PersonFacts("R2", "390", "15", "511402", None, False, 0), InstitutionFacts("H", "level3", "511402"),
              "21", dt.date(2021, 6, 1), (bad_line,)),
        _claim(PersonFacts("R2", "390", "15", "511402", None, False, 0), ("XA", 100, 20), admdvs="511402"),
    ] + _crowd(3)
    got, expected = assert_agree(claims, lambda c: MEISHAN, {}, min_round=1)
    assert isinstance(expected[0], Exception) and isinstance(expected[1], Exception)
    assert set(got.errors) == {0, 1} and not got.ok[0] and not got.ok[1]
    assert got.states[("R2", 2021)].admissions == 1


def test_amounts_beyond_the_int64_bounds_go_through_settle():
    p = PersonFacts("B1", "390", "15", "511402", "tekun", False, 0)
    huge = _claim(p, ("XA", 20000, 10**7), admdvs="511402")  # 2 × 10^13 fen
    got, _ = assert_agree([huge, _claim(p, ("XA", 100, 3), admdvs="511402")] + _crowd(3), lambda c: MEISHAN, {}, min_round=1)
    assert got.fallback[0] and got.fallback[1]


def test_fractional_initial_state_and_explanations():
    emp = _employee("F1", psn_type="12")
    states = {("F1", 2021): YearState(admissions=1, layers={
        "310100": LayerAccum(0, 90_000_000), "330100": LayerAccum(Fraction(10**7, 87), 0)})}
    claims = [_claim(emp, ("XA", 300, 40)), *_crowd(3), _claim(emp, ("XA", 100, 10))]
    got, expected = assert_agree(claims, lambda c: QINGYUAN, states, min_round=1)
    assert got.fallback[0] and got.fallback[-1]
    # an explanation is the single path's, on the state the claim saw in the batch
    for i in (0, 2, len(claims) - 1):
        assert got.settle_one(i).trace == expected[i].trace
    assert "大额" in got.explain(0)


def test_uncovered_med_type_and_outpatient_mix():
    p = PersonFacts("U1", "390", "15", "511402", "dibao", True, 0)
    claims = []
    for med_type, level in [("11", "township"), ("11", "level3"), ("14", "level2"), ("21", "level1"), ("2101", "level2")]:
        claims.append(_claim(p, ("XA", 50, 3), ("XN", 120, 2), level=level, med_type=med_type, admdvs="511402"))
        claims.extend(_crowd(2))
    _, expected = assert_agree(claims, lambda c: POLICIES["anji-2020"][0] if c.person.psn_no == "U1" else QINGYUAN,
                                 {}, min_round=1)
    assert expected[6].category is None  # med_type 14 is not covered
    assert [r.kind for r in expected[6].rows] == ["basic"] and not expected[6].rows[0].counted


# ---------------------------------------------------------------------------------------------
# the benchmark workload


def test_benchmark_workload_every_claim_agrees():
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "settlement"))
    from bench_settle import prepare_claims
    from workload import build

    claims, pols = prepare_claims(build(20_000, 4_000))
    got, _ = assert_agree(claims, pols)
    fallback = int(got.fallback.sum())
    assert fallback / len(claims) < 0.01, got.fallback_reasons


def _variant(resolved, new_id, **changes):
    """A copy of a resolved policy with some parameters changed (for shapes the shipped ones lack)."""
    scheme = resolved.schemes["390"]
    basic = scheme.basic
    if "ratio" in changes or "factor" in changes:
        inpatient = basic.benefits["inpatient"]
        update = {}
        if "ratio" in changes:
            update["ratio"] = {lv: Decimal(changes["ratio"]) for lv in inpatient.ratio}
        if "factor" in changes:
            update["later_admission_deductible_factor"] = Decimal(changes["factor"])
        basic = basic.model_copy(update={"benefits": {**basic.benefits, "inpatient": inpatient.model_copy(update=update)}})
    ci = scheme.critical_illness
    if "bands" in changes:
        from yibao.policy.schema import Band
        ci = ci.model_copy(update={"bands": [Band(upto=None if u is None else Decimal(u), ratio=Decimal(r)) for u, r in changes["bands"]],
                                   "cap": changes.get("ci_cap", ci.cap)})
    if "special_factor" in changes:
        ci = ci.model_copy(update={"special_groups": ci.special_groups.model_copy(update={"deductible_factor": Decimal(changes["special_factor"])})})
    scheme = scheme.model_copy(update={"basic": basic, "critical_illness": ci})
    return resolved.model_copy(update={"id": new_id, "schemes": {**resolved.schemes, "390": scheme}})


def test_unusual_policies_mixed_in_one_batch():
    """Profiles with different numbers of bands, a bounded last band, a ratio that is not a whole
    number of millionths, a special-group deductible that is a fraction of a fen and a
    later-admission factor that needs rounding — all in one batch, in the same rounds."""
    variants = [
        MEISHAN,
        _variant(MEISHAN, "two-bands", bands=[("10000", "0.5"), ("30000", "0.75")], ci_cap=None, factor="0.333"),
        _variant(MEISHAN, "five-bands", bands=[("1000", "0.1"), ("2000", "0.2"), ("5000", "0.3"), ("9000.01", "0.9"), (None, "1")]),
        _variant(MEISHAN, "odd-ratio", ratio="0.1234567"),
        _variant(MEISHAN, "third", special_factor="0.3333333"),
        QINGYUAN,
    ]
    claims, pols = [], []
    groups = [None, "tekun", "dibao", "poverty", "low_income"]
    for r in range(6):
        for k in range(30):
            pol = variants[k % len(variants)]
            p = PersonFacts(f"V{k}", "390", "15", "511402", groups[k % 5], k % 4 == 0, 0)
            claims.append(_claim(p, ("XA", 900 + 701 * k + 53 * r, 10 + r * k % 17), ("XN", 77.7, k % 5 + 1),
                                 level=["level3", "level2", "level1", "township"][k % 4], admdvs="511402"))
            pols.append(pol)
    got, expected = assert_agree(claims, pols, {}, min_round=1)
    odd = [i for i, p in enumerate(pols) if p.id == "odd-ratio"]
    assert got.fallback[odd].all()
    plain = [i for i, (c, p) in enumerate(zip(claims, pols)) if p.id in ("two-bands", "five-bands") and not c.person.cvlserv]
    assert not got.fallback[plain].any(), got.fallback_reasons
    special_third = [i for i, (c, p) in enumerate(zip(claims, pols))
                     if p.id == "third" and c.person.assistance in ("tekun", "dibao", "poverty")]
    assert got.fallback[special_third].all()  # deductible 15000 × 0.3333333 is not whole fen
    assert sum(r.pays["hifmi_pay"] for r, p in zip(expected, pols) if p.id == "five-bands") > 0


def test_empty_batch_and_untouched_states():
    other = {("X", 2021): YearState(admissions=2, layers={"390100": LayerAccum(5, 7)})}
    got = settle_batch([], lambda c: MEISHAN, other)
    assert got.n == 0 and got.rounds == 0 and not got.errors
    assert got.states == other and got.states is not other


def test_batch_agrees_under_a_policy_with_layers_limited_to_some_care():
    import datetime as _dt

    from builders import claim as _claim, policy as _policy
    from yibao.settlement.batch import figures_of, settle_batch, settle_each

    qingyi = _policy("qingyi-2022", _dt.date(2024, 6, 1))
    claims = []
    for i, (med_type, level) in enumerate([("11", "level1"), ("21", "level3"), ("14", "level2"), ("13", "level3")] * 6):
        claims.append(_claim(("XA", 400 + 10 * i, 7), ("XB", 90, 3), med_type=med_type, level=level,
                             assistance="dibao" if i % 3 == 0 else None, on=_dt.date(2024, 6, 1)))
    batch = settle_batch(claims, [qingyi] * len(claims), min_round=1)
    reference, _ = settle_each(claims, [qingyi] * len(claims))
    assert any(r.pays["hifmi_pay"] for r in reference), "the case should exercise 大病"
    assert not any(r.pays["hifmi_pay"] for r in reference if r.med_type in ("11", "13"))
    for i in range(len(claims)):
        assert batch.figures(i) == figures_of(reference[i])
