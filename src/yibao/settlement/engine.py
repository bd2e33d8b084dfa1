"""The one-stop settlement engine (settlement.md §2–§3). Pure: no I/O, no clock, no database.

``settle(claim, policy, state)`` splits one encounter between the funds and the patient under a
resolved policy, given the person's accumulators for the settlement year. It returns the
figures of the 2304/2207 output, one row per fund layer with a readable ``setl_proc_info``,
the exact change to the accumulators (so that a reversal can subtract it) and a trace a policy
officer can follow. Explanations are rendered when read, so the arithmetic stays fast.

The payer chain: basic (统筹) → 大病 (residents) or 大额 (employees) → 公务员医疗补助 → 医疗救助.
Each layer works on what the layers before it left to the patient.
"""

from __future__ import annotations

from fractions import Fraction
from functools import partial

from yibao.money import Exact, fmt_exact_yuan, fmt_percent, fmt_yuan
from yibao.policy.schema import ResolvedPolicy

from .compiled import BasicTerms, CompiledPolicy, CompiledScheme, applies, clamp_ratio, compile_policy
from .layers import CumulativeRule, advance, describe_bands, mul_round
from .model import (
    ASSISTANCE_NAMES, LEVEL_NAMES, Claim, FundRow, SettlementResult, StateDelta, Totals, YearState, fast_constructor,
)

# Positional constructors of the frozen results, twice as fast as their __init__ (see model).
_totals = fast_constructor(Totals)
_row = fast_constructor(FundRow)
_delta = fast_constructor(StateDelta)

ZERO = Fraction(0)
ONE = Fraction(1)
CATEGORY_NAMES = {"inpatient": "住院", "outpatient": "普通门诊", "outpatient_special": "门诊慢特病"}


class SettlementError(ValueError):
    """The claim cannot be settled under this policy; the message says why."""


def benefit_category(policy: ResolvedPolicy, med_type: str) -> str | None:
    return compile_policy(policy).category(med_type)


def is_inpatient(policy: ResolvedPolicy, med_type: str) -> bool:
    return benefit_category(policy, med_type) == "inpatient"


def category_name(category: str) -> str:
    return CATEGORY_NAMES.get(category, category)


def totals_of(lines) -> Totals:
    medfee = fulamt = overlmt = preselfpay = inscp = 0
    for line in lines:
        medfee += line.amount
        fulamt += line.fulamt_ownpay
        overlmt += line.overlmt
        preselfpay += line.preselfpay
        inscp += line.inscp
    return _totals(medfee, fulamt, overlmt, preselfpay, inscp)


class _Text:
    """A text rendered when first read, then remembered: a fund row and its trace step share it.

    It holds a module-level render function and its arguments rather than a closure, so that
    settling builds no text and no closure cells; most results are never explained."""

    __slots__ = ("render", "args", "text")

    def __init__(self, render, *args):
        self.render = render
        self.args = args
        self.text = None

    def __call__(self) -> str:
        text = self.text
        if text is None:
            text = self.text = self.render(*self.args)
        return text


def _labelled(label: str, text) -> str:
    return label + text()


class _Chain:
    """Working state while one claim runs down the payer chain."""

    __slots__ = ("claim", "policy", "scheme", "state", "totals", "in_region", "steps", "rows", "deltas", "paid")

    def __init__(self, claim: Claim, policy: CompiledPolicy, scheme: CompiledScheme, state: YearState, totals: Totals, in_region: bool):
        self.claim = claim
        self.policy = policy
        self.scheme = scheme
        self.state = state
        self.totals = totals
        self.in_region = in_region
        self.steps: list = [partial(_opening_text, policy, claim, in_region), partial(_totals_text, totals)]
        self.rows: list[FundRow] = []
        self.deltas: list[tuple[str, Exact, int]] = []
        self.paid = {"hifp_pay": 0, "hifmi_pay": 0, "hifob_pay": 0, "cvlserv_pay": 0, "maf_pay": 0}


def _position(state: YearState, key: str) -> tuple[Exact, int]:
    """The person's (base, paid) so far this year in one layer (``state.peek``, without
    building an empty LayerAccum for a layer not yet used)."""
    acc = state.layers.get(key)
    return (0, 0) if acc is None else (acc.base, acc.paid)


