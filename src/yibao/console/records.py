"""Searches and detail views of settlements, persons and institutions (SQLAlchemy Core reads)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Connection

from yibao.storage import schema as s

from . import findings as audit

PAGE_SIZE = 20
COUNT_CAP = 10_000  # counting more than this many matches costs time and says nothing more

# setlinfo in the order of the national 2304 output, with their Chinese names.
SETLINFO_FIELDS = [
    ("setl_id", "结算ID"), ("mdtrt_id", "就诊ID"), ("psn_no", "人员编号"), ("insutype", "险种类型"),
    ("psn_type", "人员类别"), ("med_type", "医疗类别"), ("setl_time", "结算时间"), ("fixmedins_code", "定点医药机构"),
    ("policy_id", "适用政策"), ("status", "状态"), ("refd_setl_flag", "退费结算标志"), ("init_setl_id", "原结算ID"),
    ("clr_type", "清算类别"), ("clr_way", "清算方式"), ("clr_optins", "清算经办机构"), ("in_region", "统筹区内结算"),
    ("msgid", "报文ID（机构结算ID）"), ("infno", "交易编号"),
]
MONEY_FIELDS = [
    ("medfee_sumamt", "医疗费总额"), ("fulamt_ownpay_amt", "全自费金额"), ("overlmt_selfpay", "超限价自费费用"),
    ("preselfpay_amt", "先行自付金额"), ("inscp_scp_amt", "符合政策范围金额"), ("act_pay_dedc", "实际支付起付线"),
    ("hifp_pay", "基本医疗保险统筹基金支出"), ("pool_prop_selfpay", "基本医疗保险统筹基金支付比例"),
    ("cvlserv_pay", "公务员医疗补助资金支出"), ("hifmi_pay", "居民大病保险资金支出"), ("hifob_pay", "职工大额医疗费用补助基金支出"),
    ("maf_pay", "医疗救助基金支出"), ("oth_pay", "其他支出"), ("fund_pay_sumamt", "基金支付总额"),
    ("psn_part_amt", "个人负担总金额"), ("acct_pay", "个人账户支出"), ("psn_cash_pay", "个人现金支出"),
    ("hosp_part_amt", "医院负担金额"), ("balc", "余额（个人账户）"),
]


class SearchError(ValueError):
    """A search form value that cannot be used; the message says how to write it."""


@dataclass
class SettlementQuery:
    person: str = ""
    certno: str = ""
    institution: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    med_type: str = ""
    amount_min: int | None = None  # fen, medfee_sumamt
    amount_max: int | None = None
    page: int = 1
    errors: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, params: dict[str, str]) -> "SettlementQuery":
        q = cls(person=params.get("person", "").strip()[:50], certno=params.get("certno", "").strip()[:50],
                institution=params.get("institution", "").strip()[:60], med_type=params.get("med_type", "").strip()[:6])
        for name, label in (("date_from", "开始日期"), ("date_to", "结束日期")):
            text = params.get(name, "").strip()
            if text:
                try:
                    setattr(q, name, dt.date.fromisoformat(text))
                except ValueError:
                    q.errors.append(f"{label}“{text[:20]}”不是有效日期，请写成 2024-06-30 的格式")
        for name, label in (("amount_min", "最低金额"), ("amount_max", "最高金额")):
            text = params.get(name, "").strip().replace(",", "")
            if text:
                try:
                    from decimal import Decimal

                    value = Decimal(text)
                    if value < 0 or value > Decimal("100000000") or value.as_tuple().exponent < -2:
                        raise ValueError
                    setattr(q, name, int(value * 100))
                except Exception:  # noqa: BLE001 - any unreadable amount
                    q.errors.append(f"{label}“{text[:20]}”不是有效金额，请填写元，最多两位小数，如 1000 或 1000.50")
        if q.date_from and q.date_to and q.date_from > q.date_to:
            q.errors.append("开始日期晚于结束日期，请对调后重新查询")
        if q.amount_min is not None and q.amount_max is not None and q.amount_min > q.amount_max:
            q.errors.append("最低金额大于最高金额，请对调后重新查询")
        try:
            q.page = max(1, min(int(params.get("page", "1") or 1), 500))
        except ValueError:
            q.page = 1
        return q

    def active(self) -> bool:
        return any((self.person, self.certno, self.institution, self.date_from, self.date_to, self.med_type,
                    self.amount_min is not None, self.amount_max is not None))

    def args(self, page: int | None = None) -> dict[str, str]:
        out = {"person": self.person, "certno": self.certno, "institution": self.institution,
               "date_from": self.date_from.isoformat() if self.date_from else "",
               "date_to": self.date_to.isoformat() if self.date_to else "", "med_type": self.med_type,
               "amount_min": f"{self.amount_min / 100:.2f}" if self.amount_min is not None else "",
               "amount_max": f"{self.amount_max / 100:.2f}" if self.amount_max is not None else ""}
        if page:
            out["page"] = str(page)
        return {k: v for k, v in out.items() if v}


def _person_ids(conn: Connection, person: str, certno: str) -> list[str] | None:
    """psn_no values the person and certificate filters allow (None: no such filter)."""
    ids: set[str] | None = None
    if certno:
        ids = {r[0] for r in conn.execute(select(s.persons.c.psn_no).where(s.persons.c.certno == certno.upper()))}
    if person:
        p = s.persons.c
        found = {r[0] for r in conn.execute(select(p.psn_no).where(or_(p.psn_no == person, p.psn_name == person)).limit(200))}
        ids = found if ids is None else ids & found
    return None if ids is None else sorted(ids)


def _institution_codes(conn: Connection, text: str) -> list[str] | None:
    if not text:
        return None
    i = s.institutions.c
    return [r[0] for r in conn.execute(select(i.fixmedins_code).where(
        or_(i.fixmedins_code == text.upper(), i.fixmedins_name.contains(text, autoescape=True))).limit(200))]


def search_settlements(conn: Connection, q: SettlementQuery) -> dict[str, Any]:
    t = s.settlements
    cond = []
    ids = _person_ids(conn, q.person, q.certno)
    if ids is not None:
        cond.append(t.c.psn_no.in_(ids))
    codes = _institution_codes(conn, q.institution)
    if codes is not None:
        cond.append(t.c.fixmedins_code.in_(codes))
    if q.date_from:
        cond.append(t.c.setl_time >= dt.datetime.combine(q.date_from, dt.time.min))
    if q.date_to:
        cond.append(t.c.setl_time < dt.datetime.combine(q.date_to + dt.timedelta(days=1), dt.time.min))
    if q.med_type:
        cond.append(t.c.med_type == q.med_type)
    if q.amount_min is not None:
        cond.append(t.c.medfee_sumamt >= q.amount_min)
    if q.amount_max is not None:
        cond.append(t.c.medfee_sumamt <= q.amount_max)
    where = and_(*cond) if cond else None
    cols = [t.c.setl_id, t.c.mdtrt_id, t.c.psn_no, t.c.fixmedins_code, t.c.insutype, t.c.med_type, t.c.setl_time,
            t.c.status, t.c.refd_setl_flag, t.c.medfee_sumamt, t.c.fund_pay_sumamt, t.c.psn_cash_pay, t.c.acct_pay]
    query = select(*cols).order_by(t.c.setl_time.desc(), t.c.setl_id.desc()).limit(PAGE_SIZE + 1).offset((q.page - 1) * PAGE_SIZE)
    counting = select(t.c.setl_id)
    if where is not None:
        query, counting = query.where(where), counting.where(where)
    rows = [dict(r._mapping) for r in conn.execute(query)]
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    total = conn.execute(select(func.count()).select_from(counting.limit(COUNT_CAP + 1).subquery())).scalar_one()
    _names(conn, rows)
    return {"rows": rows, "more": more, "total": total, "capped": total > COUNT_CAP, "page": q.page, "page_size": PAGE_SIZE}


def _names(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Add psn_name and fixmedins_name to rows that have psn_no / fixmedins_code."""
    psn = sorted({r["psn_no"] for r in rows if r.get("psn_no")})
    inst = sorted({r["fixmedins_code"] for r in rows if r.get("fixmedins_code")})
    names = dict(conn.execute(select(s.persons.c.psn_no, s.persons.c.psn_name).where(s.persons.c.psn_no.in_(psn))).all()) if psn else {}
    insts = dict(conn.execute(select(s.institutions.c.fixmedins_code, s.institutions.c.fixmedins_name)
                              .where(s.institutions.c.fixmedins_code.in_(inst))).all()) if inst else {}
    for r in rows:
        r["psn_name"] = names.get(r.get("psn_no"), "")
        r["fixmedins_name"] = insts.get(r.get("fixmedins_code"), "")


