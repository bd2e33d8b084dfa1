"""DRG payment: relative weights from a region's own case history, then paying a year's cases
by the point method (点数法, a city-wide budget sets the point value) or the rate method
(费率法, a fixed amount per weight).

**Relative weight (RW)** of DRG d = mean cost of d's cases / mean cost of all cases, after
trimming outliers. The trimming rule (stated with every weight table):

- ``log_sd`` (default, k = 3): within each DRG with at least ``min_cases`` cases, drop cases
  whose natural log of total cost lies outside mean ± k × s.d. (sample s.d.) of that DRG's
  log costs. DRGs with fewer cases are not trimmed.
- ``percentile`` (low, high): within each DRG with at least ``min_cases`` cases, keep cases whose
  cost lies within the low…high percentiles (nearest-rank) of that DRG's costs.
- ``none``.

Cases with a total cost ≤ 0 never enter the weights. The overall mean is taken over the
cases kept in every DRG. RW is rounded half-up to 4 decimals.

**Level coefficients**: ``uniform`` — one weight at every level (眉山: 同病同价); ``fixed`` — from
the parameter file; ``computed`` — coefficient of level L = (cost per weight at L) / (cost per
weight overall), 4 decimals.

**A case's paid weight**: ``base = RW × level coefficient × (day-surgery factor if a day
surgery)``. The reference cost of the case is the DRG's mean cost × level coefficient, and
``ratio = cost / reference``:

- ratio < ``low_ratio`` (低倍率): ``W = base × ratio`` (paid about its cost);
- ratio > ``high_ratio`` of the DRG's RW band (高倍率): ``W = base × (ratio − high_ratio + 1)``;
- else ``W = base``.

Points = W × ``points_per_weight`` (100), rounded half-up to 4 decimals.

**Money**: point method — the pool is the budget (``budget_basis: total``) or the budget plus
the patients' own share of the DRG cases (``budget_basis: fund``, so that the fund spends exactly
the budget); point value = pool / total points; the pool is apportioned to hospitals by points
and each hospital's amount to its cases, to the fen, so parts sum to totals exactly (largest
remainder). Rate method — each case: round half-up(points / points_per_weight × rate). Cases
that are not grouped, or whose DRG has no weight, stay fee-for-service (按项目).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Sequence

from yibao.grouping.alloc import apportion
from yibao.grouping.params import ParamSet, dec
from yibao.money import fmt_yuan, round_half_up

def round4(x: Fraction | Decimal) -> Decimal:
    """Half-up to 4 decimals, exactly."""
    f = Fraction(x)
    return Decimal(round_half_up(f * 10_000)) / 10_000


@dataclass(frozen=True, slots=True)
class PayCase:
    """One inpatient settlement as the payment needs it. Amounts in fen."""

    setl_id: str
    hospital: str
    level: str
    drg: str | None  # None: not grouped (FAIL / CHECK_FAILED)
    cost: int  # medfee_sumamt
    fund: int = 0  # fund_pay_sumamt under the ordinary settlement
    los: int | None = None
    day_surgery: bool = False
    year: int | None = None
    month: int | None = None
    hospital_name: str = ""

    @property
    def patient_share(self) -> int:
        return self.cost - self.fund


# ----------------------------------------------------------------------------- weights


@dataclass(frozen=True)
class Trim:
    method: str = "log_sd"  # log_sd | percentile | none
    k: Decimal = Decimal(3)
    low_pct: Decimal = Decimal(1)
    high_pct: Decimal = Decimal(99)
    min_cases: int = 10

    def describe(self) -> str:
        if self.method == "log_sd":
            return (f"每个DRG病例数≥{self.min_cases}时，剔除对数费用在均值±{self.k}个标准差之外的病例 / "
                    f"within DRGs of ≥{self.min_cases} cases, drop cases whose log cost is outside mean ± {self.k} s.d.")
        if self.method == "percentile":
            return (f"每个DRG病例数≥{self.min_cases}时，只保留费用在第{self.low_pct}至第{self.high_pct}百分位之间的病例 / "
                    f"within DRGs of ≥{self.min_cases} cases, keep costs between the {self.low_pct}th and {self.high_pct}th percentiles")
        return "不剔除 / no trimming"

    @classmethod
    def parse(cls, text: str, min_cases: int = 10) -> "Trim":
        """``log3sd`` / ``log2.5sd`` / ``p1-99`` / ``none``."""
        t = text.strip().lower()
        if t == "none":
            return cls("none", min_cases=min_cases)
        if t.startswith("log") and t.endswith("sd"):
            return cls("log_sd", k=Decimal(t[3:-2] or "3"), min_cases=min_cases)
        if t.startswith("p") and "-" in t:
            lo, hi = t[1:].split("-", 1)
            return cls("percentile", low_pct=Decimal(lo), high_pct=Decimal(hi), min_cases=min_cases)
        raise ValueError(f"未知的剔除规则 {text!r}（log3sd / p1-99 / none）")


@dataclass(frozen=True)
class WeightRow:
    drg: str
    n: int
    n_used: int
    mean_cost: Fraction  # fen, over the cases kept
    weight: Decimal  # RW, 4 decimals
    mean_los: Fraction | None


@dataclass
class WeightTable:
    rows: dict[str, WeightRow]
    overall_mean: Fraction  # fen
    trim: Trim
    n_cases: int
    n_used: int
    source: str = ""

    def weight(self, drg: str) -> Decimal | None:
        row = self.rows.get(drg)
        return row.weight if row else None

    def write_csv(self, path: str | Path) -> None:
        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(("drg", "weight", "n_cases", "n_used", "mean_cost", "mean_los"))
            for r in sorted(self.rows.values(), key=lambda r: r.drg):
                w.writerow((r.drg, f"{r.weight:.4f}", r.n, r.n_used, fmt_yuan(round_half_up(r.mean_cost)),
                            "" if r.mean_los is None else f"{float(r.mean_los):.2f}"))
            w.writerow(("*", "1.0000", self.n_cases, self.n_used, fmt_yuan(round_half_up(self.overall_mean)), ""))

    @classmethod
    def read_csv(cls, path: str | Path) -> "WeightTable":
        rows: dict[str, WeightRow] = {}
        overall = None
        n_cases = n_used = 0
        with open(path, encoding="utf-8-sig", newline="") as fh:
            for line, row in enumerate(csv.DictReader(fh), 2):
                try:
                    mean = Fraction(Decimal(row["mean_cost"])) * 100
                    if row["drg"] == "*":
                        overall, n_cases, n_used = mean, int(row["n_cases"]), int(row["n_used"])
                        continue
                    rows[row["drg"]] = WeightRow(
                        row["drg"], int(row["n_cases"]), int(row["n_used"]), mean, Decimal(row["weight"]),
                        Fraction(Decimal(row["mean_los"])) if row.get("mean_los") else None)
                except (KeyError, ValueError, ArithmeticError) as exc:
                    raise ValueError(f"{path} 第{line}行: 无法读取权重 ({exc})") from None
        if overall is None:
            raise ValueError(f"{path}: 缺少总体均值行（drg = *）")
        return cls(rows, overall, Trim("none"), n_cases, n_used, str(path))


def _trim_costs(costs: list[int], trim: Trim) -> list[int]:
    costs = [c for c in costs if c > 0]
    if trim.method == "none" or len(costs) < trim.min_cases:
        return costs
    if trim.method == "log_sd":
        logs = [math.log(c) for c in costs]
        n = len(logs)
        mean = sum(logs) / n
        sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / (n - 1)) if n > 1 else 0.0
        k = float(trim.k)
        lo, hi = mean - k * sd, mean + k * sd
        return [c for c, x in zip(costs, logs) if lo <= x <= hi]
    if trim.method == "percentile":
        s = sorted(costs)
        n = len(s)

        def rank(p: Decimal) -> int:  # nearest-rank percentile, 1-based
            return max(1, min(n, math.ceil(Fraction(p) / 100 * n)))

        lo, hi = s[rank(trim.low_pct) - 1], s[rank(trim.high_pct) - 1]
        return [c for c in costs if lo <= c <= hi]
    raise ValueError(f"unknown trim method {trim.method}")


def compute_weights(cases: Iterable[PayCase], trim: Trim = Trim()) -> WeightTable:
    """Relative weights from a region's history (grouped cases only)."""
    by_drg: dict[str, list[int]] = {}
    los: dict[str, list[int]] = {}
    n_cases = 0
    for c in cases:
        if c.drg is None:
            continue
        n_cases += 1
        by_drg.setdefault(c.drg, []).append(c.cost)
        if c.los is not None:
            los.setdefault(c.drg, []).append(c.los)
    kept = {d: _trim_costs(v, trim) for d, v in by_drg.items()}
    total = sum(sum(v) for v in kept.values())
    n_used = sum(len(v) for v in kept.values())
    if n_used == 0:
        raise ValueError("没有可用于计算权重的病例 (no case to compute weights from)")
    overall = Fraction(total, n_used)
    rows = {}
    for d, v in kept.items():
        if not v:
            continue
        mean = Fraction(sum(v), len(v))
        ls = los.get(d)
        rows[d] = WeightRow(d, len(by_drg[d]), len(v), mean, round4(mean / overall),
                            Fraction(sum(ls), len(ls)) if ls else None)
    return WeightTable(rows, overall, trim, n_cases, n_used)


