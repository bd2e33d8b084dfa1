-- 超数量: within one encounter and item, lines in (fee_ocur_time, feedetl_sn) order; each line at which
-- the running quantity exceeds max_per_visit. Only the (encounter, item) groups whose billed quantity
-- (refunds aside) exceeds the limit can break it, so only those are sorted.
with lim as (
    select l.*, k.max_per_visit as mx from lx l join {{ kb }} k on k.med_list_codg = l.med_list_codg
    where k.max_per_visit is not null
), cand as (
    select mdtrt_id, med_list_codg from lim group by mdtrt_id, med_list_codg
    having sum(case when cnt > 0 then cnt else 0 end) > max(mx)
), run as (
    select lim.*, sum(cnt) over (partition by mdtrt_id, med_list_codg order by fee_ocur_time, sn
                                 rows between unbounded preceding and current row) as running
    from lim semi join cand c on c.mdtrt_id = lim.mdtrt_id and c.med_list_codg = lim.med_list_codg
)
select mdtrt_id, feedetl_sn, psn_no, fixmedins_code, med_list_codg, begn_date as event_date, amt as amount,
       item_name as ev_item_name, running as ev_running_cnt, mx as ev_max_per_visit
from run where running > mx and cnt > 0
