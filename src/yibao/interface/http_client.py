"""The interface over HTTP, as a hospital system would call it: a transport for
``InterfaceClient`` that signs the gateway headers (HMAC-SHA1 or HMAC-SM3, optionally an SM2
signature of ``input``) and posts envelopes over one keep-alive connection pool (httpx).

Example::

    transport = HttpTransport("http://127.0.0.1:8000", access_key="AK…", secret="SK…")
    client = InterfaceClient(transport, "H51140200001", mdtrtarea_admvs="511402")
    person = client.ok("1101", {"data": {"mdtrt_cert_type": "02", "certno": "…"}})
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import httpx

from yibao import jsonio

from .envelope import canonical_json
from .gateway import API_VERSION, signed_headers, sm2_sign

CALL_PATH = "/fsi/api/callService"
# Failures of the connection itself, before any answer was read.
RETRYABLE = (httpx.ConnectError, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
UPLOAD_PATH = "/fsi/api/fileupload/upload"


class GatewayRefused(RuntimeError):
    """HTTP 401 from the gateway: ``code`` and ``message`` as it sent them."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"gateway refused ({status}): {body.get('message')}")
        self.status = status
        self.body = body


@dataclass
class HttpTransport:
    base_url: str
    access_key: str = ""
    secret: str = ""
    algorithm: str = "HMAC-SHA1"
    sm2_private_key: str | None = None
    sm2_public_key: str | None = None
    version: str = API_VERSION
    timeout: float = 30.0
    client: httpx.Client | None = field(default=None, repr=False)
    last_status: int = 0

    def __post_init__(self) -> None:
        if self.client is None:
            self.client = httpx.Client(
                base_url=self.base_url,
                timeout=self.timeout,
                limits=httpx.Limits(max_keepalive_connections=32, max_connections=64),
            )

    def headers(self, infno: str) -> dict[str, str]:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.access_key:
            headers.update(signed_headers(infno, access_key=self.access_key, secret=self.secret,
                                          algorithm=self.algorithm, version=self.version))
        return headers

    def _prepare(self, envelope: dict[str, Any]) -> dict[str, Any]:
        if self.sm2_private_key and self.sm2_public_key:
            envelope = dict(envelope)
            body = canonical_json(envelope.get("input") or {})
            envelope["signtype"] = "SM2"
            envelope["cainfo"] = sm2_sign(self.sm2_private_key, self.sm2_public_key, body.encode("utf-8"))
        return envelope

    def post(self, envelope: dict[str, Any], *, path: str = CALL_PATH) -> httpx.Response:
        """POST one envelope. When the connection fails before an answer arrives (a keep-alive
        connection the server closed as it was reused, a reset), the same envelope is sent once
        more on a new connection: with the same msgid the platform answers a message it already
        served from its request log, so a retry never books anything twice."""
        envelope = self._prepare(envelope)
        body = jsonio.dumps(envelope)
        infno = str(envelope.get("infno", ""))
        try:
            response = self.client.post(path, content=body, headers=self.headers(infno))
        except RETRYABLE:
            response = self.client.post(path, content=body, headers=self.headers(infno))
        self.last_status = response.status_code
        return response

    def send(self, envelope: dict[str, Any]) -> dict[str, Any]:
        path = UPLOAD_PATH if envelope.get("infno") == "9101" else CALL_PATH
        response = self.post(envelope, path=path)
        if response.status_code == 401:
            raise GatewayRefused(401, response.json())
        if response.headers.get("content-type", "").startswith("application/json"):
            return jsonio.loads(response.content)
        # 9102: the file itself. Give InterfaceClient the same shape the in-process platform does.
        return {
            "infcode": 0,
            "err_msg": "",
            "output": {"file_stream": {"filename": _filename(response), "content": base64.b64encode(response.content).decode()}},
        }

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


def _filename(response: httpx.Response) -> str:
    from urllib.parse import unquote

    disposition = response.headers.get("content-disposition", "")
    if "filename*=UTF-8''" in disposition:
        return unquote(disposition.split("filename*=UTF-8''", 1)[1])
    return "download.zip"
