"""The funds, their accounts, and the categories the fund reports use.

Every fund (a ``fund_pay_type``) keeps its own accounts (分账核算):

| account | type | meaning |
|---|---|---|
| ``F.bank`` | asset | 基金存款 (cash of the fund) |
| ``F.payable`` | liability | 应付定点医药机构款 (benefits booked, not yet paid out) |
| ``F.equity`` | net asset | 期初累计结余 (the balance carried into the ledger) |
| ``F.inc.<source>`` | income | 征缴/财政补助/划入/追回 … |
| ``F.exp.<use>`` | expense | 待遇支出/清算调整/划出/资助参保 … |

A fund's accumulated balance (累计结余) is its opening balance + income − expense, which equals
bank − payable (the balance-sheet identity the tests check).
"""

from __future__ import annotations

from dataclasses import dataclass

# fund_pay_type → (name, scheme). Scheme '310' is the employees' basic medical insurance
# (with maternity folded in), '390' the residents', 'supp' the employees' supplementary funds,
# 'maf' medical assistance.
FUNDS: dict[str, tuple[str, str]] = {
    "310100": ("职工基本医疗保险统筹基金", "310"),
    "310200": ("职工基本医疗保险个人账户", "310"),
    "510100": ("生育保险（并入职工医保，单列核算）", "310"),
    "390100": ("城乡居民基本医疗保险基金", "390"),
    "390200": ("城乡居民大病保险", "390"),
    "330100": ("职工大额医疗费用补助", "supp"),
    "320100": ("公务员医疗补助", "supp"),
    "610100": ("医疗救助基金", "maf"),
}
FUND_ORDER = list(FUNDS)

# The groups of funds reported together. The months of reserve the 2009 guidance speaks of are
# the pooled funds' ('310': the employees' pool with maternity folded in; '390': the residents'
# fund with the critical-illness insurance it buys); personal accounts are shown on their own.
SCHEMES: dict[str, tuple[str, tuple[str, ...]]] = {
    "310": ("职工医保统筹基金（含生育保险）", ("310100", "510100")),
    "310200": ("职工医保个人账户", ("310200",)),
    "390": ("城乡居民医保基金（含大病保险）", ("390100", "390200")),
    "supp": ("职工补充医疗保障（大额、公务员补助）", ("330100", "320100")),
    "maf": ("医疗救助", ("610100",)),
}
POOLED = ("310", "390")
# "基本医疗保险（含生育保险）" as the five-year plan counts it.
BASIC_SCOPE = ("310100", "310200", "510100", "390100", "390200")

INCOME_NAMES = {
    "employer": "单位缴费收入",
    "employee": "个人缴费收入（职工）",
    "individual": "个人缴费收入（居民）",
    "subsidy": "财政补助收入",
    "transfer": "划入收入",
    "recovery": "追回违规基金收入",
    "penalty": "违约金收入",
    "interest": "利息收入",
    "other": "其他收入",
}
EXPENSE_NAMES = {
    "benefit": "待遇支出（结算）",
    "clearing": "医保支付清算调整",
    "transfer": "划出支出",
    "aid": "资助参保支出",
    "other": "其他支出",
}
# Inter-fund transfers name the other fund: '310100.exp.transfer.310200' (pool → personal
# accounts) and '310200.inc.transfer.310100'. When funds are added up, a transfer between two of
# them cancels and is left out; one to or from a fund outside the group stays.
TRANSFER_PREFIXES = ("inc.transfer", "exp.transfer")


def transfer_counterpart(kind: str) -> str | None:
    """'exp.transfer.310200' → '310200'; None for any other kind."""
    for prefix in TRANSFER_PREFIXES:
        if kind.startswith(prefix + "."):
            return kind[len(prefix) + 1:]
    return None

LEVEL_NAMES = {
    "level3": "三级医院",
    "level2": "二级医院",
    "level1": "一级医院",
    "township": "乡镇卫生院/社区卫生服务中心",
    "village": "村卫生室",
    "pharmacy": "定点零售药店",
    "": "未知等级",
}
LEVEL_ORDER = ["level3", "level2", "level1", "township", "village", "pharmacy", ""]
# The five-year plan reports residents' ratios for 三级 / 二级 / 一级 (一级 and below).
LEVEL_GROUPS = {"level3": "三级", "level2": "二级", "level1": "一级及以下", "township": "一级及以下", "village": "一级及以下"}

