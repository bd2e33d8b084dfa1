"""Normal care: who is seen where and when, what is diagnosed, and what is billed.

Everything is vectorised over a chunk of persons. Encounters and lines are dicts of NumPy arrays
(struct of arrays); :mod:`yibao.synth.tables` turns them into Arrow tables at the end.
"""

from __future__ import annotations

import numpy as np

from . import refdata
from ._util import age_years, year_bounds
from .model import AGE_EDGES, MT_CHRONIC, MT_ER, MT_IP, MT_OP, MT_PHARM, Context
from .population import NEVER

# encounter flags
F_PHANTOM, F_UPCODE, F_COMPLIC, F_THIRD, F_INJURY, F_TERMINAL, F_HBA1C, F_SPLIT, F_LONG, F_DEAD, F_TWO = (
    1 << k for k in range(11))
NDX = 4  # secondary diagnosis columns per encounter

ENC_KEYS = ("psn", "inst", "mt", "beg", "end", "bsec", "esec", "dis", "ext", "relttp", "dway", "dept",
            "flags", "los", "label", "extra", "ph_lo", "ph_hi", "gap")
LINE_KEYS = ("enc", "item", "day", "sec", "pric", "cnt", "refund_of", "label")


def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For counts c_i: (owner index repeated c_i times, position 0..c_i-1 within the owner)."""
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    pos = np.arange(owner.size) - np.repeat(starts, counts)
    return owner, pos


def empty_enc(n: int = 0) -> dict[str, np.ndarray]:
    e = {k: np.zeros(n, dtype=np.int64) for k in ENC_KEYS}
    e["dx"] = np.full((n, NDX), -1, dtype=np.int64)
    e["label"][:] = -1
    e["ext"][:] = -1
    e["extra"][:] = -1
    return e


def cat_enc(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def take(d: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[idx] for k, v in d.items()}


def lines_of(enc, item, day, sec, pric, cnt) -> dict[str, np.ndarray]:
    n = len(enc)
    return {"enc": np.asarray(enc, np.int64), "item": np.asarray(item, np.int64), "day": np.asarray(day, np.int64),
            "sec": np.asarray(sec, np.int64), "pric": np.asarray(pric, np.int64), "cnt": np.asarray(cnt, np.int64),
            "refund_of": np.full(n, -1, np.int64), "label": np.full(n, -1, np.int64)}


def cat_lines(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    parts = [p for p in parts if len(p["enc"])]
    if not parts:
        return lines_of([], [], [], [], [], [])
    return {k: np.concatenate([p[k] for p in parts]) for k in LINE_KEYS}


# --------------------------------------------------------------------------------------------
# sampling helpers


def sample_disease(ctx: Context, cdf: np.ndarray, age: np.ndarray, sex: np.ndarray, u: np.ndarray) -> np.ndarray:
    band = np.clip(np.searchsorted(AGE_EDGES, age, side="right") - 1, 0, len(AGE_EDGES) - 2)
    cell = band * 2 + (sex - 1)
    flat = (cdf.reshape(-1, cdf.shape[2]) + np.arange(cdf.shape[0] * 2)[:, None]).ravel()
    idx = np.searchsorted(flat, cell + np.minimum(u, 1 - 1e-12), side="right")
    return np.clip(idx - cell * cdf.shape[2], 0, cdf.shape[2] - 1)


def pick_inst(ctx: Context, county: np.ndarray, rank: np.ndarray, pref: np.ndarray, rng) -> np.ndarray:
    """An institution of the given rank in the person's county (level 3: in the city district)."""
    out = np.full(len(county), -1, dtype=np.int64)
    city = int(np.nonzero(ctx.region.is_city)[0][0])
    stick = rng.random(len(county)) < 0.8
    choice = np.where(stick, pref, rng.integers(0, 1 << 30, len(county)))
    for r in range(6):
        for c in range(len(ctx.region.admdvs)):
            sel = (rank == r) & (county == c)
            if not sel.any():
                continue
            lst = ctx.inst_lists[(r, c)]
            if r == 5 or len(lst) == 0:
                lst = ctx.inst_lists[(r, city)]
            if len(lst) == 0:
                continue
            out[sel] = lst[choice[sel] % len(lst)]
    return out


