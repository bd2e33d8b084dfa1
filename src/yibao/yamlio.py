"""YAML reading that never goes through binary floats.

Policy and scenario files hold money and ratios; PyYAML would read ``0.65`` as a float. This
loader reads every float-looking scalar as a ``Decimal`` from its written text, keeps ISO dates
as ``datetime.date`` and remembers line numbers so that errors can point at the file.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml


class DecimalSafeLoader(yaml.SafeLoader):
    """SafeLoader with floats as Decimal."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
    text = loader.construct_scalar(node)
    cleaned = str(text).replace("_", "")
    lowered = cleaned.lower()
    if lowered in (".inf", "+.inf", "-.inf", ".nan"):
        raise yaml.constructor.ConstructorError(
            None, None, f"非有限数字 {text!r} 不能用作金额或比例", node.start_mark
        )
    return Decimal(cleaned)


DecimalSafeLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


class YamlError(ValueError):
    """A YAML file that cannot be read; the message names the file and the place."""


def load_yaml_text(text: str, *, source: str = "<text>") -> Any:
    try:
        return yaml.load(text, Loader=DecimalSafeLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise YamlError(f"{source}: 不是有效的 YAML: {exc}") from None


def load_yaml(path: str | Path) -> Any:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise YamlError(f"{path}: 无法读取: {exc.strerror}") from None
    return load_yaml_text(text, source=str(path))


def as_date(value: Any) -> dt.date:
    """A date as written in a parameter or scenario file: a YAML date, a datetime (its date) or
    ``YYYY-MM-DD`` text. Raises ``ValueError`` otherwise (callers say which file and key)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))
