"""The indicators a bureau reports (清远's five-year-plan table and the other figures), computed
from the platform's data. An indicator the data cannot give says so (``status: no_data``,
暂无数据) and why; a target from the plan is shown beside a value, never used as one.

Every ratio keeps its numerator and denominator (yuan or counts) so that it can be checked.
Definitions (docs/fund.md §3):

- 参保率 = persons insured on the last day of the period (职工 + 居民) ÷ resident population;
- 基金收入/支出 (含生育) = income and spending of the employees' pool, maternity, personal
  accounts, the residents' fund and critical-illness insurance, transfers among them left out;
- 政策范围内住院费用基金支付比例 = (hifp_pay + hifmi_pay + hifob_pay) ÷ inscp_scp_amt over
  inpatient settlements (统筹 + 大病/大额 over 符合政策范围金额), by 在职/退休 and by level;
- 救助比例 = maf_pay ÷ (inscp_scp_amt − hifp − hifmi − hifob − cvlserv) over inpatient
  settlements of each assistance group (what assistance paid of the policy-scope cost left);
- 综合报销比例 = fund_pay_sumamt ÷ medfee_sumamt;
- DRG/DIP 付费住院费用占比 = inpatient medfee_sumamt of settlements paid by group (imported
  grouping results) ÷ all inpatient medfee_sumamt;
- 直接结算率 = inpatient cost settled through the settlement interface ÷ all inpatient cost
  (direct + manual reimbursement), in the city (in_region) and outside it.
"""

from __future__ import annotations

import datetime as dt
from collections import namedtuple
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, cast, func, or_, select
from sqlalchemy.engine import Connection

from yibao.settlement.model import ASSISTANCE_ORDER
from yibao.storage import schema as s

from . import ledger
from .accounts import ASSISTANCE_NAMES, BASIC_SCOPE, LEVEL_GROUPS, SCHEMES, category_of
from .params import FundParams
from .params import load as load_params
from .sqlutil import TS, month_end, sql


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def _ratio(num: int, den: int) -> float | None:
    return None if not den else round(num / den, 6)


def _pct(x: float | None) -> str:
    return "暂无数据" if x is None else f"{x * 100:.2f}%"


def _target(params: FundParams, key: str, on: dt.date) -> str | None:
    path = f"targets.{key}"
    return str(params.fund.get(path, on)) if params.fund.has(path) else None


def indicator(code: str, category: str, name: str, unit: str, **kw: Any) -> dict[str, Any]:
    out = {"code": code, "category": category, "name": name, "unit": unit, "status": "ok", "value": None,
           "display": None, "formula": "", "note": "", "target": None, "breakdown": []}
    out.update(kw)
    if out["status"] == "no_data":
        out["display"] = "暂无数据"
    return out


def no_data(code: str, category: str, name: str, unit: str, why: str, **kw: Any) -> dict[str, Any]:
    return indicator(code, category, name, unit, status="no_data", note=why, **kw)


def _last_period(conn: Connection, year: int, month: int | None) -> str | None:
    if month is not None:
        if not 1 <= month <= 12:
            raise ValueError(f"月份应为 1–12，实际为 {month}")
        return f"{year:04d}-{month:02d}"
    t = s.fund_month_acct
    last = conn.execute(select(func.max(t.c.period)).where(t.c.period >= f"{year:04d}-01").where(t.c.period <= f"{year:04d}-12")).scalar()
    return last


# the amount fields the indicators below use (the cube's other sums would be read for nothing)
CUBE_FIELDS = ("medfee_sumamt", "inscp_scp_amt", "hifp_pay", "hifmi_pay", "hifob_pay", "cvlserv_pay", "maf_pay", "fund_pay_sumamt")
CubeRow = namedtuple("CubeRow", ["insutype", "psn_type", "medins_lv", "med_type", "in_region", "assistance", "setl_cnt", *CUBE_FIELDS])


