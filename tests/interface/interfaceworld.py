"""The test world of the interface tests: constants and small builders."""

import datetime as dt

from yibao.registry import store
from yibao.registry.catalogue import demo_catalogue, merge
from yibao.registry.certno import make

DAY = dt.datetime(2020, 3, 10, 9, 0, 0)

TEST_ITEMS = [
    {"med_list_codg": "XA", "name": "甲药", "chrgitm_lv": "01"},
    {"med_list_codg": "XB", "name": "乙药", "chrgitm_lv": "02", "selfpay_prop": "0.10"},
    {"med_list_codg": "XC", "name": "丙药", "chrgitm_lv": "03"},
]


def person(psn_no, seq, **kw):
    defaults = dict(
        psn_no=psn_no, certno=make("511402", dt.date(1980, 1, 1), seq), psn_name=f"张{seq}", gend="1",
        brdy=dt.date(1980, 1, 1), insutype="390", psn_type="11", insu_admdvs="511402",
    )
    defaults.update(kw)
    return store.PersonRecord(**defaults)


def seed_world(engine):
    """Two hospitals, a pharmacy and three persons of 眉山 (one with a wrong check digit)."""
    with engine.begin() as conn:
        store.upsert_catalogue(conn, merge(demo_catalogue(), TEST_ITEMS))
        store.upsert_institutions(conn, [
            {"fixmedins_code": "H51140200001", "name": "眉山市人民医院", "medins_lv": "level3", "admdvs": "511402"},
            {"fixmedins_code": "H51140200002", "name": "东坡区卫生院", "medins_lv": "township", "admdvs": "511402"},
            {"fixmedins_code": "P51140200001", "name": "康民大药房", "medins_lv": "pharmacy", "admdvs": "511402", "fixmedins_type": "2"},
        ])
        store.upsert_persons(conn, [
            person("P1", 123),
            person("P2", 124, assistance="dibao"),
            person("PBAD", 125, certno="511402198001011231"),  # wrong check digit
        ])
    return engine
