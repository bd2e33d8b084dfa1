import pytest
from sqlalchemy import func, select

from yibao.storage import schema
from yibao.synth import generate
from yibao.synth.load import LoadError, load, parquet_rows


@pytest.fixture(scope="module")
def small_region(tmp_path_factory):
    region = tmp_path_factory.mktemp("load") / "r"
    generate(persons=400, seed=9, out=region, years="2023-2024")
    return region


def test_load_region(small_region, engine):
    """On SQLite and on PostgreSQL (the ``engine`` fixture of tests/conftest.py)."""
    region = small_region
    url = engine.url.render_as_string(hide_password=False)
    counts = load(region, url)
    assert counts["persons"] == parquet_rows(region, "persons.parquet")
    assert counts["institutions"] == parquet_rows(region, "institutions.parquet")
    assert counts["catalogue"] == parquet_rows(region, "catalogue.parquet")
    assert counts["encounters"] == parquet_rows(region, "encounters")
    assert counts["fee_lines"] == parquet_rows(region, "fee_lines")
    assert counts["diagnoses"] == parquet_rows(region, "diagnoses")
    t = schema.metadata.tables
    import duckdb
    total = duckdb.sql(f"select sum(det_item_fee_sumamt) from read_parquet('{region}/fee_lines/*/*.parquet')").fetchall()[0][0]
    with engine.connect() as conn:
        fl = t["fee_lines"]
        s = conn.execute(select(func.sum(fl.c.det_item_fee_sumamt), func.sum(fl.c.fulamt_ownpay_amt + fl.c.overlmt_amt
                                + fl.c.preselfpay_amt + fl.c.inscp_scp_amt))).one()
        assert s[0] == int(total * 100) and s[1] == s[0]
        over = conn.execute(select(func.count()).where(fl.c.overlmt_amt > 0)).scalar_one()
        assert over >= 0
        ins = conn.execute(select(func.count()).select_from(t["insurance"])).scalar_one()
        assert ins == counts["persons"]
        ids = conn.execute(select(func.count()).select_from(t["identities"])).scalar_one()
        assert ids == duckdb.sql(f"select count(*) from '{region}/persons.parquet' where assistance is not null").fetchall()[0][0]
        pharm = conn.execute(select(func.count()).where(t["institutions"].c.medins_lv == "pharmacy")).scalar_one()
        assert pharm > 0
    with pytest.raises(LoadError, match="already holds data"):
        load(region, url)
    again = load(region, url, claims=False, replace=True)
    assert "fee_lines" not in again and again["persons"] == counts["persons"]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t["fee_lines"])).scalar_one() == 0
