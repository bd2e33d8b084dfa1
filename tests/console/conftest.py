"""Fixtures for the console tests (helpers in consoleworld.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from consoleworld import PERSONS, SEED  # noqa: E402


@pytest.fixture(scope="session")
def region(tmp_path_factory) -> Path:
    from yibao.synth import generate

    out = tmp_path_factory.mktemp("console-region") / "region"
    generate(persons=PERSONS, seed=SEED, out=out)
    return out

