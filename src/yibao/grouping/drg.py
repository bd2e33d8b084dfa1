"""A table-driven CHS-DRG grouper.

The scheme (a folder of CSV tables, see :mod:`yibao.grouping.scheme` and
``docs/drg-tables.md``) decides everything; this module only knows the grouping procedure:

1. **Validation** — gender 1 or 2; age present; age_days present when age is 0; birth weight
   present (0 counts) when age is 0 and age_days ≤ 28; at least one diagnosis. A failure gives
   ``CHECK_FAILED`` and ``0000``/``00``/``0000``.
2. **MDC and ADRG** — try the MDCs in order; inside an MDC whose entry rule holds, try its ADRGs
   in order; the first ADRG whose rule holds is the result. An MDC none of whose ADRGs matches
   is left ("falls through") for the next MDC. No ADRG at all: ``FAIL``, ``0000``/``00``/``0000``.
3. **DRG** — the ADRG's DRGs in order; the first whose severity test passes. Secondary
   diagnoses are ``dx[1:]`` as given (duplicates, and repeats of the principal, are tested); a
   secondary diagnosis counts as MCC (CC) unless its exclusion table equals the principal's.

Example::

    from yibao.grouping.drg import DrgGrouper, DrgRecord, load_scheme
    grouper = DrgGrouper(load_scheme("/path/to/chs-drg-1.1"))
    result = grouper.group(DrgRecord(gender=1, age=60, dx=["K35.800"], px=["47.0901"]), explain=True)
    print(result.drg, *result.trail, sep="\\n")

For speed, each rule is compiled into a closure once, and the MDCs and ADRGs worth trying are
looked up by principal diagnosis and main procedure (a rule ``pdx:zd&…`` cannot hold unless
the principal diagnosis is in ``zd``). The explained path evaluates every rule in full without
those indexes, and the tests check both paths agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Iterable, Sequence

from yibao.grouping import rules
from yibao.grouping.rules import Note
from yibao.grouping.scheme import (
    SEVERITY_ZH,
    AdrgDef,
    Issue,
    Scheme,
    SchemeError,
    adrg_env,
    load_scheme,
    mdc_env,
)

__all__ = [
    "DrgGrouper",
    "DrgRecord",
    "GroupResult",
    "Issue",
    "Scheme",
    "SchemeError",
    "Status",
    "load_scheme",
    "split_codes",
]

NO_MDC, NO_ADRG, NO_DRG = "0000", "00", "0000"


class Status(str, Enum):
    SUCCESS = "SUCCESS"
    FAIL = "FAIL"
    CHECK_FAILED = "CHECK_FAILED"
    ZD_NOT_MAPPING = "ZD_NOT_MAPPING"
    SS_NOT_MAPPING = "SS_NOT_MAPPING"

    @property
    def zh(self) -> str:
        return STATUS_ZH[self]


_SUCCESS, _FAIL, _CHECK_FAILED = Status.SUCCESS, Status.FAIL, Status.CHECK_FAILED

STATUS_ZH = {
    Status.SUCCESS: "分组成功",
    Status.FAIL: "无法入组",
    Status.CHECK_FAILED: "信息校验不通过",
    Status.ZD_NOT_MAPPING: "诊断不能转换为分组器支持的编码",
    Status.SS_NOT_MAPPING: "手术操作不能转换为分组器支持的编码",
}


def split_codes(text: str | None) -> list[str]:
    """Split a code list written as ``A|B|C`` (``,`` also separates). Surrounding blanks are
    removed from each code. An empty string gives one empty code (``['']``), as the reference
    implementation does for diagnoses; callers use ``[]`` for "no procedures"."""
    if text is None:
        return [""]
    if "," in text:
        text = text.replace(",", "|")
    return [c.strip() for c in text.split("|")]


@dataclass(slots=True)
class DrgRecord:
    """One discharge to group. ``dx``: principal diagnosis first; ``px``: main procedure first.
    ``weight`` is the birth weight in grams; a missing value is ``None`` (0 is a value)."""

    gender: int | None = None
    age: int | None = None
    age_days: int | None = None
    weight: int | float | None = None
    dx: list[str] = field(default_factory=list)
    px: list[str] = field(default_factory=list)
    dept: str | None = None
    los: int | float | None = None
    leaving_type: str | None = None
    id: str = ""


@dataclass(frozen=True, slots=True)
class GroupResult:
    id: str
    status: Status
    mdc: str
    adrg: str
    drg: str
    trail: tuple[Note, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status is Status.SUCCESS


@dataclass(slots=True)
class _CAdrg:
    code: str
    pos: int  # position in the MDC's evaluation order
    pred: rules.Predicate
    req: tuple[str, frozenset[str]] | None
    by_level: tuple[str, str, str]  # DRG chosen when the counted severity is 0 / CC / MCC
    needs_severity: bool


@dataclass(slots=True)
class _CMdc:
    code: str
    index: int
    pred: rules.Predicate
    req: tuple[str, frozenset[str]] | None
    # ADRGs worth trying, in order: those with no indexable requirement plus those whose
    # principal-diagnosis requirement this code meets (``always``: the first kind only) ...
    by_pdx: dict[str, tuple[_CAdrg, ...]]
    always: tuple[_CAdrg, ...]
    # ... and, separately, those whose main-procedure requirement this code meets.
    by_ppr: dict[str, tuple[_CAdrg, ...]]


def _by_level(drgs) -> tuple[str, str, str]:
    out = []
    for level in (0, 1, 2):
        for d in drgs:
            if (d.severity == "NONE" or (d.severity == "MCC_OR_CC" and level >= 1)
                    or (d.severity == "MCC" and level == 2)):
                out.append(d.code)
                break
    return tuple(out)  # type: ignore[return-value]


class DrgGrouper:
    """Groups records with one scheme. ``translate=True`` recodes diagnoses and procedures with
    the scheme's ``icd10_map.csv`` / ``icd9cm3_map.csv`` first (off by default); a code missing
    from the map then gives ``ZD_NOT_MAPPING`` / ``SS_NOT_MAPPING``."""

    def __init__(self, scheme: Scheme | str | Path, *, translate: bool = False) -> None:
        if not isinstance(scheme, Scheme):
            scheme = load_scheme(scheme)
        self.scheme = scheme
        self.translate = translate
        self._dx_map: dict[str, str] | None = None
        self._px_map: dict[str, str] | None = None
        if translate:
            self._dx_map, self._px_map = scheme.translation_maps()
        self._compile()
        self._ctx = rules.Context()

    # ------------------------------------------------------------------ compile

    def _compile(self) -> None:
        s = self.scheme
        self._mdcs: list[_CMdc] = []
        for i, mdc in enumerate(s.mdcs):
            env = mdc_env(mdc, s.or_procedures)
            cadrgs = []
            for pos, adrg in enumerate(s.adrgs_by_mdc[mdc.code]):
                aenv = adrg_env(adrg, mdc, s.or_procedures)
                levels = _by_level(s.drgs_by_adrg[adrg.code])
                cadrgs.append(_CAdrg(adrg.code, pos, rules.compile_rule(adrg.node, aenv),
                                     rules.requirement(adrg.node, aenv), levels,
                                     len(set(levels)) > 1))
            always = [ca for ca in cadrgs if ca.req is None]
            pdx_lists: dict[str, list[_CAdrg]] = {}
            ppr_lists: dict[str, list[_CAdrg]] = {}
            for ca in cadrgs:
                if ca.req is not None:
                    target = pdx_lists if ca.req[0] == "pdx" else ppr_lists
                    for code in ca.req[1]:
                        target.setdefault(code, []).append(ca)
            by_pdx = {code: tuple(sorted([*always, *lst], key=lambda a: a.pos))
                      for code, lst in pdx_lists.items()}
            by_ppr = {code: tuple(lst) for code, lst in ppr_lists.items()}
            self._mdcs.append(_CMdc(mdc.code, i, rules.compile_rule(mdc.node, env),
                                    rules.requirement(mdc.node, env), by_pdx, tuple(always), by_ppr))
        # MDCs worth trying for a principal diagnosis: those without a pdx requirement, plus
        # those whose requirement the principal diagnosis meets.
        self._mdc_default = tuple(m for m in self._mdcs if m.req is None or m.req[0] == "ppr")
        by_pdx: dict[str, list[_CMdc]] = {}
        for m in self._mdcs:
            if m.req is not None and m.req[0] == "pdx":
                for code in m.req[1]:
                    by_pdx.setdefault(code, []).append(m)
        self._mdc_by_pdx = {
            code: tuple(sorted([*self._mdc_default, *ms], key=lambda m: m.index))
            for code, ms in by_pdx.items()
        }
        sev: dict[str, tuple[str | None, str | None]] = {}
        for code, table in s.mcc.items():
            sev[code] = (table, None)
        for code, table in s.cc.items():
            sev[code] = (sev.get(code, (None, None))[0], table)
        self._sev = sev
        self._cce = s.cce
        # los/dept are copied into the rule context only when some rule looks at them
        nodes = [m.node for m in s.mdcs] + [a.node for a in s.adrgs.values()]
        self._uses_extra = any(a.kind == "dept" or a.arg == "los" for n in nodes for a in rules.atoms(n))

    # ------------------------------------------------------------------ fast path

    def _translate(self, dx: Sequence[str], px: Sequence[str]):
        dmap, pmap = self._dx_map, self._px_map
        assert dmap is not None and pmap is not None
        missing_dx = [x for x in dx if x not in dmap]
        if missing_dx:
            return Status.ZD_NOT_MAPPING, missing_dx
        missing_px = [x for x in px if x not in pmap]
        if missing_px:
            return Status.SS_NOT_MAPPING, missing_px
        return [dmap[x] for x in dx], [pmap[x] for x in px]

    def group_values(self, gender, age, age_days, weight, dx: list[str], px: list[str],
                     dept=None, los=None) -> tuple[Status, str, str, str]:
        """The fast path: ``(status, mdc, adrg, drg)`` for one record's fields."""
        if self.translate:
            out = self._translate(dx, px)
            if isinstance(out[0], Status):
                return out[0], NO_MDC, NO_ADRG, NO_DRG
            dx, px = out  # type: ignore[assignment]
        # 1. validation
        if (gender != 1 and gender != 2) or age is None or not dx:
            return _CHECK_FAILED, NO_MDC, NO_ADRG, NO_DRG
        if age == 0 and (age_days is None or (age_days <= 28 and weight is None)):
            return _CHECK_FAILED, NO_MDC, NO_ADRG, NO_DRG
        # 2. MDC and ADRG
        pdx = dx[0]
        ppr = px[0] if px else None
        c = self._ctx
        c.pdx = pdx
        c.dx = dx
        c.ppr = ppr
        c.px = px
        c.gender = gender
        c.age = age
        c.ageday = age_days
        c.weight = weight
        if self._uses_extra:
            c.los = los
            c.dept = dept
        for m in self._mdc_by_pdx.get(pdx, self._mdc_default):
            if not m.pred(c):
                continue
            # The first ADRG in order whose rule holds: the earliest hit of either list.
            best = None
            for ca in m.by_pdx.get(pdx, m.always):
                if ca.pred(c):
                    best = ca
                    break
            if ppr is not None:
                for ca in m.by_ppr.get(ppr, ()):
                    if best is not None and ca.pos > best.pos:
                        break
                    if ca.pred(c):
                        best = ca
                        break
            if best is not None:
                # 3. DRG
                if not best.needs_severity:
                    return _SUCCESS, m.code, best.code, best.by_level[0]
                return _SUCCESS, m.code, best.code, best.by_level[self._level(pdx, dx)]
        return _FAIL, NO_MDC, NO_ADRG, NO_DRG

    def _level(self, pdx: str, dx: Sequence[str]) -> int:
        """2 if a counted MCC exists among dx[1:], 1 if only a counted CC, else 0."""
        t = self._cce.get(pdx)
        get = self._sev.get
        level = 0
        for x in dx[1:]:
            e = get(x)
            if e is not None:
                m, cc = e
                if m is not None and m != t:
                    return 2
                if cc is not None and cc != t:
                    level = 1
        return level

    def group(self, record: DrgRecord, *, explain: bool = False) -> GroupResult:
        """Group one record; with ``explain=True`` the result carries the trail."""
        if explain:
            return self._explain(record)
        status, mdc, adrg, drg = self.group_values(
            record.gender, record.age, record.age_days, record.weight, record.dx, record.px,
            record.dept, record.los)
        return GroupResult(record.id, status, mdc, adrg, drg)

    def group_many(self, records: Iterable[DrgRecord]) -> list[GroupResult]:
        gv = self.group_values
        return [GroupResult(r.id, *gv(r.gender, r.age, r.age_days, r.weight, r.dx, r.px, r.dept, r.los))
                for r in records]

    # ------------------------------------------------------------------ explained path

    def _dx_name(self, code: str) -> str:
        return self.scheme.dx_names.get(code, "")

    def _px_name(self, code: str) -> str:
        return self.scheme.px_names.get(code, "")

    def _explain(self, record: DrgRecord) -> GroupResult:
        s = self.scheme
        trail: list[Note] = []
        rid = record.id

        def done(status: Status, mdc=NO_MDC, adrg=NO_ADRG, drg=NO_DRG) -> GroupResult:
            if status is Status.SUCCESS:
                d = s.drgs[drg]
                trail.append(Note(f"结果: {status.zh}，{mdc} / {adrg} / {drg} {d.name}",
                                  f"result: {status.value}, {mdc} / {adrg} / {drg}"))
            else:
                trail.append(Note(f"结果: {status.zh}，{mdc} / {adrg} / {drg}",
                                  f"result: {status.value}, {mdc} / {adrg} / {drg}"))
            return GroupResult(rid, status, mdc, adrg, drg, tuple(trail))

        dx, px = list(record.dx), list(record.px)
        trail.append(Note(
            f"病案 {rid}: 性别={record.gender} 年龄={record.age} 年龄天数={record.age_days} "
            f"出生体重={record.weight} 诊断=[{'|'.join(dx)}] 手术=[{'|'.join(px)}]",
            f"record {rid}: gender={record.gender} age={record.age} age_days={record.age_days} "
            f"weight={record.weight} dx=[{'|'.join(dx)}] px=[{'|'.join(px)}]"))
        if self.translate:
            out = self._translate(dx, px)
            if isinstance(out[0], Status):
                what = "诊断" if out[0] is Status.ZD_NOT_MAPPING else "手术操作"
                trail.append(Note(f"{what} {'、'.join(out[1])} 无法转换为分组器支持的编码",
                                  f"code(s) {', '.join(out[1])} are not in the translation map"))
                return done(out[0])
            changed = [(a, b) for a, b in zip(dx + px, out[0] + out[1]) if a != b]
            if changed:
                trail.append(Note("编码转换: " + "、".join(f"{a}→{b}" for a, b in changed),
                                  "code translation: " + ", ".join(f"{a}->{b}" for a, b in changed)))
            dx, px = out  # type: ignore[assignment]

        # 1. validation
        g, age, ad, w = record.gender, record.age, record.age_days, record.weight
        problem = None
        if g != 1 and g != 2:
            problem = (f"性别必须为 1 或 2，实为 {g!r}", f"gender must be 1 or 2, got {g!r}")
        elif age is None:
            problem = ("年龄为空", "age is missing")
        elif age == 0 and ad is None:
            problem = ("年龄为 0 岁时年龄天数必须有值", "age is 0 but age_days is missing")
        elif age == 0 and ad <= 28 and w is None:
            problem = ("新生儿（0 岁且不满 29 天）的出生体重必须有值（0 也算有值）",
                       "neonate (age 0, age_days ≤ 28) needs a birth weight (0 counts)")
        elif not dx:
            problem = ("诊断信息为空", "no diagnosis")
        if problem:
            trail.append(Note("校验不通过: " + problem[0], "validation failed: " + problem[1]))
            return done(Status.CHECK_FAILED)
        trail.append(Note("校验通过", "validation passed"))

        c = rules.Context()
        c.pdx, c.dx, c.ppr, c.px = dx[0], dx, (px[0] if px else None), px
        c.gender, c.age, c.ageday, c.weight, c.los, c.dept = g, age, ad, w, record.los, record.dept
        in_lists = [m.code for m in s.mdcs if c.pdx in m.codes]
        pdx_show = f"{c.pdx or '(空)'} {self._dx_name(c.pdx)}".rstrip()
        trail.append(Note(
            f"主诊断 {pdx_show} 所在的 MDC 主诊表: {'、'.join(in_lists) or '无'}",
            f"principal diagnosis {c.pdx or '(empty)'} is in the lists of: {', '.join(in_lists) or 'none'}"))

        # 2. MDC and ADRG
        for mdc in s.mdcs:
            env = mdc_env(mdc, s.or_procedures)
            ok, notes = rules.explain(mdc.node, env, c, self._dx_name, self._px_name)
            title = f"{mdc.code}（{mdc.name}）" if mdc.name else mdc.code
            if not ok:
                # Mention only near misses: an entry rule some part of which held.
                if any(v for v, _ in notes):
                    trail.append(Note(
                        f"未进入 {title}: 入组规则 {mdc.rule_text} 不成立 — " + "；".join(n.zh for _, n in notes),
                        f"not entering {mdc.code}: entry rule {mdc.rule_text} is false — "
                        + "; ".join(n.en for _, n in notes)))
                continue
            trail.append(Note(
                f"进入 {title}: 入组规则 {mdc.rule_text} 成立 — " + "；".join(n.zh for _, n in notes),
                f"entering {mdc.code}: entry rule {mdc.rule_text} holds — " + "; ".join(n.en for _, n in notes)))
            for adrg in s.adrgs_by_mdc[mdc.code]:
                aenv = adrg_env(adrg, mdc, s.or_procedures)
                aok, anotes = rules.explain(adrg.node, aenv, c, self._dx_name, self._px_name)
                atitle = f"{adrg.code}（{adrg.name}）" if adrg.name else adrg.code
                if aok:
                    trail.append(Note(
                        f"入组 ADRG {atitle}: 规则 {adrg.rule_text} 成立 — " + "；".join(n.zh for _, n in anotes),
                        f"ADRG {adrg.code} matched: rule {adrg.rule_text} holds — "
                        + "; ".join(n.en for _, n in anotes)))
                    return self._explain_drg(adrg, c, dx, trail, done, mdc.code)
                if any(v for v, _ in anotes):
                    trail.append(Note(
                        f"未入 ADRG {atitle}: 规则 {adrg.rule_text} 不成立 — " + "；".join(n.zh for _, n in anotes),
                        f"ADRG {adrg.code} not matched: rule {adrg.rule_text} is false — "
                        + "; ".join(n.en for _, n in anotes)))
            trail.append(Note(f"{mdc.code} 内没有 ADRG 的规则成立，继续尝试后面的 MDC",
                              f"no ADRG of {mdc.code} matches; falling through to the next MDC"))
        trail.append(Note("不符合任何 MDC 的入组条件", "no MDC produced an ADRG"))
        return done(Status.FAIL)

    def _explain_drg(self, adrg: AdrgDef, c: rules.Context, dx: list[str], trail: list[Note],
                     done, mdc_code: str) -> GroupResult:
        s = self.scheme
        drgs = s.drgs_by_adrg[adrg.code]
        if drgs[0].severity == "NONE":
            d = drgs[0]
            trail.append(Note(f"ADRG {adrg.code} 的第一个 DRG {d.code} 无需并发症条件",
                              f"the first DRG of {adrg.code}, {d.code}, has no severity test"))
            return done(Status.SUCCESS, mdc_code, adrg.code, d.code)
        t = s.cce.get(c.pdx)
        if t is None:
            trail.append(Note(f"主诊断 {c.pdx} 不属于任何排除表（无 CC 排除）",
                              f"principal diagnosis {c.pdx} has no exclusion table"))
        else:
            trail.append(Note(f"主诊断 {c.pdx} 属于排除表 {t}",
                              f"principal diagnosis {c.pdx} belongs to exclusion table {t}"))
        level = 0
        if len(dx) == 1:
            trail.append(Note("没有次要诊断", "no secondary diagnosis"))
        for pos, x in enumerate(dx[1:], start=2):
            name = self._dx_name(x)
            shown = f"{x} {name}".rstrip()
            found = False
            for kind, table, lvl in (("MCC", s.mcc.get(x), 2), ("CC", s.cc.get(x), 1)):
                if table is None:
                    continue
                found = True
                if t is not None and table == t:
                    trail.append(Note(
                        f"次要诊断 {shown}（第{pos}诊断）是 {kind}，但其排除表 {table} 与主诊断相同，被排除",
                        f"secondary dx {x} (position {pos}) is a {kind} but is excluded (table {table} = principal's)"))
                else:
                    trail.append(Note(
                        f"次要诊断 {shown}（第{pos}诊断）是 {kind}（排除表 {table}），计入",
                        f"secondary dx {x} (position {pos}) is a {kind} (table {table}), counted"))
                    level = max(level, lvl)
            if not found:
                trail.append(Note(f"次要诊断 {shown}（第{pos}诊断）不是 CC/MCC",
                                  f"secondary dx {x} (position {pos}) is neither CC nor MCC"))
        for d in drgs:
            passed = (d.severity == "NONE" or (d.severity == "MCC_OR_CC" and level >= 1)
                      or (d.severity == "MCC" and level == 2))
            if passed:
                trail.append(Note(f"DRG {d.code}（{d.name}）: 条件 {SEVERITY_ZH[d.severity]} 满足",
                                  f"DRG {d.code}: test {d.severity} passes"))
                return done(Status.SUCCESS, mdc_code, adrg.code, d.code)
            trail.append(Note(f"DRG {d.code}: 条件 {SEVERITY_ZH[d.severity]} 不满足",
                              f"DRG {d.code}: test {d.severity} fails"))
        raise AssertionError("the last DRG of an ADRG is NONE")  # load_scheme checks this
