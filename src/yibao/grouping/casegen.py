"""Synthetic discharge records drawn from a scheme's own code lists (seeded, reproducible).

Two mixes:

- ``realistic``: each record is aimed at one ADRG (medical ADRGs more often than surgical
  ones), with its principal diagnosis / main procedure from that ADRG's lists, 0–10 secondary
  diagnoses (about a third of them CC/MCC codes), a few extra procedures, 4% neonates with
  birth weights, and a little bad data (missing gender or age, neonates without weight).
- ``adversarial``: codes from any list in any position, empty codes, odd genders, ages and
  weights around every boundary the rules use. For tests that look for disagreements.

Used by ``benchmarks/grouping/bench_drg.py`` and the grouping tests; never for payment.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path
from typing import Iterator

from yibao.grouping.drg import DrgRecord
from yibao.grouping.scheme import Scheme


class _Pools:
    def __init__(self, scheme: Scheme) -> None:
        s = scheme
        self.scheme = s
        self.adrgs = [a for m in s.mdcs for a in s.adrgs_by_mdc[m.code]]
        self.adrg_lists = {a.code: {k: sorted(v) for k, v in a.lists.items()} for a in self.adrgs}
        self.adrg_tags = {a.code: {k: sorted(v) for k, v in a.tags.items()} for a in self.adrgs}
        self.mdc_codes = {m.code: sorted(m.codes) for m in s.mdcs}
        self.all_pdx = sorted(set().union(*[m.codes for m in s.mdcs]))
        self.or_codes = sorted(s.or_procedures)
        self.mcc = sorted(s.mcc)
        self.cc = sorted(s.cc)
        ss = set()
        for a in self.adrgs:
            for name, codes in a.lists.items():
                if name.startswith("ss"):
                    ss |= codes
        self.non_or_px = sorted(ss - s.or_procedures) or sorted(ss)
        self.all_px = sorted(ss | s.or_procedures)
        self.medical = [a for a in self.adrgs if "ss" not in a.lists and a.rule_text != "true"]
        self.surgical = [a for a in self.adrgs if a not in self.medical]
        self.zregions = sorted({r for m in s.mdcs for r in m.regions.values()})
        self.zcodes: dict[str, list[str]] = {}
        for m in s.mdcs:
            for code, region in m.regions.items():
                self.zcodes.setdefault(region, []).append(code)
        for v in self.zcodes.values():
            v.sort()


def _secondaries(r: random.Random, p: _Pools, n: int, mdc: str) -> list[str]:
    out = []
    pool_mdc = p.mdc_codes.get(mdc) or p.all_pdx
    for _ in range(n):
        u = r.random()
        if u < 0.12 and p.mcc:
            out.append(r.choice(p.mcc))
        elif u < 0.35 and p.cc:
            out.append(r.choice(p.cc))
        elif u < 0.6:
            out.append(r.choice(pool_mdc))
        else:
            out.append(r.choice(p.all_pdx))
    return out


def _realistic(r: random.Random, p: _Pools, i: int) -> DrgRecord:
    adrg = r.choice(p.medical) if (r.random() < 0.6 and p.medical) else r.choice(p.surgical)
    lists = p.adrg_lists[adrg.code]
    mdc = adrg.mdc
    mdc_pool = p.mdc_codes.get(mdc) or p.all_pdx
    neonate = mdc == "MDCP" or r.random() < 0.01
    zd = lists.get("zd")
    pdx = r.choice(zd) if zd and r.random() < 0.9 else r.choice(mdc_pool)
    dx = [pdx] + _secondaries(r, p, min(int(r.expovariate(1 / 3.0)), 10), mdc)
    if mdc == "MDCZ" and len(p.zregions) > 1:
        region = r.choice(p.zregions)
        dx.insert(1, r.choice(p.zcodes[region]))
    px: list[str] = []
    if "ss" in lists:
        tags = p.adrg_tags[adrg.code]
        if tags:
            for t in sorted(tags)[: r.randint(1, len(tags))]:
                px.append(r.choice(tags[t]))
        else:
            px.append(r.choice(lists["ss"]))
        if "ss1" in lists:
            px.insert(r.randint(0, len(px)), r.choice(lists["ss1"]))
    elif adrg.rule_text.endswith("ppr:OR") or adrg.rule_text == "ppr:OR":
        px.append(r.choice(p.or_codes))
    elif r.random() < 0.3:
        px.append(r.choice(p.non_or_px))
    for _ in range(r.choice((0, 0, 0, 1, 1, 2, 3))):
        px.append(r.choice(p.non_or_px if r.random() < 0.7 else p.all_px))
    gender = 2 if mdc in ("MDCN", "MDCO") else (1 if mdc == "MDCM" else r.choice((1, 2)))
    if neonate:
        age, age_days = 0, (r.randint(0, 28) if r.random() < 0.85 else r.randint(29, 364))
        weight: int | None = r.choice((r.randint(500, 1499), r.randint(1500, 2499), r.randint(2500, 4500)))
        if r.random() < 0.03:
            weight = None
    else:
        age, age_days, weight = r.randint(1, 95), None, None
    if r.random() < 0.005:
        gender = r.choice((0, 9, None))  # type: ignore[arg-type]
    if r.random() < 0.003:
        age = None  # type: ignore[assignment]
    return DrgRecord(gender=gender, age=age, age_days=age_days, weight=weight, dx=dx, px=px,
                     dept=None, los=r.randint(1, 30), leaving_type="1", id=str(i))


def _adversarial(r: random.Random, p: _Pools, i: int) -> DrgRecord:
    adrg = r.choice(p.adrgs)
    lists = p.adrg_lists[adrg.code]

    def any_dx() -> str:
        u = r.random()
        if u < 0.3 and lists.get("zd"):
            return r.choice(lists["zd"])
        if u < 0.5 and p.zregions:
            return r.choice(p.zcodes[r.choice(p.zregions)])
        if u < 0.6:
            return r.choice(p.mcc or p.all_pdx)
        if u < 0.7:
            return r.choice(p.cc or p.all_pdx)
        if u < 0.72:
            return ""
        return r.choice(p.all_pdx)

    def any_px() -> str:
        u = r.random()
        names = [k for k in lists if k.startswith("ss")]
        if u < 0.5 and names:
            return r.choice(lists[r.choice(names)])
        if u < 0.7:
            return r.choice(p.or_codes)
        if u < 0.72:
            return ""
        return r.choice(p.all_px)

    dx = [any_dx() for _ in range(r.randint(1, 6))]
    if r.random() < 0.01:
        dx = []
    px = [any_px() for _ in range(r.choice((0, 0, 1, 1, 2, 3, 5)))]
    gender = r.choice((1, 2, 1, 2, 0, None))
    age = r.choice((0, 0, 0, 1, 30, 70, None))
    age_days = r.choice((None, 0, 1, 27, 28, 29, 30, 200, 364))
    weight = r.choice((None, 0, 1, 999, 1499, 1500, 1999, 2000, 2499, 2500, 4000))
    return DrgRecord(gender=gender, age=age, age_days=age_days, weight=weight, dx=dx, px=px,
                     id=str(i))


def generate(scheme: Scheme, n: int, *, seed: int = 1, mix: str = "realistic") -> Iterator[DrgRecord]:
    """``n`` records from the scheme's lists; the same seed gives the same records."""
    r = random.Random(seed)
    p = _Pools(scheme)
    make = _realistic if mix == "realistic" else _adversarial
    for i in range(1, n + 1):
        yield make(r, p, i)


