"""The rule language of a DRG scheme's tables (``mdc.csv.entry_rule``, ``adrg.csv.rule``).

Grammar (no spaces)::

    rule := or ;  or := and ('|' and)* ;  and := not ('&' not)* ;  not := '!' not | '(' or ')' | atom

Atoms:

=====================  ==========================================================================
``true`` / ``false``   always / never (``false`` is a yibao extension)
``pdx:L``              the principal (first) diagnosis is in list L
``anydx:L``            any diagnosis, principal or secondary, is in L
``ppr:L``              there is a procedure and the main (first) one is in L
``anypr:L``            any procedure is in L
``ssgrp:T``            any procedure is in this ADRG's ``ss`` list with ``tag`` = T
``dept:L``             the department is in list L (yibao extension; CHS-DRG 1.1 never uses it)
``has_F``              field F is present (F: gender, age, ageday, weight, los)
``F<op>N``             field F is present and the comparison holds (op: == != <= >= < >)
``regions<op>N``       the diagnoses found in the MDC's list cover <op> N body regions (MDCZ)
=====================  ==========================================================================

A rule is parsed once into a small tree (:class:`Node`) and compiled into a Python closure over
a record context; no ``eval`` is involved. The same tree can be evaluated with explanations
(:func:`explain`) for the grouping trail.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

LIST_KINDS = ("pdx", "anydx", "ppr", "anypr", "dept")
FIELDS = ("gender", "age", "ageday", "weight", "los")
OPS: dict[str, Callable[[object, object], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_CMP_RE = re.compile(r"^(gender|age|ageday|weight|los|regions)(==|!=|<=|>=|<|>)(-?\d+(?:\.\d+)?)$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_]+$")

FIELD_ZH = {
    "gender": "性别",
    "age": "年龄",
    "ageday": "年龄天数",
    "weight": "出生体重",
    "los": "住院天数",
    "regions": "创伤部位数",
}


class RuleSyntaxError(ValueError):
    """A rule that does not follow the grammar; ``position`` is 0-based in the rule text."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


# --------------------------------------------------------------------------- tree


@dataclass(frozen=True, slots=True)
class Atom:
    kind: str  # true false pdx anydx ppr anypr dept ssgrp has cmp regions
    arg: str = ""  # list name, tag, or field name
    op: str = ""
    value: int | float = 0
    text: str = ""


