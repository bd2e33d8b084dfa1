"""The same rule library on DuckDB and on Spark: identical findings (subject, amount and evidence)."""

from __future__ import annotations

import shutil

import pytest
from auditcases import CASES, build
from auditdata import Dataset

from yibao.audit import batch, knowledge, spark


@pytest.fixture(scope="module")
def session():
    if shutil.which("java") is None:
        pytest.fail("the Spark engine needs Java 17 (java not found on PATH)")
    s = spark.session("local[2]", shuffle_partitions=2)
    yield s
    s.stop()


def _compare(a, b):
    assert not a.errors and not b.errors, (a.errors, b.errors)
    left = sorted(f.comparable() for f in a.findings)
    right = sorted(f.comparable() for f in b.findings)
    assert left == right


def test_spark_agrees_with_duckdb_on_a_region(session, small_region, library):
    tables, _ = knowledge.resolve(library, region=small_region)
    a = batch.run(small_region, library, tables)
    b = spark.run(small_region, library, tables, spark=session)
    _compare(a, b)
    kinds = {f.rule_type for f in a.findings}
    # every labelled pattern of the region is among them, so the comparison is not vacuous
    assert {"split_admission", "phantom_stay", "trace_code_resale", "stock_mismatch", "over_testing",
            "exclusive", "drg_upcoding", "two_places"} <= kinds
    assert len(a.findings) > 200


def test_spark_agrees_with_duckdb_on_every_rule_type(session, library, tmp_path):
    merged = Dataset()
    expected = {}
    for rule_id in sorted(CASES):
        ds, exp = build(rule_id, True)
        merged.merge(ds)
        expected.update({(rule_id, s): a for s, a in exp.items()})
    region = merged.write(tmp_path / "merged")
    tables = merged.knowledge_tables(library)
    a = batch.run(region, library, tables)
    b = spark.run(region, library, tables, spark=session)
    _compare(a, b)
    got = {(f.rule_id, f.subject): f.amount for f in b.findings}
    for key, amount in expected.items():
        assert got.get(key) == amount, key
