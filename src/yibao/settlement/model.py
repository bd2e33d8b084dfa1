"""What the settlement engine takes and gives back.

Everything here is plain data: amounts are ``int`` fen, prices, quantities and ratios exact
``Fraction``s. The engine never touches a database or a network; the interface layer builds
these objects from stored rows and turns the result into the national output nodes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import MISSING, dataclass, field, fields
from fractions import Fraction
from typing import Callable, Union

from yibao.money import Exact

# Fund payment types (fund_pay_type) the reference policies use, with their national names.
FUND_NAMES = {
    "310100": "城镇职工基本医疗保险统筹基金",
    "390100": "城乡居民基本医疗保险基金",
    "390200": "城乡居民大病医疗保险基金",
    "330100": "大额医疗费用补助基金",
    "320100": "公务员医疗补助基金",
    "610100": "医疗救助基金",
}

# The output field of setlinfo each layer kind pays into.
LAYER_FIELDS = {
    "basic": "hifp_pay",
    "critical_illness": "hifmi_pay",
    "large_amount": "hifob_pay",
    "civil_servant": "cvlserv_pay",
    "assistance": "maf_pay",
}

CHRGITM_LV_NAMES = {"01": "甲类", "02": "乙类", "03": "丙类"}
LEVEL_NAMES = {
    "level3": "三级医院",
    "level2": "二级医院",
    "level1": "一级医院",
    "township": "乡镇卫生院/社区卫生服务中心",
}
ASSISTANCE_NAMES = {
    "tekun": "特困人员",
    "dibao": "低保对象",
    "poverty": "建档立卡贫困人口",
    "low_income": "低收入人口",
}
# The assistance groups, the most generous first: a person in several is helped under the first.
ASSISTANCE_ORDER = ("tekun", "dibao", "poverty", "low_income")


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    """The catalogue facts settlement needs about one ``med_list_codg``."""

    med_list_codg: str
    name: str = ""
    chrgitm_lv: str = "03"  # 01 甲类, 02 乙类, 03 丙类
    selfpay_prop: Fraction = Fraction(0)  # 乙类 先行自付比例
    pric_uplmt_amt: Fraction | None = None  # unit price ceiling, yuan
    nego_drug: bool = False  # 医保谈判药品
    lmt_used_flag: str = "0"  # 限制使用标志
    med_chrgitm_type: str = ""
    list_type: str = ""


@dataclass(frozen=True, slots=True)
class FeeLine:
    """A fee line as the institution sent it (2204/2301 feedetail)."""

    feedetl_sn: str
    med_list_codg: str
    pric: Fraction  # yuan per unit, exact
    cnt: Fraction  # negative on a refund line
    det_item_fee_sumamt: int | None = None  # fen, when sent
    init_feedetl_sn: str | None = None
    hosp_appr_flag: str | None = None


@dataclass(frozen=True, slots=True)
class LineSplit:
    """One line classified: how much of it is inside the policy scope, and why."""

    feedetl_sn: str
    med_list_codg: str
    chrgitm_lv: str  # "" when the code is not in the catalogue
    pric: Fraction
    cnt: Fraction
    amount: int
    fulamt_ownpay: int
    overlmt: int
    preselfpay: int
    inscp: int
    pric_uplmt_amt: Fraction | None = None
    selfpay_prop: Fraction = Fraction(0)
    nego_drug: bool = False
    name: str = ""
    init_feedetl_sn: str | None = None
    med_chrgitm_type: str = ""
    lmt_used_flag: str = "0"
    note: str = ""


@dataclass(frozen=True, slots=True)
class PersonFacts:
    psn_no: str
    insutype: str  # 310 employees, 390 residents
    psn_type: str = "11"
    insu_admdvs: str = ""
    assistance: str | None = None  # tekun | dibao | poverty | low_income
    cvlserv: bool = False
    acct_balc: int = 0  # personal account balance, fen

    @property
    def retired(self) -> bool:
        return self.psn_type.startswith("12")

    @property
    def is_employee(self) -> bool:
        return self.insutype.startswith("31")


@dataclass(frozen=True, slots=True)
class InstitutionFacts:
    fixmedins_code: str
    level: str  # level3 | level2 | level1 | township
    admdvs: str


@dataclass(frozen=True, slots=True)
class Claim:
    """One encounter to settle."""

    person: PersonFacts
    institution: InstitutionFacts
    med_type: str
    settle_date: dt.date
    lines: tuple[LineSplit, ...]
    filed: bool = False  # out-of-region filing (异地就医备案) on record
    referred: bool = False  # referral (转诊/转院备案) on record
    acct_used: bool = False


@dataclass(slots=True)
class LayerAccum:
    """A person's yearly position in one fund layer: its cumulative base and what it paid."""

    base: Exact = 0
    paid: int = 0


