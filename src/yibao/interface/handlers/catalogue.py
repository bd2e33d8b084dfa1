"""Catalogue transactions: versioned file downloads (1301–1303, 1305–1311, 1313–1315) fetched
with 9102, and paged queries (1304 民族药, 1312 医保目录, 1316 目录匹配, 1317 机构目录匹配,
1318 限价, 1319 先自付比例). See ``yibao.interface.catalogues`` for versions and columns."""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from yibao.storage import schema as s

from .. import catalogues as cat
from .. import files
from ..errors import InterfaceError
from ..fields import date_field, node, opt_str
from ..platform import Call

MAX_PAGE_SIZE = 1000


def _version(data: dict[str, Any]) -> str:
    """The version the institution holds; "" (before everything) for none or the initial version
    ("0", "v0000" as the SDK writes it). Rows without a version count as version "0"."""
    ver = opt_str(data, "ver", 20) or ""
    if ver.lower().startswith("v") and ver[1:].isdigit():
        ver = ver[1:]
    return "" if ver.strip("0") == "" else ver


def download(call: Call) -> dict[str, Any]:
    """A catalogue file: rows newer than data.ver, zipped; fetch it with 9102 (fixmedins_code plc)."""
    data = call.input.get("data") or {}
    if not isinstance(data, dict):
        raise InterfaceError("input.data 应为对象", field="data")
    after = _version(data)
    infno = call.request.infno
    if infno in cat.CATALOGUE_FILES:
        title, list_type = cat.CATALOGUE_FILES[infno]
        rows = cat.catalogue_rows(call.conn, list_type, after)
        last = rows[-1][-1] if rows else after
    else:
        title, kind = cat.CODE_LIST_FILES[infno]
        rows = cat.code_list_rows(call.conn, kind, after)
        last = rows[-1][-1] if rows else after
    now = dt.datetime.now()
    base = f"{infno}_{last}"
    content = files.zip_one(f"{base}.txt", files.txt_lines(rows))
    stored = files.store(call.conn, owner=files.PUBLIC_OWNER, filename=f"{base}.zip", kind="catalogue", content=content,
                         now=now, infno=infno, data_cnt=len(rows))
    call.ref_id = stored["file_qury_no"]
    return {
        "file_qury_no": stored["file_qury_no"],
        "filename": stored["filename"],
        "dld_end_time": stored["dld_endtime"].strftime("%Y-%m-%d %H:%M:%S"),
        "data_cnt": len(rows),
        "ver": last,
        "catalogue": title,
        "more": len(rows) == cat.FILE_ROWS,
    }


def _paging(data: dict[str, Any]) -> tuple[int, int]:
    values = []
    for key, default in (("page_num", 1), ("page_size", 100)):
        raw = data.get(key)
        if raw in (None, "", "null"):
            values.append(default)
            continue
        try:
            number = int(str(raw).strip())
        except ValueError:
            raise InterfaceError(f"{key} 应为正整数，实际为 {str(raw)[:20]}", field=key) from None
        if number < 1:
            raise InterfaceError(f"{key} 应为正整数，实际为 {number}", field=key)
        values.append(number)
    if values[1] > MAX_PAGE_SIZE:
        raise InterfaceError(f"page_size 不能超过 {MAX_PAGE_SIZE}", field="page_size")
    return values[0], values[1]


