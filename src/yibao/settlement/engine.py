"""The one-stop settlement engine (settlement.md §2–§3). Pure: no I/O, no clock, no database.

``settle(claim, policy, state)`` splits one encounter between the funds and the patient under a
resolved policy, given the person's accumulators for the settlement year. It returns the
figures of the 2304/2207 output, one row per fund layer with a readable ``setl_proc_info``,
the exact change to the accumulators (so that a reversal can subtract it) and a trace a policy
officer can follow.

The payer chain: basic (统筹) → 大病 (residents) or 大额 (employees) → 公务员医疗补助 → 医疗救助.
Each layer works on what the layers before it left to the patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from yibao.money import Exact, fmt_exact_yuan, fmt_percent, fmt_yuan, round_half_up
from yibao.policy.schema import (
    AssistanceLayer,
    BasicBenefit,
    CivilServantLayer,
    CriticalIllnessLayer,
    LargeAmountLayer,
    ResolvedPolicy,
)

from .layers import BandRule, CumulativeRule, describe_bands, run_cumulative
from .model import (
    ASSISTANCE_NAMES,
    FUND_NAMES,
    LEVEL_NAMES,
    Claim,
    FundRow,
    SettlementResult,
    StateDelta,
    Totals,
    YearState,
)


class SettlementError(ValueError):
    """The claim cannot be settled under this policy; the message says why."""


def _fen(yuan: Decimal | None) -> int | None:
    return None if yuan is None else int(yuan * 100)


def _ratio(value: Decimal) -> Fraction:
    return Fraction(value)


def level_lookup(table: dict[str, Decimal] | None, level: str) -> Decimal | None:
    """A per-level value: the level itself, else level1 for township, else ``any``."""
    if not table:
        return None
    if level in table:
        return table[level]
    if level == "township" and "level1" in table:
        return table["level1"]
    return table.get("any")


def benefit_category(policy: ResolvedPolicy, med_type: str) -> str | None:
    code = policy.med_type_aliases.get(med_type, med_type)
    return policy.med_types.get(code)


def is_inpatient(policy: ResolvedPolicy, med_type: str) -> bool:
    return benefit_category(policy, med_type) == "inpatient"


@dataclass(slots=True)
class _Ctx:
    """Working state while one claim runs down the payer chain."""

    claim: Claim
    policy: ResolvedPolicy
    state: YearState
    totals: Totals
    in_region: bool
    trace: list[str]
    rows: list[FundRow]
    deltas: list[tuple[str, Exact, int]]
    paid: dict[str, int]


def totals_of(lines) -> Totals:
    medfee = fulamt = overlmt = preselfpay = inscp = 0
    for line in lines:
        medfee += line.amount
        fulamt += line.fulamt_ownpay
        overlmt += line.overlmt
        preselfpay += line.preselfpay
        inscp += line.inscp
    return Totals(medfee, fulamt, overlmt, preselfpay, inscp)


def settle(claim: Claim, policy: ResolvedPolicy, state: YearState) -> SettlementResult:
    """Split one encounter. ``state`` is the person's accumulators for the settlement year and is
    not modified; apply ``result.delta`` to book it."""
    person, inst = claim.person, claim.institution
    scheme = policy.schemes.get(person.insutype)
    if scheme is None:
        raise SettlementError(
            f"政策 {policy.id} 不包含险种 {person.insutype}（本政策险种: {', '.join(policy.insutypes)}）"
        )
    totals = totals_of(claim.lines)
    if totals.medfee_sumamt < 0:
        raise SettlementError(f"本次就诊费用合计为负数（{fmt_yuan(totals.medfee_sumamt)}元），不能结算")
    in_region = inst.admdvs.startswith(policy.pooling_region.admdvs)
    ctx = _Ctx(claim, policy, state, totals, in_region, [], [], [], {})
    ctx.trace.append(
        f"政策 {policy.id}（{policy.name}），险种 {person.insutype}，医疗类别 {claim.med_type}，"
        f"结算日期 {claim.settle_date.isoformat()}；"
        f"{'统筹区内' if in_region else '统筹区外'}就医（机构区划 {inst.admdvs}，统筹区 {policy.pooling_region.admdvs}）"
    )
    ctx.trace.append(
        f"费用合计 {fmt_yuan(totals.medfee_sumamt)} = 全自费 {fmt_yuan(totals.fulamt_ownpay_amt)}"
        f" + 超限价 {fmt_yuan(totals.overlmt_selfpay)} + 先行自付 {fmt_yuan(totals.preselfpay_amt)}"
        f" + 政策范围内 {fmt_yuan(totals.inscp_scp_amt)}"
    )
    category = benefit_category(policy, claim.med_type)
    admissions = 0
    if category is None or category not in scheme.basic.benefits:
        why = f"医疗类别 {claim.med_type} 不在政策 {policy.id} 险种 {person.insutype} 的支付范围内，各项基金均不支付"
        ctx.trace.append(why)
        ctx.rows.append(FundRow("basic", scheme.basic.fund_pay_type, totals.inscp_scp_amt, None, 0, why, counted=False))
        dedc, pool_prop = 0, Fraction(0)
    else:
        if category == "inpatient":
            admissions = 1
        dedc, pool_prop, hifp_cut = _basic(ctx, scheme.basic.benefits[category], category)
        if scheme.critical_illness is not None:
            _critical_illness(ctx, scheme.critical_illness)
        if scheme.large_amount is not None:
            _large_amount(ctx, scheme.large_amount, dedc, pool_prop, hifp_cut)
        if scheme.civil_servant is not None:
            _civil_servant(ctx, scheme.civil_servant)
        if scheme.assistance is not None:
            _assistance(ctx, scheme.assistance)
    return _finish(ctx, category, dedc, pool_prop, admissions)


def _basic(ctx: _Ctx, benefit: BasicBenefit, category: str) -> tuple[int, Fraction, tuple[int, int] | None]:
    """Basic fund (统筹). Returns the deductible, the ratio applied and, when the yearly cap
    mattered, (cap remaining before, payment before the cap) for the 大额 layer."""
    claim, policy = ctx.claim, ctx.policy
    person, inst = claim.person, claim.institution
    layer = policy.schemes[person.insutype].basic
    inscp = ctx.totals.inscp_scp_amt
    notes: list[str] = []

    deductible = _fen(level_lookup(benefit.deductible, inst.level)) or 0
    if category == "inpatient":
        nth = ctx.state.admissions + 1
        factor = benefit.later_admission_deductible_factor
        if nth >= 2 and factor != 1:
            full = deductible
            deductible = round_half_up(Fraction(deductible) * _ratio(factor))
            notes.append(
                f"本年第{nth}次住院，起付线{fmt_yuan(full)}元×{fmt_percent(_ratio(factor))}={fmt_yuan(deductible)}元"
            )
        else:
            notes.append(f"本年第{nth}次住院，{LEVEL_NAMES.get(inst.level, inst.level)}起付线{fmt_yuan(deductible)}元")
    dedc = min(inscp, deductible) if inscp > 0 else 0

    ratio_table = benefit.ratio
    if person.is_employee and person.retired and benefit.retired_ratio:
        ratio_table = benefit.retired_ratio
        notes.append("退休人员比例")
    level_ratio = level_lookup(ratio_table, inst.level)
    cap = _fen(layer.cap)
    paid_before = ctx.state.peek(layer.fund_pay_type).paid
    cap_remaining = None if cap is None else max(cap - paid_before, 0)

    if level_ratio is None:
        why = f"本政策{category_name(category)}在{LEVEL_NAMES.get(inst.level, inst.level)}不予统筹支付"
        ctx.trace.append("基本医保: " + why)
        ctx.rows.append(FundRow("basic", layer.fund_pay_type, inscp, cap_remaining, 0, why))
        ctx.paid["hifp_pay"] = 0
        ctx.deltas.append((layer.fund_pay_type, inscp, 0))
        return dedc, Fraction(0), None

    ratio = _ratio(level_ratio)
    ratio_note = f"{LEVEL_NAMES.get(inst.level, inst.level)}支付比例{fmt_percent(ratio)}"
    for tilt in layer.tilts:
        group_ok = tilt.assistance is None or person.assistance in tilt.assistance
        place_ok = tilt.institution_admdvs is None or inst.admdvs.startswith(tilt.institution_admdvs)
        if group_ok and place_ok:
            ratio += _ratio(tilt.points)
            ratio_note += f"，{tilt.name}+{fmt_percent(_ratio(tilt.points))}"
    if not ctx.in_region:
        if claim.filed:
            ratio_note += "，异地已备案，比例不降低"
        elif layer.out_of_region_unfiled_reduction:
            cut = _ratio(layer.out_of_region_unfiled_reduction)
            ratio -= cut
            ratio_note += f"，异地未备案降低{fmt_percent(cut)}"
    ratio = min(max(ratio, Fraction(0)), Fraction(1))
    notes.append(ratio_note + (f"，实际{fmt_percent(ratio)}" if "，" in ratio_note else ""))

    due = round_half_up((inscp - dedc) * ratio) if inscp > dedc else 0
    pay = due if cap_remaining is None else min(due, cap_remaining)
    text = (
        f"{'；'.join(notes)}；政策范围内{fmt_yuan(inscp)}元，扣除起付线{fmt_yuan(dedc)}元后"
        f"{fmt_yuan(inscp - dedc)}元×{fmt_percent(ratio)}={fmt_yuan(due)}元"
    )
    if cap_remaining is not None:
        text += f"；年度限额{fmt_yuan(cap)}元，本次前剩余{fmt_yuan(cap_remaining)}元"
        if pay < due:
            text += f"，受限额限制支付{fmt_yuan(pay)}元"
    ctx.trace.append("基本医保统筹: " + text)
    ctx.rows.append(FundRow("basic", layer.fund_pay_type, inscp, cap_remaining, pay, text))
    ctx.paid["hifp_pay"] = pay
    ctx.deltas.append((layer.fund_pay_type, inscp, pay))
    hifp_cut = (cap_remaining, due) if cap_remaining is not None and due > cap_remaining else None
    if cap_remaining == 0:
        hifp_cut = (0, due)
    return dedc, ratio, hifp_cut


def category_name(category: str) -> str:
    return {"inpatient": "住院", "outpatient": "普通门诊", "outpatient_special": "门诊慢特病"}.get(
        category, category
    )


def _critical_illness(ctx: _Ctx, layer: CriticalIllnessLayer) -> None:
    person = ctx.claim.person
    base = ctx.totals.inscp_scp_amt - ctx.paid.get("hifp_pay", 0)
    deductible: Exact = _fen(layer.deductible) or 0
    add = Fraction(0)
    capped = True
    special = layer.special_groups
    group_note = ""
    if special is not None and person.assistance in special.groups:
        deductible = Fraction(deductible) * _ratio(special.deductible_factor)
        deductible = deductible.numerator if deductible.denominator == 1 else deductible
        add = _ratio(special.ratio_add)
        capped = special.capped
        group_note = f"{ASSISTANCE_NAMES.get(person.assistance, person.assistance)}：起付线×{fmt_percent(_ratio(special.deductible_factor))}，比例+{fmt_percent(add)}{'' if capped else '，不设封顶线'}；"
    rule = CumulativeRule(
        deductible=deductible,
        bands=tuple(
            BandRule(_fen(b.upto), min(_ratio(b.ratio) + add, Fraction(1))) for b in layer.bands
        ),
        cap=_fen(layer.cap) if capped else None,
    )
    _cumulative(ctx, "critical_illness", layer.fund_pay_type, rule, base, group_note + describe_bands(rule), "大病保险")


def _large_amount(
    ctx: _Ctx, layer: LargeAmountLayer, dedc: int, basic_ratio: Fraction, hifp_cut: tuple[int, int] | None
) -> None:
    excess = ctx.totals.inscp_scp_amt - dedc
    if hifp_cut is None or excess <= 0:
        base: Exact = 0
        why = "基本医保未达到年度限额，大额补助不计入"
    elif hifp_cut[0] == 0:
        base = excess
        why = f"基本医保年度限额已用完，扣除起付线后的{fmt_yuan(excess)}元全部计入"
    else:
        remaining = hifp_cut[0]
        base = excess - Fraction(remaining) / basic_ratio
        base = base.numerator if isinstance(base, Fraction) and base.denominator == 1 else base
        why = (
            f"本次基本医保支付受限额限制：{fmt_yuan(excess)}元 − 剩余限额{fmt_yuan(remaining)}元÷"
            f"{fmt_percent(basic_ratio)} = {fmt_exact_yuan(base)}元计入"
        )
    rule = CumulativeRule(0, (BandRule(None, _ratio(layer.ratio)),), _fen(layer.cap))
    _cumulative(ctx, "large_amount", layer.fund_pay_type, rule, base, why + f"；支付比例{fmt_percent(_ratio(layer.ratio))}", "大额医疗补助")


def _civil_servant(ctx: _Ctx, layer: CivilServantLayer) -> None:
    if not ctx.claim.person.cvlserv:
        return
    total_scope = ctx.totals.inscp_scp_amt
    earlier = sum(ctx.paid.get(k, 0) for k in ("hifp_pay", "hifmi_pay", "hifob_pay"))
    if layer.line_flag == "all":
        named = total_scope
        what = "全部明细"
    else:
        named = sum(line.inscp for line in ctx.claim.lines if line.nego_drug)
        what = "谈判药品明细"
    if total_scope <= 0 or named <= 0:
        base: Exact = 0
    else:
        base = Fraction(named) * (total_scope - earlier) / total_scope
        base = base.numerator if base.denominator == 1 else base
    why = (
        f"{what}政策范围内{fmt_yuan(named)}元，按比例分摊前序基金支付{fmt_yuan(earlier)}元后剩余"
        f"{fmt_exact_yuan(base)}元；补助比例{fmt_percent(_ratio(layer.ratio))}"
    )
    rule = CumulativeRule(0, (BandRule(None, _ratio(layer.ratio)),), _fen(layer.cap))
    _cumulative(ctx, "civil_servant", layer.fund_pay_type, rule, base, why, "公务员医疗补助")


def _assistance(ctx: _Ctx, layer: AssistanceLayer) -> None:
    claim = ctx.claim
    group = claim.person.assistance
    if group is None or group not in layer.groups:
        return
    params = layer.groups[group]
    name = ASSISTANCE_NAMES.get(group, group)
    if layer.exclude_out_of_region_without_referral and not ctx.in_region and not claim.referred:
        why = f"{name}：统筹区外就医且无转诊备案，医疗救助不予支付"
        ctx.trace.append("医疗救助: " + why)
        ctx.rows.append(FundRow("assistance", layer.fund_pay_type, 0, None, 0, why, counted=False))
        return
    before = sum(ctx.paid.get(k, 0) for k in ("hifp_pay", "hifmi_pay", "hifob_pay", "cvlserv_pay"))
    base = ctx.totals.inscp_scp_amt - before
    rule = CumulativeRule(_fen(params.deductible) or 0, (BandRule(None, _ratio(params.ratio)),), _fen(params.cap))
    why = f"{name}：政策范围内个人负担{fmt_yuan(base)}元；年度起付线{fmt_yuan(rule.deductible)}元，救助比例{fmt_percent(_ratio(params.ratio))}"
    _cumulative(ctx, "assistance", layer.fund_pay_type, rule, base, why, "医疗救助")


def _cumulative(
    ctx: _Ctx, kind: str, fund_pay_type: str, rule: CumulativeRule, base: Exact, why: str, label: str
) -> None:
    acc = ctx.state.peek(fund_pay_type)
    step = run_cumulative(rule, acc.base, base, acc.paid)
    text = (
        f"{why}；本年累计计算基数由{fmt_exact_yuan(step.base_before)}元增至{fmt_exact_yuan(step.base_after)}元，"
        f"应付{fmt_yuan(step.due)}元"
    )
    if step.cap_remaining is not None:
        text += f"；年度限额{fmt_yuan(rule.cap)}元，本次前剩余{fmt_yuan(step.cap_remaining)}元"
        if step.pay < step.due:
            text += f"，受限额限制支付{fmt_yuan(step.pay)}元"
    text += f"；本次支付{fmt_yuan(step.pay)}元"
    ctx.trace.append(f"{label}: {text}")
    ctx.rows.append(FundRow(kind, fund_pay_type, base, step.cap_remaining, step.pay, text))
    field = {
        "critical_illness": "hifmi_pay",
        "large_amount": "hifob_pay",
        "civil_servant": "cvlserv_pay",
        "assistance": "maf_pay",
    }[kind]
    ctx.paid[field] = ctx.paid.get(field, 0) + step.pay
    ctx.deltas.append((fund_pay_type, base, step.pay))


def _finish(ctx: _Ctx, category: str | None, dedc: int, pool_prop: Fraction, admissions: int) -> SettlementResult:
    claim, totals = ctx.claim, ctx.totals
    pays = {k: ctx.paid.get(k, 0) for k in ("hifp_pay", "hifmi_pay", "hifob_pay", "cvlserv_pay", "maf_pay")}
    fund = sum(pays.values())
    psn_part = totals.medfee_sumamt - fund
    person = claim.person
    has_account = person.is_employee
    balance = person.acct_balc if has_account else 0
    acct_pay = 0
    if claim.acct_used:
        if has_account:
            acct_pay = max(min(balance, psn_part), 0)
            ctx.trace.append(
                f"个人账户: 余额{fmt_yuan(balance)}元，个人负担{fmt_yuan(psn_part)}元，账户支付{fmt_yuan(acct_pay)}元"
            )
        else:
            ctx.trace.append("个人账户: 城乡居民无个人账户，不支付")
    ctx.trace.append(
        f"基金支付合计{fmt_yuan(fund)}元（统筹{fmt_yuan(pays['hifp_pay'])}、大病{fmt_yuan(pays['hifmi_pay'])}、"
        f"大额{fmt_yuan(pays['hifob_pay'])}、公务员{fmt_yuan(pays['cvlserv_pay'])}、救助{fmt_yuan(pays['maf_pay'])}），"
        f"个人负担{fmt_yuan(psn_part)}元（账户{fmt_yuan(acct_pay)}、现金{fmt_yuan(psn_part - acct_pay)}）"
    )
    delta = StateDelta(
        year=claim.settle_date.year,
        admissions=admissions,
        layers=tuple(ctx.deltas),
        acct_pay=acct_pay,
    )
    return SettlementResult(
        policy_id=ctx.policy.id,
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
        rows=tuple(ctx.rows),
        delta=delta,
        lines=claim.lines,
        trace=tuple(ctx.trace),
        in_region=ctx.in_region,
    )


@lru_cache(maxsize=None)
def fund_name(fund_pay_type: str) -> str:
    return FUND_NAMES.get(fund_pay_type, fund_pay_type)
