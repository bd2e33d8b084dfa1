import pytest

from yibao.synth.check import compare
from yibao.synth.irregular import PATTERNS

from .conftest import q


def test_labels_point_at_real_rows(con):
    assert q(con, "select count(*) from labels where pattern not in (" + ",".join(f"'{p}'" for p in PATTERNS) + ")")[0][0] == 0
    assert q(con, "select count(*) from labels where mdtrt_id is not null and mdtrt_id not in (select mdtrt_id from e)")[0][0] == 0
    assert q(con, """select count(*) from labels l where feedetl_sn is not null and not exists
                     (select 1 from f where f.mdtrt_id = l.mdtrt_id and f.feedetl_sn = l.feedetl_sn)""")[0][0] == 0
    assert q(con, "select count(*) from labels where amount_at_stake <= 0")[0][0] == 0
    assert q(con, "select count(*) from labels where pattern_name is null or psn_no is null and pattern <> 'stock_mismatch'")[0][0] == 0
    assert q(con, "select count(*) from labels where pattern = 'stock_mismatch' and (fixmedins_code is null or med_list_codg is null)")[0][0] == 0
    found = {r[0] for r in q(con, "select distinct pattern from labels")}
    assert found == set(PATTERNS), set(PATTERNS) - found


def test_third_party_flags(con):
    flags = dict(q(con, """select json_extract_string(exp_content, '$.REL_TTP_FLAG') f, count(*) from e
                           where mdtrt_id in (select mdtrt_id from labels where pattern = 'third_party_injury') group by 1"""))
    assert set(flags) <= {"0", "1"} and sum(flags.values()) > 0
    normal = q(con, """select count(*) from e where exp_content is not null and mdtrt_id not in
                       (select mdtrt_id from labels where pattern = 'third_party_injury')
                       and json_extract_string(exp_content, '$.TRUM_FLAG') <> '1'""")
    assert normal[0][0] == 0


@pytest.mark.parametrize("fixture", ["region", "region_multi"])
def test_reference_detectors_find_exactly_the_labels(fixture, request):
    res = compare(request.getfixturevalue(fixture))
    for pattern, v in res.items():
        assert v["labelled"] > 0, pattern
        assert v["fp"] == 0 and v["fn"] == 0, (pattern, v)


def test_normal_care_stays_clean_without_injection(tmp_path):
    from yibao.synth import generate
    from yibao.synth.irregular import DEFAULT_RATES
    generate(persons=1500, seed=21, out=tmp_path / "clean", rates={k: 0.0 for k in DEFAULT_RATES})
    res = compare(tmp_path / "clean")
    assert all(v["detected"] == 0 and v["labelled"] == 0 for v in res.values()), res


def test_unknown_pattern_rejected(tmp_path):
    from yibao.synth import generate
    with pytest.raises(ValueError, match="unknown irregularity"):
        generate(persons=200, seed=1, out=tmp_path / "x", rates={"nonsense": 0.1})
