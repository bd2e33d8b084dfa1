"""A live interface server over real HTTP (uvicorn in a thread on a free loopback port), on the
``engine`` fixture's SQLite and PostgreSQL databases, with gateway keys for three institutions."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time

import pytest
import uvicorn

from yibao.interface.client import InterfaceClient
from yibao.interface.gateway import issue_key
from yibao.interface.http_client import HttpTransport
from yibao.interface.server import create_app
from yibao.registry import store
from yibao.registry.catalogue import demo_catalogue, merge
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


@pytest.fixture
def world(engine):
    with engine.begin() as conn:
        store.upsert_catalogue(conn, merge(demo_catalogue(), TEST_ITEMS))
        store.upsert_institutions(conn, [
            {"fixmedins_code": HOSPITAL, "name": "眉山市人民医院", "medins_lv": "level3", "admdvs": "511402"},
            {"fixmedins_code": TOWNSHIP, "name": "东坡区卫生院", "medins_lv": "township", "admdvs": "511402"},
            {"fixmedins_code": PHARMACY, "name": "康民大药房", "medins_lv": "pharmacy", "admdvs": "511402", "fixmedins_type": "2"},
        ])
        store.upsert_persons(conn, [person("P1", 123), person("P2", 124, assistance="dibao")])
    return engine


@pytest.fixture
def keys(world):
    with world.begin() as conn:
        return {
            HOSPITAL: issue_key(conn, HOSPITAL),
            TOWNSHIP: issue_key(conn, TOWNSHIP, algorithm="HMAC-SM3"),
            PHARMACY: issue_key(conn, PHARMACY),
        }


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


@pytest.fixture
def server(world, keys, tmp_path):
    app = create_app(world, data_dir=tmp_path, api_secret=API_SECRET)
    live = LiveServer(app)
    live.app = app
    live.data_dir = tmp_path
    yield live
    live.stop()


def http_client(server, key, code, **kw) -> InterfaceClient:
    transport = HttpTransport(server.url, access_key=key.access_key, secret=key.secret, algorithm=key.algorithm, **kw)
    return InterfaceClient(transport, code, mdtrtarea_admvs="511402", clock=lambda: DAY)


@pytest.fixture
def hospital(server, keys):
    client = http_client(server, keys[HOSPITAL], HOSPITAL)
    yield client
    client.transport.close()


@pytest.fixture
def township(server, keys):
    client = http_client(server, keys[TOWNSHIP], TOWNSHIP)
    yield client
    client.transport.close()
