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

from decimal import Decimal
from fractions import Fraction
from typing import Collection, Iterable, Mapping, Sequence

from yibao.money import fmt_yuan, round_half_up

from .model import CHRGITM_LV_NAMES, CatalogueItem, FeeLine, LineSplit, fast_constructor

ONE_FEN_IN_YUAN = Fraction(1, 100)
# LineSplit(…) twice as fast as its dataclass __init__: every fee line of an upload and of a
# settlement makes one.
make_split = fast_constructor(LineSplit)


class LineError(ValueError):
    """A fee line that cannot be accepted; the message names the line and the field."""


PRICE_SCALE = 10**6  # pric has at most 6 decimals (16,6)
COUNT_SCALE = 10**4  # cnt has at most 4 decimals (16,4)
RATIO_SCALE = 10**4  # ratios have at most 4 decimals (5,4)
_TO_FEN = PRICE_SCALE * COUNT_SCALE // 100  # pric_u × cnt_u / _TO_FEN = fen


def units(value, scale: int) -> int | None:
    """``value × scale`` as an exact int, or None when it is not a whole number of units."""
    if type(value) is int:
        return value * scale
    if isinstance(value, Fraction):
        den = value.denominator
        return value.numerator * (scale // den) if scale % den == 0 else None
    if isinstance(value, Decimal):
        scaled = value * scale
        return int(scaled) if scaled == scaled.to_integral_value() else None
    return units(Fraction(value), scale)


def div_half_up(num: int, den: int) -> int:
    """num / den rounded half-up (ties away from zero), den > 0."""
    if num >= 0:
        return (2 * num + den) // (2 * den)
    return -((-2 * num + den) // (2 * den))


def _units_or_fail(line: FeeLine) -> tuple[int, int]:
    pric_u = units(line.pric, PRICE_SCALE)
    cnt_u = units(line.cnt, COUNT_SCALE)
    if pric_u is None:
        raise LineError(f"费用明细 {line.feedetl_sn}: pric 单价最多6位小数")
    if cnt_u is None:
        raise LineError(f"费用明细 {line.feedetl_sn}: cnt 数量最多4位小数")
    return pric_u, cnt_u


def line_amount(line: FeeLine) -> int:
    """The line's amount in fen, checking a sent total against ``pric × cnt``."""
    pric_u, cnt_u = _units_or_fail(line)
    if pric_u < 0:
        raise LineError(f"费用明细 {line.feedetl_sn}: pric 单价不能为负数")
    exact = pric_u * cnt_u  # in units of 1 / _TO_FEN fen
    if line.det_item_fee_sumamt is None:
        return div_half_up(exact, _TO_FEN)
    if abs(line.det_item_fee_sumamt * _TO_FEN - exact) > _TO_FEN:
        raise LineError(
            f"费用明细 {line.feedetl_sn}: det_item_fee_sumamt {fmt_yuan(line.det_item_fee_sumamt)} "
            f"与 pric×cnt = {exact / (_TO_FEN * 100):.4f} 相差超过 0.01"
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
    """Split one line; ``item`` is the catalogue entry (of the refunded line for a refund).

    The arithmetic is in exact integer units (price in 10⁻⁶ yuan, count in 10⁻⁴), each figure
    rounded half-up to the fen once."""
    amount = line_amount(line)
    if item is None:
        return make_split(
            line.feedetl_sn, line.med_list_codg, "", line.pric, line.cnt, amount, amount, 0, 0, 0,
            init_feedetl_sn=line.init_feedetl_sn, note="医保目录外项目，全自费",
        )
    approval = _self_pay_by_approval(item, line.hosp_appr_flag) if line.hosp_appr_flag else None
    if item.chrgitm_lv == "03" or approval:
        return make_split(
            line.feedetl_sn, line.med_list_codg, item.chrgitm_lv, line.pric, line.cnt, amount, amount, 0, 0, 0,
            item.pric_uplmt_amt, item.selfpay_prop, item.nego_drug, item.name, line.init_feedetl_sn,
            item.med_chrgitm_type, item.lmt_used_flag, approval or "丙类项目，全自费",
        )
    overlmt = 0
    note = CHRGITM_LV_NAMES.get(item.chrgitm_lv, item.chrgitm_lv)
    uplmt = item.pric_uplmt_amt
    if uplmt is not None:
        pric_u, cnt_u = _units_or_fail(line)
        uplmt_u = units(uplmt, PRICE_SCALE)
        if uplmt_u is None:
            if line.pric > uplmt:
                overlmt = round_half_up((Fraction(line.pric) - uplmt) * Fraction(line.cnt) * 100)
        elif pric_u > uplmt_u:
            overlmt = div_half_up((pric_u - uplmt_u) * cnt_u, _TO_FEN)
        if overlmt:
            note += f"；单价超出限价{float(uplmt):g}元，超限价{fmt_yuan(overlmt)}元自费"
    preselfpay = 0
    prop = item.selfpay_prop
    if item.chrgitm_lv == "02" and prop:
        prop_u = units(prop, RATIO_SCALE)
        if prop_u is None:
            preselfpay = round_half_up((amount - overlmt) * prop)
        else:
            preselfpay = div_half_up((amount - overlmt) * prop_u, RATIO_SCALE)
        note += f"；先行自付{float(prop) * 100:g}%计{fmt_yuan(preselfpay)}元"
    return make_split(
        line.feedetl_sn, line.med_list_codg, item.chrgitm_lv, line.pric, line.cnt, amount, 0, overlmt, preselfpay,
        amount - overlmt - preselfpay, uplmt, prop, item.nego_drug, item.name, line.init_feedetl_sn,
        item.med_chrgitm_type, item.lmt_used_flag, note,
    )


def is_refund(line: FeeLine) -> bool:
    """A refund line: a negative count, or one naming the line it refunds."""
    if line.init_feedetl_sn:
        return True
    cnt = line.cnt
    # A Fraction's own comparison runs in Python; its numerator carries the sign.
    return cnt.numerator < 0 if type(cnt) is Fraction else cnt < 0


def classify_plain(line: FeeLine, catalogue: Mapping[str, CatalogueItem]) -> LineSplit | LineError | None:
    """A line that is not a refund classified on its own (it needs only the catalogue), or the
    LineError it would raise; None for a refund line, which needs the encounter's stored lines.
    ``classify_lines`` takes these as ``ready`` and raises a kept error where it would have."""
    if is_refund(line):
        return None
    if line.cnt == 0:
        return LineError(f"费用明细 {line.feedetl_sn}: cnt 数量不能为 0")
    try:
        return classify_line(line, catalogue.get(line.med_list_codg))
    except LineError as exc:
        return exc


def classify_lines(
    lines: Iterable[FeeLine],
    catalogue: Mapping[str, CatalogueItem],
    earlier: Mapping[str, LineSplit] | None = None,
    ready: Sequence[LineSplit | LineError | None] | None = None,
    taken: Collection[str] = (),
) -> list[LineSplit]:
    """Classify a batch of lines of one encounter, checking refunds against what they refund.

    ``earlier`` holds the encounter's lines already stored (by ``feedetl_sn``), so that a refund
    may name a line uploaded in an earlier call. ``ready``, when given, holds ``classify_plain``
    of each line, worked out beforehand (the interface does it before taking the write lock).
    ``taken`` holds further serial numbers the encounter has used (when ``earlier`` is not every
    stored line). Raises LineError on the first bad line.
    """
    known: dict[str, LineSplit] = dict(earlier or {})
    refunded_cnt: dict[str, Fraction] = {}
    refunded_amt: dict[str, int] = {}
    for split in known.values():
        if split.init_feedetl_sn:
            refunded_cnt[split.init_feedetl_sn] = refunded_cnt.get(split.init_feedetl_sn, 0) + split.cnt
            refunded_amt[split.init_feedetl_sn] = refunded_amt.get(split.init_feedetl_sn, 0) + split.amount
    out: list[LineSplit] = []
    for index, line in enumerate(lines):
        if line.feedetl_sn in known or line.feedetl_sn in taken:
            raise LineError(f"费用明细流水号 feedetl_sn {line.feedetl_sn} 在本次就诊中重复")
        if is_refund(line):
            split = _classify_refund(line, known, catalogue, refunded_cnt, refunded_amt)
        else:
            done = ready[index] if ready is not None else classify_plain(line, catalogue)
            if isinstance(done, LineError):
                raise LineError(str(done))
            split = done  # type: ignore[assignment]
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
