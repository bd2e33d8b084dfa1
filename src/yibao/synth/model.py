"""Shared context of one generation run: lookup tables built once and used by every chunk."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import refdata
from .catalogue import Catalogue
from .population import Population
from .region import Region

MED_TYPES = ("11", "13", "14", "21", "41")
MT_OP, MT_ER, MT_CHRONIC, MT_IP, MT_PHARM = range(5)

# age bands for disease incidence: 0, 1–4, 5–14, 15–19, 20–29, …, 80+
AGE_EDGES = np.array([0, 1, 5, 15, 20, 30, 40, 50, 60, 70, 80, 200])


def _profile_weight(profile: str, mid_age: float, sex: int) -> float:
    a = mid_age
    if profile == "child":
        return float(np.interp(a, [0, 5, 15, 30, 60, 90], [3.0, 2.5, 1.2, 0.6, 0.5, 0.5]))
    if profile == "child_elder":
        return float(np.interp(a, [0, 5, 15, 40, 60, 80], [3.0, 1.5, 0.4, 0.3, 1.2, 3.0]))
    if profile == "elder":
        return float(np.interp(a, [0, 30, 45, 60, 75, 90], [0.02, 0.2, 0.6, 1.2, 2.0, 2.2]))
    if profile == "adult":
        return float(np.interp(a, [0, 15, 25, 50, 70, 90], [0.05, 0.4, 1.0, 1.2, 1.0, 0.8]))
    if profile == "young":
        return float(np.interp(a, [0, 10, 20, 35, 60, 90], [0.5, 1.0, 1.3, 1.0, 0.5, 0.3]))
    if profile == "birth":
        return float(np.interp(a, [18, 22, 28, 34, 40, 46], [0.2, 1.5, 3.0, 2.0, 0.6, 0.0]))
    if profile == "infant":
        return 1.0 if a < 1 else float(np.interp(a, [1, 3, 6], [0.5, 0.3, 0.0]))
    return 1.0


@dataclass
class Context:
    seed: int
    years: list[int]
    cat: Catalogue
    region: Region
    pop: Population
    rates: dict[str, float]
    # diagnosis code table (principal diseases first, then extra secondary/external codes)
    dx_code: list[str] = field(default_factory=list)
    dx_name: list[str] = field(default_factory=list)
    n_dis: int = 0
    op_cdf: np.ndarray | None = None  # [age band, sex, disease]
    ip_cdf: np.ndarray | None = None
    dis_minlv: np.ndarray | None = None
    inst_lists: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)
    allowed: np.ndarray | None = None  # [dx, lmt slot] indication matrix
    lmt_slot: np.ndarray | None = None
    dept_codes: list[str] = field(default_factory=list)
    dis_dept: np.ndarray | None = None
    complication_dx: np.ndarray | None = None
    comorbidity_dx: np.ndarray | None = None
    ext_acc_dx: np.ndarray | None = None
    ext_tp_dx: np.ndarray | None = None
    proc_code: list[str] = field(default_factory=list)
    proc_name: list[str] = field(default_factory=list)
    dis_procs: list[list[int]] = field(default_factory=list)
    injury: np.ndarray | None = None

    def dx(self, code: str) -> int:
        return self.dx_code.index(code)


def build_context(seed: int, years: list[int], cat: Catalogue, region: Region, pop: Population,
                  rates: dict[str, float]) -> Context:
    d = refdata.diseases()
    ctx = Context(seed=seed, years=years, cat=cat, region=region, pop=pop, rates=rates)
    ctx.dx_code = list(d.code)
    ctx.dx_name = list(d.name)
    ctx.n_dis = len(d)
    extra = ([(c, n) for c, n, _l, _g in refdata.COMPLICATIONS] + refdata.COMORBIDITIES
             + refdata.EXTERNAL_ACCIDENTAL + refdata.EXTERNAL_THIRD_PARTY)
    for c, n in extra:
        if c not in ctx.dx_code:
            ctx.dx_code.append(c)
            ctx.dx_name.append(n)
    ctx.complication_dx = np.array([ctx.dx(c) for c, *_ in refdata.COMPLICATIONS])
    ctx.comorbidity_dx = np.array([ctx.dx(c) for c, _ in refdata.COMORBIDITIES])
    ctx.ext_acc_dx = np.array([ctx.dx(c) for c, _ in refdata.EXTERNAL_ACCIDENTAL])
    ctx.ext_tp_dx = np.array([ctx.dx(c) for c, _ in refdata.EXTERNAL_THIRD_PARTY])
    ctx.injury = np.array([c == "injury" for c in d.chronic])
    # incidence CDFs by age band × sex
    nb = len(AGE_EDGES) - 1
    op = np.zeros((nb, 2, len(d)))
    ip = np.zeros((nb, 2, len(d)))
    for b in range(nb):
        lo, hi = AGE_EDGES[b], min(AGE_EDGES[b + 1], 95)
        mid = (lo + hi - 1) / 2 if b else 0.0
        for s in (1, 2):
            for i in range(len(d)):
                if d.sex[i] and d.sex[i] != s:
                    continue
                if hi - 1 < d.age_min[i] or lo > d.age_max[i]:
                    continue
                w = _profile_weight(d.profile[i], mid, s)
                if d.chronic[i] in ("htn", "dm"):
                    w *= 0.15  # most of their care comes as regular chronic visits
                op[b, s - 1, i] = d.op_w[i] * w
                ip[b, s - 1, i] = d.ip_w[i] * w
    for arr in (op, ip):
        tot = arr.sum(axis=2, keepdims=True)
        tot[tot == 0] = 1
        np.cumsum(arr / tot, axis=2, out=arr)
        arr[:, :, -1] = 1.0
    ctx.op_cdf, ctx.ip_cdf = op, ip
    # procedures
    pcodes = list(refdata.PROCEDURES)
    ctx.proc_code = pcodes
    ctx.proc_name = [refdata.PROCEDURES[p][0] for p in pcodes]
    ctx.dis_procs = [[pcodes.index(p) for p in d.proc[i]] for i in range(len(d))]
    # minimum level at which a disease's admission can be treated (its main procedure's service)
    minlv = np.full(len(d), 2, dtype=np.int8)
    for i in range(len(d)):
        if d.proc[i]:
            grp = refdata.PROCEDURES[d.proc[i][0]][1]
            items = cat.pool(grp)
            if len(items):
                minlv[i] = max(2, int(cat.arrays["minlv"][items].min()))
    ctx.dis_minlv = minlv
    # institutions by (rank, county)
    for rank in range(6):
        for c in range(len(region.admdvs)):
            ctx.inst_lists[(rank, c)] = region.by_rank_county(rank, c)
    # indication matrix
    lmt = np.nonzero(cat.arrays["lmt"])[0]
    slot = np.full(len(cat), -1, dtype=np.int32)
    slot[lmt] = np.arange(len(lmt))
    allowed = np.zeros((len(ctx.dx_code), len(lmt)), dtype=bool)
    for j, it in enumerate(lmt):
        prefixes = cat.indic[it]
        for k, code in enumerate(ctx.dx_code):
            allowed[k, j] = code.startswith(prefixes)
    ctx.allowed, ctx.lmt_slot = allowed, slot
    ctx.dept_codes = sorted(set(d.dept) | {"A02", "A20", "A03", "A50", "D72"})
    ctx.dis_dept = np.array([ctx.dept_codes.index(x) for x in d.dept])
    return ctx


DEPT_NAMES = {
    "A02": "全科医疗科", "A03": "内科", "A03.01": "呼吸内科专业", "A03.02": "消化内科专业", "A03.03": "神经内科专业",
    "A03.04": "心血管内科专业", "A03.05": "血液内科专业", "A03.06": "肾病学专业", "A03.07": "内分泌专业",
    "A03.08": "免疫学专业", "A04.01": "普通外科专业", "A04.02": "神经外科专业", "A04.03": "骨科专业",
    "A04.04": "泌尿外科专业", "A05.01": "妇科专业", "A05.02": "产科专业", "A07": "儿科", "A07.01": "新生儿专业",
    "A07.04": "小儿呼吸专业", "A09": "儿童保健科", "A10": "眼科", "A11.01": "耳科专业", "A11.02": "鼻科专业",
    "A11.03": "咽喉科专业", "A12.01": "牙体牙髓病专业", "A12.02": "牙周病专业", "A13": "皮肤科",
    "A15.01": "精神病专业", "A16.02": "呼吸道传染病专业", "A16.03": "肝炎专业", "A17": "结核病科", "A19": "肿瘤科",
    "A20": "急诊医学科", "A32.10": "放射治疗专业", "A50": "中医科", "D72": "药剂科(药房)",
}
