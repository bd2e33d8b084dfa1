"""Insured persons: age–sex pyramid, households, identity numbers, insurance status, life events."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from . import refdata
from ._util import (
    age_years,
    concat_str,
    date_array,
    day_of,
    decimal_array_nullable,
    int_str,
    stream,
    take_str,
    year_bounds,
)
from .region import Region

# China, 7th national population census (第七次全国人口普查, 2020): share of the total population
# (percent) by 5-year age group, male and female. Rounded figures from the census bulletin's
# age tables; normalised when sampled. 0–14: 17.95 %, 65+: ≈ 13.3 %, males 51.2 %.
PYRAMID = np.array([
    # male, female
    (2.93, 2.60), (3.47, 3.00), (3.26, 2.79), (2.87, 2.44), (2.85, 2.54), (3.48, 3.19),
    (4.52, 4.23), (3.59, 3.39), (3.41, 3.24), (4.21, 4.05), (4.32, 4.20), (3.61, 3.56),
    (2.62, 2.60), (2.50, 2.57), (1.68, 1.75), (1.02, 1.12), (0.67, 0.81), (0.36, 0.50),
    (0.11, 0.20),
])
BIRTH_RATE = 0.0085  # 2020 crude birth rate 8.52 ‰
# yearly probability of dying by age (gives a crude death rate near the 2020 figure of 7.07 ‰)
MORTALITY_AGES = np.array([0, 1, 40, 60, 70, 80, 90])
MORTALITY_Q = np.array([0.0055, 0.0005, 0.003, 0.010, 0.030, 0.095, 0.20])
MOVE_OUT_RATE = 0.004
MOVE_IN_RATE = 0.004

# assistance groups (share of persons) — 特困 0.4 %, 低保 3 %, 建档立卡/脱贫 2 %, 低收入 1.5 %
ASSISTANCE = (("tekun", "2304", 0.004), ("dibao", "2303", 0.03), ("poverty", "2302", 0.02),
              ("low_income", "2305", 0.015))
NATY = (("1", 0.93), ("7", 0.02), ("4", 0.012), ("33", 0.01), ("3", 0.01), ("15", 0.008), ("6", 0.006), ("8", 0.004))
OTHER_BIRTHPLACES = ("510104", "510107", "510122", "511002", "511102", "511302", "500101", "530102", "520102", "420106")
INDUSTRY = ("建材", "食品", "机械", "电子", "物流", "商贸", "建筑", "化工", "纺织", "医药", "能源", "农业发展", "文化传媒", "物业管理")
GOV = ("人民政府办公室", "财政局", "教育局", "卫生健康局", "公安局", "医疗保障局", "自然资源局", "人民法院",
       "税务局", "市场监督管理局", "交通运输局", "住房和城乡建设局")


@dataclass
class Population:
    n: int
    psn_no: pa.Array
    certno: pa.Array
    name: pa.Array
    sex: np.ndarray  # 1 male 2 female
    brdy: np.ndarray  # days since epoch
    county: np.ndarray
    birth_region: np.ndarray  # index into region codes used by certno
    household: np.ndarray
    naty: np.ndarray
    employee: np.ndarray  # insutype 310
    retired_at: np.ndarray  # day the person retires (employees), large if never
    cvlserv: np.ndarray
    assistance: np.ndarray  # -1 none, else index into ASSISTANCE
    insu_date: np.ndarray
    death: np.ndarray  # day or INT_MAX
    move_out: np.ndarray
    acct_balc_fen: np.ndarray
    employer: np.ndarray  # index into employer names, -1 none
    employer_names: list[str]
    htn: np.ndarray  # under regular care for hypertension
    dm: np.ndarray  # under regular care for type 2 diabetes
    mtb: np.ndarray  # registered 门诊慢特病 (chronic visits are med_type 14)
    pref: np.ndarray  # stable preference number for picking institutions
    # certno pieces kept for the roster
    region_codes: list[str]


NEVER = np.iinfo(np.int32).max


def _certnos(region6: np.ndarray, brdy: np.ndarray, seq3: np.ndarray) -> pa.Array:
    """18-digit 居民身份证号码 with the ISO 7064 MOD 11-2 check character, vectorised."""
    d = brdy.astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dd = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    digits = np.zeros((len(brdy), 17), dtype=np.int64)
    for k in range(6):
        digits[:, k] = (region6 // 10 ** (5 - k)) % 10
    for k in range(4):
        digits[:, 6 + k] = (y // 10 ** (3 - k)) % 10
    digits[:, 10], digits[:, 11] = m // 10, m % 10
    digits[:, 12], digits[:, 13] = dd // 10, dd % 10
    for k in range(3):
        digits[:, 14 + k] = (seq3 // 10 ** (2 - k)) % 10
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
    check = (digits * weights).sum(axis=1) % 11
    check_chars = pa.array(list("10X98765432"))
    body = int_str(region6, 6)
    body = concat_str(body, int_str(y * 10000 + m * 100 + dd, 8), int_str(seq3, 3))
    return concat_str(body, check_chars.take(pa.array(check)))


def check_digit(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights)) % 11]


def _names(rng: np.random.Generator, sex: np.ndarray, age: np.ndarray) -> pa.Array:
    nm = refdata.names()
    s_text, s_w = nm["surname"]
    sur = take_str(s_text, rng.choice(len(s_text), size=len(sex), p=s_w))
    out_parts = []
    for kind, code in (("male", 1), ("female", 2)):
        text, _ = nm[kind]
        out_parts.append((code, text))
    n = len(sex)
    two = rng.random(n) < np.where(age >= 60, 0.45, 0.8)
    g1 = np.empty(n, dtype=np.int64)
    g2 = np.empty(n, dtype=np.int64)
    male_text, _ = nm["male"]
    female_text, _ = nm["female"]
    chars = male_text + female_text
    nm_m, nm_f = len(male_text), len(female_text)
    is_m = sex == 1
    g1[is_m] = rng.integers(0, nm_m, is_m.sum())
    g2[is_m] = rng.integers(0, nm_m, is_m.sum())
    g1[~is_m] = nm_m + rng.integers(0, nm_f, (~is_m).sum())
    g2[~is_m] = nm_m + rng.integers(0, nm_f, (~is_m).sum())
    g2 = np.where(g2 == g1, (g2 + 1 - np.where(is_m, 0, nm_m)) % np.where(is_m, nm_m, nm_f) + np.where(is_m, 0, nm_m), g2)
    first = take_str(chars, g1)
    second = take_str(chars + [""], np.where(two, g2, len(chars)))
    return concat_str(sur, first, second)


def build_population(seed: int, region: Region, persons: int, years: list[int]) -> Population:
    rng = stream(seed, "population")
    y0 = years[0]
    start, _ = year_bounds(y0)
    ncounty = len(region.admdvs)
    # --- initial population ---------------------------------------------------------------
    p = PYRAMID / PYRAMID.sum()
    cell = rng.choice(p.size, size=persons, p=p.ravel())
    band, sexcol = cell // 2, cell % 2
    sex0 = (sexcol + 1).astype(np.int8)
    width = np.where(band == 18, 10.0, 5.0)
    age_days0 = ((band * 5 + rng.random(persons) * width) * 365.2425).astype(np.int64)
    brdy0 = start - 1 - age_days0
    county0 = rng.choice(ncounty, size=persons, p=region.population / region.population.sum())
    # --- households: couples, children with a parent 20–40 years older ----------------------
    age0 = age_days0 / 365.2425
    hh = np.arange(persons, dtype=np.int64)
    for c in range(ncounty):
        inc = county0 == c
        men = np.nonzero(inc & (sex0 == 1) & (age0 >= 22))[0]
        women = np.nonzero(inc & (sex0 == 2) & (age0 >= 20))[0]
        men = men[rng.random(len(men)) < 0.78]
        women = women[rng.random(len(women)) < 0.78]
        men = men[np.argsort(age0[men] + rng.normal(0, 2.0, len(men)), kind="stable")]
        women = women[np.argsort(age0[women] + 2.0 + rng.normal(0, 2.0, len(women)), kind="stable")]
        k = min(len(men), len(women))
        # pair by age rank (a similar-age couple), then drop pairs too far apart
        mi, wi = men[:k], women[:k]
        ok = np.abs(age0[mi] - age0[wi]) < 12
        hh[wi[ok]] = hh[mi[ok]]
        heads = np.nonzero(inc & (age0 >= 22) & (age0 < 75) & (hh == np.arange(persons)))[0]
        if len(heads) == 0:
            continue
        heads = heads[np.argsort(age0[heads], kind="stable")]
        kids = np.nonzero(inc & (age0 < 20))[0]
        target = age0[kids] + rng.uniform(22, 36, len(kids))
        pos = np.clip(np.searchsorted(age0[heads], target) + rng.integers(-3, 4, len(kids)), 0, len(heads) - 1)
        hh[kids] = hh[heads[pos]]
        # some elderly live with a grown child
        old = np.nonzero(inc & (age0 >= 72) & (hh == np.arange(persons)))[0]
        old = old[rng.random(len(old)) < 0.35]
        pos = np.clip(np.searchsorted(age0[heads], age0[old] - rng.uniform(24, 34, len(old))), 0, len(heads) - 1)
        hh[old] = hh[heads[pos]]
    # --- life events year by year -----------------------------------------------------------
    brdy_l = [brdy0]
    sex_l = [sex0]
    county_l = [county0]
    hh_l = [hh]
    insu_l = [np.full(persons, -1, dtype=np.int64)]  # -1: fill in later (insured before start)
    total = persons
    death = np.full(persons, NEVER, dtype=np.int64)
    move_out = np.full(persons, NEVER, dtype=np.int64)
    for y in years:
        ys, ye = year_bounds(y)
        ndays = ye - ys + 1
        brdy = np.concatenate(brdy_l)
        alive = (death > ys) & (move_out > ys) & (brdy <= ye)
        cur_age = (ys - brdy) / 365.2425
        q = MORTALITY_Q[np.searchsorted(MORTALITY_AGES, cur_age, side="right") - 1]
        born_this_year = brdy >= ys
        q = np.where(born_this_year, MORTALITY_Q[0] * 0.5, q)
        dies = alive & (rng.random(total) < q)
        dday = ys + rng.integers(0, ndays, total)
        dday = np.maximum(dday, brdy + 1)
        death = np.where(dies & (dday <= ye), dday, death)
        moves = alive & ~dies & (rng.random(total) < MOVE_OUT_RATE) & (cur_age >= 16)
        move_out = np.where(moves, ys + rng.integers(0, ndays, total), move_out)
        # births: mothers are women 20–40 alive at the start of the year
        sex_all = np.concatenate(sex_l)
        hh_all = np.concatenate(hh_l)
        county_all = np.concatenate(county_l)
        mothers = np.nonzero(alive & (sex_all == 2) & (cur_age >= 20) & (cur_age < 41))[0]
        nb = int(round(BIRTH_RATE * alive.sum()))
        if len(mothers) and nb:
            m = rng.choice(mothers, size=nb)
            bday = ys + rng.integers(0, ndays, nb)
            brdy_l.append(bday)
            sex_l.append(np.where(rng.random(nb) < 0.52, 1, 2).astype(np.int8))
            county_l.append(county_all[m])
            hh_l.append(hh_all[m])
            insu_l.append(bday)
        # in-movers: adults with their own household
        ni = int(round(MOVE_IN_RATE * alive.sum()))
        if ni:
            idate = ys + rng.integers(0, ndays, ni)
            brdy_l.append(idate - ((20 + rng.random(ni) * 30) * 365.2425).astype(np.int64))
            sex_l.append(np.where(rng.random(ni) < 0.5, 1, 2).astype(np.int8))
            county_l.append(rng.choice(ncounty, size=ni, p=region.population / region.population.sum()))
            hh_l.append(np.arange(total, total + ni) + nb * 0 + 10**9)
            insu_l.append(idate)
        add = (nb if len(mothers) else 0) + ni
        death = np.concatenate([death, np.full(add, NEVER, dtype=np.int64)])
        move_out = np.concatenate([move_out, np.full(add, NEVER, dtype=np.int64)])
        total += add
    brdy = np.concatenate(brdy_l)
    sex = np.concatenate(sex_l)
    county = np.concatenate(county_l)
    hh_raw = np.concatenate(hh_l)
    insu = np.concatenate(insu_l)
    n = total
    # order persons by household so that a household's members are neighbours
    order = np.lexsort((brdy, hh_raw))
    brdy, sex, county, hh_raw, insu, death, move_out = (a[order] for a in (brdy, sex, county, hh_raw, insu, death, move_out))
    _, hh_idx = np.unique(hh_raw, return_inverse=True)
    rng = stream(seed, "population", "attributes")
    age_start = (start - brdy) / 365.2425
    # --- insurance status --------------------------------------------------------------------
    is_city = region.is_city[county]
    work_age = (age_start >= 18) & (age_start < 60)
    p_emp = np.where(is_city, 0.50, 0.33) * np.clip((age_start - 17) / 6, 0, 1)
    retire_age = np.where(sex == 1, 60.0, np.where(rng.random(n) < 0.5, 50.0, 55.0))
    old = age_start >= retire_age
    employee = np.where(work_age | (age_start < 18), (rng.random(n) < p_emp) & (age_start >= 18),
                        rng.random(n) < np.where(is_city, 0.45, 0.30))
    employee &= (insu < 0) | (age_start >= 18)
    retired_at = np.where(employee, brdy + (retire_age * 365.2425).astype(np.int64), NEVER)
    retired_at = np.where(employee & old, np.minimum(retired_at, start - 1), retired_at)
    cvlserv = employee & (rng.random(n) < np.where(is_city, 0.09, 0.06))
    # --- assistance (residents only): tekun by person, the others by household --------------
    assistance = np.full(n, -1, dtype=np.int8)
    resident = ~employee
    hh_u = rng.random(hh_idx.max() + 1)[hh_idx]
    rural = ~is_city
    res_share = resident.mean()
    lo = 0.0
    for gi, (_name, _code, rate) in list(enumerate(ASSISTANCE))[1:]:
        w = rate / res_share * np.where(rural, 1.15, 0.75)
        sel = resident & (hh_u >= lo) & (hh_u < lo + w)
        assistance[sel] = gi
        lo = lo + w
    tk_w = np.where(age_start >= 60, 4.0, 0.6)
    tk_p = ASSISTANCE[0][2] * tk_w / (tk_w * resident).mean()
    tekun = resident & (rng.random(n) < tk_p) & (age_start >= 16)
    assistance[tekun] = 0
    # --- other attributes --------------------------------------------------------------------
    naty_codes = np.array([int(c) for c, _ in NATY])
    naty_p = np.array([w for _, w in NATY])
    naty = naty_codes[rng.choice(len(NATY), size=n, p=naty_p / naty_p.sum())]
    hire = brdy + ((rng.uniform(20, 30, n)) * 365.2425).astype(np.int64)
    res_join = day_of("2008-01-01") + rng.integers(0, 365 * 8, n)
    insu = np.where(insu >= 0, insu, np.where(employee, np.maximum(hire, day_of("1998-12-01")),
                                              np.maximum(res_join, brdy)))
    insu = np.minimum(insu, np.maximum(start - 1 - rng.integers(0, 1500, n), brdy))
    acct = np.where(employee, np.exp(rng.normal(np.where(old, 8.3, 7.6), 0.9)) * 100, 0).astype(np.int64)
    # employers: ~1 per 40 employees per county, plus government bodies for civil servants
    employer = np.full(n, -1, dtype=np.int64)
    employer_names: list[str] = []
    for c in range(len(region.admdvs)):
        cname = region.county_name[c]
        ne = max(3, int((employee & (county == c)).sum() / 40))
        base = len(employer_names)
        for k in range(ne):
            place = ("嘉宁", "岷江", "东坡", "天府", "锦程", "恒通", "盛达", "宏远", "鑫源", "华信")[k % 10]
            employer_names.append(f"{region.city_name[:2]}{place}{INDUSTRY[(k * 7 + c) % len(INDUSTRY)]}"
                                  f"{'有限公司' if k % 3 else '股份有限公司'}" + (f"{cname}分公司" if k >= 10 else ""))
        gbase = len(employer_names)
        employer_names.extend(f"{cname}{g}" for g in GOV)
        sel = employee & (county == c)
        employer[sel] = base + rng.integers(0, ne, sel.sum())
        selc = cvlserv & (county == c)
        employer[selc] = gbase + rng.integers(0, len(GOV), selc.sum())
    # --- chronic care (internal) ---------------------------------------------------------------
    a = age_start
    htn_p = np.interp(a, [30, 35, 45, 55, 65, 75], [0, 0.04, 0.10, 0.20, 0.30, 0.35])
    dm_p = np.interp(a, [30, 35, 45, 55, 65], [0, 0.02, 0.05, 0.09, 0.12])
    htn = rng.random(n) < htn_p
    dm = rng.random(n) < dm_p
    mtb = (htn | dm) & (rng.random(n) < 0.6)
    # --- identity ---------------------------------------------------------------------------
    region_codes = list(region.admdvs) + list(OTHER_BIRTHPLACES)
    born_elsewhere = rng.random(n) < np.where(insu > brdy + 365 * 18, 0.25, 0.06)
    birth_region = np.where(born_elsewhere, len(region.admdvs) + rng.integers(0, len(OTHER_BIRTHPLACES), n), county)
    reg6 = np.array([int(x) for x in region_codes])[birth_region]
    order2 = np.lexsort((np.arange(n), sex, brdy, reg6))
    key = (reg6[order2] * 100000 + (brdy[order2] + 40000)) * 4 + sex[order2]
    first = np.r_[True, key[1:] != key[:-1]]
    grp_start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    rank = np.empty(n, dtype=np.int64)
    rank[order2] = np.arange(n) - grp_start
    offset = (brdy * 7 + reg6 * 13) % 60
    seq3 = 2 * (rank + offset) + np.where(sex == 1, 1, 2)
    if seq3.max() > 999:
        raise ValueError("too many persons born on one day in one place for 3-digit sequence numbers")
    certno = _certnos(reg6, brdy, seq3)
    age_now = age_years(brdy, np.full(n, start))
    name = _names(rng, sex, np.maximum(age_now, 0))
    psn_no = concat_str(region.prefecture, int_str(np.arange(1, n + 1), 10))
    pref = rng.integers(0, 1 << 30, n)
    return Population(
        n=n, psn_no=psn_no, certno=certno, name=name, sex=sex.astype(np.int8), brdy=brdy, county=county.astype(np.int16),
        birth_region=birth_region, household=hh_idx, naty=naty, employee=employee, retired_at=retired_at,
        cvlserv=cvlserv, assistance=assistance, insu_date=insu, death=death, move_out=move_out,
        acct_balc_fen=acct, employer=employer, employer_names=employer_names, htn=htn, dm=dm, mtb=mtb,
        pref=pref, region_codes=region_codes,
    )


def psn_type_at(pop: Population, day: int) -> np.ndarray:
    """National psn_type code on a day: 11/12 employees, 1401–1404/15/16 residents."""
    age = age_years(pop.brdy, np.full(pop.n, day))
    res = np.select(
        [age < 1, age < 7, age < 19, (age < 23) & (pop.pref % 3 == 0), age < 60],
        ["1401", "1402", "1403", "1404", "15"], "16",
    )
    emp = np.where(pop.retired_at <= day, "12", "11")
    return np.where(pop.employee, emp, res)


def persons_table(pop: Population, region: Region, snapshot_day: int) -> pa.Table:
    names = [g for g, _, _ in ASSISTANCE]
    idet = [c for _, c, _ in ASSISTANCE]
    asg = pop.assistance
    psn_type = psn_type_at(pop, snapshot_day)
    hh_admdvs = np.array([int(x) for x in region.admdvs])[pop.county]
    hsecfc = concat_str("HH", int_str(hh_admdvs, 6), int_str(pop.household + 1, 8))
    return pa.table({
        "psn_no": pop.psn_no,
        "psn_cert_type": pa.array(np.full(pop.n, "01")),
        "certno": pop.certno,
        "psn_name": pop.name,
        "gend": pa.array(pop.sex.astype(str)),
        "naty": pa.array(pop.naty.astype(str)),
        "brdy": date_array(pop.brdy),
        "hsecfc": hsecfc,
        "insutype": pa.array(np.where(pop.employee, "310", "390")),
        "psn_type": pa.array(psn_type),
        "insu_admdvs": take_str(region.admdvs, pop.county),
        "emp_name": take_str(pop.employer_names, pop.employer),
        "cvlserv_flag": pa.array(np.where(pop.cvlserv, "1", "0")),
        "assistance": take_str(names, asg.astype(np.int64)),
        "psn_idet_type": take_str(idet, asg.astype(np.int64)),
        "acct_balc": decimal_array_nullable(pop.acct_balc_fen, pop.employee, 16, 2),
        "psn_insu_date": date_array(pop.insu_date),
        "death_date": date_array(np.where(pop.death == NEVER, 0, pop.death), pop.death != NEVER),
        "move_out_date": date_array(np.where(pop.move_out == NEVER, 0, pop.move_out), pop.move_out != NEVER),
    })
