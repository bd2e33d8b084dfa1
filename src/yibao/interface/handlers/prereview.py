"""3101 明细审核事前分析服务 and 3102 明细审核事中分析服务: the input is checked for its shape, then
handed to the auditors registered in ``yibao.interface.prereview``."""

from __future__ import annotations

from typing import Any

from .. import prereview
from ..errors import InterfaceError
from ..fields import node, opt_str, req_str
from ..platform import Call


def _items(parent: dict[str, Any], key: str, where: str, *, required: bool = True) -> list[dict[str, Any]]:
    value = parent.get(key)
    if value in (None, "", []):
        if required:
            raise InterfaceError(f"{where}.{key} 不能为空", field=key)
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InterfaceError(f"{where}.{key} 应为对象数组", field=key)
    return value


def review(call: Call) -> dict[str, Any]:
    data = node(call.input, "data")
    patients = _items(data, "patient_dtos", "data")
    for p, patient in enumerate(patients):
        where = f"patient_dtos[{p}]"
        req_str(patient, "patn_id", 50)
        req_str(patient, "curr_mdtrt_id", 50)
        for e, encounter in enumerate(_items(patient, "fsi_encounter_dtos", where)):
            inner = f"{where}.fsi_encounter_dtos[{e}]"
            req_str(encounter, "mdtrt_id", 50)
            medins = opt_str(encounter, "medins_id", 50)
            current = str(encounter.get("mdtrt_id")).strip() == str(patient.get("curr_mdtrt_id")).strip()
            if current and medins is not None and medins != call.fixmedins_code:
                raise InterfaceError(f"{inner}.medins_id {medins} 不是本机构，当前就诊只能由本机构提交审核", field="medins_id")
            _items(encounter, "fsi_order_dtos", inner, required=False)
            _items(encounter, "fsi_diagnose_dtos", inner, required=False)
    registered = prereview.auditors()
    context = prereview.ReviewContext(call.fixmedins_code, call.request.infno, call.conn)
    results: list[dict[str, Any]] = []
    for _name, auditor in sorted(registered.items()):
        results.extend(auditor("pre" if call.request.infno == "3101" else "during", data, context))
    output: dict[str, Any] = {"result": results}
    if not registered:
        output["note"] = prereview.NO_RULES_NOTE
    return output
