import pyarrow.parquet as pq


def test_procedures_point_at_encounters(region):
    pr = pq.read_table(next((region / "procedures").glob("*/*.parquet"))).to_pylist()
    enc = {r["mdtrt_id"]: r for r in pq.read_table(next((region / "encounters").glob("*/*.parquet")),
                                                   columns=["mdtrt_id", "begntime", "endtime", "med_type"]).to_pylist()}
    assert len(pr) > 50
    mains = {}
    for r in pr:
        e = enc[r["mdtrt_id"]]
        assert e["begntime"].date() <= r["oprn_oprt_date"] <= e["endtime"].date()
        mains[r["mdtrt_id"]] = mains.get(r["mdtrt_id"], 0) + (r["main_oprn_flag"] == "1")
        assert (r["srt_no"] == 1) == (r["main_oprn_flag"] == "1")
    assert set(mains.values()) == {1}
