"""1901 字典表查询: the code tables of chs-interface.md §4, from ``data/dictionaries.json``
(written by ``scripts/extract-dictionaries``). Output keys are camelCase as the spec prints."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from ..errors import InterfaceError
from ..fields import date_field, node, opt_str, req_str
from ..platform import Call

CREATED = "2024-10-14"  # the date of the interface specification the tables come from


@lru_cache(maxsize=1)
def dictionaries() -> dict[str, Any]:
    path = resources.files("yibao.interface") / "data" / "dictionaries.json"
    return json.loads(path.read_text(encoding="utf-8"))


def query(call: Call) -> dict[str, Any]:
    data = node(call.input, "data")
    kind = req_str(data, "type", 30)
    tables = dictionaries()["tables"]
    table = tables.get(kind)
    if table is None:
        near = [name for name in tables if kind.lower() in name.lower()][:8]
        hint = f"；相近的有: {'、'.join(near)}" if near else "；可用字典类型见接口规范第4章"
        raise InterfaceError(f"没有字典类型 type {kind}{hint}", field="type")
    parent = opt_str(data, "parent_value", 10)
    vali = opt_str(data, "Vali_Flag", 3) or opt_str(data, "vali_flag", 3)
    date_field(data, "date", required=False)  # checked for its format; the tables carry no dates
    if vali is not None and vali not in ("0", "1"):
        raise InterfaceError(f"Vali_Flag 应为 0 或 1，实际为 {vali}", field="Vali_Flag")
    rows = []
    if vali != "0" and not parent:
        for sort, entry in enumerate(table["entries"], start=1):
            rows.append({
                "type": kind, "label": entry["label"], "value": entry["value"], "parentValue": "", "sort": sort,
                "valiFlag": "1", "createUser": "yibao", "createDate": CREATED, "version": dictionaries()["version"],
            })
    return {"list": rows}
