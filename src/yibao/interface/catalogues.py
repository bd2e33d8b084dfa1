"""What the catalogue transactions serve: the insurance catalogue by list type (1301–1306), the
other code lists (1307–1315), and the paged queries (1304, 1312, 1316–1319).

Versions: every catalogue row and code-list row carries ``ver`` (text, e.g. ``20200301``). A
download with ``data.ver`` = the highest version the institution holds returns the rows with a
higher version, oldest first, at most ``FILE_ROWS`` per file; the answer's ``ver`` is the highest
version in the file, to be sent with the next download until ``data_cnt`` is 0.

File columns (TAB-separated, in this order; yibao keeps a subset of the national columns):
  catalogue files: med_list_codg, med_list_name, list_type, med_chrgitm_type, chrgitm_lv,
                   selfpay_prop, pric_uplmt_amt, hi_nego_drug_flag, lmt_used_flag, bas_medn_flag,
                   begndate, enddate, vali_flag, ver
  code-list files: code, name, begndate, enddate, vali_flag, ver
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Iterable

from sqlalchemy import and_, delete, func, or_, select, true
from sqlalchemy.engine import Connection

from yibao.storage import schema as s

FILE_ROWS = 10_000
INITIAL_VERSION = "0"

# infno → (name, catalogue list_type) for the insurance catalogue files
CATALOGUE_FILES = {
    "1301": ("西药中成药目录", "101"),
    "1302": ("中药饮片目录", "102"),
    "1303": ("医疗机构制剂目录", "103"),
    "1305": ("医疗服务项目目录", "201"),
    "1306": ("医用耗材目录", "301"),
}
# infno → (name, code_lists.list_kind)
CODE_LIST_FILES = {
    "1307": ("疾病与诊断目录", "disease"),
    "1308": ("手术操作目录", "operation"),
    "1309": ("门诊慢特病种目录", "chronic"),
    "1310": ("按病种付费病种目录", "dise_pay"),
    "1311": ("日间手术治疗病种目录", "daysurg"),
    "1313": ("肿瘤形态学目录", "tumour"),
    "1314": ("中医疾病目录", "tcm_disease"),
    "1315": ("中医证候目录", "tcm_syndrome"),
}
CATALOGUE_COLUMNS = ("med_list_codg", "med_list_name", "list_type", "med_chrgitm_type", "chrgitm_lv", "selfpay_prop",
                     "pric_uplmt_amt", "hi_nego_drug_flag", "lmt_used_flag", "bas_medn_flag", "begndate", "enddate",
                     "vali_flag", "ver")
CODE_LIST_COLUMNS = ("code", "name", "begndate", "enddate", "vali_flag", "ver")


def price(value: Decimal | None) -> Decimal | None:
    """A price (16,6) the same on every backend: at least two decimals, no trailing zeros past them."""
    if value is None:
        return None
    value = Decimal(value)
    return value.quantize(Decimal("0.01")) if value == value.quantize(Decimal("0.01")) else value.normalize()


def ratio(value: Decimal | None) -> Decimal | None:
    """A ratio (5,4) with its four decimals."""
    return None if value is None else Decimal(value).quantize(Decimal("0.0001"))


def _ver(column):
    return func.coalesce(column, INITIAL_VERSION)


def catalogue_rows(conn: Connection, list_type: str, after: str, limit: int = FILE_ROWS) -> list[tuple]:
    t = s.catalogue
    rows = conn.execute(
        select(t).where(t.c.list_type == list_type).where(_ver(t.c.ver) > after)
        .order_by(_ver(t.c.ver), t.c.med_list_codg).limit(limit)
    ).fetchall()
    return [
        (r.med_list_codg, r.name, r.list_type, r.med_chrgitm_type, r.chrgitm_lv, ratio(r.selfpay_prop), price(r.pric_uplmt_amt),
         "1" if r.nego_drug else "0", r.lmt_used_flag, r.bas_medn_flag, r.begndate, r.enddate, "1", r.ver or INITIAL_VERSION)
        for r in rows
    ]


def code_list_rows(conn: Connection, list_kind: str, after: str, limit: int = FILE_ROWS) -> list[tuple]:
    t = s.code_lists
    rows = conn.execute(
        select(t).where(t.c.list_kind == list_kind).where(t.c.ver > after).order_by(t.c.ver, t.c.code).limit(limit)
    ).fetchall()
    return [(r.code, r.name, r.begndate, r.enddate, r.vali_flag, r.ver) for r in rows]


def upsert_code_list(conn: Connection, list_kind: str, entries: Iterable[dict[str, Any]]) -> int:
    rows = [
        dict(list_kind=list_kind, code=str(e["code"]), name=str(e["name"]), ver=str(e.get("ver") or INITIAL_VERSION),
             begndate=e.get("begndate"), enddate=e.get("enddate"), vali_flag=str(e.get("vali_flag") or "1"), memo=e.get("memo"))
        for e in entries
    ]
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        conn.execute(delete(s.code_lists).where(s.code_lists.c.list_kind == list_kind)
                     .where(s.code_lists.c.code.in_([r["code"] for r in chunk])))
        conn.execute(s.code_lists.insert(), chunk)
    return len(rows)


def valid_on(table, on: dt.date | None):
    if on is None:
        return true()
    return and_(or_(table.c.begndate.is_(None), table.c.begndate <= on), or_(table.c.enddate.is_(None), table.c.enddate >= on))
