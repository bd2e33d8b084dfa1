-- 分解住院: a stay that begins 0..max_gap_days after the person's previous stay (by begntime) ended, with
-- the same first dx_prefix_len characters of the principal diagnosis. Planned courses (放疗/化疗,
-- principal diagnoses starting with one of exclude_dx_prefixes, Z51 by default) are readmissions
-- by design and are left out. At stake: the second stay.
with s as (
    select e.*, lag(end_date) over w as prev_end, lag(dscg_maindiag_code) over w as prev_dx,
           lag(mdtrt_id) over w as prev_mdtrt_id
    from ex e where med_type = '21'
    window w as (partition by psn_no order by begntime, mdtrt_id)
)
select mdtrt_id, cast(null as string) as feedetl_sn, psn_no, fixmedins_code, cast(null as string) as med_list_codg,
       begn_date as event_date, medfee as amount, prev_mdtrt_id as ev_previous_stay,
       {{ days('prev_end', 'begn_date') }} as ev_gap_days, dscg_maindiag_code as ev_main_diag, prev_dx as ev_previous_main_diag
from s
where prev_end is not null
  and {{ days('prev_end', 'begn_date') }} between 0 and {{ p.max_gap_days | int }}
  and substr(prev_dx, 1, {{ p.dx_prefix_len | int }}) = substr(dscg_maindiag_code, 1, {{ p.dx_prefix_len | int }})
{% for prefix in p.exclude_dx_prefixes %}
  and substr(dscg_maindiag_code, 1, {{ prefix | length }}) <> '{{ prefix }}'
{% endfor %}
