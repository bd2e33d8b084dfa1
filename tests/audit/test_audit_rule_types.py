"""Every rule type on hand-made data: a hit and a near miss, in the batch engine and the real-time one."""

from __future__ import annotations

import pytest
from auditcases import CASES, build

from yibao.audit import batch
from yibao.audit.online import evaluate
from yibao.audit.types import RULE_TYPES


def test_every_rule_type_has_a_case(library):
    covered = {library.rule(r).type_id for r in CASES}
    assert covered == set(RULE_TYPES), set(RULE_TYPES) - covered
    assert len(RULE_TYPES) >= 30


def _batch(ds, rule, library, tmp_path):
    region = ds.write(tmp_path / "region")
    result = batch.run(region, library, ds.knowledge_tables(library), rules=[rule])
    assert not result.errors
    return {f.subject: f for f in result.findings}


def _realtime(ds, rule, library):
    compiled = ds.compiled(library)
    found = {}
    for e in ds.encounters:
        for f in evaluate(ds.case(e["mdtrt_id"], compiled), compiled, [rule]):
            assert f.mdtrt_id == e["mdtrt_id"]
            found[f.subject] = f
    return found


@pytest.mark.parametrize("hit", [True, False], ids=["hit", "near-miss"])
@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_type(rule_id, hit, library, tmp_path):
    rule = library.rule(rule_id)
    ds, expected = build(rule_id, hit)
    assert bool(expected) == hit
    found = _batch(ds, rule, library, tmp_path)
    assert {s: f.amount for s, f in found.items()} == expected
    for f in found.values():
        assert f.rule_id == rule_id and f.severity == rule.severity
        assert f.message.startswith(rule.name) and "违规金额" in f.message
        assert f.evidence, "a finding carries the facts that triggered it"
    if rule.rtype.realtime:
        online = _realtime(ds, rule, library)
        assert {s: f.comparable() for s, f in online.items()} == {s: f.comparable() for s, f in found.items()}
    else:
        assert rule.type_id in ("stock_mismatch", "provider_cost_outlier", "provider_intensity_outlier")


@pytest.mark.parametrize("engine", ["batch", "realtime"])
def test_planned_chemotherapy_courses_are_not_split_admissions(engine, library, tmp_path):
    """Readmission 3 days later for the next course (Z51.103 化疗疗程) is care by design, not 分解住院;
    the same gap with another diagnosis still is."""
    from auditdata import Dataset

    rule = library.rule("QY-FJ-001")
    ds = Dataset()
    ds.inst("CHE-H")
    ds.item("CHE-DRUG", "奥沙利铂注射液", chrg="09", list_type="101")
    for person, dx in (("CHE-P", "Z51.103"), ("PNE-P", "J18.900")):
        ds.person(person)
        ds.enc(f"{person}-1", person, "CHE-H", med_type="21", begin="2024-03-01 09:00:00", end="2024-03-05 10:00:00", dx=[dx])
        ds.line(f"{person}-1", 1, "CHE-DRUG", pric="100")
        ds.enc(f"{person}-2", person, "CHE-H", med_type="21", begin="2024-03-08 09:00:00", end="2024-03-12 10:00:00", dx=[dx])
        ds.line(f"{person}-2", 1, "CHE-DRUG", pric="100")
    found = _batch(ds, rule, library, tmp_path) if engine == "batch" else _realtime(ds, rule, library)
    assert set(found) == {"enc:PNE-P-2"}
