"""Knowledge tables: the data the rules read (items × allowed sex, item × age range, exclusive pairs …).

A bureau supplies them as CSV or Parquet files named after the table (``kb_gender.parquet``,
``kb_course.csv`` …); the library declares each table's columns and types. Tables are found, in
order: imported into the database (``yibao audit knowledge import DIR``), in the region folder
being audited, or shipped with yibao (``yibao/audit/data/knowledge``, the illustrative tables of
the demonstration region).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .library import SHIPPED_KNOWLEDGE, KnowledgeSpec, Library

ARROW_TYPES = {"str": pa.string(), "int": pa.int64(), "decimal": pa.decimal128(18, 6), "date": pa.date32()}


class KnowledgeError(ValueError):
    pass


def empty(spec: KnowledgeSpec) -> pa.Table:
    return pa.table({c: pa.array([], type=ARROW_TYPES[t]) for c, t in spec.columns.items()})


def conform(table: pa.Table, spec: KnowledgeSpec, source: str) -> pa.Table:
    """The table with exactly the declared columns, cast to the declared types; key checked unique."""
    missing = [c for c in spec.columns if c not in table.column_names]
    if missing:
        raise KnowledgeError(f"{source}: 知识表 {spec.table} 缺少列 {', '.join(missing)}")
    cols = {}
    for c, t in spec.columns.items():
        col = table.column(c)
        target = ARROW_TYPES[t]
        try:
            if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
                col = pc.if_else(pc.equal(pc.utf8_trim_whitespace(col), ""), pa.scalar(None, col.type), col)
                if t == "decimal":
                    col = pa.array([None if v is None else Decimal(v) for v in col.to_pylist()], type=target)
                elif t == "date":
                    col = pa.array([None if v is None else dt.date.fromisoformat(v) for v in col.to_pylist()], type=target)
            col = col.cast(target)
        except (pa.ArrowInvalid, ValueError, ArithmeticError) as exc:
            raise KnowledgeError(f"{source}: 知识表 {spec.table} 的列 {c} 不能读作 {t}: {exc}") from None
        cols[c] = col
    out = pa.table(cols)
    if spec.key and out.num_rows:
        keys = list(zip(*(out.column(k).to_pylist() for k in spec.key)))
        if len(set(keys)) != len(keys):
            seen, dup = set(), None
            for k in keys:
                if k in seen:
                    dup = k
                    break
                seen.add(k)
            raise KnowledgeError(f"{source}: 知识表 {spec.table} 的键 {', '.join(spec.key)} 重复: {dup}")
    return out


def read_file(path: Path, spec: KnowledgeSpec) -> pa.Table:
    if path.suffix == ".parquet":
        table = pq.read_table(path)
    else:
        names = None
        opts = pacsv.ConvertOptions(column_types={c: pa.string() for c in spec.columns}, strings_can_be_null=False)
        table = pacsv.read_csv(path, convert_options=opts, read_options=pacsv.ReadOptions(column_names=names))
    return conform(table, spec, str(path))


def find_file(folder: Path, table: str) -> Path | None:
    for suffix in (".parquet", ".csv"):
        p = folder / f"{table}{suffix}"
        if p.exists():
            return p
    return None


def resolve(library: Library, *, region: Path | None = None, conn=None) -> tuple[dict[str, pa.Table], list[str]]:
    """Every declared knowledge table, and notes on where each came from (or that it is missing)."""
    imported = read_imported(conn, library) if conn is not None else {}
    tables: dict[str, pa.Table] = {}
    notes: list[str] = []
    for name, spec in library.knowledge.items():
        if name in imported:
            tables[name] = imported[name]
            continue
        path = find_file(region, name) if region is not None else None
        if path is None:
            path = find_file(SHIPPED_KNOWLEDGE, name)
        if path is not None:
            tables[name] = read_file(path, spec)
        else:
            tables[name] = empty(spec)
            notes.append(f"知识表 {name}（{spec.name}）未导入，使用它的规则不会发现任何问题")
    return tables, notes


# ── the database copy ─────────────────────────────────────────────────────────────────────────

def _text(v):
    if v is None:
        return None
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return str(v)


def import_tables(conn, library: Library, folder: Path) -> dict[str, int]:
    """Import every declared table found in ``folder`` into the database (replacing the previous copy)."""
    from sqlalchemy import delete

    from yibao.storage import schema as s
    from yibao.storage.bulk import insert_rows

    done: dict[str, int] = {}
    for name, spec in library.knowledge.items():
        path = find_file(folder, name)
        if path is None:
            continue
        table = read_file(path, spec)
        rows = table.to_pylist()
        payload = [json.dumps({k: _text(v) for k, v in r.items()}, ensure_ascii=False, sort_keys=True) for r in rows]
        sha = hashlib.sha256("\n".join(payload).encode("utf-8")).hexdigest()
        conn.execute(delete(s.audit_knowledge_rows).where(s.audit_knowledge_rows.c.table_name == name))
        conn.execute(delete(s.audit_knowledge_tables).where(s.audit_knowledge_tables.c.table_name == name))
        insert_rows(conn, s.audit_knowledge_rows, [{"table_name": name, "row_no": i, "data": p} for i, p in enumerate(payload)])
        conn.execute(s.audit_knowledge_tables.insert().values(
            table_name=name, columns=json.dumps(spec.columns, ensure_ascii=False), row_count=len(rows),
            source=str(path), sha256=sha, imported_at=dt.datetime.now().replace(microsecond=0)))
        done[name] = len(rows)
    return done


def read_imported(conn, library: Library) -> dict[str, pa.Table]:
    from sqlalchemy import select

    from yibao.storage import schema as s

    names = {r.table_name for r in conn.execute(select(s.audit_knowledge_tables.c.table_name))}
    out: dict[str, pa.Table] = {}
    for name in names:
        spec = library.knowledge.get(name)
        if spec is None:
            continue
        rows = [json.loads(r.data) for r in conn.execute(
            select(s.audit_knowledge_rows.c.data).where(s.audit_knowledge_rows.c.table_name == name)
            .order_by(s.audit_knowledge_rows.c.row_no))]
        cols = {c: pa.array([r.get(c) for r in rows], type=pa.string()) for c in spec.columns}
        out[name] = conform(pa.table(cols) if rows else pa.table({c: pa.array([], pa.string()) for c in spec.columns}),
                            spec, f"数据库知识表 {name}")
    return out
