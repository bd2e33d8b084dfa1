"""The SQL the per-request path runs, built once with bind parameters.

Parameters that select rows in an UPDATE are named ``k_<column>`` (SQLAlchemy reserves the
plain column names for the SET clause).

Building a SQLAlchemy statement costs more than running it on SQLite, and so does SQLAlchemy's
work for each execution: these are compiled once per dialect and run on the DBAPI cursor
(``yibao.storage.fast``), e.g. ``q.PERSON.first(conn, {...})``, ``q.LINES_INSERT.run(conn, rows)``.
Rows come back as named tuples; ``.statement`` is the plain SQLAlchemy statement.
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, func, literal_column, or_, select, update

from yibao.storage import schema as s
from yibao.storage.fast import FastInsert, FastStatement

b = bindparam
fast = FastStatement

# ── request log ─────────────────────────────────────────────────────────────────────────────
REPLAY = fast(
    select(s.request_log.c.body_sha256, s.request_log.c.status, s.request_log.c.response, s.request_log.c.infno)
    .where(s.request_log.c.fixmedins_code == b("fixmedins_code"))
    .where(s.request_log.c.msgid == b("msgid"))
)
LOG_INSERT = FastInsert(s.request_log)

# ── persons ─────────────────────────────────────────────────────────────────────────────────
PERSON = fast(select(s.persons).where(s.persons.c.psn_no == b("psn_no")))
PERSON_LOCK = fast(select(s.persons).where(s.persons.c.psn_no == b("psn_no")).with_for_update())
INSURANCE = fast(select(s.insurance).where(s.insurance.c.psn_no == b("psn_no")))
ASSISTANCE = fast(
    select(s.identities.c.assistance)
    .where(s.identities.c.psn_no == b("psn_no"))
    .where(s.identities.c.assistance.is_not(None))
    .where(s.identities.c.begntime <= b("when"))
    .where(or_(s.identities.c.endtime.is_(None), s.identities.c.endtime >= b("when")))
)
# A settlement's person, every insurance they hold (one row each; one row of NULLs for none)
# and the assistance groups they are in at ``when`` (comma-separated, the same on each row):
# one statement where PERSON, INSURANCE and ASSISTANCE were three. Insurance columns are
# prefixed ``i_`` (``lookups.insured_person`` splits the rows).
_INSURED_PERSON = (
    select(
        *s.persons.c,
        *(c.label(f"i_{c.name}") for c in s.insurance.c),
        # the separator as SQL text: a bound one would be rendered at run time, which the
        # precompiled statements of storage.fast do not do
        select(func.aggregate_strings(s.identities.c.assistance, literal_column("','")))
        .where(s.identities.c.psn_no == s.persons.c.psn_no)
        .where(s.identities.c.assistance.is_not(None))
        .where(s.identities.c.begntime <= b("when"))
        .where(or_(s.identities.c.endtime.is_(None), s.identities.c.endtime >= b("when")))
        .scalar_subquery()
        .label("assistance_groups"),
    )
    .select_from(s.persons.outerjoin(s.insurance, s.insurance.c.psn_no == s.persons.c.psn_no))
    .where(s.persons.c.psn_no == b("psn_no"))
)
INSURED_PERSON = fast(_INSURED_PERSON)
INSURED_PERSON_LOCK = fast(_INSURED_PERSON.with_for_update(of=s.persons))
FILINGS = fast(
    select(s.filings)
    .where(s.filings.c.psn_no == b("psn_no"))
    .where(s.filings.c.kind == b("kind"))
    .where(s.filings.c.status == "valid")
    .where(s.filings.c.begndate <= b("on"))
    .where(or_(s.filings.c.enddate.is_(None), s.filings.c.enddate >= b("on")))
)
ACCOUNT_CHANGE = fast(
    update(s.insurance)
    .where(s.insurance.c.psn_no == b("k_psn_no"))
    .where(s.insurance.c.insutype == b("k_insutype"))
    .values(acct_balc=s.insurance.c.acct_balc + b("change"))
)

# ── encounters and lines ────────────────────────────────────────────────────────────────────
_ENCOUNTER = select(s.encounters).where(s.encounters.c.mdtrt_id == b("mdtrt_id"))
ENCOUNTER = fast(_ENCOUNTER)
ENCOUNTER_LOCK = fast(_ENCOUNTER.with_for_update())
ENCOUNTER_STATUS = fast(update(s.encounters).where(s.encounters.c.mdtrt_id == b("k_mdtrt_id")).values(status=b("status")))
# What a settlement reads of each unsettled line: its split (settling.split_of), not the rest.
_fl = s.fee_lines.c
_ACTIVE_LINES = (
    select(_fl.feedetl_sn, _fl.med_list_codg, _fl.chrgitm_lv, _fl.pric, _fl.cnt, _fl.det_item_fee_sumamt,
           _fl.fulamt_ownpay_amt, _fl.overlmt_amt, _fl.preselfpay_amt, _fl.inscp_scp_amt, _fl.init_feedetl_sn)
    .where(_fl.mdtrt_id == b("mdtrt_id"))
    .where(_fl.status == "active")
)
ACTIVE_LINES = fast(_ACTIVE_LINES)
ACTIVE_LINES_OF_BATCH = fast(_ACTIVE_LINES.where(s.fee_lines.c.chrg_bchno == b("chrg_bchno")))
OPEN_VISIT_NO = fast(
    select(s.encounters.c.mdtrt_id)
    .where(s.encounters.c.fixmedins_code == b("fixmedins_code"))
    .where(s.encounters.c.ipt_otp_no == b("ipt_otp_no"))
    .where(s.encounters.c.status != "cancelled")
)
ENCOUNTER_INSERT = FastInsert(s.encounters)
DIAGNOSES_DELETE = fast(
    delete(s.diagnoses).where(s.diagnoses.c.mdtrt_id == b("mdtrt_id")).where(s.diagnoses.c.inout_diag_type == b("inout"))
)
DIAGNOSES_INSERT = FastInsert(s.diagnoses)
LIVE_LINES = fast(select(s.fee_lines).where(s.fee_lines.c.mdtrt_id == b("mdtrt_id")).where(s.fee_lines.c.status != "cancelled"))
_LINE_SERIALS: dict[int, FastStatement] = {}


def line_serials(count: int) -> FastStatement:
    """The stored (feedetl_sn, status) of ``count`` given serial numbers ``sn0`` … of one
    encounter: an upload checks its own numbers without reading a long stay's every line."""
    statement = _LINE_SERIALS.get(count)
    if statement is None:
        if len(_LINE_SERIALS) > 64:
            _LINE_SERIALS.clear()
        statement = _LINE_SERIALS[count] = fast(
            select(s.fee_lines.c.feedetl_sn, s.fee_lines.c.status)
            .where(s.fee_lines.c.mdtrt_id == b("mdtrt_id"))
            .where(s.fee_lines.c.feedetl_sn.in_([b(f"sn{i}") for i in range(count)]))
        )
    return statement
