"""Fixtures of the audit tests: the shipped library, small generated regions (session-wide)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from yibao.audit.library import load_library  # noqa: E402

# Rates raised so that a region of a few thousand persons has every pattern several times.
RATES = {"split_admission": 0.2, "overlong_stay": 0.05, "phantom_stay": 0.1, "two_places": 0.05,
         "drg_upcoding": 0.05, "care_after_death": 0.6, "gender_mismatch": 0.004, "age_mismatch": 0.004,
         "level_mismatch": 0.004, "exclusive_items": 0.01, "included_consumable": 0.01, "stock_mismatch": 0.05,
         "over_testing_hba1c": 0.3, "trace_code_resale": 0.01}


@pytest.fixture(scope="session")
def library():
    return load_library()


def generate(out: Path, persons: int, seed: int) -> Path:
    from yibao.synth import generate as gen

    gen(persons=persons, seed=seed, out=out, rates=RATES, progress=False)
    return out


@pytest.fixture(scope="session")
def small_region(tmp_path_factory) -> Path:
    """A small region (seed 3) for engine agreement tests."""
    return generate(tmp_path_factory.mktemp("audit") / "region-s3", 1200, 3)
