-- 死亡后就医: an encounter that begins after the person's date of death.
select mdtrt_id, cast(null as string) as feedetl_sn, psn_no, fixmedins_code, cast(null as string) as med_list_codg,
       begn_date as event_date, medfee as amount, death_date as ev_death_date, {{ days('death_date', 'begn_date') }} as ev_days_after_death
from ex where death_date is not null and begn_date > death_date
