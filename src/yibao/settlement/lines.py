"""Line classification (settlement.md §1): how much of each fee line is inside the policy scope.

Per line, each figure rounded half-up to the fen:

- amount = ``det_item_fee_sumamt`` when sent (within 0.01 of ``pric × cnt``), else ``pric × cnt``;
- 全自费: the whole line for 丙类 and for codes not in the catalogue;
- 超限价 (甲/乙 only) = max(0, pric − pric_uplmt_amt) × cnt;
- 先行自付 (乙类 only) = (amount − 超限价) × selfpay_prop;
- policy scope = amount − 全自费 − 超限价 − 先行自付.

A refund line (negative ``cnt``) is classified like the line it names in ``init_feedetl_sn``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Iterable, Mapping

from yibao.money import fmt_yuan, round_half_up

from .model import CHRGITM_LV_NAMES, CatalogueItem, FeeLine, LineSplit

ONE_FEN_IN_YUAN = Fraction(1, 100)


class LineError(ValueError):
    """A fee line that cannot be accepted; the message names the line and the field."""


def line_amount(line: FeeLine) -> int:
    """The line's amount in fen, checking a sent total against ``pric × cnt``."""
    if line.pric < 0:
        raise LineError(f"费用明细 {line.feedetl_sn}: pric 单价不能为负数")
    exact_fen = line.pric * line.cnt * 100
    if line.det_item_fee_sumamt is None:
        return round_half_up(exact_fen)
    if abs(Fraction(line.det_item_fee_sumamt) - exact_fen) > 1:
        raise LineError(
            f"费用明细 {line.feedetl_sn}: det_item_fee_sumamt {fmt_yuan(line.det_item_fee_sumamt)} "
            f"与 pric×cnt = {float(line.pric * line.cnt):.4f} 相差超过 0.01"
        )
    return line.det_item_fee_sumamt


def _self_pay_by_approval(item: CatalogueItem, hosp_appr_flag: str | None) -> str | None:
    """The hospital-approval rule of 2204/2301: restricted items need approval flag 1."""
    if hosp_appr_flag in (None, ""):
        return None
    if item.lmt_used_flag == "1" and hosp_appr_flag in ("0", "2"):
        return "限制使用项目未经医院审批（hosp_appr_flag≠1），全自费"
    if item.lmt_used_flag != "1" and hosp_appr_flag == "2":
        return "医院标记为自费（hosp_appr_flag=2），全自费"
    return None


def classify_line(line: FeeLine, item: CatalogueItem | None) -> LineSplit:
    """Split one line; ``item`` is the catalogue entry (of the refunded line for a refund)."""
    amount = line_amount(line)
    common = dict(
        feedetl_sn=line.feedetl_sn,
        med_list_codg=line.med_list_codg,
        pric=line.pric,
        cnt=line.cnt,
        amount=amount,
        init_feedetl_sn=line.init_feedetl_sn,
    )
    if item is None:
        return LineSplit(
            chrgitm_lv="", fulamt_ownpay=amount, overlmt=0, preselfpay=0, inscp=0,
            note="医保目录外项目，全自费", **common,
        )
    facts = dict(
        pric_uplmt_amt=item.pric_uplmt_amt,
        selfpay_prop=item.selfpay_prop,
        nego_drug=item.nego_drug,
        name=item.name,
        med_chrgitm_type=item.med_chrgitm_type,
        lmt_used_flag=item.lmt_used_flag,
    )
    approval = _self_pay_by_approval(item, line.hosp_appr_flag)
    if item.chrgitm_lv == "03" or approval:
        note = approval or "丙类项目，全自费"
        return LineSplit(
            chrgitm_lv=item.chrgitm_lv, fulamt_ownpay=amount, overlmt=0, preselfpay=0, inscp=0,
            note=note, **common, **facts,
        )
    overlmt = 0
    notes = [CHRGITM_LV_NAMES.get(item.chrgitm_lv, item.chrgitm_lv)]
    if item.pric_uplmt_amt is not None and line.pric > item.pric_uplmt_amt:
        overlmt = round_half_up((line.pric - item.pric_uplmt_amt) * line.cnt * 100)
        notes.append(f"单价超出限价{float(item.pric_uplmt_amt):g}元，超限价{fmt_yuan(overlmt)}元自费")
    preselfpay = 0
    if item.chrgitm_lv == "02" and item.selfpay_prop:
        preselfpay = round_half_up((amount - overlmt) * item.selfpay_prop)
        notes.append(f"先行自付{float(item.selfpay_prop) * 100:g}%计{fmt_yuan(preselfpay)}元")
    inscp = amount - overlmt - preselfpay
    return LineSplit(
        chrgitm_lv=item.chrgitm_lv, fulamt_ownpay=0, overlmt=overlmt, preselfpay=preselfpay,
        inscp=inscp, note="；".join(notes), **common, **facts,
    )


