"""The shape of a policy's parameters once resolved for one date.

A policy file holds dated values (see :mod:`yibao.policy.parameters`); resolving it for a date
gives plain values that are checked against these models. Amounts are yuan (``Decimal``),
ratios are fractions of one (``Decimal``: 0.65 = 65%).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

LEVELS = ("level3", "level2", "level1", "township", "pharmacy")
LEVEL_KEYS = (*LEVELS, "any")
ASSISTANCE_GROUPS = ("tekun", "dibao", "poverty", "low_income")
BENEFIT_CATEGORIES = ("inpatient", "outpatient", "outpatient_special")

Ratio = Decimal
Yuan = Decimal


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_ratio(value: Decimal, what: str) -> Decimal:
    if value < 0 or value > 1:
        raise ValueError(f"{what} 必须在 0 到 1 之间，实际为 {value}")
    return value


def _check_amount(value: Decimal | None, what: str) -> Decimal | None:
    if value is None:
        return None
    if value < 0:
        raise ValueError(f"{what} 不能为负数，实际为 {value}")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(f"{what} 最多两位小数，实际为 {value}")
    return value


def _check_level_table(table: dict[str, Decimal]) -> dict[str, Decimal]:
    for key in table:
        if key not in LEVEL_KEYS:
            raise ValueError(f"未知的医院等级 {key!r}，可用: {', '.join(LEVEL_KEYS)}")
    return table


class BasicBenefit(Strict):
    """Per-encounter rules of the basic fund for one benefit category (住院, 普通门诊 …)."""

    deductible: dict[str, Yuan] = Field(default_factory=dict)
    ratio: dict[str, Ratio]
    retired_ratio: dict[str, Ratio] | None = None
    later_admission_deductible_factor: Ratio = Decimal(1)

    @field_validator("deductible")
    @classmethod
    def _deductible(cls, v: dict[str, Decimal]) -> dict[str, Decimal]:
        for key, amount in _check_level_table(v).items():
            _check_amount(amount, f"起付线[{key}]")
        return v

    @field_validator("ratio", "retired_ratio")
    @classmethod
    def _ratios(cls, v: dict[str, Decimal] | None) -> dict[str, Decimal] | None:
        if v is None:
            return v
        for key, r in _check_level_table(v).items():
            _check_ratio(r, f"支付比例[{key}]")
        return v

    @field_validator("later_admission_deductible_factor")
    @classmethod
    def _factor(cls, v: Decimal) -> Decimal:
        return _check_ratio(v, "再次住院起付线折算比例")


class Tilt(Strict):
    """A ratio increase (倾斜) for some persons at some institutions."""

    name: str
    points: Ratio
    assistance: list[str] | None = None
    institution_admdvs: str | None = None

    @field_validator("assistance")
    @classmethod
    def _groups(cls, v: list[str] | None) -> list[str] | None:
        for g in v or []:
            if g not in ASSISTANCE_GROUPS:
                raise ValueError(f"未知的救助人群 {g!r}，可用: {', '.join(ASSISTANCE_GROUPS)}")
        return v


class BasicLayer(Strict):
    fund_pay_type: str
    cap: Yuan | None = None
    benefits: dict[str, BasicBenefit]
    out_of_region_unfiled_reduction: Ratio = Decimal(0)
    tilts: list[Tilt] = Field(default_factory=list)

    @field_validator("benefits")
    @classmethod
    def _categories(cls, v: dict[str, BasicBenefit]) -> dict[str, BasicBenefit]:
        for key in v:
            if key not in BENEFIT_CATEGORIES:
                raise ValueError(f"未知的待遇类别 {key!r}，可用: {', '.join(BENEFIT_CATEGORIES)}")
        return v

    @field_validator("cap")
    @classmethod
    def _cap(cls, v: Decimal | None) -> Decimal | None:
        return _check_amount(v, "年度最高支付限额")


class Band(Strict):
    """One band of a cumulative layer; ``upto`` is measured above the deductible."""

    upto: Yuan | None = None
    ratio: Ratio

    @field_validator("ratio")
    @classmethod
    def _ratio(cls, v: Decimal) -> Decimal:
        return _check_ratio(v, "分段支付比例")


class SpecialGroups(Strict):
    groups: list[str]
    deductible_factor: Ratio = Decimal(1)
    ratio_add: Ratio = Decimal(0)
    capped: bool = True


class _YearlyLayer(Strict):
    # The benefit categories (住院, 门诊慢特病 …) whose burden this layer covers; None = every
    # category the policy covers. 大病 often covers only inpatient and special outpatient care.
    benefits: list[str] | None = None

    @field_validator("benefits")
    @classmethod
    def _benefit_names(cls, v: list[str] | None) -> list[str] | None:
        for key in v or []:
            if key not in BENEFIT_CATEGORIES:
                raise ValueError(f"未知的待遇类别 {key!r}，可用: {', '.join(BENEFIT_CATEGORIES)}")
        return v


class CriticalIllnessLayer(_YearlyLayer):
    fund_pay_type: str
    deductible: Yuan
    bands: list[Band]
    cap: Yuan | None = None
    special_groups: SpecialGroups | None = None

    @model_validator(mode="after")
    def _bands_ascend(self) -> "CriticalIllnessLayer":
        last = Decimal(0)
        for i, band in enumerate(self.bands):
            if band.upto is None:
                if i != len(self.bands) - 1:
                    raise ValueError("只有最后一段可以不写 upto（不设上限）")
            elif band.upto <= last:
                raise ValueError(f"分段上限必须递增：第{i + 1}段 upto={band.upto}")
            else:
                last = band.upto
        if not self.bands:
            raise ValueError("至少需要一个分段")
        return self


class LargeAmountLayer(_YearlyLayer):
    fund_pay_type: str
    ratio: Ratio
    cap: Yuan | None = None


class CivilServantLayer(_YearlyLayer):
    fund_pay_type: str
    ratio: Ratio
    cap: Yuan | None = None
    line_flag: Literal["nego_drug", "all"] = "nego_drug"


class AssistanceGroup(Strict):
    deductible: Yuan = Decimal(0)
    ratio: Ratio
    cap: Yuan | None = None


class AssistanceLayer(_YearlyLayer):
    fund_pay_type: str
    groups: dict[str, AssistanceGroup]
    exclude_out_of_region_without_referral: bool = False

    @field_validator("groups")
    @classmethod
    def _groups(cls, v: dict[str, AssistanceGroup]) -> dict[str, AssistanceGroup]:
        for g in v:
            if g not in ASSISTANCE_GROUPS:
                raise ValueError(f"未知的救助人群 {g!r}，可用: {', '.join(ASSISTANCE_GROUPS)}")
        return v


class SchemeParams(Strict):
    """The layers one insurance type (险种) has under a policy."""

    basic: BasicLayer
    critical_illness: CriticalIllnessLayer | None = None
    large_amount: LargeAmountLayer | None = None
    civil_servant: CivilServantLayer | None = None
    assistance: AssistanceLayer | None = None


class PoolingRegion(Strict):
    admdvs: str
    name: str = ""

    @field_validator("admdvs")
    @classmethod
    def _digits(cls, v: str) -> str:
        if not v.isdigit() or not 2 <= len(v) <= 6:
            raise ValueError(f"统筹区划应为 2–6 位数字前缀，实际为 {v!r}")
        return v


class ResolvedPolicy(Strict):
    """A policy's parameters as they applied on one date."""

    id: str
    name: str
    pooling_region: PoolingRegion
    insutypes: list[str]
    med_types: dict[str, str]
    med_type_aliases: dict[str, str] = Field(default_factory=dict)
    schemes: dict[str, SchemeParams]
    on: str  # the ISO date from which these values are in force (resolved for it or a later date)

    @model_validator(mode="after")
    def _consistent(self) -> "ResolvedPolicy":
        for insutype in self.insutypes:
            if insutype not in self.schemes:
                raise ValueError(f"险种 {insutype} 列在 insutypes 中，但 schemes 中没有它的参数")
        for code, category in self.med_types.items():
            if category not in BENEFIT_CATEGORIES:
                raise ValueError(f"med_types[{code}] 的待遇类别 {category!r} 未知")
        return self
