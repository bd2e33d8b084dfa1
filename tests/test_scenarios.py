"""Every scenario file (tests/scenarios, examples/scenarios) on SQLite and on PostgreSQL."""

from pathlib import Path

import pytest

from yibao.scenario import ScenarioRunner, load
from yibao.storage import db

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted((ROOT / "tests" / "scenarios").glob("*.yaml")) + sorted((ROOT / "examples" / "scenarios").glob("*.yaml"))


@pytest.fixture(scope="module")
def sqlite_runner():
    return ScenarioRunner(db.make_engine("sqlite://"))


@pytest.fixture(scope="module")
def postgresql_runner(request):
    engine = request.getfixturevalue("_pg_engine")
    return ScenarioRunner(engine)


def test_there_are_enough_scenarios():
    assert len(FILES) >= 41, f"only {len(FILES)} scenario files"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario(path, backend, request):
    runner = request.getfixturevalue(f"{backend}_runner")
    report = runner.run(load(path))
    assert report.error is None, report.error
    problems = [line for event in report.events for line in event.mismatches]
    assert not problems, "\n".join(problems)
    assert any(event.event.expect for event in report.events), "a scenario must expect something"
