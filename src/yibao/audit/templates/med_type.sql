-- 限就医方式: an item billed under a medical type (med_type) its knowledge row does not allow.
-- med_types is a comma-separated list, e.g. 21 for items of inpatient care only.
select l.mdtrt_id, l.feedetl_sn, l.psn_no, l.fixmedins_code, l.med_list_codg, l.begn_date as event_date,
       l.amt as amount, l.item_name as ev_item_name, l.med_type as ev_med_type, k.med_types as ev_allowed_med_types
from lx l join {{ kb }} k on k.med_list_codg = l.med_list_codg
where l.cnt > 0 and concat(',', k.med_types, ',') not like concat('%,', l.med_type, ',%')