def settlement(conn: Connection, setl_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(s.settlements).where(s.settlements.c.setl_id == setl_id)).first()
    if row is None:
        return None
    info = dict(row._mapping)
    trace = [line for line in (info.pop("trace") or "").splitlines() if line.strip()]
    funds = [dict(r._mapping) for r in conn.execute(
        select(s.settlement_funds).where(s.settlement_funds.c.setl_id == setl_id).order_by(s.settlement_funds.c.fund_pay_type))]
    # the fee lines this settlement paid (a reversal row shows the original's lines)
    paid_by = info["init_setl_id"] if info["refd_setl_flag"] == "1" and info["init_setl_id"] else setl_id
    fl = s.fee_lines
    lines = [dict(r._mapping) for r in conn.execute(select(fl).where(fl.c.mdtrt_id == info["mdtrt_id"]).order_by(fl.c.feedetl_sn))]
    own = [r for r in lines if r["setl_id"] == paid_by]
    lines = own or lines
    codes = sorted({r["med_list_codg"] for r in lines})
    cat = {r.med_list_codg: r for r in conn.execute(select(s.catalogue.c.med_list_codg, s.catalogue.c.name, s.catalogue.c.list_type)
                                                    .where(s.catalogue.c.med_list_codg.in_(codes)))} if codes else {}
    for r in lines:
        c = cat.get(r["med_list_codg"])
        r["name"] = c.name if c else ""
        r["self_paid"] = r["fulamt_ownpay_amt"] + r["overlmt_amt"] + r["preselfpay_amt"]
    encounter = conn.execute(select(s.encounters).where(s.encounters.c.mdtrt_id == info["mdtrt_id"])).first()
    from yibao.fund.names import disease_name
    diagnoses = [dict(r._mapping) for r in conn.execute(select(s.diagnoses).where(s.diagnoses.c.mdtrt_id == info["mdtrt_id"])
                                                        .order_by(s.diagnoses.c.inout_diag_type.desc(), s.diagnoses.c.diag_srt_no))]
    related = [dict(r._mapping) for r in conn.execute(
        select(s.settlements.c.setl_id, s.settlements.c.setl_time, s.settlements.c.refd_setl_flag, s.settlements.c.status,
               s.settlements.c.medfee_sumamt).where(s.settlements.c.mdtrt_id == info["mdtrt_id"])
        .where(s.settlements.c.setl_id != setl_id).order_by(s.settlements.c.setl_time))]
    person = conn.execute(select(s.persons.c.psn_name, s.persons.c.certno).where(s.persons.c.psn_no == info["psn_no"])).first()
    inst = conn.execute(select(s.institutions.c.fixmedins_name, s.institutions.c.medins_lv)
                        .where(s.institutions.c.fixmedins_code == info["fixmedins_code"])).first()
    for g in diagnoses:
        g["diag_name"] = g["diag_name"] or disease_name(g["diag_code"])
    enc = dict(encounter._mapping) if encounter else None
    if enc is not None:
        enc["dise_name"] = enc["dise_name"] or disease_name(enc["dscg_maindiag_code"] or enc["dise_codg"] or "")
    return {"info": info, "funds": funds, "lines": lines, "trace": trace,
            "encounter": enc, "diagnoses": diagnoses, "related": related,
            "psn_name": person.psn_name if person else "", "certno": person.certno if person else "",
            "fixmedins_name": inst.fixmedins_name if inst else "", "medins_lv": inst.medins_lv if inst else "",
            "findings": audit.for_encounter(conn, info["mdtrt_id"]),
            "line_totals": {k: sum(r[k] for r in lines) for k in ("det_item_fee_sumamt", "fulamt_ownpay_amt", "overlmt_amt",
                                                                  "preselfpay_amt", "inscp_scp_amt")}}


