-- 限性别: a line of an item the knowledge table restricts to one sex, for a person of the other.
select l.mdtrt_id, l.feedetl_sn, l.psn_no, l.fixmedins_code, l.med_list_codg, l.begn_date as event_date,
       l.amt as amount, l.item_name as ev_item_name, k.gend as ev_allowed_gend, l.gend as ev_psn_gend
from lx l join {{ kb }} k on k.med_list_codg = l.med_list_codg
where l.cnt > 0 and l.gend <> k.gend
