"""An independent, deliberately naive CHS-DRG 1.1 grouper written straight from the README of
the shared tables (``/work/shared/data/chs-drg-1.1/README.md``), used only to cross-check
``yibao.grouping.drg`` on many records.

It shares no code with yibao: it reads the CSV files itself and recognises each rule *text*
the README lists (there are 6 MDC entry rules and 18 ADRG rule forms), refusing any other.
"""

from __future__ import annotations

import csv
from pathlib import Path


def _rows(folder: Path, name: str):
    with open(folder / name, encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


class LiteralGrouper:
    PS_BANDS = {
        "anydx:zd&weight!=0&weight<1500&has_ageday&ageday<=28": (None, 1500),
        "anydx:zd&weight!=0&weight>=1500&weight<2000&has_ageday&ageday<=28": (1500, 2000),
        "anydx:zd&weight!=0&weight>=2000&weight<2500&has_ageday&ageday<=28": (2000, 2500),
        "anydx:zd&weight!=0&weight>=2500&has_ageday&ageday<=28": (2500, None),
    }

    def __init__(self, folder: str | Path) -> None:
        folder = Path(folder)
        self.mdcs = sorted(_rows(folder, "mdc.csv"), key=lambda r: int(r["order"]))
        self.mdc_list: dict[str, set[str]] = {}
        self.region: dict[str, str] = {}
        for r in _rows(folder, "mdc_codes.csv"):
            self.mdc_list.setdefault(r["mdc"], set()).add(r["code"])
            if r["region"]:
                self.region[r["code"]] = r["region"]
        self.adrgs: dict[str, list[dict]] = {}
        for r in _rows(folder, "adrg.csv"):
            self.adrgs.setdefault(r["mdc"], []).append(r)
        for v in self.adrgs.values():
            v.sort(key=lambda r: int(r["order"]))
        self.lists: dict[tuple[str, str], set[str]] = {}
        self.tag_of: dict[str, dict[str, str]] = {}
        for r in _rows(folder, "adrg_codes.csv"):
            self.lists.setdefault((r["adrg"], r["list"]), set()).add(r["code"])
            if r["tag"]:
                self.tag_of.setdefault(r["adrg"], {}).setdefault(r["code"], r["tag"])
        self.drgs: dict[str, list[dict]] = {}
        for r in _rows(folder, "drg.csv"):
            self.drgs.setdefault(r["adrg"], []).append(r)
        for v in self.drgs.values():
            v.sort(key=lambda r: int(r["order"]))
        self.mcc = {r["code"]: r["exclusion_table"] for r in _rows(folder, "mcc.csv")}
        self.cc = {r["code"]: r["exclusion_table"] for r in _rows(folder, "cc.csv")}
        self.cce = {r["principal_code"]: r["exclusion_table"] for r in _rows(folder, "cc_exclusion.csv")}
        self.OR = {r["code"] for r in _rows(folder, "or_procedures.csv")}

    # -- rules, by their exact text
    def _mdc_ok(self, mdc: dict, g, age, dx, px) -> bool:
        rule, lst = mdc["entry_rule"], self.mdc_list.get(mdc["mdc"], set())
        if rule == "ppr:OR":
            return bool(px) and px[0] in self.OR
        if rule == "pdx:mdc":
            return dx[0] in lst
        if rule == "pdx:mdc&age==0":
            return dx[0] in lst and age is not None and age == 0
        if rule == "pdx:mdc&gender==1":
            return dx[0] in lst and g == 1
        if rule == "pdx:mdc&gender==2":
            return dx[0] in lst and g == 2
        if rule == "pdx:mdc&regions>=2":
            regions = {self.region[x] for x in dx if x in lst and x in self.region}
            return dx[0] in lst and len(regions) >= 2
        raise ValueError(f"unknown MDC rule {rule}")

    def _adrg_ok(self, a: dict, age_days, weight, dx, px) -> bool:
        code, rule = a["adrg"], a["rule"]
        zd = self.lists.get((code, "zd"), set())
        ss = self.lists.get((code, "ss"), set())
        ss1 = self.lists.get((code, "ss1"), set())
        pdx_zd = dx[0] in zd
        ppr_ss = bool(px) and px[0] in ss
        ppr_or = bool(px) and px[0] in self.OR
        any_ss = any(x in ss for x in px)
        any_ss1 = any(x in ss1 for x in px)
        neonate = age_days is not None and age_days <= 28
        tags = {self.tag_of.get(code, {}).get(x) for x in px} - {None}
        if rule == "pdx:zd":
            return pdx_zd
        if rule == "ppr:ss":
            return ppr_ss
        if rule == "pdx:zd&ppr:ss":
            return pdx_zd and ppr_ss
        if rule == "anypr:ss&anypr:ss1":
            return any_ss and any_ss1
        if rule == "pdx:zd&anypr:ss&anypr:ss1":
            return pdx_zd and any_ss and any_ss1
        if rule == "ppr:OR":
            return ppr_or
        if rule == "ppr:ss&has_ageday&ageday<=28":
            return ppr_ss and neonate
        if rule == "pdx:zd&has_ageday&ageday<=28":
            return pdx_zd and neonate
        if rule in self.PS_BANDS:
            lo, hi = self.PS_BANDS[rule]
            if weight is None or weight == 0:
                return False
            if lo is not None and weight < lo:
                return False
            if hi is not None and weight >= hi:
                return False
            return any(x in zd for x in dx) and neonate
        if rule == "pdx:zd&(ssgrp:1|(ssgrp:2&ssgrp:3))":
            return pdx_zd and ("1" in tags or {"2", "3"} <= tags)
        if rule == "pdx:zd&((ssgrp:1&ssgrp:2)|(ssgrp:1&ssgrp:3&ssgrp:4))":
            return pdx_zd and ({"1", "2"} <= tags or {"1", "3", "4"} <= tags)
        if rule == "anydx:zd&ppr:OR":
            return any(x in zd for x in dx) and ppr_or
        if rule == "!anypr:OR":
            return not any(x in self.OR for x in px)
        if rule == "true":
            return True
        raise ValueError(f"unknown ADRG rule {rule}")

    def group(self, gender, age, age_days, weight, dx, px):
        fail = ("0000", "00", "0000")
        if gender not in (1, 2) or age is None or not dx:
            return ("CHECK_FAILED", *fail)
        if age == 0 and age_days is None:
            return ("CHECK_FAILED", *fail)
        if age == 0 and age_days <= 28 and weight is None:
            return ("CHECK_FAILED", *fail)
        for mdc in self.mdcs:
            if not self._mdc_ok(mdc, gender, age, dx, px):
                continue
            for a in self.adrgs.get(mdc["mdc"], []):
                if self._adrg_ok(a, age_days, weight, dx, px):
                    t = self.cce.get(dx[0])
                    mcc = any(x in self.mcc and not (t is not None and self.mcc[x] == t) for x in dx[1:])
                    cc = any(x in self.cc and not (t is not None and self.cc[x] == t) for x in dx[1:])
                    for d in self.drgs[a["adrg"]]:
                        sev = d["severity"]
                        if sev == "NONE" or (sev == "MCC" and mcc) or (sev == "MCC_OR_CC" and (mcc or cc)):
                            return ("SUCCESS", mdc["mdc"], a["adrg"], d["drg"])
                    raise AssertionError("no DRG")
        return ("FAIL", *fail)