@dataclass(slots=True)
class YearState:
    """A person's accumulators for one year, keyed by fund_pay_type."""

    admissions: int = 0
    layers: dict[str, LayerAccum] = field(default_factory=dict)

    def peek(self, key: str) -> LayerAccum:
        """The layer's position, without adding an entry for a layer not yet used."""
        return self.layers.get(key) or LayerAccum()

    def layer(self, key: str) -> LayerAccum:
        acc = self.layers.get(key)
        if acc is None:
            acc = self.layers[key] = LayerAccum()
        return acc

    def copy(self) -> "YearState":
        return YearState(
            self.admissions, {k: LayerAccum(v.base, v.paid) for k, v in self.layers.items()}
        )


Step = Union[str, Callable[[], str]]


@dataclass(frozen=True, slots=True)
class FundRow:
    """What one layer did for this encounter (kept for every layer, paid or not)."""

    kind: str  # basic | critical_illness | large_amount | civil_servant | assistance
    fund_pay_type: str
    base: Exact  # this encounter's base for the layer
    cap_remaining: int | None  # cap left before this encounter; None when uncapped
    payamt: int
    explain: Callable[[], str]  # setl_proc_info, rendered when someone reads it
    counted: bool = True  # were base and payment added to the yearly accumulators

    @property
    def proc_info(self) -> str:
        return self.explain()

    @property
    def name(self) -> str:
        return FUND_NAMES.get(self.fund_pay_type, self.fund_pay_type)


@dataclass(frozen=True, slots=True)
class StateDelta:
    """Exactly what a settlement added to the yearly accumulators (a reversal subtracts it)."""

    year: int
    admissions: int
    layers: tuple[tuple[str, Exact, int], ...]  # (fund_pay_type, base added, paid added)
    acct_pay: int

    def apply(self, state: YearState, sign: int = 1) -> None:
        state.admissions += sign * self.admissions
        layers = state.layers
        for key, base, paid in self.layers:
            acc = layers.get(key)
            if acc is None:
                acc = layers[key] = LayerAccum()
            acc.base = _tidy(acc.base + sign * base)
            acc.paid += sign * paid


def _tidy(x: Exact) -> Exact:
    if type(x) is int:  # the common case, and cheaper to test than isinstance(x, Fraction)
        return x
    if isinstance(x, Fraction) and x.denominator == 1:
        return x.numerator
    return x


@dataclass(frozen=True, slots=True)
class Totals:
    medfee_sumamt: int
    fulamt_ownpay_amt: int
    overlmt_selfpay: int
    preselfpay_amt: int
    inscp_scp_amt: int


@dataclass(slots=True)
class SettlementResult:
    policy_id: str
    med_type: str
    category: str | None  # the benefit category the med_type maps to; None when not covered
    totals: Totals
    act_pay_dedc: int
    pool_prop: Fraction  # the basic ratio applied (pool_prop_selfpay)
    pays: dict[str, int]  # hifp_pay, hifmi_pay, hifob_pay, cvlserv_pay, maf_pay
    fund_pay_sumamt: int
    psn_part_amt: int
    acct_pay: int
    psn_cash_pay: int
    balc: int
    rows: tuple[FundRow, ...]
    delta: StateDelta
    lines: tuple[LineSplit, ...]
    steps: tuple[Step, ...]
    in_region: bool = True

    @property
    def trace(self) -> tuple[str, ...]:
        """The explanation a person can read, one step per line."""
        return tuple(step if isinstance(step, str) else step() for step in self.steps)

    def detail_rows(self) -> list[FundRow]:
        """The setldetail rows: layers that paid more than 0 (or the row saying why none did)."""
        paid = [r for r in self.rows if r.payamt > 0]
        if paid:
            return paid
        return [r for r in self.rows if r.kind == "basic"][:1]


def fast_constructor(cls):
    """A constructor for a frozen slots dataclass, taking its fields as its ``__init__`` does
    (in order or by name, with the same defaults).

    The generated ``__init__`` of a frozen dataclass sets each field through
    ``object.__setattr__``; this one calls the slot descriptors directly, about twice as fast.
    For the hot paths, where a settlement builds a Totals, a StateDelta and a FundRow per layer,
    and an upload and a settlement a LineSplit per fee line. The code is generated as
    dataclasses does."""
    params, namespace = [], {"_new": object.__new__, "_cls": cls}
    for f in fields(cls):
        namespace[f"_set_{f.name}"] = getattr(cls, f.name).__set__
        if f.default_factory is not MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: a default_factory is not supported")
        if f.default is MISSING:
            params.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
    names = [f.name for f in fields(cls)]
    body = "".join(f"    _set_{n}(self, {n})\n" for n in names)
    exec(f"def make({', '.join(params)}):\n    self = _new(_cls)\n{body}    return self\n", namespace)
    make = namespace["make"]
    make.__qualname__ = make.__name__ = f"make_{cls.__name__}"
    return make