# ── persons ───────────────────────────────────────────────────────────────────────────────────

def mask_certno(certno: str) -> str:
    return certno if len(certno) < 10 else f"{certno[:6]}{'*' * (len(certno) - 10)}{certno[-4:]}"


def search_persons(conn: Connection, text: str, page: int = 1) -> dict[str, Any]:
    p = s.persons.c
    text = text.strip()[:50]
    if not text:
        return {"rows": [], "more": False, "page": page}
    query = select(s.persons).where(or_(p.psn_no == text, p.certno == text.upper(), p.psn_name.startswith(text, autoescape=True)))
    rows = [dict(r._mapping) for r in conn.execute(query.order_by(p.psn_name, p.psn_no).limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE))]
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    ids = [r["psn_no"] for r in rows]
    ins: dict[str, list[Any]] = {}
    if ids:
        for r in conn.execute(select(s.insurance).where(s.insurance.c.psn_no.in_(ids))):
            ins.setdefault(r.psn_no, []).append(r)
    for r in rows:
        r["insurance"] = ins.get(r["psn_no"], [])
    return {"rows": rows, "more": more, "page": page}


def person(conn: Connection, psn_no: str, *, limit: int = 50) -> dict[str, Any] | None:
    row = conn.execute(select(s.persons).where(s.persons.c.psn_no == psn_no)).first()
    if row is None:
        return None
    t = s.settlements
    settlements = [dict(r._mapping) for r in conn.execute(
        select(t.c.setl_id, t.c.mdtrt_id, t.c.fixmedins_code, t.c.insutype, t.c.med_type, t.c.setl_time, t.c.status,
               t.c.refd_setl_flag, t.c.medfee_sumamt, t.c.fund_pay_sumamt, t.c.psn_cash_pay, t.c.acct_pay)
        .where(t.c.psn_no == psn_no).order_by(t.c.setl_time.desc()).limit(limit + 1))]
    more = len(settlements) > limit
    settlements = settlements[:limit]
    _names(conn, settlements)
    years = conn.execute(select(t.c.setl_year, func.count(), func.sum(t.c.medfee_sumamt), func.sum(t.c.fund_pay_sumamt))
                         .where(t.c.psn_no == psn_no).group_by(t.c.setl_year).order_by(t.c.setl_year.desc())).fetchall()
    acc = [dict(r._mapping) for r in conn.execute(select(s.accumulators).where(s.accumulators.c.psn_no == psn_no)
                                                  .order_by(s.accumulators.c.year.desc(), s.accumulators.c.layer))]
    return {"person": dict(row._mapping),
            "insurance": [dict(r._mapping) for r in conn.execute(select(s.insurance).where(s.insurance.c.psn_no == psn_no))],
            "identities": [dict(r._mapping) for r in conn.execute(select(s.identities).where(s.identities.c.psn_no == psn_no)
                                                                  .order_by(s.identities.c.begntime))],
            "settlements": settlements, "more": more, "years": years, "accumulators": acc,
            "filings": [dict(r._mapping) for r in conn.execute(select(s.filings).where(s.filings.c.psn_no == psn_no))]}