def computed_level_coefficients(cases: Iterable[PayCase], weights: WeightTable) -> dict[str, Decimal]:
    """Coefficient of level L = (Σ cost / Σ RW at L) / (Σ cost / Σ RW overall)."""
    cost: dict[str, int] = {}
    rw: dict[str, Fraction] = {}
    for c in cases:
        w = weights.weight(c.drg) if c.drg else None
        if w is None or c.cost <= 0:
            continue
        cost[c.level] = cost.get(c.level, 0) + c.cost
        rw[c.level] = rw.get(c.level, Fraction(0)) + Fraction(w)
    all_cost, all_rw = sum(cost.values()), sum(rw.values(), Fraction(0))
    if not all_rw:
        return {}
    overall = Fraction(all_cost) / all_rw
    return {lv: round4(Fraction(cost[lv]) / rw[lv] / overall) for lv in sorted(cost) if rw[lv]}


# ----------------------------------------------------------------------------- parameters


@dataclass
class DrgPayParams:
    method: str = "point"  # point | rate
    points_per_weight: Decimal = Decimal(100)
    rate_per_weight: Decimal | None = None  # yuan per weight (rate method)
    level_mode: str = "uniform"  # uniform | fixed | computed
    level_coefficients: dict[str, Decimal] = field(default_factory=dict)
    day_surgery_factor: Decimal = Decimal(1)
    low_ratio: Decimal = Decimal("0.4")
    high_ratio_bands: tuple[tuple[Decimal | None, Decimal], ...] = (
        (Decimal(1), Decimal(3)), (Decimal(2), Decimal("2.5")), (None, Decimal(2)))
    budget_basis: str = "fund"  # fund | total
    level_map: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_params(cls, ps: ParamSet, day: dt.date) -> "DrgPayParams":
        def opt(name, default):
            return ps.get(name, day) if ps.has(name) else default

        bands = []
        for band in opt("high_ratio_bands", []):
            up = band.get("weight_up_to")
            bands.append((None if up is None else dec(up), dec(band["ratio"])))
        p = cls(
            method=str(opt("method", "point")),
            points_per_weight=dec(opt("points_per_weight", 100)),
            rate_per_weight=dec(ps.get("rate_per_weight", day)) if ps.has("rate_per_weight") else None,
            level_mode=str(opt("level_mode", "uniform")),
            level_coefficients={str(k): dec(v) for k, v in (opt("level_coefficients", {}) or {}).items()},
            day_surgery_factor=dec(opt("day_surgery_factor", 1)),
            low_ratio=dec(opt("low_ratio", "0.4")),
            high_ratio_bands=tuple(bands) or cls.high_ratio_bands,
            budget_basis=str(opt("budget_basis", "fund")),
            level_map={str(k): str(v) for k, v in (opt("level_map", {}) or {}).items()},
        )
        p.check()
        return p

    def check(self) -> None:
        if self.method not in ("point", "rate"):
            raise ValueError(f"method 必须是 point 或 rate，实为 {self.method!r}")
        if self.method == "rate" and self.rate_per_weight is None:
            raise ValueError("费率法需要 rate_per_weight（元/权重）")
        if self.level_mode not in ("uniform", "fixed", "computed"):
            raise ValueError(f"level_mode 必须是 uniform/fixed/computed，实为 {self.level_mode!r}")
        if self.budget_basis not in ("fund", "total"):
            raise ValueError(f"budget_basis 必须是 fund 或 total，实为 {self.budget_basis!r}")

    def high_ratio(self, weight: Decimal) -> Decimal:
        for up, ratio in self.high_ratio_bands:
            if up is None or weight <= up:
                return ratio
        return self.high_ratio_bands[-1][1]

    def map_level(self, raw: str) -> str:
        return self.level_map.get(raw, raw)


