-- 项目内涵已含耗材另收: a line of a consumable that the price of another billed item of the encounter
-- already includes.
select distinct b.mdtrt_id, b.feedetl_sn, b.psn_no, b.fixmedins_code, b.med_list_codg, b.begn_date as event_date,
       b.amt as amount, b.item_name as ev_item_name, x.med_list_codg as ev_included_in, x.med_list_name as ev_included_in_name
from {{ kb }} x
join lx a on a.med_list_codg = x.med_list_codg and a.cnt > 0
join lx b on b.mdtrt_id = a.mdtrt_id and b.med_list_codg = x.included_med_list_codg and b.cnt > 0