def pool_sample(ctx: Context, groups: list[str], gidx: np.ndarray, u: np.ndarray) -> np.ndarray:
    """An item from the catalogue pool named groups[gidx] (uniform within the pool); -1 if empty."""
    sizes = np.array([len(ctx.cat.pool(g)) for g in groups])
    offs = np.concatenate([[0], np.cumsum(sizes)])
    flat = np.concatenate([ctx.cat.pool(g) for g in groups] + [np.zeros(1, np.int32)]).astype(np.int64)
    n = sizes[gidx]
    pos = offs[gidx] + np.floor(u * np.maximum(n, 1)).astype(np.int64)
    return np.where(n > 0, flat[pos], -1)


def slot_sample(ctx: Context, group_slots: dict[str, tuple[str, ...]], keys: list[str], kidx: np.ndarray,
                u1: np.ndarray, u2: np.ndarray) -> np.ndarray:
    """For test groups: first a slot (a service group) uniformly, then an item of that slot."""
    slot_names = sorted({s for k in keys for s in group_slots[k]})
    nslots = np.array([len(group_slots[k]) for k in keys])
    table = np.full((len(keys), max(nslots)), 0, dtype=np.int64)
    for i, k in enumerate(keys):
        for j, s in enumerate(group_slots[k]):
            table[i, j] = slot_names.index(s)
    slot = table[kidx, np.floor(u1 * nslots[kidx]).astype(np.int64)]
    return pool_sample(ctx, slot_names, slot, u2)


# --------------------------------------------------------------------------------------------
# prices


