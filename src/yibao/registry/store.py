"""Writing the registry: institutions, persons with their insurance and identities, the
catalogue, and policies. Upserts by national key, so that importing a file twice changes
nothing the second time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from yibao.policy import PolicyFile
from yibao.storage import schema as s

from .levels import HOSP_LV_TO_LEVEL, LEVEL_WORDS

ASSISTANCE_IDET = {"tekun": "2102", "dibao": "2103", "poverty": "2104", "low_income": "2105"}


@dataclass
class PersonRecord:
    psn_no: str
    certno: str
    psn_name: str
    gend: str
    brdy: dt.date
    insutype: str
    psn_type: str
    insu_admdvs: str
    assistance: str | None = None
    cvlserv: bool = False
    acct_balc: int = 0  # fen
    naty: str | None = None
    psn_cert_type: str = "01"
    emp_name: str | None = None
    death_date: dt.date | None = None
    extra_insurance: list[dict[str, Any]] = field(default_factory=list)


def _upsert(conn: Connection, table, key_cols: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    keys = [tuple(r[k] for k in key_cols) for r in rows]
    cond_col = getattr(table.c, key_cols[0])
    if len(key_cols) == 1:
        conn.execute(delete(table).where(cond_col.in_([k[0] for k in keys])))
    else:
        for key in keys:
            stmt = delete(table)
            for col, value in zip(key_cols, key):
                stmt = stmt.where(getattr(table.c, col) == value)
            conn.execute(stmt)
    conn.execute(table.insert(), rows)


def institution_row(entry: dict[str, Any]) -> dict[str, Any]:
    level = str(entry.get("medins_lv", entry.get("hosp_lv", ""))).strip()
    hosp_lv = entry.get("hosp_lv")
    if level in HOSP_LV_TO_LEVEL or level == "11":
        hosp_lv = hosp_lv or level
    fixmedins_type = str(entry.get("fixmedins_type", "2" if level == "pharmacy" else "1"))
    return dict(
        fixmedins_code=str(entry["fixmedins_code"]),
        fixmedins_name=str(entry.get("fixmedins_name") or entry.get("name") or entry["fixmedins_code"]),
        fixmedins_type=fixmedins_type,
        hosp_lv=str(hosp_lv) if hosp_lv is not None else None,
        medins_lv=level,
        admdvs=str(entry["admdvs"]),
        beds=entry.get("beds"),
        uscc=entry.get("uscc"),
        valid=True,
    )


def upsert_institutions(conn: Connection, entries: Iterable[dict[str, Any]]) -> int:
    rows = [institution_row(e) for e in entries]
    _upsert(conn, s.institutions, ("fixmedins_code",), rows)
    return len(rows)


def upsert_persons(conn: Connection, records: Iterable[PersonRecord], *, since: dt.datetime | None = None) -> int:
    records = list(records)
    if not records:
        return 0
    since = since or dt.datetime(1900, 1, 1)
    psn_nos = [r.psn_no for r in records]
    conn.execute(delete(s.identities).where(s.identities.c.psn_no.in_(psn_nos)))
    conn.execute(delete(s.insurance).where(s.insurance.c.psn_no.in_(psn_nos)))
    _upsert(
        conn,
        s.persons,
        ("psn_no",),
        [
            dict(
                psn_no=r.psn_no, psn_cert_type=r.psn_cert_type, certno=r.certno, psn_name=r.psn_name,
                gend=r.gend, naty=r.naty, brdy=r.brdy, death_date=r.death_date,
            )
            for r in records
        ],
    )
    conn.execute(
        s.insurance.insert(),
        [
            dict(
                psn_no=r.psn_no, insutype=r.insutype, psn_type=r.psn_type, insu_admdvs=r.insu_admdvs,
                psn_insu_stas="1", psn_insu_date=None, cvlserv_flag="1" if r.cvlserv else "0",
                emp_name=r.emp_name, acct_balc=r.acct_balc,
            )
            for r in records
        ],
    )
    identities = [
        dict(psn_no=r.psn_no, psn_idet_type=ASSISTANCE_IDET[r.assistance], assistance=r.assistance, begntime=since, endtime=None)
        for r in records
        if r.assistance
    ]
    if identities:
        conn.execute(s.identities.insert(), identities)
    return len(records)


def catalogue_row(entry: dict[str, Any]) -> dict[str, Any]:
    def dec(value: Any) -> Decimal | None:
        if value in (None, ""):
            return None
        return value if isinstance(value, Decimal) else Decimal(str(value))

    lv = str(entry.get("chrgitm_lv", "03"))
    if lv not in ("01", "02", "03"):
        raise ValueError(f"目录 {entry.get('med_list_codg')}: chrgitm_lv 应为 01/02/03，实际为 {lv}")
    return dict(
        med_list_codg=str(entry["med_list_codg"]),
        name=str(entry.get("name") or entry.get("med_list_name") or ""),
        list_type=entry.get("list_type"),
        med_chrgitm_type=entry.get("med_chrgitm_type"),
        chrgitm_lv=lv,
        selfpay_prop=dec(entry.get("selfpay_prop")),
        pric_uplmt_amt=dec(entry.get("pric_uplmt_amt")),
        nego_drug=bool(entry.get("nego_drug", False)),
        lmt_used_flag=str(entry.get("lmt_used_flag", "0")),
        bas_medn_flag=entry.get("bas_medn_flag"),
        begndate=entry.get("begndate"),
        enddate=entry.get("enddate"),
        ver=entry.get("ver"),
    )


def upsert_catalogue(conn: Connection, entries: Iterable[dict[str, Any]]) -> int:
    rows = [catalogue_row(e) for e in entries]
    for start in range(0, len(rows), 500):
        _upsert(conn, s.catalogue, ("med_list_codg",), rows[start : start + 500])
    return len(rows)


def import_policy(conn: Connection, policy: PolicyFile, document: str | None = None) -> None:
    text = document if document is not None else Path(policy.source).read_text(encoding="utf-8")
    _upsert(
        conn,
        s.policies,
        ("policy_id",),
        [
            dict(
                policy_id=policy.id,
                name=policy.name,
                pooling_admdvs=policy.pooling_prefix,
                insutypes=",".join(policy.insutypes),
                valid_from=policy.valid_from,
                valid_to=policy.valid_to,
                source=policy.source,
                sha256=policy.text_sha256,
                document=text,
                imported_at=dt.datetime.now(),
            )
        ],
    )


def known_levels() -> tuple[str, ...]:
    return LEVEL_WORDS


def catalogue_codes(conn: Connection) -> set[str]:
    return {r[0] for r in conn.execute(select(s.catalogue.c.med_list_codg))}
