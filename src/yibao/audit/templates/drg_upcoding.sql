-- DRG 高套: a stay with a secondary diagnosis that the knowledge table lists as a complication needing
-- evidence, and no line of any of its evidence items. At stake: share x the stay's cost (half up).
with coded as (
    select distinct d.mdtrt_id, d.diag_code from diagnoses d
    join ex e on e.mdtrt_id = d.mdtrt_id
    where e.med_type = '21' and d.maindiag_flag = '0' and d.diag_code in (select diag_code from {{ kb }})
), evidenced as (
    select distinct c.mdtrt_id, c.diag_code from coded c
    join {{ kb }} k on k.diag_code = c.diag_code
    join lx l on l.mdtrt_id = c.mdtrt_id and l.med_list_codg = k.med_list_codg and l.cnt > 0
), bare as (
    select c.mdtrt_id, c.diag_code from coded c anti join evidenced v on v.mdtrt_id = c.mdtrt_id and v.diag_code = c.diag_code
), agg as (
    select mdtrt_id, min(diag_code) as first_code, count(*) as n_codes from bare group by mdtrt_id
)
select e.mdtrt_id, cast(null as string) as feedetl_sn, e.psn_no, e.fixmedins_code, cast(null as string) as med_list_codg,
       e.begn_date as event_date,
       cast(floor(e.medfee * cast('{{ p.share }}' as decimal(9, 4))) as bigint) as amount,
       a.first_code as ev_diag_code, a.n_codes as ev_unsupported_codes
from agg a join ex e on e.mdtrt_id = a.mdtrt_id
