-- 限专科: an item billed by a department (the line's billing department, else the encounter's) that
-- starts with none of the item's allowed department-code prefixes.
with billed as (
    select l.*, coalesce(l.bilg_dept_codg, l.dept) as billing_dept from lx l
    where l.cnt > 0 and l.med_list_codg in (select med_list_codg from {{ kb }})
), ok as (
    select distinct b.mdtrt_id, b.feedetl_sn from billed b join {{ kb }} k on k.med_list_codg = b.med_list_codg
    where substr(b.billing_dept, 1, length(k.dept_prefix)) = k.dept_prefix
)
select b.mdtrt_id, b.feedetl_sn, b.psn_no, b.fixmedins_code, b.med_list_codg, b.begn_date as event_date,
       b.amt as amount, b.item_name as ev_item_name, b.billing_dept as ev_dept
from billed b anti join ok on ok.mdtrt_id = b.mdtrt_id and ok.feedetl_sn = b.feedetl_sn
