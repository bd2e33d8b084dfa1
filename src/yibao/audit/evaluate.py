"""Measured quality: audit a generated region and compare the findings with its labels.

Each rule type that finds a labelled pattern of the synthetic region (``RuleType.label``) is scored
on that pattern: a finding is a true positive when its subject is a labelled one (the line for line
patterns, the encounter for encounter patterns, the pharmacy × drug × year for stock). Two rule
types share the pattern ``frequency_excess`` (超频次 per day and 超数量 per visit): they are scored
together on it, as one row. Amounts at stake are compared with the labels' too. Rule types without
labels (the illustrative ones and the provider-level statistics) are listed with their counts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq

from .findings import Finding
from .library import Library
from .types import RULE_TYPES


@dataclass
class Score:
    pattern: str
    rule_types: list[str]
    labelled: int
    found: int
    true_positive: int
    amount_agree: int  # true positives whose amount equals the label's

    @property
    def precision(self) -> float:
        return self.true_positive / self.found if self.found else (1.0 if not self.labelled else 0.0)

    @property
    def recall(self) -> float:
        return self.true_positive / self.labelled if self.labelled else 1.0

    def as_json(self) -> dict:
        return {"rule_type": "+".join(self.rule_types), "pattern": self.pattern, "labelled": self.labelled,
                "found": self.found, "true_positive": self.true_positive, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "amount_agree": self.amount_agree}


@dataclass
class Evaluation:
    scores: list[Score]
    unlabelled: dict[str, int] = field(default_factory=dict)  # rule type -> findings
    outliers: list[Finding] = field(default_factory=list)


def _label_subject(level: str, row: dict) -> str:
    if level == "line":
        return f"line:{row['mdtrt_id']}:{row['feedetl_sn']}"
    if level == "encounter":
        return f"enc:{row['mdtrt_id']}"
    return f"stock:{row['fixmedins_code']}:{row['med_list_codg']}:{row['year']}"


def _event_dates(region: Path) -> dict[str, dt.date]:
    """The begin date of every encounter of the region (the date rules are judged on)."""
    import duckdb

    con = duckdb.connect()
    rows = con.execute(
        f"select mdtrt_id, cast(begntime as date) from read_parquet('{region}/encounters/*/*.parquet', hive_partitioning = true)"
    ).fetchall()
    return dict(rows)


def _in_force(rules_by_type: dict[str, list], type_ids: list[str], on: dt.date) -> bool:
    for type_id in type_ids:
        for rule in rules_by_type.get(type_id, ()):
            if rule.effective_from <= on and (rule.effective_to is None or on <= rule.effective_to):
                return True
    return False


def evaluate(region: str | Path, findings: list[Finding], library: Library) -> Evaluation:
    """Precision and recall per labelled pattern. A label counts only when some rule of its type
    was in force on its date: a rule that starts in 2024 is not faulted for 2022's cases."""
    import datetime as dt

    labels = pq.read_table(Path(region) / "labels.parquet").to_pylist()
    dates = _event_dates(Path(region))
    rules_by_type: dict[str, list] = defaultdict(list)
    for rule in library.enabled_rules():
        rules_by_type[rule.type_id].append(rule)
    by_pattern: dict[str, dict[str, int]] = defaultdict(dict)
    types_by_pattern: dict[str, list[str]] = defaultdict(list)
    for t in RULE_TYPES.values():
        if t.label:
            types_by_pattern[t.label].append(t.type_id)
    for row in labels:
        pattern = row["pattern"]
        if pattern not in types_by_pattern:
            continue
        level = RULE_TYPES[types_by_pattern[pattern][0]].level
        on = dates.get(row["mdtrt_id"]) if row.get("mdtrt_id") else dt.date(int(row["year"]), 12, 31)
        if on is not None and not _in_force(rules_by_type, types_by_pattern[pattern], on):
            continue
        amount = int(Decimal(row["amount_at_stake"]) * 100)
        by_pattern[pattern][_label_subject(level, row)] = amount
    found: dict[str, dict[str, int]] = defaultdict(dict)
    unlabelled: dict[str, int] = defaultdict(int)
    outliers: list[Finding] = []
    for f in findings:
        rtype = RULE_TYPES[f.rule_type]
        if rtype.label:
            found[rtype.label][f.subject] = f.amount
        elif rtype.level == "provider":
            outliers.append(f)
        else:
            unlabelled[f.rule_type] += 1
    scores = []
    present = {r.type_id for r in library.enabled_rules()}
    for pattern, type_ids in types_by_pattern.items():
        if not present.intersection(type_ids):
            continue
        lab, fnd = by_pattern.get(pattern, {}), found.get(pattern, {})
        tp = set(lab) & set(fnd)
        scores.append(Score(pattern, type_ids, len(lab), len(fnd), len(tp), sum(1 for s in tp if lab[s] == fnd[s])))
    for t in present:
        if not RULE_TYPES[t].label and RULE_TYPES[t].level != "provider":
            unlabelled.setdefault(t, 0)
    return Evaluation(scores, dict(unlabelled), outliers)
