"""Where an audit engine plugs into 3101 (事前) and 3102 (事中) detail review.

An auditor is a callable ``auditor(scene, data, context) -> list[dict]`` returning ``result``
rows in the 3101 output shape (jr_id, rule_id, rule_name, vola_cont, patn_id, mdtrt_id,
judge_result_detail_dtos, vola_amt, vola_amt_stas, sev_deg, vola_evid, vola_bhvr_type). Register
one with ``register(name, auditor)`` (e.g. from ``yibao.audit`` at import time); until one is
registered, 3101/3102 answer an empty ``result`` with a note saying that no rules are loaded.

Example::

    from yibao.interface import prereview
    prereview.register("my-rules", lambda scene, data, ctx: [])
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable

Auditor = Callable[[str, dict[str, Any], "ReviewContext"], list[dict[str, Any]]]

_lock = threading.Lock()
_auditors: dict[str, Auditor] = {}
NO_RULES_NOTE = "未加载审核规则：平台尚未配置事前事中审核规则库，本次未做任何规则审核；结果为空不表示没有违规。"


@dataclass(frozen=True)
class ReviewContext:
    fixmedins_code: str
    infno: str  # 3101 事前 | 3102 事中
    conn: Any  # a read-only database connection, for rules that look at history


def register(name: str, auditor: Auditor) -> None:
    with _lock:
        _auditors[name] = auditor


def unregister(name: str) -> None:
    with _lock:
        _auditors.pop(name, None)


def auditors() -> dict[str, Auditor]:
    with _lock:
        return dict(_auditors)
