"""What is in a generated region: counts and money totals (used by ``yibao synth describe``)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

MED_TYPE_NAMES = {"11": "普通门诊", "13": "急诊", "14": "门诊慢特病", "21": "普通住院", "41": "定点药店购药"}
LEVEL_NAMES = {"level3": "三级", "level2": "二级", "level1": "一级", "township": "乡镇卫生院/社区", "village": "村卫生室"}


def summary(region: str | Path) -> dict:
    d = Path(region)
    if not (d / "manifest.json").exists():
        raise FileNotFoundError(f"{d} is not a generated region (no manifest.json)")
    manifest = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    con = duckdb.connect()
    q = lambda sql: con.execute(sql).fetchall()
    enc = f"read_parquet('{d}/encounters/*/*.parquet', hive_partitioning = true)"
    out: dict = {"manifest": {k: manifest[k] for k in ("seed", "persons", "persons_total", "years", "generator_version")}}
    out["admdvs"] = q(f"select admdvs, name, is_city_district, population from '{d}/admdvs.parquet' order by admdvs")
    out["persons"] = q(f"""select insutype, psn_type, count(*) from '{d}/persons.parquet' group by 1, 2 order by 1, 2""")
    out["assistance"] = q(f"""select coalesce(assistance, '-'), count(*) from '{d}/persons.parquet' group by 1 order by 1""")
    out["life_events"] = q(f"""select count(death_date), count(move_out_date), sum(acct_balc)
                               from '{d}/persons.parquet'""")[0]
    out["institutions"] = q(f"""select coalesce(medins_lv, 'pharmacy'), count(*), sum(beds) from '{d}/institutions.parquet'
                               group by 1 order by 2""")
    out["catalogue"] = q(f"""select list_type, count(*) from '{d}/catalogue.parquet' group by 1 order by 1""")
    out["encounters"] = q(f"""select year, med_type, count(*), sum(medfee_sumamt), avg(medfee_sumamt)
                             from {enc} group by 1, 2 order by 1, 2""")
    out["inpatient_by_level"] = q(f"""select i.medins_lv, count(*), avg(e.medfee_sumamt), median(e.medfee_sumamt),
                                         quantile_cont(e.medfee_sumamt, 0.99), avg(e.ipt_days)
                                  from {enc} e join '{d}/institutions.parquet' i using (fixmedins_code)
                                  where e.med_type = '21' group by 1 order by 3 desc""")
    out["fee_lines"] = q(f"""select count(*), sum(det_item_fee_sumamt), count(init_feedetl_sn)
                            from read_parquet('{d}/fee_lines/*/*.parquet')""")[0]
    out["labels"] = q(f"""select pattern, any_value(pattern_name), count(*), sum(amount_at_stake)
                         from '{d}/labels.parquet' group by 1 order by 1""")
    out["roster"] = q(f"""select count(*), count(psn_no) from '{d}/roster_truth.parquet'""")[0]
    out["pharmacy"] = q(f"""select (select count(*) from '{d}/sales.parquet'), (select count(*) from '{d}/purchases.parquet')""")[0]
    return out


def render(region: str | Path, console) -> None:
    from rich.table import Table

    s = summary(region)
    m = s["manifest"]
    console.print(f"[bold]区域[/bold] {region}  seed={m['seed']}  persons={m['persons']:,} (含出生/迁入共 {m['persons_total']:,})  "
                  f"years={m['years'][0]}–{m['years'][-1]}  generator {m['generator_version']}")
    t = Table(title="行政区划 admdvs")
    for c in ("admdvs", "名称", "市辖区", "年末人口"):
        t.add_column(c)
    for a, n, city, pop in s["admdvs"]:
        t.add_row(a, n, "是" if city else "", f"{pop:,}")
    console.print(t)
    t = Table(title="参保人员 persons")
    for c in ("insutype", "psn_type", "人数"):
        t.add_column(c)
    for a, b, n in s["persons"]:
        t.add_row(a, b, f"{n:,}")
    console.print(t)
    deaths, moves, acct = s["life_events"]
    console.print("救助身份: " + ", ".join(f"{a} {n:,}" for a, n in s["assistance"])
                  + f"；死亡 {deaths:,}，迁出 {moves:,}；职工个人账户余额合计 {acct:,.2f} 元")
    t = Table(title="定点医药机构 institutions")
    for c in ("medins_lv", "机构数", "床位"):
        t.add_column(c)
    for a, n, beds in s["institutions"]:
        t.add_row(f"{a} {LEVEL_NAMES.get(a, '零售药店')}", f"{n:,}", f"{beds or 0:,}")
    console.print(t)
    console.print("医保目录: " + ", ".join(f"{a}: {n:,}" for a, n in s["catalogue"]))
    t = Table(title="就诊 encounters（金额：元）")
    for c in ("年度", "med_type", "人次", "医疗费用总额", "次均"):
        t.add_column(c, justify="right")
    for y, mt, n, total, avg in s["encounters"]:
        t.add_row(str(y), f"{mt} {MED_TYPE_NAMES.get(mt, '')}", f"{n:,}", f"{total:,.2f}", f"{avg:,.2f}")
    console.print(t)
    t = Table(title="住院费用按机构等级（元）")
    for c in ("medins_lv", "人次", "均值", "中位数", "P99", "平均住院日"):
        t.add_column(c, justify="right")
    for lv, n, mean, med, p99, los in s["inpatient_by_level"]:
        t.add_row(lv, f"{n:,}", f"{mean:,.0f}", f"{med:,.0f}", f"{p99:,.0f}", f"{los:.1f}")
    console.print(t)
    n, total, refunds = s["fee_lines"]
    console.print(f"费用明细 {n:,} 条，合计 {total:,.2f} 元，其中退费行 {refunds:,} 条")
    t = Table(title="注入的违规（labels）")
    for c in ("pattern", "名称", "条数", "涉及金额"):
        t.add_column(c)
    for p, name, n, amt in s["labels"]:
        t.add_row(p, name, f"{n:,}", f"{amt:,.2f}")
    console.print(t)
    rows, matched = s["roster"]
    sales, purchases = s["pharmacy"]
    console.print(f"民政救助名单 {rows:,} 行（其中 {matched:,} 行对应参保人）；药店销售 {sales:,} 行，购进 {purchases:,} 行")