def _cube(conn: Connection, first: str, last: str) -> list[Any]:
    """The settlement aggregates of ``first``..``last`` added up over the months: one row per
    scheme × psn_type × level × med_type × region × assistance group, with ``setl_cnt`` and the
    amount fields. Every indicator here is a sum over the whole period, so the database adds the
    months up: December reads ~330 rows instead of ~3,000, and the Python below stays cheap."""
    t = s.fund_month_setl
    dims = [t.c.insutype, t.c.psn_type, t.c.medins_lv, t.c.med_type, t.c.in_region, t.c.assistance]
    # CAST: PostgreSQL's SUM(bigint) is numeric (Decimal in Python); the ratios need ints
    sums = [cast(func.sum(t.c[name]), BigInteger).label(name) for name in ("setl_cnt", *CUBE_FIELDS)]
    rows = conn.execute(select(*dims, *sums).where(t.c.period >= first).where(t.c.period <= last).group_by(*dims))
    # plain named tuples: the code below reads ~30,000 fields, and a SQLAlchemy Row's attribute
    # access costs about 2 µs against a named tuple's 0.05 µs
    return [CubeRow(*r) for r in rows]


def population_from_region(region: str | Path) -> tuple[int, str]:
    """The prefecture's population from a synthetic region's admdvs.parquet."""
    import pyarrow.parquet as pq

    table = pq.read_table(Path(region) / "admdvs.parquet").to_pylist()
    top = [r for r in table if r.get("admdvs_lv") == "prefecture"] or table
    return int(top[0]["population"]), f"{Path(region).name}/admdvs.parquet（{top[0].get('name', '')}，合成区域的 population 为最后一年年末在保人数）"


