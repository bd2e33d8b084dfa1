"""Fixtures for the fund tests; the hand-made region itself is in fundworld.py."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fundworld import FUND_YAML, build_tiny
from yibao.fund.params import load as load_params


@pytest.fixture
def params_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "params"
    folder.mkdir()
    (folder / "fund-test.yaml").write_text(textwrap.dedent(FUND_YAML), encoding="utf-8")
    return folder


@pytest.fixture
def params(params_dir):
    return load_params(params_dir)


@pytest.fixture
def tiny(engine):
    build_tiny(engine)
    return engine