def settle(claim: Claim, policy: ResolvedPolicy, state: YearState) -> SettlementResult:
    """Split one encounter. ``state`` is the person's accumulators for the settlement year and is
    not modified; apply ``result.delta`` to book it."""
    compiled = compile_policy(policy)
    person = claim.person
    scheme = compiled.schemes.get(person.insutype)
    if scheme is None:
        raise SettlementError(
            f"政策 {compiled.id} 不包含险种 {person.insutype}（本政策险种: {', '.join(compiled.insutypes)}）"
        )
    totals = totals_of(claim.lines)
    if totals.medfee_sumamt < 0:
        raise SettlementError(f"本次就诊费用合计为负数（{fmt_yuan(totals.medfee_sumamt)}元），不能结算")
    in_region = claim.institution.admdvs.startswith(compiled.pooling_prefix)
    chain = _Chain(claim, compiled, scheme, state, totals, in_region)
    category = compiled.med_categories.get(claim.med_type)
    admissions = 0
    if category is None or category not in scheme.benefits:
        why = partial(_not_covered_text, claim.med_type, compiled.id, person.insutype)
        chain.steps.append(why)
        chain.rows.append(_row("basic", scheme.basic_fund, totals.inscp_scp_amt, None, 0, why, False))
        dedc, pool_prop = 0, ZERO
    else:
        if category == "inpatient":
            admissions = 1
        dedc, pool_prop, hifp_cut = _basic(chain, category)
        if scheme.critical is not None and applies(scheme.critical, category):
            _critical_illness(chain)
        if scheme.large is not None and applies(scheme.large, category):
            _large_amount(chain, dedc, pool_prop, hifp_cut)
        if scheme.civil is not None and person.cvlserv and applies(scheme.civil, category):
            _civil_servant(chain)
        if scheme.assistance is not None and applies(scheme.assistance, category):
            _assistance(chain)
    return _finish(chain, category, dedc, pool_prop, admissions)


def _basic(chain: _Chain, category: str) -> tuple[int, Fraction, tuple[int, int] | None]:
    """Basic fund (统筹). Returns the deductible, the ratio applied and, when the yearly cap
    mattered, (cap remaining before, payment due before the cap) for the 大额 layer."""
    claim, scheme = chain.claim, chain.scheme
    person, inst = claim.person, claim.institution
    inscp = chain.totals.inscp_scp_amt
    terms = scheme.basic_terms(category, inst.level, person.is_employee and person.retired)

    nth = chain.state.admissions + 1
    reduced = terms.reduces and nth >= 2
    deductible = terms.later_deductible if reduced else terms.deductible
    dedc = min(inscp, deductible) if inscp > 0 else 0

    fund, cap = scheme.basic_fund, scheme.basic_cap
    cap_remaining = None if cap is None else max(cap - _position(chain.state, fund)[1], 0)

    if terms.level_ratio is None:
        why = partial(_no_basic_text, category, inst.level)
        chain.steps.append(partial(_labelled, "基本医保: ", why))
        chain.rows.append(_row("basic", fund, inscp, cap_remaining, 0, why, True))
        chain.deltas.append((fund, inscp, 0))
        return dedc, ZERO, None

    cuts = not chain.in_region and not claim.filed and scheme.out_of_region_cut
    if scheme.tilts:
        ratio, tilts, cut = _tilted_ratio(scheme, person.assistance, inst.admdvs, terms.level_ratio, cuts)
    elif cuts:
        ratio, tilts, cut = terms.cut_ratio, (), scheme.out_of_region_cut
    else:
        ratio, tilts, cut = terms.ratio, (), ZERO

    due = mul_round(inscp - dedc, ratio) if inscp > dedc else 0
    pay = due if cap_remaining is None else min(due, cap_remaining)

    explain = _Text(
        _basic_text, terms, nth, reduced, deductible, chain.in_region, claim.filed, tilts, cut, ratio,
        inscp, dedc, due, cap, cap_remaining, pay,
    )
    chain.steps.append(partial(_labelled, "基本医保统筹: ", explain))
    chain.rows.append(_row("basic", fund, inscp, cap_remaining, pay, explain, True))
    chain.paid["hifp_pay"] = pay
    chain.deltas.append((fund, inscp, pay))
    hifp_cut = None
    if cap_remaining is not None and (due > cap_remaining or cap_remaining == 0):
        hifp_cut = (cap_remaining, due)
    return dedc, ratio, hifp_cut