def compute(
    conn: Connection, year: int, month: int | None = None, *, params: FundParams | None = None,
    population: int | None = None, population_source: str = "", fast: bool = False, flows: ledger.Flows | None = None,
) -> dict[str, Any]:
    """Indicators for January..``month`` of ``year`` (default: the last month with data).
    ``fast`` leaves out the few that need a pass over the year's settlements (for the dashboard);
    ``flows``: the ledger already read by the caller (``ledger.read_flows``)."""
    params = params or load_params()
    last = _last_period(conn, year, month)
    first = f"{year:04d}-01"
    out: dict[str, Any] = {"year": year, "period_from": first, "period_to": last, "indicators": []}
    add = out["indicators"].append
    on = dt.date(year, 12, 31)
    if last is None:
        out["note"] = f"{year}年没有记账数据（先运行 yibao fund post）"
        return out
    cube = _cube(conn, first, last)
    levels = {}

    # ── 参保覆盖 ──
    e = s.fund_month_enrol
    enrol = list(conn.execute(select(e.c.insutype, e.c.psn_type, e.c.assistance, e.c.psn_cnt).where(e.c.period == last)))
    insured = sum(r.psn_cnt for r in enrol)
    by_ins = {}
    for r in enrol:
        by_ins[r.insutype] = by_ins.get(r.insutype, 0) + r.psn_cnt
    pop, pop_source = population, population_source
    if pop is None and params.fund.has("population"):
        value = params.fund.get("population", on)
        if value is not None:
            pop, pop_source = int(value), f"参数 {params.fund.id}:population"
    breakdown = [{"label": {"310": "职工医保", "390": "居民医保"}.get(k, k), "psn_cnt": v} for k, v in sorted(by_ins.items())]
    if pop:
        add(indicator("coverage_rate", "参保覆盖", "基本医疗保险参保率", "%", value=_ratio(insured, pop),
                      display=_pct(_ratio(insured, pop)), numerator=insured, denominator=pop,
                      formula=f"{last}月末参保人数 ÷ 常住人口", note=f"常住人口来源：{pop_source}",
                      target=_target(params, "coverage_rate", on), breakdown=breakdown))
    else:
        add(no_data("coverage_rate", "参保覆盖", "基本医疗保险参保率", "%",
                    f"没有常住人口数据（参数 population 为空，也未用 --region 指定合成区域）；{last}月末参保 {insured} 人",
                    numerator=insured, target=_target(params, "coverage_rate", on), breakdown=breakdown))

    # ── 基金安全 ──
    basic = ledger.consolidated_position(conn, last, BASIC_SCOPE, "basic", "基本医疗保险（含生育保险）", flows=flows)
    contributed = conn.execute(select(func.count()).select_from(s.fund_contributions)
                               .where(s.fund_contributions.c.period >= first).where(s.fund_contributions.c.period <= last)).scalar_one()
    contribution_note = ("收入中的征缴由参保登记按参数推算（yibao fund contributions）" if contributed
                         else "本期没有征缴记账（先运行 yibao fund contributions），收入不完整")
    for code, name, fen in (("fund_income", "基本医疗保险（含生育保险）基金收入", basic.income_ytd),
                            ("fund_spending", "基本医疗保险（含生育保险）基金支出", basic.spending_ytd)):
        add(indicator(code, "基金安全", name, "元", value=_yuan(fen), display=f"{fen / 1e10:.4f} 亿元（{_yuan(fen)} 元）",
                      formula=f"{first}至{last} 职工统筹、生育、个人账户、居民医保、大病保险合计，基金间划转相互抵消",
                      note=contribution_note))
    for key in ("310", "390"):
        name, members = SCHEMES[key]
        pos = ledger.consolidated_position(conn, last, members, key, name, flows=flows)
        mor = pos.months_of_reserve
        add(indicator(f"reserve_months_{key}", "基金安全", f"{name}累计结余可支付月数", "月",
                      value=None if mor is None else round(float(mor), 2),
                      display="暂无数据" if mor is None else f"{float(mor):.1f} 个月",
                      status="ok" if mor is not None else "no_data",
                      numerator=_yuan(pos.balance), denominator=None if pos.avg_monthly_spending is None else _yuan(round(pos.avg_monthly_spending)),
                      formula=f"{last}月末累计结余 ÷ {pos.window_first}至{last}（{pos.window_months}个月）月均支出",
                      surplus_ytd=_yuan(pos.surplus_ytd), balance=_yuan(pos.balance)))

    # ── 保障程度 ──
    def scope_ratio(rows) -> tuple[int, int]:
        num = sum(r.hifp_pay + r.hifmi_pay + r.hifob_pay for r in rows)
        den = sum(r.inscp_scp_amt for r in rows)
        return num, den

    inpatient = [r for r in cube if category_of(r.med_type) == "inpatient"]
    emp = [r for r in inpatient if r.insutype.startswith("31")]
    parts = []
    for label, rows in (("在职", [r for r in emp if not r.psn_type.startswith("12")]),
                        ("退休", [r for r in emp if r.psn_type.startswith("12")])):
        num, den = scope_ratio(rows)
        parts.append({"label": label, "value": _ratio(num, den), "display": _pct(_ratio(num, den)),
                      "numerator": _yuan(num), "denominator": _yuan(den), "setl_cnt": sum(r.setl_cnt for r in rows)})
    num, den = scope_ratio(emp)
    add(indicator("employees_inpatient_ratio", "保障程度", "职工医保政策范围内住院费用基金支付比例", "%",
                  value=_ratio(num, den), display=_pct(_ratio(num, den)), numerator=_yuan(num), denominator=_yuan(den),
                  status="ok" if den else "no_data",
                  formula="职工住院（统筹 hifp_pay + 大额 hifob_pay）÷ 符合政策范围金额 inscp_scp_amt",
                  target=_target(params, "employees_inpatient_ratio", on), breakdown=parts))
    res = [r for r in inpatient if r.insutype.startswith("39")]
    parts = []
    for label in ("三级", "二级", "一级及以下"):
        rows = [r for r in res if LEVEL_GROUPS.get(r.medins_lv) == label]
        n, d = scope_ratio(rows)
        parts.append({"label": label, "value": _ratio(n, d), "display": _pct(_ratio(n, d)), "numerator": _yuan(n),
                      "denominator": _yuan(d), "setl_cnt": sum(r.setl_cnt for r in rows)})
    num, den = scope_ratio(res)
    add(indicator("residents_inpatient_ratio", "保障程度", "城乡居民医保政策范围内住院费用基金支付比例", "%",
                  value=_ratio(num, den), display=_pct(_ratio(num, den)), numerator=_yuan(num), denominator=_yuan(den),
                  status="ok" if den else "no_data",
                  formula="居民住院（统筹 hifp_pay + 大病 hifmi_pay）÷ 符合政策范围金额 inscp_scp_amt；一级及以下含乡镇卫生院/社区",
                  target=_target(params, "residents_inpatient_ratio", on), breakdown=parts))
    parts = []
    tot_n = tot_d = 0
    for g in ASSISTANCE_ORDER:
        rows = [r for r in inpatient if r.assistance == g]
        n = sum(r.maf_pay for r in rows)
        d = sum(r.inscp_scp_amt - r.hifp_pay - r.hifmi_pay - r.hifob_pay - r.cvlserv_pay for r in rows)
        three = sum(r.hifp_pay + r.hifmi_pay + r.hifob_pay + r.cvlserv_pay + r.maf_pay for r in rows)
        scope = sum(r.inscp_scp_amt for r in rows)
        tot_n += n
        tot_d += d
        parts.append({"label": ASSISTANCE_NAMES[g], "group": g, "value": _ratio(n, d), "display": _pct(_ratio(n, d)),
                      "numerator": _yuan(n), "denominator": _yuan(d), "setl_cnt": sum(r.setl_cnt for r in rows),
                      "three_layer_ratio": _ratio(three, scope)})
    add(indicator("assistance_ratio", "保障程度", "重点救助对象符合规定的住院医疗费用救助比例", "%",
                  value=_ratio(tot_n, tot_d), display=_pct(_ratio(tot_n, tot_d)), numerator=_yuan(tot_n), denominator=_yuan(tot_d),
                  status="ok" if tot_d else "no_data",
                  formula="救助对象住院 医疗救助 maf_pay ÷（符合政策范围金额 − 统筹 − 大病/大额 − 公务员补助）；three_layer_ratio 为三重保障后政策范围内报销比例",
                  target=_target(params, "assistance_ratio", on), breakdown=parts))
    for key, label in (("310", "职工医保"), ("390", "居民医保"), ("*", "合计")):
        rows = [r for r in cube if key == "*" or r.insutype.startswith(key[:2])]
        n = sum(r.fund_pay_sumamt for r in rows)
        d = sum(r.medfee_sumamt for r in rows)
        levels[key] = (n, d)
    parts = [{"label": label, "value": _ratio(*levels[k]), "display": _pct(_ratio(*levels[k])), "numerator": _yuan(levels[k][0]),
              "denominator": _yuan(levels[k][1])} for k, label in (("310", "职工医保"), ("390", "居民医保"))]
    add(indicator("overall_reimbursement_ratio", "保障程度", "综合报销比例（基金支付 ÷ 医疗总费用）", "%",
                  value=_ratio(*levels["*"]), display=_pct(_ratio(*levels["*"])), numerator=_yuan(levels["*"][0]),
                  denominator=_yuan(levels["*"][1]), status="ok" if levels["*"][1] else "no_data",
                  formula="基金支付合计 fund_pay_sumamt ÷ 医疗费总额 medfee_sumamt（全部医疗类别）", breakdown=parts))
    parts = []
    for ins, label in (("31", "职工医保"), ("39", "居民医保")):
        for lv in ("level3", "level2", "level1", "township"):
            rows = [r for r in inpatient if r.insutype.startswith(ins) and r.medins_lv == lv]
            n, d = scope_ratio(rows)
            if d:
                parts.append({"label": f"{label}·{ {'level3': '三级', 'level2': '二级', 'level1': '一级', 'township': '乡镇/社区'}[lv] }",
                              "value": _ratio(n, d), "display": _pct(_ratio(n, d)), "numerator": _yuan(n), "denominator": _yuan(d)})
    num, den = scope_ratio(inpatient)
    add(indicator("policy_scope_ratio_inpatient", "保障程度", "政策范围内住院费用报销比例（按险种和医院等级）", "%",
                  value=_ratio(num, den), display=_pct(_ratio(num, den)), numerator=_yuan(num), denominator=_yuan(den),
                  status="ok" if den else "no_data", formula="（统筹 + 大病/大额）÷ 符合政策范围金额，住院", breakdown=parts))

    # ── 精细管理 ──
    if fast:
        add(no_data("drg_dip_share", "精细管理", "按DRG/DIP付费的住院费用占全部住院费用的比例", "%", "仪表盘不计算此项，见 yibao fund kpi",
                    target=_target(params, "drg_dip_share", on)))
    else:
        add(_drg_dip_share(conn, year, first, last, params, on))
    why = "本平台没有集中采购平台的采购数据（药品、耗材采购金额与带量采购品种）"
    for code, name, unit in (("drug_platform_share", "公立医疗机构通过集中采购平台线上采购药品金额占比", "%"),
                             ("consumable_platform_share", "公立医疗机构通过集中采购平台线上采购高值医用耗材金额占比", "%"),
                             ("vbp_drugs", "药品集中带量采购品种", "个"), ("vbp_consumables", "医用耗材集中带量采购品种", "个")):
        add(no_data(code, "精细管理", name, unit, why, target=_target(params, code, on)))

    # ── 优质服务 ──
    if fast:
        for code, name in (("direct_out_of_city", "住院费用跨市直接结算率"), ("direct_in_city", "住院费用市内直接结算率")):
            add(no_data(code, "优质服务", name, "%", "仪表盘不计算此项，见 yibao fund kpi", target=_target(params, code, on)))
    else:
        out["indicators"].extend(_direct_settlement(conn, first, last, params, on))
    why = "本平台没有政务服务事项清单及其办理渠道数据"
    add(no_data("online_services", "优质服务", "医疗保障政务服务事项线上可办率", "%", why, target=_target(params, "online_services", on)))
    add(no_data("counter_services", "优质服务", "医疗保障政务服务事项窗口可办率", "%", why, target=_target(params, "counter_services", on)))

    # ── 其他 ──
    by = {}
    for r in cube:
        key = (r.insutype, category_of(r.med_type))
        cell = by.setdefault(key, [0, 0, 0])
        cell[0] += r.setl_cnt
        cell[1] += r.fund_pay_sumamt
        cell[2] += r.medfee_sumamt
    from .accounts import CATEGORY_NAMES, INSUTYPE_NAMES

    add(indicator("settlements", "其他", "结算人次与基金支付（按险种、医疗类别）", "人次",
                  value=sum(v[0] for v in by.values()), display=f"{sum(v[0] for v in by.values()):,} 人次",
                  formula="结算人次（撤销计 −1）；基金支付 fund_pay_sumamt",
                  breakdown=[{"label": f"{INSUTYPE_NAMES.get(k[0], k[0])}·{CATEGORY_NAMES.get(k[1], k[1])}", "setl_cnt": v[0],
                              "fund_pay_sumamt": _yuan(v[1]), "medfee_sumamt": _yuan(v[2])} for k, v in sorted(by.items())]))
    maf_rows = [r for r in cube if r.assistance]
    parts = []
    for g in ASSISTANCE_ORDER:
        rows = [r for r in maf_rows if r.assistance == g]
        parts.append({"label": ASSISTANCE_NAMES[g], "setl_cnt": sum(r.setl_cnt for r in rows),
                      "maf_pay": _yuan(sum(r.maf_pay for r in rows))})
    add(indicator("assistance_settlements", "其他", "救助对象结算人次与医疗救助支付", "人次",
                  value=sum(r.setl_cnt for r in maf_rows), display=f"{sum(r.setl_cnt for r in maf_rows):,} 人次，救助支付 {_yuan(sum(r.maf_pay for r in maf_rows))} 元",
                  formula="救助对象（结算时有效的救助身份）的结算人次；医疗救助基金支付 maf_pay", breakdown=parts))
    out_rows = [r for r in cube if r.in_region == "0"]
    add(indicator("out_of_region_settlements", "其他", "统筹区外就医结算人次", "人次", value=sum(r.setl_cnt for r in out_rows),
                  display=f"{sum(r.setl_cnt for r in out_rows):,} 人次，医疗费用 {_yuan(sum(r.medfee_sumamt for r in out_rows))} 元",
                  formula="结算机构不在本统筹区（in_region = 0）"))
    groups_enrol = {}
    for r in enrol:
        if r.assistance:
            groups_enrol[r.assistance] = groups_enrol.get(r.assistance, 0) + r.psn_cnt
    members = _assistance_members(conn, month_end(last))
    if members:
        insured_members = sum(groups_enrol.values())
        add(indicator("assistance_enrolment", "参保覆盖", "救助对象参保率（应保尽保）", "%", value=_ratio(insured_members, members),
                      display=_pct(_ratio(insured_members, members)), numerator=insured_members, denominator=members,
                      formula=f"{last}月末在保的救助对象 ÷ 有效救助身份人数（identities）",
                      note="救助身份只登记在本平台的参保人身上，未参保的救助对象不在库中，故比例偏高；与民政名单比对后方为真实比例",
                      breakdown=[{"label": ASSISTANCE_NAMES[g], "psn_cnt": groups_enrol.get(g, 0)} for g in ASSISTANCE_ORDER]))
    recovered = penalties = 0
    t = s.fund_month_acct
    # only the two kinds of account (the year's ~400 account rows are otherwise all read for none)
    recovery_accounts = or_(t.c.acct_code.like("%.inc.recovery"), t.c.acct_code.like("%.inc.penalty"))
    for code, dr, cr in conn.execute(select(t.c.acct_code, t.c.debit, t.c.credit).where(t.c.period >= first).where(t.c.period <= last)
                                     .where(recovery_accounts)):
        if code.endswith(".inc.recovery"):
            recovered += cr - dr
        elif code.endswith(".inc.penalty"):
            penalties += cr - dr
    add(indicator("recoveries", "其他", "追回违规基金与违约金", "元", value=_yuan(recovered + penalties),
                  display=f"追回 {_yuan(recovered)} 元，违约金 {_yuan(penalties)} 元",
                  formula="账簿中 追回违规基金收入 与 违约金收入（ledger.post_recovery 记账）",
                  note="检查机构数、处理机构数、行政罚款暂无数据（本平台没有稽核案件台账）"))
    if not fast:
        add(_grouping_rate(conn, first, last))
    return out


