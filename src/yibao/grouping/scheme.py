"""A DRG scheme folder: loading and checking its tables.

A region issues its own version of the national scheme as a folder of CSV tables (the format
is documented in ``docs/drg-tables.md``): ``mdc.csv``, ``mdc_codes.csv``, ``adrg.csv``,
``adrg_codes.csv``, ``drg.csv``, ``mcc.csv``, ``cc.csv``, ``cc_exclusion.csv`` and
``or_procedures.csv``, optionally ``icd10.csv`` / ``icd9cm3.csv`` (code names) and
``icd10_map.csv`` / ``icd9cm3_map.csv`` (code translation).

Every problem found is reported with the file, the line and the column, and loading stops with
a :class:`SchemeError` listing all of them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from yibao.grouping import rules

SEVERITIES = ("MCC", "MCC_OR_CC", "NONE")
SEVERITY_ZH = {
    "MCC": "伴严重并发症或合并症（MCC）",
    "MCC_OR_CC": "伴并发症或合并症（MCC 或 CC）",
    "NONE": "无需并发症条件",
}
LIST_ZH = {"zd": "诊断表", "zd1": "诊断表1", "ss": "手术表", "ss1": "手术表1", "dept": "科室表"}

REQUIRED_FILES: dict[str, tuple[str, ...]] = {
    "mdc.csv": ("mdc", "order", "entry_rule"),
    "mdc_codes.csv": ("mdc", "code"),
    "adrg.csv": ("adrg", "mdc", "order", "rule"),
    "adrg_codes.csv": ("adrg", "list", "code"),
    "drg.csv": ("drg", "adrg", "order", "severity"),
    "mcc.csv": ("code", "exclusion_table"),
    "cc.csv": ("code", "exclusion_table"),
    "cc_exclusion.csv": ("principal_code", "exclusion_table"),
    "or_procedures.csv": ("code",),
}
OPTIONAL_FILES: dict[str, tuple[str, ...]] = {
    "icd10.csv": ("code", "name"),
    "icd9cm3.csv": ("code", "name"),
    "icd10_map.csv": ("from_code", "to_code"),
    "icd9cm3_map.csv": ("from_code", "to_code"),
}


@dataclass(frozen=True, slots=True)
class Issue:
    file: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f" 第{self.line}行 (line {self.line})"
        if self.column:
            where += f" 列 {self.column}"
        return f"{where}: {self.message}"


class SchemeError(ValueError):
    """A scheme folder that cannot be used; ``issues`` lists every problem found."""

    def __init__(self, folder: Path | str, issues: list[Issue]) -> None:
        self.folder = str(folder)
        self.issues = issues
        shown = "\n  ".join(str(i) for i in issues[:50])
        more = f"\n  …另有 {len(issues) - 50} 个问题" if len(issues) > 50 else ""
        super().__init__(f"分组方案 {folder} 有 {len(issues)} 个问题 (scheme has problems):\n  {shown}{more}")


@dataclass
class MdcDef:
    code: str
    order: int
    name: str
    rule_text: str
    node: rules.Node
    codes: frozenset[str]
    regions: dict[str, str]
    line: int


@dataclass
class AdrgDef:
    code: str
    mdc: str
    order: int
    name: str
    rule_text: str
    node: rules.Node
    lists: dict[str, frozenset[str]]
    tags: dict[str, frozenset[str]]
    line: int


@dataclass
class DrgDef:
    code: str
    name: str
    adrg: str
    order: int
    severity: str
    line: int


@dataclass
class Scheme:
    """A loaded, checked scheme. ``mdcs`` is in evaluation order; so are the lists in
    ``adrgs_by_mdc`` and ``drgs_by_adrg``."""

    path: Path
    mdcs: list[MdcDef]
    adrgs: dict[str, AdrgDef]
    drgs: dict[str, DrgDef]
    adrgs_by_mdc: dict[str, list[AdrgDef]]
    drgs_by_adrg: dict[str, list[DrgDef]]
    mcc: dict[str, str]
    cc: dict[str, str]
    cce: dict[str, str]
    or_procedures: frozenset[str]
    warnings: list[Issue] = field(default_factory=list)
    _dx_names: dict[str, str] | None = None
    _px_names: dict[str, str] | None = None
    _dx_map: dict[str, str] | None = None
    _px_map: dict[str, str] | None = None

    @property
    def name(self) -> str:
        return self.path.name

    def mdc(self, code: str) -> MdcDef:
        for m in self.mdcs:
            if m.code == code:
                return m
        raise KeyError(code)

    # Optional tables are read on first use.
    def _optional_dict(self, file: str, key: str, value: str) -> dict[str, str]:
        path = self.path / file
        if not path.exists():
            return {}
        issues: list[Issue] = []
        out: dict[str, str] = {}
        for line, row in _read_rows(path, file, (key, value), issues):
            k = row[key]
            if not k:
                issues.append(Issue(file, line, key, "编码为空 (empty code)"))
                continue
            out.setdefault(k, row[value])
        if issues:
            raise SchemeError(self.path, issues)
        return out

    @property
    def dx_names(self) -> dict[str, str]:
        if self._dx_names is None:
            self._dx_names = self._optional_dict("icd10.csv", "code", "name")
        return self._dx_names

    @property
    def px_names(self) -> dict[str, str]:
        if self._px_names is None:
            names = self._optional_dict("icd9cm3.csv", "code", "name")
            if not names:
                names = {}
            self._px_names = names
        return self._px_names

    def translation_maps(self) -> tuple[dict[str, str], dict[str, str]]:
        """The diagnosis and procedure recoding tables; a SchemeError if either is absent."""
        if self._dx_map is None or self._px_map is None:
            missing = [f for f in ("icd10_map.csv", "icd9cm3_map.csv") if not (self.path / f).exists()]
            if missing:
                raise SchemeError(self.path, [
                    Issue(f, None, None, "启用编码转换需要此文件 (needed for code translation)")
                    for f in missing
                ])
            self._dx_map = self._optional_dict("icd10_map.csv", "from_code", "to_code")
            self._px_map = self._optional_dict("icd9cm3_map.csv", "from_code", "to_code")
        return self._dx_map, self._px_map


def _read_rows(path: Path, file: str, required: tuple[str, ...], issues: list[Issue]):
    """Yield (line number, row dict with stripped values); report a missing column once."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        issues.append(Issue(file, None, None, f"无法读取: {exc.strerror}"))
        return
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            issues.append(Issue(file, 1, None, "文件为空，缺少表头 (empty file, no header row)"))
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            issues.append(Issue(file, 1, None, f"不是有效的 UTF-8 CSV: {exc}"))
            return
        header = [h.strip() for h in header]
        missing = [c for c in required if c not in header]
        if missing:
            for col in missing:
                issues.append(Issue(file, 1, col, f"表头缺少列 {col!r} (missing column); 表头为 {header}"))
            return
        index = {name: i for i, name in enumerate(header)}
        width = len(header)
        try:
            for row in reader:
                if not row or (len(row) == 1 and row[0].strip() == ""):
                    continue
                if len(row) != width:
                    issues.append(Issue(file, reader.line_num, None,
                                        f"有 {len(row)} 个字段，表头有 {width} 个 (field count)"))
                    continue
                yield reader.line_num, {name: row[i].strip() for name, i in index.items()}
        except (csv.Error, UnicodeDecodeError) as exc:
            issues.append(Issue(file, reader.line_num, None, f"不是有效的 UTF-8 CSV: {exc}"))


