"""The platform's tables, in the national interface's field names.

Money columns hold integer fen (see :mod:`yibao.storage.types`). Tables are SQLAlchemy Core
``Table`` objects: the hot settlement path uses Core statements with few round trips; Alembic
migrations (``yibao db upgrade``) create and evolve them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .types import ExactDecimal, Money

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# ── registry: institutions, persons, enrollment, catalogue ────────────────────────────────────

institutions = Table(
    "institutions",
    metadata,
    Column("fixmedins_code", String(30), primary_key=True),
    Column("fixmedins_name", String(200), nullable=False),
    Column("fixmedins_type", String(6), nullable=False, default="1"),  # 1 医疗机构, 2 零售药店
    Column("hosp_lv", String(6)),  # national hosp_lv code
    Column("medins_lv", String(12), nullable=False),  # level3 | level2 | level1 | township | village | pharmacy
    Column("admdvs", String(6), nullable=False),
    Column("beds", Integer),
    Column("uscc", String(50)),
    Column("valid", Boolean, nullable=False, default=True),
)

persons = Table(
    "persons",
    metadata,
    Column("psn_no", String(30), primary_key=True),
    Column("psn_cert_type", String(6), nullable=False, default="01"),
    Column("certno", String(50), nullable=False, index=True),
    Column("psn_name", String(50), nullable=False),
    Column("gend", String(6), nullable=False),
    Column("naty", String(3)),
    Column("brdy", Date, nullable=False),
    Column("hsecfc", String(30)),  # household
    Column("death_date", Date),
)

# One row per person × insurance type (insuinfo of 1101).
insurance = Table(
    "insurance",
    metadata,
    Column("psn_no", String(30), ForeignKey("persons.psn_no"), nullable=False),
    Column("insutype", String(6), nullable=False),
    Column("psn_type", String(6), nullable=False),
    Column("insu_admdvs", String(6), nullable=False),
    Column("psn_insu_stas", String(6), nullable=False, default="1"),  # 1 正常参保
    Column("psn_insu_date", Date),
    Column("paus_insu_date", Date),
    Column("cvlserv_flag", String(3), nullable=False, default="0"),
    Column("emp_name", String(200)),
    Column("acct_balc", Money, nullable=False, default=0),  # personal account balance, fen
    PrimaryKeyConstraint("psn_no", "insutype"),
)

# Identity categories (idetinfo of 1101): the assistance groups matched from civil affairs.
identities = Table(
    "identities",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("psn_no", String(30), ForeignKey("persons.psn_no"), nullable=False, index=True),
    Column("psn_idet_type", String(6), nullable=False),
    Column("assistance", String(12)),  # tekun | dibao | poverty | low_income
    Column("begntime", DateTime, nullable=False),
    Column("endtime", DateTime),
    Column("memo", String(500)),
)

catalogue = Table(
    "catalogue",
    metadata,
    Column("med_list_codg", String(50), primary_key=True),
    Column("name", String(200), nullable=False, default=""),
    Column("list_type", String(6)),  # 101 西药中成药, 201 医疗服务项目, 301 医用耗材 …
    Column("med_chrgitm_type", String(6)),
    Column("chrgitm_lv", String(3), nullable=False),  # 01 甲 02 乙 03 丙
    Column("selfpay_prop", ExactDecimal(5, 4)),
    Column("pric_uplmt_amt", ExactDecimal(16, 6)),
    Column("nego_drug", Boolean, nullable=False, default=False),
    Column("lmt_used_flag", String(3), nullable=False, default="0"),
    Column("bas_medn_flag", String(3)),
    Column("begndate", Date),
    Column("enddate", Date),
    Column("ver", String(20)),
)

policies = Table(
    "policies",
    metadata,
    Column("policy_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("pooling_admdvs", String(6), nullable=False),
    Column("insutypes", String(60), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),
    Column("source", String(500)),
    Column("sha256", String(64), nullable=False),
    Column("document", Text, nullable=False),  # the YAML text as imported
    Column("imported_at", DateTime, nullable=False),
)

# ── encounters and fees ───────────────────────────────────────────────────────────────────────

encounters = Table(
    "encounters",
    metadata,
    Column("mdtrt_id", String(30), primary_key=True),
    Column("psn_no", String(30), ForeignKey("persons.psn_no"), nullable=False),
    Column("fixmedins_code", String(30), ForeignKey("institutions.fixmedins_code"), nullable=False),
    Column("insutype", String(6), nullable=False),
    Column("med_type", String(6), nullable=False),
    Column("visit_kind", String(12), nullable=False),  # inpatient (2401) | outpatient (2201)
    Column("ipt_otp_no", String(30)),
    Column("begntime", DateTime, nullable=False),
    Column("endtime", DateTime),
    Column("dise_codg", String(30)),
    Column("dise_name", String(500)),
    Column("dscg_maindiag_code", String(20)),
    Column("dscg_way", String(3)),
    Column("dept_code", String(30)),
    Column("mdtrt_cert_type", String(3)),
    Column("mdtrt_cert_no", String(50)),
    Column("mdtrtarea_admvs", String(6)),
    Column("insuplc_admdvs", String(6)),
    Column("exp_content", String(4000)),
    # open → discharged → settled; cancelled when the admission/registration is withdrawn
    Column("status", String(12), nullable=False, default="open"),
    Column("created_msgid", String(40)),
    Index("ix_encounters_psn", "psn_no", "begntime"),
    Index("ix_encounters_inst", "fixmedins_code", "begntime"),
    UniqueConstraint("fixmedins_code", "ipt_otp_no", "med_type", name="uq_encounters_visit_no"),
)

diagnoses = Table(
    "diagnoses",
    metadata,
    Column("mdtrt_id", String(30), ForeignKey("encounters.mdtrt_id"), nullable=False),
    Column("diag_srt_no", Integer, nullable=False),
    Column("inout_diag_type", String(3), nullable=False, default="2"),  # 1 入院 2 出院
    Column("diag_type", String(3)),
    Column("maindiag_flag", String(3), nullable=False, default="0"),
    Column("diag_code", String(40), nullable=False),
    Column("diag_name", String(200)),
    Column("vali_flag", String(3), nullable=False, default="1"),
    PrimaryKeyConstraint("mdtrt_id", "inout_diag_type", "diag_srt_no"),
)

procedures = Table(
    "procedures",
    metadata,
    Column("mdtrt_id", String(30), ForeignKey("encounters.mdtrt_id"), nullable=False),
    Column("srt_no", Integer, nullable=False),
    Column("oprn_oprt_code", String(40), nullable=False),
    Column("oprn_oprt_name", String(200)),
    Column("main_flag", String(3), nullable=False, default="0"),
    PrimaryKeyConstraint("mdtrt_id", "srt_no"),
)

fee_lines = Table(
    "fee_lines",
    metadata,
    Column("mdtrt_id", String(30), ForeignKey("encounters.mdtrt_id"), nullable=False),
    Column("feedetl_sn", String(30), nullable=False),
    Column("init_feedetl_sn", String(30)),
    Column("chrg_bchno", String(30)),
    Column("med_list_codg", String(50), nullable=False),
    Column("medins_list_codg", String(150)),
    Column("fee_ocur_time", DateTime),
    Column("pric", ExactDecimal(16, 6), nullable=False),
    Column("cnt", ExactDecimal(16, 4), nullable=False),
    Column("det_item_fee_sumamt", Money, nullable=False),
    Column("fulamt_ownpay_amt", Money, nullable=False),
    Column("overlmt_amt", Money, nullable=False),
    Column("preselfpay_amt", Money, nullable=False),
    Column("inscp_scp_amt", Money, nullable=False),
    Column("chrgitm_lv", String(3), nullable=False, default=""),
    Column("hosp_appr_flag", String(3)),
    Column("bilg_dept_codg", String(30)),
    Column("bilg_dr_codg", String(30)),
    # active → settled (setl_id set); cancelled by 2205/2302
    Column("status", String(12), nullable=False, default="active"),
    Column("setl_id", String(30)),
    Column("upload_msgid", String(40)),
    PrimaryKeyConstraint("mdtrt_id", "feedetl_sn"),
)

# ── settlements and yearly state ──────────────────────────────────────────────────────────────

settlements = Table(
    "settlements",
    metadata,
    Column("setl_id", String(30), primary_key=True),
    Column("mdtrt_id", String(30), ForeignKey("encounters.mdtrt_id"), nullable=False, index=True),
    Column("psn_no", String(30), nullable=False),
    Column("fixmedins_code", String(30), nullable=False),
    Column("insutype", String(6), nullable=False),
    Column("psn_type", String(6)),
    Column("med_type", String(6), nullable=False),
    Column("setl_time", DateTime, nullable=False),
    Column("setl_year", Integer, nullable=False),
    Column("msgid", String(40), nullable=False),  # medins_setl_id
    Column("infno", String(6), nullable=False),
    Column("policy_id", String(64), nullable=False),
    # settled | reversed (the original) ; a reversal is its own row with refd_setl_flag 1
    Column("status", String(12), nullable=False, default="settled"),
    Column("refd_setl_flag", String(3), nullable=False, default="0"),
    Column("init_setl_id", String(30)),  # on a reversal row: the settlement it reverses
    Column("clr_type", String(6)),
    Column("clr_way", String(6)),
    Column("clr_optins", String(6)),
    Column("in_region", Boolean, nullable=False, default=True),
    Column("medfee_sumamt", Money, nullable=False),
    Column("fulamt_ownpay_amt", Money, nullable=False),
    Column("overlmt_selfpay", Money, nullable=False),
    Column("preselfpay_amt", Money, nullable=False),
    Column("inscp_scp_amt", Money, nullable=False),
    Column("act_pay_dedc", Money, nullable=False),
    Column("pool_prop_selfpay", ExactDecimal(5, 4), nullable=False),
    Column("hifp_pay", Money, nullable=False),
    Column("hifmi_pay", Money, nullable=False),
    Column("hifob_pay", Money, nullable=False),
    Column("cvlserv_pay", Money, nullable=False),
    Column("maf_pay", Money, nullable=False),
    Column("oth_pay", Money, nullable=False, default=0),
    Column("fund_pay_sumamt", Money, nullable=False),
    Column("psn_part_amt", Money, nullable=False),
    Column("acct_pay", Money, nullable=False),
    Column("psn_cash_pay", Money, nullable=False),
    Column("hosp_part_amt", Money, nullable=False, default=0),
    Column("balc", Money, nullable=False),
    Column("admissions_counted", Integer, nullable=False, default=0),
    Column("trace", Text),  # the explanation, one step per line
    Index("ix_settlements_psn_year", "psn_no", "setl_year"),
    Index("ix_settlements_inst_time", "fixmedins_code", "setl_time"),
    Index("ix_settlements_time", "setl_time"),  # the console lists settlements newest first
)

settlement_funds = Table(
    "settlement_funds",
    metadata,
    Column("setl_id", String(30), ForeignKey("settlements.setl_id"), nullable=False),
    Column("fund_pay_type", String(10), nullable=False),
    Column("kind", String(20), nullable=False),  # basic | critical_illness | large_amount | …
    Column("base", String(80), nullable=False),  # exact base, fen, 'n' or 'n/d'
    Column("inscp_scp_amt", Money, nullable=False),  # base rounded to the fen
    Column("crt_payb_lmt_amt", Money),  # cap left before; null when uncapped
    Column("fund_payamt", Money, nullable=False),
    Column("setl_proc_info", Text),
    Column("counted", Boolean, nullable=False, default=True),  # added to the accumulators
    PrimaryKeyConstraint("setl_id", "fund_pay_type"),
)

accumulators = Table(
    "accumulators",
    metadata,
    Column("psn_no", String(30), nullable=False),
    Column("year", Integer, nullable=False),
    Column("layer", String(12), nullable=False),  # a fund_pay_type, or 'admissions'
    Column("base", String(80), nullable=False, default="0"),  # exact, fen
    Column("paid", Money, nullable=False, default=0),
    Column("count", Integer, nullable=False, default=0),
    PrimaryKeyConstraint("psn_no", "year", "layer"),
)

# ── filings, sign-in, request log ─────────────────────────────────────────────────────────────

filings = Table(
    "filings",
    metadata,
    Column("trt_dcla_detl_sn", String(30), primary_key=True),
    Column("psn_no", String(30), ForeignKey("persons.psn_no"), nullable=False, index=True),
    Column("kind", String(20), nullable=False),  # out_of_region (异地就医备案) | referral (转诊/转院)
    Column("insutype", String(6)),
    Column("reflin_medins_no", String(30)),
    Column("mdtrtarea_admdvs", String(6)),
    Column("diag_code", String(40)),
    Column("begndate", Date, nullable=False),
    Column("enddate", Date),
    Column("status", String(12), nullable=False, default="valid"),
    Column("fixmedins_code", String(30)),
    Column("msgid", String(40)),
    Column("detail", Text),  # the filing's other fields as JSON (2503/2505: tel, addr, names, memo …)
)

sign_ins = Table(
    "sign_ins",
    metadata,
    Column("sign_no", String(30), primary_key=True),
    Column("fixmedins_code", String(30), nullable=False),
    Column("opter_no", String(30), nullable=False),
    Column("sign_time", DateTime, nullable=False),
    Column("sign_out_time", DateTime),
)

# Every business request that changed something, keyed by (fixmedins_code, msgid): a retry
# with the same body returns the stored answer; a different body is refused; 2601 marks one
# voided so that a late original is refused.
request_log = Table(
    "request_log",
    metadata,
    Column("fixmedins_code", String(30), nullable=False),
    Column("msgid", String(40), nullable=False),
    Column("infno", String(6), nullable=False),
    Column("body_sha256", String(64), nullable=False),
    Column("status", String(12), nullable=False),  # ok | voided
    Column("response", Text, nullable=False),
    Column("received_at", DateTime, nullable=False),
    Column("ref_id", String(30)),  # the business object it made (mdtrt_id, setl_id …)
    PrimaryKeyConstraint("fixmedins_code", "msgid"),
)

# ── the HTTP gateway, files and the bureau API ────────────────────────────────────────────────

# Access keys of the service gateway (chs-interface.md §1.3): one or more per institution. The
# secret is kept because the gateway must recompute HMACs with it.
gateway_keys = Table(
    "gateway_keys",
    metadata,
    Column("access_key", String(64), primary_key=True),
    Column("secret", String(256), nullable=False),  # SM4-sealed (yibao.interface.sealing)
    Column("fixmedins_code", String(30), nullable=False, index=True),
    Column("algorithm", String(12), nullable=False, default="HMAC-SHA1"),  # HMAC-SHA1 | HMAC-SM3
    Column("sm2_public_key", String(200)),  # when set, the body must carry an SM2 signature
    Column("status", String(12), nullable=False, default="active"),  # active | revoked
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
)

# Files moved by 9101 (upload) and 9102 (download): institutions' uploads, 3202 result files and
# catalogue downloads (owner 'plc').
interface_files = Table(
    "interface_files",
    metadata,
    Column("file_qury_no", String(30), primary_key=True),
    Column("owner", String(30), nullable=False),  # a fixmedins_code, or 'plc' for public files
    Column("filename", String(200), nullable=False),
    Column("kind", String(20), nullable=False),  # upload | reconcile_result | catalogue
    Column("infno", String(6)),
    Column("content", LargeBinary, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("data_cnt", Integer, nullable=False, default=0),
    Column("created_at", DateTime, nullable=False),
    Column("dld_endtime", DateTime, nullable=False),
    Index("ix_interface_files_owner", "owner", "created_at"),
)

# Code lists other than the insurance catalogue, served by the catalogue downloads: diseases
# (1307), operations (1308), 门慢门特 diseases (1309), 按病种付费 (1310), 日间手术 (1311),
# tumour morphology (1313), TCM diseases (1314) and syndromes (1315).
code_lists = Table(
    "code_lists",
    metadata,
    Column("list_kind", String(20), nullable=False),
    Column("code", String(50), nullable=False),
    Column("name", String(500), nullable=False),
    Column("ver", String(20), nullable=False, default="0"),
    Column("begndate", Date),
    Column("enddate", Date),
    Column("vali_flag", String(3), nullable=False, default="1"),
    Column("memo", String(500)),
    PrimaryKeyConstraint("list_kind", "code"),
)

# Users of the bureau's REST API. Roles: agent 经办, supervisor 监管, fund 基金, admin 管理员.
api_users = Table(
    "api_users",
    metadata,
    Column("username", String(50), primary_key=True),
    Column("display_name", String(50), nullable=False, default=""),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(12), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False),
    Column("last_login_at", DateTime),
)

# ── fund operations (yibao.fund, issue 7): ledger, derived contributions, monthly aggregates ──
# Appended by the fund branch; created by migration 0004_fund. Money columns are integer fen.

# The chart of accounts: per fund (fund_pay_type), its bank, payable, opening balance, income
# and expense accounts (codes like '390100.inc.subsidy').
fund_accounts = Table(
    "fund_accounts",
    metadata,
    Column("acct_code", String(40), primary_key=True),
    Column("acct_name", String(100), nullable=False),
    Column("acct_type", String(12), nullable=False),  # asset | liability | net_asset | income | expense
    Column("fund_pay_type", String(10), nullable=False),
)

# The journal: one row is one debit/credit pair of one entry (凭证); an entry has one or more
# rows. A reversal is posted in red ink: the same accounts with the amount negated.
fund_journal = Table(
    "fund_journal",
    metadata,
    Column("jnl_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("entry_id", String(80), nullable=False),
    Column("entry_date", Date, nullable=False),
    Column("period", String(7), nullable=False),  # YYYY-MM of entry_date
    Column("dr_acct", String(40), nullable=False),
    Column("cr_acct", String(40), nullable=False),
    Column("amount", Money, nullable=False),
    # opening | contribution | settlement | void | recovery | clearing
    Column("source_type", String(20), nullable=False),
    Column("source_id", String(80), nullable=False),
    Column("leg", String(40), nullable=False),
    Column("fixmedins_code", String(30)),
    Column("memo", String(200)),
    Column("posted_at", DateTime, nullable=False),
    UniqueConstraint("source_type", "source_id", "leg"),
    Index("ix_fund_journal_period", "period"),
)

# Contributions derived from enrollment (the platform has no contribution records): one row per
# period × group of payers × item, with the head count and the amount per head.
fund_contributions = Table(
    "fund_contributions",
    metadata,
    Column("period", String(7), nullable=False),
    Column("insutype", String(6), nullable=False),
    Column("psn_type", String(6), nullable=False),
    Column("insu_admdvs", String(6), nullable=False),
    Column("payer_group", String(12), nullable=False),  # '' | cvlserv | tekun | dibao | poverty | low_income
    Column("item", String(20), nullable=False),
    Column("fund_pay_type", String(10), nullable=False),
    Column("psn_cnt", Integer, nullable=False),
    Column("unit_amount", Money, nullable=False),  # per head for the period
    Column("amount", Money, nullable=False),
    Column("basis", String(300), nullable=False),  # how the amount per head was worked out
    PrimaryKeyConstraint("period", "insutype", "psn_type", "insu_admdvs", "payer_group", "item"),
)

# Monthly aggregates, recomputed by `yibao fund post` for the months it touched.
fund_month_acct = Table(
    "fund_month_acct",
    metadata,
    Column("period", String(7), nullable=False),
    Column("acct_code", String(40), nullable=False),
    Column("debit", Money, nullable=False),
    Column("credit", Money, nullable=False),
    PrimaryKeyConstraint("period", "acct_code"),
)

fund_month_setl = Table(
    "fund_month_setl",
    metadata,
    Column("period", String(7), nullable=False),
    Column("insutype", String(6), nullable=False),
    Column("psn_type", String(6), nullable=False),
    Column("medins_lv", String(12), nullable=False),
    Column("med_type", String(6), nullable=False),
    Column("in_region", String(1), nullable=False),  # '1' | '0'
    Column("assistance", String(12), nullable=False),  # '' when none
    Column("setl_cnt", Integer, nullable=False),  # settlements − reversals (人次)
    Column("row_cnt", Integer, nullable=False),  # settlement rows summed (to notice later changes)
    Column("medfee_sumamt", Money, nullable=False),
    Column("fulamt_ownpay_amt", Money, nullable=False),
    Column("overlmt_selfpay", Money, nullable=False),
    Column("preselfpay_amt", Money, nullable=False),
    Column("inscp_scp_amt", Money, nullable=False),
    Column("act_pay_dedc", Money, nullable=False),
    Column("hifp_pay", Money, nullable=False),
    Column("hifmi_pay", Money, nullable=False),
    Column("hifob_pay", Money, nullable=False),
    Column("cvlserv_pay", Money, nullable=False),
    Column("maf_pay", Money, nullable=False),
    Column("fund_pay_sumamt", Money, nullable=False),
    Column("acct_pay", Money, nullable=False),
    Column("psn_cash_pay", Money, nullable=False),
    PrimaryKeyConstraint("period", "insutype", "psn_type", "medins_lv", "med_type", "in_region", "assistance"),
)

# Distinct persons with a valid settlement in the month ('*' = all), by scheme and category.
fund_month_persons = Table(
    "fund_month_persons",
    metadata,
    Column("period", String(7), nullable=False),
    Column("insutype", String(6), nullable=False),
    Column("category", String(12), nullable=False),
    Column("psn_cnt", Integer, nullable=False),
    PrimaryKeyConstraint("period", "insutype", "category"),
)

fund_month_hosp = Table(
    "fund_month_hosp",
    metadata,
    Column("period", String(7), nullable=False),
    Column("fixmedins_code", String(30), nullable=False),
    Column("insutype", String(6), nullable=False),
    Column("category", String(12), nullable=False),
    Column("setl_cnt", Integer, nullable=False),
    Column("medfee_sumamt", Money, nullable=False),
    Column("fund_pay_sumamt", Money, nullable=False),
    PrimaryKeyConstraint("period", "fixmedins_code", "insutype", "category"),
)

fund_month_dise = Table(
    "fund_month_dise",
    metadata,
    Column("period", String(7), nullable=False),
    Column("dise_codg", String(30), nullable=False),
    Column("insutype", String(6), nullable=False),
    Column("category", String(12), nullable=False),
    Column("setl_cnt", Integer, nullable=False),
    Column("medfee_sumamt", Money, nullable=False),
    Column("fund_pay_sumamt", Money, nullable=False),
    PrimaryKeyConstraint("period", "dise_codg", "insutype", "category"),
)

# Persons insured on the last day of the month.
fund_month_enrol = Table(
    "fund_month_enrol",
    metadata,
    Column("period", String(7), nullable=False),
    Column("insutype", String(6), nullable=False),
    Column("psn_type", String(6), nullable=False),
    Column("assistance", String(12), nullable=False),
    Column("psn_cnt", Integer, nullable=False),
    PrimaryKeyConstraint("period", "insutype", "psn_type", "assistance"),
)

# Settlements paid by DRG or DIP, imported from `yibao drg pay` / `yibao dip clear` cases.csv.
fund_payment_cases = Table(
    "fund_payment_cases",
    metadata,
    Column("setl_id", String(30), primary_key=True),
    Column("method", String(6), nullable=False),  # drg | dip
    Column("group_code", String(30)),
    Column("case_kind", String(20), nullable=False),  # normal | low | high | ffs…
    Column("paid_by_group", Boolean, nullable=False),
    Column("source", String(300)),
)

# ── end of the fund block ─────────────────────────────────────────────────────────────────────

ALL_TABLES = [t.name for t in metadata.sorted_tables]

# ── audit (智能审核): rule library, knowledge, pharmacy stock, findings and their review ──────────
# Added by yibao.audit (migration 0003_audit). Knowledge tables are kept as JSON rows so that a bureau
# can import a new kind of table without a migration; findings carry exact fen amounts.

audit_rule_sets = Table(
    "audit_rule_sets",
    metadata,
    Column("set_id", String(64), primary_key=True),  # library id + version
    Column("library_id", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("version", String(40), nullable=False),
    Column("source", String(500)),
    Column("sha256", String(64), nullable=False),
    Column("document", Text, nullable=False),  # the YAML text as imported
    Column("active", Boolean, nullable=False, default=False),
    Column("imported_at", DateTime, nullable=False),
)

audit_knowledge_tables = Table(
    "audit_knowledge_tables",
    metadata,
    Column("table_name", String(64), primary_key=True),
    Column("columns", Text, nullable=False),  # JSON {column: type}
    Column("row_count", Integer, nullable=False),
    Column("source", String(500)),
    Column("sha256", String(64), nullable=False),
    Column("imported_at", DateTime, nullable=False),
)

audit_knowledge_rows = Table(
    "audit_knowledge_rows",
    metadata,
    Column("table_name", String(64), nullable=False),
    Column("row_no", Integer, nullable=False),
    Column("data", Text, nullable=False),  # JSON object, values as text
    PrimaryKeyConstraint("table_name", "row_no"),
)

# Pharmacy stock (进销存) as the pharmacies report it, and one row per traceability code sold.
audit_drug_sales = Table(
    "audit_drug_sales",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fixmedins_code", String(30), nullable=False),
    Column("med_list_codg", String(50), nullable=False),
    Column("sel_time", DateTime, nullable=False),
    Column("cnt", ExactDecimal(16, 4), nullable=False),
    Column("pric", ExactDecimal(16, 6), nullable=False),
    Column("mdtrt_id", String(30)),
    Column("feedetl_sn", String(30)),
    Column("psn_no", String(30)),
    Index("ix_audit_drug_sales_item", "fixmedins_code", "med_list_codg"),
)

audit_drug_purchases = Table(
    "audit_drug_purchases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fixmedins_code", String(30), nullable=False),
    Column("med_list_codg", String(50), nullable=False),
    Column("purc_date", Date, nullable=False),
    Column("purc_type", String(20)),
    Column("purc_cnt", ExactDecimal(16, 4), nullable=False),
    Column("purc_pric", ExactDecimal(16, 6)),
    Index("ix_audit_drug_purchases_item", "fixmedins_code", "med_list_codg"),
)

audit_trace_codes = Table(
    "audit_trace_codes",
    metadata,
    Column("drug_trac_codg", String(40), nullable=False),
    Column("mdtrt_id", String(30), nullable=False),
    Column("feedetl_sn", String(30), nullable=False),
    Column("fee_ocur_time", DateTime, nullable=False),
    Column("fixmedins_code", String(30)),
    Column("med_list_codg", String(50)),
    PrimaryKeyConstraint("drug_trac_codg", "mdtrt_id", "feedetl_sn"),
)

audit_runs = Table(
    "audit_runs",
    metadata,
    Column("run_id", String(40), primary_key=True),
    Column("engine", String(12), nullable=False),  # duckdb | spark | realtime
    Column("source", String(500), nullable=False),
    Column("library_sha256", String(64), nullable=False),
    Column("rule_count", Integer, nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("findings", Integer, nullable=False, default=0),
    Column("new_findings", Integer, nullable=False, default=0),
    Column("status", String(12), nullable=False, default="running"),  # running | done | failed
)

# One row per (rule, subject): a re-run updates last_run_id and keeps the review. subject is
# line:<mdtrt_id>:<feedetl_sn> | enc:<mdtrt_id> | stock:<fixmedins_code>:<med_list_codg>:<year> |
# provider:<fixmedins_code>:<group>:<year>.
audit_findings = Table(
    "audit_findings",
    metadata,
    Column("finding_id", Integer, primary_key=True, autoincrement=True),
    Column("rule_id", String(64), nullable=False),
    Column("rule_type", String(40), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("severity", String(12), nullable=False),  # refuse 拒付 | warn 警示
    Column("mdtrt_id", String(30)),
    Column("feedetl_sn", String(30)),
    Column("psn_no", String(30)),
    Column("fixmedins_code", String(30)),
    Column("med_list_codg", String(50)),
    Column("event_date", Date),
    Column("amount", Money, nullable=False),  # 违规金额, fen
    Column("message", String(1000), nullable=False),  # vola_cont
    Column("evidence", Text, nullable=False),  # JSON: the facts that triggered it
    Column("lines", Text, nullable=False),  # JSON list of {feedetl_sn, role}
    # pending 待核实 → confirmed 确认 | excluded 排除
    Column("status", String(12), nullable=False, default="pending"),
    Column("reviewer", String(50)),
    Column("review_reason", String(1000)),
    Column("reviewed_at", DateTime),
    Column("first_run_id", String(40), nullable=False),
    Column("last_run_id", String(40), nullable=False),
    Column("found_at", DateTime, nullable=False),
    UniqueConstraint("rule_id", "subject", name="uq_audit_findings_rule_subject"),
    Index("ix_audit_findings_mdtrt", "mdtrt_id"),
    Index("ix_audit_findings_status", "status", "rule_type"),
    Index("ix_audit_findings_inst", "fixmedins_code", "event_date"),
)

audit_reviews = Table(
    "audit_reviews",
    metadata,
    Column("review_id", Integer, primary_key=True, autoincrement=True),
    Column("finding_id", Integer, ForeignKey("audit_findings.finding_id"), nullable=False, index=True),
    Column("action", String(12), nullable=False),  # confirm | exclude | reopen
    Column("from_status", String(12), nullable=False),
    Column("to_status", String(12), nullable=False),
    Column("reviewer", String(50), nullable=False),
    Column("reason", String(1000), nullable=False),
    Column("at", DateTime, nullable=False),
)

ALL_TABLES = [t.name for t in metadata.sorted_tables]
# ── end of audit block ────────────────────────────────────────────────────────────────────────