CATEGORY_NAMES = {
    "inpatient": "住院",
    "outpatient": "普通门诊（含急诊）",
    "chronic": "门诊慢特病",
    "pharmacy": "定点药店购药",
    "other": "其他",
}
CATEGORY_ORDER = ["inpatient", "outpatient", "chronic", "pharmacy", "other"]
MATERNITY_MED_TYPES = ("51", "52")

INSUTYPE_NAMES = {"310": "职工医保", "390": "居民医保"}
ASSISTANCE_NAMES = {
    "tekun": "特困人员",
    "dibao": "低保对象",
    "poverty": "脱贫人口（建档立卡）",
    "low_income": "低收入人口",
}


def category_of(med_type: str) -> str:
    """The reporting category of a national med_type code."""
    if med_type.startswith("2") or med_type == "52":
        return "inpatient"
    if med_type == "14":
        return "chronic"
    if med_type.startswith("4"):
        return "pharmacy"
    if med_type.startswith("1") or med_type == "51":
        return "outpatient"
    return "other"


def category_sql(col: str) -> str:
    """The same mapping as :func:`category_of`, as a SQL CASE over column ``col``."""
    return (
        f"CASE WHEN {col} LIKE '2%' OR {col} = '52' THEN 'inpatient' "
        f"WHEN {col} = '14' THEN 'chronic' "
        f"WHEN {col} LIKE '4%' THEN 'pharmacy' "
        f"WHEN {col} LIKE '1%' OR {col} = '51' THEN 'outpatient' ELSE 'other' END"
    )


def fund_name(fund: str) -> str:
    if fund in FUNDS:
        return FUNDS[fund][0]
    from yibao.settlement.model import FUND_NAMES

    return FUND_NAMES.get(fund, fund)


def scheme_of_fund(fund: str) -> str:
    if fund in FUNDS:
        return FUNDS[fund][1]
    return "310" if fund.startswith("31") else "390" if fund.startswith("39") else "other"


@dataclass(frozen=True)
class Account:
    acct_code: str
    acct_name: str
    acct_type: str  # asset | liability | net_asset | income | expense
    fund_pay_type: str

    @property
    def kind(self) -> str:
        """'bank', 'payable', 'equity', 'inc.employer', 'exp.benefit' …"""
        return self.acct_code.split(".", 1)[1]


def account_of(code: str) -> Account:
    """The account a code names; any fund_pay_type is accepted (names fall back to the code)."""
    fund, _, kind = code.partition(".")
    name = fund_name(fund)
    if kind == "bank":
        return Account(code, f"{name}—基金存款", "asset", fund)
    if kind == "payable":
        return Account(code, f"{name}—应付医药机构款", "liability", fund)
    if kind == "equity":
        return Account(code, f"{name}—期初累计结余", "net_asset", fund)
    other = transfer_counterpart(kind)
    if kind.startswith("inc."):
        if other is not None:
            return Account(code, f"{name}—划入收入（来自{fund_name(other)}）", "income", fund)
        sub = kind[4:]
        return Account(code, f"{name}—{INCOME_NAMES.get(sub, sub)}", "income", fund)
    if kind.startswith("exp."):
        if other is not None:
            return Account(code, f"{name}—划出支出（划入{fund_name(other)}）", "expense", fund)
        sub = kind[4:]
        return Account(code, f"{name}—{EXPENSE_NAMES.get(sub, sub)}", "expense", fund)
    raise ValueError(f"不是基金科目代码: {code!r}（应为 基金代码.bank/payable/equity/inc.x/exp.x）")


def chart() -> list[Account]:
    """The standard accounts of every known fund."""
    out = []
    for fund in FUND_ORDER:
        for kind in ("bank", "payable", "equity"):
            out.append(account_of(f"{fund}.{kind}"))
        for sub in INCOME_NAMES:
            if sub != "transfer":
                out.append(account_of(f"{fund}.inc.{sub}"))
        for sub in EXPENSE_NAMES:
            if sub != "transfer":
                out.append(account_of(f"{fund}.exp.{sub}"))
    return out
