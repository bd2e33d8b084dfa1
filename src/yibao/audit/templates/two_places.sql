-- 同一时间多处就医: an encounter at another institution whose date lies strictly between a stay's
-- admission and discharge dates.
select distinct o.mdtrt_id, cast(null as string) as feedetl_sn, o.psn_no, o.fixmedins_code, cast(null as string) as med_list_codg,
       o.begn_date as event_date, o.medfee as amount, s.mdtrt_id as ev_stay, s.fixmedins_code as ev_stay_fixmedins_code
from ex s join ex o on o.psn_no = s.psn_no and o.mdtrt_id <> s.mdtrt_id
where s.med_type = '21' and o.fixmedins_code <> s.fixmedins_code
  and o.begn_date > s.begn_date and o.begn_date < s.end_date
