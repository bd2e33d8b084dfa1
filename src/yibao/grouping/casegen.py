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
