"""Small builders for pure-engine tests."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from yibao.policy import PolicyLibrary, resolve
from yibao.settlement import (
    CatalogueItem,
    Claim,
    FeeLine,
    InstitutionFacts,
    PersonFacts,
    classify_lines,
)

A = CatalogueItem("XA", "甲药", "01")
B = CatalogueItem("XB", "乙药", "02", Fraction(1, 10))
C = CatalogueItem("XC", "丙药", "03")
BED = CatalogueItem("BED", "床位费", "01", pric_uplmt_amt=Fraction(60))
NEGO = CatalogueItem("XN", "谈判药", "02", Fraction(1, 10), nego_drug=True)
CATALOGUE = {c.med_list_codg: c for c in (A, B, C, BED, NEGO)}


def policy(pid: str, on: dt.date = dt.date(2021, 6, 1)):
    return resolve(PolicyLibrary.shipped().get(pid), on)


def lines(*specs, catalogue=CATALOGUE):
    """specs: (code, pric, cnt) tuples; serial numbers are 1, 2, …"""
    fees = [FeeLine(str(i), code, Fraction(str(p)), Fraction(str(c))) for i, (code, p, c) in enumerate(specs, start=1)]
    return tuple(classify_lines(fees, catalogue))


def claim(
    *specs,
    insutype="390",
    psn_type="11",
    assistance=None,
    cvlserv=False,
    acct=0,
    level="level3",
    admdvs="511402",
    med_type="21",
    on=dt.date(2020, 3, 10),
    filed=False,
    referred=None,
    acct_used=False,
    insu_admdvs=None,
):
    person = PersonFacts("P1", insutype, psn_type, insu_admdvs or admdvs, assistance, cvlserv, acct)
    inst = InstitutionFacts("H1", level, admdvs)
    return Claim(person, inst, med_type, on, lines(*specs), filed, filed if referred is None else referred, acct_used)
