"""Files the interface hands out and takes in (9101/9102): ZIP archives of TAB-separated UTF-8
TXT files, one record per line, empty values written ``null`` (chs-interface.md §1.4).

Files live in the ``interface_files`` table so that every worker and every backend sees them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from decimal import Decimal
from typing import Any, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.engine import Connection

from yibao.storage import schema as s

from .errors import InterfaceError
from .settling import new_id

PUBLIC_OWNER = "plc"
KEEP_FOR = dt.timedelta(days=1)
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_TXT_BYTES = 50 * 1024 * 1024


def txt_value(value: Any) -> str:
    if value is None or value == "":
        return "null"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value).replace("\t", " ").replace("\r", " ").replace("\n", " ")


def txt_lines(rows: Iterable[Sequence[Any]]) -> bytes:
    return "".join("\t".join(txt_value(v) for v in row) + "\n" for row in rows).encode("utf-8")


def zip_one(txt_name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(txt_name, content)
    return buffer.getvalue()


def read_txt(content: bytes) -> list[list[str]]:
    """The records of an uploaded file: a ZIP holding one TXT, or a bare TXT; ``null`` → ""."""
    if content[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                names = [n for n in archive.namelist() if not n.endswith("/")]
                if len(names) != 1:
                    raise InterfaceError(f"上传的 ZIP 应只含一个 TXT 文件，实际有 {len(names)} 个", field="file_qury_no")
                info = archive.getinfo(names[0])
                if info.file_size > MAX_TXT_BYTES:
                    raise InterfaceError("ZIP 中的 TXT 文件超过 50 MB", field="file_qury_no")
                content = archive.read(names[0])
        except zipfile.BadZipFile:
            raise InterfaceError("上传的文件不是有效的 ZIP 压缩包", field="file_qury_no") from None
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InterfaceError(f"TXT 文件不是 UTF-8 编码（第 {exc.start} 字节）", field="file_qury_no") from None
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        rows.append(["" if cell.strip() in ("null", "NULL") else cell.strip() for cell in line.split("\t")])
    return rows


def store(conn: Connection, *, owner: str, filename: str, kind: str, content: bytes, now: dt.datetime,
          infno: str | None = None, data_cnt: int = 0) -> dict[str, Any]:
    row = dict(
        file_qury_no=new_id("F"),
        owner=owner,
        filename=filename[:200],
        kind=kind,
        infno=infno,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        data_cnt=data_cnt,
        created_at=now,
        dld_endtime=now + KEEP_FOR,
    )
    conn.execute(s.interface_files.insert().values(**row))
    return row


def fetch(conn: Connection, file_qury_no: str) -> Any:
    return conn.execute(select(s.interface_files).where(s.interface_files.c.file_qury_no == file_qury_no)).first()
