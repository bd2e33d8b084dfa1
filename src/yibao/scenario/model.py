"""Reading scenario files (shared/spec/scenarios.md) into a world and a list of events.

Amounts, prices, quantities and ratios are read as decimals from their written text. Problems
with the file itself (not with what the platform should answer) are reported with the file,
the event and the key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from yibao.yamlio import YamlError, as_date, load_yaml

EVENT_KINDS = ("settle", "presettle", "reverse")
SETTLE_KEYS = {
    "id", "psn_no", "fixmedins_code", "med_type", "begndate", "enddate", "dise_codg", "filed",
    "referred", "date", "acct_used_flag", "fees", "insutype",
}
FEE_KEYS = {"med_list_codg", "pric", "cnt", "feedetl_sn", "init_feedetl_sn", "det_item_fee_sumamt", "hosp_appr_flag"}
PERSON_KEYS = {
    "psn_no", "certno", "gend", "brdy", "insutype", "psn_type", "insu_admdvs", "assistance",
    "cvlserv", "acct_balc", "psn_name", "naty", "death_date", "emp_name",
}
INSTITUTION_KEYS = {"fixmedins_code", "name", "fixmedins_name", "medins_lv", "hosp_lv", "admdvs", "fixmedins_type", "beds"}
TOP_KEYS = {"policy", "date", "catalogue", "institutions", "persons", "events", "description", "name"}


class ScenarioFileError(ValueError):
    pass


@dataclass
class Event:
    index: int  # 1-based position in the file
    kind: str  # settle | presettle | reverse
    body: dict[str, Any]
    expect: dict[str, Any] | None

    @property
    def label(self) -> str:
        return f"event {self.index} ({self.kind} {self.body.get('id', '')})".replace(" )", ")")


@dataclass
class Scenario:
    path: str
    policy: str
    date: dt.date
    catalogue: list[dict[str, Any]] = field(default_factory=list)
    institutions: list[dict[str, Any]] = field(default_factory=list)
    persons: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


def _date(value: Any, where: str) -> dt.date:
    try:
        return as_date(value)
    except ValueError:
        raise ScenarioFileError(f"{where}: 日期应为 YYYY-MM-DD，实际为 {value!r}") from None


def _check_keys(entry: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ScenarioFileError(f"{where}: 应为映射")
    unknown = set(entry) - allowed
    if unknown:
        raise ScenarioFileError(f"{where}: 未知的键 {sorted(unknown)}；可用: {', '.join(sorted(allowed))}")
    return entry


def load(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        raw = load_yaml(path)
    except YamlError as exc:
        raise ScenarioFileError(str(exc)) from None
    where = str(path)
    raw = _check_keys(raw, TOP_KEYS, where)
    for key in ("policy", "events"):
        if key not in raw:
            raise ScenarioFileError(f"{where}: 缺少顶层键 {key!r}")
    scenario = Scenario(
        path=where,
        policy=str(raw["policy"]),
        date=_date(raw.get("date", dt.date.today()), f"{where}: date"),
    )
    for i, entry in enumerate(raw.get("catalogue") or []):
        if not isinstance(entry, dict) or "med_list_codg" not in entry:
            raise ScenarioFileError(f"{where}: catalogue[{i}] 需要 med_list_codg")
        scenario.catalogue.append(dict(entry))
    for i, entry in enumerate(raw.get("institutions") or []):
        _check_keys(entry, INSTITUTION_KEYS, f"{where}: institutions[{i}]")
        for key in ("fixmedins_code", "admdvs"):
            if key not in entry:
                raise ScenarioFileError(f"{where}: institutions[{i}] 缺少 {key}")
        scenario.institutions.append(dict(entry))
    for i, entry in enumerate(raw.get("persons") or []):
        _check_keys(entry, PERSON_KEYS, f"{where}: persons[{i}]")
        for key in ("psn_no", "certno", "insutype"):
            if key not in entry:
                raise ScenarioFileError(f"{where}: persons[{i}] 缺少 {key}")
        scenario.persons.append(dict(entry))
    events = raw["events"]
    if not isinstance(events, list):
        raise ScenarioFileError(f"{where}: events 应为列表")
    for i, entry in enumerate(events, start=1):
        scenario.events.append(_event(entry, i, where))
    return scenario


def _event(entry: Any, index: int, where: str) -> Event:
    if not isinstance(entry, dict):
        raise ScenarioFileError(f"{where}: events[{index}] 应为映射")
    kinds = [k for k in entry if k in EVENT_KINDS]
    if len(kinds) != 1:
        raise ScenarioFileError(f"{where}: events[{index}] 应恰有一个 settle/presettle/reverse 键")
    kind = kinds[0]
    extra = set(entry) - {kind, "expect"}
    if extra:
        raise ScenarioFileError(f"{where}: events[{index}] 有未知的键 {sorted(extra)}")
    body = entry[kind]
    if not isinstance(body, dict):
        raise ScenarioFileError(f"{where}: events[{index}].{kind} 应为映射")
    if kind == "reverse":
        _check_keys(body, {"id", "date"}, f"{where}: events[{index}].reverse")
    else:
        _check_keys(body, SETTLE_KEYS, f"{where}: events[{index}].{kind}")
        for key in ("id", "psn_no", "fixmedins_code", "med_type", "fees"):
            if key not in body:
                raise ScenarioFileError(f"{where}: events[{index}].{kind} 缺少 {key}")
        if not isinstance(body["fees"], list):
            raise ScenarioFileError(f"{where}: events[{index}].{kind}.fees 应为列表")
        for j, fee in enumerate(body["fees"]):
            _check_keys(fee, FEE_KEYS, f"{where}: events[{index}].{kind}.fees[{j}]")
            for key in ("med_list_codg", "pric", "cnt"):
                if key not in fee:
                    raise ScenarioFileError(f"{where}: events[{index}].{kind}.fees[{j}] 缺少 {key}")
    expect = entry.get("expect")
    if expect is not None and not isinstance(expect, dict):
        raise ScenarioFileError(f"{where}: events[{index}].expect 应为映射")
    return Event(index, kind, dict(body), dict(expect) if expect is not None else None)


def as_text(value: Any) -> str:
    """A scenario number as the text the interface receives (never through a float)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)
