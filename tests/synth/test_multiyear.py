
from .conftest import q


def test_years_partitions_same_persons_and_growth(region_multi):
    from yibao.synth.check import connect
    con = connect(region_multi)
    for y in (2022, 2023, 2024):
        assert (region_multi / "encounters" / f"year={y}" / "part-0.parquet").exists()
        assert (region_multi / "fee_lines" / f"year={y}" / "part-0.parquet").exists()
    rows = dict(q(con, "select year, count(distinct psn_no) from e group by 1"))
    both = q(con, """select count(*) from (select distinct psn_no from e where year = 2022)
                     join (select distinct psn_no from e where year = 2024) using (psn_no)""")[0][0]
    assert both > 0.75 * rows[2022]
    assert q(con, "select count(*) from e where year(begntime) <> year or year(endtime) <> year")[0][0] == 0
    cost = dict(q(con, "select year, sum(medfee_sumamt) / count(distinct psn_no) from e group by 1"))
    assert cost[2024] > cost[2022], cost
    born = q(con, "select count(*) from p where year(brdy) between 2022 and 2024")[0][0]
    assert born > 0
    dead_before = q(con, """select count(*) from e join p using (psn_no) where cast(e.begntime as date) > p.death_date
                            and e.mdtrt_id not in (select mdtrt_id from labels where pattern = 'care_after_death')""")
    assert dead_before[0][0] == 0
    # a person's age advances: the same persons are older in the later years' encounters
    ages = dict(q(con, "select year, avg(year(begntime) - year(p.brdy)) from e join p using (psn_no) group by 1"))
    assert ages[2024] > ages[2022]


def test_drg_input_view_and_reference_codes(region_multi):
    import csv

    from .conftest import shared_data
    ref = shared_data() / "chs-drg-1.1"
    with open(ref / "icd10.csv", encoding="utf-8") as f:
        icd10 = {r["code"] for r in csv.DictReader(f)}
    with open(ref / "icd9cm3.csv", encoding="utf-8") as f:
        icd9 = {r["code"] for r in csv.DictReader(f)}
    with open(region_multi / "drg_input.csv", encoding="utf-8") as f:
        text = f.read()
    assert '"' not in text, "plain CSV: codes and ids need no quoting"
    assert text.splitlines()[0] == "id,gender,age,age_days,weight,dept,los,leaving_type,dx,px"
    rows = list(csv.DictReader(text.splitlines()))
    assert list(rows[0].keys()) == ["id", "gender", "age", "age_days", "weight", "dept", "los", "leaving_type", "dx", "px"]
    assert len(rows) > 100
    for r in rows:
        assert r["gender"] in ("1", "2")
        dx = r["dx"].split("|")
        assert dx and dx[0]
        assert set(dx) <= icd10, dx
        px = [p for p in r["px"].split("|") if p]
        assert set(px) <= icd9, px
        if r["age"] == "0" and int(r["age_days"]) <= 28:
            assert int(r["weight"]) > 0
    from yibao.synth.check import connect
    dx_codes = {r[0] for r in q(connect(region_multi), "select distinct diag_code from dx")}
    assert dx_codes <= icd10
