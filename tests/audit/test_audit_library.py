"""The rule library: the shipped one is complete and valid; broken ones are refused with a reason."""

from __future__ import annotations

import datetime as dt

import pytest
from auditcases import build

from yibao.audit import batch
from yibao.audit.library import SHIPPED_LIBRARY, LibraryError, parse_library
from yibao.audit.online import evaluate
from yibao.audit.types import RULE_TYPES
from yibao.audit.views import Dialect, rule_sql


def test_shipped_library_covers_every_type(library):
    assert {r.type_id for r in library.rules} == set(RULE_TYPES)
    assert len(RULE_TYPES) >= 30
    for r in library.rules:
        assert r.basis and r.name and r.severity in ("refuse", "warn")
        for d in ("duckdb", "spark"):
            sql = rule_sql(r, Dialect(d))
            assert "{{" not in sql and f"date '{r.effective_from.isoformat()}'" in sql
    assert "datediff(" in rule_sql(library.rule("QY-FJ-001"), Dialect("spark"))
    assert "date_diff('day'" in rule_sql(library.rule("QY-FJ-001"), Dialect("duckdb"))


def _text() -> str:
    return SHIPPED_LIBRARY.read_text(encoding="utf-8")


@pytest.mark.parametrize("change, message", [
    (("type: gender", "type: sex"), "未知的规则类型 'sex'"),
    (("severity: refuse", "severity: deny"), "severity 应为 refuse（拒付）或 warn（警示）"),
    (("params: {max_days: 60}", "params: {max_days: 60, limit: 3}"), "没有参数 limit"),
    (("params: {max_days: 60}", "params: {max_days: -1}"), "参数 max_days 应为非负整数"),
    (("knowledge: kb_gender\n", "knowledge: kb_sex\n"), "知识表 kb_sex 未在 knowledge 中声明"),
    (("effective: {from: 2021-05-01}\n    knowledge: kb_gender", "effective: {from: 2021-05-01, to: 2020-01-01}\n    knowledge: kb_gender"),
     "effective.to 早于 effective.from"),
    (("id: QY-NL-001", "id: QY-XB-001"), "规则编号重复"),
    (("    basis: 《医疗保障基金使用监督管理条例》第十五条（按照诊疗规范提供合理、必要的医药服务）；限性别项目清单为示例\n", ""),
     "缺少 basis"),
    (("kb_age: {name: 限年龄项目, columns: {med_list_codg: str, med_list_name: str, min_age: int, max_age: int}",
      "kb_age: {name: 限年龄项目, columns: {med_list_codg: str, med_list_name: str, min_age: int}"),
     "知识表 kb_age 缺少规则类型所需的列 max_age"),
    (("params: {dx_ranges: [[\"V01\", \"V99\"], [\"X85\", \"Y09\"]]}", "params: {dx_ranges: [\"V01\"]}"),
     "dx_ranges 应写成"),
    (("params: {list_types: [\"201\", \"301\"]}", "params: {list_types: [\"201'; drop table x; --\"]}"),
     "list_types 应为代码字符串列表"),
])
def test_broken_library_refused(change, message):
    old, new = change
    text = _text()
    assert old in text, old
    with pytest.raises(LibraryError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        parse_library(text.replace(old, new, 1), "bad.yaml")


def test_effective_dates_limit_findings(library, tmp_path):
    ds, _expected = build("QY-XB-001", True)
    text = _text().replace("effective: {from: 2021-05-01}\n    knowledge: kb_gender",
                           "effective: {from: 2024-03-02}\n    knowledge: kb_gender")
    later = parse_library(text, "later.yaml")
    rule = later.rule("QY-XB-001")
    assert rule.effective_from == dt.date(2024, 3, 2)
    region = ds.write(tmp_path / "r")
    assert batch.run(region, later, ds.knowledge_tables(later), rules=[rule]).findings == []
    compiled = ds.compiled(later)
    assert evaluate(ds.case("GEN-E1", compiled), compiled, [rule]) == []
    # the same data under the shipped dates: found by both
    assert len(batch.run(region, library, ds.knowledge_tables(library), rules=[library.rule("QY-XB-001")]).findings) == 1


def test_a_bureau_adds_a_rule_by_data(library, tmp_path):
    """A second 限年龄 rule with its own knowledge table and warn severity: no code."""
    text = _text().replace("rules:\n", """rules:
  - id: QY-NL-002
    type: age
    name: 儿童专用药用于成人
    severity: warn
    basis: 示例规则
    effective: {from: 2024-01-01}
    knowledge: kb_child_only
""", 1).replace("knowledge:\n", """knowledge:
  kb_child_only: {name: 儿童专用药, columns: {med_list_codg: str, med_list_name: str, min_age: int, max_age: int}, key: [med_list_codg]}
""", 1)
    lib = parse_library(text, "bureau.yaml")
    rule = lib.rule("QY-NL-002")
    ds, _ = build("QY-NL-001", False)  # an adult of 18
    ds.knowledge("kb_child_only", {"med_list_codg": "AGE-LEVO", "med_list_name": "左氧氟沙星", "min_age": None,
                                   "max_age": 14})
    found = batch.run(ds.write(tmp_path / "r"), lib, ds.knowledge_tables(lib), rules=[rule]).findings
    assert [(f.rule_id, f.severity, f.sev_deg, f.evidence["max_age"]) for f in found] == [("QY-NL-002", "warn", "2", 14)]
    assert "14岁及以下" in found[0].message
