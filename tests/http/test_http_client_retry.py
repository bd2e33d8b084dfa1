"""The HTTP client sends an envelope once more when the connection fails before an answer
(safe: the same msgid is answered from the request log), and not more than once."""

from __future__ import annotations

import httpx
import pytest

from yibao import jsonio
from yibao.interface.http_client import HttpTransport

ANSWER = {"infcode": 0, "err_msg": "", "output": {"ok": "1"}}


def transport_failing(times: int, seen: list[bytes]) -> HttpTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        if len(seen) <= times:
            raise httpx.ReadError("Connection reset by peer", request=request)
        return httpx.Response(200, content=jsonio.dumps(ANSWER), headers={"content-type": "application/json"})

    client = httpx.Client(base_url="http://his.test", transport=httpx.MockTransport(handler))
    return HttpTransport("http://his.test", access_key="AK1", secret="SK1", client=client)


def test_a_reset_connection_is_retried_once_with_the_same_message():
    seen: list[bytes] = []
    envelope = {"infno": "2304", "msgid": "H1202401010000000001", "input": {"data": {"mdtrt_id": "M1"}}}
    assert transport_failing(1, seen).send(envelope) == ANSWER
    assert len(seen) == 2 and seen[0] == seen[1]  # the same body, so the same msgid


def test_a_second_failure_is_raised():
    seen: list[bytes] = []
    with pytest.raises(httpx.ReadError):
        transport_failing(2, seen).send({"infno": "1101", "msgid": "m", "input": {}})
    assert len(seen) == 2
