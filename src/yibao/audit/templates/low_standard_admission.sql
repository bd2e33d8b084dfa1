-- 低标准入院: a short stay (at most max_days) with no procedure whose fees are mostly examinations and
-- laboratory tests (share of exam_types at least min_exam_share): care that an outpatient visit could give.
with f as (
    select mdtrt_id, sum(amt) as total,
           sum(case when med_chrgitm_type in ({{ p.exam_types | sqllist }}) then amt else 0 end) as exam
    from lx where med_type = '21' and cnt > 0 group by mdtrt_id
)
select e.mdtrt_id, cast(null as string) as feedetl_sn, e.psn_no, e.fixmedins_code, cast(null as string) as med_list_codg,
       e.begn_date as event_date, e.medfee as amount, e.ipt_days as ev_ipt_days, f.exam as ev_exam_amt, f.total as ev_total_amt
from f join ex e on e.mdtrt_id = f.mdtrt_id
anti join procedures p on p.mdtrt_id = e.mdtrt_id
where e.ipt_days <= {{ p.max_days | int }} and f.total > 0
  and f.exam * 10000 >= f.total * {{ (p.min_exam_share * 10000) | int }}
