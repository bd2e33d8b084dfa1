"""The rule language: parsing, precedence, errors, and the compiled predicate's semantics."""

from __future__ import annotations

import pytest

from yibao.grouping import rules
from yibao.grouping.rules import And, Atom, Not, Or, RuleSyntaxError


def test_and_binds_tighter_than_or():
    node = rules.parse("pdx:zd|ppr:ss&anypr:ss1")
    assert isinstance(node, Or)
    assert node.items[0] == Atom("pdx", "zd", text="pdx:zd")
    assert isinstance(node.items[1], And)
    assert [a.text for a in node.items[1].items] == ["ppr:ss", "anypr:ss1"]


def test_parentheses_and_negation():
    node = rules.parse("pdx:zd&((ssgrp:1&ssgrp:2)|(ssgrp:1&ssgrp:3&ssgrp:4))")
    assert isinstance(node, And) and isinstance(node.items[1], Or)
    assert [len(i.items) for i in node.items[1].items] == [2, 3]
    neg = rules.parse("!anypr:OR")
    assert isinstance(neg, Not) and neg.item.text == "anypr:OR"


def test_not_equal_is_a_comparison_not_a_negation():
    node = rules.parse("anydx:zd&weight!=0&weight<1500")
    assert [a.text for a in node.items] == ["anydx:zd", "weight!=0", "weight<1500"]
    assert node.items[1] == Atom("cmp", "weight", "!=", 0, text="weight!=0")
    # '!' before a comparison is still a negation of it
    neg = rules.parse("!weight!=0")
    assert isinstance(neg, Not) and neg.item.op == "!="


def test_round_trip_text():
    for text in ["!anypr:OR", "pdx:mdc&regions>=2", "ppr:ss&has_ageday&ageday<=28", "true",
                 "pdx:zd&(ssgrp:1|ssgrp:2&ssgrp:3)"]:
        assert rules.to_text(rules.parse(text)) == text
    # Redundant parentheses are dropped, the tree is unchanged.
    text = "pdx:zd&(ssgrp:1|(ssgrp:2&ssgrp:3))"
    assert rules.to_text(rules.parse(text)) == "pdx:zd&(ssgrp:1|ssgrp:2&ssgrp:3)"
    assert rules.parse(rules.to_text(rules.parse(text))) == rules.parse(text)


@pytest.mark.parametrize("text, position", [
    ("pdx:zd&", 7),          # atom expected at the end
    ("(pdx:zd", 7),          # missing ')'
    ("pdx:zd)", 6),          # trailing text
    ("pdx:zd ppr:ss", 6),    # blanks are not allowed
    ("foo", 0),              # unknown atom
    ("pdx:", 0),             # list name missing
    ("age=0", 0),            # '=' is not an operator
    ("", 0),
])
def test_syntax_errors_have_positions(text, position):
    with pytest.raises(RuleSyntaxError) as info:
        rules.parse(text)
    assert info.value.position == position


def _ctx(**kw):
    c = rules.Context()
    for k, v in kw.items():
        setattr(c, k, v)
    if "dx" in kw:
        c.pdx = kw["dx"][0]
    if "px" in kw:
        c.ppr = kw["px"][0] if kw["px"] else None
    return c


ENV = rules.Env(lists={"zd": frozenset({"A"}), "ss": frozenset({"P"}), "OR": frozenset({"P", "Q"})},
                tags={"1": frozenset({"P"})}, regions={"A": "head", "B": "chest", "C": "head"})


def _ev(text, **kw):
    node = rules.parse(text)
    compiled = rules.compile_rule(node, ENV)(_ctx(**kw))
    explained, _ = rules.explain(node, ENV, _ctx(**kw))
    assert compiled == explained  # the two evaluators agree
    return compiled


def test_missing_field_makes_comparisons_false():
    assert _ev("weight!=0", weight=None) is False
    assert _ev("weight!=0", weight=0) is False
    assert _ev("weight!=0", weight=1) is True
    assert _ev("!weight!=0", weight=None) is True
    assert _ev("has_ageday", ageday=None) is False
    assert _ev("ageday<=28", ageday=28) is True
    assert _ev("ageday<=28", ageday=29) is False


def test_list_atoms():
    assert _ev("pdx:zd", dx=["A"], px=[]) is True
    assert _ev("pdx:zd", dx=["X", "A"], px=[]) is False
    assert _ev("anydx:zd", dx=["X", "A"], px=[]) is True
    assert _ev("ppr:ss", dx=["X"], px=[]) is False           # no procedure at all
    assert _ev("ppr:ss", dx=["X"], px=["Q", "P"]) is False   # P is not the main procedure
    assert _ev("anypr:ss", dx=["X"], px=["Q", "P"]) is True
    assert _ev("ssgrp:1", dx=["X"], px=["Q", "P"]) is True
    assert _ev("!anypr:OR", dx=["X"], px=["R"]) is True


def test_regions_counts_distinct_regions():
    assert _ev("regions>=2", dx=["A", "C"], px=[]) is False  # both head
    assert _ev("regions>=2", dx=["A", "X", "B"], px=[]) is True


def test_requirement_index():
    env = ENV
    assert rules.requirement(rules.parse("pdx:zd&ppr:ss"), env) == ("pdx", frozenset({"A"}))
    assert rules.requirement(rules.parse("ppr:ss&has_ageday"), env) == ("ppr", frozenset({"P"}))
    assert rules.requirement(rules.parse("anydx:zd&ppr:OR"), env) == ("ppr", frozenset({"P", "Q"}))
    assert rules.requirement(rules.parse("!anypr:OR"), env) is None
    assert rules.requirement(rules.parse("pdx:zd|ppr:ss"), env) is None
