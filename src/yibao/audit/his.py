"""What a hospital system would send to 3101/3102 for a stored encounter, built from the database.

Used by the differential test (every stored encounter through the 3101 adapter), the real-time
benchmark and demonstrations: ``input_3101(conn, mdtrt_id)`` returns ``{"data": {"patient_dtos": [...]}}``
with the encounter's fee lines as orders (``rx_id`` = ``feedetl_sn``), its diagnoses and operations, and
its traceability codes in ``extend_order_map.drug_trac_codg``.
"""

from __future__ import annotations

from sqlalchemy import select

from yibao.money import fen_to_yuan
from yibao.storage import schema as s

LV_TO_HOSP_LV = {"level3": "2", "level2": "5", "level1": "8", "township": "11", "village": "11", "pharmacy": "11"}


def _t(value) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def input_3101(conn, mdtrt_id: str, *, trig_scen: str = "1") -> dict:
    e, f, d, px, p, i, t = (s.encounters, s.fee_lines, s.diagnoses, s.procedures, s.persons, s.institutions,
                            s.audit_trace_codes)
    enc = conn.execute(select(e).where(e.c.mdtrt_id == mdtrt_id)).one()
    person = conn.execute(select(p).where(p.c.psn_no == enc.psn_no)).one()
    inst = conn.execute(select(i).where(i.c.fixmedins_code == enc.fixmedins_code)).one()
    codes: dict[str, list[str]] = {}
    for r in conn.execute(select(t.c.feedetl_sn, t.c.drug_trac_codg).where(t.c.mdtrt_id == mdtrt_id)):
        codes.setdefault(r.feedetl_sn, []).append(r.drug_trac_codg)
    orders = []
    for r in conn.execute(select(f).where(f.c.mdtrt_id == mdtrt_id, f.c.status != "cancelled")):
        order = {"rx_id": r.feedetl_sn, "rxno": r.feedetl_sn, "long_drord_flag": "0", "hilist_type": "101",
                 "chrg_type": "09", "drord_bhvr": "0", "hilist_code": r.med_list_codg, "hilist_name": r.med_list_codg,
                 "hilist_lv": r.chrgitm_lv or "01", "hilist_pric": str(r.pric), "hosplist_code": r.medins_list_codg or "",
                 "hosplist_name": r.med_list_codg, "cnt": str(r.cnt), "pric": str(r.pric),
                 "sumamt": str(fen_to_yuan(r.det_item_fee_sumamt)), "ownpay_amt": "0", "selfpay_amt": "0",
                 "spec": "", "spec_unt": "", "drord_begn_date": _t(r.fee_ocur_time),
                 "drord_dept_codg": r.bilg_dept_codg or "", "drord_dept_name": "", "drord_dr_codg": r.bilg_dr_codg or "",
                 "drord_dr_name": "", "drord_dr_profttl": "", "curr_drord_flag": "1"}
        if r.bilg_dept_codg is None:
            order["drord_dept_codg"] = None
        if r.feedetl_sn in codes:
            order["extend_order_map"] = {"drug_trac_codg": ",".join(sorted(codes[r.feedetl_sn]))}
        orders.append(order)
    diagnoses = [{"dise_id": f"{mdtrt_id}-{r.diag_srt_no}", "inout_dise_type": r.inout_diag_type,
                  "maindise_flag": r.maindiag_flag, "dias_srt_no": str(r.diag_srt_no), "dise_codg": r.diag_code,
                  "dise_name": r.diag_name or "", "dise_date": _t(enc.begntime)}
                 for r in conn.execute(select(d).where(d.c.mdtrt_id == mdtrt_id).order_by(d.c.diag_srt_no))]
    operations = [{"setl_list_oprn_id": f"{mdtrt_id}-{r.srt_no}", "oprn_code": r.oprn_oprt_code,
                   "oprn_name": r.oprn_oprt_name or "", "main_oprn_flag": r.main_flag}
                  for r in conn.execute(select(px).where(px.c.mdtrt_id == mdtrt_id).order_by(px.c.srt_no))]
    encounter = {
        "mdtrt_id": mdtrt_id, "medins_id": enc.fixmedins_code, "medins_name": inst.fixmedins_name,
        "medins_admdvs": inst.admdvs, "medins_type": inst.fixmedins_type, "medins_lv": LV_TO_HOSP_LV[inst.medins_lv],
        "adm_date": _t(enc.begntime), "dscg_date": _t(enc.endtime), "dscg_main_dise_codg": enc.dscg_maindiag_code,
        "dscg_main_dise_name": "", "fsi_diagnose_dtos": diagnoses, "dr_codg": "", "adm_dept_codg": enc.dept_code,
        "adm_dept_name": "", "dscg_dept_codg": enc.dept_code, "dscg_dept_name": "",
        "med_mdtrt_type": "2" if enc.med_type == "21" else ("3" if enc.med_type == "41" else "1"),
        "med_type": enc.med_type, "fsi_order_dtos": orders, "matn_stas": "0", "medfee_sumamt": "0", "ownpay_amt": "0",
        "selfpay_amt": "0", "setl_totlnum": "0", "insutype": enc.insutype, "reim_flag": "2", "out_setl_flag": "0",
        "fsi_operation_dtos": operations,
    }
    patient = {"patn_id": enc.psn_no, "patn_name": person.psn_name, "gend": person.gend,
               "brdy": person.brdy.isoformat(), "poolarea": "5114", "curr_mdtrt_id": mdtrt_id,
               "fsi_encounter_dtos": [encounter]}
    return {"data": {"patient_dtos": [patient], "trig_scen": trig_scen}}
