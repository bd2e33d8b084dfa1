-- 过度检查: lines of an item with a yearly limit for one person in one calendar year, in
-- (fee_ocur_time, mdtrt_id, feedetl_sn) order: each one after max_per_year.
with t as (
    select l.*, k.max_per_year as mx,
           row_number() over (partition by l.psn_no, l.med_list_codg, year(l.fee_ocur_time)
                              order by l.fee_ocur_time, l.mdtrt_id, l.sn) as nth
    from lx l join {{ kb }} k on k.med_list_codg = l.med_list_codg
    where k.max_per_year is not null and l.cnt > 0
)
select mdtrt_id, feedetl_sn, psn_no, fixmedins_code, med_list_codg, begn_date as event_date, amt as amount,
       item_name as ev_item_name, nth as ev_nth_in_year, mx as ev_max_per_year
from t where nth > mx
