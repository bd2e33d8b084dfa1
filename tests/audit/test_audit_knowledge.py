"""Knowledge tables: read from CSV or Parquet with the declared types, checked, imported into the database."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from yibao.audit import knowledge as kn


def test_csv_typed_and_checked(library, tmp_path):
    spec = library.knowledge["kb_frequency"]
    p = tmp_path / "kb_frequency.csv"
    p.write_text("med_list_codg,med_list_name,max_per_day,max_per_visit,max_per_year\n"
                 "A,床位费,1,,\nB,氧气吸入,24.5,,\nC,糖化血红蛋白测定,,,4\n", encoding="utf-8")
    t = kn.read_file(p, spec)
    assert t.schema.field("max_per_day").type == pa.decimal128(18, 6)
    assert t.column("max_per_day").to_pylist() == [Decimal(1), Decimal("24.5"), None]
    assert t.column("max_per_year").to_pylist() == [None, None, 4]
    p.write_text("med_list_codg,med_list_name,max_per_day,max_per_visit,max_per_year\nA,x,1,,\nA,y,2,,\n", encoding="utf-8")
    with pytest.raises(kn.KnowledgeError, match="键 med_list_codg 重复"):
        kn.read_file(p, spec)
    p.write_text("med_list_codg,med_list_name,max_per_day,max_per_visit,max_per_year\nA,x,lots,,\n", encoding="utf-8")
    with pytest.raises(kn.KnowledgeError, match="max_per_day 不能读作 decimal"):
        kn.read_file(p, spec)
    p.write_text("med_list_codg,max_per_day\nA,1\n", encoding="utf-8")
    with pytest.raises(kn.KnowledgeError, match="缺少列 med_list_name, max_per_visit, max_per_year"):
        kn.read_file(p, spec)


def test_resolution_order_and_database_copy(engine, library, small_region):
    tables, notes = kn.resolve(library, region=small_region)
    assert notes == []
    assert tables["kb_gender"].num_rows > 50  # the region's own
    assert tables["kb_course"].num_rows == 3  # shipped (the region has none)
    with engine.begin() as conn:
        done = kn.import_tables(conn, library, small_region)
        assert set(done) == {"kb_gender", "kb_age", "kb_level", "kb_indication", "kb_frequency", "kb_price",
                             "kb_exclusive", "kb_included", "kb_dx_evidence"}
    with engine.connect() as conn:
        from_db, notes = kn.resolve(library, conn=conn)
    assert notes == []
    for name in done:
        assert from_db[name].equals(tables[name]), name
