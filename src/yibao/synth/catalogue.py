"""The medical-insurance catalogue (医保目录) and the audit knowledge built on it.

The catalogue does not depend on the seed: every region gets the same list, so that detectors
and DRG tables written against one region work on all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pyarrow as pa

from . import refdata
from ._util import decimal_array, decimal_array_nullable, stream

# medins_lv words in rank order (rank = index + 1)
LEVEL_WORDS = ("village", "township", "level1", "level2", "level3")
LEVEL_RANK = {w: i + 1 for i, w in enumerate(LEVEL_WORDS)}
# price of a service item at a level, as a share of the level-3 price (the ceiling)
SERVICE_LEVEL_FACTOR = np.array([0.0, 0.6, 0.7, 0.8, 0.9, 1.0])  # index by rank

MANUFACTURERS = (
    "蜀南制药有限公司", "华西药业股份有限公司", "岷江制药有限公司", "天府药业集团有限公司",
    "金沙江药业有限公司", "青衣江制药有限公司", "嘉州药业有限公司", "峨眉山制药有限公司",
    "长江医药股份有限公司", "东方药业有限公司", "北方制药有限公司", "南国药业有限公司",
    "中原制药有限公司", "华康药业有限公司", "瑞康制药有限公司", "恒信药业有限公司",
)
CONSUMABLE_MAKERS = ("康宁医疗器械有限公司", "华卫医用材料有限公司", "瑞达生物医疗有限公司", "蓉康医疗科技有限公司")

FORM_LETTER = {
    "片": "A", "胶囊": "B", "注射液": "C", "注射用": "D", "颗粒": "E", "口服液": "F", "软膏": "G",
    "滴眼液": "H", "吸入气雾剂": "I", "缓释片": "J", "栓剂": "K", "贴剂": "L", "肠溶片": "M",
    "分散片": "N", "散": "P", "丸": "Q", "缓释胶囊": "R", "控释片": "S",
}
IV_FORMS = {"注射液", "注射用"}


@dataclass
class Catalogue:
    code: list[str] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    list_type: list[str] = field(default_factory=list)
    chrg_type: list[str] = field(default_factory=list)  # med_chrgitm_type
    lv: list[str] = field(default_factory=list)  # chrgitm_lv
    selfpay: list[str] = field(default_factory=list)  # '' or '0.10'
    price: list[int] = field(default_factory=list)  # typical price, micro-yuan (per box / unit)
    ceiling: list[int] = field(default_factory=list)  # micro-yuan, -1 none
    nego: list[bool] = field(default_factory=list)
    basic: list[bool] = field(default_factory=list)
    grp: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)  # drug / tcm / herb / service / consumable
    unit: list[str] = field(default_factory=list)
    pack: list[int] = field(default_factory=list)
    spec: list[str] = field(default_factory=list)
    maker: list[str] = field(default_factory=list)
    iv: list[bool] = field(default_factory=list)
    sex: list[int] = field(default_factory=list)
    amin: list[int] = field(default_factory=list)  # -1 none
    amax: list[int] = field(default_factory=list)
    minlv: list[int] = field(default_factory=list)  # 0 none, else rank
    maxday: list[int] = field(default_factory=list)  # 0 none
    maxvisit: list[int] = field(default_factory=list)
    maxyear: list[int] = field(default_factory=list)
    indic: list[tuple[str, ...]] = field(default_factory=list)

    # filled by finish()
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    pools: dict[str, np.ndarray] = field(default_factory=dict)
    by_name: dict[str, int] = field(default_factory=dict)
    exclusive: list[tuple[int, int, str]] = field(default_factory=list)
    included: list[tuple[int, int]] = field(default_factory=list)
    evidence: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.code)

    def add(self, **kw) -> int:
        defaults = dict(selfpay="", ceiling=-1, nego=False, basic=False, unit="", pack=1, spec="",
                        maker="", iv=False, sex=0, amin=-1, amax=-1, minlv=0, maxday=0,
                        maxvisit=0, maxyear=0, indic=())
        defaults.update(kw)
        for k, v in defaults.items():
            getattr(self, k).append(v)
        return len(self.code) - 1

    def item(self, name: str) -> int:
        return self.by_name[name]

    def pool(self, grp: str) -> np.ndarray:
        return self.pools.get(grp, np.zeros(0, dtype=np.int32))

    def finish(self) -> None:
        a = self.arrays
        a["price"] = np.array(self.price, dtype=np.int64)
        a["ceiling"] = np.array(self.ceiling, dtype=np.int64)
        a["sex"] = np.array(self.sex, dtype=np.int8)
        a["amin"] = np.array(self.amin, dtype=np.int16)
        a["amax"] = np.array(self.amax, dtype=np.int16)
        a["minlv"] = np.array(self.minlv, dtype=np.int8)
        a["maxday"] = np.array(self.maxday, dtype=np.int16)
        a["maxvisit"] = np.array(self.maxvisit, dtype=np.int16)
        a["maxyear"] = np.array(self.maxyear, dtype=np.int16)
        a["pack"] = np.array(self.pack, dtype=np.int32)
        a["iv"] = np.array(self.iv, dtype=bool)
        a["chrg_type"] = np.array([int(t) for t in self.chrg_type], dtype=np.int8)
        a["kind"] = np.array([("drug", "tcm", "herb", "service", "consumable").index(k) for k in self.kind], dtype=np.int8)
        a["lmt"] = np.array([bool(t) for t in self.indic])
        a["is_drug"] = np.isin(a["kind"], [0, 1, 2])
        pools: dict[str, list[int]] = {}
        for i, g in enumerate(self.grp):
            pools.setdefault(g, []).append(i)
        self.pools = {g: np.array(v, dtype=np.int32) for g, v in pools.items()}
        self.pools["cbc"] = self.pools["cbc5"]
        self.by_name = {}
        for i, n in enumerate(self.name):
            self.by_name.setdefault(n, i)
        # level fallback: an item the institution may not bill is replaced by this one (or dropped)
        fb = np.full(len(self), -1, dtype=np.int32)
        fb[self.pools["cbc5"]] = self.pools["cbc3"][0]
        a["fallback"] = fb
        self._knowledge()

    # audit knowledge -----------------------------------------------------------------------
    def _knowledge(self) -> None:
        n = self.by_name
        ex_enc = [
            ("一般诊疗费", "门诊诊查费"), ("一般诊疗费", "急诊诊查费"), ("一般诊疗费", "副主任医师诊查费"),
            ("一般诊疗费", "主任医师诊查费"), ("门诊诊查费", "急诊诊查费"),
            ("血细胞分析(五分类)", "血细胞分析(三分类)"), ("彩色多普勒超声(腹部)", "普通B超检查"),
            ("口服葡萄糖耐量试验", "葡萄糖测定"), ("住院诊查费", "门/急诊留观诊查费"),
        ]
        ex_day = [
            ("一级护理", "二级护理"), ("一级护理", "三级护理"), ("二级护理", "三级护理"),
            ("特级护理", "一级护理"), ("特级护理", "二级护理"),
            ("床位费", "床位费(双人间)"), ("床位费", "床位费(单人间)"),
            ("静脉输液费", "小儿头皮静脉输液"),
        ]
        self.exclusive = [(n[a], n[b], "encounter") for a, b in ex_enc] + [
            (n[a], n[b], "day") for a, b in ex_day
        ]
        inc = [
            ("肌肉注射", "一次性注射器"), ("皮下注射", "一次性注射器"), ("雾化吸入", "一次性雾化器"),
            ("导尿", "一次性导尿包"), ("氧气吸入", "一次性吸氧管"), ("氧气吸入", "一次性使用鼻氧管"),
            ("换药(小)", "医用棉签"), ("换药(小)", "医用纱布块"), ("换药(大)", "医用纱布块"),
            ("心电监测", "一次性心电电极"), ("清创缝合(小)", "普通缝合线"), ("静脉采血", "一次性真空采血管"),
            ("静脉输液费", "一次性输液贴"), ("吸痰护理", "一次性使用吸痰管"), ("妇科检查", "一次性使用阴道扩张器"),
            ("单胎顺产接生", "一次性使用脐带夹"),
        ]
        base_names = {i: self.name[i].split("(")[0] for i in range(len(self)) if self.kind[i] == "consumable"}
        self.included = []
        for item, cons in inc:
            for i, b in base_names.items():
                if b == cons:
                    self.included.append((n[item], i))
        self.evidence = {}
        for code, _name, _lvl, groups in refdata.COMPLICATIONS:
            self.evidence[code] = np.concatenate([self.pools[g] for g in groups]).astype(np.int32)


def _micro(yuan: float) -> int:
    return int(round(yuan * 100)) * 10_000  # whole fen


@lru_cache(maxsize=1)
def build() -> Catalogue:
    """The catalogue: ~2,300 items, identical for every seed."""
    rng = stream(0, "catalogue")
    c = Catalogue()
    # 西药 -------------------------------------------------------------------------------------
    for di, r in enumerate(refdata.drugs()):
        specs = r["specs"].split(";")
        form = r["form"]
        letter = FORM_LETTER.get(form, "Z")
        indic = tuple(p for p in r["indic"].split(";") if p)
        for si, spec in enumerate(specs):
            base = float(r["price"]) * (1.6**si)
            n_mfr = int(rng.integers(2, 7))
            makers = rng.choice(len(MANUFACTURERS), size=n_mfr, replace=False)
            for mi, m in enumerate(makers):
                p = base * float(rng.uniform(0.65, 1.35))
                code = f"X{r['atc']}{chr(65 + di % 26)}{di:03d}{letter}{si + 1:03d}{mi + 1:02d}"
                price = _micro(max(p, 0.5))
                has_ceiling = r["lv"] != "03" and int(r["pack"]) == 1 and rng.random() < 0.75
                c.add(
                    code=code, name=f"{r['name']}{form if form not in r['name'] else ''}", list_type="101",
                    chrg_type="09", lv=r["lv"], selfpay=r["selfpay"], price=price,
                    ceiling=_micro(p * float(rng.uniform(1.08, 1.3))) if has_ceiling else -1,
                    nego=r["nego"] == "1", basic=r["basic"] == "1", grp=r["grp"], kind="drug",
                    unit=r["unit"], pack=int(r["pack"]), spec=f"{spec}*{r['pack']}{r['unit']}",
                    maker=MANUFACTURERS[m], iv=form in IV_FORMS or r["unit"] == "袋",
                    sex=int(r["sex"] or 0), amin=int(r["amin"]) if r["amin"] else -1,
                    amax=int(r["amax"]) if r["amax"] else -1, minlv=int(r["minlv"] or 0), indic=indic,
                )
    # 中成药 -----------------------------------------------------------------------------------
    for ti, r in enumerate(refdata.tcm_patent()):
        indic = tuple(p for p in r["indic"].split(";") if p)
        form = r["form"]
        for mi, m in enumerate(rng.choice(len(MANUFACTURERS), size=int(rng.integers(2, 5)), replace=False)):
            p = float(r["price"]) * float(rng.uniform(0.7, 1.3))
            has_ceiling = int(r["pack"]) == 1 and rng.random() < 0.6
            c.add(
                code=f"Z{'ABCDEFGHJK'[ti % 10]}{ti:03d}{FORM_LETTER.get(form, 'Z')}{mi + 1:02d}0{ti % 7}{mi}",
                name=f"{r['name']}{form}", list_type="101", chrg_type="11", lv=r["lv"],
                selfpay="0.10" if r["lv"] == "02" else "", price=_micro(p),
                ceiling=_micro(p * 1.2) if has_ceiling else -1, basic=r["lv"] == "01", grp=r["grp"],
                kind="tcm", unit=r["unit"], pack=int(r["pack"]), spec=f"{r['pack']}{r['unit']}/盒",
                maker=MANUFACTURERS[m], iv=form in IV_FORMS, sex=int(r["sex"] or 0),
                amax=int(r["amax"]) if r["amax"] else -1, minlv=0, indic=indic,
            )
    # 中药饮片 (list_type 102) ------------------------------------------------------------------
    for hi, h in enumerate(refdata.herbs()):
        for gi, (grade, mult) in enumerate((("", 1.0), ("(制)", 1.2), ("(精选)", 1.6))):
            p = float(rng.uniform(0.03, 0.6)) * mult  # per gram
            c.add(
                code=f"T{hi + 1:06d}{gi + 1:03d}", name=f"{h}{grade}", list_type="102", chrg_type="10",
                lv="03" if gi == 2 else "01", price=int(round(p * 1_000_000 / 10)) * 10, grp="herb",
                kind="herb", unit="克", spec="克",
            )
    # 医疗服务项目 (list_type 201) ----------------------------------------------------------------
    for r in refdata.services():
        price = _micro(float(r["price"]))
        c.add(
            code=f"00{r['code9']}0000", name=r["name"], list_type="201", chrg_type=r["type"], lv=r["lv"],
            selfpay="0.10" if r["lv"] == "02" else "", price=price, ceiling=price, grp=r["grp"],
            kind="service", unit=r["unit"], sex=int(r["sex"] or 0),
            amin=int(r["amin"]) if r["amin"] else -1, amax=int(r["amax"]) if r["amax"] else -1,
            minlv=int(r["minlv"] or 0), maxday=int(r["maxday"] or 0), maxvisit=int(r["maxvisit"] or 0),
            maxyear=int(r["maxyear"] or 0),
        )
    # systematic imaging / rehabilitation variants (billed like their base item)
    parts = ("颈椎", "胸椎", "腰椎", "骨盆", "肩关节", "肘关节", "腕关节", "手", "髋关节", "膝关节",
             "踝关节", "足", "头颅", "鼻骨", "腹部")
    for pi, part in enumerate(parts):
        for vi, (kind, grp, price, minlv) in enumerate((
            ("DR摄影", "xray", 60.0, 2), ("CT平扫", "ct_part", 200.0, 3), ("磁共振平扫", "mri_part", 450.0, 4),
        )):
            p = _micro(price * (1 + 0.05 * (pi % 4)))
            c.add(code=f"0021{vi + 5}{pi + 1:06d}0000", name=f"{part}{kind}", list_type="201", chrg_type="03",
                  lv="01" if vi < 2 else "02", selfpay="0.10" if vi == 2 else "", price=p, ceiling=p,
                  grp=grp, kind="service", unit="部位", minlv=minlv)
    for pi, part in enumerate(("肝胆胰脾", "双肾输尿管膀胱", "子宫附件", "甲状腺", "乳腺", "心脏", "颈部淋巴结",
                               "腹股沟", "阴囊", "胸腔积液", "腹腔积液", "浅表包块")):
        p = _micro(80.0 + 10 * (pi % 5))
        sex = 2 if part == "子宫附件" else 1 if part == "阴囊" else 0
        c.add(code=f"0022030{pi + 1:03d}10000", name=f"{part}彩色多普勒超声检查", list_type="201", chrg_type="03",
              lv="01", price=p, ceiling=p, grp="us_part", kind="service", unit="部位", minlv=3, sex=sex)
    for pi, (nm, pr) in enumerate((("电针", 25.0), ("温针", 25.0), ("穴位注射", 15.0), ("穴位贴敷", 12.0),
                                   ("中药熏洗", 30.0), ("中药封包", 25.0), ("刮痧", 20.0), ("耳穴压豆", 10.0),
                                   ("关节松动训练", 30.0), ("平衡功能训练", 30.0), ("言语训练", 40.0),
                                   ("吞咽功能训练", 40.0), ("作业疗法", 40.0), ("运动疗法", 50.0),
                                   ("超短波治疗", 12.0), ("磁疗", 10.0), ("蜡疗", 15.0), ("冲击波治疗", 150.0))):
        p = _micro(pr)
        c.add(code=f"004{pi + 1:02d}0000010000", name=nm, list_type="201", chrg_type="05", lv="01", price=p,
              ceiling=p, grp="rehab_extra", kind="service", unit="次", minlv=2)
    # 医用耗材 (list_type 301) ------------------------------------------------------------------
    for ci, r in enumerate(refdata.consumables()):
        for si, size in enumerate(r["sizes"].split(";")):
            for mi in range(2):
                p = float(r["price"]) * float(rng.uniform(0.8, 1.25)) * (1 + 0.08 * si)
                has_ceiling = r["lv"] != "03" and rng.random() < 0.7
                c.add(
                    code=f"C{(ci % 14) + 1:02d}{ci + 1:03d}{si + 1:02d}{mi + 1:02d}0{ci % 10}{si}",
                    name=r["name"] if size in ("普通型", "标准型") else f"{r['name']}({size})", list_type="301", chrg_type="08", lv=r["lv"],
                    selfpay=r["selfpay"], price=_micro(p), ceiling=_micro(p * 1.2) if has_ceiling else -1,
                    grp=r["grp"], kind="consumable", unit=r["unit"], spec=size,
                    maker=CONSUMABLE_MAKERS[(ci + mi) % len(CONSUMABLE_MAKERS)], minlv=int(r["minlv"] or 0),
                )
    assert len(set(c.code)) == len(c.code), "catalogue codes must be unique"
    c.finish()
    return c


# Arrow tables ----------------------------------------------------------------------------------

def _nullable_str(values: list[str]) -> pa.Array:
    return pa.array([v if v else None for v in values], pa.string())


def catalogue_table(c: Catalogue) -> pa.Table:
    a = c.arrays
    ceiling = a["ceiling"]
    selfpay = np.array([int(round(float(s) * 10_000)) if s else 0 for s in c.selfpay], dtype=np.int64)
    return pa.table({
        "med_list_codg": pa.array(c.code, pa.string()),
        "med_list_name": pa.array(c.name, pa.string()),
        "list_type": pa.array(c.list_type, pa.string()),
        "med_chrgitm_type": pa.array(c.chrg_type, pa.string()),
        "chrgitm_lv": pa.array(c.lv, pa.string()),
        "selfpay_prop": decimal_array_nullable(selfpay, np.array([bool(s) for s in c.selfpay]), 5, 4),
        "pric_uplmt_amt": decimal_array_nullable(ceiling, ceiling >= 0, 16, 6),
        "pric": decimal_array(a["price"], 16, 6),
        "nego_drug": pa.array(c.nego, pa.bool_()),
        "bas_medn_flag": pa.array(["1" if b else "0" for b in c.basic], pa.string()),
        "lmt_used_flag": pa.array(["1" if t else "0" for t in c.indic], pa.string()),
        "spec": _nullable_str(c.spec),
        "unit": _nullable_str(c.unit),
        "pack_cnt": pa.array(c.pack, pa.int32()),
        "prodentp_name": _nullable_str(c.maker),
        "therapeutic_group": pa.array(c.grp, pa.string()),
    })


def knowledge_tables(c: Catalogue) -> dict[str, pa.Table]:
    a = c.arrays
    code = np.array(c.code, dtype=object)
    name = np.array(c.name, dtype=object)
    out: dict[str, pa.Table] = {}
    g = np.nonzero(a["sex"] > 0)[0]
    out["kb_gender"] = pa.table({"med_list_codg": list(code[g]), "med_list_name": list(name[g]),
                                 "gend": [str(int(s)) for s in a["sex"][g]]})
    g = np.nonzero((a["amin"] >= 0) | (a["amax"] >= 0))[0]
    out["kb_age"] = pa.table({
        "med_list_codg": list(code[g]), "med_list_name": list(name[g]),
        "min_age": pa.array(a["amin"][g].astype(np.int32), mask=a["amin"][g] < 0),
        "max_age": pa.array(a["amax"][g].astype(np.int32), mask=a["amax"][g] < 0),
    })
    g = np.nonzero(a["minlv"] > 0)[0]
    out["kb_level"] = pa.table({"med_list_codg": list(code[g]), "med_list_name": list(name[g]),
                                "min_medins_lv": [LEVEL_WORDS[r - 1] for r in a["minlv"][g]],
                                "min_lv_rank": pa.array(a["minlv"][g].astype(np.int32))})
    out["kb_exclusive"] = pa.table({
        "med_list_codg_a": [c.code[x] for x, _, _ in c.exclusive],
        "med_list_name_a": [c.name[x] for x, _, _ in c.exclusive],
        "med_list_codg_b": [c.code[y] for _, y, _ in c.exclusive],
        "med_list_name_b": [c.name[y] for _, y, _ in c.exclusive],
        "scope": [s for _, _, s in c.exclusive],
    })
    out["kb_included"] = pa.table({
        "med_list_codg": [c.code[x] for x, _ in c.included],
        "med_list_name": [c.name[x] for x, _ in c.included],
        "included_med_list_codg": [c.code[y] for _, y in c.included],
        "included_med_list_name": [c.name[y] for _, y in c.included],
    })
    g = np.nonzero((a["maxday"] > 0) | (a["maxvisit"] > 0) | (a["maxyear"] > 0))[0]
    def _opt(col: np.ndarray) -> pa.Array:
        return pa.array(col[g].astype(np.int32), mask=col[g] <= 0)
    out["kb_frequency"] = pa.table({"med_list_codg": list(code[g]), "med_list_name": list(name[g]),
                                    "max_per_day": _opt(a["maxday"]), "max_per_visit": _opt(a["maxvisit"]),
                                    "max_per_year": _opt(a["maxyear"])})
    rows = [(c.code[i], c.name[i], p) for i in range(len(c)) for p in c.indic[i]]
    out["kb_indication"] = pa.table({"med_list_codg": [r[0] for r in rows], "med_list_name": [r[1] for r in rows],
                                     "icd10_prefix": [r[2] for r in rows]})
    g = np.nonzero(a["ceiling"] >= 0)[0]
    out["kb_price"] = pa.table({"med_list_codg": list(code[g]), "med_list_name": list(name[g]),
                                "pric_uplmt_amt": decimal_array(a["ceiling"][g], 16, 6)})
    rows = []
    for dx, dxname, lvl, _g in refdata.COMPLICATIONS:
        for i in c.evidence[dx]:
            rows.append((dx, dxname, lvl, c.code[i], c.name[i]))
    out["kb_dx_evidence"] = pa.table({
        "diag_code": [r[0] for r in rows], "diag_name": [r[1] for r in rows], "cc_level": [r[2] for r in rows],
        "med_list_codg": [r[3] for r in rows], "med_list_name": [r[4] for r in rows],
    })
    return out
