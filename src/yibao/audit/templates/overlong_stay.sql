-- 超长住院: a stay longer than max_days; at stake: the lines from day max_days + 1 of the stay on.
with late as (
    select l.mdtrt_id, sum(l.amt) as amt from lx l join ex e on e.mdtrt_id = l.mdtrt_id
    where e.med_type = '21' and e.ipt_days > {{ p.max_days | int }}
      and l.fee_date >= {{ add_days('e.begn_date', p.max_days | int) }}
    group by l.mdtrt_id
)
select e.mdtrt_id, cast(null as string) as feedetl_sn, e.psn_no, e.fixmedins_code, cast(null as string) as med_list_codg,
       e.begn_date as event_date, coalesce(late.amt, 0) as amount, e.ipt_days as ev_ipt_days
from ex e left join late on late.mdtrt_id = e.mdtrt_id
where e.med_type = '21' and e.ipt_days > {{ p.max_days | int }}
