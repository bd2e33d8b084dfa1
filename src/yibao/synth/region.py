"""Geography (admdvs) and designated institutions (定点医药机构)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ._util import stream
from .catalogue import LEVEL_WORDS

# A fictional prefecture under a real province prefix: codes 5114xx put it inside the
# pooling region of the meishan-2020 reference policy (prefix 5114).
DEFAULT_PREFECTURE = "511400"
DEFAULT_CITY_NAME = "青衣市"
COUNTY_NAMES = (
    ("02", "青衣区", True), ("03", "岷东区", False), ("21", "仁和县", False), ("23", "洪川县", False),
    ("24", "丹溪县", False), ("25", "青林县", False), ("26", "峨秀县", False), ("27", "彭溪县", False),
)
PLACE_NAMES = ["太和", "万胜", "高桥", "松江", "崇仁", "思蒙", "修文", "三苏", "白马", "永寿", "汪洋", "彭溪", "观寺", "凤鸣", "青龙", "黄丰", "谢家", "公义", "江口", "牧马", "文宫", "富加", "龙正", "禾加", "方家", "满井", "宝飞", "钟祥", "板桥", "大田", "东岳", "西龙", "南街", "北斗", "双河", "石桥", "金花", "杨柳", "柳江", "中山", "止戈", "炳灵", "槽渔", "将军", "花溪", "瓦屋", "罗坝", "白沙", "玉屏", "桂花", "兴隆", "长乐", "安宁", "福禄", "同乐", "七里", "九龙", "新店"]
PHARMACY_BRANDS = ("仁康", "百姓", "一心", "德仁堂", "益寿", "康泰", "同济", "民生", "惠民", "福寿堂")


@dataclass
class Region:
    prefecture: str
    city_name: str
    admdvs: list[str]
    county_name: list[str]
    is_city: np.ndarray
    population: np.ndarray  # persons at the start, by county
    # institutions
    inst_code: list[str]
    inst_name: list[str]
    inst_type: np.ndarray  # 1 medical, 2 pharmacy
    inst_rank: np.ndarray  # 1 village … 5 level3; 0 pharmacy
    inst_hosp_lv: list[str | None]
    inst_county: np.ndarray
    inst_beds: np.ndarray
    inst_uscc: list[str]

    def by_rank_county(self, rank: int, county: int) -> np.ndarray:
        return np.nonzero((self.inst_rank == rank) & (self.inst_county == county))[0]


def _org_code(digits8: str) -> str:
    w = (3, 7, 9, 10, 5, 8, 4, 2)
    s = sum(int(d) * wi for d, wi in zip(digits8, w))
    c = 11 - s % 11
    return digits8 + ("X" if c == 10 else "0" if c == 11 else str(c))


_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc(kind: str, admdvs: str, digits8: str) -> str:
    """统一社会信用代码 (GB 32100-2015) with valid organisation-code and final check characters."""
    body = kind + admdvs + _org_code(digits8)
    w = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    s = sum(_USCC_CHARS.index(ch) * wi for ch, wi in zip(body, w))
    c = (31 - s % 31) % 31
    return body + _USCC_CHARS[c]


def build_region(seed: int, persons: int, counties: int = 6, prefecture: str = DEFAULT_PREFECTURE,
                 city_name: str = DEFAULT_CITY_NAME) -> Region:
    if not 3 <= counties <= 8:
        raise ValueError("a region has 3 to 8 counties")
    rng = stream(seed, "region")
    names = COUNTY_NAMES[:counties]
    admdvs = [prefecture[:4] + suffix for suffix, _, _ in names]
    is_city = np.array([c for _, _, c in names])
    w = rng.uniform(0.6, 1.4, size=counties)
    w[is_city] *= 2.2
    share = w / w.sum()
    pop = np.floor(share * persons).astype(np.int64)
    pop[0] += persons - pop.sum()

    code, iname, itype, rank, hosp_lv, county, beds, cred = [], [], [], [], [], [], [], []
    seq = {}
    places = list(PLACE_NAMES)

    def add(ci: int, kind: int, r: int, name: str, lv: str | None, nbeds: int) -> None:
        prefix = "H" if kind == 1 else "P"
        key = (prefix, ci)
        seq[key] = seq.get(key, 0) + 1
        code.append(f"{prefix}{admdvs[ci]}{seq[key]:05d}")
        iname.append(name)
        itype.append(kind)
        rank.append(r)
        hosp_lv.append(lv)
        county.append(ci)
        beds.append(nbeds)
        digits = f"{int(rng.integers(0, 10**8)):08d}"
        cred.append(uscc("12" if kind == 1 else "91", admdvs[ci], digits))

    n3 = max(1, int(round(persons / 250_000)))
    city_i = int(np.nonzero(is_city)[0][0])
    l3_names = [f"{city_name}第一人民医院", f"{city_name}中医医院", f"{city_name}第二人民医院",
                f"{city_name}妇女儿童医院", f"{city_name}第三人民医院", f"{city_name}肿瘤医院"]
    for k in range(n3):
        add(city_i, 1, 5, l3_names[k % len(l3_names)] + ("" if k < len(l3_names) else f"{k}分院"),
            "2" if k < 2 else "3", int(rng.integers(800, 2001)))
    for ci in range(counties):
        cname = names[ci][1]
        p = int(pop[ci])
        rng.shuffle(places)
        pi = 0
        n2 = max(1, int(round(p / 80_000)))
        l2 = [f"{cname}人民医院", f"{cname}中医医院", f"{cname}第二人民医院", f"{cname}妇幼保健院"]
        for k in range(n2):
            add(ci, 1, 4, l2[k % 4] + ("" if k < 4 else f"{k}院区"), "5" if k == 0 else "6",
                int(rng.integers(200, 601)))
        n1 = max(1, int(round(p / 40_000)))
        for k in range(n1):
            kind = ("骨科医院", "康复医院", "中西医结合医院", "济民医院", "仁爱医院")[k % 5]
            add(ci, 1, 3, f"{cname}{places[pi % len(places)]}{kind}", ("8", "9", "14")[k % 3],
                int(rng.integers(30, 121)))
            pi += 1
        nt = max(2, int(round(p / 12_000)))
        towns = []
        for k in range(nt):
            town = places[pi % len(places)] + ("" if pi < len(places) else str(pi // len(places) + 1))
            pi += 1
            towns.append(town)
            nm = f"{cname}{town}街道社区卫生服务中心" if is_city[ci] else f"{cname}{town}镇卫生院"
            add(ci, 1, 2, nm, "8" if k % 3 == 0 else "11", int(rng.integers(20, 81)))
        nv = max(3, int(round(p / 1_200)))
        for k in range(nv):
            town = towns[k % nt]
            vil = places[(k * 7 + 3) % len(places)]
            nm = (f"{cname}{town}街道{vil}社区卫生服务站" if is_city[ci] else f"{cname}{town}镇{vil}村卫生室")
            nm += "" if k < nt * len(places) else str(k)
            if k >= nt:
                nm = nm.replace("卫生室", f"{k // nt + 1}组卫生室") if not is_city[ci] else nm.replace("服务站", f"第{k // nt + 1}服务站")
            add(ci, 1, 1, nm, "11", 0)
        nphar = max(2, int(round(p / 2_500)))
        for k in range(nphar):
            brand = PHARMACY_BRANDS[int(rng.integers(0, len(PHARMACY_BRANDS)))]
            add(ci, 2, 0, f"{brand}大药房({cname}{towns[k % nt]}{k + 1}店)", None, 0)
    return Region(
        prefecture=prefecture, city_name=city_name, admdvs=admdvs, county_name=[n for _, n, _ in names],
        is_city=is_city, population=pop, inst_code=code, inst_name=iname,
        inst_type=np.array(itype, dtype=np.int8), inst_rank=np.array(rank, dtype=np.int8),
        inst_hosp_lv=hosp_lv, inst_county=np.array(county, dtype=np.int16),
        inst_beds=np.array(beds, dtype=np.int32), inst_uscc=cred,
    )


def admdvs_table(r: Region, population_now: np.ndarray) -> pa.Table:
    return pa.table({
        "admdvs": pa.array([r.prefecture] + r.admdvs, pa.string()),
        "name": pa.array([r.city_name] + r.county_name, pa.string()),
        "admdvs_lv": pa.array(["prefecture"] + ["county"] * len(r.admdvs), pa.string()),
        "is_city_district": pa.array([False] + list(map(bool, r.is_city)), pa.bool_()),
        "population": pa.array([int(population_now.sum())] + [int(x) for x in population_now], pa.int64()),
    })


def institutions_table(r: Region) -> pa.Table:
    words = [LEVEL_WORDS[k - 1] if k > 0 else None for k in r.inst_rank]
    return pa.table({
        "fixmedins_code": pa.array(r.inst_code, pa.string()),
        "fixmedins_name": pa.array(r.inst_name, pa.string()),
        "fixmedins_type": pa.array([str(t) for t in r.inst_type], pa.string()),
        "hosp_lv": pa.array(r.inst_hosp_lv, pa.string()),
        "medins_lv": pa.array(words, pa.string()),
        "admdvs": pa.array([r.admdvs[c] for c in r.inst_county], pa.string()),
        "beds": pa.array(r.inst_beds, pa.int32()),
        "uscc": pa.array(r.inst_uscc, pa.string()),
    })