def _int(value: str, file: str, line: int, column: str, issues: list[Issue]) -> int | None:
    try:
        return int(value)
    except ValueError:
        issues.append(Issue(file, line, column, f"不是整数: {value!r} (not an integer)"))
        return None


def load_scheme(folder: str | Path) -> Scheme:
    """Load and check a scheme folder. Raises :class:`SchemeError` listing every problem."""
    path = Path(folder)
    if not path.is_dir():
        raise SchemeError(path, [Issue(str(path), None, None, "不是目录 (not a folder)")])
    issues: list[Issue] = []
    warnings: list[Issue] = []
    for file in REQUIRED_FILES:
        if not (path / file).is_file():
            issues.append(Issue(file, None, None, "缺少必需的文件 (required file missing)"))
    if issues:
        raise SchemeError(path, issues)

    def rows(file: str):
        return _read_rows(path / file, file, REQUIRED_FILES[file], issues)

    # --- mdc.csv
    mdc_rows: dict[str, dict] = {}
    mdc_orders: dict[int, str] = {}
    for line, row in rows("mdc.csv"):
        code = row["mdc"]
        if not code:
            issues.append(Issue("mdc.csv", line, "mdc", "MDC 编码为空"))
            continue
        if code in mdc_rows:
            issues.append(Issue("mdc.csv", line, "mdc", f"MDC {code} 重复 (duplicate)"))
            continue
        order = _int(row["order"], "mdc.csv", line, "order", issues)
        if order is not None:
            if order in mdc_orders:
                issues.append(Issue("mdc.csv", line, "order",
                                    f"顺序 {order} 与 {mdc_orders[order]} 重复 (duplicate order)"))
            mdc_orders[order] = code
        try:
            node = rules.parse(row["entry_rule"])
        except rules.RuleSyntaxError as exc:
            issues.append(Issue("mdc.csv", line, "entry_rule",
                                f"{exc}，位置 {exc.position}: {row['entry_rule']!r}"))
            node = None
        mdc_rows[code] = {"line": line, "order": order, "node": node, "row": row,
                          "codes": set(), "regions": {}}

    # --- mdc_codes.csv
    for line, row in rows("mdc_codes.csv"):
        code, mdc = row["code"], row["mdc"]
        if mdc not in mdc_rows:
            issues.append(Issue("mdc_codes.csv", line, "mdc", f"MDC {mdc!r} 不在 mdc.csv 中"))
            continue
        if not code:
            issues.append(Issue("mdc_codes.csv", line, "code", "编码为空 (empty code)"))
            continue
        entry = mdc_rows[mdc]
        if code in entry["codes"]:
            warnings.append(Issue("mdc_codes.csv", line, "code", f"{mdc} 中编码 {code} 重复，已忽略"))
            continue
        entry["codes"].add(code)
        region = row.get("region", "")
        if region:
            entry["regions"][code] = region

    # --- adrg.csv
    adrg_rows: dict[str, dict] = {}
    adrg_orders: dict[tuple[str, int], str] = {}
    for line, row in rows("adrg.csv"):
        code, mdc = row["adrg"], row["mdc"]
        if not code:
            issues.append(Issue("adrg.csv", line, "adrg", "ADRG 编码为空"))
            continue
        if code in adrg_rows:
            issues.append(Issue("adrg.csv", line, "adrg", f"ADRG {code} 重复 (duplicate)"))
            continue
        if mdc not in mdc_rows:
            issues.append(Issue("adrg.csv", line, "mdc", f"MDC {mdc!r} 不在 mdc.csv 中"))
            continue
        order = _int(row["order"], "adrg.csv", line, "order", issues)
        if order is not None:
            key = (mdc, order)
            if key in adrg_orders:
                issues.append(Issue("adrg.csv", line, "order",
                                    f"{mdc} 内顺序 {order} 与 {adrg_orders[key]} 重复"))
            adrg_orders[key] = code
        try:
            node = rules.parse(row["rule"])
        except rules.RuleSyntaxError as exc:
            issues.append(Issue("adrg.csv", line, "rule", f"{exc}，位置 {exc.position}: {row['rule']!r}"))
            node = None
        adrg_rows[code] = {"line": line, "mdc": mdc, "order": order, "node": node, "row": row,
                           "lists": {}, "tags": {}}

    # --- adrg_codes.csv
    seen_codes: dict[tuple[str, str], set[str]] = {}
    for line, row in rows("adrg_codes.csv"):
        adrg, lst, code = row["adrg"], row["list"], row["code"]
        tag = row.get("tag", "")
        if adrg not in adrg_rows:
            issues.append(Issue("adrg_codes.csv", line, "adrg", f"ADRG {adrg!r} 不在 adrg.csv 中"))
            continue
        if not lst or not lst.replace("_", "").isalnum():
            issues.append(Issue("adrg_codes.csv", line, "list", f"列表名无效: {lst!r}"))
            continue
        if not code:
            issues.append(Issue("adrg_codes.csv", line, "code", "编码为空 (empty code)"))
            continue
        seen = seen_codes.setdefault((adrg, lst), set())
        if code in seen:
            # The first occurrence decides the tag (as OpenDRG's list.index does).
            warnings.append(Issue("adrg_codes.csv", line, "code", f"{adrg} {lst} 中编码 {code} 重复，已忽略"))
            continue
        seen.add(code)
        entry = adrg_rows[adrg]
        entry["lists"].setdefault(lst, set()).add(code)
        if tag:
            if lst != "ss":
                issues.append(Issue("adrg_codes.csv", line, "tag", "只有 ss 列表的行可以有 tag"))
                continue
            entry["tags"].setdefault(tag, set()).add(code)

    # --- drg.csv
    drg_rows: dict[str, DrgDef] = {}
    drg_orders: dict[tuple[str, int], str] = {}
    has_mdc_col = False
    for line, row in rows("drg.csv"):
        code, adrg = row["drg"], row["adrg"]
        if not code:
            issues.append(Issue("drg.csv", line, "drg", "DRG 编码为空"))
            continue
        if code in drg_rows:
            issues.append(Issue("drg.csv", line, "drg", f"DRG {code} 重复 (duplicate)"))
            continue
        if adrg not in adrg_rows:
            issues.append(Issue("drg.csv", line, "adrg", f"ADRG {adrg!r} 不在 adrg.csv 中"))
            continue
        if "mdc" in row:
            has_mdc_col = True
            if row["mdc"] and row["mdc"] != adrg_rows[adrg]["mdc"]:
                issues.append(Issue("drg.csv", line, "mdc",
                                    f"{row['mdc']} 与 ADRG {adrg} 所属的 {adrg_rows[adrg]['mdc']} 不一致"))
        severity = row["severity"]
        if severity not in SEVERITIES:
            issues.append(Issue("drg.csv", line, "severity",
                                f"{severity!r} 不是 {'/'.join(SEVERITIES)} 之一"))
            continue
        order = _int(row["order"], "drg.csv", line, "order", issues)
        if order is None:
            continue
        key = (adrg, order)
        if key in drg_orders:
            issues.append(Issue("drg.csv", line, "order", f"{adrg} 内顺序 {order} 与 {drg_orders[key]} 重复"))
            continue
        drg_orders[key] = code
        drg_rows[code] = DrgDef(code, row.get("name_zh", ""), adrg, order, severity, line)
    del has_mdc_col

    # --- severity tables
    def code_table(file: str, key: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for line, row in rows(file):
            code, table = row[key], row["exclusion_table"]
            if not code:
                issues.append(Issue(file, line, key, "编码为空 (empty code)"))
                continue
            if not table:
                issues.append(Issue(file, line, "exclusion_table", "排除表为空 (empty exclusion table)"))
                continue
            if code in out:
                if out[code] != table:
                    issues.append(Issue(file, line, key,
                                        f"{code} 已属于排除表 {out[code]}，不能再属于 {table}"))
                continue
            out[code] = table
        return out

    mcc = code_table("mcc.csv", "code")
    cc = code_table("cc.csv", "code")
    cce = code_table("cc_exclusion.csv", "principal_code")
    both = sorted(set(mcc) & set(cc))
    if both:
        warnings.append(Issue("cc.csv", None, "code",
                              f"{len(both)} 个编码同时在 mcc.csv 和 cc.csv 中，如 {both[:3]}"))
    or_set: set[str] = set()
    for line, row in rows("or_procedures.csv"):
        if not row["code"]:
            issues.append(Issue("or_procedures.csv", line, "code", "编码为空 (empty code)"))
            continue
        or_set.add(row["code"])
    or_procedures = frozenset(or_set)

    # --- assemble, resolve the names each rule uses
    mdcs: list[MdcDef] = []
    for code, e in mdc_rows.items():
        row = e["row"]
        mdc = MdcDef(code, e["order"] if e["order"] is not None else 0, row.get("name_zh", ""),
                     row["entry_rule"], e["node"], frozenset(e["codes"]), dict(e["regions"]), e["line"])
        mdcs.append(mdc)
        if e["node"] is not None:
            env = mdc_env(mdc, or_procedures)
            for missing in rules.check_names(e["node"], env):
                issues.append(Issue("mdc.csv", e["line"], "entry_rule", f"规则引用了不存在的{missing}"))
        if "n_codes" in row and row["n_codes"] and row["n_codes"] != str(len(e["codes"])):
            warnings.append(Issue("mdc.csv", e["line"], "n_codes",
                                  f"写为 {row['n_codes']}，mdc_codes.csv 中实有 {len(e['codes'])}"))
    mdcs.sort(key=lambda m: m.order)

    adrgs: dict[str, AdrgDef] = {}
    adrgs_by_mdc: dict[str, list[AdrgDef]] = {m.code: [] for m in mdcs}
    for code, e in adrg_rows.items():
        row = e["row"]
        adrg = AdrgDef(code, e["mdc"], e["order"] if e["order"] is not None else 0,
                       row.get("name_zh", ""), row["rule"], e["node"],
                       {k: frozenset(v) for k, v in e["lists"].items()},
                       {k: frozenset(v) for k, v in e["tags"].items()}, e["line"])
        adrgs[code] = adrg
        adrgs_by_mdc[adrg.mdc].append(adrg)
        if e["node"] is not None:
            env = adrg_env(adrg, mdc_by_code(mdcs, adrg.mdc), or_procedures)
            for atom in rules.atoms(e["node"]):
                if atom.kind in rules.LIST_KINDS and atom.arg in LIST_ZH and atom.arg not in adrg.lists:
                    # A standard list with no rows is legal (it matches nothing) but suspicious.
                    warnings.append(Issue("adrg.csv", e["line"], "rule",
                                          f"{code} 的规则 {atom.text} 引用的列表 {atom.arg} 没有任何编码"))
            env.lists = {**{k: frozenset() for k in LIST_ZH}, **env.lists}
            for missing in rules.check_names(e["node"], env):
                issues.append(Issue("adrg.csv", e["line"], "rule", f"规则引用了不存在的{missing}"))
    for lst in adrgs_by_mdc.values():
        lst.sort(key=lambda a: a.order)
    for m in mdcs:
        if not adrgs_by_mdc[m.code]:
            warnings.append(Issue("mdc.csv", m.line, "mdc", f"{m.code} 没有任何 ADRG"))

    drgs_by_adrg: dict[str, list[DrgDef]] = {a: [] for a in adrgs}
    for d in drg_rows.values():
        drgs_by_adrg[d.adrg].append(d)
    for code, lst in drgs_by_adrg.items():
        lst.sort(key=lambda d: d.order)
        if not lst:
            issues.append(Issue("drg.csv", None, "adrg", f"ADRG {code} 没有任何 DRG (adrg.csv 第{adrg_rows[code]['line']}行)"))
        elif lst[-1].severity != "NONE":
            issues.append(Issue("drg.csv", lst[-1].line, "severity",
                                f"ADRG {code} 的最后一个 DRG {lst[-1].code} 必须是 NONE，否则入组后可能没有 DRG"))

    if issues:
        raise SchemeError(path, issues)
    return Scheme(path, mdcs, adrgs, dict(drg_rows), adrgs_by_mdc, drgs_by_adrg, mcc, cc, cce,
                  or_procedures, warnings)


def mdc_by_code(mdcs: list[MdcDef], code: str) -> MdcDef:
    for m in mdcs:
        if m.code == code:
            return m
    raise KeyError(code)


def mdc_env(mdc: MdcDef, or_procedures: frozenset[str]) -> rules.Env:
    return rules.Env(
        lists={"mdc": mdc.codes, "OR": or_procedures},
        regions=mdc.regions,
        list_labels={"mdc": f"{mdc.code} 主诊表 (list of {mdc.code})",
                     "OR": "手术室手术表 OR (operating-room procedures)"},
    )


def adrg_env(adrg: AdrgDef, mdc: MdcDef, or_procedures: frozenset[str]) -> rules.Env:
    labels = {name: f"{adrg.code} {LIST_ZH.get(name, name)}({name})" for name in adrg.lists}
    labels["OR"] = "手术室手术表 OR (operating-room procedures)"
    return rules.Env(
        lists={**adrg.lists, "OR": or_procedures},
        tags=adrg.tags,
        regions=mdc.regions,
        list_labels=labels,
    )
