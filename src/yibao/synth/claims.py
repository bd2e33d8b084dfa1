"""A generated region's care as claims for the bulk channel, in settlement order.

DuckDB joins encounters with their diagnoses, procedures and fee lines straight from the
Parquet files (hive-partitioned by year) and streams them ordered by discharge time, so the
whole year is never held in memory at once.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import duckdb

from yibao.interface.bulk import BulkEncounter, BulkLine

# Pharmacy purchases and outpatient visits of employees are paid from the personal account
# first, as institutions do by default.
ACCOUNT_FIRST = {"11", "13", "14", "41"}


def _fen(amount: Decimal | None) -> int | None:
    return None if amount is None else int(amount * 100)


def count(region: str | Path, *, since: dt.datetime | None = None, until: dt.datetime | None = None, where: str | None = None) -> int:
    d = Path(region)
    con = duckdb.connect()
    conditions = ["true"]
    if since is not None:
        conditions.append(f"endtime >= TIMESTAMP '{since:%Y-%m-%d %H:%M:%S}'")
    if until is not None:
        conditions.append(f"endtime < TIMESTAMP '{until:%Y-%m-%d %H:%M:%S}'")
    if where:
        conditions.append(f"({where})")
    return con.execute(
        f"SELECT count(*) FROM read_parquet('{d}/encounters/*/*.parquet', hive_partitioning = true) WHERE {' AND '.join(conditions)}"
    ).fetchone()[0]


def iter_claims(
    region: str | Path,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    where: str | None = None,
    batch_rows: int = 100_000,
) -> Iterator[BulkEncounter]:
    """The region's encounters with their lines, ordered by (endtime, mdtrt_id): those that end
    in [since, until), and match ``where`` (an SQL condition on the encounters' columns)."""
    d = Path(region)
    con = duckdb.connect()
    conditions = ["true"]
    if since is not None:
        conditions.append(f"endtime >= TIMESTAMP '{since:%Y-%m-%d %H:%M:%S}'")
    if until is not None:
        conditions.append(f"endtime < TIMESTAMP '{until:%Y-%m-%d %H:%M:%S}'")
    if where:
        conditions.append(f"({where})")
    query = f"""
        WITH e AS (
            SELECT * FROM read_parquet('{d}/encounters/*/*.parquet', hive_partitioning = true)
            WHERE {' AND '.join(conditions)}
        ),
        dx AS (
            SELECT mdtrt_id, list(diag_code ORDER BY diag_srt_no) AS codes
            FROM read_parquet('{d}/diagnoses/*/*.parquet', hive_partitioning = true) GROUP BY mdtrt_id
        ),
        px AS (
            SELECT mdtrt_id, list(oprn_oprt_code ORDER BY srt_no) AS codes
            FROM read_parquet('{d}/procedures/*/*.parquet', hive_partitioning = true) GROUP BY mdtrt_id
        ),
        f AS (
            SELECT mdtrt_id, feedetl_sn, med_list_codg, pric, cnt, det_item_fee_sumamt, init_feedetl_sn,
                   fee_ocur_time, medins_list_codg, bilg_dept_codg, bilg_dr_codg, hosp_appr_flag
            FROM read_parquet('{d}/fee_lines/*/*.parquet', hive_partitioning = true)
        )
        SELECT e.mdtrt_id, e.psn_no, e.fixmedins_code, e.insutype, e.med_type, e.begntime, e.endtime,
               e.dise_codg, e.dscg_maindiag_code, e.dscg_way, e.dept, e.exp_content, dx.codes AS dx, px.codes AS px,
               f.feedetl_sn, f.med_list_codg, f.pric, f.cnt, f.det_item_fee_sumamt, f.init_feedetl_sn,
               f.fee_ocur_time, f.medins_list_codg, f.bilg_dept_codg, f.bilg_dr_codg, f.hosp_appr_flag
        FROM e
        JOIN f USING (mdtrt_id)
        LEFT JOIN dx USING (mdtrt_id)
        LEFT JOIN px USING (mdtrt_id)
        ORDER BY e.endtime, e.mdtrt_id, length(f.feedetl_sn), f.feedetl_sn
    """
    reader = con.sql(query).to_arrow_reader(batch_rows)
    current: BulkEncounter | None = None
    for batch in reader:
        columns = batch.to_pydict()
        n = batch.num_rows
        for i in range(n):
            mdtrt_id = columns["mdtrt_id"][i]
            if current is None or current.mdtrt_id != mdtrt_id:
                if current is not None:
                    yield current
                med_type = columns["med_type"][i]
                current = BulkEncounter(
                    psn_no=columns["psn_no"][i],
                    fixmedins_code=columns["fixmedins_code"][i],
                    insutype=columns["insutype"][i],
                    med_type=med_type,
                    begntime=columns["begntime"][i],
                    endtime=columns["endtime"][i],
                    ipt_otp_no=mdtrt_id,
                    lines=[],
                    dise_codg=columns["dise_codg"][i] or columns["dscg_maindiag_code"][i],
                    diagnoses=list(columns["dx"][i] or []),
                    procedures=list(columns["px"][i] or []),
                    dscg_way=columns["dscg_way"][i],
                    dept_code=columns["dept"][i],
                    acct_used=columns["insutype"][i] == "310" and med_type in ACCOUNT_FIRST,
                    mdtrt_id=mdtrt_id,
                    exp_content=columns["exp_content"][i],
                )
            current.lines.append(BulkLine(
                columns["feedetl_sn"][i], columns["med_list_codg"][i], columns["pric"][i], columns["cnt"][i],
                _fen(columns["det_item_fee_sumamt"][i]), columns["init_feedetl_sn"][i], columns["fee_ocur_time"][i],
                columns["medins_list_codg"][i], columns["bilg_dept_codg"][i], columns["bilg_dr_codg"][i],
                columns["hosp_appr_flag"][i],
            ))
    if current is not None:
        yield current


def first_day(region: str | Path) -> dt.date:
    import json

    manifest = json.loads((Path(region) / "manifest.json").read_text(encoding="utf-8"))
    return dt.date(manifest["years"][0], 1, 1)
