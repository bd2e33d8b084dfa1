-- 超限价: a unit price above the item's ceiling; at stake: round_half_up((pric - ceiling) x cnt).
select l.mdtrt_id, l.feedetl_sn, l.psn_no, l.fixmedins_code, l.med_list_codg, l.begn_date as event_date,
       cast(round((l.pric - k.pric_uplmt_amt) * l.cnt * 100, 0) as bigint) as amount,
       l.item_name as ev_item_name, l.pric as ev_pric, k.pric_uplmt_amt as ev_pric_uplmt_amt, l.cnt as ev_cnt
from lx l join {{ kb }} k on k.med_list_codg = l.med_list_codg
where l.cnt > 0 and k.pric_uplmt_amt is not null and l.pric > k.pric_uplmt_amt
