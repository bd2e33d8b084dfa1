-- 互斥项目同时收费: for a pair (a, b), each line of b in an encounter that has a line of a (on the same
-- day when the pair's scope is day).
select distinct b.mdtrt_id, b.feedetl_sn, b.psn_no, b.fixmedins_code, b.med_list_codg, b.begn_date as event_date,
       b.amt as amount, b.item_name as ev_item_name, x.med_list_codg_a as ev_excluded_by, x.med_list_name_a as ev_excluded_by_name,
       x.scope as ev_scope
from {{ kb }} x
join lx a on a.med_list_codg = x.med_list_codg_a and a.cnt > 0
join lx b on b.mdtrt_id = a.mdtrt_id and b.med_list_codg = x.med_list_codg_b and b.cnt > 0
where x.scope = 'encounter' or a.fee_date = b.fee_date