def _page(conn: Connection, query, page_num: int, page_size: int, shape: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    total = conn.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    rows = conn.execute(query.limit(page_size).offset((page_num - 1) * page_size)).fetchall()
    return {
        "list": [shape(r) for r in rows],
        "page_num": page_num,
        "page_size": page_size,
        "recordCounts": total,
        "pages": (total + page_size - 1) // page_size,
    }


def _catalogue_query(data: dict[str, Any]):
    t = s.catalogue
    query = select(t).order_by(t.c.med_list_codg)
    code = opt_str(data, "hilist_code", 50) or opt_str(data, "med_list_codg", 50)
    if code:
        query = query.where(t.c.med_list_codg == code)
    on = date_field(data, "query_date", required=False)
    query = query.where(cat.valid_on(t, on))
    updated = opt_str(data, "ver", 20) or opt_str(data, "updt_time", 20)
    if updated:
        query = query.where(func.coalesce(t.c.ver, cat.INITIAL_VERSION) > updated.replace("-", "")[:8])
    return query


def _hilist(r: Any) -> dict[str, Any]:
    return {
        "hilist_code": r.med_list_codg, "hilist_name": r.name, "list_type": r.list_type or "",
        "med_chrgitm_type": r.med_chrgitm_type or "", "chrgitm_lv": r.chrgitm_lv, "lmt_used_flag": r.lmt_used_flag,
        "hi_nego_drug_flag": "1" if r.nego_drug else "0", "bas_medn_flag": r.bas_medn_flag or "",
        "begndate": r.begndate.isoformat() if r.begndate else "", "enddate": r.enddate.isoformat() if r.enddate else "",
        "vali_flag": "1", "ver": r.ver or cat.INITIAL_VERSION,
    }


def query_ethnic(call: Call) -> dict[str, Any]:
    """1304 民族药品目录查询: catalogue entries of list_type 104."""
    data = node(call.input, "data")
    page_num, page_size = _paging(data)
    return _page(call.conn, _catalogue_query(data).where(s.catalogue.c.list_type == "104"), page_num, page_size, _hilist)


def query_catalogue(call: Call) -> dict[str, Any]:
    """1312 医保目录信息查询."""
    data = node(call.input, "data")
    page_num, page_size = _paging(data)
    query = _catalogue_query(data)
    list_type = opt_str(data, "list_type", 6)
    if list_type:
        query = query.where(s.catalogue.c.list_type == list_type)
    return _page(call.conn, query, page_num, page_size, _hilist)


def query_match(call: Call) -> dict[str, Any]:
    """1316 医疗目录与医保目录匹配信息查询. In yibao the medical catalogue code is the insurance
    catalogue code, so every entry matches itself."""
    data = node(call.input, "data")
    page_num, page_size = _paging(data)

    def shape(r: Any) -> dict[str, Any]:
        return {"med_list_codg": r.med_list_codg, "hilist_code": r.med_list_codg, "list_type": r.list_type or "",
                "insu_admdvs": "", "begndate": r.begndate.isoformat() if r.begndate else "",
                "enddate": r.enddate.isoformat() if r.enddate else "", "vali_flag": "1"}

    return _page(call.conn, _catalogue_query(data), page_num, page_size, shape)


def query_institution_match(call: Call) -> dict[str, Any]:
    """1317 医药机构目录匹配信息查询: the institution's own codes (medins_list_codg) as they
    were matched to catalogue codes on its uploaded fee lines."""
    data = node(call.input, "data")
    page_num, page_size = _paging(data)
    f, e = s.fee_lines, s.encounters
    query = (
        select(f.c.medins_list_codg, f.c.med_list_codg).distinct()
        .select_from(f.join(e, e.c.mdtrt_id == f.c.mdtrt_id))
        .where(e.c.fixmedins_code == call.fixmedins_code)
        .where(f.c.medins_list_codg.is_not(None))
        .order_by(f.c.medins_list_codg, f.c.med_list_codg)
    )
    code = opt_str(data, "medins_list_codg", 150)
    if code:
        query = query.where(f.c.medins_list_codg == code)

    def shape(r: Any) -> dict[str, Any]:
        return {"fixmedins_code": call.fixmedins_code, "medins_list_codg": r.medins_list_codg,
                "med_list_codg": r.med_list_codg, "vali_flag": "1"}

    return _page(call.conn, query, page_num, page_size, shape)


def query_price_caps(call: Call) -> dict[str, Any]:
    """1318 医保目录限价信息查询."""
    data = node(call.input, "data")
    page_num, page_size = _paging(data)
    query = _catalogue_query(data).where(s.catalogue.c.pric_uplmt_amt.is_not(None))

    def shape(r: Any) -> dict[str, Any]:
        return {"hilist_code": r.med_list_codg, "hilist_name": r.name, "hilist_pric_uplmt_amt": cat.price(r.pric_uplmt_amt),
                "overlmt_dspo_way": "1", "insu_admdvs": "", "begndate": r.begndate.isoformat() if r.begndate else "",
                "enddate": r.enddate.isoformat() if r.enddate else "", "vali_flag": "1"}

    return _page(call.conn, query, page_num, page_size, shape)


def query_selfpay(call: Call) -> dict[str, Any]:
    """1319 医保目录先自付比例信息查询."""
    data = node(call.input, "data")
    page_num, page_size = _paging(data)
    query = _catalogue_query(data).where(s.catalogue.c.selfpay_prop.is_not(None))

    def shape(r: Any) -> dict[str, Any]:
        return {"hilist_code": r.med_list_codg, "hilist_name": r.name, "selfpay_prop": cat.ratio(r.selfpay_prop),
                "selfpay_prop_psn_type": "", "selfpay_prop_type": "", "insu_admdvs": "",
                "begndate": r.begndate.isoformat() if r.begndate else "", "enddate": r.enddate.isoformat() if r.enddate else "",
                "vali_flag": "1"}

    return _page(call.conn, query, page_num, page_size, shape)
