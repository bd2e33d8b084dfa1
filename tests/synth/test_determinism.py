import json

from yibao.synth import generate


def test_same_seed_same_bytes_different_seed_different_data(tmp_path):
    a = generate(persons=1200, seed=5, out=tmp_path / "a", years="2023-2024")
    b = generate(persons=1200, seed=5, out=tmp_path / "b", years="2023-2024")
    c = generate(persons=1200, seed=6, out=tmp_path / "c", years="2023-2024")
    assert a["files"] == b["files"]
    assert (tmp_path / "a" / "manifest.json").read_bytes() == (tmp_path / "b" / "manifest.json").read_bytes()
    assert len(a["files"]) >= 25
    for name in ("persons.parquet", "labels.parquet", "fee_lines/year=2024/part-0.parquet", "civil_affairs_roster.parquet"):
        assert a["files"][name] != c["files"][name], name
    # the catalogue does not depend on the seed
    assert a["files"]["catalogue.parquet"] == c["files"]["catalogue.parquet"]
    m = json.loads((tmp_path / "a" / "manifest.json").read_text(encoding="utf-8"))
    assert m["seed"] == 5 and m["persons"] == 1200 and m["years"] == [2023, 2024]
    import hashlib
    for name, digest in m["files"].items():
        assert hashlib.sha256((tmp_path / "a" / name).read_bytes()).hexdigest() == digest
    assert m["row_counts"]["fee_lines"] == sum(v for k, v in m["row_counts"].items() if k.startswith("fee_lines/"))
