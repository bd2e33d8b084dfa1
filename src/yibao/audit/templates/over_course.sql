-- 超疗程: an item billed on more distinct days of one encounter than its course allows (max_days); the
-- lines of the days after the max_days-th day of use.
with lim as (
    select l.*, k.max_days as mx from lx l join {{ kb }} k on k.med_list_codg = l.med_list_codg where l.cnt > 0
), ranked as (
    select lim.*, dense_rank() over (partition by mdtrt_id, med_list_codg order by fee_date) as day_no from lim
)
select mdtrt_id, feedetl_sn, psn_no, fixmedins_code, med_list_codg, begn_date as event_date, amt as amount,
       item_name as ev_item_name, day_no as ev_day_of_use, mx as ev_max_days
from ranked where day_no > mx
