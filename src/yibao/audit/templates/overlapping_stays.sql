-- 住院时间重叠: a stay that begins before an earlier stay of the same person (by begntime, mdtrt_id) has
-- ended (admission date before the other's discharge date).
select distinct b.mdtrt_id, cast(null as string) as feedetl_sn, b.psn_no, b.fixmedins_code, cast(null as string) as med_list_codg,
       b.begn_date as event_date, b.medfee as amount, a.mdtrt_id as ev_other_stay
from ex a join ex b on b.psn_no = a.psn_no and b.mdtrt_id <> a.mdtrt_id
where a.med_type = '21' and b.med_type = '21'
  and (a.begntime < b.begntime or (a.begntime = b.begntime and a.mdtrt_id < b.mdtrt_id))
  and b.begn_date < a.end_date
