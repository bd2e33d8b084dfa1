"""The test world of the interface tests: constants and small builders."""

import datetime as dt

from yibao.registry import store
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
