"""The national request and response envelopes (chs-interface.md §1).

``parse_request`` checks the envelope fields and returns a ``Request``; ``success`` and
``failure`` build the response envelope. Money leaves as ``Decimal`` with two places; the HTTP
layer serialises Decimals as JSON numbers written exactly (``yibao.jsonio``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import os
import re
from dataclasses import dataclass
from typing import Any

from yibao import jsonio

from .errors import InterfaceError
from .fields import ABSENT

INFNO_RE = re.compile(r"^[0-9A-Za-z]{4,6}$")
_serial = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Request:
    infno: str
    msgid: str
    fixmedins_code: str
    fixmedins_name: str
    inf_time: dt.datetime
    mdtrtarea_admvs: str
    insuplc_admdvs: str
    opter: str
    opter_name: str
    opter_type: str
    sign_no: str
    input: dict[str, Any]
    body_sha256: str


def _text(env: dict[str, Any], key: str, *, required: bool, max_len: int) -> str:
    value = env.get(key)
    if value in ABSENT:
        if required:
            raise InterfaceError(f"报文缺少必填字段 {key}", field=key)
        return ""
    if isinstance(value, (dict, list)):
        raise InterfaceError(f"报文字段 {key} 应为字符串", field=key)
    text = str(value).strip()
    if len(text) > max_len:
        raise InterfaceError(f"报文字段 {key} 长度超过{max_len}个字符", field=key)
    return text


def canonical_json(value: Any) -> str:
    """Exact JSON (Decimals written as numbers, unchanged) — for stored and sent answers."""
    return jsonio.dumps_text(value)


class Answer(dict):
    """A response envelope that keeps the JSON text it was stored with in the request log, so
    that the HTTP layer sends that text instead of writing the same JSON a second time."""

    __slots__ = ("text",)

    def __init__(self, envelope: dict[str, Any], text: str) -> None:
        super().__init__(envelope)
        self.text = text


def answer_bytes(answer: dict[str, Any]) -> bytes:
    """The JSON of a response envelope: the stored text when it has one."""
    if type(answer) is Answer:
        return answer.text.encode("utf-8")
    return jsonio.dumps(answer)


def body_digest(infno: str, body: Any) -> str:
    """A fingerprint of a request body that does not depend on key order or number spelling.

    Numbers are compared by their text (1.5 and "1.5" are the same body), which is what a
    retry of the same message produces."""
    digest = hashlib.sha256(f"{infno}\n".encode())
    digest.update(jsonio.fingerprint_bytes(body))  # the same bytes as the text's UTF-8
    return digest.hexdigest()


def parse_request(env: Any) -> Request:
    if not isinstance(env, dict):
        raise InterfaceError("请求报文应为 JSON 对象")
    infno = _text(env, "infno", required=True, max_len=6)
    if not INFNO_RE.match(infno):
        raise InterfaceError(f"交易编号 infno 格式错误: {infno}", field="infno")
    msgid = _text(env, "msgid", required=True, max_len=40)
    fixmedins_code = _text(env, "fixmedins_code", required=True, max_len=30)
    inf_time_text = _text(env, "inf_time", required=True, max_len=19)
    try:
        if len(inf_time_text) != 19 or inf_time_text[10] != " ":
            raise ValueError(inf_time_text)
        inf_time = dt.datetime.fromisoformat(inf_time_text)
    except ValueError:
        raise InterfaceError(
            f"交易时间 inf_time 格式应为 yyyy-MM-dd HH:mm:ss，实际为 {inf_time_text}", field="inf_time"
        ) from None
    raw_input = env.get("input")
    if isinstance(raw_input, str):
        # Some clients send input as a JSON string; accept it.
        try:
            raw_input = jsonio.loads(raw_input)
        except (jsonio.JSONError, RecursionError):
            raise InterfaceError("交易输入 input 不是有效的 JSON", field="input") from None
    if raw_input in ("", None):
        raw_input = {}
    if not isinstance(raw_input, dict):
        raise InterfaceError("交易输入 input 应为 JSON 对象", field="input")
    body_sha = body_digest(infno, raw_input)
    return Request(
        infno=infno,
        msgid=msgid,
        fixmedins_code=fixmedins_code,
        fixmedins_name=_text(env, "fixmedins_name", required=False, max_len=200),
        inf_time=inf_time,
        mdtrtarea_admvs=_text(env, "mdtrtarea_admvs", required=False, max_len=6),
        insuplc_admdvs=_text(env, "insuplc_admdvs", required=False, max_len=6),
        opter=_text(env, "opter", required=False, max_len=30),
        opter_name=_text(env, "opter_name", required=False, max_len=50),
        opter_type=_text(env, "opter_type", required=False, max_len=3),
        sign_no=_text(env, "sign_no", required=False, max_len=30),
        input=raw_input,
        body_sha256=body_sha,
    )


def reply_time(now: dt.datetime) -> str:
    return now.strftime("%Y%m%d%H%M%S") + f"{now.microsecond // 1000:03d}"


def ref_msgid(admvs: str, now: dt.datetime) -> str:
    """inf_refmsgid = receiver division (6) + yyyyMMddHHmmss + 10-digit serial."""
    serial = (os.getpid() % 1000) * 10_000_000 + next(_serial) % 10_000_000
    return f"{(admvs or '000000')[:6]:0>6}{now:%Y%m%d%H%M%S}{serial:010d}"


def success(output: dict[str, Any] | None, *, admvs: str, received: dt.datetime, now: dt.datetime) -> dict[str, Any]:
    return {
        "infcode": 0,
        "inf_refmsgid": ref_msgid(admvs, now),
        "refmsg_time": reply_time(received),
        "respond_time": reply_time(now),
        "err_msg": "",
        "output": output or {},
    }


def failure(message: str, *, admvs: str, received: dt.datetime, now: dt.datetime) -> dict[str, Any]:
    return {
        "infcode": -1,
        "inf_refmsgid": ref_msgid(admvs, now),
        "refmsg_time": reply_time(received),
        "respond_time": reply_time(now),
        "err_msg": message[:200],
        "output": {},
    }
