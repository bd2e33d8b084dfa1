-- 限医疗机构级别: the institution's rank is below the item's minimum rank.
select l.mdtrt_id, l.feedetl_sn, l.psn_no, l.fixmedins_code, l.med_list_codg, l.begn_date as event_date,
       l.amt as amount, l.item_name as ev_item_name, l.medins_lv as ev_medins_lv, l.lv_rank as ev_lv_rank,
       k.min_lv_rank as ev_min_lv_rank
from lx l join {{ kb }} k on k.med_list_codg = l.med_list_codg
where l.cnt > 0 and l.lv_rank < k.min_lv_rank
