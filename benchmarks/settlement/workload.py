"""A seeded workload of synthetic 20-line inpatient claims for the settlement benchmarks.

Persons of 眉山 (residents) and 清远 (employees and residents), institutions of every level,
a catalogue of 甲/乙/丙 items with ceilings and 先行自付, and claims whose totals have a long
right tail (log-normal prices), so that deductibles, bands and caps are all exercised.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from yibao.registry.certno import make

LEVELS = ["level3", "level2", "level1", "township"]
GROUPS = [None] * 90 + ["dibao"] * 5 + ["tekun"] * 1 + ["poverty"] * 2 + ["low_income"] * 2


@dataclass
class Workload:
    persons: list[dict]
    institutions: list[dict]
    catalogue: list[dict]
    claims: list[dict]  # psn_no, fixmedins_code, date, lines [(code, pric, cnt)]


def build(n_claims: int = 100_000, n_persons: int = 20_000, lines_per_claim: int = 20, seed: int = 7) -> Workload:
    rng = random.Random(seed)
    catalogue = []
    for i in range(600):
        lv = rng.choices(["01", "02", "03"], weights=[55, 35, 10])[0]
        entry = {"med_list_codg": f"XB{i:06d}", "name": f"项目{i}", "chrgitm_lv": lv}
        if lv == "02":
            entry["selfpay_prop"] = Decimal(rng.choice(["0.05", "0.10", "0.20"]))
        if rng.random() < 0.3:
            entry["pric_uplmt_amt"] = Decimal(rng.randint(5, 800))
        catalogue.append(entry)
    institutions = []
    for region, prefix in (("meishan", "511402"), ("qingyuan", "441802")):
        for j, level in enumerate(LEVELS * 3):
            institutions.append({"fixmedins_code": f"H{prefix}{j:05d}", "name": f"{region}{level}{j}", "medins_lv": level, "admdvs": prefix})
    institutions.append({"fixmedins_code": "H11010100001", "name": "北京某医院", "medins_lv": "level3", "admdvs": "110101"})
    persons = []
    for k in range(n_persons):
        region = "511402" if k % 2 == 0 else "441802"
        insutype = "390" if region == "511402" or rng.random() < 0.6 else "310"
        birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randint(0, 29000))
        persons.append({
            "psn_no": f"P{k:08d}", "certno": make(region, birth, k % 1000), "psn_name": f"参保人{k}",
            "gend": "1" if (k % 1000) % 2 else "2", "brdy": birth, "insutype": insutype,
            "psn_type": rng.choice(["11", "12"]) if insutype == "310" else "15", "insu_admdvs": region,
            "assistance": rng.choice(GROUPS) if insutype == "390" else None,
            "cvlserv": insutype == "390" and rng.random() < 0.03, "acct_balc": rng.randint(0, 500000),
        })
    by_region = {p: [i for i in institutions if i["admdvs"] == p] for p in ("511402", "441802")}
    codes = [c["med_list_codg"] for c in catalogue]
    claims = []
    for n in range(n_claims):
        person = persons[rng.randrange(n_persons)]
        inst = rng.choice(by_region[person["insu_admdvs"]]) if rng.random() > 0.02 else institutions[-1]
        scale = rng.lognormvariate(4.0, 1.1)
        lines = []
        for _ in range(lines_per_claim):
            pric = Decimal(str(round(min(scale * rng.lognormvariate(0, 0.8), 50000), 2)))
            lines.append((rng.choice(codes), pric, rng.randint(1, 10)))
        day = dt.date(2021, 1, 1) + dt.timedelta(days=n * 365 // n_claims)
        claims.append({"psn_no": person["psn_no"], "fixmedins_code": inst["fixmedins_code"], "date": day, "lines": lines})
    return Workload(persons, institutions, catalogue, claims)
