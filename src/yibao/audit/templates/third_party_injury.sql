-- 第三方责任外伤: an encounter that declares a liable third party (REL_TTP_FLAG = 1) or has a diagnosis
-- whose first three characters fall in one of the external-cause ranges (transport accidents, assault).
with dx as (
    select distinct d.mdtrt_id from diagnoses d where
    {% for r in p.dx_ranges %}{% if not loop.first %} or {% endif %}substr(d.diag_code, 1, 3) between {{ r[0] | sqlstr }} and {{ r[1] | sqlstr }}{% endfor %}
)
select e.mdtrt_id, cast(null as string) as feedetl_sn, e.psn_no, e.fixmedins_code, cast(null as string) as med_list_codg,
       e.begn_date as event_date, e.medfee as amount, e.rel_ttp_flag as ev_rel_ttp_flag,
       case when dx.mdtrt_id is null then 0 else 1 end as ev_external_cause_dx
from ex e left join dx on dx.mdtrt_id = e.mdtrt_id
where e.rel_ttp_flag = '1' or dx.mdtrt_id is not null
