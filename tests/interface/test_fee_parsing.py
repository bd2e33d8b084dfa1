"""The quick reading of a plain fee line agrees with the field-by-field one wherever it answers.

``fees._parse_plain`` reads the common line (strings, plain decimals, no refund) in one pass;
anything else it hands to ``fees._parse_line_field_by_field``, which names the bad field. A
difference between the two would change what is stored and paid, so hypothesis throws both
every kind of value a HIS system might send.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import event, given, settings
from hypothesis import strategies as st

from yibao.interface.errors import InterfaceError
from yibao.interface.handlers import fees
from yibao.settlement.lines import classify_plain

TEXT_KEYS = ("feedetl_sn", "mdtrt_id", "med_list_codg", "init_feedetl_sn", "hosp_appr_flag", "chrg_bchno",
             "medins_list_codg", "bilg_dept_codg", "bilg_dr_codg", "psn_no")

padding = st.sampled_from(["", " ", "\t", "\u3000"])
plain_text = st.text(alphabet="ABCXYZ0123456789-_药", min_size=0, max_size=40)
text_values = st.one_of(
    st.none(), st.sampled_from(["", "null", "NULL", "  ", "1", "2", "0"]),
    st.builds(lambda a, b, c: a + b + c, padding, plain_text, padding),
    st.text(min_size=140, max_size=160), st.integers(-5, 10**6), st.just({"x": 1}), st.just([1]),
)


def decimal_text(places: int):
    digits = st.integers(0, 10**18)
    return st.builds(lambda n, p, sign: f"{sign}{Decimal(n).scaleb(-p):f}", digits, st.integers(0, places + 3),
                     st.sampled_from(["", "", "-", "+"]))


number_values = st.one_of(
    decimal_text(6), st.integers(-10, 10**17), st.decimals(allow_nan=True, allow_infinity=True, places=7),
    st.floats(allow_nan=True), st.none(),
    st.sampled_from(["", "null", "abc", " 1.5", "1.5 ", "1e3", "1_000", "0.1234567", "1.500000000", "０.5", "١٢"]),
)
amount_values = st.one_of(decimal_text(2), number_values)
time_values = st.one_of(
    st.none(), st.sampled_from(["", "null", "2026-02-30 00:00:00", "2026-11-23", "2026-11-23T10:00:00",
                                "2026-11-23 10:00:00", " 2026-11-23 10:00:00", "2026/11/23 10:00:00",
                                "2026-11-23 25:00:00", "2026-11-23 10:00:00.5", "2026-11-23 10:00:0x"]),
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S")), st.integers(),
)


def plain_line(n: int) -> dict:
    return {"feedetl_sn": str(n), "mdtrt_id": "M0001", "psn_no": "P0001", "chrg_bchno": "1", "fee_ocur_time": "",
            "med_list_codg": "XB000190", "medins_list_codg": "XB000190", "pric": "32.36", "cnt": "10",
            "bilg_dept_codg": "A03", "bilg_dr_codg": "D001"}


FIELDS = {**{key: text_values for key in TEXT_KEYS}, "pric": number_values, "cnt": number_values,
          "det_item_fee_sumamt": amount_values, "fee_ocur_time": time_values}
lines = st.fixed_dictionaries({}, optional=FIELDS)
# Well-formed lines with one or two fields changed, so that both paths are taken often.
one_change = st.one_of(*(st.tuples(st.just(key), values) for key, values in FIELDS.items()))
nearly_plain = st.lists(one_change, max_size=2).map(lambda changes: {**plain_line(1), **dict(changes)})


def long_way(raw: dict):
    try:
        return fees._parse_line_field_by_field(raw, 0)
    except InterfaceError as exc:
        return exc


def same(a, b) -> bool:
    """Equal, with Decimals also written the same (12.30 is not 12.3 on the wire)."""
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return type(a) is type(b) and str(a) == str(b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def check_agreement(raw: dict) -> None:
    quick = fees._parse_plain(raw)
    event("quick" if quick is not None else "long way")
    if quick is None:
        return
    slow = long_way(raw)
    assert not isinstance(slow, InterfaceError), f"quick path accepted what the long way refuses: {slow.message}"
    mdtrt_id, line, extra = quick
    assert same((mdtrt_id, extra), (slow[0], slow[2]))
    assert line == slow[1]


@settings(max_examples=2000, deadline=None)
@given(nearly_plain)
def test_quick_reading_agrees_with_the_long_way(raw):
    check_agreement(raw)


@settings(max_examples=500, deadline=None)
@given(lines)
def test_quick_reading_agrees_on_any_mix_of_fields(raw):
    check_agreement(raw)


def test_a_plain_line_takes_the_quick_path_and_reads_exactly():
    raw = {**plain_line(7), "pric": "0.123456", "cnt": "2.5", "det_item_fee_sumamt": "0.31",
           "fee_ocur_time": "2026-11-23 08:30:00", "hosp_appr_flag": "1"}
    mdtrt_id, line, extra = fees._parse_plain(raw)
    assert mdtrt_id == "M0001" and line.feedetl_sn == "7"
    assert line.det_item_fee_sumamt == 31 and line.hosp_appr_flag == "1"
    assert str(extra["pric"]) == "0.123456" and str(extra["cnt"]) == "2.5000"
    assert extra["fee_ocur_time"].hour == 8


def test_what_the_quick_path_leaves_to_the_long_way():
    refund = {**plain_line(2), "cnt": "-1", "init_feedetl_sn": "1"}
    assert fees._parse_plain(refund) is None
    assert fees._parse_plain({**plain_line(3), "pric": "1.1234567"}) is None  # too many places: the long way names it
    assert fees._parse_plain({**plain_line(4), "mdtrt_id": ""}) is None
    negative = {**plain_line(4), "pric": "-1"}
    assert fees._parse_plain(negative) is None  # read the long way, and refused when priced
    assert "pric 单价不能为负数" in str(classify_plain(fees._parse_line(negative, 0)[1], {}))
    # … and every line still reads through the one entry point, quick or not.
    assert fees._parse_line({**plain_line(5), "cnt": 3}, 0)[1].cnt == 3
    assert fees._parse_line({**plain_line(6), "cnt": Decimal("2.50")}, 0)[2]["cnt"] == Decimal("2.5000")
