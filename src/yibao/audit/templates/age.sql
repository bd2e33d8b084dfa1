-- 限年龄: completed years at the encounter's begntime outside [min_age, max_age].
select l.mdtrt_id, l.feedetl_sn, l.psn_no, l.fixmedins_code, l.med_list_codg, l.begn_date as event_date,
       l.amt as amount, l.item_name as ev_item_name, l.age as ev_age, k.min_age as ev_min_age, k.max_age as ev_max_age
from lx l join {{ kb }} k on k.med_list_codg = l.med_list_codg
where l.cnt > 0 and (l.age < coalesce(k.min_age, -1) or l.age > coalesce(k.max_age, 999))