def _tilted_ratio(scheme: CompiledScheme, assistance: str | None, admdvs: str, level_ratio: Fraction, cuts) -> tuple:
    """The basic ratio with the scheme's tilts (倾斜) that apply, less any out-of-region cut:
    (ratio, tilts applied, cut)."""
    ratio = level_ratio
    applied = []
    for tilt in scheme.tilts:
        if (tilt.assistance is None or assistance in tilt.assistance) and (tilt.admdvs is None or admdvs.startswith(tilt.admdvs)):
            ratio += tilt.points
            applied.append(tilt)
    cut = ZERO
    if cuts:
        cut = scheme.out_of_region_cut
        ratio -= cut
    return clamp_ratio(ratio), applied, cut


def _critical_illness(chain: _Chain) -> None:
    rule_set = chain.scheme.critical
    group = chain.claim.person.assistance
    base = chain.totals.inscp_scp_amt - chain.paid["hifp_pay"]
    special = rule_set.special is not None and group in rule_set.special_groups
    rule = rule_set.special if special else rule_set.normal
    why = partial(_critical_text, rule_set, rule, group, special)
    _cumulative(chain, "critical_illness", "hifmi_pay", rule_set.fund_pay_type, rule, base, why, "大病保险: ")


def _large_amount(chain: _Chain, dedc: int, basic_ratio: Fraction, hifp_cut: tuple[int, int] | None) -> None:
    layer = chain.scheme.large
    excess = chain.totals.inscp_scp_amt - dedc
    base: Exact
    if hifp_cut is None or excess <= 0:
        base = 0
    elif hifp_cut[0] == 0:
        base = excess
    else:
        base = excess - Fraction(hifp_cut[0]) / basic_ratio
        if base.denominator == 1:
            base = base.numerator
    why = partial(_large_text, hifp_cut, excess, base, basic_ratio, layer.ratio)
    _cumulative(chain, "large_amount", "hifob_pay", layer.fund_pay_type, layer.rule, base, why, "大额医疗补助: ")


def _civil_servant(chain: _Chain) -> None:
    layer = chain.scheme.civil
    total_scope = chain.totals.inscp_scp_amt
    paid = chain.paid
    earlier = paid["hifp_pay"] + paid["hifmi_pay"] + paid["hifob_pay"]
    if layer.line_flag == "all":
        named = total_scope
        what = "全部明细"
    else:
        named = sum(line.inscp for line in chain.claim.lines if line.nego_drug)
        what = "谈判药品明细"
    base: Exact
    if total_scope <= 0 or named <= 0:
        base = 0
    else:
        base = Fraction(named * (total_scope - earlier), total_scope)
        if base.denominator == 1:
            base = base.numerator
    why = partial(_civil_text, what, named, earlier, base, layer.ratio)
    _cumulative(chain, "civil_servant", "cvlserv_pay", layer.fund_pay_type, layer.rule, base, why, "公务员医疗补助: ")


def _assistance(chain: _Chain) -> None:
    layer = chain.scheme.assistance
    claim = chain.claim
    group = claim.person.assistance
    if group is None or group not in layer.groups:
        return
    if layer.exclude_out_of_region_without_referral and not chain.in_region and not claim.referred:
        excluded = partial(_assistance_excluded_text, group)
        chain.steps.append(partial(_labelled, "医疗救助: ", excluded))
        chain.rows.append(_row("assistance", layer.fund_pay_type, 0, None, 0, excluded, False))
        return
    paid = chain.paid
    before = paid["hifp_pay"] + paid["hifmi_pay"] + paid["hifob_pay"] + paid["cvlserv_pay"]
    base = chain.totals.inscp_scp_amt - before
    rule = layer.groups[group]
    why = partial(_assistance_text, layer, group, base, rule)
    _cumulative(chain, "assistance", "maf_pay", layer.fund_pay_type, rule, base, why, "医疗救助: ")


def _cumulative(
    chain: _Chain, kind: str, field: str, fund_pay_type: str, rule: CumulativeRule, base: Exact, why, label: str
) -> None:
    base_before, paid_before = _position(chain.state, fund_pay_type)
    base_after, due, cap_remaining, pay = advance(rule, base_before, base, paid_before)
    explain = _Text(_cumulative_text, why, base_before, base_after, due, rule.cap, cap_remaining, pay)
    chain.steps.append(partial(_labelled, label, explain))
    chain.rows.append(_row(kind, fund_pay_type, base, cap_remaining, pay, explain, True))
    chain.paid[field] += pay
    chain.deltas.append((fund_pay_type, base, pay))