@dataclass(frozen=True, slots=True)
class And:
    items: tuple["Node", ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple["Node", ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: "Node"


Node = Atom | And | Or | Not


def _parse_atom(text: str, position: int) -> Atom:
    if text == "true":
        return Atom("true", text=text)
    if text == "false":
        return Atom("false", text=text)
    if ":" in text:
        kind, _, arg = text.partition(":")
        if kind == "ssgrp":
            if not arg or not _NAME_RE.match(arg):
                raise RuleSyntaxError(f"ssgrp 后须是组标签: {text!r}", position)
            return Atom("ssgrp", arg, text=text)
        if kind not in LIST_KINDS:
            raise RuleSyntaxError(f"未知的原子 {text!r} (unknown atom)", position)
        if not arg or not _NAME_RE.match(arg):
            raise RuleSyntaxError(f"原子 {text!r} 缺少列表名 (missing list name)", position)
        return Atom(kind, arg, text=text)
    if text.startswith("has_"):
        fld = text[4:]
        if fld not in FIELDS:
            raise RuleSyntaxError(f"未知的字段 {fld!r} in {text!r} (unknown field)", position)
        return Atom("has", fld, text=text)
    match = _CMP_RE.match(text)
    if match:
        fld, op, num = match.groups()
        value: int | float = float(num) if "." in num else int(num)
        return Atom("regions" if fld == "regions" else "cmp", fld, op, value, text=text)
    raise RuleSyntaxError(f"未知的原子 {text!r} (unknown atom)", position)


def parse(text: str) -> Node:
    """Parse rule text into a tree. Raises :class:`RuleSyntaxError`."""
    if text is None or text == "":
        raise RuleSyntaxError("规则为空 (empty rule)", 0)
    if any(ch.isspace() for ch in text):
        raise RuleSyntaxError("规则中不能有空白 (no spaces allowed)", next(
            i for i, ch in enumerate(text) if ch.isspace()))
    pos = 0
    n = len(text)

    def peek() -> str:
        return text[pos] if pos < n else ""

    def parse_or() -> Node:
        nonlocal pos
        items = [parse_and()]
        while peek() == "|":
            pos += 1
            items.append(parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and() -> Node:
        nonlocal pos
        items = [parse_not()]
        while peek() == "&":
            pos += 1
            items.append(parse_not())
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_not() -> Node:
        nonlocal pos
        ch = peek()
        if ch == "!":
            pos += 1
            return Not(parse_not())
        if ch == "(":
            pos += 1
            inner = parse_or()
            if peek() != ")":
                raise RuleSyntaxError("缺少右括号 ')' (missing ')')", pos)
            pos += 1
            return inner
        start = pos
        while pos < n and text[pos] not in "&|()":
            # '!' is the negation operator, except inside the comparison '!='
            if text[pos] == "!" and not (pos + 1 < n and text[pos + 1] == "="):
                break
            pos += 1
        if pos == start:
            found = repr(text[pos]) if pos < n else "end of rule"
            raise RuleSyntaxError(f"此处应为原子，却是 {found} (expected an atom)", pos)
        return _parse_atom(text[start:pos], start)

    node = parse_or()
    if pos != n:
        raise RuleSyntaxError(f"多余的字符 {text[pos:]!r} (unexpected text)", pos)
    return node


def atoms(node: Node) -> Iterable[Atom]:
    """Every atom of a tree, left to right."""
    if isinstance(node, Atom):
        yield node
    elif isinstance(node, Not):
        yield from atoms(node.item)
    else:
        for item in node.items:
            yield from atoms(item)


def to_text(node: Node) -> str:
    """The rule text of a tree (canonical, with the minimum of parentheses)."""
    if isinstance(node, Atom):
        return node.text
    if isinstance(node, Not):
        inner = to_text(node.item)
        return "!" + (inner if isinstance(node.item, (Atom, Not)) else f"({inner})")
    if isinstance(node, And):
        return "&".join(
            f"({to_text(i)})" if isinstance(i, Or) else to_text(i) for i in node.items
        )
    return "|".join(to_text(i) for i in node.items)


# --------------------------------------------------------------------------- context


class Context:
    """What a rule looks at. One object is reused for every record of a batch."""

    __slots__ = ("pdx", "dx", "ppr", "px", "gender", "age", "ageday", "weight", "los", "dept")

    def __init__(self) -> None:
        self.pdx: str = ""
        self.dx: list[str] = []
        self.ppr: str | None = None
        self.px: list[str] = []
        self.gender: int | None = None
        self.age: int | None = None
        self.ageday: int | None = None
        self.weight: int | float | None = None
        self.los: int | float | None = None
        self.dept: str | None = None


@dataclass
class Env:
    """Resolves the names a rule uses: its lists, its tag groups and its region map."""

    lists: Mapping[str, frozenset[str]]
    tags: Mapping[str, frozenset[str]] = field(default_factory=dict)
    regions: Mapping[str, str] = field(default_factory=dict)
    list_labels: Mapping[str, str] = field(default_factory=dict)  # name -> "FM1 手术表(ss)"


class UnknownName(ValueError):
    pass


def check_names(node: Node, env: Env) -> list[str]:
    """Names used by a rule that the environment cannot resolve."""
    missing = []
    for atom in atoms(node):
        if atom.kind in LIST_KINDS and atom.arg not in env.lists:
            missing.append(f"列表 {atom.arg!r} ({atom.text})")
        elif atom.kind == "ssgrp" and atom.arg not in env.tags:
            missing.append(f"手术组标签 {atom.arg!r} ({atom.text})")
        elif atom.kind == "regions" and not env.regions:
            missing.append(f"部位表 region ({atom.text})")
    return missing


Predicate = Callable[[Context], bool]


def _true(c: Context) -> bool:
    return True


def _false(c: Context) -> bool:
    return False


def _compile_atom(atom: Atom, env: Env) -> Predicate:
    kind = atom.kind
    if kind == "true":
        return _true
    if kind == "false":
        return _false
    if kind in LIST_KINDS:
        s = env.lists.get(atom.arg, frozenset())
        if kind == "pdx":
            return lambda c: c.pdx in s
        if kind == "ppr":
            return lambda c: c.ppr in s
        if kind == "anydx":
            return lambda c: not s.isdisjoint(c.dx)
        if kind == "anypr":
            return lambda c: not s.isdisjoint(c.px)
        return lambda c: c.dept in s
    if kind == "ssgrp":
        t = env.tags.get(atom.arg, frozenset())
        return lambda c: not t.isdisjoint(c.px)
    if kind == "has":
        get = operator.attrgetter(atom.arg)
        return lambda c: get(c) is not None
    if kind == "cmp":
        get = operator.attrgetter(atom.arg)
        op = OPS[atom.op]
        k = atom.value

        def cmp(c: Context) -> bool:
            v = get(c)
            return v is not None and op(v, k)

        return cmp
    if kind == "regions":
        regions = env.regions
        op = OPS[atom.op]
        k = atom.value

        def regions_cmp(c: Context) -> bool:
            found = {regions[x] for x in c.dx if x in regions}
            return op(len(found), k)

        return regions_cmp
    raise AssertionError(kind)  # pragma: no cover - parse() only makes the kinds above


def _chain_and(preds: list[Predicate]) -> Predicate:
    if len(preds) == 1:
        return preds[0]
    a, rest = preds[0], _chain_and(preds[1:])
    return lambda c: a(c) and rest(c)


def _chain_or(preds: list[Predicate]) -> Predicate:
    if len(preds) == 1:
        return preds[0]
    a, rest = preds[0], _chain_or(preds[1:])
    return lambda c: a(c) or rest(c)


def compile_rule(node: Node, env: Env) -> Predicate:
    """A closure ``f(context) -> bool`` equivalent to the tree."""
    if isinstance(node, Atom):
        return _compile_atom(node, env)
    if isinstance(node, Not):
        inner = compile_rule(node.item, env)
        return lambda c: not inner(c)
    preds = [compile_rule(i, env) for i in node.items]
    return _chain_and(preds) if isinstance(node, And) else _chain_or(preds)


def requirement(node: Node, env: Env) -> tuple[str, frozenset[str]] | None:
    """A necessary condition usable as an index: ('pdx', S) or ('ppr', S) when the rule can
    only be true if the principal diagnosis (main procedure) is in S; else None."""
    candidates: list[Atom]
    if isinstance(node, Atom):
        candidates = [node]
    elif isinstance(node, And):
        candidates = [i for i in node.items if isinstance(i, Atom)]
    else:
        return None
    for kind in ("pdx", "ppr"):
        for atom in candidates:
            if atom.kind == kind:
                return kind, env.lists.get(atom.arg, frozenset())
    if any(a.kind == "false" for a in candidates):
        return "pdx", frozenset()
    return None


# --------------------------------------------------------------------------- explanations


@dataclass(frozen=True, slots=True)
class Note:
    """One line of a trail, in Chinese and in English."""

    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"


Namer = Callable[[str], str]


def _name_list(env: Env, name: str) -> tuple[str, str]:
    label = env.list_labels.get(name, name)
    return label, label


def _codes(codes: Iterable[str], namer: Namer | None) -> str:
    out = []
    for code in codes:
        shown = code if code != "" else "(空)"
        nm = namer(code) if namer else ""
        out.append(f"{shown} {nm}".rstrip())
    return "、".join(out)


def _explain_atom(atom: Atom, env: Env, c: Context, dx_namer: Namer | None,
                  px_namer: Namer | None) -> tuple[bool, Note]:
    kind = atom.kind
    t = atom.text
    if kind == "true":
        return True, Note("无条件（true）", "unconditional (true)")
    if kind == "false":
        return False, Note("永不成立（false）", "never (false)")
    if kind in LIST_KINDS or kind == "ssgrp":
        if kind == "ssgrp":
            s = env.tags.get(atom.arg, frozenset())
            label_zh = f"手术组 {atom.arg}"
            label_en = f"procedure group {atom.arg}"
        else:
            s = env.lists.get(atom.arg, frozenset())
            label_zh, label_en = _name_list(env, atom.arg)
        if kind == "pdx":
            ok = c.pdx in s
            code = _codes([c.pdx], dx_namer)
            return ok, Note(
                f"[{t}] 主诊断 {code} {'在' if ok else '不在'} {label_zh} 内",
                f"[{t}] principal diagnosis {c.pdx or '(empty)'} is {'' if ok else 'not '}in {label_en}",
            )
        if kind == "ppr":
            if c.ppr is None:
                return False, Note(f"[{t}] 无手术操作", f"[{t}] no procedure")
            ok = c.ppr in s
            code = _codes([c.ppr], px_namer)
            return ok, Note(
                f"[{t}] 主手术 {code} {'在' if ok else '不在'} {label_zh} 内",
                f"[{t}] main procedure {c.ppr} is {'' if ok else 'not '}in {label_en}",
            )
        if kind == "dept":
            ok = c.dept in s
            return ok, Note(
                f"[{t}] 科室 {c.dept} {'在' if ok else '不在'} {label_zh} 内",
                f"[{t}] department {c.dept} is {'' if ok else 'not '}in {label_en}",
            )
        pool = c.dx if kind == "anydx" else c.px
        namer = dx_namer if kind == "anydx" else px_namer
        hits = list(dict.fromkeys(x for x in pool if x in s))
        what_zh = "诊断" if kind == "anydx" else "手术操作"
        what_en = "diagnosis" if kind == "anydx" else "procedure"
        if hits:
            return True, Note(
                f"[{t}] {what_zh} {_codes(hits, namer)} 在 {label_zh} 内",
                f"[{t}] {what_en} {', '.join(hits)} in {label_en}",
            )
        return False, Note(
            f"[{t}] 没有任何{what_zh}在 {label_zh} 内",
            f"[{t}] no {what_en} in {label_en}",
        )
    if kind in ("has", "cmp"):
        v = getattr(c, atom.arg)
        fz = FIELD_ZH[atom.arg]
        if kind == "has":
            ok = v is not None
            return ok, Note(
                f"[{t}] {fz}{'有值' if ok else '为空'}",
                f"[{t}] {atom.arg} is {'present' if ok else 'missing'}",
            )
        if v is None:
            return False, Note(f"[{t}] {fz}为空，不成立", f"[{t}] {atom.arg} is missing: false")
        ok = OPS[atom.op](v, atom.value)
        return ok, Note(
            f"[{t}] {fz} = {v}，{'成立' if ok else '不成立'}",
            f"[{t}] {atom.arg} = {v}: {'true' if ok else 'false'}",
        )
    if kind == "regions":
        found: dict[str, list[str]] = {}
        for x in c.dx:
            if x in env.regions:
                found.setdefault(env.regions[x], [])
                if x not in found[env.regions[x]]:
                    found[env.regions[x]].append(x)
        ok = OPS[atom.op](len(found), atom.value)
        detail = "；".join(f"{r}: {'、'.join(xs)}" for r, xs in found.items()) or "无"
        detail_en = "; ".join(f"{r}: {', '.join(xs)}" for r, xs in found.items()) or "none"
        return ok, Note(
            f"[{t}] 诊断涉及 {len(found)} 个部位（{detail}），{'成立' if ok else '不成立'}",
            f"[{t}] diagnoses cover {len(found)} region(s) ({detail_en}): {'true' if ok else 'false'}",
        )
    raise AssertionError(kind)  # pragma: no cover


def explain(node: Node, env: Env, c: Context, dx_namer: Namer | None = None,
            px_namer: Namer | None = None) -> tuple[bool, list[tuple[bool, Note]]]:
    """Evaluate a tree with the same short-circuit order as :func:`compile_rule`, returning
    the value and, for every atom actually evaluated, its value and a note."""
    notes: list[tuple[bool, Note]] = []

    def ev(n: Node) -> bool:
        if isinstance(n, Atom):
            ok, note = _explain_atom(n, env, c, dx_namer, px_namer)
            notes.append((ok, note))
            return ok
        if isinstance(n, Not):
            return not ev(n.item)
        if isinstance(n, And):
            for item in n.items:
                if not ev(item):
                    return False
            return True
        for item in n.items:
            if ev(item):
                return True
        return False

    value = ev(node)
    return value, notes