# ----------------------------------------------------------------------------- payment


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: PayCase
    kind: str  # normal | low | high | ffs_ungrouped | ffs_no_weight
    weight: Decimal | None
    coefficient: Decimal | None
    ratio: Fraction | None
    points: Decimal
    amount: int  # fen; DRG payment (medical-cost basis); for ffs cases the cost itself
    fund_due: int  # amount − patient share (what the fund owes the hospital for this case)


@dataclass
class HospitalRow:
    hospital: str
    name: str
    level: str
    cases: int = 0
    grouped: int = 0
    drg_paid: int = 0
    weight_sum: Fraction = Fraction(0)
    points: Decimal = Decimal(0)
    cost: int = 0
    drg_cost: int = 0
    los: int = 0
    amount: int = 0
    patient_share: int = 0
    fund_due: int = 0
    low: int = 0
    high: int = 0
    day_surgery: int = 0

    @property
    def cmi(self) -> Fraction | None:
        return self.weight_sum / self.drg_paid if self.drg_paid else None

    @property
    def cost_per_weight(self) -> Fraction | None:
        return Fraction(self.drg_cost) / self.weight_sum if self.weight_sum else None

    @property
    def los_per_weight(self) -> Fraction | None:
        return Fraction(self.los) / self.weight_sum if self.weight_sum else None

    @property
    def gain(self) -> int:
        """DRG payment − actual cost of the DRG-paid cases (结余 + / 超支 −)."""
        return self.amount - self.drg_cost


