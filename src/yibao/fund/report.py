"""The monthly fund report (基金运行月报), in Chinese, as HTML and PDF.

``write_report(conn, year, month, out)`` writes ``report-YYYY-MM.html`` (self-contained: charts
are inline SVG with the text drawn as paths) and ``report-YYYY-MM.pdf`` (fpdf2, the CJK font of
:mod:`yibao.fund.fonts` embedded, the same charts as vector images). Sections: fund income,
spending and balances with months of reserve; spending by scheme, institution level and
medical category; the month's spending growth decomposed; the bureau's indicators; the top
institutions and diseases; warnings; definitions.
"""

from __future__ import annotations

import datetime as dt
import html
import io
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from . import api, charts, ledger
from .accounts import POOLED, SCHEMES
from .growth import FORMULA, PART_NAMES, PARTS
from .indicators import compute
from .params import FundParams
from .params import load as load_params

LEVEL_CN = {"red": "红色预警", "yellow": "黄色预警", "info": "提示"}


def _wan(yuan: str | float | None) -> str:
    if yuan is None:
        return "—"
    return f"{float(yuan) / 1e4:,.2f}"


def _months(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f}"


def gather(conn: Connection, year: int, month: int, params: FundParams, population: int | None = None,
           population_source: str = "") -> dict[str, Any]:
    """Everything the report shows, as plain data."""
    period = f"{year:04d}-{month:02d}"
    data: dict[str, Any] = {"year": year, "month": month, "period": period, "region": params.fund.region_name or "本统筹区"}
    data["balances"] = api.balances(conn, year, month)
    data["series"] = api.monthly_series(conn, year, month)
    data["indicators"] = compute(conn, year, month, params=params, population=population, population_source=population_source)
    data["growth"] = [api.growth(conn, year, month)] + [api.growth(conn, year, month, insutype=k) for k in ("310", "390")]
    data["growth_by_category"] = [api.growth(conn, year, month, category=c) for c in ("inpatient", "outpatient", "chronic", "pharmacy")]
    data["top_institutions"] = api.top_institutions(conn, year, month)
    data["top_diseases"] = api.top_diseases(conn, year, month)
    data["warnings"] = api.warnings(conn, year, month, params=params)
    trend = {}
    months = [f"{year:04d}-{m:02d}" for m in range(1, month + 1)]
    for key in POOLED:
        name, members = SCHEMES[key]
        vals = []
        for p in months:
            pos = ledger.consolidated_position(conn, p, members, key, name)
            mor = pos.months_of_reserve
            vals.append(None if mor is None else round(float(mor), 2))
        trend[name] = vals
    data["reserve_trend"] = {"months": months, "series": trend}
    return data


