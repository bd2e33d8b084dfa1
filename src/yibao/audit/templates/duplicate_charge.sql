-- 重复收费: the same item billed again in one encounter at the same time, price and quantity (catalogue
-- list types in the rule's list_types): every copy after the first. Candidates are found with one
-- aggregate first, so that only groups with copies are sorted.
with cand as (
    select mdtrt_id, med_list_codg, fee_ocur_time, pric, cnt from lx
    where cnt > 0 and list_type in ({{ p.list_types | sqllist }})
    group by mdtrt_id, med_list_codg, fee_ocur_time, pric, cnt having count(*) > 1
), d as (
    select l.*, row_number() over (partition by l.mdtrt_id, l.med_list_codg, l.fee_ocur_time, l.pric, l.cnt
                                   order by l.sn) as copy_no
    from lx l semi join cand c on c.mdtrt_id = l.mdtrt_id and c.med_list_codg = l.med_list_codg
        and c.fee_ocur_time = l.fee_ocur_time and c.pric = l.pric and c.cnt = l.cnt
    where l.cnt > 0 and l.list_type in ({{ p.list_types | sqllist }})
)
select mdtrt_id, feedetl_sn, psn_no, fixmedins_code, med_list_codg, begn_date as event_date, amt as amount,
       item_name as ev_item_name, fee_ocur_time as ev_fee_ocur_time, copy_no as ev_copy_no
from d where copy_no > 1
