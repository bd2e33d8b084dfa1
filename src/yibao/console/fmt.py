"""Formatting for the pages: money, numbers, ratios, dates and code names (Chinese)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from yibao.fund.accounts import ASSISTANCE_NAMES, CATEGORY_NAMES, FUNDS, LEVEL_NAMES


@lru_cache(maxsize=1)
def _dictionaries() -> dict[str, dict[str, str]]:
    path = Path(str(resources.files("yibao.interface") / "data" / "dictionaries.json"))
    tables = json.loads(path.read_text(encoding="utf-8"))["tables"]
    return {name: {e["value"]: e["label"] for e in table["entries"]} for name, table in tables.items()}


# Names yibao uses beyond the national code tables (levels, assistance groups, statuses).
NAMES: dict[str, dict[str, str]] = {
    "medins_lv": dict(LEVEL_NAMES),
    "assistance": dict(ASSISTANCE_NAMES),
    "category": dict(CATEGORY_NAMES),
    "fund": {k: v[0] for k, v in FUNDS.items()},
    "setl_status": {"settled": "已结算", "reversed": "已冲正（撤销）", "voided": "已作废"},
    "enc_status": {"open": "就诊中", "discharged": "已出院", "settled": "已结算", "cancelled": "已撤销"},
    "line_status": {"active": "未结算", "settled": "已结算", "cancelled": "已撤销"},
    "finding_status": {"pending": "待核实", "confirmed": "确认", "excluded": "排除"},
    "severity": {"refuse": "拒付", "warn": "警示"},
    "layer": {"basic": "基本医疗保险统筹", "critical_illness": "大病保险", "large_amount": "大额医疗费用补助",
              "civil_servant": "公务员医疗补助", "assistance": "医疗救助", "account": "个人账户"},
    "visit_kind": {"inpatient": "住院", "outpatient": "门诊"},
    # codes yibao settles that the national code table lists only in their sub-codes
    "med_type": {"11": "普通门诊", "13": "急诊", "14": "门诊慢特病", "21": "住院", "41": "定点药店购药",
                 "51": "生育门诊", "52": "生育住院"},
    "fixmedins_type": {"1": "定点医疗机构", "2": "定点零售药店"},
}


def code_name(code: Any, table: str) -> str:
    """``'21'|code_name('med_type')`` → ``住院``; the code itself when unknown."""
    if code is None or code == "":
        return "—"
    code = str(code)
    name = NAMES.get(table, {}).get(code) or _dictionaries().get(table, {}).get(code)
    return name or code


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def yuan(value: Any) -> str:
    """A yuan amount (string/Decimal) with thousands separators and two places: 1,234.50."""
    d = _dec(value)
    return "—" if d is None else f"{d:,.2f}"


def yuan_fen(fen: Any) -> str:
    """Integer fen → 1,234.50."""
    if fen is None:
        return "—"
    fen = int(fen)
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


def signed_yuan(value: Any) -> str:
    d = _dec(value)
    if d is None:
        return "—"
    return f"{'+' if d > 0 else ''}{d:,.2f}"


def wan(value: Any) -> str:
    """Yuan → 万元 with two places: 1,676,345.77 → 167.63 万元."""
    d = _dec(value)
    return "—" if d is None else f"{d / 10000:,.2f} 万元"


def num(value: Any, places: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{places}f}" if isinstance(value, float) or places else f"{value:,}"


def pct(value: Any, places: int = 1) -> str:
    if value is None:
        return "—"
    return f"{float(value) * 100:.{places}f}%"


def signed_pct(value: Any, places: int = 1) -> str:
    if value is None:
        return "—"
    v = float(value) * 100
    return f"{'+' if v > 0 else ''}{v:.{places}f}%"


def dtm(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
