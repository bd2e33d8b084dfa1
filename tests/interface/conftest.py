import datetime as dt

import pytest

from yibao.interface import Platform
from yibao.interface.client import InProcess, InterfaceClient
from yibao.registry import store
from yibao.registry.catalogue import demo_catalogue, merge
from yibao.registry.certno import make

from interfaceworld import DAY, TEST_ITEMS, person  # noqa: F401 - fixtures below use them


@pytest.fixture
def world(engine):
    with engine.begin() as conn:
        store.upsert_catalogue(conn, merge(demo_catalogue(), TEST_ITEMS))
        store.upsert_institutions(conn, [
            {"fixmedins_code": "H51140200001", "name": "眉山市人民医院", "medins_lv": "level3", "admdvs": "511402"},
            {"fixmedins_code": "H51140200002", "name": "东坡区卫生院", "medins_lv": "township", "admdvs": "511402"},
            {"fixmedins_code": "P51140200001", "name": "康民大药房", "medins_lv": "pharmacy", "admdvs": "511402", "fixmedins_type": "2"},
        ])
        store.upsert_persons(conn, [
            person("P1", 123),
            person("P2", 124, assistance="dibao"),
            person("PBAD", 125, certno="511402198001011231"),  # wrong check digit
        ])
    return engine


@pytest.fixture
def platform(world):
    return Platform(world)


@pytest.fixture
def hospital(platform):
    return InterfaceClient(InProcess(platform), "H51140200001", mdtrtarea_admvs="511402", clock=lambda: DAY)


@pytest.fixture
def township(platform):
    return InterfaceClient(InProcess(platform), "H51140200002", mdtrtarea_admvs="511402", clock=lambda: DAY)