LINES_INSERT = FastInsert(s.fee_lines)
# The active lines of an encounter (or of one charge batch) become settled: the same rows the
# settlement read, as it holds the encounter's lock (PostgreSQL) or the write lock (SQLite).
_LINES_SETTLED = (
    update(s.fee_lines)
    .where(s.fee_lines.c.mdtrt_id == b("k_mdtrt_id"))
    .where(s.fee_lines.c.status == "active")
    .values(status="settled", setl_id=b("setl_id"))
)
LINES_SETTLED = fast(_LINES_SETTLED)
LINES_SETTLED_OF_BATCH = fast(_LINES_SETTLED.where(s.fee_lines.c.chrg_bchno == b("k_chrg_bchno")))
LINES_UNSETTLED = fast(
    update(s.fee_lines).where(s.fee_lines.c.setl_id == b("k_setl_id")).values(status="active", setl_id=None)
)

# ── settlements and accumulators ────────────────────────────────────────────────────────────
SETTLEMENT = fast(select(s.settlements).where(s.settlements.c.setl_id == b("setl_id")))
SETTLEMENT_INSERT = FastInsert(s.settlements)
SETTLEMENT_STATUS = fast(update(s.settlements).where(s.settlements.c.setl_id == b("k_setl_id")).values(status=b("status")))
FUNDS = fast(select(s.settlement_funds).where(s.settlement_funds.c.setl_id == b("setl_id")))
FUNDS_INSERT = FastInsert(s.settlement_funds)
ACCUMULATORS = fast(
    select(s.accumulators).where(s.accumulators.c.psn_no == b("psn_no")).where(s.accumulators.c.year == b("year"))
)
# Accumulator rows written with their new values, rows read and rows new to the year alike, in
# one statement: the writer holds the person's lock (or SQLite's write lock), so the rows it
# overwrites are the ones it read.
ACCUMULATOR_WRITE = FastInsert(s.accumulators, upsert=("psn_no", "year", "layer"))
