from .conftest import q


def test_care_volumes(con):
    n = q(con, "select count(*) from p where psn_insu_date <= '2024-01-01'")[0][0]
    visits = q(con, "select count(*) from e where med_type in ('11', '13', '14')")[0][0] / n
    admissions = q(con, "select count(*) from e where med_type = '21'")[0][0] / n
    assert 6 * 0.85 <= visits <= 6 * 1.15, visits
    assert 0.2 * 0.8 <= admissions <= 0.2 * 1.2, admissions
    los = q(con, "select avg(ipt_days) from e where med_type = '21' and ipt_days <= 60")[0][0]
    assert 6 <= los <= 12


def test_population_shares(con):
    n = q(con, "select count(*) from p")[0][0]
    emp = q(con, "select count(*) from p where insutype = '310'")[0][0] / n
    assert 0.25 <= emp <= 0.30, emp
    share = dict(q(con, "select assistance, count(*) from p where assistance is not null group by 1"))
    assert 0.02 <= share["dibao"] / n <= 0.04
    assert 0.001 <= share["tekun"] / n <= 0.008
    assert 0.01 <= share["poverty"] / n <= 0.03
    assert 0.008 <= share["low_income"] / n <= 0.025
    deaths = q(con, "select count(*) from p where year(death_date) = 2024")[0][0] / n
    assert 0.003 <= deaths <= 0.012
    births = q(con, "select count(*) from p where year(brdy) = 2024")[0][0] / n
    assert 0.005 <= births <= 0.012
    old = q(con, "select count(*) from p where brdy <= '1959-01-01'")[0][0] / n
    young = q(con, "select count(*) from p where brdy > '2009-01-01'")[0][0] / n
    assert 0.11 <= old <= 0.17 and 0.15 <= young <= 0.21  # 65+ and 0–14 shares near the 2020 census
    male = q(con, "select count(*) from p where gend = '1'")[0][0] / n
    assert 0.49 <= male <= 0.535


def test_cost_by_level_has_long_tail(con):
    rows = q(con, """select i.medins_lv, avg(e.medfee_sumamt), median(e.medfee_sumamt), max(e.medfee_sumamt)
                     from e join i using (fixmedins_code) where e.med_type = '21' group by 1""")
    by = {r[0]: [float(x) for x in r[1:]] for r in rows}
    assert by["level3"][0] > by["level2"][0] > by["level1"][0] > by["township"][0]
    assert by["level3"][0] > by["level3"][1] * 1.2, "mean above median: right-skewed"
    assert by["level3"][2] > 10 * by["level3"][1]
