import re

import pyarrow.parquet as pq

from yibao.synth.region import uscc


def test_institution_codes_unique_and_well_formed(region):
    t = pq.read_table(region / "institutions.parquet").to_pylist()
    admdvs = {r["admdvs"] for r in pq.read_table(region / "admdvs.parquet").to_pylist()}
    codes = [r["fixmedins_code"] for r in t]
    assert len(codes) == len(set(codes))
    names = [r["fixmedins_name"] for r in t]
    assert len(names) == len(set(names))
    for r in t:
        c = r["fixmedins_code"]
        assert len(c) == 12 and re.fullmatch(r"[HP]\d{11}", c), c
        assert c[1:7] == r["admdvs"] and r["admdvs"] in admdvs
        if c[0] == "H":
            assert r["fixmedins_type"] == "1"
            assert r["medins_lv"] in ("level3", "level2", "level1", "township", "village")
            assert r["hosp_lv"] in {str(i) for i in range(1, 15)}
        else:
            assert r["fixmedins_type"] == "2" and r["medins_lv"] is None
        u = r["uscc"]
        assert len(u) == 18 and uscc(u[:2], u[2:8], u[8:16]) == u
    levels = {r["medins_lv"] for r in t}
    assert levels == {"level3", "level2", "level1", "township", "village", None}
    assert any("村卫生室" in n for n in names) and any("卫生院" in n or "社区卫生服务中心" in n for n in names)


def test_geography(region):
    t = pq.read_table(region / "admdvs.parquet").to_pylist()
    counties = [r for r in t if r["admdvs"] != "511400"]
    assert 3 <= len(counties) <= 8
    assert sum(r["is_city_district"] for r in counties) == 1
    assert all(re.fullmatch(r"5114\d\d", r["admdvs"]) for r in t)
    assert t[0]["population"] == sum(r["population"] for r in counties)
