-- 挂床住院: a stay with at least min_days dates that have a bed line and no line other than the allowed
-- types (bed, nursing). At stake: the lines of those dates.
with d as (
    select mdtrt_id, fee_date,
           max(case when med_chrgitm_type in ({{ p.bed_types | sqllist }}) then 1 else 0 end) as has_bed,
           min(case when med_chrgitm_type in ({{ p.allowed_types | sqllist }}) then 1 else 0 end) as only_allowed,
           sum(amt) as day_amt
    from lx where med_type = '21' and cnt > 0 group by mdtrt_id, fee_date
), idle as (
    select mdtrt_id, count(*) as idle_days, sum(day_amt) as idle_amt, min(fee_date) as first_idle, max(fee_date) as last_idle
    from d where has_bed = 1 and only_allowed = 1 group by mdtrt_id
)
select e.mdtrt_id, cast(null as string) as feedetl_sn, e.psn_no, e.fixmedins_code, cast(null as string) as med_list_codg,
       e.begn_date as event_date, i.idle_amt as amount, i.idle_days as ev_idle_days, i.first_idle as ev_first_idle_day,
       i.last_idle as ev_last_idle_day
from idle i join ex e on e.mdtrt_id = i.mdtrt_id
where i.idle_days >= {{ p.min_days | int }}
