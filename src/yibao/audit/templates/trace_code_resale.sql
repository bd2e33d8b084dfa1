-- 追溯码重复销售: a traceability code found on more than one line: every line after the first, in
-- (fee_ocur_time, mdtrt_id, feedetl_sn) order. At stake: the price of one box (the line's unit price).
-- The codes are ranked on their own; only the lines sold again are joined with the shared lines.
with c as (
    select t.code, t.mdtrt_id, t.feedetl_sn,
           row_number() over (partition by t.code order by t.fee_ocur_time, t.mdtrt_id, t.sn) as nth
    from trace_codes t semi join ex e on e.mdtrt_id = t.mdtrt_id
), resold as (
    select mdtrt_id, feedetl_sn, min(code) as first_code, count(*) as n_codes from c where nth > 1 group by mdtrt_id, feedetl_sn
)
select l.mdtrt_id, l.feedetl_sn, l.psn_no, l.fixmedins_code, l.med_list_codg, l.begn_date as event_date,
       cast(round(l.pric * 100, 0) as bigint) as amount, l.item_name as ev_item_name, r.first_code as ev_trace_code,
       r.n_codes as ev_resold_codes
from resold r join lx l on l.mdtrt_id = r.mdtrt_id and l.feedetl_sn = r.feedetl_sn