def _assistance_members(conn: Connection, day: dt.date) -> int:
    when = dt.datetime.combine(day, dt.time(23, 59, 59))
    return conn.execute(sql(
        "SELECT COUNT(DISTINCT psn_no) FROM identities WHERE assistance IS NOT NULL AND begntime <= :w"
        " AND (endtime IS NULL OR endtime >= :w)", w=TS), {"w": when}).scalar_one()


def _inpatient_settlements_sql(extra: str = "") -> str:
    return (
        "FROM settlements s WHERE s.status <> 'voided' AND s.setl_time >= :start AND s.setl_time < :end"
        " AND (s.med_type LIKE '2%' OR s.med_type = '52')" + extra
    )


def _bounds(first: str, last: str) -> dict[str, dt.datetime]:
    from .sqlutil import month_start, next_month

    return {"start": month_start(first), "end": month_start(next_month(last))}


def _drg_dip_share(conn: Connection, year: int, first: str, last: str, params: FundParams, on: dt.date) -> dict[str, Any]:
    name = "按DRG/DIP付费的住院费用占全部住院费用的比例"
    target = _target(params, "drg_dip_share", on)
    cases = conn.execute(select(func.count()).select_from(s.fund_payment_cases)).scalar_one()
    if not cases:
        return no_data("drg_dip_share", "精细管理", name, "%",
                       "没有导入DRG/DIP付费结果（yibao drg pay / yibao dip clear 的 cases.csv，用 yibao fund import-grouping 导入）",
                       target=target)
    b = _bounds(first, last)
    total = conn.execute(sql(f"SELECT COALESCE(SUM(s.medfee_sumamt), 0) {_inpatient_settlements_sql()}", start=TS, end=TS), b).scalar_one()
    paid = conn.execute(sql(
        f"SELECT COALESCE(SUM(s.medfee_sumamt), 0) {_inpatient_settlements_sql()}"
        " AND EXISTS (SELECT 1 FROM fund_payment_cases c WHERE c.setl_id = COALESCE(s.init_setl_id, s.setl_id) AND c.paid_by_group = :t)",
        start=TS, end=TS), {**b, "t": True}).scalar_one()
    if not total:
        return no_data("drg_dip_share", "精细管理", name, "%", f"{first}至{last}没有住院结算", target=target)
    return indicator("drg_dip_share", "精细管理", name, "%", value=_ratio(int(paid), int(total)), display=_pct(_ratio(int(paid), int(total))),
                     numerator=_yuan(int(paid)), denominator=_yuan(int(total)), target=target,
                     formula="已导入的DRG/DIP付费结果中按病组/病种付费（非按项目）的住院结算的医疗费用 ÷ 全部住院医疗费用")


