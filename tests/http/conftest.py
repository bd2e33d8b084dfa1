"""Fixtures of the HTTP tests: the world (catalogue, institutions, persons), gateway keys, a live
interface server over real HTTP on the ``engine`` fixture's SQLite and PostgreSQL databases, and
signed clients of a hospital and a township centre."""

from __future__ import annotations

import pytest

from httpkit import HOSPITAL, PHARMACY, TEST_ITEMS, TOWNSHIP, API_SECRET, LiveServer, http_client, person
from yibao.interface.gateway import issue_key
from yibao.interface.sealing import SecretBox
from yibao.interface.server import create_app
from yibao.registry import store
from yibao.registry.catalogue import demo_catalogue, merge


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
def box(tmp_path):
    """The master key of the server's data folder (``server`` runs on ``tmp_path``)."""
    return SecretBox.of(tmp_path)


@pytest.fixture
def keys(world, box):
    with world.begin() as conn:
        return {
            HOSPITAL: issue_key(conn, HOSPITAL, box=box),
            TOWNSHIP: issue_key(conn, TOWNSHIP, box=box, algorithm="HMAC-SM3"),
            PHARMACY: issue_key(conn, PHARMACY, box=box),
        }


@pytest.fixture
def server(world, keys, tmp_path):
    app = create_app(world, data_dir=tmp_path, api_secret=API_SECRET, audit=False)
    live = LiveServer(app)
    live.app = app
    live.data_dir = tmp_path
    yield live
    live.stop()


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
