"""The interface's access log: one JSON line per request and response, personal data masked.

Each line holds the time, msgid, infno, institution, HTTP status, infcode, latency and the
error text; certificate numbers become first 6 + last 4 characters and names their first
character + ``*``. Lines go to a size-rotated file under the data folder
(``<data>/logs/interface-access.log``, 20 MB × 10 files by default). The database's ``request_log`` already keeps every
business answer; this file is for operations (who called what, how fast, what failed).
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any

import msgspec

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
    """Append-only JSON lines with size rotation (``interface-access.log`` → ``.1`` … ``.N``).

    A line is one ``write`` on a file opened for appending, so it is in the file when the answer
    leaves and a crash loses none. The size is counted as lines are written rather than asked of
    the file each time; ``logging``'s RotatingFileHandler did that, and with its record and
    formatter machinery cost as much CPU as the gateway check. One process writes one file (the
    server gives each worker process its own).
    """

    def __init__(self, path: Path | None, *, max_bytes: int = 20 * 1024 * 1024, backups: int = 10) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._size = 0
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._open()

    def _open(self) -> None:
        assert self.path is not None
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self._size = os.fstat(self._fd).st_size

    def record(self, **entry: Any) -> dict[str, Any]:
        if "err_msg" in entry and entry["err_msg"]:
            entry["err_msg"] = mask_text(str(entry["err_msg"]))[:300]
        if self.path is not None:
            self._write(_encoder.encode(entry) + b"\n")
        return entry

    def _write(self, line: bytes) -> None:
        with self._lock:
            if self._fd is None:
                return  # closed
            if self._size and self._size + len(line) > self.max_bytes:
                self._rotate()
            os.write(self._fd, line)
            self._size += len(line)

    def _rotate(self) -> None:
        assert self.path is not None and self._fd is not None
        os.close(self._fd)
        if self.backups > 0:
            for n in range(self.backups - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{n}")
                if older.exists():
                    os.replace(older, self.path.with_name(f"{self.path.name}.{n + 1}"))
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink(missing_ok=True)
        self._open()

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def _text(value: Any) -> str:
    return str(value)


# Compact UTF-8 JSON, Chinese unescaped; anything unusual (a Decimal, a date) written as its text.
_encoder = msgspec.json.Encoder(enc_hook=_text, decimal_format="string")
