"""The front page's data: the fund API's dashboard and series for a month, and the sentences that
answer "how many months does the residents' fund last, and why did spending grow?" from it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from yibao.fund import api as fund_api
from yibao.fund.params import FundParams
from yibao.storage import schema as s

from .fmt import num, pct, signed_pct, signed_yuan, yuan

FACTOR_NAMES = {"persons": "就医人数", "visits_per_person": "人均就诊次数", "cost_per_visit": "次均基金支付"}


def periods(conn: Connection) -> list[str]:
    """Months the ledger's aggregates have, newest first ('2024-12', …)."""
    t = s.fund_month_setl
    return [r[0] for r in conn.execute(select(t.c.period).distinct().order_by(t.c.period.desc()))]


def latest_period(conn: Connection) -> str | None:
    return conn.execute(select(func.max(s.fund_month_setl.c.period))).scalar()


def gather(conn: Connection, period: str, params: FundParams) -> dict[str, Any]:
    year, month = int(period[:4]), int(period[5:7])
    flows = fund_api.read_flows(conn, year, month)  # the ledger read once for the whole page
    board = fund_api.dashboard(conn, year, month, params=params, flows=flows)
    series = fund_api.monthly_series(conn, year, month)
    balances = fund_api.balance_series(conn, year, month, flows=flows)
    board["monthly"] = series
    board["balance_series"] = balances
    board["reserve_sentence"] = reserve_sentence(board, "390")
    board["growth_sentence"] = growth_sentence(board["growth"]["total"], period)
    return board


def _scheme(board: dict[str, Any], key: str) -> dict[str, Any] | None:
    return next((x for x in board["schemes"] if x["key"] == key), None)


def reserve_sentence(board: dict[str, Any], key: str = "390") -> dict[str, Any] | None:
    """累计结余, 月均支出, 可支付月数 of one scheme, as a sentence and the formula with its numbers."""
    sc = _scheme(board, key)
    if sc is None:
        return None
    period = board["period"]
    window = sc.get("reserve_window") or {}
    mor = sc.get("months_of_reserve")
    if mor is None:
        text = (f"{sc['name']}截至{period[:4]}年{int(period[5:])}月末累计结余 {yuan(sc['balance'])} 元；"
                "近期没有基金支出，无法计算可支付月数。")
    else:
        text = (f"{sc['name']}截至{period[:4]}年{int(period[5:])}月末累计结余 {yuan(sc['balance'])} 元，"
                f"按{window.get('from', '')}至{period}共 {window.get('months', '')} 个月的月均支出 {yuan(sc['avg_monthly_spending'])} 元计算，"
                f"可支付 {mor:.1f} 个月。")
    formula = (f"可支付月数 = 累计结余 ÷ 月均支出 = {yuan(sc['balance'])} ÷ {yuan(sc['avg_monthly_spending'])} = "
               f"{'—' if mor is None else f'{mor:.2f}'} 个月")
    return {"text": text, "formula": formula, "months": mor, "name": sc["name"]}


def growth_sentence(g: dict[str, Any], period: str) -> dict[str, Any]:
    """The month's fund spending growth and what each factor contributed (LMDI, yuan)."""
    month_name = f"{period[:4]}年{int(period[5:])}月"
    if g.get("status") != "ok":
        return {"text": f"{month_name}基金支出增长无法分解：{g.get('note', '没有对比期数据')}。", "main": None, "parts": []}
    cur, base, c, gr = g["current"], g["base"], g["contributions"], g["growth"]
    total = Decimal(c["total"])
    verb = "增长" if total >= 0 else "下降"
    before = {"persons": f"{num(base['psn_cnt'])} → {num(cur['psn_cnt'])} 人",
              "visits_per_person": f"{base['visits_per_person']:.4f} → {cur['visits_per_person']:.4f} 次",
              "cost_per_visit": f"{yuan(base['cost_per_visit'])} → {yuan(cur['cost_per_visit'])} 元"}
    parts = []
    for key in ("persons", "visits_per_person", "cost_per_visit"):
        parts.append({"key": key, "name": FACTOR_NAMES[key], "change": before[key], "growth": gr[key],
                      "amount": c[key], "text": f"{FACTOR_NAMES[key]}（{before[key]}，{signed_pct(gr[key])}）贡献 {signed_yuan(c[key])} 元"})
    main = max(parts, key=lambda p: abs(Decimal(p["amount"])))
    direction = "上升" if Decimal(main["amount"]) >= 0 else "下降"
    basis = str(g["basis"]).split("（")[0]
    text = (f"{month_name}基金支出 {yuan(cur['fund_pay_sumamt'])} 元，与 {g['base_period']} 的 {yuan(base['fund_pay_sumamt'])} 元相比"
            f"（{basis}）{verb} {pct(abs(gr['total']))}（{signed_yuan(c['total'])} 元）。"
            f"其中" + "，".join(p["text"] for p in parts) + f"。{verb}主要来自{main['name']}{direction}。")
    return {"text": text, "main": main["name"], "parts": parts, "basis": g["basis"], "base_period": g["base_period"]}


def chart_data(board: dict[str, Any]) -> dict[str, Any]:
    """What the page's ECharts draw (numbers, not strings, in yuan)."""
    m = board["monthly"]

    def series(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"name": r["name"], "data": [float(v) for v in r["fund_pay_sumamt"]]} for r in rows]

    reserve = [{"name": sc["name"], "data": [p["months_of_reserve"] for p in sc["series"]]}
               for sc in board["balance_series"]["schemes"] if sc["key"] in ("310", "390")]
    g = board["growth"]["total"]
    growth = None
    if g.get("status") == "ok":
        growth = {"base": float(g["base"]["fund_pay_sumamt"]), "current": float(g["current"]["fund_pay_sumamt"]),
                  "base_label": f"{g['base_period']} 支出", "current_label": f"{g['period']} 支出",
                  "parts": [{"name": FACTOR_NAMES[k], "value": float(g["contributions"][k])}
                            for k in ("persons", "visits_per_person", "cost_per_visit")]}
    return {"months": m["months"], "by_scheme": series(m["by_scheme"]), "by_level": series(m["by_level"]),
            "by_category": series(m["by_category"]), "setl_cnt": m["setl_cnt"],
            "reserve_months": board["balance_series"]["months"], "reserve": reserve, "growth": growth}