def make_charts(d: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """{key: (caption, svg)}"""
    s = d["series"]
    out: dict[str, tuple[str, str]] = {}
    if s["months"]:
        out["by_scheme"] = ("图1 各月基金支付（按险种，万元）", charts.stacked_months("各月基金支付（按险种）", s["months"], s["by_scheme"]))
        lv = [(x["name"], sum(float(v) for v in x["fund_pay_sumamt"]) / 1e4) for x in s["by_level"]]
        out["by_level"] = ("图2 本年累计基金支付（按医疗机构等级，万元）", charts.horizontal_bars("本年累计基金支付（按医疗机构等级）", [a for a, _ in lv], [b for _, b in lv]))
        ct = [(x["name"], sum(float(v) for v in x["fund_pay_sumamt"]) / 1e4) for x in s["by_category"]]
        out["by_category"] = ("图3 本年累计基金支付（按医疗类别，万元）", charts.horizontal_bars("本年累计基金支付（按医疗类别）", [a for a, _ in ct], [b for _, b in ct]))
    g = d["growth"][0]
    if g.get("status") == "ok":
        parts = [(PART_NAMES[k] + "变动", float(g["contributions"][k]) / 1e4) for k in PARTS]
        out["growth"] = ("图4 本月基金支付增长分解（万元）", charts.waterfall(
            f"基金支付增长分解（{g['basis']}）", f"{g['base_period']}", float(g["base"]["fund_pay_sumamt"]) / 1e4,
            parts, f"{g['period']}", float(g["current"]["fund_pay_sumamt"]) / 1e4))
    rt = d["reserve_trend"]
    if rt["months"]:
        out["reserve"] = ("图5 统筹基金累计结余可支付月数", charts.lines("累计结余可支付月数（月末）", rt["months"], list(rt["series"].items()), "月"))
    return out


# ── HTML ─────────────────────────────────────────────────────────────────────────────────────

CSS = """
body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei","PingFang SC",sans-serif;margin:2em auto;max-width:960px;color:#222;line-height:1.55}
h1{font-size:1.6em;border-bottom:3px solid #1f5aa6;padding-bottom:.3em}h2{font-size:1.25em;color:#1f5aa6;margin-top:1.6em}
table{border-collapse:collapse;width:100%;margin:.6em 0;font-size:.9em}th,td{border:1px solid #ccd;padding:.3em .5em}th{background:#eef2f8}
td.n{text-align:right;font-variant-numeric:tabular-nums}.note{color:#666;font-size:.88em}.warn{padding:.5em .8em;margin:.4em 0;border-left:5px solid}
.red{border-color:#b8383b;background:#fbeaea}.yellow{border-color:#d9a12b;background:#fdf6e6}.info{border-color:#1f5aa6;background:#eaf0f8}
figure{margin:1em 0}figcaption{font-size:.9em;color:#444}code{background:#f3f3f3;padding:0 .2em}
"""


def _t(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def _table(head: list[str], rows: list[list[Any]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    out = ["<table><thead><tr>", *(f"<th>{_t(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td class=\"n\">{_t(c)}</td>" if i in numeric else f"<td>{_t(c)}</td>" for i, c in enumerate(r)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def sections(d: dict[str, Any]) -> list[tuple[str, list[tuple[str, Any]]]]:
    """The report as (heading, [(kind, content)]) with kind in text | table | chart | warn."""
    y, m = d["year"], d["month"]
    out = []
    b = d["balances"]
    rows = []
    for r in b["schemes"] + b["funds"]:
        rows.append([r["name"], _wan(r["income_month"]), _wan(r["spending_month"]), _wan(r["income_ytd"]), _wan(r["spending_ytd"]),
                     _wan(r["surplus_ytd"]), _wan(r["balance"]), _months(r["months_of_reserve"])])
    pooled = [r for r in b["schemes"] if r["pooled"]]
    text = "；".join(f"{r['name']}累计结余{_wan(r['balance'])}万元，可支付{_months(r['months_of_reserve'])}个月" for r in pooled)
    out.append(("一、基金收支与结余", [
        ("text", f"截至{y}年{m}月末，{text}。可支付月数 = 月末累计结余 ÷ 近12个月（账簿不足12个月时为已有月份）月均支出。"),
        ("table", (["基金", "本月收入", "本月支出", "本年收入", "本年支出", "当期结余", "累计结余", "可支付月数"], rows, {1, 2, 3, 4, 5, 6, 7})),
        ("text", "金额单位：万元。前五行为按险种汇总（同组基金之间的划转相互抵消），其后为各基金（分账核算）。"),
        ("chart", "reserve"),
    ]))
    s = d["series"]
    cat_rows = []
    for x in s["by_category"]:
        cat_rows.append([x["name"], _wan(x["fund_pay_sumamt"][-1] if x["fund_pay_sumamt"] else 0), _wan(sum(float(v) for v in x["fund_pay_sumamt"]))])
    out.append(("二、基金支出结构", [
        ("chart", "by_scheme"), ("chart", "by_level"), ("chart", "by_category"),
        ("table", (["医疗类别", "本月基金支付（万元）", "本年累计（万元）"], cat_rows, {1, 2})),
    ]))
    grows = []
    for g in d["growth"] + d["growth_by_category"]:
        if g.get("status") != "ok":
            grows.append([g["scope"], g.get("base_period") or "—", "—", "—", "—", "—", "—", g.get("note", "")])
            continue
        c, b0 = g["current"], g["base"]
        grows.append([
            g["scope"], g["base_period"],
            f"{b0['psn_cnt']:,}→{c['psn_cnt']:,}（×{g['factors']['persons']:.4f}）",
            f"{b0['visits_per_person']:.3f}→{c['visits_per_person']:.3f}（×{g['factors']['visits_per_person']:.4f}）",
            f"{float(b0['cost_per_visit']):,.2f}→{float(c['cost_per_visit']):,.2f}（×{g['factors']['cost_per_visit']:.4f}）",
            f"{_wan(b0['fund_pay_sumamt'])}→{_wan(c['fund_pay_sumamt'])}（×{g['factors']['total']:.4f}）",
            " / ".join(_wan(g["contributions"][k]) for k in PARTS) + f" = {_wan(g['contributions']['total'])}",
            "乘积精确等于总增长" if g["product_equals_total"] and g["parts_add_up"] else "（校验失败）",
        ])
    g0 = d["growth"][0]
    out.append(("三、基金支付增长分解", [
        ("text", f"对比期：{g0.get('basis', '')}。基金支付 S = 人数 P × 人均人次 (N/P) × 次均基金支付 (S/N)。公式：{FORMULA}"),
        ("table", (["范围", "对比期", "人数", "人均人次", "次均基金支付（元）", "基金支付（万元）", "贡献：人数/人均人次/次均（万元）", "校验"], grows, set())),
        ("chart", "growth"),
    ]))
    ind_rows = []
    for i in d["indicators"]["indicators"]:
        parts = "；".join(f"{p['label']} {p['display']}" for p in i["breakdown"] if p.get("display"))
        ind_rows.append([i["category"], i["name"], i["display"] if i["display"] is not None else i["value"], i["target"] or "",
                         "；".join(x for x in (parts, i["note"]) if x)])
    out.append(("四、主要指标（本年1月至本月）", [
        ("table", (["类别", "指标", "数值", "规划目标（对照）", "分项与说明"], ind_rows, set())),
        ("text", "指标均由平台数据计算；“暂无数据”者说明了原因。规划目标取自清远市医疗保障“十四五”规划，仅作对照。"),
    ]))
    hosp = [[r["fixmedins_name"], r["fixmedins_code"], f"{r['setl_cnt']:,}", _wan(r["medfee_sumamt"]), _wan(r["fund_pay_sumamt"]),
             f"{r['ipt_cnt']:,}", "—" if r["ipt_cost_per_case"] is None else f"{float(r['ipt_cost_per_case']):,.2f}"] for r in d["top_institutions"]]
    dise = [[r["dise_codg"], r["dise_name"], f"{r['setl_cnt']:,}", _wan(r["medfee_sumamt"]), _wan(r["fund_pay_sumamt"]),
             "—" if r["cost_per_case"] is None else f"{float(r['cost_per_case']):,.2f}"] for r in d["top_diseases"]]
    out.append(("五、医疗机构与病种排行（本月）", [
        ("table", (["医疗机构", "编码", "结算人次", "医疗费用（万元）", "基金支付（万元）", "住院人次", "住院次均费用（元）"], hosp, {2, 3, 4, 5, 6})),
        ("table", (["主诊断编码", "名称", "住院人次", "医疗费用（万元）", "基金支付（万元）", "次均费用（元）"], dise, {2, 3, 4, 5})),
    ]))
    w = d["warnings"]
    items: list[tuple[str, Any]] = [("warn", x) for x in w["active"]]
    if not w["active"]:
        items.append(("text", "本月没有触发预警。"))
    if w["not_evaluated"]:
        items.append(("text", "未评估：" + "；".join(f"{x['subject']} {x['code']}（{x['why']}）" for x in w["not_evaluated"])))
    items.append(("text", f"阈值来自参数文件 {Path(w['thresholds_from']).name}。"))
    out.append(("六、预警", items))
    out.append(("附：口径说明", [("text", t) for t in (
        "基金收入、支出来自复式记账账簿：结算按基金支付类型（settlement_funds）和个人账户支付记支出，撤销结算以红字（负数）冲减；征缴由参保登记按参数推算（yibao fund contributions）。",
        "政策范围内报销比例 =（统筹 + 大病/大额）÷ 符合政策范围金额；综合报销比例 = 基金支付 ÷ 医疗费总额；救助比例 = 医疗救助支付 ÷（符合政策范围金额 − 前序基金支付）。",
        "人次为结算笔数（撤销计 −1）；人数为当月有有效结算的不同参保人。",
        "本报告由 yibao 生成，数据为合成区域时所有人物、机构与金额均为虚构。",
    )]))
    return out


def render_html(d: dict[str, Any], figures: dict[str, tuple[str, str]]) -> str:
    title = f"{d['region']}医疗保障基金运行月报（{d['year']}年{d['month']}月）"
    parts = [f"<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{_t(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{_t(title)}</h1>",
             f"<p class=\"note\">统计期：{d['year']}年1月至{d['month']}月；生成时间 {dt.datetime.now():%Y-%m-%d %H:%M}；金额单位除注明外为万元。</p>"]
    for heading, blocks in sections(d):
        parts.append(f"<h2>{_t(heading)}</h2>")
        for kind, content in blocks:
            if kind == "text":
                parts.append(f"<p>{_t(content)}</p>")
            elif kind == "table":
                head, rows, numeric = content
                parts.append(_table(head, rows, numeric))
            elif kind == "chart" and content in figures:
                caption, svg = figures[content]
                parts.append(f"<figure class=\"chart\" id=\"chart-{content}\">{svg}<figcaption>{_t(caption)}</figcaption></figure>")
            elif kind == "warn":
                parts.append(f"<div class=\"warn {content['level']}\"><b>【{_t(content['level_name'])}】{_t(content['title'])}</b>："
                             f"{_t(content['message'])}</div>")
    parts.append("</body></html>")
    return "\n".join(parts)


# ── PDF ──────────────────────────────────────────────────────────────────────────────────────

def render_pdf(d: dict[str, Any], figures: dict[str, tuple[str, str]], path: Path) -> None:
    from fpdf import FPDF
    from fpdf.enums import WrapMode
    from fpdf.fonts import FontFace

    from .fonts import cjk_font_path

    title = f"{d['region']}医疗保障基金运行月报（{d['year']}年{d['month']}月）"
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(True, margin=14)
    pdf.add_font("cjk", "", str(cjk_font_path()))
    pdf.set_title(title)
    pdf.set_creator("yibao")
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.multi_cell(0, 9, title, wrapmode=WrapMode.CHAR, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=8)
    pdf.multi_cell(0, 5, f"统计期：{d['year']}年1月至{d['month']}月；金额单位除注明外为万元。", wrapmode=WrapMode.CHAR, new_x="LMARGIN", new_y="NEXT")
    width = pdf.w - pdf.l_margin - pdf.r_margin
    for heading, blocks in sections(d):
        pdf.ln(2)
        pdf.set_font("cjk", size=12)
        pdf.set_text_color(31, 90, 166)
        pdf.multi_cell(0, 7, heading, wrapmode=WrapMode.CHAR, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        for kind, content in blocks:
            if kind == "text":
                pdf.set_font("cjk", size=8.5)
                pdf.multi_cell(0, 4.8, content, wrapmode=WrapMode.CHAR, new_x="LMARGIN", new_y="NEXT")
            elif kind == "warn":
                pdf.set_font("cjk", size=8.5)
                color = {"red": (184, 56, 59), "yellow": (160, 110, 20), "info": (31, 90, 166)}[content["level"]]
                pdf.set_text_color(*color)
                pdf.multi_cell(0, 4.8, f"【{content['level_name']}】{content['title']}：{content['message']}", wrapmode=WrapMode.CHAR,
                               new_x="LMARGIN", new_y="NEXT")
                pdf.set_text_color(0, 0, 0)
            elif kind == "table":
                head, rows, numeric = content
                size = 6.5 if len(head) > 6 else 7.5
                pdf.set_font("cjk", size=size)
                with pdf.table(width=width, line_height=size * 0.55, text_align="LEFT", wrapmode=WrapMode.CHAR,
                               headings_style=FontFace(emphasis="", fill_color=(238, 242, 248))) as table:
                    row = table.row()
                    for h in head:
                        row.cell(str(h))
                    for r in rows:
                        row = table.row()
                        for c in r:
                            row.cell("" if c is None else str(c))
            elif kind == "chart" and content in figures:
                caption, svg = figures[content]
                pdf.image(io.BytesIO(svg.encode("utf-8")), w=width * 0.9)
                pdf.set_font("cjk", size=8)
                pdf.multi_cell(0, 4.5, caption, wrapmode=WrapMode.CHAR, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


def write_report(conn: Connection, year: int, month: int, out: str | Path, *, params: FundParams | None = None, pdf: bool = True,
                 population: int | None = None, population_source: str = "") -> list[Path]:
    """Write report-YYYY-MM.html (and .pdf) into ``out``; returns the paths."""
    params = params or load_params()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    d = gather(conn, year, month, params, population, population_source)
    figures = make_charts(d)
    stem = f"report-{year:04d}-{month:02d}"
    html_path = out / f"{stem}.html"
    html_path.write_text(render_html(d, figures), encoding="utf-8")
    files = [html_path]
    if pdf:
        pdf_path = out / f"{stem}.pdf"
        render_pdf(d, figures, pdf_path)
        files.append(pdf_path)
    return files
