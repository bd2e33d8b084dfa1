-- 关联项目缺失: an item billed in an encounter that has no line of any item it requires (e.g. an
-- infusion fee with no infusion fluid).
with need as (
    select l.* from lx l where l.cnt > 0 and l.med_list_codg in (select med_list_codg from {{ kb }})
), ok as (
    select distinct n.mdtrt_id, n.med_list_codg from need n
    join {{ kb }} k on k.med_list_codg = n.med_list_codg
    join lx r on r.mdtrt_id = n.mdtrt_id and r.med_list_codg = k.related_med_list_codg and r.cnt > 0
)
select n.mdtrt_id, n.feedetl_sn, n.psn_no, n.fixmedins_code, n.med_list_codg, n.begn_date as event_date,
       n.amt as amount, n.item_name as ev_item_name
from need n anti join ok on ok.mdtrt_id = n.mdtrt_id and ok.med_list_codg = n.med_list_codg
