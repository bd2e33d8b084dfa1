import pyarrow.parquet as pq

from yibao.synth.population import check_digit


def test_roster_truth(region):
    roster = {r["row_id"]: r for r in pq.read_table(region / "civil_affairs_roster.parquet").to_pylist()}
    truth = {r["row_id"]: r for r in pq.read_table(region / "roster_truth.parquet").to_pylist()}
    persons = {r["psn_no"]: r for r in pq.read_table(region / "persons.parquet").to_pylist()}
    assert roster.keys() == truth.keys()
    noise_seen = set()
    unmatched = 0
    for rid, row in roster.items():
        t = truth[rid]
        noise = set((t["noise"] or "").split(";")) - {""}
        noise_seen |= noise
        if t["psn_no"] is None:
            unmatched += 1
            assert "not_insured" in noise
            continue
        p = persons[t["psn_no"]]
        assert p["assistance"] == row["group"]
        if not noise & {"name_typo", "variant_char", "missing_name"}:
            assert row["name"] == p["psn_name"]
        else:
            assert row["name"] != p["psn_name"]
        if "transposed_digits" in noise:
            assert row["certno"] != p["certno"] and sorted(row["certno"]) == sorted(p["certno"])
        elif "old_15_digit" in noise:
            assert len(row["certno"]) == 15 and row["certno"] == p["certno"][:6] + p["certno"][8:17]
        elif "missing_certno" in noise:
            assert row["certno"] is None
        else:
            assert row["certno"] == p["certno"]
        assert ("died" in noise) == (p["death_date"] is not None)
        assert ("moved_out" in noise) == (p["move_out_date"] is not None)
    assert unmatched > 0
    assert noise_seen >= {"name_typo", "transposed_digits", "old_15_digit", "missing_certno", "not_insured"}
    insured_certs = {p["certno"] for p in persons.values()}
    for rid, t in truth.items():
        if t["psn_no"] is None:
            c = roster[rid]["certno"]
            assert c not in insured_certs and c[17] == check_digit(c[:17])
    members = sum(1 for p in persons.values() if p["assistance"])
    assert sum(1 for t in truth.values() if t["psn_no"]) == members