def classify_lines(
    lines: Iterable[FeeLine],
    catalogue: Mapping[str, CatalogueItem],
    earlier: Mapping[str, LineSplit] | None = None,
) -> list[LineSplit]:
    """Classify a batch of lines of one encounter, checking refunds against what they refund.

    ``earlier`` holds the encounter's lines already stored (by ``feedetl_sn``), so that a refund
    may name a line uploaded in an earlier call. Raises LineError on the first bad line.
    """
    known: dict[str, LineSplit] = dict(earlier or {})
    refunded_cnt: dict[str, Fraction] = {}
    refunded_amt: dict[str, int] = {}
    for split in known.values():
        if split.init_feedetl_sn:
            refunded_cnt[split.init_feedetl_sn] = refunded_cnt.get(split.init_feedetl_sn, 0) + split.cnt
            refunded_amt[split.init_feedetl_sn] = refunded_amt.get(split.init_feedetl_sn, 0) + split.amount
    out: list[LineSplit] = []
    for line in lines:
        if line.feedetl_sn in known:
            raise LineError(f"费用明细流水号 feedetl_sn {line.feedetl_sn} 在本次就诊中重复")
        if line.cnt < 0 or line.init_feedetl_sn:
            split = _classify_refund(line, known, catalogue, refunded_cnt, refunded_amt)
        else:
            if line.cnt == 0:
                raise LineError(f"费用明细 {line.feedetl_sn}: cnt 数量不能为 0")
            split = classify_line(line, catalogue.get(line.med_list_codg))
        known[line.feedetl_sn] = split
        out.append(split)
    return out


def _classify_refund(
    line: FeeLine,
    known: Mapping[str, LineSplit],
    catalogue: Mapping[str, CatalogueItem],
    refunded_cnt: dict[str, Fraction],
    refunded_amt: dict[str, int],
) -> LineSplit:
    sn = line.feedetl_sn
    if line.cnt >= 0:
        raise LineError(f"费用明细 {sn}: 退费行（有 init_feedetl_sn）的 cnt 必须为负数")
    if not line.init_feedetl_sn:
        raise LineError(f"费用明细 {sn}: cnt 为负数的退费行必须填写 init_feedetl_sn（原费用流水号）")
    original = known.get(line.init_feedetl_sn)
    if original is None or original.init_feedetl_sn:
        raise LineError(f"费用明细 {sn}: init_feedetl_sn {line.init_feedetl_sn} 不是本次就诊的原费用明细")
    if line.med_list_codg != original.med_list_codg:
        raise LineError(
            f"费用明细 {sn}: 退费行的 med_list_codg {line.med_list_codg} 与原明细 {original.med_list_codg} 不一致"
        )
    item = catalogue.get(original.med_list_codg) if original.chrgitm_lv else None
    split = classify_line(line, item)
    key = line.init_feedetl_sn
    new_cnt = refunded_cnt.get(key, 0) + split.cnt
    new_amt = refunded_amt.get(key, 0) + split.amount
    if original.cnt + new_cnt < 0 or original.amount + new_amt < 0:
        raise LineError(f"费用明细 {sn}: 退费数量或金额超过原明细 {key} 的剩余部分")
    refunded_cnt[key] = new_cnt
    refunded_amt[key] = new_amt
    return split
