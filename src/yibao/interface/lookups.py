"""Reading persons, encounters and filings for a call, with refusals that say what is wrong."""

from __future__ import annotations

import datetime as dt
from collections import namedtuple
from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy.engine import Connection

from yibao.registry import certno as certno_rules
from yibao.registry.levels import LevelError, settlement_level
from yibao.settlement import InstitutionFacts, PersonFacts
from yibao.settlement.model import ASSISTANCE_ORDER
from yibao.storage import schema as s

from . import statements as q
from .errors import InterfaceError


def lock_person(conn: Connection, psn_no: str) -> None:
    """Serialise writers per person (a reversal; a settlement takes the same lock with
    ``insured_person``). SQLite already holds the write lock (BEGIN IMMEDIATE); on PostgreSQL
    this takes the person's row lock."""
    if conn.dialect.name == "postgresql":
        q.PERSON_LOCK.first(conn, {"psn_no": psn_no})


def person(conn: Connection, psn_no: str) -> Any:
    """The person's row, refused when unknown or when the certno on record is invalid."""
    return _known_person(psn_no, q.PERSON.first(conn, {"psn_no": psn_no}))


def _known_person(psn_no: str, row: Any | None) -> Any:
    if row is None:
        raise InterfaceError(f"未知的人员编号 psn_no {psn_no}", field="psn_no")
    try:
        certno_rules.validate(row.certno)
    except certno_rules.CertnoError as exc:
        raise InterfaceError(f"人员 {psn_no} 的{exc}，请先在参保登记中更正", field="certno") from None
    return row


def insurance(conn: Connection, psn_no: str, insutype: str | None) -> Any:
    return choose_insurance(psn_no, q.INSURANCE.all(conn, {"psn_no": psn_no}), insutype)


def choose_insurance(psn_no: str, rows: list[Any], insutype: str | None) -> Any:
    """The person's insurance of ``insutype`` (None: the first they hold), or the refusal."""
    if not rows:
        raise InterfaceError(f"人员 {psn_no} 没有参保记录", field="psn_no")
    if insutype is None:
        return rows[0]
    for row in rows:
        if row.insutype == insutype:
            return row
    held = "、".join(r.insutype for r in rows)
    raise InterfaceError(f"人员 {psn_no} 未参加险种 insutype {insutype}（已参保险种: {held}）", field="insutype")


def assistance_on(conn: Connection, psn_no: str, when: dt.datetime) -> str | None:
    rows = q.ASSISTANCE.all(conn, {"psn_no": psn_no, "when": when})
    return most_generous(r.assistance for r in rows)


def most_generous(groups: Iterable[str]) -> str | None:
    """The most generous of these assistance groups (``ASSISTANCE_ORDER``), None for none."""
    ranked = sorted(set(groups), key=ASSISTANCE_ORDER.index)
    return ranked[0] if ranked else None


@dataclass(frozen=True)
class InsuredPerson:
    """What a settlement reads of its person in one statement (``insured_person``)."""

    person: Any  # the persons row, certno checked
    insurances: list[Any]  # every insurance row they hold (named as in the insurance table)
    assistance: str | None  # the most generous assistance group they are in at the time asked

    def insurance(self, insutype: str | None) -> Any:
        return choose_insurance(self.person.psn_no, self.insurances, insutype)


_PERSON_ROW = namedtuple("PersonRow", [c.name for c in s.persons.c])  # type: ignore[misc]
_INSURANCE_ROW = namedtuple("InsuranceRow", [c.name for c in s.insurance.c])  # type: ignore[misc]


