-- 关联项目缺失: an item billed in an encounter that has no line of any item it requires (e.g. an
-- infusion fee with no infusion fluid). Only the encounters with such an item are looked into.
with need as (
    select l.* from lx l semi join (select distinct med_list_codg from {{ kb }}) k on k.med_list_codg = l.med_list_codg
    where l.cnt > 0
), have as (
    select distinct r.mdtrt_id, r.med_list_codg from lx r
    semi join (select distinct related_med_list_codg from {{ kb }}) k on k.related_med_list_codg = r.med_list_codg
    semi join (select distinct mdtrt_id from need) n on n.mdtrt_id = r.mdtrt_id
    where r.cnt > 0
), ok as (
    select distinct n.mdtrt_id, n.med_list_codg from (select distinct mdtrt_id, med_list_codg from need) n
    join {{ kb }} k on k.med_list_codg = n.med_list_codg
    join have h on h.mdtrt_id = n.mdtrt_id and h.med_list_codg = k.related_med_list_codg
)
select n.mdtrt_id, n.feedetl_sn, n.psn_no, n.fixmedins_code, n.med_list_codg, n.begn_date as event_date,
       n.amt as amount, n.item_name as ev_item_name
from need n anti join ok on ok.mdtrt_id = n.mdtrt_id and ok.med_list_codg = n.med_list_codg
