import re

import pyarrow.parquet as pq


def test_catalogue_contents(region):
    t = pq.read_table(region / "catalogue.parquet").to_pylist()
    assert len(t) >= 2000
    names = {r["med_list_name"] for r in t}
    for n in ("一般诊疗费", "门/急诊留观诊查费", "静脉输液费", "一次性输液器", "床位费", "糖化血红蛋白测定"):
        assert n in names, n
    codes = [r["med_list_codg"] for r in t]
    assert len(codes) == len(set(codes))
    kinds = {"101": 0, "102": 0, "201": 0, "301": 0}
    for r in t:
        kinds[r["list_type"]] += 1
        c = r["med_list_codg"]
        if r["list_type"] == "201":
            assert re.fullmatch(r"\d{15}", c), c
        elif r["list_type"] == "301":
            assert c.startswith("C")
        elif r["list_type"] == "102":
            assert c.startswith("T")
        else:
            assert c[0] in "XZ" and (c[0] == "X") == (r["med_chrgitm_type"] == "09"), c
        assert r["chrgitm_lv"] in ("01", "02", "03")
        assert r["med_chrgitm_type"] in {f"{i:02d}" for i in range(1, 15)}
        assert r["pric"] > 0
        if r["pric_uplmt_amt"] is not None:
            assert r["pric_uplmt_amt"] >= r["pric"]
        if r["selfpay_prop"] is not None:
            assert 0 < r["selfpay_prop"] < 1
        assert r["bas_medn_flag"] in ("0", "1") and r["lmt_used_flag"] in ("0", "1")
    assert all(v >= 100 for v in kinds.values()), kinds
    assert sum(r["nego_drug"] for r in t) >= 20


def test_knowledge_tables_refer_to_catalogue(region):
    codes = set(pq.read_table(region / "catalogue.parquet", columns=["med_list_codg"])["med_list_codg"].to_pylist())
    cols = {"kb_gender": ["med_list_codg"], "kb_age": ["med_list_codg"], "kb_level": ["med_list_codg"],
            "kb_exclusive": ["med_list_codg_a", "med_list_codg_b"], "kb_included": ["med_list_codg", "included_med_list_codg"],
            "kb_frequency": ["med_list_codg"], "kb_indication": ["med_list_codg"], "kb_price": ["med_list_codg"],
            "kb_dx_evidence": ["med_list_codg"]}
    for name, cs in cols.items():
        t = pq.read_table(region / f"{name}.parquet")
        assert t.num_rows > 0, name
        for col in cs:
            assert set(t[col].to_pylist()) <= codes, (name, col)
    g = pq.read_table(region / "kb_gender.parquet").to_pylist()
    assert {r["gend"] for r in g} == {"1", "2"}
    f = {r["med_list_name"]: r for r in pq.read_table(region / "kb_frequency.parquet").to_pylist()}
    assert f["糖化血红蛋白测定"]["max_per_year"] == 4 and f["床位费"]["max_per_day"] == 1
    lv = pq.read_table(region / "kb_level.parquet").to_pylist()
    assert {r["min_medins_lv"] for r in lv} >= {"level2", "level3"}
    ind = pq.read_table(region / "kb_indication.parquet").to_pylist()
    assert all(re.fullmatch(r"[A-Z]\d{0,2}", r["icd10_prefix"]) for r in ind)
