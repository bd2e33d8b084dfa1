"""Small generated regions shared by the synth tests (generated once per session)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from yibao.synth import generate

# irregularity rates raised so that every pattern occurs in a small region
BOOSTED = {
    "phantom_stay": 0.05, "overlong_stay": 0.03, "split_admission": 0.05, "two_places": 0.04,
    "care_after_death": 0.6, "over_testing_hba1c": 0.3, "stock_mismatch": 0.05, "drg_upcoding": 0.05,
    "included_consumable": 0.003, "exclusive_items": 0.003, "gender_mismatch": 0.002, "age_mismatch": 0.002,
    "level_mismatch": 0.002, "off_indication": 0.002, "trace_code_resale": 0.01, "third_party_injury": 0.2,
}


@pytest.fixture(scope="session")
def region(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("region") / "r"
    generate(persons=5000, seed=11, out=out, years="2024", rates=BOOSTED)
    return out


@pytest.fixture(scope="session")
def region_multi(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("multi") / "r"
    generate(persons=3000, seed=13, out=out, years="2022-2024", counties=4, rates=BOOSTED)
    return out


@pytest.fixture(scope="session")
def con(region):
    from yibao.synth.check import connect
    return connect(region)


def shared_data() -> Path:
    """The shared reference data: $YIBAO_SHARED_DATA, else the nearest ``shared/data`` above the repo."""
    from shared_data import find

    found = find()
    if found is None:
        raise FileNotFoundError("shared reference data not found: set YIBAO_SHARED_DATA")
    return found


def q(con: duckdb.DuckDBPyConnection, sql: str):
    return con.execute(sql).fetchall()
