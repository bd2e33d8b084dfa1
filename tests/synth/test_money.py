from decimal import ROUND_HALF_UP, Decimal

import pyarrow.parquet as pq

from .conftest import q


def test_schema_money_types(region):
    s = pq.read_schema(next((region / "fee_lines").glob("*/*.parquet")))
    assert str(s.field("pric").type) == "decimal128(16, 6)"
    assert str(s.field("cnt").type) == "decimal128(16, 4)"
    assert str(s.field("det_item_fee_sumamt").type) == "decimal128(16, 2)"
    assert str(pq.read_schema(region / "persons.parquet").field("acct_balc").type) == "decimal128(16, 2)"
    assert str(pq.read_schema(region / "catalogue.parquet").field("pric_uplmt_amt").type) == "decimal128(16, 6)"


def test_every_amount_is_price_times_count_rounded_half_up(region):
    t = pq.read_table(next((region / "fee_lines").glob("*/*.parquet")), columns=["pric", "cnt", "det_item_fee_sumamt"])
    pric = t["pric"].to_pylist()
    cnt = t["cnt"].to_pylist()
    amt = t["det_item_fee_sumamt"].to_pylist()
    assert len(amt) > 100_000
    cent = Decimal("0.01")
    for p, c, a in zip(pric, cnt, amt):
        assert (p * c).quantize(cent, rounding=ROUND_HALF_UP) == a, (p, c, a)
        assert abs(p * c - a) <= cent
    assert any(p != p.quantize(cent) for p in pric), "some unit prices have more than two decimals"
    assert any(c != c.to_integral_value() for c in cnt), "some quantities are fractional"


def test_encounter_totals_and_refunds(con):
    bad = q(con, """select count(*) from e join (select mdtrt_id, sum(det_item_fee_sumamt) s from f group by 1) t
                    using (mdtrt_id) where t.s <> e.medfee_sumamt""")
    assert bad[0][0] == 0
    assert q(con, "select count(*) from e where medfee_sumamt < 0")[0][0] == 0
    n, bad = q(con, """select count(*), count(*) filter (where o.feedetl_sn is null or r.cnt >= 0 or -r.cnt > o.cnt
                        or r.med_list_codg <> o.med_list_codg or r.pric <> o.pric)
                       from f r left join f o on o.mdtrt_id = r.mdtrt_id and o.feedetl_sn = r.init_feedetl_sn
                       where r.init_feedetl_sn is not null""")[0]
    assert n > 0 and bad == 0
    assert q(con, "select count(*) from f where cnt < 0 and init_feedetl_sn is null")[0][0] == 0


def test_feedetl_sn_digits_unique_within_encounter(con):
    assert q(con, "select count(*) from f where not regexp_full_match(feedetl_sn, '[1-9][0-9]{0,14}')")[0][0] == 0
    assert q(con, "select count(*) - count(distinct (mdtrt_id, feedetl_sn)) from f")[0][0] == 0
    assert q(con, "select count(*) - count(distinct mdtrt_id) from e")[0][0] == 0


def test_clean_lines_respect_price_ceiling(con):
    over = q(con, """select count(*) from f join c using (med_list_codg)
                     where f.pric > c.pric_uplmt_amt and (f.mdtrt_id, f.feedetl_sn) not in
                       (select (mdtrt_id, feedetl_sn) from labels where pattern = 'price_over_ceiling')""")
    assert over[0][0] == 0