# ── institutions ──────────────────────────────────────────────────────────────────────────────

def search_institutions(conn: Connection, text: str, level: str = "") -> list[dict[str, Any]]:
    i = s.institutions.c
    query = select(s.institutions).order_by(i.fixmedins_code)
    if text:
        query = query.where(or_(i.fixmedins_code.startswith(text.strip().upper(), autoescape=True),
                                i.fixmedins_name.contains(text.strip(), autoescape=True)))
    if level:
        query = query.where(i.medins_lv == level)
    rows = [dict(r._mapping) for r in conn.execute(query.limit(500))]
    # this year's volume from the fund's monthly aggregates (kept by `yibao fund post`)
    h = s.fund_month_hosp
    latest = conn.execute(select(func.max(h.c.period))).scalar()
    volume: dict[str, Any] = {}
    if latest:
        for r in conn.execute(select(h.c.fixmedins_code, func.sum(h.c.setl_cnt), func.sum(h.c.medfee_sumamt), func.sum(h.c.fund_pay_sumamt))
                              .where(h.c.period >= latest[:4] + "-01").where(h.c.period <= latest).group_by(h.c.fixmedins_code)):
            volume[r[0]] = r
    for r in rows:
        v = volume.get(r["fixmedins_code"])
        r["setl_cnt"], r["medfee"], r["fund"] = (v[1], v[2], v[3]) if v else (None, None, None)
    return rows


def institution(conn: Connection, code: str) -> dict[str, Any] | None:
    row = conn.execute(select(s.institutions).where(s.institutions.c.fixmedins_code == code)).first()
    if row is None:
        return None
    h = s.fund_month_hosp
    months = [dict(r._mapping) for r in conn.execute(
        select(h.c.period, h.c.category, func.sum(h.c.setl_cnt).label("setl_cnt"), func.sum(h.c.medfee_sumamt).label("medfee"),
               func.sum(h.c.fund_pay_sumamt).label("fund")).where(h.c.fixmedins_code == code)
        .group_by(h.c.period, h.c.category).order_by(h.c.period.desc(), h.c.category))]
    t = s.settlements
    recent = [dict(r._mapping) for r in conn.execute(
        select(t.c.setl_id, t.c.psn_no, t.c.insutype, t.c.med_type, t.c.setl_time, t.c.status, t.c.refd_setl_flag,
               t.c.medfee_sumamt, t.c.fund_pay_sumamt).where(t.c.fixmedins_code == code).order_by(t.c.setl_time.desc()).limit(20))]
    _names(conn, recent)
    totals: dict[str, dict[str, int]] = {}
    for m in months:
        year = m["period"][:4]
        cell = totals.setdefault(year, {"setl_cnt": 0, "medfee": 0, "fund": 0})
        for k in ("setl_cnt", "medfee", "fund"):
            cell[k] += int(m[k] or 0)
    return {"inst": dict(row._mapping), "months": months, "totals": totals, "recent": recent,
            "findings": audit.for_institution(conn, code)}
