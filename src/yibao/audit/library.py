"""The rule library: YAML files of rules (data), checked against the rule types (code).

A library file has an ``id``, a ``name``, a ``version``, the institution ``level_ranks``, the
declared ``knowledge`` tables (columns and key) and the ``rules``. Each rule: ``id``, ``type``,
``name`` (Chinese), ``severity`` (``refuse`` 拒付 | ``warn`` 警示), ``basis`` (依据),
``effective`` (``from``, optional ``to``), ``params`` (merged over the type's defaults; unknown
names are refused), ``knowledge`` (the table it reads, when the type needs one) and ``enabled``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from yibao.yamlio import YamlError, as_date, load_yaml_text

from .types import RULE_TYPES, RuleType

SHIPPED_DIR = Path(str(resources.files("yibao.audit") / "data"))
SHIPPED_LIBRARY = SHIPPED_DIR / "qingyi-audit-2024.yaml"
SHIPPED_KNOWLEDGE = SHIPPED_DIR / "knowledge"
SEVERITIES = {"refuse": ("拒付", "1"), "warn": ("警示", "2")}
COLUMN_TYPES = ("str", "int", "decimal", "date")


class LibraryError(ValueError):
    """A rule library that cannot be used; the message says where and why (in Chinese)."""


@dataclass(frozen=True)
class KnowledgeSpec:
    table: str
    name: str
    columns: dict[str, str]
    key: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    rule_id: str
    rtype: RuleType
    name: str
    severity: str
    basis: str
    effective_from: dt.date
    effective_to: dt.date | None
    params: dict[str, Any]
    knowledge: str | None
    enabled: bool = True

    @property
    def type_id(self) -> str:
        return self.rtype.type_id

    @property
    def sev_deg(self) -> str:
        return SEVERITIES[self.severity][1]

    @property
    def severity_name(self) -> str:
        return SEVERITIES[self.severity][0]

    def in_force(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


@dataclass
class Library:
    library_id: str
    name: str
    version: str
    source: str
    sha256: str
    text: str
    level_ranks: dict[str, int]
    knowledge: dict[str, KnowledgeSpec]
    rules: list[Rule]
    block_settlement_on_refuse: bool = False
    warnings: list[str] = field(default_factory=list)

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.rule_id == rule_id:
                return r
        raise LibraryError(f"规则库中没有规则 {rule_id}")

    def enabled_rules(self) -> list[Rule]:
        return [r for r in self.rules if r.enabled]


def _date(value: Any, where: str) -> dt.date:
    try:
        return as_date(value)
    except ValueError:
        raise LibraryError(f"{where}: 日期应写成 YYYY-MM-DD，而不是 {value!r}") from None


def _plain(value: Any) -> Any:
    """Parameters as plain JSON-able values (decimals as text, so that they stay exact)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def parse_library(text: str, source: str = "<text>") -> Library:
    raw = load_yaml_text(text, source=source)
    if not isinstance(raw, dict):
        raise LibraryError(f"{source}: 规则库应为 YAML 映射")
    for key in ("id", "name", "rules"):
        if key not in raw:
            raise LibraryError(f"{source}: 缺少顶层键 {key!r}")
    ranks = raw.get("level_ranks") or {"pharmacy": 0, "village": 1, "township": 2, "level1": 3, "level2": 4, "level3": 5}
    if not all(isinstance(v, int) for v in ranks.values()):
        raise LibraryError(f"{source}: level_ranks 的值应为整数")
    specs: dict[str, KnowledgeSpec] = {}
    for table, spec in (raw.get("knowledge") or {}).items():
        where = f"{source}: knowledge.{table}"
        if not str(table).replace("_", "").isalnum() or not str(table).startswith("kb_"):
            raise LibraryError(f"{where}: 知识表名应以 kb_ 开头，只含字母、数字和下划线")
        cols = (spec or {}).get("columns") or {}
        if not cols:
            raise LibraryError(f"{where}: 缺少 columns")
        for c, t in cols.items():
            if t not in COLUMN_TYPES:
                raise LibraryError(f"{where}.columns.{c}: 类型应为 {'/'.join(COLUMN_TYPES)} 之一，而不是 {t!r}")
        key = tuple(spec.get("key") or ())
        for k in key:
            if k not in cols:
                raise LibraryError(f"{where}.key: 列 {k} 未在 columns 中声明")
        specs[str(table)] = KnowledgeSpec(str(table), str(spec.get("name") or table), dict(cols), key)
    rules: list[Rule] = []
    seen: set[str] = set()
    if not isinstance(raw["rules"], list):
        raise LibraryError(f"{source}: rules 应为列表")
    for i, r in enumerate(raw["rules"]):
        where = f"{source}: rules[{i}]"
        if not isinstance(r, dict):
            raise LibraryError(f"{where}: 应为映射")
        for key in ("id", "type", "name", "severity", "basis", "effective"):
            if key not in r or r[key] in (None, ""):
                raise LibraryError(f"{where}: 缺少 {key}")
        rid = str(r["id"])
        where = f"{source}: 规则 {rid}"
        if rid in seen:
            raise LibraryError(f"{where}: 规则编号重复")
        seen.add(rid)
        rtype = RULE_TYPES.get(str(r["type"]))
        if rtype is None:
            raise LibraryError(f"{where}: 未知的规则类型 {r['type']!r}（可用类型见 yibao audit rules types）")
        if r["severity"] not in SEVERITIES:
            raise LibraryError(f"{where}: severity 应为 refuse（拒付）或 warn（警示），而不是 {r['severity']!r}")
        eff = r["effective"]
        if not isinstance(eff, dict) or "from" not in eff:
            raise LibraryError(f"{where}: effective 应写成 {{from: YYYY-MM-DD, to: YYYY-MM-DD}}")
        start = _date(eff["from"], f"{where}.effective.from")
        end = _date(eff["to"], f"{where}.effective.to") if eff.get("to") else None
        if end is not None and end < start:
            raise LibraryError(f"{where}: effective.to 早于 effective.from")
        given = r.get("params") or {}
        unknown = set(given) - set(rtype.params)
        if unknown:
            raise LibraryError(f"{where}: 规则类型 {rtype.type_id} 没有参数 {', '.join(sorted(unknown))}")
        params = {**{k: _plain(v) for k, v in rtype.params.items()}, **{k: _plain(v) for k, v in given.items()}}
        for k, v in params.items():
            if v is None:
                raise LibraryError(f"{where}: 缺少参数 {k}")
        _check_params(rtype, params, where)
        kb = r.get("knowledge")
        if rtype.knowledge:
            if not kb:
                raise LibraryError(f"{where}: 规则类型 {rtype.type_id} 需要知识表（knowledge）")
            if kb not in specs:
                raise LibraryError(f"{where}: 知识表 {kb} 未在 knowledge 中声明")
            missing = [c for c in rtype.knowledge if c not in specs[kb].columns]
            if missing:
                raise LibraryError(f"{where}: 知识表 {kb} 缺少规则类型所需的列 {', '.join(missing)}")
        elif kb:
            raise LibraryError(f"{where}: 规则类型 {rtype.type_id} 不读知识表")
        rules.append(Rule(rid, rtype, str(r["name"]), str(r["severity"]), str(r["basis"]), start, end, params,
                          str(kb) if kb else None, bool(r.get("enabled", True))))
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Library(str(raw["id"]), str(raw["name"]), str(raw.get("version", "")), source, sha, text,
                   {str(k): int(v) for k, v in ranks.items()}, specs, rules,
                   bool(raw.get("block_settlement_on_refuse", False)))


