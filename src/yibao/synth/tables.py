"""Arrow schemas of the output tables and the conversion of a chunk's arrays into them."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._util import (
    age_years,
    concat_str,
    date_array,
    decimal_array,
    int_str,
    round_half_up_fen,
    take_str,
    timestamp_array,
)
from .care import F_INJURY, F_THIRD, MT_IP, MT_PHARM
from .model import DEPT_NAMES, MED_TYPES, Context

D2 = pa.decimal128(16, 2)
ENCOUNTERS = pa.schema([
    ("mdtrt_id", pa.string()), ("psn_no", pa.string()), ("fixmedins_code", pa.string()), ("insutype", pa.string()),
    ("med_type", pa.string()), ("begntime", pa.timestamp("ms")), ("endtime", pa.timestamp("ms")),
    ("ipt_days", pa.int32()), ("dscg_maindiag_code", pa.string()), ("dscg_maindiag_name", pa.string()),
    ("dise_codg", pa.string()), ("dscg_way", pa.string()), ("dept", pa.string()), ("dept_name", pa.string()),
    ("exp_content", pa.string()), ("medfee_sumamt", D2),
])
DIAGNOSES = pa.schema([
    ("mdtrt_id", pa.string()), ("diag_srt_no", pa.int16()), ("diag_code", pa.string()), ("diag_name", pa.string()),
    ("maindiag_flag", pa.string()), ("diag_type", pa.string()),
])
PROCEDURES = pa.schema([
    ("mdtrt_id", pa.string()), ("srt_no", pa.int16()), ("oprn_oprt_code", pa.string()), ("oprn_oprt_name", pa.string()),
    ("main_oprn_flag", pa.string()), ("oprn_oprt_date", pa.date32()),
])
FEE_LINES = pa.schema([
    ("mdtrt_id", pa.string()), ("feedetl_sn", pa.string()), ("init_feedetl_sn", pa.string()), ("psn_no", pa.string()),
    ("fixmedins_code", pa.string()), ("med_type", pa.string()),
    ("med_list_codg", pa.string()), ("medins_list_codg", pa.string()), ("fee_ocur_time", pa.timestamp("ms")),
    ("pric", pa.decimal128(16, 6)), ("cnt", pa.decimal128(16, 4)), ("det_item_fee_sumamt", D2),
    ("bilg_dept_codg", pa.string()), ("bilg_dr_codg", pa.string()), ("hosp_appr_flag", pa.string()),
    ("drug_trac_codg", pa.string()),
])
LABELS = pa.schema([
    ("mdtrt_id", pa.string()), ("feedetl_sn", pa.string()), ("pattern", pa.string()), ("pattern_name", pa.string()),
    ("amount_at_stake", D2), ("psn_no", pa.string()), ("fixmedins_code", pa.string()), ("med_list_codg", pa.string()),
    ("year", pa.int16()), ("detail", pa.string()),
])
SALES = pa.schema([
    ("fixmedins_code", pa.string()), ("med_list_codg", pa.string()), ("sel_time", pa.timestamp("ms")),
    ("cnt", pa.decimal128(16, 4)), ("pric", pa.decimal128(16, 6)), ("sel_amt", D2), ("mdtrt_id", pa.string()),
    ("feedetl_sn", pa.string()), ("psn_no", pa.string()), ("drug_trac_codg", pa.string()),
])
DRG_COLUMNS = ["id", "gender", "age", "age_days", "weight", "dept", "los", "leaving_type", "dx", "px"]


def finalize(ctx: Context, year: int, chunk: int, enc: dict, L: dict, procs: tuple, labels: list[dict],
             trace_dups: list[tuple[int, int]], rng) -> dict:
    """Order, number and convert one chunk-year to Arrow tables. Returns the tables and facts for
    the pharmacy stock and the manifest."""
    pop, region, cat = ctx.pop, ctx.region, ctx.cat
    n_enc = len(enc["psn"])
    # drop encounters without lines (e.g. a pharmacy visit whose drugs were all restricted)
    has_line = np.zeros(n_enc, bool)
    has_line[L["enc"]] = True
    keep_e = np.nonzero(has_line)[0]
    eorder = keep_e[np.lexsort((enc["bsec"][keep_e], enc["beg"][keep_e], enc["psn"][keep_e]))]
    new_id = np.full(n_enc, -1, np.int64)
    new_id[eorder] = np.arange(len(eorder))
    E = {k: v[eorder] for k, v in enc.items()}
    ne = len(eorder)
    L = dict(L)
    L["enc"] = new_id[L["enc"]]
    lorder = np.lexsort((L["item"], L["sec"], L["day"], L["enc"]))
    inv = np.empty_like(lorder)
    inv[lorder] = np.arange(len(lorder))
    L = {k: v[lorder] for k, v in L.items()}
    L["refund_of"] = np.where(L["refund_of"] >= 0, inv[np.maximum(L["refund_of"], 0)], -1)
    trace_dups = [(int(inv[a]), int(inv[b])) for a, b in trace_dups]
    nl = len(L["enc"])
    first = np.r_[True, L["enc"][1:] != L["enc"][:-1]] if nl else np.zeros(0, bool)
    gs = np.maximum.accumulate(np.where(first, np.arange(nl), 0)) if nl else np.zeros(0, np.int64)
    sn = np.arange(nl) - gs + 1
    amount = round_half_up_fen(L["pric"], L["cnt"])
    total = np.zeros(ne, np.int64)
    np.add.at(total, L["enc"], amount)
    # identifiers
    mdtrt = concat_str(f"{year}{chunk:04d}", int_str(np.arange(1, ne + 1), 8))
    psn_no = pop.psn_no.take(pa.array(E["psn"]))
    inst_code = take_str(region.inst_code, E["inst"])
    med_type = take_str(list(MED_TYPES), E["mt"])
    beg = E["beg"] * 86_400 + E["bsec"]
    end = E["end"] * 86_400 + E["esec"]
    ip = E["mt"] == MT_IP
    dis_code = take_str(ctx.dx_code, E["dis"])
    dis_name = take_str(ctx.dx_name, E["dis"])
    chronic = E["mt"] == 2
    dise = np.where(chronic, np.where(ctx.dx_code.index("E11.900") == E["dis"], 1, 0), -1)
    injury = (E["flags"] & (F_INJURY | F_THIRD)) > 0
    exp = np.where(injury, np.where((E["relttp"] == 1), 1, 0), -1)
    exp_vals = [json.dumps({"TRUM_FLAG": "1", "REL_TTP_FLAG": v}, separators=(",", ":")) for v in ("0", "1")]
    dept_code = take_str(ctx.dept_codes, E["dept"])
    dept_name = take_str([DEPT_NAMES.get(c, c) for c in ctx.dept_codes], E["dept"])
    insutype = pa.array(np.where(pop.employee[E["psn"]], "310", "390"))
    encounters = pa.table({
        "mdtrt_id": mdtrt, "psn_no": psn_no, "fixmedins_code": inst_code, "insutype": insutype, "med_type": med_type,
        "begntime": timestamp_array(beg), "endtime": timestamp_array(end),
        "ipt_days": pa.array(E["los"].astype(np.int32), mask=~ip),
        "dscg_maindiag_code": dis_code, "dscg_maindiag_name": dis_name,
        "dise_codg": take_str(["M03900", "M01600"], dise),
        "dscg_way": take_str(["1", "2", "3", "4", "5", "9"], np.where(ip, E["dway"] - 1, -1)),
        "dept": dept_code, "dept_name": dept_name, "exp_content": take_str(exp_vals, exp),
        "medfee_sumamt": decimal_array(total, 16, 2),
    })
    # diagnoses: principal, secondaries, external cause
    dxm = np.concatenate([E["dis"][:, None], E["dx"], E["ext"][:, None]], axis=1)
    present = dxm >= 0
    rows_e, pos = np.nonzero(present)
    codes = dxm[rows_e, pos]
    srt = np.zeros(len(rows_e), np.int64)
    if len(rows_e):
        f = np.r_[True, rows_e[1:] != rows_e[:-1]]
        g = np.maximum.accumulate(np.where(f, np.arange(len(rows_e)), 0))
        srt = np.arange(len(rows_e)) - g + 1
    diagnoses = pa.table({
        "mdtrt_id": mdtrt.take(pa.array(rows_e)), "diag_srt_no": pa.array(srt.astype(np.int16)),
        "diag_code": take_str(ctx.dx_code, codes), "diag_name": take_str(ctx.dx_name, codes),
        "maindiag_flag": pa.array(np.where(srt == 1, "1", "0")), "diag_type": pa.array(np.full(len(rows_e), "1")),
    })
    # procedures
    pe, pp, ps, pday = procs
    pe = new_id[pe]
    okp = pe >= 0
    pe, pp, ps, pday = pe[okp], pp[okp], ps[okp], pday[okp]
    po = np.lexsort((ps, pe))
    pe, pp, ps, pday = pe[po], pp[po], ps[po], pday[po]
    procedures = pa.table({
        "mdtrt_id": mdtrt.take(pa.array(pe)), "srt_no": pa.array(ps.astype(np.int16)),
        "oprn_oprt_code": take_str(ctx.proc_code, pp), "oprn_oprt_name": take_str(ctx.proc_name, pp),
        "main_oprn_flag": pa.array(np.where(ps == 1, "1", "0")),
        "oprn_oprt_date": date_array(E["beg"][pe] + pday),
    })
    # fee lines
    le = L["enc"]
    item = L["item"]
    kind = cat.arrays["kind"][item]
    pharm_line = (E["mt"][le] == MT_PHARM) & np.isin(kind, [0, 1])
    # traceability codes: one per box, product code (7 digits) + serial (13 digits)
    boxes = np.where(pharm_line, L["cnt"] // 10_000, 0)
    serial_base = (year % 100) * 10**11 + chunk * 10**7
    box_start = np.cumsum(boxes) - boxes
    first_serial = serial_base + box_start
    for dst, src in trace_dups:
        first_serial[dst] = first_serial[src]
    own = np.repeat(np.arange(nl), boxes)
    box_serial = np.repeat(first_serial, boxes) + (np.arange(len(own)) - np.repeat(box_start, boxes))
    # the duplicated code is the line's first box; later boxes keep their own serials
    dup_lines = np.array([d for d, _ in trace_dups], dtype=np.int64)
    if len(dup_lines):
        pos_in = np.arange(len(own)) - np.repeat(box_start, boxes)
        fix = np.isin(own, dup_lines) & (pos_in > 0)
        box_serial[fix] = serial_base + np.sum(boxes) + np.arange(fix.sum())
    prod = 8_000_000 + item[own]
    codes = concat_str(int_str(prod, 7), int_str(box_serial, 13))
    offsets = np.zeros(nl + 1, np.int64)
    offsets[1:] = np.cumsum(boxes)
    lst = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), codes)
    trac = pc.binary_join(lst, ",")
    trac = pc.if_else(pa.array(pharm_line), trac, pa.scalar(None, pa.string()))
    dr = E["inst"][le] * 50 + (E["psn"][le] % 7) + (E["dept"][le] % 5) * 7
    dr_code = concat_str("D", take_str(region.admdvs, region.inst_county[E["inst"][le]]),
                         int_str(dr % 1_000_000, 6))
    lmt = cat.arrays["lmt"][item]
    sn_str = int_str(sn)
    fee_lines = pa.table({
        "mdtrt_id": mdtrt.take(pa.array(le)), "feedetl_sn": sn_str,
        "init_feedetl_sn": pc.if_else(pa.array(L["refund_of"] >= 0), sn_str.take(pa.array(np.maximum(L["refund_of"], 0))),
                                      pa.scalar(None, pa.string())),
        "psn_no": psn_no.take(pa.array(le)), "fixmedins_code": inst_code.take(pa.array(le)),
        "med_type": med_type.take(pa.array(le)),
        "med_list_codg": take_str(cat.code, item),
        "medins_list_codg": concat_str(take_str(["YP", "YP", "YP", "XM", "CL"], kind), int_str(item, 6)),
        "fee_ocur_time": timestamp_array((E["beg"][le] + L["day"]) * 86_400 + L["sec"]),
        "pric": decimal_array(L["pric"], 16, 6), "cnt": decimal_array(L["cnt"], 16, 4),
        "det_item_fee_sumamt": decimal_array(amount, 16, 2),
        "bilg_dept_codg": dept_code.take(pa.array(le)), "bilg_dr_codg": dr_code,
        "hosp_appr_flag": pa.array(np.where(lmt, "1", "0")),
        "drug_trac_codg": trac,
    })
    # sales (pharmacy insured sales)
    sl = np.nonzero(pharm_line)[0]
    sales = pa.table({
        "fixmedins_code": inst_code.take(pa.array(le[sl])), "med_list_codg": take_str(cat.code, item[sl]),
        "sel_time": timestamp_array((E["beg"][le[sl]] + L["day"][sl]) * 86_400 + L["sec"][sl]),
        "cnt": decimal_array(L["cnt"][sl], 16, 4), "pric": decimal_array(L["pric"][sl], 16, 6),
        "sel_amt": decimal_array(amount[sl], 16, 2), "mdtrt_id": mdtrt.take(pa.array(le[sl])),
        "feedetl_sn": sn_str.take(pa.array(sl)), "psn_no": psn_no.take(pa.array(le[sl])),
        "drug_trac_codg": trac.take(pa.array(sl)),
    })
    # labels: each refers to an encounter (new index) and optionally a line (old index → new)
    lab_tables = _labels(ctx, year, labels, new_id, inv, mdtrt, sn_str, psn_no, inst_code, E, L, amount, total)
    # DRG grouper input view (inpatient stays)
    ipi = np.nonzero(ip)[0]
    age = age_years(pop.brdy[E["psn"][ipi]], E["beg"][ipi])
    age_days = E["beg"][ipi] - pop.brdy[E["psn"][ipi]]
    dx_str = _join_codes(ctx.dx_code, dxm[ipi])
    px_lists = [[] for _ in range(ne)]
    for a_, b_ in zip(pe, pp):
        if ip[a_]:
            px_lists[a_].append(ctx.proc_code[b_])
    drg = pa.table({
        "id": mdtrt.take(pa.array(ipi)), "gender": pa.array(pop.sex[E["psn"][ipi]].astype(np.int8)),
        "age": pa.array(age.astype(np.int32)), "age_days": pa.array(age_days.astype(np.int32)),
        "weight": pa.array(np.where(age_days <= 28, 3200 - (E["dis"][ipi] == ctx.dx_code.index("P07.300")) * 1200, 0).astype(np.int32)),
        "dept": dept_code.take(pa.array(ipi)), "los": pa.array(E["los"][ipi].astype(np.int32)),
        "leaving_type": pa.array(E["dway"][ipi].astype(np.int8)), "dx": dx_str,
        "px": pa.array(["|".join(px_lists[i]) for i in ipi], pa.string()),
    })
    return {
        "encounters": encounters, "diagnoses": diagnoses, "procedures": procedures, "fee_lines": fee_lines,
        "labels": lab_tables, "sales": sales, "drg_input": drg,
        "pharm_sold": (E["inst"][le[sl]], item[sl], L["cnt"][sl] // 10_000, L["pric"][sl]),
    }


def _join_codes(codes: list[str], m: np.ndarray) -> pa.Array:
    present = m >= 0
    rows, cols = np.nonzero(present)
    vals = take_str(codes, m[rows, cols])
    offsets = np.zeros(len(m) + 1, np.int64)
    offsets[1:] = np.cumsum(present.sum(axis=1))
    return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), vals), "|")


def _labels(ctx, year, labels, new_id, inv, mdtrt, sn_str, psn_no, inst_code, E, L, amount, total):
    rows = {k: [] for k in ("enc", "line", "pattern", "amount", "item", "detail")}
    from .irregular import PATTERNS
    for lab in labels:
        e_new = new_id[lab["enc"]] if lab.get("enc", -1) >= 0 else -1
        line_new = int(inv[lab["line"]]) if lab.get("line", -1) >= 0 else -1
        if lab.get("enc", -1) >= 0 and e_new < 0:
            continue
        if line_new >= 0:
            e_new = int(L["enc"][line_new])
        amt = lab.get("amount")
        if amt is None:
            amt = int(amount[line_new]) if line_new >= 0 else int(total[e_new])
        rows["enc"].append(e_new)
        rows["line"].append(line_new)
        rows["pattern"].append(lab["pattern"])
        rows["amount"].append(amt)
        rows["item"].append(lab.get("item", int(L["item"][line_new]) if line_new >= 0 else -1))
        rows["detail"].append(lab.get("detail", ""))
    e = np.array(rows["enc"], np.int64)
    ln = np.array(rows["line"], np.int64)
    pat = rows["pattern"]
    return pa.table({
        "mdtrt_id": pc_take_null(mdtrt, e), "feedetl_sn": pc_take_null(sn_str, ln),
        "pattern": pa.array(pat, pa.string()), "pattern_name": pa.array([PATTERNS[p] for p in pat], pa.string()),
        "amount_at_stake": decimal_array(np.array(rows["amount"], np.int64), 16, 2),
        "psn_no": pc_take_null(psn_no, e), "fixmedins_code": pc_take_null(inst_code, e),
        "med_list_codg": take_str(ctx.cat.code, np.array(rows["item"], np.int64)),
        "year": pa.array(np.full(len(e), year, np.int16)), "detail": pa.array(rows["detail"], pa.string()),
    }, schema=LABELS)


def pc_take_null(arr: pa.Array, idx: np.ndarray) -> pa.Array:
    mask = idx < 0
    return arr.take(pa.array(np.maximum(idx, 0), mask=mask if mask.any() else None)) if len(idx) else pa.array([], arr.type)
