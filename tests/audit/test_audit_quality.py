"""Measured quality on a region the tests did not tune on, and the database as a source (SQLite, PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from auditkit import generate
from typer.testing import CliRunner

from yibao.audit import batch, dbexport, knowledge, store
from yibao.cli import app
from yibao.synth.load import load


def test_evaluate_unseen_seed(tmp_path):
    region = generate(tmp_path / "region-s11", 2500, 11)
    res = CliRunner().invoke(app, ["audit", "evaluate", str(region), "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert len(rows) == 18  # every labelled pattern of docs/synthetic-region.md
    for r in rows:
        assert r["labelled"] > 0, r
        assert r["precision"] >= 0.95 and r["recall"] >= 0.95, r
        assert r["amount_agree"] == r["true_positive"], r
    assert {r["rule_type"] for r in rows} >= {"split_admission", "over_frequency_day+over_quantity_visit",
                                              "stock_mismatch", "trace_code_resale"}


def test_evaluate_table_and_outliers(small_region):
    res = CliRunner().invoke(app, ["audit", "evaluate", str(small_region), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "查准率" in res.output and "分解住院" in res.output and "1.0000" in res.output
    assert "机构统计异常" in res.output and "无标注的规则类型" in res.output


@pytest.mark.parametrize("method", ["duckdb", "driver"])
def test_database_source_equals_region(engine, library, small_region, tmp_path, method):
    url = engine.url.render_as_string(hide_password=False)
    load(small_region, url, replace=True)
    with engine.begin() as conn:
        store.import_stock(conn, small_region)
        knowledge.import_tables(conn, library, small_region)
    out = tmp_path / "export"
    counts = dbexport.export(engine, out, method=method)
    assert counts["fee_lines"] > 50_000 and counts["trace_codes"] > 1000
    with engine.connect() as conn:
        tables_db, _ = knowledge.resolve(library, conn=conn)
    tables_region, _ = knowledge.resolve(library, region=small_region)
    a = batch.run(out, library, tables_db)
    b = batch.run(small_region, library, tables_region)
    assert sorted(f.comparable() for f in a.findings) == sorted(f.comparable() for f in b.findings)
    assert len(a.findings) > 200


def test_evaluation_judges_each_rule_only_while_it_is_in_force(tmp_path):
    """On a multi-year region, labels from before a rule took effect (追溯码 rules start in 2024)
    are not counted as misses, and every label the rules could find is found."""
    import duckdb

    from auditkit import RATES
    from yibao.synth import generate as gen

    region = tmp_path / "region-2y"
    gen(persons=1500, seed=21, out=region, years="2023-2024", rates=RATES, progress=False)
    by_year = dict(duckdb.connect().execute(
        f"select year(e.begntime), count(*) from '{region}/labels.parquet' l join "
        f"read_parquet('{region}/encounters/*/*.parquet', hive_partitioning = true) e using (mdtrt_id) "
        f"where l.pattern = 'trace_code_resale' group by 1").fetchall())
    assert by_year.get(2023, 0) > 0 and by_year.get(2024, 0) > 0
    res = CliRunner().invoke(app, ["audit", "evaluate", str(region), "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["rule_type"]: r for r in json.loads(res.output)}
    trace = rows["trace_code_resale"]
    assert trace["labelled"] == by_year[2024] and trace["recall"] == 1.0 and trace["precision"] == 1.0
    for r in rows.values():
        assert r["precision"] >= 0.95 and r["recall"] >= 0.95, r