@dataclass
class DrgRow:
    drg: str
    weight: Decimal
    cases: int = 0
    cost: int = 0
    amount: int = 0

    @property
    def gain(self) -> int:
        return self.amount - self.cost


@dataclass
class DrgPaymentResult:
    params: DrgPayParams
    coefficients: dict[str, Decimal]
    cases: list[CaseResult]
    hospitals: dict[str, HospitalRow]
    drgs: dict[str, DrgRow]
    total_points: Decimal
    pool: int | None  # point method: the money the points share (fen)
    point_value: Fraction | None  # fen per point
    budget: int | None

    # -- headline indicators
    @property
    def n_cases(self) -> int:
        return len(self.cases)

    @property
    def grouping_rate(self) -> Fraction:
        grouped = sum(1 for c in self.cases if c.case.drg is not None)
        return Fraction(grouped, self.n_cases) if self.cases else Fraction(0)

    @property
    def case_coverage(self) -> Fraction:
        paid = sum(1 for c in self.cases if c.kind not in ("ffs_ungrouped", "ffs_no_weight"))
        return Fraction(paid, self.n_cases) if self.cases else Fraction(0)

    @property
    def cost_coverage(self) -> Fraction:
        total = sum(c.case.cost for c in self.cases)
        paid = sum(c.case.cost for c in self.cases if c.kind not in ("ffs_ungrouped", "ffs_no_weight"))
        return Fraction(paid, total) if total else Fraction(0)

    @property
    def region_cost_per_weight(self) -> Fraction | None:
        ws = sum((h.weight_sum for h in self.hospitals.values()), Fraction(0))
        return Fraction(sum(h.drg_cost for h in self.hospitals.values())) / ws if ws else None

    @property
    def region_los_per_weight(self) -> Fraction | None:
        ws = sum((h.weight_sum for h in self.hospitals.values()), Fraction(0))
        return Fraction(sum(h.los for h in self.hospitals.values())) / ws if ws else None


