"""Fee lines: upload (2204 outpatient, 2301 inpatient) and withdrawal (2205, 2302).

Each uploaded line is priced and split at once (settlement.md §1) and the split is returned
per ``feedetl_sn``; a refund line (negative ``cnt``) must name the line it refunds and may not
take it below zero. A batch with any bad line is refused whole, naming the line and field.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import select, update

from yibao.money import fen_to_yuan
from yibao.settlement import FeeLine, LineError, classify_lines
from yibao.settlement.lines import classify_plain, is_refund
from yibao.settlement.model import LineSplit, fast_constructor
from yibao.storage import schema as s
from yibao.storage.fast import ConvertedRows

from .. import lookups
from .. import statements as q
from ..errors import InterfaceError
from ..fields import datetime_field, exact_decimal, money, node, opt_str, req_str
from ..platform import Call


PLACES = {4: Decimal("0.0001"), 6: Decimal("0.000001")}


def to_decimal(value: Fraction, places: int) -> Decimal:
    """An exact value with at most ``places`` decimals, written with exactly ``places``."""
    scale = 10**places
    if scale % value.denominator == 0:  # always, for prices and quantities read from the wire
        return Decimal(value.numerator * (scale // value.denominator)).scaleb(-places)
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal(1).scaleb(-places))


# The text fields of a fee line: (name, longest allowed, required), for both readings.
_TEXT_FIELDS = (
    ("feedetl_sn", 30, True), ("mdtrt_id", 30, True), ("med_list_codg", 50, True), ("init_feedetl_sn", 30, False),
    ("hosp_appr_flag", 3, False), ("chrg_bchno", 30, False), ("medins_list_codg", 150, False),
    ("bilg_dept_codg", 30, False), ("bilg_dr_codg", 30, False), ("psn_no", 30, False),
)
_LONGEST = {name: longest for name, longest, _ in _TEXT_FIELDS}
_ABSENT_TEXT = frozenset(("", "null", "NULL"))
# Unsigned decimal text in ASCII digits, as HIS systems send it; anything else (other digits,
# signs, exponents, spaces) goes the long way round.
_PRICE_TEXT = re.compile(r"(?P<whole>\d{1,16})(?:\.(?P<frac>\d{1,6}))?", re.ASCII)
_COUNT_TEXT = re.compile(r"(?P<whole>\d{1,16})(?:\.(?P<frac>\d{1,4}))?", re.ASCII)
_AMOUNT_TEXT = re.compile(r"(?P<sign>-?)(?P<whole>\d{1,14})(?:\.(?P<frac>\d{1,2}))?", re.ASCII)


def _scaled(match: re.Match[str] | None, places: int) -> int | None:
    """The matched decimal text × 10^places, as an int (None when it did not match)."""
    if match is None:
        return None
    units = int(match["whole"] + (match["frac"] or "").ljust(places, "0"))
    return -units if match.groupdict().get("sign") else units


def _parse_plain(raw: dict[str, Any]) -> tuple[str, FeeLine, dict[str, Any]] | None:
    """``_parse_line`` for the line almost every upload is made of: text fields as strings, a
    non-negative price and count written as plain decimals (or whole JSON numbers), no refund.
    Returns None for anything else, which ``_parse_line`` then reads field by field, with the
    error that names the field. The two agree wherever this one answers
    (``tests/interface/test_fee_parsing.py``)."""
    text: dict[str, str | None] = {}
    get = raw.get
    for key, longest, required in _TEXT_FIELDS:
        value = get(key)
        if value is None:
            if required:
                return None
            text[key] = None
            continue
        if type(value) is not str:
            return None
        value = value.strip()
        if len(value) > longest:
            return None
        if value in _ABSENT_TEXT:
            if required:
                return None
            value = None
        text[key] = value
    if text["init_feedetl_sn"] is not None:
        return None  # a refund line: read the long way
    pric_u = _number_units(get("pric"), _PRICE_TEXT, 6)
    cnt_u = _number_units(get("cnt"), _COUNT_TEXT, 4)
    if pric_u is None or cnt_u is None:
        return None
    amount = get("det_item_fee_sumamt")
    fen = None
    if amount is not None and amount != "":
        fen = _scaled(_AMOUNT_TEXT.fullmatch(amount), 2) if type(amount) is str else None
        if fen is None:
            return None
    when = get("fee_ocur_time")
    if when is None or when == "":
        occurred = None
    elif type(when) is str and len(when) == 19 and when[4] == "-" and when[7] == "-":
        try:
            occurred = dt.datetime.fromisoformat(when)
        except ValueError:
            return None
    else:
        return None
    line = _fee_line(
        feedetl_sn=text["feedetl_sn"],
        med_list_codg=text["med_list_codg"],
        pric=_exact(pric_u, 10**6, _PRICES),
        cnt=_exact(cnt_u, 10**4, _COUNTS),
        det_item_fee_sumamt=fen,
        hosp_appr_flag=text["hosp_appr_flag"],
    )
    extra = dict(
        pric=Decimal(pric_u).scaleb(-6),
        cnt=Decimal(cnt_u).scaleb(-4),
        chrg_bchno=text["chrg_bchno"],
        medins_list_codg=text["medins_list_codg"],
        fee_ocur_time=occurred,
        bilg_dept_codg=text["bilg_dept_codg"],
        bilg_dr_codg=text["bilg_dr_codg"],
        psn_no=text["psn_no"],
    )
    return text["mdtrt_id"], line, extra  # type: ignore[return-value]


# FeeLine(…) by the settlement model's fast constructor.
_fee_line = fast_constructor(FeeLine)
# Prices and counts repeat from line to line (a catalogue's prices, counts of 1, 2, 3 …), and a
# Fraction costs more to make than a dict look-up: each value's Fraction is made once per
# process. Fractions are immutable, so lines may share them.
_PRICES: dict[int, Fraction] = {}
_COUNTS: dict[int, Fraction] = {}


def _exact(units: int, scale: int, made: dict[int, Fraction]) -> Fraction:
    """``units / scale`` as a Fraction, remembered in ``made``."""
    value = made.get(units)
    if value is None:
        if len(made) >= 100_000:
            made.clear()
        value = made[units] = Fraction(units, scale)
    return value


def _number_units(value: Any, pattern: re.Pattern[str], places: int) -> int | None:
    if type(value) is str:
        return _scaled(pattern.fullmatch(value), places)
    if type(value) is int and 0 <= value < 10**16:
        return value * 10**places
    return None


def _parse_line(raw: dict[str, Any], index: int) -> tuple[str, FeeLine, dict[str, Any]]:
    plain = _parse_plain(raw)
    if plain is not None:
        return plain
    return _parse_line_field_by_field(raw, index)


def _parse_line_field_by_field(raw: dict[str, Any], index: int) -> tuple[str, FeeLine, dict[str, Any]]:
    where = f"feedetail[{index}]"
    try:
        sn = req_str(raw, "feedetl_sn", _LONGEST["feedetl_sn"])
        mdtrt_id = req_str(raw, "mdtrt_id", _LONGEST["mdtrt_id"])
        pric = exact_decimal(raw, "pric", places=6)
        cnt = exact_decimal(raw, "cnt", places=4)
        line = FeeLine(
            feedetl_sn=sn,
            med_list_codg=req_str(raw, "med_list_codg", _LONGEST["med_list_codg"]),
            pric=Fraction(pric),  # type: ignore[arg-type]
            cnt=Fraction(cnt),  # type: ignore[arg-type]
            det_item_fee_sumamt=money(raw, "det_item_fee_sumamt", required=False, allow_negative=True),
            init_feedetl_sn=opt_str(raw, "init_feedetl_sn", _LONGEST["init_feedetl_sn"]),
            hosp_appr_flag=opt_str(raw, "hosp_appr_flag", _LONGEST["hosp_appr_flag"]),
        )
        extra = dict(
            # as written, with the interface's number of places (16,6 and 16,4)
            pric=pric.quantize(PLACES[6]),  # type: ignore[union-attr]
            cnt=cnt.quantize(PLACES[4]),  # type: ignore[union-attr]
            chrg_bchno=opt_str(raw, "chrg_bchno", _LONGEST["chrg_bchno"]),
            medins_list_codg=opt_str(raw, "medins_list_codg", _LONGEST["medins_list_codg"]),
            fee_ocur_time=datetime_field(raw, "fee_ocur_time", required=False),
            bilg_dept_codg=opt_str(raw, "bilg_dept_codg", _LONGEST["bilg_dept_codg"]),
            bilg_dr_codg=opt_str(raw, "bilg_dr_codg", _LONGEST["bilg_dr_codg"]),
            psn_no=opt_str(raw, "psn_no", _LONGEST["psn_no"]),
        )
    except InterfaceError as exc:
        raise InterfaceError(f"{where}: {exc.message}", field=exc.field) from None
    return mdtrt_id, line, extra


@dataclass
class _Line:
    line: FeeLine
    extra: dict[str, Any]
    ready: LineSplit | LineError | None  # classify_plain(line)
    result: dict[str, Any] | None  # the answer's row, when ``ready`` is a split


def read_upload(inp: dict[str, Any], catalogue: Any) -> dict[str, list[_Line]]:
    """Parse a fee upload and classify its plain lines, by encounter: everything that needs only
    the request and the catalogue (raises InterfaceError on a malformed line)."""
    details = node(inp, "feedetail", many=True)
    if len(details) > 5000:
        raise InterfaceError("一次上传的费用明细不能超过5000条，请分批上传", field="feedetail")
    by_encounter: dict[str, list[_Line]] = {}
    for index, raw in enumerate(details):
        mdtrt_id, line, extra = _parse_line(raw, index)
        ready = classify_plain(line, catalogue)
        result = _result_row(ready, catalogue.get(line.med_list_codg), extra) if isinstance(ready, LineSplit) else None
        by_encounter.setdefault(mdtrt_id, []).append(_Line(line, extra, ready, result))
    return by_encounter


@dataclass
class _Upload:
    """What ``prepare_upload`` works out before the write lock: the lines by encounter, and for
    each encounter whose lines are all plain, its rows already converted for the database."""

    by_encounter: dict[str, list[_Line]]
    rows: dict[str, ConvertedRows]


def prepare_upload(request: Any, platform: Any) -> _Upload:
    """``read_upload`` and the stored rows of the plain lines, before the write lock is taken
    (``Transaction.prepare``). What the lock is needed for — the encounter's state, its serial
    numbers, refunds — is still checked under it, in ``upload``."""
    by_encounter = read_upload(request.input, platform.reference.catalogue())
    dialect = platform.engine.dialect
    rows = {}
    for mdtrt_id, items in by_encounter.items():
        if all(isinstance(item.ready, LineSplit) for item in items):
            rows[mdtrt_id] = q.LINES_INSERT.convert(
                dialect, [_stored_row(mdtrt_id, item.ready, item, request.msgid) for item in items])  # type: ignore[arg-type]
    return _Upload(by_encounter, rows)


def upload(call: Call, *, inpatient: bool) -> dict[str, Any]:
    catalogue = call.platform.reference.catalogue()
    early = call.early if isinstance(call.early, _Upload) else _Upload(read_upload(call.input, catalogue), {})
    results: list[dict[str, Any]] = []
    for mdtrt_id, items in early.by_encounter.items():
        enc = lookups.encounter(call.conn, mdtrt_id, call.fixmedins_code, lock=True)
        _check_open(enc, inpatient)
        # Which of these serial numbers the encounter has used already, withdrawn ones included
        # (a withdrawn line keeps its row, and its number, for the record). The fee lines'
        # primary key (mdtrt_id, feedetl_sn) refuses a used number anyway, so an optimistic
        # pass leaves it to the key; the careful pass asks, to say which number and why.
        used = {} if call.optimistic else _used_serials(call, mdtrt_id, items)
        for item in items:
            sn, psn_no = item.line.feedetl_sn, item.extra["psn_no"]
            if psn_no and psn_no != enc.psn_no:
                raise InterfaceError(f"费用明细 {sn}: psn_no {psn_no} 与就诊人员不一致", field="psn_no")
            if used.get(sn) == "cancelled":
                raise InterfaceError(f"费用明细流水号 feedetl_sn {sn} 的明细已撤销，流水号不能重复使用；请以新的 feedetl_sn 上传",
                                     field="feedetl_sn")
        # The stored lines themselves are needed only to check refunds against what they refund;
        # reading (and converting) every line of a long stay on each upload is not.
        refunds = any(is_refund(item.line) for item in items)
        earlier = {r.feedetl_sn: _stored_split(r) for r in lookups.all_lines(call.conn, mdtrt_id)} if refunds else {}
        try:
            splits = classify_lines([item.line for item in items], catalogue, earlier, [item.ready for item in items],
                                    taken=used)
        except LineError as exc:
            raise InterfaceError(str(exc), field="feedetail") from None
        as_prepared = all(split is item.ready for split, item in zip(splits, items))
        rows = early.rows.get(mdtrt_id) if as_prepared else None
        if rows is None:
            rows = [_stored_row(mdtrt_id, split, item, call.request.msgid) for split, item in zip(splits, items)]
        for split, item in zip(splits, items):
            results.append(item.result if split is item.ready else _result_row(split, catalogue.get(split.med_list_codg), item.extra))
        q.LINES_INSERT.run(call.conn, rows)
        call.ref_id = mdtrt_id
    return {"result": results}


def _used_serials(call: Call, mdtrt_id: str, items: list[_Line]) -> dict[str, str]:
    """The status of each of these serial numbers the encounter has stored already."""
    serials = {f"sn{i}": item.line.feedetl_sn for i, item in enumerate(items)}
    return {row.feedetl_sn: row.status
            for row in q.line_serials(len(items)).all(call.conn, {"mdtrt_id": mdtrt_id, **serials})}


def _stored_row(mdtrt_id: str, split: LineSplit, item: _Line, msgid: str) -> dict[str, Any]:
    """The fee_lines row of one line."""
    line, extra = item.line, item.extra
    return dict(
        mdtrt_id=mdtrt_id,
        feedetl_sn=split.feedetl_sn,
        init_feedetl_sn=split.init_feedetl_sn,
        chrg_bchno=extra["chrg_bchno"],
        med_list_codg=split.med_list_codg,
        medins_list_codg=extra["medins_list_codg"],
        fee_ocur_time=extra["fee_ocur_time"],
        pric=extra["pric"],
        cnt=extra["cnt"],
        det_item_fee_sumamt=split.amount,
        fulamt_ownpay_amt=split.fulamt_ownpay,
        overlmt_amt=split.overlmt,
        preselfpay_amt=split.preselfpay,
        inscp_scp_amt=split.inscp,
        chrgitm_lv=split.chrgitm_lv,
        hosp_appr_flag=line.hosp_appr_flag,
        bilg_dept_codg=extra["bilg_dept_codg"],
        bilg_dr_codg=extra["bilg_dr_codg"],
        status="active",
        upload_msgid=msgid,
    )


def _check_open(enc: Any, inpatient: bool) -> None:
    if enc.status == "settled":
        raise InterfaceError(f"就诊 {enc.mdtrt_id} 已结算，不能再上传费用明细（请先撤销结算）", field="mdtrt_id")
    if enc.status == "cancelled":
        raise InterfaceError(f"就诊 {enc.mdtrt_id} 已撤销，不能上传费用明细", field="mdtrt_id")
    kind = "inpatient" if inpatient else "outpatient"
    if enc.visit_kind != kind:
        right = "2301 住院费用明细上传" if enc.visit_kind == "inpatient" else "2204 门诊费用明细信息上传"
        raise InterfaceError(f"就诊 {enc.mdtrt_id} 是{'住院' if enc.visit_kind == 'inpatient' else '门诊'}就诊，请使用 {right}", field="mdtrt_id")


def _stored_split(row: Any) -> LineSplit:
    return LineSplit(
        feedetl_sn=row.feedetl_sn,
        med_list_codg=row.med_list_codg,
        chrgitm_lv=row.chrgitm_lv,
        pric=Fraction(row.pric),
        cnt=Fraction(row.cnt),
        amount=row.det_item_fee_sumamt,
        fulamt_ownpay=row.fulamt_ownpay_amt,
        overlmt=row.overlmt_amt,
        preselfpay=row.preselfpay_amt,
        inscp=row.inscp_scp_amt,
        init_feedetl_sn=row.init_feedetl_sn,
    )


def _result_row(split: LineSplit, item: Any, extra: dict[str, Any]) -> dict[str, Any]:
    fields = _item_fields(item)
    return {
        "feedetl_sn": split.feedetl_sn,
        "det_item_fee_sumamt": fen_to_yuan(split.amount),
        "cnt": extra["cnt"],
        "pric": extra["pric"],
        "pric_uplmt_amt": fields["pric_uplmt_amt"],
        "selfpay_prop": fields["selfpay_prop"],
        "fulamt_ownpay_amt": fen_to_yuan(split.fulamt_ownpay),
        "overlmt_amt": fen_to_yuan(split.overlmt),
        "preselfpay_amt": fen_to_yuan(split.preselfpay),
        "inscp_scp_amt": fen_to_yuan(split.inscp),
        "chrgitm_lv": split.chrgitm_lv or "03",
        "med_chrgitm_type": fields["med_chrgitm_type"],
        "bas_medn_flag": "0",
        "hi_nego_drug_flag": fields["hi_nego_drug_flag"],
        "chld_medc_flag": "0",
        "list_sp_item_flag": "0",
        "lmt_used_flag": fields["lmt_used_flag"],
        "drt_reim_flag": "0",
        "memo": split.note,
    }


_item_cache: dict[int, tuple[Any, dict[str, Any]]] = {}


def _item_fields(item: Any) -> dict[str, Any]:
    """What a result row says of the catalogue item: the same for every line of that item, so
    worked out once per item (remembered by identity, with the item kept alive)."""
    hit = _item_cache.get(id(item))
    if hit is not None and hit[0] is item:
        return hit[1]
    if item is None:
        fields = {"pric_uplmt_amt": Decimal("0.000000"), "selfpay_prop": Decimal("0.0000"), "med_chrgitm_type": "14",
                  "hi_nego_drug_flag": "0", "lmt_used_flag": "0"}
    else:
        fields = {
            "pric_uplmt_amt": to_decimal(item.pric_uplmt_amt, 6) if item.pric_uplmt_amt is not None else Decimal("0.000000"),
            "selfpay_prop": to_decimal(item.selfpay_prop, 4),
            "med_chrgitm_type": item.med_chrgitm_type or "14",
            "hi_nego_drug_flag": "1" if item.nego_drug else "0",
            "lmt_used_flag": item.lmt_used_flag,
        }
    if len(_item_cache) > 200_000:
        _item_cache.clear()
    _item_cache[id(item)] = (item, fields)
    return fields


def withdraw(call: Call, *, inpatient: bool) -> dict[str, Any] | None:
    """2205 (by chrg_bchno) and 2302 (by feedetl_sn); "0000" withdraws every unsettled line."""
    data = node(call.input, "data")
    mdtrt_id = req_str(data, "mdtrt_id")
    psn_no = req_str(data, "psn_no")
    enc = lookups.encounter(call.conn, mdtrt_id, call.fixmedins_code, psn_no)
    key_name = "feedetl_sn" if inpatient else "chrg_bchno"
    key = req_str(data, key_name)
    query = select(s.fee_lines.c.feedetl_sn, s.fee_lines.c.status).where(s.fee_lines.c.mdtrt_id == mdtrt_id)
    if key != "0000":
        query = query.where(getattr(s.fee_lines.c, key_name) == key)
    rows = call.conn.execute(query).fetchall()
    if key != "0000" and not rows:
        raise InterfaceError(f"就诊 {mdtrt_id} 没有{key_name} {key} 的费用明细", field=key_name)
    if key != "0000" and any(r.status == "settled" for r in rows):
        raise InterfaceError(f"{key_name} {key} 的费用明细已结算，不能撤销（请先撤销结算）", field=key_name)
    targets = [r.feedetl_sn for r in rows if r.status == "active"]
    if key != "0000" and not targets:
        raise InterfaceError(f"{key_name} {key} 的费用明细已撤销", field=key_name)
    if targets:
        call.conn.execute(
            update(s.fee_lines)
            .where(s.fee_lines.c.mdtrt_id == enc.mdtrt_id)
            .where(s.fee_lines.c.feedetl_sn.in_(targets))
            .values(status="cancelled")
        )
    call.ref_id = mdtrt_id
    return None