def _finish(chain: _Chain, category: str | None, dedc: int, pool_prop: Fraction, admissions: int) -> SettlementResult:
    claim, totals = chain.claim, chain.totals
    pays = chain.paid
    fund = pays["hifp_pay"] + pays["hifmi_pay"] + pays["hifob_pay"] + pays["cvlserv_pay"] + pays["maf_pay"]
    psn_part = totals.medfee_sumamt - fund
    person = claim.person
    has_account = person.is_employee
    balance = person.acct_balc if has_account else 0
    acct_pay = 0
    if claim.acct_used:
        if has_account:
            acct_pay = max(min(balance, psn_part), 0)
            chain.steps.append(partial(_account_text, balance, psn_part, acct_pay))
        else:
            chain.steps.append("个人账户: 城乡居民无个人账户，不支付")
    chain.steps.append(partial(_summary_text, fund, pays, psn_part, acct_pay))
    return SettlementResult(
        policy_id=chain.policy.id,
        med_type=claim.med_type,
        category=category,
        totals=totals,
        act_pay_dedc=dedc,
        pool_prop=pool_prop,
        pays=pays,
        fund_pay_sumamt=fund,
        psn_part_amt=psn_part,
        acct_pay=acct_pay,
        psn_cash_pay=psn_part - acct_pay,
        balc=balance - acct_pay,
        rows=tuple(chain.rows),
        delta=_delta(claim.settle_date.year, admissions, tuple(chain.deltas), acct_pay),
        lines=claim.lines,
        steps=tuple(chain.steps),
        in_region=chain.in_region,
    )


# The explanations: setl_proc_info of the fund rows and the steps of the trace. Rendered only
# when read (see _Text), from the figures the settlement worked with.


def _opening_text(policy: CompiledPolicy, claim: Claim, in_region: bool) -> str:
    inst = claim.institution
    return (
        f"政策 {policy.id}（{policy.name}），险种 {claim.person.insutype}，医疗类别 {claim.med_type}，"
        f"结算日期 {claim.settle_date.isoformat()}；"
        f"{'统筹区内' if in_region else '统筹区外'}就医（机构区划 {inst.admdvs}，统筹区 {policy.pooling_prefix}）"
    )


def _totals_text(totals: Totals) -> str:
    return (
        f"费用合计 {fmt_yuan(totals.medfee_sumamt)} = 全自费 {fmt_yuan(totals.fulamt_ownpay_amt)}"
        f" + 超限价 {fmt_yuan(totals.overlmt_selfpay)} + 先行自付 {fmt_yuan(totals.preselfpay_amt)}"
        f" + 政策范围内 {fmt_yuan(totals.inscp_scp_amt)}"
    )


def _not_covered_text(med_type: str, policy_id: str, insutype: str) -> str:
    return f"医疗类别 {med_type} 不在政策 {policy_id} 险种 {insutype} 的支付范围内，各项基金均不支付"


def _no_basic_text(category: str, level: str) -> str:
    return f"本政策{category_name(category)}在{LEVEL_NAMES.get(level, level)}不予统筹支付"


def _basic_text(
    terms: BasicTerms, nth: int, reduced: bool, deductible: int, in_region: bool, filed: bool, tilts, cut: Fraction,
    ratio: Fraction, inscp: int, dedc: int, due: int, cap: int | None, cap_remaining: int | None, pay: int,
) -> str:
    level_name = LEVEL_NAMES.get(terms.level, terms.level)
    notes = []
    if terms.category == "inpatient":
        if reduced:
            notes.append(
                f"本年第{nth}次住院，起付线{fmt_yuan(terms.deductible)}元×{fmt_percent(terms.later_factor)}={fmt_yuan(deductible)}元"
            )
        else:
            notes.append(f"本年第{nth}次住院，{level_name}起付线{fmt_yuan(deductible)}元")
    if terms.retired:
        notes.append("退休人员比例")
    ratio_note = f"{level_name}支付比例{fmt_percent(terms.level_ratio)}"
    for tilt in tilts:
        ratio_note += f"，{tilt.name}+{fmt_percent(tilt.points)}"
    if not in_region:
        if filed:
            ratio_note += "，异地已备案，比例不降低"
        elif cut:
            ratio_note += f"，异地未备案降低{fmt_percent(cut)}"
    if "，" in ratio_note:
        ratio_note += f"，实际{fmt_percent(ratio)}"
    notes.append(ratio_note)
    text = (
        f"{'；'.join(notes)}；政策范围内{fmt_yuan(inscp)}元，扣除起付线{fmt_yuan(dedc)}元后"
        f"{fmt_yuan(inscp - dedc)}元×{fmt_percent(ratio)}={fmt_yuan(due)}元"
    )
    return text + _cap_text(cap, cap_remaining, due, pay)


