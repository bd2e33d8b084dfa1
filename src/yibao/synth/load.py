"""Load a generated region into the platform database (``yibao synth load``).

Persons (with their insurance and assistance identities), institutions and the catalogue, then
encounters, diagnoses, procedures and fee lines. Fee lines are classified on the way in with the
settlement engine's own line classification (全自费 / 超限价 / 先行自付 / 政策范围内), since the
table keeps those figures. Money goes in as integer fen, prices and counts as exact decimals.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
from sqlalchemy import func, select

from yibao.settlement.lines import classify_line
from yibao.settlement.model import CatalogueItem, FeeLine
from yibao.storage import db, schema
from yibao.storage.bulk import insert_rows

BATCH = 20_000
REGION_TABLES = ("fee_lines", "procedures", "diagnoses", "encounters", "identities", "insurance", "persons",
                 "institutions", "catalogue")


class LoadError(RuntimeError):
    pass


def _fen(x: Decimal | None) -> int | None:
    return None if x is None else int(x * 100)


def _batches(path: Path, columns: list[str] | None = None):
    dataset = ds.dataset(str(path), format="parquet", partitioning="hive") if path.is_dir() else ds.dataset(str(path), format="parquet")
    for batch in dataset.to_batches(columns=columns, batch_size=BATCH):
        yield batch.to_pylist()


def load(region: str | Path, database_url: str | None = None, *, claims: bool = True, replace: bool = False,
         progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Load ``region`` into the database; returns the rows written per table."""
    d = Path(region)
    manifest_path = d / "manifest.json"
    if not manifest_path.exists():
        raise FileNotFoundError(f"{d} is not a generated region (no manifest.json)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    engine = db.make_engine(database_url)
    db.create_all(engine)
    tables = {t: schema.metadata.tables[t] for t in REGION_TABLES}
    with engine.begin() as conn:
        existing = {t: conn.execute(select(func.count()).select_from(tables[t])).scalar_one() for t in REGION_TABLES}
        if any(existing.values()):
            if not replace:
                busy = ", ".join(f"{t} {n}" for t, n in existing.items() if n)
                raise LoadError(f"the database already holds data ({busy}); use --replace to replace it")
            for t in REGION_TABLES:
                conn.execute(tables[t].delete())
    counts: dict[str, int] = {}
    say = progress or (lambda _t, _n: None)

    def put(table: str, rows: list[dict]) -> None:
        if not rows:
            return
        cols = [c.name for c in tables[table].columns if c.name in rows[0]]
        with engine.begin() as conn:
            insert_rows(conn, tables[table], rows, cols)
        counts[table] = counts.get(table, 0) + len(rows)
        say(table, counts[table])

    first_day = dt.date(manifest["years"][0], 1, 1)
    # institutions ---------------------------------------------------------------------------
    inst_admdvs = {}
    for rows in _batches(d / "institutions.parquet"):
        out = []
        for r in rows:
            inst_admdvs[r["fixmedins_code"]] = r["admdvs"]
            out.append({"fixmedins_code": r["fixmedins_code"], "fixmedins_name": r["fixmedins_name"],
                        "fixmedins_type": r["fixmedins_type"], "hosp_lv": r["hosp_lv"],
                        "medins_lv": r["medins_lv"] or "pharmacy", "admdvs": r["admdvs"], "beds": r["beds"],
                        "uscc": r["uscc"], "valid": True})
        put("institutions", out)
    # catalogue ------------------------------------------------------------------------------
    items: dict[str, CatalogueItem] = {}
    for rows in _batches(d / "catalogue.parquet"):
        out = []
        for r in rows:
            items[r["med_list_codg"]] = CatalogueItem(
                med_list_codg=r["med_list_codg"], name=r["med_list_name"], chrgitm_lv=r["chrgitm_lv"],
                selfpay_prop=Fraction(r["selfpay_prop"] or 0),
                pric_uplmt_amt=None if r["pric_uplmt_amt"] is None else Fraction(r["pric_uplmt_amt"]),
                nego_drug=bool(r["nego_drug"]), lmt_used_flag=r["lmt_used_flag"],
                med_chrgitm_type=r["med_chrgitm_type"], list_type=r["list_type"])
            out.append({"med_list_codg": r["med_list_codg"], "name": r["med_list_name"], "list_type": r["list_type"],
                        "med_chrgitm_type": r["med_chrgitm_type"], "chrgitm_lv": r["chrgitm_lv"],
                        "selfpay_prop": r["selfpay_prop"], "pric_uplmt_amt": r["pric_uplmt_amt"],
                        "nego_drug": bool(r["nego_drug"]), "lmt_used_flag": r["lmt_used_flag"],
                        "bas_medn_flag": r["bas_medn_flag"], "begndate": first_day, "enddate": None,
                        "ver": f"synth-{manifest['generator_version']}"})
        put("catalogue", out)
    # persons, insurance, identities ----------------------------------------------------------
    insu_admdvs = {}
    for rows in _batches(d / "persons.parquet"):
        persons, insurance, identities = [], [], []
        for r in rows:
            insu_admdvs[r["psn_no"]] = r["insu_admdvs"]
            persons.append({"psn_no": r["psn_no"], "psn_cert_type": r["psn_cert_type"], "certno": r["certno"],
                            "psn_name": r["psn_name"], "gend": r["gend"], "naty": r["naty"], "brdy": r["brdy"],
                            "hsecfc": r["hsecfc"], "death_date": r["death_date"]})
            ended = r["death_date"] or r["move_out_date"]
            insurance.append({"psn_no": r["psn_no"], "insutype": r["insutype"], "psn_type": r["psn_type"],
                              "insu_admdvs": r["insu_admdvs"], "psn_insu_stas": "4" if ended else "1",
                              "psn_insu_date": r["psn_insu_date"], "paus_insu_date": ended,
                              "cvlserv_flag": r["cvlserv_flag"], "emp_name": r["emp_name"],
                              "acct_balc": _fen(r["acct_balc"]) or 0})
            if r["assistance"]:
                identities.append({"psn_no": r["psn_no"], "psn_idet_type": r["psn_idet_type"],
                                   "assistance": r["assistance"],
                                   "begntime": dt.datetime.combine(max(r["psn_insu_date"], first_day), dt.time()),
                                   "endtime": None, "memo": "合成区域：民政救助身份"})
        put("persons", persons)
        put("insurance", insurance)
        put("identities", identities)
    if not claims:
        return counts
    # encounters, diagnoses, procedures -------------------------------------------------------
    for rows in _batches(d / "encounters"):
        put("encounters", [{
            "mdtrt_id": r["mdtrt_id"], "psn_no": r["psn_no"], "fixmedins_code": r["fixmedins_code"],
            "insutype": r["insutype"], "med_type": r["med_type"],
            "visit_kind": "inpatient" if r["med_type"] == "21" else "outpatient", "ipt_otp_no": r["mdtrt_id"],
            "begntime": r["begntime"], "endtime": r["endtime"], "dise_codg": r["dise_codg"], "dise_name": None,
            "dscg_maindiag_code": r["dscg_maindiag_code"], "dscg_way": r["dscg_way"], "dept_code": r["dept"],
            "mdtrt_cert_type": "02", "mdtrt_cert_no": None, "mdtrtarea_admvs": inst_admdvs[r["fixmedins_code"]],
            "insuplc_admdvs": insu_admdvs[r["psn_no"]], "exp_content": r["exp_content"], "status": "discharged",
        } for r in rows])
    for rows in _batches(d / "diagnoses"):
        put("diagnoses", [{"mdtrt_id": r["mdtrt_id"], "diag_srt_no": r["diag_srt_no"], "inout_diag_type": "2",
                           "diag_type": r["diag_type"], "maindiag_flag": r["maindiag_flag"], "diag_code": r["diag_code"],
                           "diag_name": r["diag_name"], "vali_flag": "1"} for r in rows])
    for rows in _batches(d / "procedures"):
        put("procedures", [{"mdtrt_id": r["mdtrt_id"], "srt_no": r["srt_no"], "oprn_oprt_code": r["oprn_oprt_code"],
                            "oprn_oprt_name": r["oprn_oprt_name"], "main_flag": r["main_oprn_flag"]} for r in rows])
    # fee lines, classified -------------------------------------------------------------------
    cols = ["mdtrt_id", "feedetl_sn", "init_feedetl_sn", "med_list_codg", "medins_list_codg", "fee_ocur_time", "pric",
            "cnt", "det_item_fee_sumamt", "bilg_dept_codg", "bilg_dr_codg", "hosp_appr_flag"]
    for rows in _batches(d / "fee_lines", cols):
        out = []
        for r in rows:
            item = items.get(r["med_list_codg"])
            amount = _fen(r["det_item_fee_sumamt"])
            split = classify_line(FeeLine(r["feedetl_sn"], r["med_list_codg"], r["pric"], r["cnt"], amount,
                                          r["init_feedetl_sn"], r["hosp_appr_flag"]), item)
            out.append({**r, "chrg_bchno": None, "det_item_fee_sumamt": amount,
                        "fulamt_ownpay_amt": split.fulamt_ownpay, "overlmt_amt": split.overlmt,
                        "preselfpay_amt": split.preselfpay, "inscp_scp_amt": split.inscp,
                        "chrgitm_lv": item.chrgitm_lv if item else "", "status": "active"})
        put("fee_lines", out)
    return counts


def parquet_rows(region: str | Path, name: str) -> int:
    p = Path(region) / name
    if p.is_dir():
        return sum(pq.ParquetFile(f).metadata.num_rows for f in p.rglob("*.parquet"))
    return pq.ParquetFile(p).metadata.num_rows
