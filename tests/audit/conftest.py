"""Fixtures of the audit tests: the shipped library, a small generated region (session-wide)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from auditkit import generate

from yibao.audit.library import load_library


@pytest.fixture(scope="session")
def library():
    return load_library()


@pytest.fixture(scope="session")
def small_region(tmp_path_factory) -> Path:
    """A small region (seed 3) for engine agreement tests."""
    return generate(tmp_path_factory.mktemp("audit") / "region-s3", 1200, 3)