def pay(cases: Sequence[PayCase], weights: WeightTable, params: DrgPayParams, *,
        budget: int | None = None, history: Sequence[PayCase] = ()) -> DrgPaymentResult:
    """Pay a year's cases. ``budget`` (fen) is required for the point method; ``history`` is
    used for ``level_mode: computed`` (the cases the weights came from)."""
    params.check()
    if params.level_mode == "uniform":
        coefs: dict[str, Decimal] = {}
    elif params.level_mode == "fixed":
        coefs = dict(params.level_coefficients)
    else:
        coefs = computed_level_coefficients(history or cases, weights)

    def coef(level: str) -> Decimal:
        if params.level_mode == "uniform":
            return Decimal(1)
        if level not in coefs:
            raise ValueError(f"没有医疗机构等级 {level!r} 的系数 (no level coefficient)")
        return coefs[level]

    ppw = params.points_per_weight
    partial: list[tuple[PayCase, str, Decimal | None, Decimal | None, Fraction | None, Decimal]] = []
    for c in cases:
        if c.drg is None:
            partial.append((c, "ffs_ungrouped", None, None, None, Decimal(0)))
            continue
        row = weights.rows.get(c.drg)
        if row is None:
            partial.append((c, "ffs_no_weight", None, None, None, Decimal(0)))
            continue
        k = coef(c.level)
        base = Fraction(row.weight) * Fraction(k)
        if c.day_surgery:
            base *= Fraction(params.day_surgery_factor)
        ref = row.mean_cost * Fraction(k)
        ratio = Fraction(c.cost) / ref if ref else Fraction(1)
        high = Fraction(params.high_ratio(row.weight))
        if ratio < Fraction(params.low_ratio):
            kind, w = "low", base * ratio
        elif ratio > high:
            kind, w = "high", base * (ratio - high + 1)
        else:
            kind, w = "normal", base
        partial.append((c, kind, row.weight, k, ratio, round4(w * Fraction(ppw))))

    total_points = sum((p[5] for p in partial), Decimal(0))
    pool = point_value = None
    amounts: list[int] = [0] * len(partial)
    paid_idx = [i for i, p in enumerate(partial) if not p[1].startswith("ffs")]
    if params.method == "point":
        if budget is None:
            raise ValueError("点数法需要年度预算 (the point method needs a budget)")
        patient = sum(partial[i][0].patient_share for i in paid_idx)
        pool = budget + (patient if params.budget_basis == "fund" else 0)
        if total_points:
            point_value = Fraction(pool) / Fraction(total_points)
        # pool -> hospitals by points -> cases by points: parts sum to totals exactly
        by_h: dict[str, list[int]] = {}
        for i in paid_idx:
            by_h.setdefault(partial[i][0].hospital, []).append(i)
        hs = sorted(by_h)
        h_points = [sum((partial[i][5] for i in by_h[h]), Decimal(0)) for h in hs]
        if total_points:
            for h, h_amount in zip(hs, apportion(pool, h_points)):
                idx = by_h[h]
                for i, a in zip(idx, apportion(h_amount, [partial[i][5] for i in idx])):
                    amounts[i] = a
    else:
        rate_fen = Fraction(params.rate_per_weight) * 100  # type: ignore[arg-type]
        for i in paid_idx:
            amounts[i] = round_half_up(Fraction(partial[i][5]) / Fraction(ppw) * rate_fen)

    results: list[CaseResult] = []
    hospitals: dict[str, HospitalRow] = {}
    drgs: dict[str, DrgRow] = {}
    for i, (c, kind, w, k, ratio, pts) in enumerate(partial):
        ffs = kind.startswith("ffs")
        amount = c.cost if ffs else amounts[i]
        res = CaseResult(c, kind, w, k, ratio, pts, amount, amount - c.patient_share)
        results.append(res)
        h = hospitals.get(c.hospital)
        if h is None:
            h = hospitals[c.hospital] = HospitalRow(c.hospital, c.hospital_name, c.level)
        h.cases += 1
        h.cost += c.cost
        if c.drg is not None:
            h.grouped += 1
        if ffs:
            continue
        h.drg_paid += 1
        h.weight_sum += Fraction(w)  # type: ignore[arg-type]
        h.points += pts
        h.drg_cost += c.cost
        h.los += c.los or 0
        h.amount += amount
        h.patient_share += c.patient_share
        h.fund_due += amount - c.patient_share
        h.low += kind == "low"
        h.high += kind == "high"
        h.day_surgery += c.day_surgery
        d = drgs.get(c.drg)  # type: ignore[arg-type]
        if d is None:
            d = drgs[c.drg] = DrgRow(c.drg, w)  # type: ignore[index, arg-type]
        d.cases += 1
        d.cost += c.cost
        d.amount += amount
    return DrgPaymentResult(params, coefs, results, hospitals, drgs, total_points, pool, point_value, budget)


