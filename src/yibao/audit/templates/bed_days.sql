-- 床日与住院天数不符: a stay whose billed bed days (quantity of bed-type lines) exceed its days of stay
-- (discharge date - admission date) by more than the tolerance; at stake: the bed lines from the first
-- one past the days of stay.
with bed as (
    select l.*, sum(cnt) over (partition by mdtrt_id order by fee_ocur_time, sn
                               rows between unbounded preceding and current row) as running
    from lx l where l.med_type = '21' and l.med_chrgitm_type in ({{ p.bed_types | sqllist }})
), stay as (
    select b.mdtrt_id, sum(b.cnt) as bed_days,
           sum(case when b.running > e.ipt_days + {{ p.tolerance_days | int }} then b.amt else 0 end) as excess_amt
    from bed b join ex e on e.mdtrt_id = b.mdtrt_id group by b.mdtrt_id
)
select e.mdtrt_id, cast(null as string) as feedetl_sn, e.psn_no, e.fixmedins_code, cast(null as string) as med_list_codg,
       e.begn_date as event_date, s.excess_amt as amount, s.bed_days as ev_bed_days, e.ipt_days as ev_ipt_days
from stay s join ex e on e.mdtrt_id = s.mdtrt_id
where s.bed_days > e.ipt_days + {{ p.tolerance_days | int }}
