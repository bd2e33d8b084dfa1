-- 机构统计异常: per year and peer group (institution level x case group: the DRG where stays are grouped,
-- else the first dx_prefix_len characters of the principal diagnosis), each institution's mean of a
-- per-case measure (cost in fen, or fee lines) against the other institutions of the group:
-- robust z = 0.6745 x (mean - peer median) / MAD (median absolute deviation of the institutions' means).
-- Flagged: z above z_threshold, with at least min_cases cases, in groups of at least min_peers institutions.
-- Medians are computed from ranks (the middle value, or the mean of the two middle values).
with cases as (
    select e.mdtrt_id, e.fixmedins_code, e.medins_lv, e.year,
           coalesce(e.drg_code, substr(e.dscg_maindiag_code, 1, {{ p.dx_prefix_len | int }})) as case_group,
           {% if p.measure == 'cost' %}e.medfee{% else %}coalesce(n.n_lines, cast(0 as bigint)){% endif %} as x
    from ex e
    {% if p.measure != 'cost' %}left join (select mdtrt_id, count(*) as n_lines from lx where cnt > 0 group by mdtrt_id) n on n.mdtrt_id = e.mdtrt_id{% endif %}
    where e.med_type in ({{ p.med_types | sqllist }}) and e.dscg_maindiag_code is not null
), prov as (
    select year, medins_lv, case_group, fixmedins_code, count(*) as n, sum(x) as total,
           cast(sum(x) as double) / count(*) as mean_x
    from cases group by year, medins_lv, case_group, fixmedins_code
    having count(*) >= {{ p.min_cases | int }}
), ranked as (
    select prov.*, row_number() over (partition by year, medins_lv, case_group order by mean_x, fixmedins_code) as rn,
           count(*) over (partition by year, medins_lv, case_group) as peers
    from prov
), peer as (
    select year, medins_lv, case_group, max(peers) as peers, sum(mean_x) / count(*) as med from ranked
    where rn = floor((peers + 1) / 2) or rn = ceil((peers + 1) / 2)
    group by year, medins_lv, case_group
), dev as (
    select r.year, r.medins_lv, r.case_group, r.fixmedins_code, r.n, r.total, r.mean_x, g.med, g.peers,
           abs(r.mean_x - g.med) as d
    from ranked r join peer g on g.year = r.year and g.medins_lv = r.medins_lv and g.case_group = r.case_group
    where g.peers >= {{ p.min_peers | int }}
), dev_ranked as (
    select dev.*, row_number() over (partition by year, medins_lv, case_group order by d, fixmedins_code) as rn from dev
), mad as (
    select year, medins_lv, case_group, sum(d) / count(*) as mad from dev_ranked
    where rn = floor((peers + 1) / 2) or rn = ceil((peers + 1) / 2)
    group by year, medins_lv, case_group
), z as (
    select d.*, m.mad, 0.6745 * (d.mean_x - d.med) / m.mad as z from dev d
    join mad m on m.year = d.year and m.medins_lv = d.medins_lv and m.case_group = d.case_group
    where m.mad > 0
)
select cast(null as string) as mdtrt_id, cast(null as string) as feedetl_sn, cast(null as string) as psn_no,
       fixmedins_code, cast(null as string) as med_list_codg, {{ make_date('year', 12, 31) }} as event_date,
       {% if p.measure == 'cost' %}cast(round(total - med * n, 0) as bigint){% else %}cast(0 as bigint){% endif %} as amount,
       case_group as ev_case_group, medins_lv as ev_medins_lv, n as ev_cases, mean_x as ev_mean,
       med as ev_peer_median, mad as ev_peer_mad, z as ev_robust_z, peers as ev_peers, year as ev_year
from z where z > {{ p.z_threshold }}