def _grouping_rate(conn: Connection, first: str, last: str) -> dict[str, Any]:
    t = s.fund_payment_cases
    rows = list(conn.execute(select(t.c.method, t.c.case_kind, func.count()).group_by(t.c.method, t.c.case_kind)))
    if not rows:
        return no_data("grouping_rate", "其他", "DRG/DIP 入组率", "%", "没有导入DRG/DIP付费结果")
    total = sum(r[2] for r in rows)
    ungrouped = sum(r[2] for r in rows if r[1] in ("ffs_ungrouped", "ffs"))
    return indicator("grouping_rate", "其他", "DRG/DIP 入组率", "%", value=_ratio(total - ungrouped, total),
                     display=_pct(_ratio(total - ungrouped, total)), numerator=total - ungrouped, denominator=total,
                     formula="导入的付费结果中 入组（非 ffs_ungrouped/ffs）病例 ÷ 全部病例",
                     breakdown=[{"label": f"{r[0]}·{r[1]}", "cases": r[2]} for r in rows])


def _direct_settlement(conn: Connection, first: str, last: str, params: FundParams, on: dt.date) -> list[dict[str, Any]]:
    manual = [str(x) for x in (params.fund.get("manual_reimbursement_infno", on) or [])] if params.fund.has("manual_reimbursement_infno") else []
    b = _bounds(first, last)
    rows = conn.execute(sql(
        f"SELECT CASE WHEN s.in_region THEN 1 ELSE 0 END, s.infno, COUNT(*), COALESCE(SUM(s.medfee_sumamt), 0) {_inpatient_settlements_sql()}"
        " GROUP BY CASE WHEN s.in_region THEN 1 ELSE 0 END, s.infno", start=TS, end=TS), b).all()
    out = []
    for flag, code, name in ((0, "direct_out_of_city", "住院费用跨市直接结算率"), (1, "direct_in_city", "住院费用市内直接结算率")):
        mine = [r for r in rows if int(r[0]) == flag]
        target = _target(params, code, on)
        if not mine:
            where = "统筹区外（跨市）" if flag == 0 else "统筹区内"
            out.append(no_data(code, "优质服务", name, "%", f"{first}至{last}没有{where}住院结算记录", target=target))
            continue
        direct = sum(int(r[3]) for r in mine if r[1] not in manual)
        total = sum(int(r[3]) for r in mine)
        note = "" if manual else "本平台尚无手工（零星）报销通道，全部住院结算均为直接结算；接入后在参数 manual_reimbursement_infno 中列出其交易号"
        out.append(indicator(code, "优质服务", name, "%", value=_ratio(direct, total), display=_pct(_ratio(direct, total)),
                             numerator=_yuan(direct), denominator=_yuan(total), target=target, note=note,
                             formula="经结算接口直接结算的住院费用 ÷（直接结算 + 手工报销）住院费用",
                             settlements=sum(int(r[2]) for r in mine)))
    return out