def _check_params(rtype: RuleType, params: dict[str, Any], where: str) -> None:
    for k, v in params.items():
        default = rtype.params.get(k)
        if isinstance(default, list) and not isinstance(v, list):
            raise LibraryError(f"{where}: 参数 {k} 应为列表")
        if isinstance(default, int) and not isinstance(default, bool):
            if not isinstance(v, int) or v < 0:
                raise LibraryError(f"{where}: 参数 {k} 应为非负整数")
        if isinstance(default, str) and k in ("share", "min_exam_share", "z_threshold"):
            try:
                number = Decimal(str(v))
            except Exception:
                raise LibraryError(f"{where}: 参数 {k} 应为数字") from None
            if number < 0:
                raise LibraryError(f"{where}: 参数 {k} 不能为负")
        if k in ("list_types", "bed_types", "allowed_types", "exam_types", "med_types"):
            if not all(isinstance(x, str) and x.isalnum() for x in v):
                raise LibraryError(f"{where}: 参数 {k} 应为代码字符串列表")
        if k == "dx_ranges":
            if not all(isinstance(x, list) and len(x) == 2 and all(isinstance(y, str) and y.isalnum() for y in x) for x in v):
                raise LibraryError(f"{where}: 参数 dx_ranges 应写成 [[起, 止], …]，如 [[V01, V99]]")
        if k == "measure" and v not in ("cost", "lines"):
            raise LibraryError(f"{where}: 参数 measure 应为 cost 或 lines")


def load_library(path: str | Path | None = None) -> Library:
    p = Path(path) if path else SHIPPED_LIBRARY
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise LibraryError(f"{p}: 无法读取: {exc.strerror}") from None
    try:
        return parse_library(text, str(p))
    except YamlError as exc:
        raise LibraryError(str(exc)) from None


def active_library(conn=None, path: str | Path | None = None) -> Library:
    """The library to use: a file when given, else the one imported into the database, else the shipped one."""
    if path:
        return load_library(path)
    if conn is not None:
        from .store import active_rule_set_text

        found = active_rule_set_text(conn)
        if found is not None:
            text, source = found
            return parse_library(text, source)
    return load_library()
