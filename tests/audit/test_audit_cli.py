"""``yibao audit`` end to end on a SQLite file: import, run, findings, review, re-run, encounter."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from yibao.audit.library import SHIPPED_LIBRARY
from yibao.cli import app
from yibao.synth.load import load

runner = CliRunner()


def call(*args: str, code: int = 0) -> str:
    res = runner.invoke(app, ["audit", *args], env={"COLUMNS": "300"})
    assert res.exit_code == code, res.output
    return res.output


def test_help_has_examples():
    for args in (["--help"], ["rules", "--help"], ["run", "--help"], ["review", "--help"], ["evaluate", "--help"],
                 ["knowledge", "import", "--help"], ["stock", "import", "--help"], ["findings", "--help"]):
        assert "Example" in call(*args)


def test_rules_commands(tmp_path):
    out = call("rules", "list")
    assert "32 条规则" in out and "QY-FJ-001" in out and "分解住院" in out
    assert "规则类型 32 种" in call("rules", "types")
    out = call("rules", "show", "QY-FJ-001", "--sql")
    assert "《医疗保障基金使用监督管理条例》" in out and "max_gap_days" in out and "lag(end_date)" in out
    assert "校验通过：32 条规则，32 种类型" in call("rules", "check", str(SHIPPED_LIBRARY))
    bad = tmp_path / "bad.yaml"
    bad.write_text(SHIPPED_LIBRARY.read_text(encoding="utf-8").replace("type: gender", "type: sex"), encoding="utf-8")
    assert "未知的规则类型 'sex'" in call("rules", "check", str(bad), code=2)
    assert "没有规则 NOPE" in call("rules", "show", "NOPE", code=2)


def test_database_workflow(small_region, tmp_path):
    url = f"sqlite:///{tmp_path / 'yibao.sqlite'}"
    load(small_region, url)
    assert "追溯码" in call("stock", "import", str(small_region), "--database-url", url)
    assert "kb_gender" in call("knowledge", "import", str(small_region), "--database-url", url)
    assert "当前规则库" in call("rules", "import", str(SHIPPED_LIBRARY), "--database-url", url)
    assert "数据库" in call("knowledge", "list", "--database-url", url)
    out = call("run", "--database-url", url, "--no-progress")
    total = int(re.search(r"结果 ([\d,]+) 条", out).group(1).replace(",", ""))
    assert total > 200 and f"其中新发现 {total:,} 条" in out
    rows = json.loads(call("findings", "--database-url", url, "--rule", "split_admission", "--json"))
    assert rows and all(r["rule_type"] == "split_admission" and r["status"] == "pending" for r in rows)
    target = rows[0]["finding_id"]
    assert "已确认" in call("review", str(target), "--confirm", "--reason", "病案核实为同一病情", "--reviewer", "张三",
                           "--database-url", url)
    assert "只有待核实的结果可以排除" in call("review", str(target), "--exclude", "--reason", "x", "--database-url", url,
                                         code=2)
    assert "请给出" in call("review", str(target), "--reason", "x", "--database-url", url, code=2)
    out = call("run", "--database-url", url, "--no-progress")
    assert f"结果 {total:,} 条，其中新发现 0 条" in out
    confirmed = json.loads(call("findings", "--database-url", url, "--status", "confirmed", "--json"))
    assert [(r["finding_id"], r["reviewer"], r["review_reason"]) for r in confirmed] == [(target, "张三", "病案核实为同一病情")]
    out = call("findings", "--database-url", url, "--limit", "5")
    assert f"审核结果 {total:,} 条" in out
    out = call("encounter", rows[0]["mdtrt_id"], "--database-url", url)
    assert "QY-FJ-001" in out


def test_run_on_a_region_without_saving(small_region):
    out = call("run", "--region", str(small_region), "--no-save", "--no-progress")
    assert "合计" in out and "批量审核（duckdb" in out and "审核批次" not in out


@pytest.mark.parametrize("args, message", [
    (["run", "--region", "/nonexistent", "--no-save"], "不是目录"),
    (["run", "--engine", "hadoop", "--region", "."], "--engine 应为 duckdb 或 spark"),
    (["evaluate", "."], "缺少 labels.parquet"),
])
def test_errors_are_reported(args, message):
    assert message in call(*args, code=2)