# ----------------------------------------------------------------------------- loading and writing


def load_pay_cases(path: str | Path, *, grouper=None, years: Iterable[int] | None = None,
                   level_map: dict[str, str] | None = None, progress=None) -> list[PayCase]:
    """Cases from a case file (see :mod:`yibao.grouping.cases`). Without a ``drg_code`` column
    (or where it is empty) the record is grouped with ``grouper``."""
    import duckdb

    from yibao.grouping.cases import DRG_FIELDS, open_cases
    from yibao.grouping.drg import Status, split_codes

    con = duckdb.connect()
    cols = open_cases(con, path, years=None if years is None else list(years))
    need_grouping = "drg_code" not in cols or con.execute(
        "SELECT count(*) FROM cases WHERE drg_code IS NULL OR drg_code = ''").fetchone()[0] > 0
    if need_grouping:
        if grouper is None:
            raise ValueError("病例没有 drg_code，需要分组方案 --scheme 来分组")
        missing = [c for c in ("gend", "age") if c not in cols]
        if missing:
            from yibao.grouping.cases import CaseFileError
            raise CaseFileError(f"分组需要列 {', '.join(missing)} (DRG fields: {', '.join(DRG_FIELDS)})", 1, missing[0])
    rows = con.execute("""
        SELECT setl_id, fixmedins_code, coalesce(fixmedins_name, ''), medins_lv, setl_year, setl_month,
               dscg_maindiag_code, oprn_oprt_code, othr_diag_codes, gend, age, nwb_age, nwb_bir_wt,
               ipt_days, medfee_fen, fund_fen, day_surg_flag, drg_code
        FROM cases""").fetchall()
    lm = level_map or {}
    out = []
    gv = grouper.group_values if grouper is not None else None
    for i, (sid, h, hname, lv, year, month, pdx, pxs, others, gend, age, nwb_age, wt, los, cost, fund,
            day, drg) in enumerate(rows):
        if not drg:
            dx = [pdx] + ([x.strip() for x in others.split("|")] if others else [])
            px = split_codes(pxs) if pxs else []
            weight = None if wt is None else (int(wt) if float(wt).is_integer() else wt)
            status, _, _, code = gv(gend, age, nwb_age, weight, dx, px)  # type: ignore[misc]
            drg = code if status is Status.SUCCESS else None
        elif drg in ("0000", "00"):
            drg = None
        out.append(PayCase(sid, h, lm.get(lv, lv), drg, cost, fund, los, bool(day), year, month, hname))
        if progress and i % 50_000 == 0:
            progress(i, len(rows))
    con.close()
    return out


def _pct(f: Fraction) -> str:
    return f"{float(f) * 100:.2f}%"


