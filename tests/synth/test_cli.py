from typer.testing import CliRunner

from yibao.cli import app


def test_cli_generate_describe_check(tmp_path):
    runner = CliRunner()
    out = tmp_path / "r"
    res = runner.invoke(app, ["synth", "generate", "--persons", "800", "--seed", "3", "--out", str(out),
                              "--years", "2023-2024", "--no-progress", "--rate", "split_admission=0.1"])
    assert res.exit_code == 0, res.output
    assert "费用明细" in res.output and (out / "manifest.json").exists()
    res = runner.invoke(app, ["synth", "describe", str(out)])
    assert res.exit_code == 0, res.output
    assert "511400" in res.output and "普通住院" in res.output and "split_admission" in res.output
    res = runner.invoke(app, ["synth", "check", str(out)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["synth", "generate", "--persons", "800", "--out", str(tmp_path / "x"), "--rate", "bogus=1"])
    assert res.exit_code == 2
    res = runner.invoke(app, ["synth", "describe", str(tmp_path / "missing")])
    assert res.exit_code == 2


def test_codes_option_checks_against_reference_lists(tmp_path):
    from yibao.synth import generate

    from .conftest import shared_data
    m = generate(persons=300, seed=1, out=tmp_path / "r", codes=shared_data() / "chs-drg-1.1")
    assert m["row_counts"]["persons"] >= 300
    import duckdb
    names = dict(duckdb.sql(f"select diag_code, any_value(diag_name) from read_parquet('{tmp_path}/r/diagnoses/*/*.parquet') "
                            "group by 1").fetchall())
    import csv
    with open(shared_data() / "chs-drg-1.1" / "icd10.csv", encoding="utf-8") as f:
        official = {r["code"]: r["name"] for r in csv.DictReader(f)}
    assert len(names) > 20
    assert all(official[c] == n for c, n in names.items())
    assert any(n != official[c] for c, n in _own_names().items() if c in official)
    bad = tmp_path / "codes"
    bad.mkdir()
    (bad / "icd10.csv").write_text("code,name\nA00.000,x\n", encoding="utf-8")
    (bad / "icd9cm3.csv").write_text("code,name\n", encoding="utf-8")
    import pytest
    with pytest.raises(ValueError, match="codes not in"):
        generate(persons=300, seed=1, out=tmp_path / "r2", codes=bad)


def _own_names():
    from yibao.synth import refdata
    d = refdata.diseases()
    return dict(zip(d.code, d.name))