def import_grouping(conn: Connection, path: str | Path, method: str) -> dict[str, int]:
    """Record which settlements DRG or DIP paid, from a ``cases.csv`` written by
    ``yibao drg pay`` (column ``kind``) or ``yibao dip clear`` (column ``case_kind``)."""
    import csv

    path = Path(path)
    if path.is_dir():
        path = path / "cases.csv"
    if method not in ("drg", "dip"):
        raise ValueError("method 应为 drg 或 dip")
    rows = []
    with open(path, encoding="utf-8", newline="") as fh:
        for rec in csv.DictReader(fh):
            kind = rec.get("kind") or rec.get("case_kind") or ""
            group = rec.get("drg") or rec.get("group_code") or None
            rows.append(dict(setl_id=rec["setl_id"], method=method, group_code=group, case_kind=kind,
                             paid_by_group=not kind.startswith("ffs"), source=str(path)[:300]))
    t = s.fund_payment_cases
    ids = [r["setl_id"] for r in rows]
    for i in range(0, len(ids), 500):
        conn.execute(t.delete().where(t.c.setl_id.in_(ids[i:i + 500])))
    if rows:
        conn.execute(t.insert(), rows)
    return {"cases": len(rows), "paid_by_group": sum(1 for r in rows if r["paid_by_group"])}


def find(result: dict[str, Any], code: str) -> dict[str, Any]:
    for item in result["indicators"]:
        if item["code"] == code:
            return item
    raise KeyError(code)


