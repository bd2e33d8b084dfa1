"""The civil-affairs bureau's assistance rosters, as they arrive: with typos, variant characters,
transposed digits, old 15-digit numbers, missing fields, dead and departed people, and people the
insurance has never heard of. ``roster_truth`` says who each row really is."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ._util import date_array, stream, year_bounds
from .population import ASSISTANCE, NEVER, Population, check_digit

GROUP_NAMES = {"tekun": "特困人员", "dibao": "最低生活保障对象", "poverty": "脱贫人口（建档立卡）", "low_income": "低收入人口"}
# homophones and look-alikes a clerk types by mistake, and traditional/variant forms
TYPOS = {"伟": "玮", "丽": "莉", "华": "化", "军": "君", "敏": "民", "静": "婧", "芳": "方", "明": "名", "英": "瑛",
         "玲": "琳", "霞": "侠", "涛": "滔", "斌": "彬", "杰": "洁", "刚": "钢", "平": "萍", "辉": "晖", "鹏": "朋",
         "燕": "艳", "红": "宏", "梅": "玫", "勇": "永", "强": "强", "秀": "绣", "兰": "岚", "云": "芸", "凤": "风"}
VARIANTS = {"陈": "陳", "张": "張", "刘": "劉", "杨": "楊", "黄": "黃", "赵": "趙", "吴": "吳", "郑": "鄭", "罗": "羅",
            "华": "華", "国": "國", "军": "軍", "丽": "麗", "凤": "鳳", "兰": "蘭", "云": "雲", "龙": "龍", "东": "東"}


def build_roster(seed: int, pop: Population, region_admdvs: list[str], years: list[int]) -> tuple[pa.Table, pa.Table]:
    rng = stream(seed, "roster")
    ys, _ = year_bounds(years[0])
    members = np.nonzero(pop.assistance >= 0)[0]
    names = pop.name.take(pa.array(members)).to_pylist()
    certs = pop.certno.take(pa.array(members)).to_pylist()
    psn = pop.psn_no.take(pa.array(members)).to_pylist()
    rows = []
    for k, i in enumerate(members):
        group = ASSISTANCE[pop.assistance[i]][0]
        name, cert, noise = names[k], certs[k], []
        u = rng.random(8)
        if u[0] < 0.05:
            pos = [j for j, ch in enumerate(name) if ch in TYPOS and j > 0]
            if pos:
                j = pos[int(u[1] * len(pos))]
                name = name[:j] + TYPOS[name[j]] + name[j + 1:]
                noise.append("name_typo")
        if u[2] < 0.03:
            pos = [j for j, ch in enumerate(name) if ch in VARIANTS]
            if pos:
                j = pos[0]
                name = name[:j] + VARIANTS[name[j]] + name[j + 1:]
                noise.append("variant_char")
        if u[3] < 0.03:
            j = 14 + int(u[4] * 2)
            if cert[j] != cert[j + 1]:
                cert = cert[:j] + cert[j + 1] + cert[j] + cert[j + 2:]
                noise.append("transposed_digits")
        elif u[3] < 0.06 and cert[6:8] == "19":
            cert = cert[:6] + cert[8:17]
            noise.append("old_15_digit")
        if u[5] < 0.02:
            cert = None
            noise.append("missing_certno")
        elif u[5] < 0.03:
            name = None
            noise.append("missing_name")
        start = int(min(pop.insu_date[i] + rng.integers(0, 2000), ys + rng.integers(0, 300)))
        end = None
        if pop.death[i] != NEVER:
            noise.append("died")
            end = int(pop.death[i] + rng.integers(30, 200)) if rng.random() < 0.5 else None
        if pop.move_out[i] != NEVER:
            noise.append("moved_out")
        rows.append((name, cert, group, region_admdvs[pop.county[i]], start, end, psn[k], ";".join(noise)))
    # people on the roster who are not insured here (never enrolled, or insured elsewhere)
    n_out = max(1, int(len(members) * 0.03))
    birth = ys - (rng.uniform(5, 85, n_out) * 365.2425).astype(np.int64)
    for j in range(n_out):
        reg = region_admdvs[int(rng.integers(0, len(region_admdvs)))]
        d = np.datetime64(int(birth[j]), "D").astype(str).replace("-", "")
        seq = f"{int(rng.integers(900, 999)):03d}"
        c17 = reg + d + seq
        nm = "".join(rng.choice(list("王李张刘陈杨黄赵吴周"), 1)) + "".join(rng.choice(list("建国秀英志明桂兰春华"), 2))
        group = ASSISTANCE[int(rng.integers(0, 4))][0]
        rows.append((nm, c17 + check_digit(c17), group, reg, int(ys - rng.integers(0, 1000)), None, None, "not_insured"))
    order = rng.permutation(len(rows))
    rows = [rows[i] for i in order]
    n = len(rows)
    roster = pa.table({
        "row_id": pa.array(np.arange(1, n + 1, dtype=np.int64)),
        "name": pa.array([r[0] for r in rows], pa.string()),
        "certno": pa.array([r[1] for r in rows], pa.string()),
        "group": pa.array([r[2] for r in rows], pa.string()),
        "group_name": pa.array([GROUP_NAMES[r[2]] for r in rows], pa.string()),
        "admdvs": pa.array([r[3] for r in rows], pa.string()),
        "start_date": date_array(np.array([r[4] for r in rows], np.int64)),
        "end_date": date_array(np.array([r[5] or 0 for r in rows], np.int64), np.array([r[5] is not None for r in rows])),
    })
    truth = pa.table({
        "row_id": pa.array(np.arange(1, n + 1, dtype=np.int64)),
        "psn_no": pa.array([r[6] for r in rows], pa.string()),
        "noise": pa.array([r[7] or None for r in rows], pa.string()),
    })
    return roster, truth
