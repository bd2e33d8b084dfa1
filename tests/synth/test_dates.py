from .conftest import q


def test_encounters_within_year_after_birth_before_death(con):
    assert q(con, "select count(*) from e where year(begntime) <> 2024 or year(endtime) <> 2024")[0][0] == 0
    assert q(con, "select count(*) from e where begntime > endtime")[0][0] == 0
    assert q(con, "select count(*) from e join p using (psn_no) where cast(begntime as date) < p.brdy")[0][0] == 0
    after_death = q(con, """select count(*) filter (where mdtrt_id not in
                               (select mdtrt_id from labels where pattern = 'care_after_death')), count(*)
                            from e join p using (psn_no) where cast(e.begntime as date) > p.death_date""")[0]
    assert after_death[0] == 0 and after_death[1] > 0
    moved = q(con, """select count(*) from e join p using (psn_no)
                      where cast(e.begntime as date) >= p.move_out_date""")
    assert moved[0][0] == 0
    assert q(con, """select count(*) from e join p using (psn_no)
                     where cast(begntime as date) < p.psn_insu_date""")[0][0] == 0


def test_fee_times_inside_encounter(con):
    bad = q(con, "select count(*) from f join e using (mdtrt_id) where f.fee_ocur_time < e.begntime or f.fee_ocur_time > e.endtime")
    assert bad[0][0] == 0


def test_inpatient_fields(con):
    bad = q(con, """select count(*) from e where med_type = '21' and (ipt_days is null or ipt_days < 1
                    or date_diff('day', cast(begntime as date), cast(endtime as date)) <> ipt_days or dscg_way is null)""")
    assert bad[0][0] == 0
    assert q(con, "select count(*) from e where med_type <> '21' and (ipt_days is not null or dscg_way is not null)")[0][0] == 0
    # deaths in hospital end on the death date
    bad = q(con, "select count(*) from e join p using (psn_no) where dscg_way = '5' and cast(endtime as date) <> p.death_date")
    assert bad[0][0] == 0
    assert q(con, "select count(*) from e where med_type = '14' and dise_codg is null")[0][0] == 0


def test_diagnoses_and_procedures(con):
    assert q(con, "select count(*) from e where mdtrt_id not in (select mdtrt_id from dx where maindiag_flag = '1')")[0][0] == 0
    assert q(con, """select count(*) from e join dx on dx.mdtrt_id = e.mdtrt_id and dx.maindiag_flag = '1'
                     where dx.diag_code <> e.dscg_maindiag_code or dx.diag_srt_no <> 1""")[0][0] == 0
    assert q(con, "select count(*) from dx group by mdtrt_id having count(*) filter (where maindiag_flag = '1') <> 1") == []
    surgical = q(con, """select count(*) from e where med_type = '21' and dscg_maindiag_code in
                         ('K35.800', 'K80.100', 'O82.000', 'H25.900', 'M17.100')""")[0][0]
    assert surgical > 0
