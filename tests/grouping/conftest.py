"""Fixtures for the provider-payment tests.

The CHS-DRG 1.1 tables are read from the shared data folder, never copied into the repository:
``$YIBAO_SHARED_DATA`` if set, else the first ``shared/data`` folder found beside the
repository or one of its parents (``<repo>/../shared/data`` for the main checkout). They are
required: a missing folder fails the tests that need it with a message saying where it was
looked for.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from yibao.grouping.drg import DrgGrouper, load_scheme
from yibao.grouping.drg_cli import demo_scheme_path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))


def shared_data_dir() -> Path:
    from shared_data import find

    return find() or REPO.parent / "shared" / "data"


def chs_dir() -> Path:
    path = shared_data_dir() / "chs-drg-1.1"
    if not (path / "mdc.csv").is_file():
        pytest.fail(
            f"CHS-DRG 1.1 tables not found at {path}. Set YIBAO_SHARED_DATA to the folder that "
            "holds chs-drg-1.1/ (normally /work/shared/data).", pytrace=False)
    return path


@pytest.fixture(scope="session")
def chs_path() -> Path:
    return chs_dir()


@pytest.fixture(scope="session")
def chs_scheme(chs_path):
    return load_scheme(chs_path)


@pytest.fixture(scope="session")
def chs(chs_scheme) -> DrgGrouper:
    return DrgGrouper(chs_scheme)


@pytest.fixture(scope="session")
def demo() -> DrgGrouper:
    return DrgGrouper(load_scheme(demo_scheme_path()))


from groupworld import grp  # noqa: E402,F401 - kept importable from here too
