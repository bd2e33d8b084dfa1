"""The interface's access log: one JSON line per request and response, personal data masked.

Each line holds the time, msgid, infno, institution, HTTP status, infcode, latency and the
error text; certificate numbers become first 6 + last 4 characters and names their first
character + ``*``. Lines go to a size-rotated file under the data folder
(``<data>/logs/interface-access.log``). The database's ``request_log`` already keeps every
business answer; this file is for operations (who called what, how fast, what failed).
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import re
from pathlib import Path
from typing import Any

CERTNO_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{4,10})(\d{3}[\dXx])(?![0-9A-Za-z])")
NAME_KEYS = ("psn_name", "patn_name", "opter_name", "agnter_name")
CERT_KEYS = ("certno", "mdtrt_cert_no", "agnter_certno")


def mask_certno(value: str) -> str:
    """``511402198001011230`` → ``511402********1230``: first 6 and last 4 kept."""
    text = str(value or "")
    if len(text) <= 10:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


def mask_name(value: str) -> str:
    """``张三丰`` → ``张*``."""
    text = str(value or "")
    return text[:1] + "*" if text else ""


def mask_text(text: str) -> str:
    """Mask anything that looks like an 18- or 15-digit certificate number inside free text."""
    return CERTNO_RE.sub(lambda m: mask_certno(m.group(0)), text or "")


def person_hint(envelope: Any) -> dict[str, str]:
    """The masked person fields of a request's first input node, for tracing a call."""
    hint: dict[str, str] = {}
    if not isinstance(envelope, dict) or not isinstance(envelope.get("input"), dict):
        return hint
    for node in envelope["input"].values():
        if isinstance(node, list):
            node = node[0] if node and isinstance(node[0], dict) else None
        if not isinstance(node, dict):
            continue
        for key in CERT_KEYS:
            if node.get(key):
                hint[key] = mask_certno(str(node[key]))
        for key in NAME_KEYS:
            if node.get(key):
                hint[key] = mask_name(str(node[key]))
        if node.get("psn_no"):
            hint["psn_no"] = str(node["psn_no"])[:30]
        break
    return hint


class AccessLog:
    def __init__(self, path: Path | None, *, max_bytes: int = 20 * 1024 * 1024, backups: int = 10) -> None:
        self.logger = logging.getLogger(f"yibao.interface.access.{id(self)}")
        self.logger.propagate = False
        self.logger.setLevel(logging.INFO)
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
            handler.setFormatter(logging.Formatter("%(message)s"))
            self.logger.addHandler(handler)

    def record(self, **entry: Any) -> dict[str, Any]:
        if "err_msg" in entry and entry["err_msg"]:
            entry["err_msg"] = mask_text(str(entry["err_msg"]))[:300]
        if self.path is not None:
            self.logger.info(json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str))
        return entry

    def close(self) -> None:
        for handler in list(self.logger.handlers):
            handler.close()
            self.logger.removeHandler(handler)
