"""Policy files: dated parameters with references, in the manner of OpenFisca.

A policy file is YAML. Its ``schemes`` tree holds *parameters*: mappings with ``values``
(effective date → value) and a ``reference`` (a document, or "illustrative"). A reference
written on a group, or at the top of the file, applies to the parameters inside it that do not
name their own. Anything else in the tree (``fund_pay_type`` codes) is a plain constant.

``PolicyFile.resolve(date)`` picks for every parameter the value whose effective date is the
latest on or before ``date`` and checks the result against :mod:`yibao.policy.schema`. Every
problem is reported with the file, the key and what is wrong.
"""

from __future__ import annotations

import bisect
import copy
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from yibao.yamlio import YamlError, load_yaml, load_yaml_text

from .schema import ResolvedPolicy

TOP_LEVEL_KEYS = {
    "id",
    "name",
    "description",
    "extends",
    "pooling_region",
    "insutypes",
    "reference",
    "valid_from",
    "valid_to",
    "med_types",
    "med_type_aliases",
    "schemes",
}
PARAMETER_KEYS = {"values", "reference", "description", "unit"}


class PolicyError(ValueError):
    """A policy file that is wrong, or a question it cannot answer. The message says where."""


@dataclass(frozen=True)
class Parameter:
    """One dated parameter: where it sits, its values by effective date and its source."""

    path: str
    values: tuple[tuple[dt.date, Any], ...]  # ascending by date
    reference: str
    description: str = ""

    def at(self, on: dt.date) -> Any:
        chosen = None
        for effective, value in self.values:
            if effective <= on:
                chosen = value
            else:
                break
        if chosen is None and not any(d <= on for d, _ in self.values):
            first = self.values[0][0].isoformat()
            raise PolicyError(f"{self.path} 在 {on.isoformat()} 没有生效的取值（最早生效日期 {first}）")
        return chosen

    def effective_dates(self) -> list[dt.date]:
        return [d for d, _ in self.values]


@dataclass(eq=False)  # identity: a loaded file is a value that never changes
class PolicyFile:
    """A loaded, structurally checked policy file (possibly extending another)."""

    id: str
    name: str
    source: str
    raw: dict[str, Any]
    parameters: dict[str, Parameter] = field(default_factory=dict)
    text_sha256: str = ""

    @property
    def pooling_prefix(self) -> str:
        return str(self.raw["pooling_region"]["admdvs"])

    @property
    def insutypes(self) -> list[str]:
        return [str(x) for x in self.raw["insutypes"]]

    @property
    def valid_from(self) -> dt.date:
        explicit = self.raw.get("valid_from")
        if isinstance(explicit, dt.date):
            return max(explicit, self.complete_from())
        return self.complete_from()

    @property
    def valid_to(self) -> dt.date | None:
        value = self.raw.get("valid_to")
        return value if isinstance(value, dt.date) else None

    def covers(self, on: dt.date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)

    def resolve(self, on: dt.date) -> ResolvedPolicy:
        """The policy's values on ``on``, checked. Raises PolicyError naming file and key."""
        tree = _substitute(self.raw["schemes"], "schemes", self.parameters, on)
        document = {
            "id": self.id,
            "name": self.name,
            "pooling_region": self.raw["pooling_region"],
            "insutypes": self.insutypes,
            "med_types": {str(k): v for k, v in (self.raw.get("med_types") or {}).items()},
            "med_type_aliases": {
                str(k): str(v) for k, v in (self.raw.get("med_type_aliases") or {}).items()
            },
            "schemes": {str(k): v for k, v in tree.items()},
            "on": on.isoformat(),
        }
        try:
            return ResolvedPolicy.model_validate(document)
        except ValidationError as exc:
            raise PolicyError(_explain_validation(self.source, on, exc)) from None

    def in_force_since(self, on: dt.date) -> dt.date:
        """The latest date on or before ``on`` on which some parameter took a new value: every
        date from it to ``on`` resolves to the same values (used to share one resolution)."""
        dates = self.__dict__.get("_change_dates")
        if dates is None:
            dates = self.__dict__["_change_dates"] = sorted(
                {d for parameter in self.parameters.values() for d in parameter.effective_dates()}
            )
        index = bisect.bisect_right(dates, on)
        return dates[index - 1] if index else on

    def complete_from(self) -> dt.date:
        """The first date on which every parameter has a value."""
        cached = self.__dict__.get("_complete_from")
        if cached is None:
            cached = self.__dict__["_complete_from"] = max(p.values[0][0] for p in self.parameters.values())
        return cached


def _explain_validation(source: str, on: dt.date, exc: ValidationError) -> str:
    lines = [f"{source}: 参数在 {on.isoformat()} 的取值不合规定:"]
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        lines.append(f"  - {key}: {message}")
    return "\n".join(lines)


def _is_parameter(node: Any) -> bool:
    return isinstance(node, dict) and "values" in node


