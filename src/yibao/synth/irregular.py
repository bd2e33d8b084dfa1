"""Injected irregularities with ground truth (labels).

Every pattern has a stable English id, a Chinese name, a configurable rate and a precise
definition (docs/synthetic-region.md). Normal care is generated so that it never meets a
definition; each injected case meets its own definition and, by construction, no other.
"""

from __future__ import annotations

import numpy as np

from . import refdata
from ._util import age_years, round_half_up_fen, year_bounds
from .care import (
    F_COMPLIC,
    F_DEAD,
    F_INJURY,
    F_LONG,
    F_PHANTOM,
    F_SPLIT,
    F_TERMINAL,
    F_THIRD,
    F_TWO,
    F_UPCODE,
    MT_IP,
    MT_OP,
    MT_PHARM,
    NDX,
    cat_enc,
    empty_enc,
    lines_of,
    pick_inst,
    price_for,
    take,
)
from .model import Context

PATTERNS: dict[str, str] = {
    "gender_mismatch": "限性别项目用于不符合性别的患者",
    "age_mismatch": "限年龄项目用于不符合年龄的患者",
    "level_mismatch": "超医疗机构等级收费",
    "exclusive_items": "互斥项目同时收费",
    "included_consumable": "项目已含耗材另行收费",
    "frequency_excess": "超频次超数量收费",
    "price_over_ceiling": "超限价收费",
    "off_indication": "超限定支付范围用药",
    "split_admission": "分解住院",
    "phantom_stay": "挂床住院",
    "overlong_stay": "超长住院",
    "drg_upcoding": "高套病组（编码无费用依据）",
    "over_testing_hba1c": "过度检查（糖化血红蛋白一年超过4次）",
    "care_after_death": "死亡后发生医疗费用",
    "two_places": "同一时间多地就医",
    "trace_code_resale": "药品追溯码重复销售",
    "stock_mismatch": "药品进销存不符",
    "third_party_injury": "应由第三方负担的外伤费用",
}

# default rates: the share of eligible units (see docs) that get the irregularity
DEFAULT_RATES: dict[str, float] = {
    "gender_mismatch": 0.0008, "age_mismatch": 0.0008, "level_mismatch": 0.0008, "exclusive_items": 0.0005,
    "included_consumable": 0.0005, "frequency_excess": 0.002, "price_over_ceiling": 0.0005,
    "off_indication": 0.001, "split_admission": 0.01, "phantom_stay": 0.008, "overlong_stay": 0.003,
    "drg_upcoding": 0.01, "over_testing_hba1c": 0.03, "care_after_death": 0.25, "two_places": 0.006,
    "trace_code_resale": 0.004, "stock_mismatch": 0.01, "third_party_injury": 0.05,
}
INJECTED = F_PHANTOM | F_UPCODE | F_THIRD | F_SPLIT | F_LONG | F_DEAD | F_TWO
UPCODE_SHARE = 25  # percent of the stay's fees taken as the overpayment at stake


def _pick(rng, idx: np.ndarray, rate: float) -> np.ndarray:
    if len(idx) == 0 or rate <= 0:
        return idx[:0]
    return idx[rng.random(len(idx)) < rate]


# ------------------------------------------------------------------------------------------------
# schedule stage: before times and diagnoses are finished


