"""Properties of the payer chain that must hold for every claim (hypothesis)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import CATALOGUE, policy
from yibao.money import round_half_up
from yibao.settlement import Claim, FeeLine, InstitutionFacts, PersonFacts, YearState, classify_lines, settle
from yibao.settlement.model import LayerAccum

POLICIES = {
    "meishan-2020": (policy("meishan-2020", dt.date(2020, 6, 1)), "5114"),
    "qingyuan-2021": (policy("qingyuan-2021", dt.date(2021, 6, 1)), "4418"),
    "anji-2020": (policy("anji-2020", dt.date(2020, 6, 1)), "330523"),
}
CODES = sorted(CATALOGUE) + ["UNKNOWN"]

prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("20000"), places=2)
counts = st.integers(min_value=1, max_value=200)


@st.composite
def claims(draw):
    pid = draw(st.sampled_from(sorted(POLICIES)))
    resolved, region = POLICIES[pid]
    insutype = draw(st.sampled_from(resolved.insutypes))
    in_region = draw(st.booleans())
    admdvs = (region + "0000")[:6] if in_region else "110101"
    fees = [
        FeeLine(str(i), draw(st.sampled_from(CODES)), Fraction(draw(prices)), Fraction(draw(counts)))
        for i in range(1, draw(st.integers(1, 8)) + 1)
    ]
    lines = tuple(classify_lines(fees, CATALOGUE))
    person = PersonFacts(
        "P", insutype, draw(st.sampled_from(["11", "12", "1201"])), (region + "0000")[:6],
        draw(st.sampled_from([None, "tekun", "dibao", "poverty", "low_income"])), draw(st.booleans()),
        draw(st.integers(0, 2_000_000)),
    )
    inst = InstitutionFacts("H", draw(st.sampled_from(["level3", "level2", "level1", "township"])), admdvs)
    med_type = draw(st.sampled_from(["21", "11", "14", "2101"]))
    filed = draw(st.booleans())
    claim = Claim(person, inst, med_type, dt.date(2021, 6, 1), lines, filed, draw(st.booleans()) or filed, draw(st.booleans()))
    state = YearState(admissions=draw(st.integers(0, 3)))
    for key in ("310100", "390100", "390200", "330100", "320100", "610100"):
        if draw(st.booleans()):
            base = draw(st.integers(0, 100_000_000))
            state.layers[key] = LayerAccum(base, draw(st.integers(0, 90_000_000)))
    return resolved, claim, state


SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(claims())
def test_parts_always_sum_to_the_total(case):
    resolved, claim, state = case
    r = settle(claim, resolved, state)
    t = r.totals
    assert t.medfee_sumamt == t.fulamt_ownpay_amt + t.overlmt_selfpay + t.preselfpay_amt + t.inscp_scp_amt
    assert r.fund_pay_sumamt == sum(r.pays.values())
    assert r.fund_pay_sumamt + r.psn_part_amt == t.medfee_sumamt
    assert r.acct_pay + r.psn_cash_pay == r.psn_part_amt
    assert sum(row.payamt for row in r.rows) == r.fund_pay_sumamt
    for line in r.lines:
        assert line.amount == line.fulamt_ownpay + line.overlmt + line.preselfpay + line.inscp


@SETTINGS
@given(claims())
def test_no_layer_pays_more_than_its_base(case):
    resolved, claim, state = case
    r = settle(claim, resolved, state)
    assert 0 <= r.fund_pay_sumamt <= r.totals.inscp_scp_amt
    for row in r.rows:
        assert row.payamt >= 0
        ceiling = round_half_up(row.base) + (0 if isinstance(row.base, int) or row.base.denominator == 1 else 1)
        assert row.payamt <= ceiling, (row.kind, row.base, row.payamt)
    assert r.pays["hifp_pay"] <= max(r.totals.inscp_scp_amt - r.act_pay_dedc, 0)
    assert 0 <= r.acct_pay <= max(claim.person.acct_balc, 0)


def _raise_ratios(resolved, kind: str, points: Decimal):
    schemes = {}
    for insutype, scheme in resolved.schemes.items():
        if kind == "basic":
            benefits = {
                cat: b.model_copy(update={"ratio": {lv: min(r + points, Decimal(1)) for lv, r in b.ratio.items()},
                                          "retired_ratio": None if b.retired_ratio is None else {lv: min(r + points, Decimal(1)) for lv, r in b.retired_ratio.items()}})
                for cat, b in scheme.basic.benefits.items()
            }
            scheme = scheme.model_copy(update={"basic": scheme.basic.model_copy(update={"benefits": benefits})})
        elif kind == "assistance" and scheme.assistance is not None:
            groups = {g: p.model_copy(update={"ratio": min(p.ratio + points, Decimal(1))}) for g, p in scheme.assistance.groups.items()}
            scheme = scheme.model_copy(update={"assistance": scheme.assistance.model_copy(update={"groups": groups})})
        elif kind == "critical_illness" and scheme.critical_illness is not None:
            bands = [b.model_copy(update={"ratio": min(b.ratio + points, Decimal(1))}) for b in scheme.critical_illness.bands]
            scheme = scheme.model_copy(update={"critical_illness": scheme.critical_illness.model_copy(update={"bands": bands})})
        schemes[insutype] = scheme
    return resolved.model_copy(update={"schemes": schemes})


@SETTINGS
@given(claims(), st.sampled_from([("basic", "hifp_pay"), ("assistance", "maf_pay"), ("critical_illness", "hifmi_pay")]),
       st.sampled_from([Decimal("0.01"), Decimal("0.05"), Decimal("0.20")]))
def test_raising_a_ratio_never_lowers_that_funds_payment(case, target, points):
    resolved, claim, state = case
    kind, field = target
    before = settle(claim, resolved, state).pays[field]
    after = settle(claim, _raise_ratios(resolved, kind, points), state).pays[field]
    assert after >= before


@SETTINGS
@given(claims())
def test_delta_applied_then_removed_restores_the_state(case):
    resolved, claim, state = case
    r = settle(claim, resolved, state)
    snapshot = state.copy()
    r.delta.apply(state)
    r.delta.apply(state, sign=-1)
    assert state.admissions == snapshot.admissions
    for key in set(state.layers) | set(snapshot.layers):
        a, b = state.layer(key), snapshot.layer(key)
        assert (a.base, a.paid) == (b.base, b.paid)


@SETTINGS
@given(claims())
def test_settling_does_not_change_the_state_it_was_given(case):
    resolved, claim, state = case
    snapshot = state.copy()
    settle(claim, resolved, state)
    assert state.admissions == snapshot.admissions
    assert {k: (v.base, v.paid) for k, v in state.layers.items()} == {k: (v.base, v.paid) for k, v in snapshot.layers.items()}
