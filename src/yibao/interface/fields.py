"""Reading typed fields out of an ``input`` node, with errors that name the field.

The interface is lenient where real clients differ (numbers as strings or JSON numbers; "",
"null" and a missing key all mean "absent" for optional fields) and strict where money is at
stake (amounts with more than two decimals, negative amounts, malformed dates are refused).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Mapping

from yibao.money import MoneyError, parse_decimal

from .errors import InterfaceError

ABSENT = ("", "null", "NULL", None)
DATETIME_FMT = "%Y-%m-%d %H:%M:%S"


def node(inp: Mapping[str, Any], name: str, *, many: bool = False) -> Any:
    """An input node (``data``, ``mdtrtinfo``, ``feedetail`` …), checked for its shape."""
    value = inp.get(name)
    if value is None:
        raise InterfaceError(f"input 缺少节点 {name}", field=name)
    if many:
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list) or not value:
            raise InterfaceError(f"input.{name} 应为非空数组", field=name)
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise InterfaceError(f"input.{name}[{i}] 应为对象", field=name)
        return value
    if not isinstance(value, dict):
        raise InterfaceError(f"input.{name} 应为对象", field=name)
    return value


def opt_str(data: Mapping[str, Any], key: str, max_len: int | None = None) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if type(value) is str:  # the common case, checked first: a fee upload reads ~200 of these
        text = value.strip()
        if max_len is not None and len(text) > max_len:
            raise InterfaceError(f"{key} 长度超过{max_len}个字符", field=key)
        return text if text not in ABSENT else None
    if value in ABSENT:
        return None
    if isinstance(value, (dict, list)):
        raise InterfaceError(f"{key} 应为字符串", field=key)
    text = str(value).strip()
    if max_len is not None and len(text) > max_len:
        raise InterfaceError(f"{key} 长度超过{max_len}个字符", field=key)
    return text or None


def req_str(data: Mapping[str, Any], key: str, max_len: int | None = None) -> str:
    value = opt_str(data, key, max_len)
    if value is None:
        raise InterfaceError(f"缺少必填字段 {key}", field=key)
    return value


def money(data: Mapping[str, Any], key: str, *, required: bool = True, allow_negative: bool = False) -> int | None:
    """An amount in yuan (16,2) → int fen."""
    value = data.get(key)
    if value in ABSENT:
        if required:
            raise InterfaceError(f"缺少必填金额字段 {key}", field=key)
        return None
    try:
        number = parse_decimal(value, field=key, max_places=2)
    except MoneyError as exc:
        raise InterfaceError(f"{key} 金额格式错误: {exc}", field=key) from None
    if number < 0 and not allow_negative:
        raise InterfaceError(f"{key} 金额不能为负数: {value}", field=key)
    if abs(number) >= 10**14:
        raise InterfaceError(f"{key} 金额超出16位数字范围: {value}", field=key)
    return int(number * 100)


def exact_decimal(data: Mapping[str, Any], key: str, *, places: int, required: bool = True) -> Decimal | None:
    """A price (16,6), quantity (16,4) or ratio (5,4) as the Decimal written, checked."""
    value = data.get(key)
    if value in ABSENT:
        if required:
            raise InterfaceError(f"缺少必填字段 {key}", field=key)
        return None
    try:
        number = parse_decimal(value, field=key, max_places=places)
    except MoneyError as exc:
        raise InterfaceError(f"{key} 数值格式错误: {exc}", field=key) from None
    if abs(number) >= 10**16:
        raise InterfaceError(f"{key} 数值超出范围: {value}", field=key)
    return number


def datetime_field(data: Mapping[str, Any], key: str, *, required: bool = True) -> dt.datetime | None:
    """A ``yyyy-MM-dd HH:mm:ss`` datetime (a bare ``yyyy-MM-dd`` date is accepted as 00:00:00)."""
    value = opt_str(data, key)
    if value is None:
        if required:
            raise InterfaceError(f"缺少必填时间字段 {key}", field=key)
        return None
    if len(value) in (10, 19) and value[4:5] == "-" and value[7:8] == "-":
        try:
            # fromisoformat is ~30× faster than strptime; the shape is checked above.
            return dt.datetime.fromisoformat(value)
        except ValueError:
            pass
    raise InterfaceError(f"{key} 时间格式应为 yyyy-MM-dd HH:mm:ss，实际为 {value}", field=key)


def date_field(data: Mapping[str, Any], key: str, *, required: bool = True) -> dt.date | None:
    value = datetime_field(data, key, required=required)
    return None if value is None else value.date()


def code(data: Mapping[str, Any], key: str, allowed: Mapping[str, str] | set[str], *, required: bool = True) -> str | None:
    value = req_str(data, key) if required else opt_str(data, key)
    if value is not None and value not in allowed:
        shown = "、".join(list(allowed)[:12])
        raise InterfaceError(f"{key} 的值 {value} 不在代码表中（可用: {shown}…）", field=key)
    return value