def price_for(ctx: Context, items: np.ndarray, rank: np.ndarray, pharmacy: np.ndarray, per_unit: np.ndarray,
              year: int, rng) -> np.ndarray:
    """Normal unit price in micro-yuan: services by level, goods at catalogue price with yearly growth;
    never above the ceiling."""
    a = ctx.cat.arrays
    base = a["price"][items]
    ceiling = a["ceiling"][items]
    kind = a["kind"][items]
    growth = 1.015 ** (year - ctx.years[0])
    factor_pct = np.array([100, 60, 70, 80, 90, 100])[rank]
    svc = (base * factor_pct // 100) // 10_000 * 10_000
    goods = base * growth
    goods = np.where(pharmacy, goods * rng.uniform(0.92, 1.08, len(items)), goods)
    goods = (np.round(goods / 10_000) * 10_000).astype(np.int64)
    p = np.where(kind == 3, svc, goods)
    p = np.where(ceiling >= 0, np.minimum(p, ceiling), p)
    pack = a["pack"][items]
    unit = np.where(per_unit & (pack > 1), np.round(p / np.maximum(pack, 1)).astype(np.int64), p)
    return np.maximum(unit, 10_000 // 100)  # at least 0.0001 yuan


# --------------------------------------------------------------------------------------------
# schedule: encounters of a chunk of persons in one year


def active_window(ctx: Context, persons: np.ndarray, year: int) -> tuple[np.ndarray, np.ndarray]:
    pop = ctx.pop
    ys, ye = year_bounds(year)
    s = np.maximum.reduce([np.full(len(persons), ys), pop.brdy[persons], pop.insu_date[persons]])
    e = np.minimum.reduce([np.full(len(persons), ye), pop.death[persons], pop.move_out[persons] - 1])
    return s, e


def schedule(ctx: Context, year: int, persons: np.ndarray, rng) -> dict[str, np.ndarray]:
    pop, d = ctx.pop, refdata.diseases()
    ys, ye = year_bounds(year)
    s, e = active_window(ctx, persons, year)
    active = e >= s
    span = np.where(active, e - s + 1, 0)
    frac = span / (ye - ys + 1)
    age = (ys + 182 - pop.brdy[persons]) / 365.2425
    age = np.maximum(age, 0)
    sex = pop.sex[persons].astype(np.int64)
    county = pop.county[persons].astype(np.int64)
    pref = pop.pref[persons]
    growth = 1.02 ** (year - ctx.years[0])
    R = ctx.rates
    parts = []

    # --- acute outpatient visits ---------------------------------------------------------------
    r_op = np.interp(age, [0, 1, 5, 15, 30, 45, 60, 75, 90], [10.0, 8.5, 5.0, 3.0, 3.4, 4.0, 5.0, 6.0, 6.0])
    r_op = r_op * R["outpatient_scale"] * growth * frac
    n_op = rng.poisson(r_op * rng.gamma(1.5, 1 / 1.5, len(persons)))
    own, _ = expand(n_op)
    k = len(own)
    op = empty_enc(k)
    op["psn"] = persons[own]
    op["beg"] = s[own] + np.floor(rng.random(k) * span[own]).astype(np.int64)
    a_at = age_years(pop.brdy[op["psn"]], op["beg"])
    op["dis"] = sample_disease(ctx, ctx.op_cdf, a_at, sex[own], rng.random(k))
    er = rng.random(k) < 0.05
    village_p = np.where(ctx.region.is_city[county[own]], 0.15, 0.27)
    u = rng.random(k)
    rank = np.select([u < village_p, u < village_p + 0.28, u < village_p + 0.40, u < village_p + 0.65], [1, 2, 3, 4], 5)
    rank = np.where(er, np.where(rng.random(k) < 0.6, 4, 5), rank)
    op["inst"] = pick_inst(ctx, county[own], rank, pref[own], rng)
    op["mt"] = np.where(er, MT_ER, MT_OP)
    parts.append(op)

    # --- chronic visits (hypertension / diabetes under regular care) ------------------------
    chronic = active & (pop.htn[persons] | pop.dm[persons])
    interval = np.where(chronic, rng.integers(26, 46, len(persons)), 1)
    phase = np.floor(rng.random(len(persons)) * interval).astype(np.int64)
    n_ch = np.where(chronic & (span > phase), (span - 1 - phase) // interval + 1, 0)
    own, pos = expand(n_ch)
    k = len(own)
    ch = empty_enc(k)
    ch["psn"] = persons[own]
    ch["beg"] = np.clip(s[own] + phase[own] + pos * interval[own] + rng.integers(-3, 4, k), s[own], e[own])
    is_dm = pop.dm[ch["psn"]]
    is_htn = pop.htn[ch["psn"]]
    ch["dis"] = np.where(is_dm & (~is_htn | (pos % 2 == 0)), d.index("E11.900"), d.index("I10.x00x002"))
    both = is_dm & is_htn
    ch["dx"][both, 0] = np.where(ch["dis"][both] == d.index("E11.900"), ctx.dx("I10.x00x002"), ctx.dx("E11.900"))
    crank = np.select([pref[own] % 100 < 50, pref[own] % 100 < 65], [2, 3], 4)
    ch["inst"] = pick_inst(ctx, county[own], crank, pref[own] // 7, rng)
    ch["mt"] = np.where(pop.mtb[ch["psn"]], MT_CHRONIC, MT_OP)
    # HbA1c on the first diabetes visit of each quarter (at most 4 a year), 70 % of the time
    q = (ch["beg"] - ys) // 92
    key = ch["psn"] * 8 + q
    first_q = np.r_[True, key[1:] != key[:-1]] if k else np.zeros(0, bool)
    hb = is_dm & first_q & (rng.random(k) < 0.7) & (ch["dis"] == d.index("E11.900"))
    ch["flags"] |= np.where(hb, F_HBA1C, 0)
    parts.append(ch)

    # --- pharmacy purchases -----------------------------------------------------------------
    r_ph = np.where(age >= 18, 1.4, 0.5) * R["pharmacy_scale"] * growth * frac
    n_ph = rng.poisson(r_ph)
    own, _ = expand(n_ph)
    k = len(own)
    ph = empty_enc(k)
    ph["psn"] = persons[own]
    ph["beg"] = s[own] + np.floor(rng.random(k) * span[own]).astype(np.int64)
    ph["dis"] = sample_disease(ctx, ctx.op_cdf, age_years(pop.brdy[ph["psn"]], ph["beg"]), sex[own], rng.random(k))
    ph["inst"] = pick_inst(ctx, county[own], np.zeros(k, np.int64), pref[own] // 3, rng)
    ph["mt"][:] = MT_PHARM
    parts.append(ph)

    # --- admissions ---------------------------------------------------------------------------
    r_ip = np.interp(age, [0, 1, 5, 15, 20, 30, 45, 60, 70, 80, 90],
                     [0.30, 0.12, 0.05, 0.05, 0.10, 0.11, 0.13, 0.26, 0.38, 0.52, 0.55])
    r_ip = r_ip * R["inpatient_scale"] * growth * frac
    n_ip = np.minimum(rng.poisson(r_ip * rng.gamma(2.0, 0.5, len(persons))), 6)
    own, pos = expand(n_ip)
    k = len(own)
    ip = empty_enc(k)
    ip["psn"] = persons[own]
    ip["beg"] = s[own] + np.floor(rng.random(k) * span[own]).astype(np.int64)
    a_at = age_years(pop.brdy[ip["psn"]], ip["beg"])
    ip["dis"] = sample_disease(ctx, ctx.ip_cdf, a_at, sex[own], rng.random(k))
    u = rng.random(k)
    rank = np.select([u < 0.15, u < 0.25, u < 0.70], [2, 3, 4], 5)
    rank = np.maximum(rank, ctx.dis_minlv[ip["dis"]])
    rank = np.where(np.isin(ip["dis"], [d.index("P59.901"), d.index("P07.300")]), np.maximum(rank, 4), rank)
    ip["inst"] = pick_inst(ctx, county[own], rank, pref[own] // 11, rng)
    lvl = np.array([1.0, 1.0, 0.8, 0.9, 1.0, 1.12])[rank]
    mean_los = np.maximum(d.los[ip["dis"]], 1) * lvl
    ip["los"] = np.clip(np.round(rng.lognormal(np.log(mean_los) - 0.08, 0.42)), 1, 60).astype(np.int64)
    ip["mt"][:] = MT_IP
    ip["dway"] = np.where(rng.random(k) < 0.04, 4, np.where(rng.random(k) < 0.03, 2, 1))
    # terminal admissions of persons dying this year
    dies = active & (pop.death[persons] >= ys) & (pop.death[persons] <= ye) & (rng.random(len(persons)) < 0.45)
    tp = np.nonzero(dies)[0]
    term = empty_enc(len(tp))
    if len(tp):
        term["psn"] = persons[tp]
        term["los"] = np.minimum(rng.integers(1, 21, len(tp)), np.maximum(e[tp] - s[tp], 0))
        term["beg"] = e[tp] - term["los"]
        a_at = age_years(pop.brdy[term["psn"]], term["beg"])
        term["dis"] = sample_disease(ctx, ctx.ip_cdf, a_at, sex[tp], rng.random(len(tp)))
        rank = np.maximum(np.where(rng.random(len(tp)) < 0.5, 4, 5), ctx.dis_minlv[term["dis"]])
        term["inst"] = pick_inst(ctx, county[tp], rank, pref[tp] // 11, rng)
        term["mt"][:] = MT_IP
        term["dway"][:] = 5
        term["flags"][:] = F_TERMINAL
        term = take(term, np.nonzero(term["los"] >= 1)[0])
    adm = place_admissions(ctx, cat_enc([ip, term]), persons, s, e)
    enc = cat_enc([parts[0], parts[1], parts[2], adm])
    enc["end"] = np.where(enc["mt"] == MT_IP, enc["beg"] + enc["los"], enc["beg"])
    return enc


def place_admissions(ctx: Context, adm: dict[str, np.ndarray], persons: np.ndarray, s: np.ndarray,
                     e: np.ndarray) -> dict[str, np.ndarray]:
    """Non-overlapping stays, at least 16 days between a discharge and the next admission."""
    if len(adm["psn"]) == 0:
        return adm
    local = np.searchsorted(persons, adm["psn"])
    terminal = (adm["flags"] & F_TERMINAL) > 0
    order = np.lexsort((terminal, adm["beg"], adm["psn"]))
    adm = take(adm, order)
    local = local[order]
    terminal = terminal[order]
    first = np.r_[True, adm["psn"][1:] != adm["psn"][:-1]]
    grp_start = np.maximum.accumulate(np.where(first, np.arange(len(first)), 0))
    rank = np.arange(len(first)) - grp_start
    for r in range(1, int(rank.max()) + 1):
        idx = np.nonzero((rank == r) & ~terminal)[0]
        prev_end = adm["beg"][idx - 1] + adm["los"][idx - 1]
        adm["beg"][idx] = np.maximum(adm["beg"][idx], prev_end + 16)
    end = adm["beg"] + adm["los"]
    # a person's terminal stay: earlier stays must end 16 days before it starts
    limit = e[local].copy()
    tl = np.nonzero(terminal)[0]
    tstart = np.full(len(persons), NEVER, dtype=np.int64)
    tstart[local[tl]] = adm["beg"][tl]
    limit = np.where(terminal, e[local], np.minimum(limit, tstart[local] - 16))
    keep = (end <= limit) & (adm["beg"] >= s[local])
    return take(adm, np.nonzero(keep)[0])


def drop_inside_stays(enc: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Remove non-inpatient encounters dated on or between a stay's admission and discharge days."""
    ip = np.nonzero(enc["mt"] == MT_IP)[0]
    if len(ip) == 0:
        return enc
    key_ip = enc["psn"][ip] * 100_000 + (enc["beg"][ip] % 100_000)
    o = np.argsort(key_ip, kind="stable")
    key_ip, ip = key_ip[o], ip[o]
    other = np.nonzero(enc["mt"] != MT_IP)[0]
    key = enc["psn"][other] * 100_000 + (enc["beg"][other] % 100_000)
    pos = np.searchsorted(key_ip, key, side="right") - 1
    valid = pos >= 0
    j = ip[np.maximum(pos, 0)]
    inside = valid & (enc["psn"][j] == enc["psn"][other]) & (enc["beg"][other] <= enc["end"][j])
    keep = np.ones(len(enc["psn"]), bool)
    keep[other[inside & ((enc["flags"][other] & F_TWO) == 0)]] = False
    return take(enc, np.nonzero(keep)[0])


def finish_encounters(ctx: Context, enc: dict[str, np.ndarray], rng) -> dict[str, np.ndarray]:
    """Times, departments, secondary diagnoses and external causes."""
    d = refdata.diseases()
    pop = ctx.pop
    n = len(enc["psn"])
    ip = enc["mt"] == MT_IP
    enc["bsec"] = np.where(ip, rng.integers(7 * 3600, 22 * 3600, n), rng.integers(8 * 3600, 17 * 3600, n))
    enc["esec"] = np.where(ip, rng.integers(9 * 3600, 11 * 3600, n), enc["bsec"] + rng.integers(600, 3600, n))
    same_day = ip & (enc["end"] == enc["beg"])
    enc["esec"] = np.where(same_day, np.maximum(enc["esec"], enc["bsec"] + 3600), enc["esec"])
    enc["esec"] = np.minimum(enc["esec"], 86_399)
    rank = ctx.region.inst_rank[enc["inst"]]
    enc["dept"] = np.where(rank <= 2, ctx.dept_codes.index("A02"), ctx.dis_dept[enc["dis"]])
    enc["dept"] = np.where(enc["mt"] == MT_ER, ctx.dept_codes.index("A20"), enc["dept"])
    enc["dept"] = np.where(enc["mt"] == MT_PHARM, ctx.dept_codes.index("D72"), enc["dept"])
    # comorbidities as secondary diagnoses (inpatient and acute outpatient)
    psn = enc["psn"]
    col = (enc["dx"] >= 0).sum(axis=1)
    for code, flag in (("I10.x00x002", pop.htn), ("E11.900", pop.dm)):
        dxi = ctx.dx(code)
        has = flag[psn] & (enc["dis"] != d.index(code)) & (enc["mt"] != MT_PHARM) & (col < NDX)
        has &= ~(enc["dx"] == dxi).any(axis=1)
        has &= ip | (rng.random(n) < 0.3)
        rows = np.nonzero(has)[0]
        enc["dx"][rows, col[rows]] = dxi
        col[rows] += 1
    # chemotherapy / radiotherapy courses code the cancer as a secondary diagnosis
    cancers = np.array([i for i, c in enumerate(d.code) if c.startswith("C")])
    zc = np.isin(enc["dis"], [d.index("Z51.103"), d.index("Z51.000x003")]) & (col < NDX)
    rows = np.nonzero(zc)[0]
    enc["dx"][rows, col[rows]] = cancers[rng.integers(0, len(cancers), len(rows))]
    col[rows] += 1
    # injuries: an accidental external cause, TRUM_FLAG=1, REL_TTP_FLAG=0
    inj = ctx.injury[enc["dis"]] & (enc["mt"] != MT_PHARM)
    enc["flags"] |= np.where(inj, F_INJURY, 0)
    enc["ext"] = np.where(inj, ctx.ext_acc_dx[rng.integers(0, len(ctx.ext_acc_dx), n)], -1)
    # complications with their evidence (normal, only at level 2 and above)
    comp = ip & (rank >= 4) & (rng.random(n) < ctx.rates["complication_rate"]) & (col < NDX)
    comp &= age_years(pop.brdy[psn], enc["beg"]) >= 50
    rows = np.nonzero(comp)[0]
    cd = ctx.complication_dx[rng.integers(0, len(ctx.complication_dx), len(rows))]
    clash = np.array([ctx.dx_code[c][:3] == d.code[p][:3] for c, p in zip(cd, enc["dis"][rows])], dtype=bool)
    rows, cd = rows[~clash], cd[~clash]
    enc["dx"][rows, col[rows]] = cd
    enc["extra"][rows] = cd
    enc["flags"][rows] |= F_COMPLIC
    return enc
