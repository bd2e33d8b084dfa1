"""DIP (按病种分值付费, Diagnosis-Intervention Packet): build the local catalogue from earlier
years of cases, then score and clear a year against a city-wide budget.

**Catalogue** (``build_catalogue``), from the cases of the catalogue years:

1. A case's *combination* is its principal diagnosis sub-category (the first 4 significant
   characters of the ICD-10 code: ``K35.800x001`` → ``K35.8``) with its procedure combination
   (the distinct procedure codes cut to ``px_key_chars`` characters — ``47.0100`` → ``47.01`` —
   leaving out codes that start with ``px_exclude_prefixes``, sorted, joined with ``+``).
   No procedure left: conservative treatment (保守治疗).
2. A combination with at least ``core_group_threshold`` cases over the catalogue years is a
   **core group** (核心病种). The other cases go to **comprehensive groups** (综合病种) by
   diagnosis category (``K35``) and treatment (S surgical = some procedure, C conservative); a
   category group under ``comprehensive_threshold`` cases is merged into its ICD-10 chapter
   group, and a chapter group under the threshold into the all-chapter group of its treatment.
3. Mean cost per group and year; the group's mean = Σ wᵧ·meanᵧ / Σ wᵧ over the years in
   which the group has cases, wᵧ = ``year_weights`` (1:2:7 for the oldest → newest of three
   years). The overall mean is weighted the same way over all cases.
4. **Score** (分值) = group mean / overall mean × ``base_score`` (1000), rounded half-up to 4
   decimals. The group's mean cost is published to the fen and is the *standard cost* used by
   the outlier rules.
5. Level coefficients (``level_mode``): ``fixed`` (parameter file), ``computed`` (cost per score
   at the level / cost per score overall, 4 decimals) or ``uniform`` (all 1).

**Clearing** (``clear_year``): every case of the year is placed in its core group, else its
comprehensive group (category, else chapter, else all). With ``std = mean cost × level
coefficient`` and ``ratio = cost / std``:

- ratio < ``low_ratio`` (50%): points = score × coefficient × ratio (scaled down);
- ratio > ``high_ratio`` (200%): points = score × coefficient × (ratio − high_ratio + 1) (scaled up);
  ratio > ``special_review_ratio`` (5×) is also flagged for special review (特病单议);
- else points = score × coefficient.

Points are rounded half-up to 4 decimals; all of this is exact integer arithmetic in DuckDB.
Point value = pool / total points, where pool = budget (``budget_basis: total``) or budget +
the patients' share of the DIP cases (``fund``). The pool is apportioned to hospitals by points
and each hospital's amount to its cases, to the fen (largest remainder), so parts sum to
totals. Year-end: with C = the hospital's actual cost and D = its DIP payment,

- C ≤ D (surplus): the hospital keeps ``surplus_keep_share`` of the surplus, counted down to
  ``surplus_floor_ratio`` × D: settled = C + keep × (D − max(C, floor × D));
- C > D (overrun): the fund shares ``overrun_fund_share`` of the overrun up to
  ``overrun_share_upper_ratio`` × D: settled = D + share × (min(C, upper × D) − D).

The fund owes settled − patients' share; less the monthly pre-settlements already paid, the
rest is the year-end balance. Monthly pre-settlement: each month's DIP amount is the month's
points × ``provisional_point_value`` (a published 预结算点值) or, without one, a twelfth of the
budget apportioned by the month's points; the fund advances ``monthly_prepay_ratio`` of
(amount − patients' share), never below zero.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Callable

import duckdb

from yibao.grouping.alloc import apportion
from yibao.grouping.cases import open_cases
from yibao.grouping.params import ParamSet, bundled, dec, load_params
from yibao.money import fmt_yuan, round_half_up

DEFAULT_PARAMS = "qingyuan-dip"
SCALE = 10_000  # points and scores are kept in 1/10000 units


def _d4(units: int) -> Decimal:
    """Integer 1/10000 units → Decimal with 4 places."""
    return Decimal(units).scaleb(-4).quantize(Decimal("0.0001"))


@dataclass
class DipParams:
    year_weights: tuple[int, ...] = (1, 2, 7)
    core_group_threshold: int = 15
    comprehensive_threshold: int = 5
    px_key_chars: int = 5
    px_exclude_prefixes: tuple[str, ...] = ()
    base_score: int = 1000
    level_mode: str = "fixed"  # fixed | computed | uniform
    level_coefficients: dict[str, Decimal] = field(default_factory=dict)
    level_map: dict[str, str] = field(default_factory=dict)
    low_ratio: Fraction = Fraction(1, 2)
    high_ratio: Fraction = Fraction(2)
    special_review_ratio: Fraction = Fraction(5)
    budget_basis: str = "total"  # total | fund
    monthly_prepay_ratio: Fraction = Fraction(9, 10)
    provisional_point_value: Fraction | None = None  # fen per point for monthly pre-settlement
    surplus_keep_share: Fraction = Fraction(6, 10)
    surplus_floor_ratio: Fraction = Fraction(7, 10)
    overrun_fund_share: Fraction = Fraction(1, 2)
    overrun_share_upper_ratio: Fraction = Fraction(11, 10)
    source: str = ""
    citations: list[tuple[str, object, str]] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path | None, day: dt.date) -> "DipParams":
        ps = load_params(path or bundled(DEFAULT_PARAMS))
        return cls.from_params(ps, day)

    @classmethod
    def from_params(cls, ps: ParamSet, day: dt.date) -> "DipParams":
        def g(name, default=None):
            return ps.get(name, day) if ps.has(name) else default

        def fr(name, default):
            v = g(name)
            return default if v is None else Fraction(dec(v))

        p = cls(
            year_weights=tuple(int(x) for x in g("year_weights", [1, 2, 7])),
            core_group_threshold=int(g("core_group_threshold", 15)),
            comprehensive_threshold=int(g("comprehensive_threshold", 5)),
            px_key_chars=int(g("px_key_chars", 5)),
            px_exclude_prefixes=tuple(str(x) for x in (g("px_exclude_prefixes", []) or [])),
            base_score=int(g("base_score", 1000)),
            level_mode=str(g("level_mode", "fixed")),
            level_coefficients={str(k): dec(v) for k, v in (g("level_coefficients", {}) or {}).items()},
            level_map={str(k): str(v) for k, v in (g("level_map", {}) or {}).items()},
            low_ratio=fr("low_ratio", Fraction(1, 2)),
            high_ratio=fr("high_ratio", Fraction(2)),
            special_review_ratio=fr("special_review_ratio", Fraction(5)),
            budget_basis=str(g("budget_basis", "total")),
            monthly_prepay_ratio=fr("monthly_prepay_ratio", Fraction(9, 10)),
            provisional_point_value=(None if g("provisional_point_value") is None
                                     else Fraction(dec(g("provisional_point_value"))) * 100),
            surplus_keep_share=fr("surplus_keep_share", Fraction(6, 10)),
            surplus_floor_ratio=fr("surplus_floor_ratio", Fraction(7, 10)),
            overrun_fund_share=fr("overrun_fund_share", Fraction(1, 2)),
            overrun_share_upper_ratio=fr("overrun_share_upper_ratio", Fraction(11, 10)),
            source=ps.source,
            citations=ps.citations(day),
        )
        p.check()
        return p

    def check(self) -> None:
        if self.level_mode not in ("fixed", "computed", "uniform"):
            raise ValueError(f"level_mode 必须是 fixed/computed/uniform，实为 {self.level_mode!r}")
        if self.budget_basis not in ("total", "fund"):
            raise ValueError(f"budget_basis 必须是 total 或 fund，实为 {self.budget_basis!r}")
        if not (0 < self.low_ratio < 1 <= self.high_ratio <= self.special_review_ratio):
            raise ValueError("需要 0 < low_ratio < 1 ≤ high_ratio ≤ special_review_ratio")
        if any(w <= 0 for w in self.year_weights):
            raise ValueError("year_weights 必须为正")
        for name in ("surplus_keep_share", "surplus_floor_ratio", "overrun_fund_share", "monthly_prepay_ratio"):
            v = getattr(self, name)
            if not (0 <= v <= 1):
                raise ValueError(f"{name} 必须在 0 与 1 之间")
        if self.overrun_share_upper_ratio < 1:
            raise ValueError("overrun_share_upper_ratio 必须 ≥ 1")


# ----------------------------------------------------------------------------- SQL helpers


def _table(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, list]) -> None:
    """A temp table from Python columns via Arrow (much faster than row inserts). Column types:
    ``code``/``kind``/``raw``/``level`` names hold text, the others integers."""
    import pyarrow as pa

    text = {"group_code", "kind", "raw", "level", "fixmedins_code"}
    tmp = pa.table({col: pa.array(values, type=pa.string() if col in text else pa.int64())
                    for col, values in columns.items()})
    con.register(f"{name}_arrow", tmp)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
    finally:
        con.unregister(f"{name}_arrow")


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _case_keys_sql(p: DipParams, view: str = "cases") -> str:
    """Per case: dx_key, category, chapter, px_combo, treatment."""
    cond = "trim(x) <> ''"
    for prefix in p.px_exclude_prefixes:
        cond += f" AND NOT starts_with(trim(x), {_lit(prefix)})"
    return f"""
        SELECT *,
               CASE WHEN px_combo = '' THEN dx_key ELSE dx_key || '|' || px_combo END AS combo,
               CASE WHEN px_combo = '' THEN 'C' ELSE 'S' END AS treatment
        FROM (
            SELECT c.*,
                   CASE WHEN substr(dscg_maindiag_code, 4, 1) = '.' THEN substr(dscg_maindiag_code, 1, 5)
                        ELSE substr(dscg_maindiag_code, 1, 4) END AS dx_key,
                   substr(dscg_maindiag_code, 1, 3) AS category,
                   {_chapter_sql("upper(substr(dscg_maindiag_code, 1, 3))")} AS chapter,
                   array_to_string(list_sort(list_distinct(list_transform(
                       list_filter(string_split(oprn_oprt_code, '|'), lambda x: {cond}),
                       lambda x: substr(trim(x), 1, {int(p.px_key_chars)})))), '+') AS px_combo
            FROM {view} c
        )
    """


_CHAPTERS = [("C00", "01"), ("D50", "02"), ("E00", "03"), ("F00", "04"), ("G00", "05"), ("H00", "06"),
             ("H60", "07"), ("I00", "08"), ("J00", "09"), ("K00", "10"), ("L00", "11"), ("M00", "12"),
             ("N00", "13"), ("O00", "14"), ("P00", "15"), ("Q00", "16"), ("R00", "17"), ("S00", "18"),
             ("U00", "19"), ("V00", "22"), ("Z00", "20"), ("ZZZ", "21")]
# ICD-10 chapters: 01 A00–B99 … 19 S00–T98, 22 U00–U99, 20 V01–Y98, 21 Z00–Z99.


def _chapter_sql(expr: str) -> str:
    parts = ["CASE"]
    for upper, chapter in _CHAPTERS:
        parts.append(f"WHEN {expr} < {_lit(upper)} THEN {_lit(chapter)}")
    parts.append("ELSE '99' END")
    return " ".join(parts)


# ----------------------------------------------------------------------------- catalogue


@dataclass
class Group:
    code: str
    kind: str  # core | comprehensive
    dx_key: str
    px_combo: str
    treatment: str
    n_cases: int
    n_by_year: dict[int, int]
    mean_exact: Fraction  # fen, weighted over years
    mean_cost: int  # fen, published (half-up)
    score: int  # 1/10000 points


@dataclass
class Catalogue:
    years: tuple[int, ...]
    year_weights: tuple[int, ...]
    base_score: int
    overall_mean: Fraction  # fen
    groups: dict[str, Group]
    level_coefficients: dict[str, Decimal]
    level_mode: str
    params_source: str = ""
    n_cases: int = 0

    def write(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "groups.csv", "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(("group_code", "kind", "dx_key", "px_combo", "treatment", "n_cases",
                        *[f"n_{y}" for y in self.years], "mean_cost", "score"))
            for g in sorted(self.groups.values(), key=lambda g: (g.kind != "core", g.code)):
                w.writerow((g.code, g.kind, g.dx_key, g.px_combo, g.treatment, g.n_cases,
                            *[g.n_by_year.get(y, 0) for y in self.years], fmt_yuan(g.mean_cost), str(_d4(g.score))))
        meta = [
            "# yibao DIP catalogue (本地病种目录)",
            f"years: [{', '.join(str(y) for y in self.years)}]",
            f"year_weights: [{', '.join(str(w) for w in self.year_weights)}]",
            f"base_score: {self.base_score}",
            f"overall_mean_cost: {fmt_yuan(round_half_up(self.overall_mean))}  # yuan, weighted",
            f"overall_mean_fen_exact: '{self.overall_mean.numerator}/{self.overall_mean.denominator}'",
            f"n_cases: {self.n_cases}",
            f"n_groups: {len(self.groups)}",
            f"n_core_groups: {sum(1 for g in self.groups.values() if g.kind == 'core')}",
            f"level_mode: {self.level_mode}",
            "level_coefficients:",
            *[f"  {k}: {v}" for k, v in sorted(self.level_coefficients.items())],
            f"params: {self.params_source!r}",
        ]
        (folder / "catalogue.yaml").write_text("\n".join(meta) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, folder: str | Path) -> "Catalogue":
        from yibao.yamlio import load_yaml

        folder = Path(folder)
        meta = load_yaml(folder / "catalogue.yaml")
        years = tuple(int(y) for y in meta["years"])
        groups: dict[str, Group] = {}
        with open(folder / "groups.csv", encoding="utf-8", newline="") as fh:
            for line, row in enumerate(csv.DictReader(fh), 2):
                try:
                    score = Decimal(row["score"])
                    mean = Decimal(row["mean_cost"])
                    groups[row["group_code"]] = Group(
                        row["group_code"], row["kind"], row["dx_key"], row["px_combo"], row["treatment"],
                        int(row["n_cases"]), {y: int(row[f"n_{y}"]) for y in years},
                        Fraction(mean) * 100, int(mean * 100), int(score * SCALE))
                except (KeyError, ValueError, ArithmeticError) as exc:
                    raise ValueError(f"{folder / 'groups.csv'} 第{line}行: {exc}") from None
        return cls(years, tuple(int(w) for w in meta["year_weights"]), int(meta["base_score"]),
                   Fraction(str(meta["overall_mean_fen_exact"])), groups,
                   {str(k): Decimal(str(v)) for k, v in (meta.get("level_coefficients") or {}).items()},
                   str(meta.get("level_mode", "fixed")), str(meta.get("params", "")), int(meta.get("n_cases", 0)))


def _weighted_mean(sums: dict[int, tuple[int, int]], years: tuple[int, ...], weights: tuple[int, ...]) -> Fraction:
    """Σ wᵧ·(sumᵧ/nᵧ) / Σ wᵧ over the years with cases."""
    num, den = Fraction(0), 0
    for y, w in zip(years, weights):
        if y in sums and sums[y][1] > 0:
            total, n = sums[y]
            num += w * Fraction(total, n)
            den += w
    return num / den if den else Fraction(0)


def _comprehensive_code(level: str, key: str, treatment: str) -> str:
    return f"ZH-{key}-{treatment}" if level != "all" else f"ZH-ALL-{treatment}"


def build_catalogue(cases_path: str | Path, years: list[int], params: DipParams, *,
                    con: duckdb.DuckDBPyConnection | None = None) -> Catalogue:
    """The local catalogue from the cases of ``years`` (oldest first; weights pair with the
    last ``len(year_weights)`` years)."""
    years = sorted(years)
    weights = params.year_weights
    if len(years) != len(weights):
        raise ValueError(f"{len(years)} 个年度 {years} 与年度权重 {list(weights)} 个数不一致")
    own = con is None
    con = con or duckdb.connect()
    try:
        open_cases(con, cases_path, years=years)
        ylist = ",".join(str(y) for y in years)
        con.execute(f"""CREATE OR REPLACE TEMP TABLE dip_hist AS
            {_case_keys_sql(params)} WHERE setl_year IN ({ylist}) AND medfee_fen > 0""")
        n_cases = con.execute("SELECT count(*) FROM dip_hist").fetchone()[0]
        if n_cases == 0:
            raise ValueError(f"{years} 年度没有病例 (no cases in the catalogue years)")
        thr = int(params.core_group_threshold)
        # core combinations
        con.execute(f"""CREATE OR REPLACE TEMP TABLE dip_core AS
            SELECT combo FROM dip_hist GROUP BY combo HAVING count(*) >= {thr}""")
        # comprehensive: category, else chapter, else all
        cthr = int(params.comprehensive_threshold)
        con.execute("""CREATE OR REPLACE TEMP TABLE dip_rest AS
            SELECT h.* FROM dip_hist h ANTI JOIN dip_core c ON h.combo = c.combo""")
        con.execute(f"""CREATE OR REPLACE TEMP TABLE dip_cat_ok AS
            SELECT category, treatment FROM dip_rest GROUP BY ALL HAVING count(*) >= {cthr}""")
        con.execute(f"""CREATE OR REPLACE TEMP TABLE dip_chap_ok AS
            SELECT r.chapter, r.treatment FROM dip_rest r
            ANTI JOIN dip_cat_ok k ON r.category = k.category AND r.treatment = k.treatment
            GROUP BY ALL HAVING count(*) >= {cthr}""")
        con.execute("""CREATE OR REPLACE TEMP TABLE dip_assigned AS
            SELECT h.setl_year, h.medfee_fen, h.medins_lv, h.dx_key, h.px_combo, h.treatment,
                   CASE WHEN c.combo IS NOT NULL THEN h.combo
                        WHEN k.category IS NOT NULL THEN 'ZH-' || h.category || '-' || h.treatment
                        WHEN p.chapter IS NOT NULL THEN 'ZH-CH' || h.chapter || '-' || h.treatment
                        ELSE 'ZH-ALL-' || h.treatment END AS group_code,
                   CASE WHEN c.combo IS NOT NULL THEN 'core' ELSE 'comprehensive' END AS kind
            FROM dip_hist h
            LEFT JOIN dip_core c ON h.combo = c.combo
            LEFT JOIN dip_cat_ok k ON c.combo IS NULL AND h.category = k.category AND h.treatment = k.treatment
            LEFT JOIN dip_chap_ok p ON c.combo IS NULL AND k.category IS NULL
                                      AND h.chapter = p.chapter AND h.treatment = p.treatment""")
        rows = con.execute("""
            SELECT group_code, any_value(kind), setl_year, sum(medfee_fen)::HUGEINT, count(*),
                   CASE WHEN any_value(kind) = 'core' THEN any_value(dx_key) ELSE '' END,
                   CASE WHEN any_value(kind) = 'core' THEN any_value(px_combo) ELSE '' END,
                   any_value(treatment)
            FROM dip_assigned GROUP BY group_code, setl_year""").fetchall()
        overall_rows = con.execute("SELECT setl_year, sum(medfee_fen)::HUGEINT, count(*) FROM dip_assigned GROUP BY 1").fetchall()
        level_rows = con.execute("SELECT medins_lv, group_code, sum(medfee_fen)::HUGEINT, count(*) FROM dip_assigned GROUP BY 1, 2").fetchall()
    finally:
        if own:
            con.close()

    overall = _weighted_mean({int(y): (int(s), int(n)) for y, s, n in overall_rows}, tuple(years), weights)
    per_group: dict[str, dict] = {}
    for code, kind, y, s, n, dx_key, px, treat in rows:
        g = per_group.setdefault(code, {"kind": kind, "sums": {}, "dx": dx_key, "px": px, "treat": treat})
        g["sums"][int(y)] = (int(s), int(n))
    groups: dict[str, Group] = {}
    for code, g in per_group.items():
        mean = _weighted_mean(g["sums"], tuple(years), weights)
        score = round_half_up(mean / overall * params.base_score * SCALE)
        n_by_year = {y: g["sums"].get(y, (0, 0))[1] for y in years}
        groups[code] = Group(code, g["kind"], g["dx"], g["px"], g["treat"], sum(n_by_year.values()),
                             n_by_year, mean, round_half_up(mean), score)

    if params.level_mode == "fixed":
        coefs = dict(params.level_coefficients)
    elif params.level_mode == "uniform":
        coefs = {}
    else:
        cost: dict[str, int] = {}
        score_sum: dict[str, int] = {}
        for lv, code, s, n in level_rows:
            level = params.level_map.get(lv, lv)
            cost[level] = cost.get(level, 0) + int(s)
            score_sum[level] = score_sum.get(level, 0) + groups[code].score * int(n)
        all_cpp = Fraction(sum(cost.values()), sum(score_sum.values()))
        coefs = {lv: Decimal(round_half_up(Fraction(cost[lv], score_sum[lv]) / all_cpp * SCALE)).scaleb(-4)
                 for lv in sorted(cost) if score_sum[lv]}
    return Catalogue(tuple(years), weights, params.base_score, overall, groups, coefs, params.level_mode,
                     params.source, int(n_cases))


# ----------------------------------------------------------------------------- clearing


@dataclass
class HospitalStatement:
    hospital: str
    name: str
    level: str
    coefficient: Decimal
    cases: int = 0
    dip_cases: int = 0
    ffs_cases: int = 0
    low: int = 0
    high: int = 0
    special_review: int = 0
    points: int = 0  # 1/10000
    cost: int = 0  # actual cost of DIP cases (fen)
    ffs_cost: int = 0
    ffs_fund: int = 0
    patient_share: int = 0  # of DIP cases
    dip_payment: int = 0  # D: points × point value (apportioned)
    band: str = ""
    adjustment: int = 0  # retained surplus (+) or fund's share of the overrun (+)
    settled: int = 0  # the recognised DIP amount after the surplus/overrun rules
    fund_due: int = 0  # settled − patients' share
    prepaid: int = 0  # monthly pre-settlements
    balance: int = 0  # fund_due − prepaid (年终清算应拨付; negative = to be recovered)

    @property
    def cost_ratio(self) -> Fraction | None:
        return Fraction(self.cost, self.dip_payment) if self.dip_payment else None


@dataclass
class ClearingResult:
    year: int
    params: DipParams
    catalogue: Catalogue
    budget: int
    pool: int
    total_points: int  # 1/10000
    point_value: Fraction  # fen per point
    hospitals: dict[str, HospitalStatement]
    monthly: list[tuple[int, str, int, int, int]]  # month, hospital, points, amount, fund prepay
    monthly_point_values: dict[int, Fraction]
    n_cases: int
    n_dip: int
    n_core: int
    special_review: list[tuple]  # rows for special_review.csv
    notes: list[str] = field(default_factory=list)


def _settle(C: int, D: int, p: DipParams) -> tuple[str, int]:
    """(band, adjustment) for actual cost C and DIP payment D: settled = min(C, D) + adjustment
    (C ≤ D: adjustment = retained surplus; C > D: the fund's share of the overrun)."""
    if D <= 0:
        return "no_payment", 0
    if C <= D:
        counted_from = max(Fraction(C), p.surplus_floor_ratio * D)
        retained = round_half_up(p.surplus_keep_share * (D - counted_from))
        band = "surplus" if C >= p.surplus_floor_ratio * D else "surplus_below_floor"
        return band, retained
    upper = p.overrun_share_upper_ratio * D
    shared = round_half_up(p.overrun_fund_share * (min(Fraction(C), upper) - D))
    band = "overrun" if C <= upper else "overrun_above_cap"
    return band, shared


def clear_year(cases_path: str | Path, catalogue: Catalogue, year: int, budget: int, params: DipParams, *,
               out: str | Path | None = None, con: duckdb.DuckDBPyConnection | None = None,
               progress: Callable[[str], None] | None = None) -> ClearingResult:
    """Score every case of ``year``, set the point value from ``budget`` (fen) and clear each
    hospital. With ``out`` the case-level file, statements and reports are written there."""
    own = con is None
    con = con or duckdb.connect()
    step = progress or (lambda s: None)
    try:
        step("读取病例 / reading cases")
        open_cases(con, cases_path, years=[year])
        # catalogue and level coefficients as tables (integers)
        gs = list(catalogue.groups.values())
        _table(con, "dip_groups", {"group_code": [g.code for g in gs], "kind": [g.kind for g in gs],
                                   "mean_fen": [g.mean_cost for g in gs], "score4": [g.score for g in gs]})
        coefs = catalogue.level_coefficients if catalogue.level_mode != "uniform" else {}
        raw_levels = [r[0] for r in con.execute(f"SELECT DISTINCT medins_lv FROM cases WHERE setl_year = {int(year)}").fetchall()]
        lv_rows = []
        for raw in raw_levels:
            level = params.level_map.get(raw, raw)
            if catalogue.level_mode == "uniform":
                k = Decimal(1)
            elif level in coefs:
                k = coefs[level]
            else:
                raise ValueError(f"医疗机构等级 {raw!r}（{level}）没有等级系数 (no level coefficient)")
            lv_rows.append((raw, level, int(k * SCALE)))
        _table(con, "dip_levels", {"raw": [r[0] for r in lv_rows], "level": [r[1] for r in lv_rows],
                                   "k4": [r[2] for r in lv_rows]})

        step("入组与计分 / grouping and scoring")
        lo, hi, sr = params.low_ratio, params.high_ratio, params.special_review_ratio
        con.execute(f"""CREATE OR REPLACE TEMP TABLE dip_year AS
            WITH k AS ({_case_keys_sql(params)} WHERE setl_year = {int(year)}),
            g AS (
                SELECT k.*,
                       coalesce(core.group_code, cat.group_code, chap.group_code, allg.group_code) AS group_code
                FROM k
                LEFT JOIN dip_groups core ON core.kind = 'core' AND core.group_code = k.combo
                LEFT JOIN dip_groups cat ON cat.group_code = 'ZH-' || k.category || '-' || k.treatment
                LEFT JOIN dip_groups chap ON chap.group_code = 'ZH-CH' || k.chapter || '-' || k.treatment
                LEFT JOIN dip_groups allg ON allg.group_code = 'ZH-ALL-' || k.treatment
            )
            SELECT g.setl_id, g.fixmedins_code, coalesce(g.fixmedins_name, '') AS fixmedins_name, l.level,
                   l.k4, g.setl_month, g.medfee_fen, g.fund_fen, g.medfee_fen - g.fund_fen AS patient_fen,
                   g.combo, g.group_code, d.kind, d.mean_fen, d.score4,
                   CASE
                     WHEN g.group_code IS NULL OR g.medfee_fen < 0 THEN 'ffs'
                     WHEN d.mean_fen <= 0 THEN 'normal'
                     WHEN g.medfee_fen::HUGEINT * {SCALE} * {lo.denominator} < {lo.numerator}::HUGEINT * d.mean_fen * l.k4 THEN 'low'
                     WHEN g.medfee_fen::HUGEINT * {SCALE} * {hi.denominator} > {hi.numerator}::HUGEINT * d.mean_fen * l.k4 THEN 'high'
                     ELSE 'normal' END AS kind_case,
                   (d.mean_fen > 0 AND g.medfee_fen::HUGEINT * {SCALE} * {sr.denominator} > {sr.numerator}::HUGEINT * d.mean_fen * l.k4) AS special_review
            FROM g
            JOIN dip_levels l ON l.raw = g.medins_lv
            LEFT JOIN dip_groups d ON d.group_code = g.group_code""")
        # points in 1/10000 units, exact and rounded half-up (all quantities are ≥ 0 here):
        #   normal: S·K/10⁴; low: S·cost/M; high: S·cost/M − S·K·(H−1)/10⁴
        hp, hq = hi.numerator, hi.denominator
        con.execute(f"""CREATE OR REPLACE TEMP TABLE dip_scored AS
            SELECT *,
              CASE kind_case
                WHEN 'ffs' THEN 0::HUGEINT
                WHEN 'normal' THEN (2 * score4::HUGEINT * k4 + {SCALE}) // (2 * {SCALE})
                WHEN 'low' THEN (2 * score4::HUGEINT * medfee_fen + mean_fen) // (2 * mean_fen::HUGEINT)
                ELSE (2 * (score4::HUGEINT * medfee_fen * {SCALE} * {hq} - score4::HUGEINT * k4 * {hp - hq} * mean_fen)
                      + mean_fen::HUGEINT * {SCALE} * {hq})
                     // (2 * mean_fen::HUGEINT * {SCALE} * {hq})
              END AS points4
            FROM dip_year""")
        n_cases, n_dip, n_core = con.execute("""SELECT count(*), count(*) FILTER (kind_case <> 'ffs'),
            count(*) FILTER (kind = 'core' AND kind_case <> 'ffs') FROM dip_scored""").fetchone()
        hosp_rows = con.execute("""
            SELECT fixmedins_code, any_value(fixmedins_name), any_value(level), any_value(k4), count(*),
                   count(*) FILTER (kind_case <> 'ffs'), count(*) FILTER (kind_case = 'ffs'),
                   count(*) FILTER (kind_case = 'low'), count(*) FILTER (kind_case = 'high'),
                   count(*) FILTER (special_review),
                   coalesce(sum(points4), 0)::HUGEINT,
                   coalesce(sum(medfee_fen) FILTER (kind_case <> 'ffs'), 0)::HUGEINT,
                   coalesce(sum(medfee_fen) FILTER (kind_case = 'ffs'), 0)::HUGEINT,
                   coalesce(sum(fund_fen) FILTER (kind_case = 'ffs'), 0)::HUGEINT,
                   coalesce(sum(patient_fen) FILTER (kind_case <> 'ffs'), 0)::HUGEINT
            FROM dip_scored GROUP BY fixmedins_code ORDER BY fixmedins_code""").fetchall()

        step("点值与清算 / point value and clearing")
        hospitals: dict[str, HospitalStatement] = {}
        for (h, name, level, k4, n, n_dip_h, n_ffs, low, high, srv, pts, cost, ffs_cost, ffs_fund, pat) in hosp_rows:
            hospitals[h] = HospitalStatement(h, name, level, _d4(int(k4)), int(n), int(n_dip_h), int(n_ffs),
                                             int(low), int(high), int(srv), int(pts), int(cost), int(ffs_cost),
                                             int(ffs_fund), int(pat))
        total_points = sum(s.points for s in hospitals.values())
        patient_total = sum(s.patient_share for s in hospitals.values())
        pool = budget + (patient_total if params.budget_basis == "fund" else 0)
        if total_points <= 0:
            raise ValueError(f"{year} 年没有可计分的 DIP 病例 (no DIP case scored)")
        point_value = Fraction(pool * SCALE, total_points)  # fen per point
        hs = sorted(hospitals)
        for h, amount in zip(hs, apportion(pool, [hospitals[h].points for h in hs])):
            hospitals[h].dip_payment = amount

        # monthly pre-settlement
        monthly: list[tuple[int, str, int, int, int]] = []
        monthly_pv: dict[int, Fraction] = {}
        notes: list[str] = []
        has_month = con.execute("SELECT count(*) FILTER (setl_month IS NULL) FROM dip_scored WHERE kind_case <> 'ffs'").fetchone()[0] == 0
        if has_month:
            mrows = con.execute("""SELECT setl_month, fixmedins_code, sum(points4)::HUGEINT, sum(patient_fen)::HUGEINT
                FROM dip_scored WHERE kind_case <> 'ffs' GROUP BY 1, 2 ORDER BY 1, 2""").fetchall()
            by_month: dict[int, list[tuple[str, int, int]]] = {}
            for m, h, pts, pat in mrows:
                by_month.setdefault(int(m), []).append((h, int(pts), int(pat)))
            month_budgets = apportion(budget, [1] * 12)
            ppv = params.provisional_point_value
            for m in sorted(by_month):
                items = by_month[m]
                mpts = sum(x[1] for x in items)
                if mpts <= 0:
                    continue
                if ppv is not None:
                    # a published provisional point value: amount = points × value
                    monthly_pv[m] = ppv
                    amounts = [round_half_up(Fraction(x[1], SCALE) * ppv) for x in items]
                else:
                    # a twelfth of the budget shared by the month's points
                    month_patient = sum(x[2] for x in items)
                    mpool = month_budgets[m - 1] + (month_patient if params.budget_basis == "fund" else 0)
                    monthly_pv[m] = Fraction(mpool * SCALE, mpts)
                    amounts = apportion(mpool, [x[1] for x in items])
                for (h, pts, pat), amount in zip(items, amounts):
                    prepay = max(0, round_half_up(params.monthly_prepay_ratio * (amount - pat)))
                    monthly.append((m, h, pts, amount, prepay))
                    hospitals[h].prepaid += prepay
        else:
            notes.append("病例缺少结算月份（setl_time），未做月度预结算 / no setl_time: monthly pre-settlement skipped")

        for s in hospitals.values():
            s.band, s.adjustment = _settle(s.cost, s.dip_payment, params)
            s.settled = min(s.cost, s.dip_payment) + s.adjustment if s.dip_payment > 0 else 0
            s.fund_due = s.settled - s.patient_share
            s.balance = s.fund_due - s.prepaid

        special = con.execute("""SELECT setl_id, fixmedins_code, group_code, medfee_fen, mean_fen, k4, points4
            FROM dip_scored WHERE special_review ORDER BY fixmedins_code, setl_id""").fetchall()
        result = ClearingResult(year, params, catalogue, budget, pool, total_points, point_value, hospitals,
                                monthly, monthly_pv, int(n_cases), int(n_dip), int(n_core), special, notes)
        if out is not None:
            step("写出结果 / writing results")
            write_clearing(result, out, con)
        return result
    finally:
        if own:
            con.close()


# ----------------------------------------------------------------------------- output


def _pv_yuan(pv: Fraction) -> str:
    return f"{float(pv) / 100:.6f}"


def _ratio(f: Fraction | None) -> str:
    return "" if f is None else f"{float(f) * 100:.2f}%"


BAND_ZH = {
    "surplus": "结余留用", "surplus_below_floor": "结余留用（低于下限部分不计）",
    "overrun": "超支分担", "overrun_above_cap": "超支分担（超过上限部分医院自担）", "no_payment": "无 DIP 费用",
}


def write_clearing(r: ClearingResult, out: str | Path, con: duckdb.DuckDBPyConnection) -> None:
    out = Path(out)
    (out / "statements").mkdir(parents=True, exist_ok=True)
    # case amounts: each hospital's payment apportioned to its cases (largest remainder in SQL)
    paid = [s for s in r.hospitals.values() if s.points > 0]
    _table(con, "dip_hpay", {"fixmedins_code": [s.hospital for s in paid], "amount": [s.dip_payment for s in paid],
                             "points": [s.points for s in paid]})
    con.execute("CREATE OR REPLACE TEMP TABLE dip_hpay AS SELECT fixmedins_code, amount, points::HUGEINT AS points FROM dip_hpay")
    con.execute("""CREATE OR REPLACE TEMP TABLE dip_case_pay AS
        WITH x AS (
            SELECT s.*, p.amount AS h_amount, p.points AS h_points,
                   (s.points4 * p.amount) // p.points AS base_amt,
                   (s.points4 * p.amount) % p.points AS rem
            FROM dip_scored s JOIN dip_hpay p USING (fixmedins_code) WHERE s.kind_case <> 'ffs'
        ), y AS (
            SELECT *, row_number() OVER (PARTITION BY fixmedins_code ORDER BY rem DESC, setl_id) AS rk,
                   h_amount - sum(base_amt) OVER (PARTITION BY fixmedins_code) AS spare
            FROM x
        )
        SELECT setl_id, base_amt + CASE WHEN rk <= spare THEN 1 ELSE 0 END AS amount FROM y""")
    con.execute(f"""COPY (
        SELECT s.setl_id, s.fixmedins_code, s.level, s.setl_month, s.group_code, s.kind AS group_kind,
               s.kind_case AS case_kind, s.special_review,
               {_fixed_sql("s.k4", 4)} AS level_coefficient,
               {_fixed_sql("s.score4", 4)} AS score,
               {_fixed_sql("s.points4", 4)} AS points,
               {_fixed_sql("s.medfee_fen", 2)} AS medfee_sumamt,
               {_fixed_sql("s.mean_fen", 2)} AS group_mean_cost,
               {_fixed_sql("coalesce(p.amount, 0)", 2)} AS dip_amount
        FROM dip_scored s LEFT JOIN dip_case_pay p USING (setl_id)
        ORDER BY s.fixmedins_code, s.setl_id
    ) TO {_lit(str(out / 'cases.csv'))} (HEADER, DELIMITER ',')""")
    with open(out / "hospitals.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(("fixmedins_code", "fixmedins_name", "level", "level_coefficient", "cases", "dip_cases",
                    "ffs_cases", "low_cases", "high_cases", "special_review", "points", "dip_payment",
                    "actual_cost", "cost_ratio", "band", "adjustment", "settled", "patient_share", "fund_due",
                    "prepaid", "balance", "ffs_cost", "ffs_fund"))
        for h in sorted(r.hospitals):
            s = r.hospitals[h]
            w.writerow((s.hospital, s.name, s.level, str(s.coefficient), s.cases, s.dip_cases, s.ffs_cases,
                        s.low, s.high, s.special_review, str(_d4(s.points)), fmt_yuan(s.dip_payment),
                        fmt_yuan(s.cost), _ratio(s.cost_ratio), s.band, fmt_yuan(s.adjustment),
                        fmt_yuan(s.settled), fmt_yuan(s.patient_share), fmt_yuan(s.fund_due),
                        fmt_yuan(s.prepaid), fmt_yuan(s.balance), fmt_yuan(s.ffs_cost), fmt_yuan(s.ffs_fund)))
    with open(out / "monthly.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(("month", "fixmedins_code", "points", "dip_amount", "fund_prepay", "month_point_value"))
        for m, h, pts, amount, prepay in r.monthly:
            w.writerow((m, h, str(_d4(pts)), fmt_yuan(amount), fmt_yuan(prepay), _pv_yuan(r.monthly_point_values[m])))
    with open(out / "special_review.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(("setl_id", "fixmedins_code", "group_code", "medfee_sumamt", "standard_cost", "ratio", "points"))
        for sid, h, code, cost, mean, k4, pts in r.special_review:
            std = Fraction(int(mean) * int(k4), SCALE)
            w.writerow((sid, h, code, fmt_yuan(int(cost)), fmt_yuan(round_half_up(std)),
                        f"{float(Fraction(int(cost)) / std):.2f}" if std else "", str(_d4(int(pts)))))
    totals = {k: sum(getattr(s, k) for s in r.hospitals.values())
              for k in ("dip_payment", "cost", "settled", "patient_share", "fund_due", "prepaid", "balance")}
    summary = [
        f"# DIP {r.year} 年度清算汇总 / DIP year-end clearing summary", "",
        f"- 参数 parameters: {r.params.source}",
        f"- 病种目录 catalogue: {len(r.catalogue.groups):,} 个病种（核心 {sum(1 for g in r.catalogue.groups.values() if g.kind == 'core'):,}），"
        f"年度 {', '.join(str(y) for y in r.catalogue.years)}，权重 {':'.join(str(w) for w in r.catalogue.year_weights)}",
        f"- 病例 cases: {r.n_cases:,}；按 DIP 结算 {r.n_dip:,}（入核心病种 {r.n_core:,}）",
        f"- 年度预算 budget: {fmt_yuan(r.budget)} 元（口径 {r.params.budget_basis}）；分配总额 pool: {fmt_yuan(r.pool)} 元",
        f"- 总分值 total points: {_d4(r.total_points):,}",
        f"- 点值 point value: {_pv_yuan(r.point_value)} 元/分",
        f"- DIP 支付合计 {fmt_yuan(totals['dip_payment'])} 元；实际费用 {fmt_yuan(totals['cost'])} 元；"
        f"清算认定 {fmt_yuan(totals['settled'])} 元；基金应付 {fmt_yuan(totals['fund_due'])} 元；"
        f"已预拨 {fmt_yuan(totals['prepaid'])} 元；年终应拨付 {fmt_yuan(totals['balance'])} 元",
        *[f"- 注 note: {n}" for n in r.notes],
    ]
    (out / "summary.md").write_text("\n".join(summary) + "\n", encoding="utf-8")
    for h in sorted(r.hospitals):
        (out / "statements" / f"{_safe(h)}.md").write_text(statement_text(r, r.hospitals[h]), encoding="utf-8")


def _fixed_sql(expr: str, places: int) -> str:
    """An integer of 10^-places units as exact fixed-point text (no floating point)."""
    unit = 10 ** places
    return (f"CASE WHEN ({expr}) IS NULL THEN '' ELSE "
            f"(CASE WHEN ({expr}) < 0 THEN '-' ELSE '' END) || CAST(abs({expr})::HUGEINT // {unit} AS VARCHAR) || '.' || "
            f"lpad(CAST(abs({expr})::HUGEINT % {unit} AS VARCHAR), {places}, '0') END")


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or "_"


def statement_text(r: ClearingResult, s: HospitalStatement) -> str:
    p = r.params
    ratio = s.cost_ratio
    lines = [
        f"# {r.year} 年度 DIP 结算单 / DIP statement — {s.hospital} {s.name}".rstrip(), "",
        f"医疗机构等级 level: {s.level}；等级系数 coefficient: {s.coefficient}", "",
        "| 项目 item | 数值 value |", "|---|---|",
        f"| 病例数 cases | {s.cases:,}（DIP {s.dip_cases:,}，按项目 {s.ffs_cases:,}） |",
        f"| 低倍率 / 高倍率 / 特病单议 low / high / special review | {s.low} / {s.high} / {s.special_review} |",
        f"| 总分值 points | {_d4(s.points):,} |",
        f"| 年度点值 point value | {_pv_yuan(r.point_value)} 元/分 |",
        f"| DIP 支付 D = 分值 × 点值 | {fmt_yuan(s.dip_payment)} 元 |",
        f"| 实际费用 C | {fmt_yuan(s.cost)} 元 |",
        f"| C / D | {_ratio(ratio)} |",
        f"| 清算档次 band | {BAND_ZH.get(s.band, s.band)} |",
        f"| 结余留用 / 超支分担 adjustment | {fmt_yuan(s.adjustment)} 元 |",
        f"| 清算认定金额 settled | {fmt_yuan(s.settled)} 元 |",
        f"| 参保人负担 patients' share | {fmt_yuan(s.patient_share)} 元 |",
        f"| 基金应付 fund due | {fmt_yuan(s.fund_due)} 元 |",
        f"| 月度已预拨 prepaid | {fmt_yuan(s.prepaid)} 元 |",
        f"| **年终应拨付 balance** | **{fmt_yuan(s.balance)} 元** |",
        f"| 按项目结算病例 fee-for-service | 费用 {fmt_yuan(s.ffs_cost)} 元，基金 {fmt_yuan(s.ffs_fund)} 元 |",
        "",
        "计算规则 / rules:",
        f"- C ≤ D：结余按 {float(p.surplus_keep_share) * 100:g}% 留用，结余计至 {float(p.surplus_floor_ratio) * 100:g}% × D 为止；",
        f"- C > D：超支部分在 {float(p.overrun_share_upper_ratio) * 100:g}% × D 以内由基金分担 {float(p.overrun_fund_share) * 100:g}%，以上由医院承担；",
        f"- 低于标准费用 {float(p.low_ratio) * 100:g}% 的病例按比例折算分值，高于 {float(p.high_ratio) * 100:g}% 的病例加计分值，"
        f"高于 {float(p.special_review_ratio):g} 倍的病例列入特病单议。",
        "",
        "参数出处 / parameters and sources:",
        *[f"- {name} = {value} — {ref}" for name, value, ref in p.citations],
    ]
    return "\n".join(lines) + "\n"

