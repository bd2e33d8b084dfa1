"""Dated, cited parameter files for provider payment (DRG, DIP, bed-day, capitation).

Policy is data. A parameter file looks like the settlement policy files::

    id: qingyuan-dip
    name: 清远市 DIP 付费参数
    reference: 清远市医疗保障局 …            # applies to parameters without their own
    parameters:
      core_group_threshold:
        description: 核心病种入组病例数阈值
        reference: illustrative                 # a figure not taken from a published document
        values: {2022-01-01: 15}

Every parameter has ``values`` keyed by effective date; :meth:`ParamSet.get` returns the value
in force on a day (the latest effective date on or before it). Numbers are read as ``Decimal``
from their written text (``yibao.yamlio``), never through binary floats. Every parameter must
carry a ``reference`` (its own or the file's): either a citation or the word ``illustrative``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from yibao.yamlio import as_date, load_yaml

DATA = "data"


class ParamError(ValueError):
    """A parameter file that cannot be used; the message names the file and the parameter."""


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    reference: str
    values: tuple[tuple[dt.date, Any], ...]  # sorted by date

    def at(self, day: dt.date) -> Any:
        chosen = None
        for start, value in self.values:
            if start <= day:
                chosen = (start, value)
        if chosen is None:
            raise ParamError(f"参数 {self.name} 在 {day} 没有生效的取值（最早 {self.values[0][0]}）")
        return chosen[1]

    @property
    def illustrative(self) -> bool:
        return "illustrative" in self.reference.lower() or "示例" in self.reference


@dataclass(frozen=True)
class ParamSet:
    id: str
    name: str
    source: str
    params: dict[str, Param]

    def get(self, name: str, day: dt.date) -> Any:
        try:
            return self.params[name].at(day)
        except KeyError:
            raise ParamError(f"{self.source}: 缺少参数 {name!r}") from None

    def has(self, name: str) -> bool:
        return name in self.params

    def citations(self, day: dt.date) -> list[tuple[str, Any, str]]:
        """(name, value in force, reference) for every parameter, for statements."""
        out = []
        for name, p in self.params.items():
            try:
                out.append((name, p.at(day), p.reference))
            except ParamError:
                continue
        return out


def _date(value: Any, where: str) -> dt.date:
    try:
        return as_date(value)
    except ValueError:
        raise ParamError(f"{where}: 生效日期 {value!r} 不是 YYYY-MM-DD") from None


def load_params(path: str | Path) -> ParamSet:
    path = Path(path)
    data = load_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("parameters"), dict):
        raise ParamError(f"{path}: 需要顶层的 parameters 映射")
    file_ref = str(data.get("reference", "") or "")
    params: dict[str, Param] = {}
    for name, node in data["parameters"].items():
        where = f"{path}: parameters.{name}"
        if not isinstance(node, dict) or not isinstance(node.get("values"), dict) or not node["values"]:
            raise ParamError(f"{where}: 需要非空的 values（生效日期 → 取值）")
        ref = str(node.get("reference", "") or file_ref)
        if not ref:
            raise ParamError(f"{where}: 缺少 reference（出处，或 illustrative）")
        values = tuple(sorted(((_date(k, where), v) for k, v in node["values"].items()), key=lambda kv: kv[0]))
        params[name] = Param(name, str(node.get("description", "")), ref, values)
    return ParamSet(str(data.get("id", path.stem)), str(data.get("name", "")), str(path), params)


def bundled(name: str) -> Path:
    """A parameter file shipped with yibao (``src/yibao/grouping/data/<name>.yaml``)."""
    return Path(str(resources.files("yibao.grouping") / DATA / f"{name}.yaml"))


def dec(value: Any) -> Decimal:
    """A parameter value as Decimal (ints and Decimals pass; text is parsed)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ParamError(f"{value!r} 不是数字")
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(str(value))