def _collect(
    node: Any, path: str, inherited_reference: str, source: str, out: dict[str, Parameter]
) -> None:
    if _is_parameter(node):
        unknown = set(node) - PARAMETER_KEYS
        if unknown:
            raise PolicyError(f"{source}: {path}: 参数中有未知的键 {sorted(unknown)}（可用: values, reference, description, unit）")
        values = node["values"]
        if not isinstance(values, dict) or not values:
            raise PolicyError(f"{source}: {path}.values: 应为“生效日期: 取值”的映射，且至少有一项")
        dated = []
        for key, value in values.items():
            if not isinstance(key, dt.date):
                raise PolicyError(f"{source}: {path}.values: 生效日期 {key!r} 不是 YYYY-MM-DD 日期")
            dated.append((key, value))
        dated.sort(key=lambda item: item[0])
        reference = str(node.get("reference") or inherited_reference or "").strip()
        if not reference:
            raise PolicyError(f"{source}: {path}: 缺少 reference（依据文件，或写 illustrative）")
        out[path] = Parameter(path, tuple(dated), reference, str(node.get("description", "")))
        return
    if isinstance(node, dict):
        reference = str(node.get("reference") or inherited_reference or "")
        for key, child in node.items():
            if key in ("reference", "description"):
                continue
            _collect(child, f"{path}.{key}", reference, source, out)


def _substitute(node: Any, path: str, parameters: dict[str, Parameter], on: dt.date) -> Any:
    if path in parameters:
        return copy.deepcopy(parameters[path].at(on))
    if isinstance(node, dict):
        return {
            key: _substitute(child, f"{path}.{key}", parameters, on)
            for key, child in node.items()
            if key not in ("reference", "description")
        }
    return node


def _merge(base: Any, override: Any) -> Any:
    """Deep-merge ``override`` onto ``base``; a parameter node replaces its counterpart whole."""
    if _is_parameter(override) or not isinstance(override, dict) or not isinstance(base, dict):
        return copy.deepcopy(override)
    merged = copy.deepcopy(base)
    for key, value in override.items():
        merged[key] = _merge(merged[key], value) if key in merged else copy.deepcopy(value)
    return merged


def _check_top_level(raw: Any, source: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise PolicyError(f"{source}: 政策文件应为 YAML 映射")
    unknown = set(raw) - TOP_LEVEL_KEYS
    if unknown:
        raise PolicyError(f"{source}: 未知的顶层键 {sorted(unknown)}；可用: {', '.join(sorted(TOP_LEVEL_KEYS))}")
    return raw


def read_policy_document(path: str | Path) -> tuple[dict[str, Any], str]:
    """The raw mapping of a policy file and the SHA-256 of its text."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: 无法读取: {exc.strerror}") from None
    try:
        raw = load_yaml_text(text, source=str(path))
    except YamlError as exc:
        raise PolicyError(str(exc)) from None
    return _check_top_level(raw, str(path)), hashlib.sha256(text.encode()).hexdigest()


def build_policy(
    raw: dict[str, Any], source: str, parent: PolicyFile | None = None, sha256: str = ""
) -> PolicyFile:
    """Check a raw policy mapping (merged onto ``parent`` when it extends one)."""
    raw = _check_top_level(raw, source)
    if parent is not None:
        base = copy.deepcopy(parent.raw)
        base.pop("valid_from", None)
        base.pop("valid_to", None)
        merged = _merge(base, {k: v for k, v in raw.items() if k != "extends"})
    else:
        merged = copy.deepcopy(raw)
    for key in ("id", "name", "pooling_region", "insutypes", "schemes"):
        if key not in merged:
            raise PolicyError(f"{source}: 缺少必填的顶层键 {key!r}")
    if not isinstance(merged["schemes"], dict):
        raise PolicyError(f"{source}: schemes 应为“险种: 参数”的映射")
    if not isinstance(merged["pooling_region"], dict) or "admdvs" not in merged["pooling_region"]:
        raise PolicyError(f"{source}: pooling_region 需要 admdvs（统筹区划前缀）")
    merged["pooling_region"]["admdvs"] = str(merged["pooling_region"]["admdvs"])
    parameters: dict[str, Parameter] = {}
    _collect(merged["schemes"], "schemes", str(merged.get("reference", "")), source, parameters)
    if not parameters:
        raise PolicyError(f"{source}: schemes 中没有任何带 values 的参数")
    policy = PolicyFile(
        id=str(merged["id"]),
        name=str(merged["name"]),
        source=source,
        raw=merged,
        parameters=parameters,
        text_sha256=sha256,
    )
    # Resolve once at every effective date so that a bad value is found on load, not when a
    # patient is at the counter.
    start = policy.complete_from()
    for on in sorted({d for p in parameters.values() for d in p.effective_dates()}):
        policy.resolve(max(on, start))
    return policy


def load_policy_file(path: str | Path, parent: PolicyFile | None = None) -> PolicyFile:
    raw, sha = read_policy_document(path)
    return build_policy(raw, str(path), parent, sha)


__all__ = [
    "Parameter",
    "PolicyError",
    "PolicyFile",
    "build_policy",
    "load_policy_file",
    "read_policy_document",
    "load_yaml",
]
