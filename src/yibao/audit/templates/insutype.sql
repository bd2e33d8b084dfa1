-- 限险种: an item billed for a person of an insurance type (insutype) its knowledge row does not allow.
select l.mdtrt_id, l.feedetl_sn, l.psn_no, l.fixmedins_code, l.med_list_codg, l.begn_date as event_date,
       l.amt as amount, l.item_name as ev_item_name, l.insutype as ev_insutype, k.insutypes as ev_allowed_insutypes
from lx l join {{ kb }} k on k.med_list_codg = l.med_list_codg
where l.cnt > 0 and concat(',', k.insutypes, ',') not like concat('%,', l.insutype, ',%')
