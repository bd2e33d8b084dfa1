"""Fee lines (费用明细) of normal care, and the sanitiser that keeps normal care inside the rules."""

from __future__ import annotations

import numpy as np

from . import refdata
from ._util import age_years
from .care import (
    F_COMPLIC,
    F_HBA1C,
    F_PHANTOM,
    F_UPCODE,
    MT_ER,
    MT_IP,
    MT_PHARM,
    cat_lines,
    expand,
    lines_of,
    pool_sample,
    price_for,
    slot_sample,
)
from .model import Context

INFECTION_GROUPS = {"abx", "abx_iv", "uri", "cough", "copd", "uro", "ped", "surg"}
OXYGEN_GROUPS = {"copd", "asthma", "abx", "hf", "chd", "stroke", "abx_iv"}


class LineBuilder:
    def __init__(self, ctx: Context, enc: dict[str, np.ndarray], year: int, rng):
        self.ctx, self.enc, self.year, self.rng = ctx, enc, year, rng
        self.cat = ctx.cat
        self.rank = ctx.region.inst_rank[enc["inst"]].astype(np.int64)
        self.pharm = enc["mt"] == MT_PHARM
        self.parts: list[dict[str, np.ndarray]] = []
        self.procs: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []  # enc, proc, srt, day
        self.item = {n: self.cat.item(n) for n in (
            "一般诊疗费", "门诊诊查费", "急诊诊查费", "门/急诊留观诊查费", "主任医师诊查费", "副主任医师诊查费",
            "普通门诊挂号费", "住院诊查费", "床位费", "床位费(双人间)", "二级护理", "一级护理", "新生儿护理", "三级护理",
            "静脉输液费", "静脉输液(连续输液第二组起)", "小儿头皮静脉输液", "一次性输液器", "氧气吸入",
            "糖化血红蛋白测定", "葡萄糖测定", "常规心电图检查(十二导)", "血脂四项", "全身麻醉", "椎管内麻醉",
            "局部浸润麻醉", "麻醉中监测", "术后镇痛", "血细胞分析(五分类)", "会阴侧切缝合术", "清创缝合(小)")}

    # -- helpers ---------------------------------------------------------------------------------
    def add(self, enc_idx, item, day, cnt_e4, per_unit=False, sec=None):
        enc_idx = np.asarray(enc_idx, np.int64)
        item = np.asarray(item, np.int64)
        ok = item >= 0
        enc_idx, item = enc_idx[ok], item[ok]
        day = np.broadcast_to(np.asarray(day, np.int64), ok.shape)[ok]
        cnt_e4 = np.broadcast_to(np.asarray(cnt_e4, np.int64), ok.shape)[ok]
        if len(enc_idx) == 0:
            return
        pu = np.broadcast_to(np.asarray(per_unit, bool), ok.shape)[ok]
        pric = price_for(self.ctx, item, self.rank[enc_idx], self.pharm[enc_idx], pu, self.year, self.rng)
        if sec is None:
            sec = self.line_sec(enc_idx, day)
        else:
            sec = np.broadcast_to(np.asarray(sec, np.int64), ok.shape)[ok]
        self.parts.append(lines_of(enc_idx, item, day, sec, pric, cnt_e4))

    def line_sec(self, e, day):
        bsec, esec = self.enc["bsec"][e], self.enc["esec"][e]
        ip = self.enc["mt"][e] == MT_IP
        r = self.rng.random(len(e))
        sec_op = bsec + (r * np.maximum(esec - bsec, 1)).astype(np.int64)
        lo = np.where(day == 0, bsec, 7 * 3600)
        sec_ip = lo + (r * np.maximum(86_399 - lo, 1)).astype(np.int64)
        return np.where(ip, sec_ip, sec_op)

    def drug_groups(self):
        d = refdata.diseases()
        groups = sorted(set(d.drug_grp) | {"fluid", "abx_iv", "surg", "htn", "dm", "herb"})
        return groups, np.array([groups.index(g) for g in d.drug_grp])

    # -- outpatient ------------------------------------------------------------------------------
    def outpatient(self):
        enc, rng, rank, it = self.enc, self.rng, self.rank, self.item
        d = refdata.diseases()
        op = np.nonzero(np.isin(enc["mt"], [0, 1, 2]))[0]
        r = rank[op]
        er = enc["mt"][op] == MT_ER
        # consultation fee
        fee = np.where(r <= 2, it["一般诊疗费"], it["门诊诊查费"])
        senior = (r == 5) & (rng.random(len(op)) < 0.2)
        fee = np.where(senior, np.where(rng.random(len(op)) < 0.5, it["主任医师诊查费"], it["副主任医师诊查费"]), fee)
        fee = np.where(er, it["急诊诊查费"], fee)
        self.add(op, fee, 0, 10_000)
        hosp = op[r >= 3]
        self.add(hosp, np.full(len(hosp), it["普通门诊挂号费"]), 0, 10_000)
        obs = op[er & (rng.random(len(op)) < 0.3)]
        self.add(obs, np.full(len(obs), it["门/急诊留观诊查费"]), 0, 10_000)
        # tests
        p_test = np.array([0, 0.10, 0.30, 0.40, 0.55, 0.65])[r]
        n_test = np.where(rng.random(len(op)) < p_test, rng.integers(1, 4, len(op)), 0)
        own, _ = expand(n_test)
        keys = sorted(refdata.TEST_POOLS)
        kidx = np.array([keys.index(g) for g in d.test_grp])[enc["dis"][op[own]]]
        items = slot_sample(self.ctx, refdata.TEST_POOLS, keys, kidx, rng.random(len(own)), rng.random(len(own)))
        self.add(op[own], items, 0, 10_000)
        # HbA1c and glucose on diabetes follow-up visits
        hb = op[(enc["flags"][op] & F_HBA1C) > 0]
        self.add(hb, np.full(len(hb), it["糖化血红蛋白测定"]), 0, 10_000)
        dm_visit = op[(enc["dis"][op] == d.index("E11.900")) & (rng.random(len(op)) < 0.5) & (enc["mt"][op] == 2)]
        self.add(dm_visit, np.full(len(dm_visit), it["葡萄糖测定"]), 0, 10_000)
        htn_visit = op[(enc["dis"][op] == d.index("I10.x00x002")) & (rng.random(len(op)) < 0.1) & (rank[op] >= 3)]
        self.add(htn_visit, np.full(len(htn_visit), it["常规心电图检查(十二导)"]), 0, 10_000)
        # drugs (boxes)
        groups, dgi = self.drug_groups()
        chronic = enc["mt"][op] == 2
        n_drug = np.where(chronic, rng.integers(1, 4, len(op)), np.minimum(1 + rng.poisson(1.2, len(op)), 5))
        n_drug = np.where(rng.random(len(op)) < 0.1, 0, n_drug)
        own, _ = expand(n_drug)
        gi = dgi[enc["dis"][op[own]]]
        items = pool_sample(self.ctx, groups, gi, rng.random(len(own)))
        self.add(op[own], items, 0, rng.integers(1, 4, len(own)) * 10_000)
        # infusion at primary care for acute infections
        inf_ok = np.isin(np.array(d.drug_grp)[enc["dis"][op]], list(INFECTION_GROUPS)) & (r <= 3) & ~chronic
        inf = op[inf_ok & (rng.random(len(op)) < 0.15)]
        child = age_years(self.ctx.pop.brdy[enc["psn"][inf]], enc["beg"][inf]) < 6
        self.add(inf, np.where(child, it["小儿头皮静脉输液"], it["静脉输液费"]), 0, 10_000)
        self.add(inf, np.full(len(inf), it["一次性输液器"]), 0, 10_000)
        self.add(inf, pool_sample(self.ctx, ["fluid"], np.zeros(len(inf), np.int64), rng.random(len(inf)) * 0.3), 0, 10_000, True)
        self.add(inf, pool_sample(self.ctx, ["abx_iv"], np.zeros(len(inf), np.int64), rng.random(len(inf))), 0,
                 rng.integers(1, 3, len(inf)) * 10_000, True)
        # herbal prescriptions at hospitals
        herb = op[(r >= 3) & (rng.random(len(op)) < 0.05) & ~er]
        n_h = rng.integers(6, 13, len(herb))
        own, _ = expand(n_h)
        items = pool_sample(self.ctx, ["herb"], np.zeros(len(own), np.int64), rng.random(len(own)))
        grams = rng.integers(6, 31, len(own)) * rng.choice([5, 7, 14], len(own))
        self.add(herb[own], items, 0, grams * 10_000)
        # outpatient minor surgery (wound suturing, abscess drainage)
        for code in ("86.5900", "86.0400"):
            pi = self.ctx.proc_code.index(code)
            has = np.array([pi in self.ctx.dis_procs[x] for x in range(len(d))])[enc["dis"][op]]
            sel = op[has & (r >= 2) & (rng.random(len(op)) < 0.6)]
            grp = refdata.PROCEDURES[code][1]
            self.add(sel, pool_sample(self.ctx, [grp], np.zeros(len(sel), np.int64), rng.random(len(sel))), 0, 10_000)
            self.add(sel, np.full(len(sel), it["局部浸润麻醉"]), 0, 10_000)
            for g in refdata.PROCEDURES[code][2]:
                self.add(sel, pool_sample(self.ctx, [g], np.zeros(len(sel), np.int64), rng.random(len(sel))), 0, 10_000)
            self.procs.append((sel, np.full(len(sel), pi), np.ones(len(sel), np.int64), np.zeros(len(sel), np.int64)))

    # -- pharmacy --------------------------------------------------------------------------------
    def pharmacy(self):
        enc, rng = self.enc, self.rng
        ph = np.nonzero(enc["mt"] == MT_PHARM)[0]
        groups, dgi = self.drug_groups()
        # retail pools: oral drugs and patent medicines only
        a = self.cat.arrays
        retail = {g: self.cat.pool(g)[~a["iv"][self.cat.pool(g)] & np.isin(a["kind"][self.cat.pool(g)], [0, 1])]
                  for g in groups}
        fallback = retail["uri"]
        n = rng.integers(1, 4, len(ph))
        own, _ = expand(n)
        gi = dgi[enc["dis"][ph[own]]]
        u = rng.random(len(own))
        items = np.empty(len(own), np.int64)
        for g_i, g in enumerate(groups):
            sel = gi == g_i
            pool = retail[g] if len(retail[g]) else fallback
            items[sel] = pool[np.floor(u[sel] * len(pool)).astype(np.int64)]
        self.add(ph[own], items, 0, rng.integers(1, 4, len(own)) * 10_000)

    # -- inpatient -------------------------------------------------------------------------------
    def inpatient(self):
        enc, rng, it, cat = self.enc, self.rng, self.item, self.cat
        d = refdata.diseases()
        ip = np.nonzero(enc["mt"] == MT_IP)[0]
        los = np.maximum(enc["los"][ip], 1)
        r = self.rank[ip]
        age = age_years(self.ctx.pop.brdy[enc["psn"][ip]], enc["beg"][ip])
        cost = d.cost[enc["dis"][ip]]
        # daily bed, nursing and ward round
        own, day = expand(los)
        e = ip[own]
        bed = np.where((r[own] == 5) & (enc["psn"][e] % 5 == 0), it["床位费(双人间)"], it["床位费"])
        self.add(e, bed, day, 10_000)
        nurse = np.where(age[own] == 0, it["新生儿护理"],
                         np.where((age[own] >= 75) | (cost[own] > 15000), it["一级护理"], it["二级护理"]))
        self.add(e, nurse, day, 10_000)
        self.add(e, np.full(len(e), it["住院诊查费"]), day, 10_000)
        # drug regimen: each drug runs on a block of consecutive days
        groups, dgi = self.drug_groups()
        grp_of = np.array(d.drug_grp)[enc["dis"][ip]]
        intensity = np.array([1.0, 1.0, 0.8, 0.9, 1.2, 1.8])[r]
        n_dis = np.clip(np.round((2 + cost / los / 250) * intensity), 2, 8).astype(np.int64)
        n_fluid = rng.integers(1, 3, len(ip))
        n_abx = np.isin(grp_of, list(INFECTION_GROUPS)) | (np.array([len(self.ctx.dis_procs[x]) > 0 for x in enc["dis"][ip]]))
        n_reg = n_dis + n_fluid + n_abx
        own, k = expand(n_reg)
        e = ip[own]
        gsel = np.where(k < n_dis[own], dgi[enc["dis"][e]],
                        np.where(k < n_dis[own] + n_fluid[own], groups.index("fluid"), groups.index("abx_iv")))
        items = pool_sample(self.ctx, groups, gsel, rng.random(len(own)))
        L = los[own]
        start = np.floor(rng.random(len(own)) * L * 0.5).astype(np.int64)
        dur = np.maximum(1, np.round((L - start) * rng.uniform(0.5, 1.0, len(own)))).astype(np.int64)
        iv = cat.arrays["iv"][np.maximum(items, 0)]
        per_day = np.where(iv, rng.integers(1, 4, len(own)) * np.where(r[own] >= 5, 2, 1), rng.integers(1, 4, len(own)))
        herb = cat.arrays["kind"][np.maximum(items, 0)] == 2
        per_day = np.where(herb, rng.integers(6, 20, len(own)), per_day)
        valid = items >= 0
        _, dd = expand(np.where(valid, dur, 0))
        src = np.nonzero(valid)[0]
        src = np.repeat(src, dur[valid])
        self.add(e[src], items[src], start[src] + dd, per_day[src] * 10_000, True)
        # infusion fees: per day, first group + further groups + giving sets
        ivs = src[iv[src]]
        if len(ivs):
            day_iv = (start[src] + dd)[iv[src]]
            enc_iv = e[src][iv[src]]
            key = enc_iv * 1000 + day_iv
            uk, cnt = np.unique(key, return_counts=True)
            ue, ud = uk // 1000, uk % 1000
            self.add(ue, np.full(len(ue), it["静脉输液费"]), ud, 10_000)
            more = cnt > 1
            self.add(ue[more], np.full(more.sum(), it["静脉输液(连续输液第二组起)"]), ud[more], (cnt[more] - 1) * 10_000)
            self.add(ue, np.full(len(ue), it["一次性输液器"]), ud, np.minimum(cnt, 3) * 10_000)
        # tests: admission panel, disease-specific tests, a follow-up
        panel = [cat.pool("cbc5")[0], cat.pool("ua")[0]] + [cat.pool(g)[0] for g in ("lft", "rft", "lytes", "coag", "ecg")]
        n_p = len(panel)
        own, k = expand(np.full(len(ip), n_p))
        take_it = rng.random(len(own)) < 0.85
        self.add(ip[own][take_it], np.array(panel)[k][take_it], 0, 10_000)
        keys = sorted(refdata.TEST_POOLS)
        n_t = rng.integers(1, 4, len(ip)) + (r >= 4) * rng.integers(0, 3, len(ip))
        own, _ = expand(n_t)
        kidx = np.array([keys.index(g) for g in d.test_grp])[enc["dis"][ip[own]]]
        items = slot_sample(self.ctx, refdata.TEST_POOLS, keys, kidx, rng.random(len(own)), rng.random(len(own)))
        self.add(ip[own], items, np.minimum(rng.integers(0, 2, len(own)), los[own] - 1), 10_000)
        # follow-up panels every third day: blood count and two of the admission tests
        n_fu = (los - 1) // 3
        own, k = expand(n_fu)
        self.add(ip[own], np.full(len(own), it["血细胞分析(五分类)"]), 3 + 3 * k, 10_000)
        own2, k2 = expand(n_fu * 2)
        pick = np.array(panel[2:])[rng.integers(0, n_p - 2, len(own2))]
        self.add(ip[own2], pick, 3 + 3 * (k2 // 2), 10_000)
        # oxygen for respiratory and cardiovascular stays: hours, in halves
        ox = np.isin(grp_of, list(OXYGEN_GROUPS)) & (rng.random(len(ip)) < 0.6)
        n_ox = np.where(ox, np.minimum(los, rng.integers(1, 6, len(ip))), 0)
        own, k = expand(n_ox)
        self.add(ip[own], np.full(len(own), it["氧气吸入"]), k, rng.integers(4, 49, len(own)) * 5_000)
        # daily nursing treatments and monitoring by the kind of illness
        self.treatments(ip, los, grp_of, rng)
        # procedures
        self.surgery(ip, los, rng)
        # evidence of coded complications
        comp = np.nonzero((enc["flags"][ip] & F_COMPLIC) > 0)[0]
        for j in comp:
            e_i = ip[j]
            pool = cat.evidence[self.ctx.dx_code[enc["extra"][e_i]]]
            pool = pool[cat.arrays["minlv"][pool] <= self.rank[e_i]]
            if len(pool) == 0:
                continue
            m = int(rng.integers(1, 3))
            its = pool[rng.integers(0, len(pool), m)]
            days = rng.integers(0, los[j], m)
            self.add(np.full(m, e_i), its, days, 10_000, True)

    def treatments(self, ip, los, grp_of, rng):
        """Monitoring and treatment items billed on the first days of a stay (hours or times a day)."""
        plan = (
            ({"chd", "hf", "anticoag", "stroke", "htn"}, "ecg_mon", (12, 25), 10_000, 3),
            ({"chd", "hf", "anticoag", "stroke", "copd"}, "spo2", (12, 25), 10_000, 3),
            ({"hf", "chd"}, "pump", (4, 13), 5_000, 3),
            ({"dm", "insulin"}, "glucose_bedside", (3, 5), 10_000, 30),
            ({"abx", "copd", "asthma", "cough", "uri", "ped"}, "neb", (1, 3), 10_000, 7),
            ({"ortho", "pain", "stroke"}, "physio", (1, 3), 10_000, 30),
            ({"stroke"}, "rehab", (1, 2), 10_000, 30),
            ({"abx_iv", "surg", "onc", "liver", "renal"}, "iv_push", (1, 3), 10_000, 5),
        )
        for groups, slot, (lo, hi), unit, max_days in plan:
            sel = np.isin(grp_of, list(groups)) & (rng.random(len(ip)) < 0.8)
            n = np.where(sel, np.minimum(los, rng.integers(1, max_days + 1, len(ip))), 0)
            own, day = expand(n)
            pool = self.cat.pool(slot)
            items = pool[rng.integers(0, len(pool), len(own))]
            self.add(ip[own], items, day, rng.integers(lo, hi, len(own)) * unit)
        # post-operative dressing every other day and blood draws at the larger hospitals
        has_op = np.array([len(self.ctx.dis_procs[x]) > 0 for x in self.enc["dis"][ip]])
        n = np.where(has_op, (los - 1) // 2, 0)
        own, k = expand(n)
        self.add(ip[own], np.full(len(own), self.cat.pool("dressing")[0]), 2 + 2 * k, 10_000)
        n = np.where(self.rank[ip] >= 3, np.minimum(los, 3), 0)
        own, k = expand(n)
        self.add(ip[own], np.full(len(own), self.cat.pool("blood_draw")[0]), k, 10_000)

    def surgery(self, ip, los, rng):
        enc, it, cat = self.enc, self.item, self.cat
        procs = [self.ctx.dis_procs[x] for x in enc["dis"][ip]]
        has = np.array([len(p) > 0 for p in procs]) & (rng.random(len(ip)) < 0.85)
        for j in np.nonzero(has)[0]:
            e_i = ip[j]
            L = int(los[j])
            pcs = procs[j]
            code = self.ctx.proc_code[pcs[0]]
            _, grp, cons, anaes = refdata.PROCEDURES[code]
            op_day = 1 if L >= 3 else 0
            if code in ("92.2400", "39.9500", "99.2500"):
                step = {"92.2400": 1, "39.9500": 2, "99.2500": 2}[code]
                days = np.arange(min(1, L - 1), L, step)
                self.add(np.full(len(days), e_i), np.full(len(days), cat.pool(grp)[0]), days, 10_000)
                if code == "99.2500":
                    onc = cat.pool("onc")
                    m = int(rng.integers(1, 3))
                    self.add(np.full(len(days) * m, e_i), np.tile(onc[rng.integers(0, len(onc), m)], len(days)),
                             np.repeat(days, m), 10_000, True)
                if code == "39.9500":
                    for g in cons:
                        self.add(np.full(len(days), e_i), np.full(len(days), cat.pool(g)[0]), days, 10_000)
                self.procs.append((np.full(1, e_i), np.array([pcs[0]]), np.ones(1, np.int64), np.array([days[0] if len(days) else 0])))
                continue
            for k, pc in enumerate(pcs):
                g = refdata.PROCEDURES[self.ctx.proc_code[pc]][1]
                if g:
                    pool = cat.pool(g)
                    self.add(np.full(1, e_i), pool[rng.integers(0, len(pool), 1)], op_day, 10_000)
            if code == "73.5900" and rng.random() < 0.5:
                self.add(np.full(1, e_i), np.full(1, it["会阴侧切缝合术"]), op_day, 10_000)
            for g in cons:
                pool = cat.pool(g)
                n = int(rng.integers(2, 7)) if g == "screw" else 1
                self.add(np.full(1, e_i), pool[rng.integers(0, len(pool), 1)], op_day, n * 10_000)
            if anaes == "ga":
                self.add(np.full(3, e_i), np.array([it["全身麻醉"], it["麻醉中监测"], cat.pool("surg")[0]]), op_day,
                         np.array([10_000, int(rng.integers(2, 5)) * 10_000, 10_000]))
                if rng.random() < 0.5:
                    self.add(np.full(1, e_i), np.full(1, it["术后镇痛"]), op_day, 10_000)
            elif anaes == "spinal":
                self.add(np.full(2, e_i), np.array([it["椎管内麻醉"], it["麻醉中监测"]]), op_day,
                         np.array([10_000, int(rng.integers(1, 4)) * 10_000]))
            elif anaes == "la":
                self.add(np.full(1, e_i), np.full(1, it["局部浸润麻醉"]), op_day, 10_000)
            n = len(pcs)
            self.procs.append((np.full(n, e_i), np.array(pcs), np.arange(1, n + 1), np.full(n, op_day)))

    def build(self) -> dict[str, np.ndarray]:
        self.outpatient()
        self.pharmacy()
        self.inpatient()
        return cat_lines(self.parts)


def procedures_of(builder: LineBuilder):
    if not builder.procs:
        z = np.zeros(0, np.int64)
        return z, z, z, z
    return tuple(np.concatenate([p[k] for p in builder.procs]) for k in range(4))


# ------------------------------------------------------------------------------------------------
# sanitiser: normal care never breaks a rule of the audit knowledge


def sanitise(ctx: Context, enc: dict[str, np.ndarray], L: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    cat, a = ctx.cat, ctx.cat.arrays
    item = L["item"]
    e = L["enc"]
    keep = np.ones(len(item), bool)
    psn = enc["psn"][e]
    rank = ctx.region.inst_rank[enc["inst"][e]].astype(np.int64)
    # level: replace by the fallback item when there is one, else drop
    bad = (a["minlv"][item] > rank)
    fb = a["fallback"][item]
    swap = bad & (fb >= 0) & (a["minlv"][np.maximum(fb, 0)] <= rank)
    item = np.where(swap, fb, item)
    L["item"] = item
    if swap.any():
        sw = np.nonzero(swap)[0]
        L["pric"][sw] = price_for(ctx, item[sw], rank[sw], np.zeros(len(sw), bool), np.zeros(len(sw), bool),
                                  ctx.years[0], np.random.default_rng(0))
    keep &= ~(bad & ~swap)
    # gender
    sx = a["sex"][item]
    keep &= (sx == 0) | (sx == ctx.pop.sex[psn])
    # age (completed years at the encounter's begntime)
    age = age_years(ctx.pop.brdy[psn], enc["beg"][e])
    keep &= (a["amin"][item] < 0) | (age >= a["amin"][item])
    keep &= (a["amax"][item] < 0) | (age <= a["amax"][item])
    # indication: a restricted drug needs a diagnosis of the encounter with an allowed prefix
    lmt = a["lmt"][item]
    if lmt.any():
        idx = np.nonzero(lmt)[0]
        slot = ctx.lmt_slot[item[idx]]
        dxs = np.concatenate([enc["dis"][e[idx]][:, None], enc["dx"][e[idx]]], axis=1)
        ok = np.zeros(len(idx), bool)
        for c in range(dxs.shape[1]):
            col = dxs[:, c]
            ok |= (col >= 0) & ctx.allowed[np.maximum(col, 0), slot]
        keep[idx[~ok]] = False
    L = {k: v[keep] for k, v in L.items()}
    # exclusive pairs and consumables included in an item: drop the second / the consumable
    L = _drop_pairs(ctx, L, [(x, y, s) for x, y, s in cat.exclusive])
    L = _drop_pairs(ctx, L, [(x, y, "encounter") for x, y in cat.included])
    # frequency: one line per (encounter, day, item) for items with a daily limit, one per encounter
    # for items with a per-visit limit, quantities clipped to the limit
    L = _dedupe(L, a["maxday"][L["item"]] > 0, by_day=True)
    L = _dedupe(L, a["maxvisit"][L["item"]] > 0, by_day=False)
    lim_d = a["maxday"][L["item"]]
    lim_v = a["maxvisit"][L["item"]]
    lim = np.where(lim_d > 0, lim_d, np.where(lim_v > 0, lim_v, 0)).astype(np.int64) * 10_000
    L["cnt"] = np.where(lim > 0, np.minimum(L["cnt"], lim), L["cnt"])
    # per-year limits (HbA1c 4 a year): keep the first ones of the person's year
    yl = a["maxyear"][L["item"]]
    if (yl > 0).any():
        idx = np.nonzero(yl > 0)[0]
        p = enc["psn"][L["enc"][idx]]
        t = (enc["beg"][L["enc"][idx]] + L["day"][idx]) * 86_400 + L["sec"][idx]
        o = np.lexsort((t, L["item"][idx], p))
        idx = idx[o]
        key = enc["psn"][L["enc"][idx]] * 100_000 + L["item"][idx]
        first = np.r_[True, key[1:] != key[:-1]]
        gs = np.maximum.accumulate(np.where(first, np.arange(len(idx)), 0))
        rk = np.arange(len(idx)) - gs
        drop = idx[rk >= yl[idx]]
        keep = np.ones(len(L["item"]), bool)
        keep[drop] = False
        L = {k: v[keep] for k, v in L.items()}
    # a coded complication must leave a trace; an upcoded one must not
    L = _complications(ctx, enc, L)
    # phantom days: strip everything but bed and nursing on the chosen days
    ph = (enc["flags"][L["enc"]] & F_PHANTOM) > 0
    if ph.any():
        lo = enc["ph_lo"][L["enc"]]
        hi = enc["ph_hi"][L["enc"]]
        inside = ph & (L["day"] >= lo) & (L["day"] < hi)
        ct = a["chrg_type"][L["item"]]
        drop = inside & ~np.isin(ct, [1, 7])
        L = {k: v[~drop] for k, v in L.items()}
    return L


def _drop_pairs(ctx, L, pairs):
    if not len(L["item"]):
        return L
    drop = np.zeros(len(L["item"]), bool)
    for x, y, scope in pairs:
        ys = np.nonzero(L["item"] == y)[0]
        if len(ys) == 0:
            continue
        xs = L["item"] == x
        if scope == "day":
            have = np.unique(L["enc"][xs] * 1000 + L["day"][xs])
            drop[ys] |= np.isin(L["enc"][ys] * 1000 + L["day"][ys], have)
        else:
            have = np.unique(L["enc"][xs])
            drop[ys] |= np.isin(L["enc"][ys], have)
    return {k: v[~drop] for k, v in L.items()}


def _dedupe(L, limited, by_day):
    idx = np.nonzero(limited)[0]
    if len(idx) == 0:
        return L
    key = (L["enc"][idx] * 1000 + (L["day"][idx] if by_day else 0)) * 10_000 + L["item"][idx]
    o = np.lexsort((L["sec"][idx], key))
    _, first = np.unique(key[o], return_index=True)
    keep_idx = idx[o][first]
    keep = ~limited
    keep[keep_idx] = True
    return {k: v[keep] for k, v in L.items()}


def _complications(ctx, enc, L):
    cat = ctx.cat
    flags = enc["flags"]
    comp = np.nonzero((flags & (F_COMPLIC | F_UPCODE)) > 0)[0]
    if len(comp) == 0:
        return L
    drop = np.zeros(len(L["item"]), bool)
    for e_i in comp:
        code = ctx.dx_code[enc["extra"][e_i]]
        ev = cat.evidence[code]
        if flags[e_i] & F_UPCODE:
            drop |= (L["enc"] == e_i) & np.isin(L["item"], ev)
    L = {k: v[~drop] for k, v in L.items()}
    # normal complications whose evidence did not survive: drop the complication diagnosis
    normal = comp[(flags[comp] & F_COMPLIC) > 0]
    if len(normal):
        present = np.zeros(len(enc["psn"]), bool)
        # vectorised presence check
        ev_lines = np.zeros(len(L["item"]), bool)
        comp_code = enc["extra"][L["enc"]]
        for code_idx in np.unique(enc["extra"][normal]):
            ev = cat.evidence[ctx.dx_code[code_idx]]
            ev_lines |= (comp_code == code_idx) & np.isin(L["item"], ev)
        present[np.unique(L["enc"][ev_lines])] = True
        missing = normal[~present[normal]]
        for e_i in missing:
            row = enc["dx"][e_i]
            row[row == enc["extra"][e_i]] = -1
            enc["dx"][e_i] = np.r_[row[row >= 0], row[row < 0]]
            enc["flags"][e_i] &= ~F_COMPLIC
            enc["extra"][e_i] = -1
    return L