def inject_schedule(ctx: Context, enc: dict, persons: np.ndarray, s: np.ndarray, e: np.ndarray, year: int, rng,
                    rates: dict) -> dict:
    pop = ctx.pop
    ys, ye = year_bounds(year)
    add = []
    ip = np.nonzero((enc["mt"] == MT_IP) & ((enc["flags"] & F_TERMINAL) == 0))[0]
    # neighbours of each stay (same person): previous end and next start
    o = ip[np.lexsort((enc["beg"][ip], enc["psn"][ip]))]
    same_prev = np.r_[False, enc["psn"][o][1:] == enc["psn"][o][:-1]]
    same_next = np.r_[enc["psn"][o][:-1] == enc["psn"][o][1:], False]
    local = np.searchsorted(persons, enc["psn"][o])
    prev_end = np.where(same_prev, np.r_[0, enc["end"][o][:-1]] + 16, s[local])
    next_beg = np.where(same_next, np.r_[enc["beg"][o][1:], 0] - 16, e[local])
    # terminal stays of the same person also bound the room
    term = np.nonzero((enc["flags"] & F_TERMINAL) > 0)[0]
    tbeg = np.full(len(persons), np.iinfo(np.int64).max)
    tbeg[np.searchsorted(persons, enc["psn"][term])] = enc["beg"][term]
    next_beg = np.minimum(next_beg, tbeg[local] - 16)
    room = next_beg - prev_end
    # over-long stays: stretched to 61–90 days inside the free room
    cand = o[(room >= 62) & (rng.random(len(o)) < rates["overlong_stay"])]
    if len(cand):
        pos_of = {int(x): j for j, x in enumerate(o)}
        k = np.array([pos_of[int(c)] for c in cand])
        newlos = np.minimum(rng.integers(61, 91, len(cand)), room[k] - 1)
        lo_b = prev_end[k]
        hi_b = next_beg[k] - newlos
        newbeg = np.clip(enc["beg"][cand] - (newlos - enc["los"][cand]) // 2, lo_b, hi_b)
        enc["beg"][cand] = newbeg
        enc["los"][cand] = newlos
        enc["end"][cand] = newbeg + newlos
        enc["flags"][cand] |= F_LONG
    free = ip[(enc["flags"][ip] & F_LONG) == 0]
    # split admissions: a stay cut in two with a 1–7 day break, same diagnosis, same hospital.
    # Not planned chemo/radiotherapy courses (Z51): those are readmissions by design.
    planned = np.isin(enc["dis"][free], [i for i, code in enumerate(refdata.diseases().code) if code.startswith("Z51")])
    cand = _pick(rng, free[(enc["los"][free] >= 8) & ~planned], rates["split_admission"])
    if len(cand):
        L = enc["los"][cand]
        k = rng.integers(3, np.maximum(L - 4, 4))
        gap = np.minimum(rng.integers(1, 8, len(cand)), L - k - 2)
        second = take(enc, cand)
        second["beg"] = enc["beg"][cand] + k + gap
        second["los"] = enc["end"][cand] - second["beg"]
        second["end"] = enc["end"][cand]
        second["flags"] = second["flags"] | F_SPLIT
        second["gap"] = gap
        enc["los"][cand] = k
        enc["end"][cand] = enc["beg"][cand] + k
        enc["dway"][cand] = 1
        add.append(second)
        free = np.setdiff1d(free, cand)
    # two places at once: a visit at another institution strictly inside a stay
    cand = _pick(rng, free[enc["los"][free] >= 4], rates["two_places"])
    if len(cand):
        v = empty_enc(len(cand))
        v["psn"] = enc["psn"][cand]
        v["beg"] = enc["beg"][cand] + 1 + np.floor(rng.random(len(cand)) * (enc["los"][cand] - 1)).astype(np.int64)
        v["end"] = v["beg"]
        pharm = rng.random(len(cand)) < 0.5
        county = pop.county[v["psn"]].astype(np.int64)
        v["inst"] = pick_inst(ctx, county, np.where(pharm, 0, 2), rng.integers(0, 1 << 30, len(cand)), rng)
        clash = v["inst"] == enc["inst"][cand]
        v["inst"] = np.where(clash, pick_inst(ctx, county, np.where(pharm, 0, 1), rng.integers(0, 1 << 30, len(cand)), rng), v["inst"])
        v["mt"] = np.where(pharm, MT_PHARM, MT_OP)
        v["dis"] = np.full(len(cand), refdata.diseases().index("J06.900"))
        v["flags"] = np.full(len(cand), F_TWO)
        ok = (v["inst"] >= 0) & (v["inst"] != enc["inst"][cand])
        add.append(take(v, np.nonzero(ok)[0]))
    # care after death: the card is used again after the holder died (this year or before)
    dead = np.nonzero((pop.death[persons] < ye - 1) & (pop.death[persons] >= ys - 400))[0]
    cand = _pick(rng, dead, rates["care_after_death"])
    if len(cand):
        dd = np.maximum(pop.death[persons[cand]], ys - 1)
        day = dd + 1 + rng.integers(0, 60, len(cand))
        ok = day <= ye
        cand, day = cand[ok], day[ok]
        v = empty_enc(len(cand))
        v["psn"] = persons[cand]
        v["beg"] = day
        v["end"] = day
        pharm = rng.random(len(cand)) < 0.6
        v["inst"] = pick_inst(ctx, pop.county[v["psn"]].astype(np.int64), np.where(pharm, 0, 2), pop.pref[v["psn"]], rng)
        v["mt"] = np.where(pharm, MT_PHARM, MT_OP)
        v["dis"] = np.full(len(cand), refdata.diseases().index("I10.x00x002"))
        v["flags"] = np.full(len(cand), F_DEAD)
        add.append(take(v, np.nonzero(v["inst"] >= 0)[0]))
    if add:
        enc = cat_enc([enc] + add)
    return enc


def inject_encounter_flags(ctx: Context, enc: dict, rng, rates: dict) -> None:
    """Flags that need diagnoses: upcoding, third-party injuries, phantom days."""
    d = refdata.diseases()
    ip = np.nonzero((enc["mt"] == MT_IP) & ((enc["flags"] & (INJECTED | F_COMPLIC | F_TERMINAL)) == 0))[0]
    col = (enc["dx"] >= 0).sum(axis=1)
    # DRG upcoding: a complication (MCC/CC) coded without any trace in the fees
    cand = _pick(rng, ip[col[ip] < NDX], rates["drg_upcoding"])
    if len(cand):
        cd = ctx.complication_dx[rng.integers(0, len(ctx.complication_dx), len(cand))]
        clash = np.array([ctx.dx_code[c][:3] == d.code[p][:3] for c, p in zip(cd, enc["dis"][cand])], dtype=bool)
        cand, cd = cand[~clash], cd[~clash]
        enc["dx"][cand, col[cand]] = cd
        enc["extra"][cand] = cd
        enc["flags"][cand] |= F_UPCODE
    ip = ip[(enc["flags"][ip] & F_UPCODE) == 0]
    # phantom stay: 3–6 days in the middle with bed and nursing only
    cand = _pick(rng, ip[enc["los"][ip] >= 7], rates["phantom_stay"])
    if len(cand):
        L = enc["los"][cand]
        n = np.minimum(rng.integers(3, 7, len(cand)), L - 3)
        lo = 1 + np.floor(rng.random(len(cand)) * (L - 2 - n)).astype(np.int64)
        enc["ph_lo"][cand] = lo
        enc["ph_hi"][cand] = lo + n
        enc["flags"][cand] |= F_PHANTOM
    # third-party injuries: transport accident or assault billed to the fund
    inj = np.nonzero(((enc["flags"] & F_INJURY) > 0) & ((enc["flags"] & INJECTED) == 0))[0]
    cand = _pick(rng, inj, rates["third_party_injury"])
    if len(cand):
        enc["ext"][cand] = ctx.ext_tp_dx[rng.integers(0, len(ctx.ext_tp_dx), len(cand))]
        enc["relttp"][cand] = (rng.random(len(cand)) < 0.5).astype(np.int64)
        enc["flags"][cand] |= F_THIRD


def encounter_labels(ctx: Context, enc: dict, L: dict) -> list[dict]:
    labels = []
    amount = round_half_up_fen(L["pric"], L["cnt"])
    per_enc = np.zeros(len(enc["psn"]), np.int64)
    np.add.at(per_enc, L["enc"], amount)
    f = enc["flags"]
    for flag, pattern in ((F_SPLIT, "split_admission"), (F_DEAD, "care_after_death"), (F_TWO, "two_places"),
                          (F_THIRD, "third_party_injury")):
        for i in np.nonzero((f & flag) > 0)[0]:
            det = ""
            if flag == F_SPLIT:
                det = f"前次住院出院后{int(enc['gap'][i])}天再次入院，主诊断相同"
            elif flag == F_DEAD:
                det = "参保人死亡后发生的就诊"
            elif flag == F_TWO:
                det = "住院期间在另一机构发生就诊或购药"
            else:
                det = f"外因{ctx.dx_code[enc['ext'][i]]}，涉及第三方"
            labels.append({"enc": int(i), "pattern": pattern, "detail": det})
    for i in np.nonzero((f & F_UPCODE) > 0)[0]:
        labels.append({"enc": int(i), "pattern": "drg_upcoding", "amount": int(per_enc[i] * UPCODE_SHARE // 100),
                       "detail": f"次要诊断{ctx.dx_code[enc['extra'][i]]}无相应费用依据"})
    for i in np.nonzero((f & F_PHANTOM) > 0)[0]:
        sel = (L["enc"] == i) & (L["day"] >= enc["ph_lo"][i]) & (L["day"] < enc["ph_hi"][i])
        labels.append({"enc": int(i), "pattern": "phantom_stay", "amount": int(amount[sel].sum()),
                       "detail": f"第{int(enc['ph_lo'][i]) + 1}至{int(enc['ph_hi'][i])}住院日仅有床位费和护理费"})
    for i in np.nonzero((f & F_LONG) > 0)[0]:
        sel = (L["enc"] == i) & (L["day"] >= 60)
        labels.append({"enc": int(i), "pattern": "overlong_stay", "amount": int(amount[sel].sum()),
                       "detail": f"住院{int(enc['los'][i])}天，超过60天"})
    return labels


# ------------------------------------------------------------------------------------------------
# line stage: after the sanitiser


def add_refunds(ctx: Context, enc: dict, L: dict, rng) -> dict:
    """退费: about 2 % of inpatient drug lines are partly returned the same day."""
    a = ctx.cat.arrays
    cand = np.nonzero((enc["mt"][L["enc"]] == MT_IP) & (a["kind"][L["item"]] <= 1) & ~a["lmt"][L["item"]]
                      & (L["cnt"] >= 10_000) & ((enc["flags"][L["enc"]] & INJECTED) == 0))[0]
    cand = cand[rng.random(len(cand)) < 0.02]
    n = len(cand)
    back = -np.minimum(L["cnt"][cand], rng.integers(1, 3, n) * 10_000)
    new = lines_of(L["enc"][cand], L["item"][cand], L["day"][cand], np.minimum(L["sec"][cand] + 3600, 86_399),
                   L["pric"][cand], back)
    new["refund_of"] = cand
    return {k: np.concatenate([L[k], new[k]]) for k in L}


class LineInjector:
    def __init__(self, ctx: Context, enc: dict, L: dict, year: int, rng, rates: dict):
        self.ctx, self.enc, self.L, self.year, self.rng, self.rates = ctx, enc, L, year, rng, rates
        self.labels: list[dict] = []
        self.new: list[dict] = []
        self.trace_dups: list[tuple[int, int]] = []
        a = ctx.cat.arrays
        self.a = a
        self.rank = ctx.region.inst_rank[enc["inst"]].astype(np.int64)
        self.age = age_years(ctx.pop.brdy[enc["psn"]], enc["beg"])
        self.sex = ctx.pop.sex[enc["psn"]].astype(np.int64)
        pair_items = {x for x, _, _ in ctx.cat.exclusive} | {y for _, y, _ in ctx.cat.exclusive}
        pair_items |= {x for x, _ in ctx.cat.included} | {y for _, y in ctx.cat.included}
        ev = np.concatenate(list(ctx.cat.evidence.values()))
        self.plain = np.ones(len(ctx.cat), bool)
        self.plain[list(pair_items)] = False
        self.plain[ev] = False
        self.plain &= a["maxyear"] == 0
        self.plain &= a["kind"] != 2
        # encounters that may receive a line-level irregularity
        self.used = (enc["flags"] & INJECTED) > 0
        self.used |= enc["mt"] == MT_PHARM
        self.first_line = {}

    def _free(self, mask: np.ndarray) -> np.ndarray:
        return np.nonzero(mask & ~self.used)[0]

    def _add(self, e: np.ndarray, items: np.ndarray, pattern: str, day=None, cnt=None, pric=None, sec=None):
        e = np.asarray(e, np.int64)
        items = np.asarray(items, np.int64)
        if len(e) == 0:
            return
        if day is None:
            day = np.zeros(len(e), np.int64)
        if cnt is None:
            cnt = np.full(len(e), 10_000, np.int64)
        if pric is None:
            pric = price_for(self.ctx, items, self.rank[e], self.enc["mt"][e] == MT_PHARM,
                             np.ones(len(e), bool), self.year, self.rng)
        bsec, esec = self.enc["bsec"][e], self.enc["esec"][e]
        ip = self.enc["mt"][e] == MT_IP
        if sec is None:
            sec = np.where(ip, np.where(day == 0, np.minimum(bsec + 600, 86_399), 12 * 3600),
                           bsec + (esec - bsec) // 2)
        new = lines_of(e, items, day, sec, pric, cnt)
        base = len(self.L["enc"]) + sum(len(x["enc"]) for x in self.new)
        self.new.append(new)
        for k in range(len(e)):
            self.labels.append({"line": base + k, "pattern": pattern})
        self.used[e] = True

    def _choose_items(self, e: np.ndarray, allowed: np.ndarray) -> np.ndarray:
        """For each encounter, one item among allowed[e_i, :] (a boolean matrix), or -1."""
        out = np.full(len(e), -1, np.int64)
        u = self.rng.random(len(e))
        for i in range(len(e)):
            c = np.nonzero(allowed[i])[0]
            if len(c):
                out[i] = c[int(u[i] * len(c))]
        return out

    def _any_day(self, e):
        return np.floor(self.rng.random(len(e)) * np.maximum(self.enc["los"][e], 1)).astype(np.int64) * (self.enc["mt"][e] == MT_IP)

    def run(self) -> tuple[dict, list[dict], list[tuple[int, int]]]:
        a, enc, rng, R = self.a, self.enc, self.rng, self.rates
        clinical = np.isin(enc["mt"], [0, 1, 2, 3])
        base = self.plain & ~a["lmt"]
        # gender
        e = _pick(rng, self._free(clinical), R["gender_mismatch"])
        cand = base & (a["sex"] > 0) & (a["amin"] < 0) & (a["amax"] < 0)
        allowed = cand[None, :] & (a["sex"][None, :] != self.sex[e][:, None]) & (a["minlv"][None, :] <= self.rank[e][:, None])
        it = self._choose_items(e, allowed)
        self._add(e[it >= 0], it[it >= 0], "gender_mismatch", self._any_day(e[it >= 0]))
        # age
        e = _pick(rng, self._free(clinical), R["age_mismatch"])
        cand = base & (a["sex"] == 0) & ((a["amin"] >= 0) | (a["amax"] >= 0))
        ag = self.age[e][:, None]
        outside = ((a["amin"][None, :] >= 0) & (ag < a["amin"][None, :])) | ((a["amax"][None, :] >= 0) & (ag > a["amax"][None, :]))
        allowed = cand[None, :] & outside & (a["minlv"][None, :] <= self.rank[e][:, None])
        it = self._choose_items(e, allowed)
        self._add(e[it >= 0], it[it >= 0], "age_mismatch", self._any_day(e[it >= 0]))
        # level
        e = _pick(rng, self._free(clinical), R["level_mismatch"])
        cand = base & (a["sex"] == 0) & (a["amin"] < 0) & (a["amax"] < 0) & (a["minlv"] > 0)
        allowed = cand[None, :] & (a["minlv"][None, :] > self.rank[e][:, None])
        it = self._choose_items(e, allowed)
        self._add(e[it >= 0], it[it >= 0], "level_mismatch", self._any_day(e[it >= 0]))
        # off indication: a restricted drug with no matching diagnosis
        e = _pick(rng, self._free(clinical), R["off_indication"])
        cand = self.plain & a["lmt"] & (a["sex"] == 0) & (a["amin"] < 0) & (a["amax"] < 0)
        dxs = np.concatenate([enc["dis"][e][:, None], enc["dx"][e]], axis=1)
        match = np.zeros((len(e), len(self.ctx.cat)), bool)
        lmt_items = np.nonzero(self.a["lmt"])[0]
        for c in range(dxs.shape[1]):
            col = dxs[:, c]
            m = (col[:, None] >= 0) & self.ctx.allowed[np.maximum(col, 0)][:, self.ctx.lmt_slot[lmt_items]]
            match[:, lmt_items] |= m
        allowed = cand[None, :] & ~match & (a["minlv"][None, :] <= self.rank[e][:, None])
        it = self._choose_items(e, allowed)
        self._add(e[it >= 0], it[it >= 0], "off_indication", self._any_day(e[it >= 0]))
        # exclusive pairs: add the second item where the first is billed
        self._pairs([(x, y, s) for x, y, s in self.ctx.cat.exclusive], "exclusive_items", R["exclusive_items"])
        self._pairs([(x, y, "encounter") for x, y in self.ctx.cat.included], "included_consumable", R["included_consumable"])
        self._frequency(R["frequency_excess"])
        self._price(R["price_over_ceiling"])
        self._hba1c(R["over_testing_hba1c"])
        self._trace(R["trace_code_resale"])
        L = self.L
        if self.new:
            L = {k: np.concatenate([L[k]] + [n[k] for n in self.new]) for k in L}
        return L, self.labels, self.trace_dups

    def _pairs(self, pairs, pattern, rate):
        L, a = self.L, self.a
        for x, y, scope in pairs:
            xs = np.nonzero(L["item"] == x)[0]
            if len(xs) == 0:
                continue
            xs = xs[~self.used[L["enc"][xs]] & (L["cnt"][xs] > 0)]
            xs = xs[np.unique(L["enc"][xs], return_index=True)[1]]
            xs = xs[self.rng.random(len(xs)) < rate]
            e = L["enc"][xs]
            ok = (a["minlv"][y] <= self.rank[e]) & ((a["sex"][y] == 0) | (a["sex"][y] == self.sex[e]))
            ok &= ((a["amin"][y] < 0) | (self.age[e] >= a["amin"][y])) & ((a["amax"][y] < 0) | (self.age[e] <= a["amax"][y]))
            ok &= ~a["lmt"][y]
            # the added item must not itself be a first item of another pair present, nor be limited twice
            already = np.isin(e, L["enc"][L["item"] == y])
            ok &= ~already
            self._add(e[ok], np.full(ok.sum(), y), pattern, L["day"][xs][ok])

    def _frequency(self, rate):
        L, a = self.L, self.a
        lim = ((a["maxday"] > 0) | (a["maxvisit"] > 0)) & (a["maxyear"] == 0)
        xs = np.nonzero(lim[L["item"]] & ~self.used[L["enc"]] & (L["cnt"] > 0))[0]
        # only items billed once a day/visit with cnt at the limit (a duplicate line exceeds it)
        limit = np.where(a["maxday"][L["item"][xs]] > 0, a["maxday"][L["item"][xs]], a["maxvisit"][L["item"][xs]])
        xs = xs[L["cnt"][xs] == limit.astype(np.int64) * 10_000]
        xs = xs[np.unique(L["enc"][xs], return_index=True)[1]]
        xs = xs[self.rng.random(len(xs)) < rate]
        e = L["enc"][xs]
        self._add(e, L["item"][xs], "frequency_excess", L["day"][xs], np.full(len(xs), 10_000), L["pric"][xs],
                  sec=np.minimum(L["sec"][xs] + 1, 86_399))

    def _price(self, rate):
        L, a = self.L, self.a
        refunded = np.zeros(len(L["enc"]), bool)
        refunded[L["refund_of"][L["refund_of"] >= 0]] = True
        xs = np.nonzero((a["ceiling"][L["item"]] > 0) & ~self.used[L["enc"]] & ~refunded & (L["cnt"] > 0)
                        & (L["refund_of"] < 0) & (self.enc["mt"][L["enc"]] != MT_PHARM))[0]
        xs = xs[self.rng.random(len(xs)) < rate]
        xs = xs[np.unique(L["enc"][xs], return_index=True)[1]]
        ceiling = a["ceiling"][L["item"][xs]]
        newp = (np.round(ceiling * self.rng.uniform(1.1, 1.5, len(xs)) / 10_000) * 10_000).astype(np.int64)
        newp = np.maximum(newp, ceiling + 10_000)
        L["pric"][xs] = newp
        over = round_half_up_fen(newp - ceiling, L["cnt"][xs])
        for i, amt in zip(xs, over):
            self.labels.append({"line": int(i), "pattern": "price_over_ceiling", "amount": int(amt),
                                "detail": "单价超过限价"})
        self.used[L["enc"][xs]] = True

    def _hba1c(self, rate):
        L, enc, ctx = self.L, self.enc, self.ctx
        hb = ctx.cat.item("糖化血红蛋白测定")
        dm_visits = np.nonzero((enc["mt"] == 2) & (enc["dis"] == refdata.diseases().index("E11.900")) & ~self.used)[0]
        if len(dm_visits) == 0:
            return
        persons = np.unique(enc["psn"][dm_visits])
        persons = persons[self.rng.random(len(persons)) < rate]
        has_hb = np.zeros(len(enc["psn"]), bool)
        has_hb[L["enc"][L["item"] == hb]] = True
        new_lines = []
        for p in persons:
            visits = dm_visits[enc["psn"][dm_visits] == p]
            count = int((has_hb & (enc["psn"] == p)).sum())
            free = visits[~has_hb[visits]]
            need = 5 - count
            extra = int(self.rng.integers(need, need + 3))
            if len(free) < extra or need < 1:
                continue
            chosen = np.sort(self.rng.choice(free, size=extra, replace=False))
            new_lines.append((p, chosen))
        base = len(L["enc"]) + sum(len(x["enc"]) for x in self.new)
        all_e = np.concatenate([c for _, c in new_lines]) if new_lines else np.zeros(0, np.int64)
        if len(all_e) == 0:
            return
        pric = price_for(ctx, np.full(len(all_e), hb), self.rank[all_e], np.zeros(len(all_e), bool),
                         np.zeros(len(all_e), bool), self.year, self.rng)
        sec = enc["bsec"][all_e] + (enc["esec"][all_e] - enc["bsec"][all_e]) // 2
        new = lines_of(all_e, np.full(len(all_e), hb), np.zeros(len(all_e), np.int64), sec, pric,
                       np.full(len(all_e), 10_000))
        self.new.append(new)
        # label the person's 5th and later HbA1c lines of the year
        for p, _ in new_lines:
            old = np.nonzero((L["item"] == hb) & (enc["psn"][L["enc"]] == p))[0]
            newi = np.nonzero(enc["psn"][new["enc"]] == p)[0]
            t = np.r_[enc["beg"][L["enc"][old]] * 86_400 + L["sec"][old],
                      enc["beg"][new["enc"][newi]] * 86_400 + new["sec"][newi]]
            ids = np.r_[old, base + newi]
            order = np.argsort(t, kind="stable")
            for j in ids[order][4:]:
                self.labels.append({"line": int(j), "pattern": "over_testing_hba1c",
                                    "detail": "同一参保人一年内第5次及以上糖化血红蛋白测定"})
        self.used[all_e] = True

    def _trace(self, rate):
        L, enc, a = self.L, self.enc, self.a
        ph = np.nonzero((enc["mt"][L["enc"]] == MT_PHARM) & (a["kind"][L["item"]] <= 1)
                        & ((enc["flags"][L["enc"]] & INJECTED) == 0))[0]
        if len(ph) < 10:
            return
        t = enc["beg"][L["enc"][ph]] * 86_400 + L["sec"][ph]
        ph = ph[np.argsort(t, kind="stable")]
        dst_pos = np.nonzero(self.rng.random(len(ph)) < rate)[0]
        dst_pos = dst_pos[dst_pos > 0]
        used_src: set[int] = set()
        items = L["item"][ph]
        for pos in dst_pos:
            same = np.nonzero(items[:pos] == items[pos])[0]
            if len(same) == 0:
                continue
            src = int(ph[same[int(self.rng.integers(0, len(same)))]])
            dst = int(ph[pos])
            if L["enc"][src] == L["enc"][dst] or src in used_src or dst in used_src:
                continue
            if enc["beg"][L["enc"][src]] * 86_400 + L["sec"][src] >= enc["beg"][L["enc"][dst]] * 86_400 + L["sec"][dst]:
                continue
            used_src.update((src, dst))
            self.trace_dups.append((dst, src))
            one_box = int(round_half_up_fen(L["pric"][dst:dst + 1], np.array([10_000]))[0])
            self.labels.append({"line": dst, "pattern": "trace_code_resale", "amount": one_box,
                                "detail": "追溯码已在此前的销售中使用"})
