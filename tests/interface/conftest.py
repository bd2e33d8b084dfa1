import pytest

from yibao.interface import Platform
from yibao.interface.client import InProcess, InterfaceClient

from interfaceworld import DAY, seed_world


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
