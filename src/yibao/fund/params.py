"""Fund parameter files: dated, cited values in the manner of the policy files.

A file has ``id``, ``name``, ``region`` (``admdvs``, ``name``), an optional top-level
``reference`` and a ``parameters`` tree. A parameter is a mapping with ``values`` (effective
date → value), a ``reference`` (the document a figure comes from, or ``illustrative``) and a
``description``; a ``reference`` on a group applies to the parameters inside it that do not
name their own. Numbers are read from their decimal text (``Decimal``), never through floats.

Shipped files (``src/yibao/fund/data``): ``contributions-qingyi.yaml`` (征缴),
``fund-qingyi.yaml`` (opening balances, population, targets, projection defaults) and
``warnings-qingyi.yaml`` (warning thresholds). A bureau passes its own with ``--params DIR``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from yibao.yamlio import YamlError, load_yaml_text

DATA_DIR = Path(str(resources.files("yibao.fund") / "data"))
PARAMETER_KEYS = {"values", "reference", "description", "unit"}


class ParamError(ValueError):
    """A parameter file that is wrong, or a value it does not have; the message says where."""


@dataclass(frozen=True)
class Param:
    path: str
    values: tuple[tuple[dt.date, Any], ...]  # ascending by date
    reference: str
    description: str = ""
    unit: str = ""

    def at(self, on: dt.date) -> Any:
        chosen, found = None, False
        for effective, value in self.values:
            if effective <= on:
                chosen, found = value, True
            else:
                break
        if not found:
            raise ParamError(f"{self.path} 在 {on.isoformat()} 没有生效的取值（最早生效日期 {self.values[0][0].isoformat()}）")
        return chosen

    @property
    def illustrative(self) -> bool:
        return self.reference.strip().lower().startswith("illustrative")


@dataclass
class ParamFile:
    id: str
    name: str
    source: str
    region_admdvs: str
    region_name: str
    params: dict[str, Param] = field(default_factory=dict)

    def param(self, path: str) -> Param:
        try:
            return self.params[path]
        except KeyError:
            raise ParamError(f"{self.source}: 没有参数 {path}") from None

    def get(self, path: str, on: dt.date) -> Any:
        return self.param(path).at(on)

    def has(self, path: str) -> bool:
        return path in self.params

    def cite(self, path: str) -> dict[str, str]:
        p = self.param(path)
        return {"parameter": f"{self.id}:{path}", "description": p.description, "reference": p.reference}


def _collect(node: Any, path: str, reference: str, source: str, out: dict[str, Param]) -> None:
    if isinstance(node, dict) and "values" in node:
        unknown = set(node) - PARAMETER_KEYS
        if unknown:
            raise ParamError(f"{source}: {path}: 参数中有未知的键 {sorted(unknown)}（可用: values, reference, description, unit）")
        values = node["values"]
        if not isinstance(values, dict) or not values:
            raise ParamError(f"{source}: {path}.values: 应为“生效日期: 取值”的映射，且至少有一项")
        dated = []
        for key, value in values.items():
            if not isinstance(key, dt.date):
                raise ParamError(f"{source}: {path}.values: 生效日期 {key!r} 不是 YYYY-MM-DD 日期")
            dated.append((key, value))
        dated.sort(key=lambda kv: kv[0])
        ref = str(node.get("reference") or reference or "").strip()
        if not ref:
            raise ParamError(f"{source}: {path}: 缺少 reference（依据文件，或写 illustrative）")
        out[path] = Param(path, tuple(dated), ref, str(node.get("description", "")), str(node.get("unit", "")))
        return
    if isinstance(node, dict):
        ref = str(node.get("reference") or reference or "")
        for key, child in node.items():
            if key in ("reference", "description"):
                continue
            _collect(child, f"{path}.{key}" if path else str(key), ref, source, out)
        return
    raise ParamError(f"{source}: {path}: 应为参数（带 values）或参数组")


def load_param_text(text: str, source: str) -> ParamFile:
    try:
        raw = load_yaml_text(text, source=source)
    except YamlError as exc:
        raise ParamError(str(exc)) from None
    if not isinstance(raw, dict):
        raise ParamError(f"{source}: 参数文件应为 YAML 映射")
    for key in ("id", "name", "parameters"):
        if key not in raw:
            raise ParamError(f"{source}: 缺少必填的顶层键 {key!r}")
    region = raw.get("region") or {}
    params: dict[str, Param] = {}
    _collect(raw["parameters"], "", str(raw.get("reference", "")), source, params)
    return ParamFile(str(raw["id"]), str(raw["name"]), source, str(region.get("admdvs", "")), str(region.get("name", "")), params)


def load_param_file(path: str | Path) -> ParamFile:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ParamError(f"{path}: 无法读取: {exc.strerror}") from None
    return load_param_text(text, str(path))


@dataclass
class FundParams:
    """The three parameter files the fund functions use."""

    contributions: ParamFile
    fund: ParamFile
    warnings: ParamFile


_shipped: FundParams | None = None


def load(folder: str | Path | None = None) -> FundParams:
    """The parameter files in ``folder`` (or the shipped 青衣市 files). A folder may hold any of
    ``contributions*.yaml``, ``fund*.yaml``, ``warnings*.yaml``; missing ones come from the
    shipped set."""
    global _shipped
    if folder is None:
        if _shipped is None:
            _shipped = FundParams(
                load_param_file(DATA_DIR / "contributions-qingyi.yaml"),
                load_param_file(DATA_DIR / "fund-qingyi.yaml"),
                load_param_file(DATA_DIR / "warnings-qingyi.yaml"),
            )
        return _shipped
    base = load(None)
    folder = Path(folder)
    found = {}
    for kind in ("contributions", "fund", "warnings"):
        matches = sorted(folder.glob(f"{kind}*.yaml"))
        if len(matches) > 1:
            raise ParamError(f"{folder}: 有多个 {kind}*.yaml 文件: {', '.join(m.name for m in matches)}")
        found[kind] = load_param_file(matches[0]) if matches else getattr(base, kind)
    return FundParams(**found)


def as_decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ParamError(f"{what}: 应为数字，实际为 {value!r}")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    try:
        return Decimal(str(value))
    except Exception:  # noqa: BLE001
        raise ParamError(f"{what}: 应为数字，实际为 {value!r}") from None
