-- 机构统计异常: per year and peer group (institution level x case group: DRG where grouped, else the
-- first dx_prefix_len characters of the principal diagnosis), each institution's mean of a per-case
-- measure against the other institutions of the group: robust z = 0.6745 x (x - median) / MAD.
-- Flagged: z above z_threshold with at least min_cases cases, in groups of at least min_peers institutions.
with cases as (
    select e.mdtrt_id, e.fixmedins_code, e.medins_lv, e.year,
           coalesce(e.drg_code, substr(e.dscg_maindiag_code, 1, {{ p.dx_prefix_len | int }})) as case_group,
           {% if p.measure == 'cost' %}e.medfee{% else %}coalesce(n.n_lines, 0){% endif %} as x
    from ex e
    {% if p.measure != 'cost' %}left join (select mdtrt_id, count(*) as n_lines from lx where cnt > 0 group by mdtrt_id) n on n.mdtrt_id = e.mdtrt_id{% endif %}
    where e.med_type in ({{ p.med_types | sqllist }})
), prov as (
    select year, medins_lv, case_group, fixmedins_code, count(*) as n, sum(x) as total, avg(x) as mean_x
    from cases group by year, medins_lv, case_group, fixmedins_code
    having count(*) >= {{ p.min_cases | int }}
), peer as (
    select year, medins_lv, case_group, median(mean_x) as med, count(*) as peers from prov group by year, medins_lv, case_group
), dev as (
    select p.*, abs(p.mean_x - g.med) as d, g.med, g.peers from prov p
    join peer g on g.year = p.year and g.medins_lv = p.medins_lv and g.case_group = p.case_group
    where g.peers >= {{ p.min_peers | int }}
), mad as (
    select year, medins_lv, case_group, median(d) as mad from dev group by year, medins_lv, case_group
), z as (
    select d.*, m.mad, 0.6745 * (d.mean_x - d.med) / m.mad as z from dev d
    join mad m on m.year = d.year and m.medins_lv = d.medins_lv and m.case_group = d.case_group
    where m.mad > 0
)
select cast(null as string) as mdtrt_id, cast(null as string) as feedetl_sn, cast(null as string) as psn_no,
       fixmedins_code, cast(null as string) as med_list_codg, {{ make_date('year', 12, 31) }} as event_date,
       {% if p.measure == 'cost' %}cast(round(total - med * n, 0) as bigint){% else %}cast(0 as bigint){% endif %} as amount,
       case_group as ev_case_group, medins_lv as ev_medins_lv, n as ev_cases, round(mean_x, 2) as ev_mean,
       round(med, 2) as ev_peer_median, round(mad, 2) as ev_peer_mad, round(z, 2) as ev_robust_z, peers as ev_peers,
       year as ev_year
from z where z > {{ p.z_threshold }}
