"""The platform database (SQLite or PostgreSQL) written out in the region format, for the batch engines.

The database is attached to DuckDB read-only with the scanner extensions shipped on PyPI
(:func:`yibao.storage.analytics.duck`) and each table is copied to Parquet in the layout of
``yibao synth`` regions (``encounters/year=Y/…parquet`` …, money back in yuan decimals) in one
``COPY`` per table. Where the scanners cannot be loaded, the database is read with its own driver in
column batches instead (``method="driver"``; same files, slower). Both batch engines then read the
same files. Cancelled encounters and fee lines are left out; pharmacy stock and traceability codes come
from ``yibao audit stock import``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.engine import Engine

from yibao.storage import schema as s

BATCH = 100_000
D2 = pa.decimal128(16, 2)
D4 = pa.decimal128(16, 4)
D6 = pa.decimal128(16, 6)


def _yuan(fen):
    return None if fen is None else Decimal(fen).scaleb(-2)


def _stream(conn, stmt, columns: list[tuple[str, pa.DataType, Callable | None]]):
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(stmt)
    while True:
        rows = result.fetchmany(BATCH)
        if not rows:
            break
        arrays = []
        for i, (_name, typ, conv) in enumerate(columns):
            vals = [r[i] for r in rows]
            if conv is not None:
                vals = [conv(v) for v in vals]
            arrays.append(pa.array(vals, type=typ))
        yield pa.Table.from_arrays(arrays, names=[c[0] for c in columns])


def _write_single(out: Path, name: str, conn, stmt, columns) -> int:
    tables = list(_stream(conn, stmt, columns))
    table = pa.concat_tables(tables) if tables else pa.table({c: pa.array([], t) for c, t, _ in columns})
    pq.write_table(table, out / f"{name}.parquet")
    return table.num_rows


def _write_by_year(out: Path, name: str, conn, stmt, columns, year_col: str | None = None,
                   years_of: dict[str, int] | None = None) -> int:
    writers: dict[int, pq.ParquetWriter] = {}
    n = 0
    schema = pa.schema([(c, t) for c, t, _ in columns])
    for table in _stream(conn, stmt, columns):
        if year_col:
            years = [v.year for v in table.column(year_col).to_pylist()]
        else:
            years = [years_of.get(m, 0) for m in table.column("mdtrt_id").to_pylist()]
        for y in sorted(set(years)):
            mask = pa.array([yy == y for yy in years])
            part = table.filter(mask)
            if y not in writers:
                folder = out / name / f"year={y}"
                folder.mkdir(parents=True, exist_ok=True)
                writers[y] = pq.ParquetWriter(folder / "part-0.parquet", schema)
            writers[y].write_table(part)
        n += table.num_rows
    if not writers:
        folder = out / name / "year=0"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(schema.empty_table(), folder / "part-0.parquet")
    for w in writers.values():
        w.close()
    return n


DUCK_SELECTS = {
    "persons": """
        select p.psn_no, p.gend, cast(p.brdy as date) as brdy, cast(p.death_date as date) as death_date,
               cast(i.psn_insu_date as date) as psn_insu_date,
               case when p.death_date is null then cast(i.paus_insu_date as date) end as move_out_date
        from db.persons p
        left join (select psn_no, psn_insu_date, paus_insu_date,
                          row_number() over (partition by psn_no order by insutype) as k from db.insurance) i
               on i.psn_no = p.psn_no and i.k = 1""",
    "institutions": """
        select fixmedins_code, case when medins_lv = 'pharmacy' then null else medins_lv end as medins_lv
        from db.institutions""",
    "catalogue": """
        select med_list_codg, name as med_list_name, list_type, med_chrgitm_type, chrgitm_lv,
               cast(pric_uplmt_amt as decimal(16, 6)) as pric_uplmt_amt, lmt_used_flag from db.catalogue""",
    "encounters": """
        select mdtrt_id, psn_no, fixmedins_code, insutype, med_type, cast(begntime as timestamp) as begntime,
               cast(endtime as timestamp) as endtime, dscg_maindiag_code, dept_code as dept, dscg_way, exp_content,
               year(cast(begntime as timestamp)) as year
        from db.encounters where status <> 'cancelled'""",
    "diagnoses": """
        select d.mdtrt_id, cast(d.diag_srt_no as integer) as diag_srt_no, d.diag_code, d.maindiag_flag,
               year(cast(e.begntime as timestamp)) as year
        from db.diagnoses d join db.encounters e on e.mdtrt_id = d.mdtrt_id
        where e.status <> 'cancelled' and d.inout_diag_type = '2' and d.vali_flag = '1'""",
    "procedures": """
        select p.mdtrt_id, cast(p.srt_no as integer) as srt_no, p.oprn_oprt_code, year(cast(e.begntime as timestamp)) as year
        from db.procedures p join db.encounters e on e.mdtrt_id = p.mdtrt_id where e.status <> 'cancelled'""",
    "fee_lines": """
        select f.mdtrt_id, f.feedetl_sn, f.init_feedetl_sn, f.med_list_codg, cast(f.fee_ocur_time as timestamp) as fee_ocur_time,
               cast(f.pric as decimal(16, 6)) as pric, cast(f.cnt as decimal(16, 4)) as cnt,
               cast(cast(f.det_item_fee_sumamt as decimal(18, 0)) * cast(0.01 as decimal(3, 2)) as decimal(16, 2))
                   as det_item_fee_sumamt,
               f.bilg_dept_codg, year(cast(e.begntime as timestamp)) as year
        from db.fee_lines f join db.encounters e on e.mdtrt_id = f.mdtrt_id
        where e.status <> 'cancelled' and f.status <> 'cancelled'""",
    "sales": """
        select fixmedins_code, med_list_codg, cast(sel_time as timestamp) as sel_time, cast(cnt as decimal(16, 4)) as cnt,
               cast(pric as decimal(16, 6)) as pric from db.audit_drug_sales""",
    "purchases": """
        select fixmedins_code, med_list_codg, cast(purc_date as date) as purc_date,
               cast(purc_cnt as decimal(16, 4)) as purc_cnt from db.audit_drug_purchases""",
    "trace_codes": """
        select t.mdtrt_id, t.feedetl_sn, cast(f.fee_ocur_time as timestamp) as fee_ocur_time, t.drug_trac_codg
        from db.audit_trace_codes t
        join db.fee_lines f on f.mdtrt_id = t.mdtrt_id and f.feedetl_sn = t.feedetl_sn
        join db.encounters e on e.mdtrt_id = t.mdtrt_id
        where f.status <> 'cancelled' and e.status <> 'cancelled'""",
}
PARTITIONED = ("encounters", "diagnoses", "procedures", "fee_lines")


def export(engine: Engine, out: str | Path, *, progress: Callable[[str, int], None] | None = None,
           method: str = "auto") -> dict[str, int]:
    """Write the database's care, registry and stock to ``out`` in the region format; rows per table.

    ``method``: ``duckdb`` (the scanners), ``driver`` (SQLAlchemy in batches) or ``auto`` (DuckDB when its
    scanner loads, else the driver)."""
    if method in ("auto", "duckdb"):
        try:
            return export_duckdb(engine, out, progress=progress)
        except Exception:
            if method == "duckdb":
                raise
    return export_driver(engine, out, progress=progress)


def export_duckdb(engine: Engine, out: str | Path, *, progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    from yibao.storage.analytics import duck

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda _t, _n: None)
    con = duck(engine.url.render_as_string(hide_password=False))
    con.execute("set preserve_insertion_order = false")
    counts: dict[str, int] = {}
    try:
        for name, sql in DUCK_SELECTS.items():
            n = con.execute(f"select count(*) from ({sql})").fetchone()[0]
            if name in PARTITIONED:
                target = out / name
                if n:
                    con.execute(f"copy ({sql}) to '{target}' (format parquet, partition_by (year), overwrite_or_ignore true)")
                else:
                    (target / "year=0").mkdir(parents=True, exist_ok=True)
                    con.execute(f"copy (select * exclude (year) from ({sql})) to '{target}/year=0/part-0.parquet' (format parquet)")
            else:
                con.execute(f"copy ({sql}) to '{out / name}.parquet' (format parquet)")
            counts[name] = n
            say(name, n)
    finally:
        con.close()
    return counts


def export_driver(engine: Engine, out: str | Path, *, progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Write the database's care, registry and stock to ``out`` in the region format, reading it with the driver."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda _t, _n: None)
    counts: dict[str, int] = {}
    st, ts = pa.string(), pa.timestamp("us")
    with engine.connect() as conn:
        p, ins = s.persons, s.insurance
        counts["persons"] = _write_single(out, "persons", conn, select(
            p.c.psn_no, p.c.gend, p.c.brdy, p.c.death_date, ins.c.psn_insu_date, ins.c.paus_insu_date)
            .select_from(p.outerjoin(ins, ins.c.psn_no == p.c.psn_no)).order_by(p.c.psn_no, ins.c.insutype), [
            ("psn_no", st, None), ("gend", st, None), ("brdy", pa.date32(), None), ("death_date", pa.date32(), None),
            ("psn_insu_date", pa.date32(), None), ("move_out_date", pa.date32(), None)])
        # one row per person (its first insurance type, as real time reads it); the move-out date is the
        # pause date of a living person
        persons = pq.read_table(out / "persons.parquet").to_pylist()
        seen: dict[str, dict] = {}
        for r in persons:
            r["move_out_date"] = r["move_out_date"] if r["death_date"] is None else None
            seen.setdefault(r["psn_no"], r)
        pq.write_table(pa.Table.from_pylist(list(seen.values()), schema=pq.read_schema(out / "persons.parquet")),
                       out / "persons.parquet")
        counts["persons"] = len(seen)
        say("persons", counts["persons"])
        i = s.institutions
        counts["institutions"] = _write_single(out, "institutions", conn, select(
            i.c.fixmedins_code, i.c.medins_lv), [
            ("fixmedins_code", st, None), ("medins_lv", st, lambda v: None if v == "pharmacy" else v)])
        c = s.catalogue
        counts["catalogue"] = _write_single(out, "catalogue", conn, select(
            c.c.med_list_codg, c.c.name, c.c.list_type, c.c.med_chrgitm_type, c.c.chrgitm_lv, c.c.pric_uplmt_amt,
            c.c.lmt_used_flag), [
            ("med_list_codg", st, None), ("med_list_name", st, None), ("list_type", st, None),
            ("med_chrgitm_type", st, None), ("chrgitm_lv", st, None), ("pric_uplmt_amt", D6, None),
            ("lmt_used_flag", st, None)])
        e = s.encounters
        live = e.c.status != "cancelled"
        counts["encounters"] = _write_by_year(out, "encounters", conn, select(
            e.c.mdtrt_id, e.c.psn_no, e.c.fixmedins_code, e.c.insutype, e.c.med_type, e.c.begntime, e.c.endtime,
            e.c.dscg_maindiag_code, e.c.dept_code, e.c.dscg_way, e.c.exp_content).where(live).order_by(e.c.mdtrt_id), [
            ("mdtrt_id", st, None), ("psn_no", st, None), ("fixmedins_code", st, None), ("insutype", st, None),
            ("med_type", st, None), ("begntime", ts, None), ("endtime", ts, None), ("dscg_maindiag_code", st, None),
            ("dept", st, None), ("dscg_way", st, None), ("exp_content", st, None)], year_col="begntime")
        say("encounters", counts["encounters"])
        years_of = {m: b.year for m, b in conn.execute(select(e.c.mdtrt_id, e.c.begntime).where(live))}
        dx = s.diagnoses
        counts["diagnoses"] = _write_by_year(out, "diagnoses", conn, select(
            dx.c.mdtrt_id, dx.c.diag_srt_no, dx.c.diag_code, dx.c.maindiag_flag)
            .where(dx.c.inout_diag_type == "2", dx.c.vali_flag == "1").order_by(dx.c.mdtrt_id, dx.c.diag_srt_no), [
            ("mdtrt_id", st, None), ("diag_srt_no", pa.int32(), None), ("diag_code", st, None),
            ("maindiag_flag", st, None)], years_of=years_of)
        px = s.procedures
        counts["procedures"] = _write_by_year(out, "procedures", conn, select(
            px.c.mdtrt_id, px.c.srt_no, px.c.oprn_oprt_code).order_by(px.c.mdtrt_id, px.c.srt_no), [
            ("mdtrt_id", st, None), ("srt_no", pa.int32(), None), ("oprn_oprt_code", st, None)], years_of=years_of)
        f = s.fee_lines
        counts["fee_lines"] = _write_by_year(out, "fee_lines", conn, select(
            f.c.mdtrt_id, f.c.feedetl_sn, f.c.init_feedetl_sn, f.c.med_list_codg, f.c.fee_ocur_time, f.c.pric, f.c.cnt,
            f.c.det_item_fee_sumamt, f.c.bilg_dept_codg).where(f.c.status != "cancelled")
            .order_by(f.c.mdtrt_id, f.c.feedetl_sn), [
            ("mdtrt_id", st, None), ("feedetl_sn", st, None), ("init_feedetl_sn", st, None), ("med_list_codg", st, None),
            ("fee_ocur_time", ts, None), ("pric", D6, None), ("cnt", D4, None), ("det_item_fee_sumamt", D2, _yuan),
            ("bilg_dept_codg", st, None)], years_of=years_of)
        say("fee_lines", counts["fee_lines"])
        sa_, pu, tc = s.audit_drug_sales, s.audit_drug_purchases, s.audit_trace_codes
        counts["sales"] = _write_single(out, "sales", conn, select(
            sa_.c.fixmedins_code, sa_.c.med_list_codg, sa_.c.sel_time, sa_.c.cnt, sa_.c.pric).order_by(sa_.c.id), [
            ("fixmedins_code", st, None), ("med_list_codg", st, None), ("sel_time", ts, None), ("cnt", D4, None),
            ("pric", D6, None)])
        counts["purchases"] = _write_single(out, "purchases", conn, select(
            pu.c.fixmedins_code, pu.c.med_list_codg, pu.c.purc_date, pu.c.purc_cnt).order_by(pu.c.id), [
            ("fixmedins_code", st, None), ("med_list_codg", st, None), ("purc_date", pa.date32(), None),
            ("purc_cnt", D4, None)])
        counts["trace_codes"] = _write_single(out, "trace_codes", conn, select(
            tc.c.mdtrt_id, tc.c.feedetl_sn, f.c.fee_ocur_time, tc.c.drug_trac_codg)
            .select_from(tc.join(f, (f.c.mdtrt_id == tc.c.mdtrt_id) & (f.c.feedetl_sn == tc.c.feedetl_sn))
                         .join(e, e.c.mdtrt_id == tc.c.mdtrt_id))
            .where(f.c.status != "cancelled", live), [
            ("mdtrt_id", st, None), ("feedetl_sn", st, None), ("fee_ocur_time", ts, None), ("drug_trac_codg", st, None)])
    return counts
