"""Auditing a region after the platform has settled it (through the bulk channel) must find
exactly what auditing the region's own files finds: settlement must not change the facts the
rules look at (line times, departments, doctors, approval flags)."""

from __future__ import annotations

from yibao.audit import batch, dbexport, knowledge, store
from yibao.interface.bulk import BulkSettler
from yibao.storage import db
from yibao.synth.claims import iter_claims
from yibao.synth.load import load


def test_settled_database_and_region_files_give_the_same_findings(small_region, library, tmp_path):
    url = f"sqlite:///{tmp_path / 'settled.sqlite'}"
    load(small_region, url, claims=False)
    engine = db.make_engine(url)
    report = BulkSettler(engine).settle(iter_claims(small_region))
    assert report.settled > 5000 and not report.refused
    with engine.begin() as conn:
        store.import_stock(conn, small_region)
        knowledge.import_tables(conn, library, small_region)
        tables, notes = knowledge.resolve(library, conn=conn)
    assert not notes
    exported = tmp_path / "export"
    dbexport.export(engine, exported)
    from_database = batch.run(exported, library, tables)
    from_files = batch.run(small_region, library, tables)
    assert not from_database.errors and not from_files.errors
    database = {f.comparable() for f in from_database.findings}
    files = {f.comparable() for f in from_files.findings}
    assert len(files) > 50
    assert database == files
