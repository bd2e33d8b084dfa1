import re
from datetime import date

import pyarrow.parquet as pq

from yibao.synth.population import check_digit


def test_certnos_are_valid_and_match_birth_date_and_sex(region):
    t = pq.read_table(region / "persons.parquet", columns=["certno", "brdy", "gend", "psn_cert_type"]).to_pylist()
    assert len(t) >= 5000
    seen = set()
    for r in t:
        c = r["certno"]
        assert re.fullmatch(r"\d{17}[\dX]", c), c
        assert c[17] == check_digit(c[:17]), c
        assert date(int(c[6:10]), int(c[10:12]), int(c[12:14])) == r["brdy"]
        assert int(c[16]) % 2 == (1 if r["gend"] == "1" else 0), c
        assert r["psn_cert_type"] == "01"
        seen.add(c)
    assert len(seen) == len(t), "certnos must be unique"


def test_check_digit_reference_value():
    # GB 11643-1999 worked example
    assert check_digit("11010519491231002") == "X"


def test_person_fields(region, con):
    from .conftest import q
    rows = q(con, "select count(*), count(distinct psn_no), count(distinct hsecfc) from p")[0]
    assert rows[0] == rows[1]
    assert rows[2] < rows[0] / 1.5, "households group several persons"
    bad = q(con, """select count(*) from p where not (
        (insutype = '310' and psn_type in ('11', '12') and acct_balc is not null and acct_balc >= 0)
        or (insutype = '390' and psn_type in ('1401', '1402', '1403', '1404', '15', '16') and acct_balc is null))""")
    assert bad[0][0] == 0
    pairs = set(q(con, "select assistance, psn_idet_type from p where assistance is not null group by 1, 2"))
    assert pairs == {("tekun", "2304"), ("dibao", "2303"), ("poverty", "2302"), ("low_income", "2305")}
    assert q(con, "select count(*) from p where assistance is not null and insutype <> '390'")[0][0] == 0
    assert q(con, "select count(*) from p where cvlserv_flag = '1' and insutype <> '310'")[0][0] == 0
    assert q(con, "select count(*) from p where death_date is not null and death_date < brdy")[0][0] == 0
    assert q(con, "select count(*) from p where psn_insu_date < brdy")[0][0] == 0
    assert q(con, "select count(*) from p where emp_name is null and insutype = '310'")[0][0] == 0
    assert q(con, "select count(*) from p where length(psn_name) < 2")[0][0] == 0
    assert q(con, "select count(distinct naty) from p")[0][0] >= 3