def _critical_text(rule_set, rule: CumulativeRule, group: str | None, special: bool) -> str:
    note = ""
    if special:
        capped = "" if rule.cap is not None else "，不设封顶线"
        note = (
            f"{ASSISTANCE_NAMES.get(group, group)}：起付线×{fmt_percent(rule_set.special_factor)}，"
            f"比例+{fmt_percent(rule_set.special_add)}{capped}；"
        )
    return note + describe_bands(rule)


def _large_text(hifp_cut: tuple[int, int] | None, excess: int, base: Exact, basic_ratio: Fraction, ratio: Fraction) -> str:
    if hifp_cut is None or excess <= 0:
        text = "基本医保未达到年度限额，大额补助不计入"
    elif hifp_cut[0] == 0:
        text = f"基本医保年度限额已用完，扣除起付线后的{fmt_yuan(excess)}元全部计入"
    else:
        text = (
            f"本次基本医保支付受限额限制：{fmt_yuan(excess)}元 − 剩余限额{fmt_yuan(hifp_cut[0])}元÷"
            f"{fmt_percent(basic_ratio)} = {fmt_exact_yuan(base)}元计入"
        )
    return text + f"；支付比例{fmt_percent(ratio)}"


def _civil_text(what: str, named: int, earlier: int, base: Exact, ratio: Fraction) -> str:
    return (
        f"{what}政策范围内{fmt_yuan(named)}元，按比例分摊前序基金支付{fmt_yuan(earlier)}元后剩余"
        f"{fmt_exact_yuan(base)}元；补助比例{fmt_percent(ratio)}"
    )


def _assistance_excluded_text(group: str) -> str:
    return f"{ASSISTANCE_NAMES.get(group, group)}：统筹区外就医且无转诊备案，医疗救助不予支付"


def _assistance_text(layer, group: str, base: int, rule: CumulativeRule) -> str:
    return (
        f"{ASSISTANCE_NAMES.get(group, group)}：政策范围内个人负担{fmt_yuan(base)}元；年度起付线{fmt_exact_yuan(rule.deductible)}元，"
        f"救助比例{fmt_percent(layer.ratios[group])}"
    )


def _cumulative_text(why, base_before: Exact, base_after: Exact, due: int, cap: int | None, cap_remaining: int | None, pay: int) -> str:
    text = (
        f"{why()}；本年累计计算基数由{fmt_exact_yuan(base_before)}元增至{fmt_exact_yuan(base_after)}元，"
        f"应付{fmt_yuan(due)}元"
    )
    return text + _cap_text(cap, cap_remaining, due, pay) + f"；本次支付{fmt_yuan(pay)}元"


def _cap_text(cap: int | None, cap_remaining: int | None, due: int, pay: int) -> str:
    """What a yearly cap did to a layer's payment ("" for a layer without a cap)."""
    if cap_remaining is None:
        return ""
    text = f"；年度限额{fmt_yuan(cap)}元，本次前剩余{fmt_yuan(cap_remaining)}元"
    if pay < due:
        text += f"，受限额限制支付{fmt_yuan(pay)}元"
    return text


def _account_text(balance: int, psn_part: int, acct_pay: int) -> str:
    return f"个人账户: 余额{fmt_yuan(balance)}元，个人负担{fmt_yuan(psn_part)}元，账户支付{fmt_yuan(acct_pay)}元"


def _summary_text(fund: int, pays: dict[str, int], psn_part: int, acct_pay: int) -> str:
    return (
        f"基金支付合计{fmt_yuan(fund)}元（统筹{fmt_yuan(pays['hifp_pay'])}、大病{fmt_yuan(pays['hifmi_pay'])}、"
        f"大额{fmt_yuan(pays['hifob_pay'])}、公务员{fmt_yuan(pays['cvlserv_pay'])}、救助{fmt_yuan(pays['maf_pay'])}），"
        f"个人负担{fmt_yuan(psn_part)}元（账户{fmt_yuan(acct_pay)}、现金{fmt_yuan(psn_part - acct_pay)}）"
    )