def _fmt(v) -> str:
    return "" if v is None else str(v)


def write_csv(records, path: str | Path) -> int:
    """Write records in the ``yibao drg group`` input format; returns the count."""
    n = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(("id", "gender", "age", "age_days", "weight", "dept", "los", "leaving_type", "dx", "px"))
        for rec in records:
            w.writerow((rec.id, _fmt(rec.gender), _fmt(rec.age), _fmt(rec.age_days), _fmt(rec.weight),
                        _fmt(rec.dept), _fmt(rec.los), _fmt(rec.leaving_type), "|".join(rec.dx),
                        "|".join(rec.px)))
            n += 1
    return n


# ----------------------------------------------------------------------------- settlement files

SETTLEMENT_COLUMNS = ("setl_id", "mdtrt_id", "psn_no", "insutype", "fixmedins_code", "fixmedins_name",
                      "medins_lv", "setl_time", "dscg_maindiag_code", "oprn_oprt_code", "othr_diag_codes",
                      "gend", "age", "nwb_age", "nwb_bir_wt", "ipt_days", "medfee_sumamt", "fund_pay_sumamt",
                      "day_surg_flag")


def settlements(scheme: Scheme, years: list[int], n_per_year: int, *, n_hospitals: int = 150, seed: int = 1):
    """A synthetic inpatient settlement file (a ``pyarrow.Table`` with national field names).

    Principal diagnoses follow a long-tailed popularity over the scheme's MDC lists; each
    diagnosis has its own surgical propensity, three typical procedures (so combinations
    repeat, as DIP needs) and a base cost; costs vary by hospital level, year (+3 %/year) and a
    log-normal noise. Vectorised with NumPy: about a million rows in a few seconds."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    p = _Pools(scheme)
    pdx_pool = np.array(sorted(c for m in scheme.mdcs if m.code not in ("MDCP",) for c in m.codes), dtype=object)
    ss_pool = np.array(p.non_or_px + p.or_codes, dtype=object)
    sec_pool = np.array((p.mcc[:2000] + p.cc[:6000]) or list(pdx_pool[:100]), dtype=object)
    n_pdx = len(pdx_pool)
    rank = rng.permutation(n_pdx)
    popularity = 1.0 / (rank + 10.0) ** 1.05
    popularity /= popularity.sum()
    surgical_p = rng.beta(0.6, 1.2, n_pdx)
    base_cost = np.exp(rng.normal(8.3, 0.7, n_pdx))  # yuan
    typical = rng.integers(0, len(ss_pool), (n_pdx, 3))
    options = [(0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2)]
    option_p = np.array([0.3, 0.25, 0.15, 0.12, 0.08, 0.05, 0.05])
    combos = np.empty(n_pdx * len(options), dtype=object)
    for i in range(n_pdx):
        codes = ss_pool[typical[i]]
        for j, opt in enumerate(options):
            combos[i * len(options) + j] = "|".join(codes[k] for k in opt)

    levels = np.array(["3", "2", "1"], dtype=object)
    h_level = rng.choice(3, n_hospitals, p=[0.12, 0.33, 0.55])
    h_size = np.array([10.0, 3.0, 1.0])[h_level] * rng.uniform(0.5, 1.5, n_hospitals)
    h_size /= h_size.sum()
    h_code = np.array([f"H4418{i:04d}" for i in range(n_hospitals)], dtype=object)
    h_name = np.array([f"示例医院{i:04d}" for i in range(n_hospitals)], dtype=object)
    level_factor = np.array([1.25, 1.0, 0.75])
    fund_base = np.array([0.65, 0.72, 0.80])

    tables = []
    y0 = min(years)
    for y in years:
        n = n_per_year
        pdx = rng.choice(n_pdx, n, p=popularity)
        hosp = rng.choice(n_hospitals, n, p=h_size)
        lv = h_level[hosp]
        surg = rng.random(n) < surgical_p[pdx]
        opt = rng.choice(len(options), n, p=option_p)
        n_px = np.array([len(o) for o in options])[opt]
        px = np.where(surg, combos[pdx * len(options) + opt], "")
        diag_extra = rng.random(n) < 0.2
        px = np.where(diag_extra & surg, px + "|88.3801", np.where(diag_extra, "88.3801", px))
        cost = (base_cost[pdx] * np.where(surg, 2.2 * (1 + 0.3 * (n_px - 1)), 1.0) * level_factor[lv]
                * 1.03 ** (y - y0) * np.exp(rng.normal(0, 0.45, n)))
        fen = np.maximum(np.round(cost * 100).astype(np.int64), 1000)
        fund_fen = np.round(fen * np.clip(fund_base[lv] + rng.normal(0, 0.04, n), 0.3, 0.95)).astype(np.int64)
        los = np.maximum(1, np.round(np.log(fen / 100) * 1.3 - 5 + rng.normal(0, 2, n))).astype(np.int64)
        day_surg = (surg & (rng.random(n) < 0.05)).astype(np.int64)
        los = np.where(day_surg == 1, 1, los)
        n_sec = rng.choice(4, n, p=[0.45, 0.3, 0.15, 0.1])
        sec = sec_pool[rng.integers(0, len(sec_pool), (n, 3))]
        s1, s2, s3 = sec[:, 0], sec[:, 1], sec[:, 2]
        others = np.where(n_sec == 0, "", np.where(n_sec == 1, s1, np.where(n_sec == 2, s1 + "|" + s2, s1 + "|" + s2 + "|" + s3)))
        day = rng.integers(0, 365, n)
        dates = (np.datetime64(f"{y}-01-01") + day.astype("timedelta64[D]")).astype(str)
        ids = np.char.add(f"S{y}", np.char.zfill(np.arange(1, n + 1).astype(str), 8))

        def money(v):
            return np.char.add(np.char.add((v // 100).astype(str), "."), np.char.zfill((v % 100).astype(str), 2))

        tables.append(pa.table({
            "setl_id": ids,
            "mdtrt_id": np.char.add("M", ids),
            "psn_no": np.char.add("P", rng.integers(1, n * 2, n).astype(str)),
            "insutype": np.where(rng.random(n) < 0.35, "310", "390"),
            "fixmedins_code": h_code[hosp].astype(str),
            "fixmedins_name": h_name[hosp].astype(str),
            "medins_lv": levels[lv].astype(str),
            "setl_time": np.char.add(dates, " 10:00:00"),
            "dscg_maindiag_code": pdx_pool[pdx].astype(str),
            "oprn_oprt_code": px.astype(str),
            "othr_diag_codes": others.astype(str),
            "gend": rng.choice(["1", "2"], n),
            "age": rng.integers(1, 91, n).astype(str),
            "nwb_age": np.full(n, ""),
            "nwb_bir_wt": np.full(n, ""),
            "ipt_days": los.astype(str),
            "medfee_sumamt": money(fen),
            "fund_pay_sumamt": money(fund_fen),
            "day_surg_flag": day_surg.astype(str),
        }))
    return pa.concat_tables(tables)


def write_settlements(table, path: str | Path) -> None:
    """Write a :func:`settlements` table as Parquet (``.parquet``) or CSV."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        pq.write_table(table, path)
    else:
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, path)
