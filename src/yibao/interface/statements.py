"""The SQL the per-request path runs, built once with bind parameters.

Parameters that select rows in an UPDATE are named ``k_<column>`` (SQLAlchemy reserves the
plain column names for the SET clause).

Building a SQLAlchemy statement costs more than running it on SQLite; these are compiled on
first use and reused by every call.
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, or_, select, update

from yibao.storage import schema as s

b = bindparam

# ── request log ─────────────────────────────────────────────────────────────────────────────
REPLAY = (
    select(s.request_log.c.body_sha256, s.request_log.c.status, s.request_log.c.response, s.request_log.c.infno)
    .where(s.request_log.c.fixmedins_code == b("fixmedins_code"))
    .where(s.request_log.c.msgid == b("msgid"))
)
LOG_INSERT = s.request_log.insert()

# ── persons ─────────────────────────────────────────────────────────────────────────────────
PERSON = select(s.persons).where(s.persons.c.psn_no == b("psn_no"))
PERSON_LOCK = select(s.persons.c.psn_no).where(s.persons.c.psn_no == b("psn_no")).with_for_update()
INSURANCE = select(s.insurance).where(s.insurance.c.psn_no == b("psn_no"))
ASSISTANCE = (
    select(s.identities.c.assistance)
    .where(s.identities.c.psn_no == b("psn_no"))
    .where(s.identities.c.assistance.is_not(None))
    .where(s.identities.c.begntime <= b("when"))
    .where(or_(s.identities.c.endtime.is_(None), s.identities.c.endtime >= b("when")))
)
FILINGS = (
    select(s.filings)
    .where(s.filings.c.psn_no == b("psn_no"))
    .where(s.filings.c.kind == b("kind"))
    .where(s.filings.c.status == "valid")
    .where(s.filings.c.begndate <= b("on"))
    .where(or_(s.filings.c.enddate.is_(None), s.filings.c.enddate >= b("on")))
)
ACCOUNT_CHANGE = (
    update(s.insurance)
    .where(s.insurance.c.psn_no == b("k_psn_no"))
    .where(s.insurance.c.insutype == b("k_insutype"))
    .values(acct_balc=s.insurance.c.acct_balc + b("change"))
)

# ── encounters and lines ────────────────────────────────────────────────────────────────────
ENCOUNTER = select(s.encounters).where(s.encounters.c.mdtrt_id == b("mdtrt_id"))
ENCOUNTER_LOCK = ENCOUNTER.with_for_update()
ENCOUNTER_STATUS = update(s.encounters).where(s.encounters.c.mdtrt_id == b("k_mdtrt_id")).values(status=b("status"))
ACTIVE_LINES = (
    select(s.fee_lines).where(s.fee_lines.c.mdtrt_id == b("mdtrt_id")).where(s.fee_lines.c.status == "active")
)
ACTIVE_LINES_OF_BATCH = ACTIVE_LINES.where(s.fee_lines.c.chrg_bchno == b("chrg_bchno"))
OPEN_VISIT_NO = (
    select(s.encounters.c.mdtrt_id)
    .where(s.encounters.c.fixmedins_code == b("fixmedins_code"))
    .where(s.encounters.c.ipt_otp_no == b("ipt_otp_no"))
    .where(s.encounters.c.status != "cancelled")
)
ENCOUNTER_INSERT = s.encounters.insert()
DIAGNOSES_DELETE = (
    delete(s.diagnoses).where(s.diagnoses.c.mdtrt_id == b("mdtrt_id")).where(s.diagnoses.c.inout_diag_type == b("inout"))
)
DIAGNOSES_INSERT = s.diagnoses.insert()
LIVE_LINES = select(s.fee_lines).where(s.fee_lines.c.mdtrt_id == b("mdtrt_id")).where(s.fee_lines.c.status != "cancelled")
LINES_INSERT = s.fee_lines.insert()
LINES_SETTLED = (
    update(s.fee_lines)
    .where(s.fee_lines.c.mdtrt_id == b("k_mdtrt_id"))
    .where(s.fee_lines.c.feedetl_sn.in_(b("sns", expanding=True)))
    .values(status="settled", setl_id=b("setl_id"))
)
LINES_UNSETTLED = (
    update(s.fee_lines).where(s.fee_lines.c.setl_id == b("k_setl_id")).values(status="active", setl_id=None)
)

# ── settlements and accumulators ────────────────────────────────────────────────────────────
SETTLEMENT = select(s.settlements).where(s.settlements.c.setl_id == b("setl_id"))
SETTLEMENT_INSERT = s.settlements.insert()
SETTLEMENT_STATUS = update(s.settlements).where(s.settlements.c.setl_id == b("k_setl_id")).values(status=b("status"))
FUNDS = select(s.settlement_funds).where(s.settlement_funds.c.setl_id == b("setl_id"))
FUNDS_INSERT = s.settlement_funds.insert()
ACCUMULATORS = select(s.accumulators).where(s.accumulators.c.psn_no == b("psn_no")).where(s.accumulators.c.year == b("year"))
ACCUMULATOR_INSERT = s.accumulators.insert()
ACCUMULATOR_UPDATE = (
    update(s.accumulators)
    .where(s.accumulators.c.psn_no == b("k_psn_no"))
    .where(s.accumulators.c.year == b("k_year"))
    .where(s.accumulators.c.layer == b("k_layer"))
    .values(base=b("base"), paid=b("paid"), count=b("count"))
)
