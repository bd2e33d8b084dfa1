-- 非参保期间就医: an encounter before the person's insurance began, or on or after the day the person
-- moved out of the region (deaths are the care_after_death rule's).
select mdtrt_id, cast(null as string) as feedetl_sn, psn_no, fixmedins_code, cast(null as string) as med_list_codg,
       begn_date as event_date, medfee as amount, insu_begn_date as ev_insu_begn_date, move_out_date as ev_move_out_date
from ex
where begn_date < insu_begn_date or (death_date is null and move_out_date is not null and begn_date >= move_out_date)
