-- 超频次: within one encounter, item and calendar day, lines in (fee_ocur_time, feedetl_sn) order; each
-- line at which the running quantity exceeds max_per_day. Only the (encounter, item, day) groups whose
-- billed quantity (refunds aside) exceeds the limit can break it, so only those are sorted.
with lim as (
    select l.*, k.max_per_day as mx from lx l join {{ kb }} k on k.med_list_codg = l.med_list_codg
    where k.max_per_day is not null
), cand as (
    select mdtrt_id, med_list_codg, fee_date from lim group by mdtrt_id, med_list_codg, fee_date
    having sum(case when cnt > 0 then cnt else 0 end) > max(mx)
), run as (
    select lim.*, sum(cnt) over (partition by mdtrt_id, med_list_codg, fee_date order by fee_ocur_time, sn
                                 rows between unbounded preceding and current row) as running
    from lim semi join cand c on c.mdtrt_id = lim.mdtrt_id and c.med_list_codg = lim.med_list_codg
        and c.fee_date = lim.fee_date
)
select mdtrt_id, feedetl_sn, psn_no, fixmedins_code, med_list_codg, begn_date as event_date, amt as amount,
       item_name as ev_item_name, fee_date as ev_day, running as ev_running_cnt, mx as ev_max_per_day
from run where running > mx and cnt > 0
