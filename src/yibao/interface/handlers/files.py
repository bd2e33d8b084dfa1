"""9101 文件上传 and 9102 文件下载.

9101 takes ``fsUploadIn.in`` as base64 text (or a JSON array of byte values, as Java clients
serialise ``byte[]``) and answers a ``file_qury_no``. 9102 answers the file itself: over HTTP
the response body is the ZIP; through ``Platform.call`` the output carries it as
``file_stream`` {filename, content (base64)}.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

from .. import files
from ..errors import InterfaceError
from ..fields import node, req_str
from ..platform import Call


def _bytes(value: Any) -> bytes:
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise InterfaceError("fsUploadIn.in 应为 base64 编码的文件内容", field="in") from None
    if isinstance(value, list):
        if len(value) > files.MAX_UPLOAD_BYTES:
            raise InterfaceError("上传文件超过 10 MB", field="in")
        try:
            return bytes((int(b) + 256) % 256 if -128 <= int(b) <= 255 else 256 for b in value)
        except (ValueError, TypeError):
            raise InterfaceError("fsUploadIn.in 应为字节数组（-128~255 的整数）或 base64 文本", field="in") from None
    raise InterfaceError("缺少上传文件内容 fsUploadIn.in", field="in")


def upload(call: Call) -> dict[str, Any]:
    data = node(call.input, "fsUploadIn")
    filename = req_str(data, "filename", 200)
    code = req_str(data, "fixmedins_code", 30)
    if code != call.fixmedins_code:
        raise InterfaceError(f"fsUploadIn.fixmedins_code {code} 与报文的定点医药机构编号不一致", field="fixmedins_code")
    content = _bytes(data.get("in"))
    if not content:
        raise InterfaceError("上传文件为空", field="in")
    if len(content) > files.MAX_UPLOAD_BYTES:
        raise InterfaceError("上传文件超过 10 MB", field="in")
    stored = files.store(call.conn, owner=call.fixmedins_code, filename=filename, kind="upload", content=content,
                         now=dt.datetime.now(), infno="9101")
    call.ref_id = stored["file_qury_no"]
    return {
        "file_qury_no": stored["file_qury_no"],
        "filename": stored["filename"],
        "fixmedins_code": call.fixmedins_code,
        "dld_endtime": stored["dld_endtime"].strftime("%Y-%m-%d %H:%M:%S"),
    }


def download(call: Call) -> dict[str, Any]:
    data = node(call.input, "fsDownloadIn")
    number = req_str(data, "file_qury_no", 30)
    filename = req_str(data, "filename", 200)
    owner = req_str(data, "fixmedins_code", 30)
    row = files.fetch(call.conn, number)
    allowed = row is not None and (row.owner == files.PUBLIC_OWNER or row.owner == call.fixmedins_code)
    if not allowed or row.owner != owner:
        raise InterfaceError(f"没有文件查询号为 {number} 的文件（目录文件的 fixmedins_code 填 plc，其他文件填本机构编号）",
                             field="file_qury_no")
    if row.filename != filename:
        raise InterfaceError(f"文件名 {filename} 与文件查询号 {number} 不符（应为 {row.filename}）", field="filename")
    if row.dld_endtime < dt.datetime.now():
        raise InterfaceError(f"文件 {number} 已过下载截止时间 {row.dld_endtime:%Y-%m-%d %H:%M:%S}，请重新发起交易生成文件",
                             field="file_qury_no")
    return {"file_stream": {"filename": row.filename, "content": base64.b64encode(row.content).decode("ascii")}}
