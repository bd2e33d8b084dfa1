"""Findings: what a rule found, the same whichever engine found it.

Every engine returns rows with the columns of the templates (``mdtrt_id``, ``feedetl_sn``,
``psn_no``, ``fixmedins_code``, ``med_list_codg``, ``event_date``, ``amount`` in fen and ``ev_*``
evidence columns); :func:`make_finding` turns one into a :class:`Finding` with canonical evidence
(decimals as exact text, dates in ISO form, floats to 4 places), a subject key and the Chinese
violation text.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .library import Rule
from .types import GEND_NAMES, LEVEL_NAMES, MEDINS_LV_NAMES

KEY_COLUMNS = ("mdtrt_id", "feedetl_sn", "psn_no", "fixmedins_code", "med_list_codg", "event_date", "amount")


@dataclass(frozen=True)
class Finding:
    rule_id: str
    rule_type: str
    rule_name: str
    severity: str  # refuse | warn
    sev_deg: str  # 1 明确违规 | 2 高度可疑
    bhvr_type: str  # 1 就诊类 | 2 项目类
    subject: str
    mdtrt_id: str | None
    feedetl_sn: str | None
    psn_no: str | None
    fixmedins_code: str | None
    med_list_codg: str | None
    event_date: dt.date | None
    amount: int  # fen
    evidence: dict[str, Any] = field(hash=False, compare=True)
    message: str = field(default="", compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.rule_id, self.subject)

    def comparable(self) -> tuple:
        """What two engines must agree on."""
        return (self.rule_id, self.subject, self.amount, json.dumps(self.evidence, sort_keys=True, ensure_ascii=False))

    def lines(self) -> list[dict[str, str]]:
        return [{"feedetl_sn": self.feedetl_sn, "role": "1"}] if self.feedetl_sn else []


def dedupe(findings: list[Finding]) -> list[Finding]:
    """One finding per (rule, subject): when several facts trigger it (a line excluded by two items, a visit
    inside two stays), the one with the smallest evidence by its JSON text; every engine applies this."""
    best: dict[tuple[str, str], Finding] = {}
    for f in findings:
        cur = best.get(f.key)
        if cur is None or json.dumps(f.evidence, sort_keys=True) < json.dumps(cur.evidence, sort_keys=True):
            best[f.key] = f
    return list(best.values())


def canonical(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        if value.as_tuple().exponent >= 0:  # an integer sum (DuckDB's HUGEINT comes back as a Decimal)
            return int(value)
        if value == value.to_integral_value():
            return format(value.quantize(Decimal(1)), "f")
        return format(value.normalize(), "f")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:  # engines read local times without a zone; a zoned one is UTC wall time
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def subject_of(level: str, row: dict[str, Any], evidence: dict[str, Any]) -> str:
    if level == "line":
        return f"line:{row['mdtrt_id']}:{row['feedetl_sn']}"
    if level == "encounter":
        return f"enc:{row['mdtrt_id']}"
    if level == "stock":
        return f"stock:{row['fixmedins_code']}:{row['med_list_codg']}:{row['event_date'].year}"
    return f"provider:{row['fixmedins_code']}:{evidence.get('case_group')}:{evidence.get('year')}"


def make_finding(rule: Rule, row: dict[str, Any]) -> Finding:
    evidence = {k[3:]: canonical(v) for k, v in row.items() if k.startswith("ev_")}
    event_date = row.get("event_date")
    if isinstance(event_date, dt.datetime):
        event_date = event_date.date()
    row = {**row, "event_date": event_date}
    amount = row.get("amount")
    return Finding(
        rule_id=rule.rule_id, rule_type=rule.type_id, rule_name=rule.name, severity=rule.severity,
        sev_deg=rule.sev_deg, bhvr_type=rule.rtype.bhvr_type, subject=subject_of(rule.rtype.level, row, evidence),
        mdtrt_id=row.get("mdtrt_id"), feedetl_sn=row.get("feedetl_sn"), psn_no=row.get("psn_no"),
        fixmedins_code=row.get("fixmedins_code"), med_list_codg=row.get("med_list_codg"), event_date=event_date,
        amount=int(amount) if amount is not None else 0, evidence=evidence,
        message=describe(rule, evidence, row),
    )


class _Facts(dict):
    def __missing__(self, key):
        return "—"


def describe(rule: Rule, evidence: dict[str, Any], row: dict[str, Any]) -> str:
    """The violation text (vola_cont) in Chinese."""
    facts = _Facts({k: ("—" if v is None else v) for k, v in evidence.items()})
    facts.update({k: v for k, v in rule.params.items() if not isinstance(v, (list, dict))})
    facts["item_name"] = evidence.get("item_name") or row.get("med_list_codg") or "该项目"
    facts["allowed_gend_name"] = GEND_NAMES.get(str(evidence.get("allowed_gend")), "特定性别")
    facts["psn_gend_name"] = GEND_NAMES.get(str(evidence.get("psn_gend")), "未知")
    lo, hi = evidence.get("min_age"), evidence.get("max_age")
    facts["age_range"] = (f"{lo}至{hi}岁" if lo is not None and hi is not None else
                          f"{lo}岁及以上" if lo is not None else f"{hi}岁及以下" if hi is not None else "特定年龄")
    if evidence.get("min_lv_rank") is not None:
        facts["min_lv_name"] = LEVEL_NAMES.get(int(evidence["min_lv_rank"]), f"等级{evidence['min_lv_rank']}")
    facts["medins_lv_name"] = MEDINS_LV_NAMES.get(str(evidence.get("medins_lv")), str(evidence.get("medins_lv")))
    if rule.rtype.level == "provider":
        cost = rule.params.get("measure") == "cost"
        for k in ("mean", "peer_median"):
            v = evidence.get(k)
            if isinstance(v, (int, float)):
                facts[k] = f"{v / 100:,.2f}元" if cost else f"{v:.1f}条"
        if isinstance(evidence.get("robust_z"), (int, float)):
            facts["robust_z"] = f"{evidence['robust_z']:.2f}"
    try:
        text = rule.rtype.message.format_map(facts)
    except (ValueError, IndexError):  # a malformed message template must not lose the finding
        text = rule.name
    amount = row.get("amount") or 0
    return f"{rule.name}：{text}（违规金额{yuan(int(amount))}元）"


def yuan(fen: int) -> str:
    """Exact yuan text of an amount in fen: 12345 -> 123.45."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"