def _opt(f: Fraction | None, places: int = 4) -> str:
    return "" if f is None else f"{float(f):.{places}f}"


def write_reports(result: DrgPaymentResult, out: str | Path) -> list[Path]:
    """cases.csv, hospitals.csv, drgs.csv and summary.md in ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    with open(out / "cases.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(("setl_id", "fixmedins_code", "level", "drg", "kind", "weight", "coefficient", "ratio",
                    "points", "medfee_sumamt", "drg_amount", "patient_share", "fund_due"))
        for r in result.cases:
            c = r.case
            w.writerow((c.setl_id, c.hospital, c.level, c.drg or "", r.kind,
                        "" if r.weight is None else f"{r.weight:.4f}",
                        "" if r.coefficient is None else f"{r.coefficient:.4f}", _opt(r.ratio),
                        f"{r.points:.4f}", fmt_yuan(c.cost), fmt_yuan(r.amount), fmt_yuan(c.patient_share),
                        fmt_yuan(r.fund_due)))
    files.append(out / "cases.csv")
    rcpw, rlpw = result.region_cost_per_weight, result.region_los_per_weight
    with open(out / "hospitals.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(("fixmedins_code", "fixmedins_name", "level", "cases", "grouped", "drg_paid", "cmi",
                    "cost_per_weight", "cost_index", "los_per_weight", "time_index", "points",
                    "drg_cost", "drg_amount", "gain", "patient_share", "fund_due", "low_cases", "high_cases",
                    "day_surgery"))
        for h in sorted(result.hospitals.values(), key=lambda h: h.hospital):
            cpw, lpw = h.cost_per_weight, h.los_per_weight
            w.writerow((h.hospital, h.name, h.level, h.cases, h.grouped, h.drg_paid, _opt(h.cmi),
                        "" if cpw is None else fmt_yuan(round_half_up(cpw)),
                        _opt(cpw / rcpw if cpw is not None and rcpw else None),
                        _opt(lpw, 2), _opt(lpw / rlpw if lpw is not None and rlpw else None),
                        f"{h.points:.4f}", fmt_yuan(h.drg_cost), fmt_yuan(h.amount), fmt_yuan(h.gain),
                        fmt_yuan(h.patient_share), fmt_yuan(h.fund_due), h.low, h.high, h.day_surgery))
    files.append(out / "hospitals.csv")
    with open(out / "drgs.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(("drg", "weight", "cases", "cost", "drg_amount", "gain"))
        for d in sorted(result.drgs.values(), key=lambda d: d.drg):
            w.writerow((d.drg, f"{d.weight:.4f}", d.cases, fmt_yuan(d.cost), fmt_yuan(d.amount), fmt_yuan(d.gain)))
    files.append(out / "drgs.csv")
    p = result.params
    lines = [
        "# DRG 付费结算汇总 / DRG payment summary", "",
        f"- 付费方式 method: {'点数法 point' if p.method == 'point' else '费率法 rate'}",
        f"- 病例数 cases: {result.n_cases:,}",
        f"- 入组率 grouping rate: {_pct(result.grouping_rate)}",
        f"- DRG 付费覆盖病例 case coverage: {_pct(result.case_coverage)}；覆盖费用 cost coverage: {_pct(result.cost_coverage)}",
        f"- 总点数 total points: {result.total_points:,.4f}",
    ]
    if p.method == "point":
        lines += [
            f"- 预算 budget: {fmt_yuan(result.budget or 0)} 元（口径 basis: {p.budget_basis}）",
            f"- 分配总额 pool: {fmt_yuan(result.pool or 0)} 元",
            f"- 点值 point value: {float(result.point_value or 0) / 100:.6f} 元/点",
        ]
    else:
        lines.append(f"- 费率 rate: {p.rate_per_weight} 元/权重")
    lines.append(f"- 等级系数 level coefficients: {'不设（同病同价）/ none' if p.level_mode == 'uniform' else {k: str(v) for k, v in result.coefficients.items()}}")
    (out / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    files.append(out / "summary.md")
    return files