def insured_person(conn: Connection, psn_no: str, when: dt.datetime, *, lock: bool = False) -> InsuredPerson:
    """The person, their insurances and their assistance group at ``when`` in one statement,
    refused as ``person`` refuses. ``lock`` takes the person's row lock on PostgreSQL (the
    first lock a settlement takes: see ``lock_person``)."""
    statement = q.INSURED_PERSON_LOCK if lock and conn.dialect.name == "postgresql" else q.INSURED_PERSON
    rows = statement.all(conn, {"psn_no": psn_no, "when": when})
    width = len(_PERSON_ROW._fields)
    found = _PERSON_ROW._make(rows[0][:width]) if rows else None
    person_row = _known_person(psn_no, found)
    # The insurance table's psn_no is never NULL: a NULL one is the outer join's row of none.
    insurances = [_INSURANCE_ROW._make(r[width:-1]) for r in rows if r[width] is not None]
    groups = rows[0][-1]
    return InsuredPerson(person_row, insurances, most_generous(groups.split(",")) if groups else None)


def person_facts(person_row: Any, ins: Any, assistance: str | None) -> PersonFacts:
    """The settlement engine's facts of the person."""
    return PersonFacts(
        psn_no=person_row.psn_no,
        insutype=ins.insutype,
        psn_type=ins.psn_type,
        insu_admdvs=ins.insu_admdvs,
        assistance=assistance,
        cvlserv=ins.cvlserv_flag == "1",
        acct_balc=ins.acct_balc,
    )


def institution_facts(institution: dict[str, Any]) -> InstitutionFacts:
    try:
        level = settlement_level(institution["medins_lv"])
    except LevelError as exc:
        raise InterfaceError(f"定点医药机构 {institution['fixmedins_code']}: {exc}", field="medins_lv") from None
    return InstitutionFacts(institution["fixmedins_code"], level, institution["admdvs"])


def encounter(conn: Connection, mdtrt_id: str, fixmedins_code: str, psn_no: str | None = None, *, lock: bool = False) -> Any:
    """The caller's own encounter; another institution's is reported as unknown.

    ``lock`` takes the encounter's row lock on PostgreSQL, so that fee uploads and settlement of
    one encounter never interleave."""
    statement = q.ENCOUNTER_LOCK if lock and conn.dialect.name == "postgresql" else q.ENCOUNTER
    row = statement.first(conn, {"mdtrt_id": mdtrt_id})
    if row is None or row.fixmedins_code != fixmedins_code:
        raise InterfaceError(f"本机构没有就诊ID mdtrt_id {mdtrt_id}", field="mdtrt_id")
    if psn_no is not None and row.psn_no != psn_no:
        raise InterfaceError(f"就诊 {mdtrt_id} 不属于人员 {psn_no}", field="psn_no")
    return row


def filing_on_record(conn: Connection, psn_no: str, kind: str, when: dt.date, fixmedins_code: str, admdvs: str) -> bool:
    """Is a valid filing of ``kind`` (out_of_region | referral) on record for this care?"""
    rows = q.FILINGS.all(conn, {"psn_no": psn_no, "kind": kind, "on": when})
    for row in rows:
        place_ok = not row.mdtrtarea_admdvs or admdvs.startswith(row.mdtrtarea_admdvs)
        inst_ok = not row.reflin_medins_no or row.reflin_medins_no == fixmedins_code
        if place_ok and inst_ok:
            return True
    return False


def charge_batch(chrg_bchno: str | None) -> str | None:
    """The one charge batch a settlement is for; None (also for "" and "0000"): every line."""
    return chrg_bchno if chrg_bchno not in (None, "", "0000") else None


def active_lines(conn: Connection, mdtrt_id: str, batch: str | None = None) -> list[Any]:
    """The unsettled lines of an encounter, or of one charge batch (see ``charge_batch``)."""
    if batch is not None:
        return q.ACTIVE_LINES_OF_BATCH.all(conn, {"mdtrt_id": mdtrt_id, "chrg_bchno": batch})
    return q.ACTIVE_LINES.all(conn, {"mdtrt_id": mdtrt_id})


def all_lines(conn: Connection, mdtrt_id: str) -> list[Any]:
    return q.LIVE_LINES.all(conn, {"mdtrt_id": mdtrt_id})
