-- 限适应症 (限定支付范围): a restricted drug (catalogue lmt_used_flag = 1) in an encounter none of whose
-- diagnoses starts with one of the drug's indication prefixes.
with rx as (
    select * from lx where lmt_used_flag = '1' and cnt > 0
), pairs as (
    select distinct mdtrt_id, med_list_codg from rx
), ok as (
    select distinct p.mdtrt_id, p.med_list_codg from pairs p
    join diagnoses d on d.mdtrt_id = p.mdtrt_id
    join {{ kb }} k on k.med_list_codg = p.med_list_codg
    where substr(d.diag_code, 1, length(k.icd10_prefix)) = k.icd10_prefix
)
select r.mdtrt_id, r.feedetl_sn, r.psn_no, r.fixmedins_code, r.med_list_codg, r.begn_date as event_date,
       r.amt as amount, r.item_name as ev_item_name, r.dscg_maindiag_code as ev_main_diag
from rx r anti join ok on ok.mdtrt_id = r.mdtrt_id and ok.med_list_codg = r.med_list_codg
