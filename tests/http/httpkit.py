"""Helpers of the HTTP tests: the test world's constants, a live uvicorn server in a thread on a
free loopback port, and clients that sign the gateway headers."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time

import uvicorn

from yibao.interface.client import InterfaceClient
from yibao.interface.http_client import HttpTransport
from yibao.registry import store
from yibao.registry.certno import make

DAY = dt.datetime(2020, 3, 10, 9, 0, 0)
HOSPITAL, TOWNSHIP, PHARMACY = "H51140200001", "H51140200002", "P51140200001"
API_SECRET = "test-api-secret-0123456789abcdef"

TEST_ITEMS = [
    {"med_list_codg": "XA", "name": "甲药", "chrgitm_lv": "01", "list_type": "101", "ver": "20200101"},
    {"med_list_codg": "XB", "name": "乙药", "chrgitm_lv": "02", "selfpay_prop": "0.10", "list_type": "101", "ver": "20200201",
     "pric_uplmt_amt": "80"},
    {"med_list_codg": "XC", "name": "丙药", "chrgitm_lv": "03", "list_type": "101", "ver": "20200301"},
]


def person(psn_no, seq, **kw):
    defaults = dict(
        psn_no=psn_no, certno=make("511402", dt.date(1980, 1, 1), seq), psn_name=f"张{seq}", gend="1",
        brdy=dt.date(1980, 1, 1), insutype="390", psn_type="11", insu_admdvs="511402",
    )
    defaults.update(kw)
    return store.PersonRecord(**defaults)




class LiveServer:
    def __init__(self, app) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def http_client(server, key, code, **kw) -> InterfaceClient:
    transport = HttpTransport(server.url, access_key=key.access_key, secret=key.secret, algorithm=key.algorithm, **kw)
    return InterfaceClient(transport, code, mdtrtarea_admvs="511402", clock=lambda: DAY)
