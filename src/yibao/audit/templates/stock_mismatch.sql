-- 药品进销存不符: for a pharmacy, drug and year, boxes bought up to 31 December less boxes sold up to
-- 31 December is negative. At stake: the shortfall x the drug's highest sale price that year.
with years as (select distinct year(sel_time) as y from sales),
pairs as (select distinct fixmedins_code, med_list_codg from sales
          union select distinct fixmedins_code, med_list_codg from purchases),
bought as (select p.fixmedins_code, p.med_list_codg, y.y, sum(p.purc_cnt) as n from purchases p join years y on year(p.purc_date) <= y.y
           group by p.fixmedins_code, p.med_list_codg, y.y),
sold as (select s.fixmedins_code, s.med_list_codg, y.y, sum(s.cnt) as n from sales s join years y on year(s.sel_time) <= y.y
         group by s.fixmedins_code, s.med_list_codg, y.y),
last_price as (
    select fixmedins_code, med_list_codg, year(sel_time) as y, max(pric) as pric from sales
    group by fixmedins_code, med_list_codg, year(sel_time)
),
gap as (
    select pr.fixmedins_code, pr.med_list_codg, y.y, coalesce(b.n, 0) as bought, coalesce(s.n, 0) as sold
    from pairs pr cross join years y
    left join bought b on b.fixmedins_code = pr.fixmedins_code and b.med_list_codg = pr.med_list_codg and b.y = y.y
    left join sold s on s.fixmedins_code = pr.fixmedins_code and s.med_list_codg = pr.med_list_codg and s.y = y.y
)
select cast(null as string) as mdtrt_id, cast(null as string) as feedetl_sn, cast(null as string) as psn_no,
       g.fixmedins_code, g.med_list_codg, {{ make_date('g.y', 12, 31) }} as event_date,
       cast(round((g.sold - g.bought) * lp.pric * 100, 0) as bigint) as amount,
       g.bought as ev_bought, g.sold as ev_sold, lp.pric as ev_sale_price
from gap g
left join last_price lp on lp.fixmedins_code = g.fixmedins_code and lp.med_list_codg = g.med_list_codg and lp.y = g.y
where g.bought - g.sold < 0
