"""What a settlement reads, made fast and checked against the plain way: ``lookups.insured_person``
(its person, insurances and assistance group in one statement) against the three reads it
replaces (``person``, ``insurance``, ``assistance_on``), on SQLite and PostgreSQL; and
``settling.split_of`` (a stored line's split) against ``LineSplit`` built by name."""

import datetime as dt

import pytest
from sqlalchemy import delete

from interfaceworld import DAY, person
from yibao.interface import lookups
from yibao.interface.errors import InterfaceError
from yibao.registry import store
from yibao.storage import schema as s


def three_reads(conn, psn_no, insutype, when):
    row = lookups.person(conn, psn_no)
    return row, lookups.insurance(conn, psn_no, insutype), lookups.assistance_on(conn, psn_no, when)


def one_read(conn, psn_no, insutype, when, lock=False):
    insured = lookups.insured_person(conn, psn_no, when, lock=lock)
    return insured.person, insured.insurance(insutype), insured.assistance


def refusal(read, *args):
    with pytest.raises(InterfaceError) as caught:
        read(*args)
    return caught.value.message


def test_insured_person_reads_what_the_three_lookups_read(world):
    with world.begin() as conn:
        store.upsert_persons(conn, [person("P3", 126, assistance="low_income", acct_balc=12_345, cvlserv=True)])
        conn.execute(s.insurance.insert().values(psn_no="P3", insutype="310", psn_type="11", insu_admdvs="511402",
                                                 psn_insu_stas="1", cvlserv_flag="0", acct_balc=0))
        conn.execute(s.identities.insert(), [
            # a second, more generous group on the day asked, and one that had ended before it
            dict(psn_no="P3", psn_idet_type="2", assistance="dibao", begntime=DAY - dt.timedelta(days=5), endtime=None),
            dict(psn_no="P3", psn_idet_type="1", assistance="tekun", begntime=dt.datetime(2019, 1, 1),
                 endtime=DAY - dt.timedelta(days=1)),
            dict(psn_no="P1", psn_idet_type="9", assistance=None, begntime=dt.datetime(2019, 1, 1), endtime=None),
        ])
    cases = [("P1", "390", DAY), ("P2", "390", DAY), ("P3", "390", DAY), ("P3", "310", DAY), ("P3", None, DAY),
             ("P3", "390", DAY - dt.timedelta(days=10))]
    with world.begin() as conn:
        for psn_no, insutype, when in cases:
            expected = three_reads(conn, psn_no, insutype, when)
            assert one_read(conn, psn_no, insutype, when) == expected
            assert one_read(conn, psn_no, insutype, when, lock=True) == expected
            assert tuple(one_read(conn, psn_no, insutype, when)[1]._asdict()) == tuple(c.name for c in s.insurance.c)
        assert one_read(conn, "P3", "390", DAY)[2] == "dibao"
        assert one_read(conn, "P3", "390", DAY - dt.timedelta(days=10))[2] == "tekun"
        assert one_read(conn, "P3", "310", DAY)[1].acct_balc == 0 and one_read(conn, "P3", "390", DAY)[1].acct_balc == 12_345
        assert one_read(conn, "P1", "390", DAY)[2] is None


def test_insured_person_refuses_as_the_three_lookups_do(world):
    with world.begin() as conn:
        store.upsert_persons(conn, [person("P4", 127)])
        conn.execute(delete(s.insurance).where(s.insurance.c.psn_no == "P4"))
    with world.begin() as conn:
        for psn_no, insutype in (("NOBODY", "390"), ("PBAD", "390"), ("P4", "390"), ("P1", "310")):
            message = refusal(one_read, conn, psn_no, insutype, DAY)
            assert message == refusal(three_reads, conn, psn_no, insutype, DAY)
        assert "未知的人员编号" in refusal(one_read, conn, "NOBODY", "390", DAY)
        assert "没有参保记录" in refusal(one_read, conn, "P4", "390", DAY)
        assert "已参保险种: 390" in refusal(one_read, conn, "P1", "310", DAY)


def test_a_stored_line_becomes_the_split_the_dataclass_would_make():
    from collections import namedtuple
    from decimal import Decimal

    from yibao.interface.settling import split_of
    from yibao.settlement.model import CatalogueItem, LineSplit

    Row = namedtuple("Row", "feedetl_sn med_list_codg chrgitm_lv pric cnt det_item_fee_sumamt fulamt_ownpay_amt "
                            "overlmt_amt preselfpay_amt inscp_scp_amt init_feedetl_sn")
    catalogue = {"XN": CatalogueItem("XN", "谈判药", "02", nego_drug=True)}
    row = Row("7", "XN", "02", Decimal("12.5"), Decimal("-2"), -2500, 0, 100, 240, -2840, "3")
    assert split_of(row, catalogue) == LineSplit(
        feedetl_sn="7", med_list_codg="XN", chrgitm_lv="02", pric=Decimal("12.5"), cnt=Decimal("-2"), amount=-2500,
        fulamt_ownpay=0, overlmt=100, preselfpay=240, inscp=-2840, nego_drug=True, name="谈判药", init_feedetl_sn="3")
    outside = split_of(row._replace(med_list_codg="ZZ", chrgitm_lv=""), catalogue)
    assert (outside.name, outside.nego_drug, outside.selfpay_prop, outside.lmt_used_flag) == ("", False, 0, "0")
