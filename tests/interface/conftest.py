import datetime as dt

import pytest

from yibao.interface import Platform
from yibao.interface.client import InProcess, InterfaceClient

from interfaceworld import DAY, TEST_ITEMS, person, seed_world  # noqa: F401 - fixtures below use them


@pytest.fixture
def world(engine):
    return seed_world(engine)


@pytest.fixture
def platform(world):
    return Platform(world)


@pytest.fixture
def hospital(platform):
    return InterfaceClient(InProcess(platform), "H51140200001", mdtrtarea_admvs="511402", clock=lambda: DAY)


@pytest.fixture
def township(platform):
    return InterfaceClient(InProcess(platform), "H51140200002", mdtrtarea_admvs="511402", clock=lambda: DAY)
