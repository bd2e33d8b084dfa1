-- 重复收费: the same item billed again in one encounter at the same time, price and quantity (catalogue
-- list types in the rule's list_types): every copy after the first.
with d as (
    select l.*, row_number() over (partition by mdtrt_id, med_list_codg, fee_ocur_time, pric, cnt order by sn) as copy_no
    from lx l where l.cnt > 0 and l.list_type in ({{ p.list_types | sqllist }})
)
select mdtrt_id, feedetl_sn, psn_no, fixmedins_code, med_list_codg, begn_date as event_date, amt as amount,
       item_name as ev_item_name, fee_ocur_time as ev_fee_ocur_time, copy_no as ev_copy_no
from d where copy_no > 1
