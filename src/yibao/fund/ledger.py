"""The fund ledger: double-entry postings, balances and months of reserve.

One journal row is one debit/credit pair of an entry (凭证); every entry names its source
(``source_type`` + ``source_id``) and each row its ``leg``, and (source_type, source_id, leg) is
unique, so posting twice changes nothing. Reversals are red-ink entries: the same accounts with
the amount negated.

| source | debit | credit |
|---|---|---|
| opening balance | ``F.bank`` | ``F.equity`` |
| contribution / subsidy | ``F.bank`` | ``F.inc.<item>`` |
| transfer between funds (e.g. pool → personal accounts) | ``F.exp.transfer.G`` / ``G.bank`` | ``F.bank`` / ``G.inc.transfer.F`` |
| settlement, per fund layer (``settlement_funds``) and personal account (``acct_pay``) | ``F.exp.benefit`` | ``F.payable`` |
| reversal (a ``refd_setl_flag='1'`` row: its amounts are already negative) | ``F.exp.benefit`` | ``F.payable`` |
| void (2601) of a settlement already posted | same rows, amounts negated | |
| recovery of irregular payments (追回) and penalty (违约金) | ``F.bank`` | ``F.inc.recovery`` / ``F.inc.penalty`` |
| DRG/DIP clearing adjustment (+ pay more, − claw back) | ``F.exp.clearing`` | ``F.payable`` |
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from yibao.money import round_half_up, yuan_to_fen
from yibao.storage import schema as s

from . import aggregates
from .accounts import FUND_ORDER, FUNDS, MATERNITY_MED_TYPES, SCHEMES, account_of, chart, transfer_counterpart
from .params import FundParams, ParamError
from .params import load as load_params
from .sqlutil import date_expr, period_expr, period_of, periods_between, prev_month, sql


class LedgerError(ValueError):
    """A posting that cannot be made; the message says why."""


@dataclass
class PostReport:
    settlements: int = 0
    rows: int = 0
    voids: int = 0
    opening: dict[str, int] = field(default_factory=dict)
    periods: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "settlements_posted": self.settlements,
            "journal_rows": self.rows,
            "voids_posted": self.voids,
            "opening_balances": {k: _yuan(v) for k, v in self.opening.items()},
            "periods_refreshed": self.periods,
            "notes": self.notes,
            "seconds": round(self.seconds, 3),
        }


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def ensure_accounts(conn: Connection) -> None:
    """Add the standard chart and any account the journal uses that is not in it yet."""
    have = {r[0] for r in conn.execute(select(s.fund_accounts.c.acct_code))}
    wanted = {a.acct_code: a for a in chart()}
    for col in ("dr_acct", "cr_acct"):
        for (code,) in conn.execute(sql(f"SELECT DISTINCT {col} FROM fund_journal")):
            if code not in wanted:
                wanted[code] = account_of(code)
    rows = [
        dict(acct_code=a.acct_code, acct_name=a.acct_name, acct_type=a.acct_type, fund_pay_type=a.fund_pay_type)
        for code, a in wanted.items()
        if code not in have
    ]
    if rows:
        conn.execute(insert(s.fund_accounts), rows)


def _max_jnl_id(conn: Connection) -> int:
    return conn.execute(select(func.coalesce(func.max(s.fund_journal.c.jnl_id), 0))).scalar_one()


def post(conn: Connection, params: FundParams | None = None, *, rebuild: bool = False, now: dt.datetime | None = None) -> PostReport:
    """Post everything not yet posted: settlements and reversals, voids, opening balances; then
    recompute the monthly aggregates of the months that changed. Idempotent."""
    started = time.perf_counter()
    params = params or load_params()
    now = now or dt.datetime.now().replace(microsecond=0)
    report = PostReport()
    ensure_accounts(conn)
    before = _max_jnl_id(conn)
    report.settlements = _post_settlements(conn, now)
    report.voids = _post_voids(conn, now)
    report.opening = _post_opening(conn, params, now, report.notes)
    ensure_accounts(conn)
    report.rows = conn.execute(select(func.count()).select_from(s.fund_journal).where(s.fund_journal.c.jnl_id > before)).scalar_one()
    touched = {r[0] for r in conn.execute(select(s.fund_journal.c.period).where(s.fund_journal.c.jnl_id > before).distinct())}
    if rebuild:
        touched |= {r[0] for r in conn.execute(select(s.fund_journal.c.period).distinct())}
        touched |= set(aggregates.settlement_row_counts(conn))
    aggregates.refresh_accounts(conn, touched)
    touched_setl = touched | aggregates.stale_periods(conn)
    report.periods = aggregates.refresh(conn, touched_setl)
    report.seconds = time.perf_counter() - started
    return report


def _fund_expr() -> str:
    maternity = ", ".join(f"'{m}'" for m in MATERNITY_MED_TYPES)
    return (
        f"CASE WHEN f.kind = 'basic' AND s.insutype LIKE '31%' AND s.med_type IN ({maternity}) "
        f"THEN '510100' ELSE f.fund_pay_type END"
    )


def _post_settlements(conn: Connection, now: dt.datetime) -> int:
    """Every settlement (and reversal row) not yet in the journal: one row per fund layer that
    paid and one for the personal account. Voided settlements are left out."""
    day, period = date_expr(conn, "s.setl_time"), period_expr(conn, "s.setl_time")
    fund = _fund_expr()
    unposted = (
        "NOT EXISTS (SELECT 1 FROM fund_journal j WHERE j.source_type = 'settlement' AND j.source_id = s.setl_id)"
    )
    memo = "CASE WHEN s.refd_setl_flag = '1' THEN '撤销结算 ' || COALESCE(s.init_setl_id, '') ELSE '结算 医疗类别' || s.med_type END"
    statement = (
        "INSERT INTO fund_journal (entry_id, entry_date, period, dr_acct, cr_acct, amount, source_type, source_id, leg,"
        " fixmedins_code, memo, posted_at) "
        f"SELECT 'settlement:' || s.setl_id, {day}, {period}, {fund} || '.exp.benefit', {fund} || '.payable',"
        f" f.fund_payamt, 'settlement', s.setl_id, {fund}, s.fixmedins_code, {memo}, :now"
        " FROM settlements s JOIN settlement_funds f ON f.setl_id = s.setl_id"
        f" WHERE f.fund_payamt <> 0 AND s.status <> 'voided' AND {unposted}"
        " UNION ALL "
        f"SELECT 'settlement:' || s.setl_id, {day}, {period}, '310200.exp.benefit', '310200.payable',"
        f" s.acct_pay, 'settlement', s.setl_id, '310200', s.fixmedins_code, {memo} || ' 个人账户支付', :now"
        f" FROM settlements s WHERE s.acct_pay <> 0 AND s.status <> 'voided' AND {unposted}"
    )
    count_before = conn.execute(sql("SELECT COUNT(DISTINCT source_id) FROM fund_journal WHERE source_type = 'settlement'")).scalar_one()
    conn.execute(sql(statement, now=s.fund_journal.c.posted_at.type), {"now": now})
    count_after = conn.execute(sql("SELECT COUNT(DISTINCT source_id) FROM fund_journal WHERE source_type = 'settlement'")).scalar_one()
    return count_after - count_before


def _post_voids(conn: Connection, now: dt.datetime) -> int:
    """A settlement voided (2601) after it was posted: its rows again with amounts negated, on the
    original date (a void undoes a settlement the institution never heard back about)."""
    statement = (
        "INSERT INTO fund_journal (entry_id, entry_date, period, dr_acct, cr_acct, amount, source_type, source_id, leg,"
        " fixmedins_code, memo, posted_at) "
        "SELECT 'void:' || j.source_id, j.entry_date, j.period, j.dr_acct, j.cr_acct, -j.amount, 'void', j.source_id,"
        " j.leg, j.fixmedins_code, '冲正 撤销结算 ' || j.source_id, :now"
        " FROM fund_journal j JOIN settlements s ON s.setl_id = j.source_id"
        " WHERE j.source_type = 'settlement' AND s.status = 'voided'"
        " AND NOT EXISTS (SELECT 1 FROM fund_journal v WHERE v.source_type = 'void' AND v.source_id = j.source_id)"
    )
    before = conn.execute(sql("SELECT COUNT(DISTINCT source_id) FROM fund_journal WHERE source_type = 'void'")).scalar_one()
    conn.execute(sql(statement, now=s.fund_journal.c.posted_at.type), {"now": now})
    after = conn.execute(sql("SELECT COUNT(DISTINCT source_id) FROM fund_journal WHERE source_type = 'void'")).scalar_one()
    return after - before


def opening_date(conn: Connection) -> dt.date | None:
    """1 January of the ledger's first year (the earliest non-opening entry)."""
    first = conn.execute(
        select(func.min(s.fund_journal.c.entry_date)).where(s.fund_journal.c.source_type != "opening")
    ).scalar_one()
    if first is None:
        return None
    if isinstance(first, str):
        first = dt.date.fromisoformat(first)
    return dt.date(first.year, 1, 1)


def _benefit_spending(conn: Connection, fund: str, year: int) -> int:
    first, last = f"{year:04d}-01", f"{year:04d}-12"
    dr = conn.execute(sql(
        "SELECT COALESCE(SUM(amount), 0) FROM fund_journal WHERE dr_acct = :a AND period >= :f AND period <= :l"
    ), {"a": f"{fund}.exp.benefit", "f": first, "l": last}).scalar_one()
    cr = conn.execute(sql(
        "SELECT COALESCE(SUM(amount), 0) FROM fund_journal WHERE cr_acct = :a AND period >= :f AND period <= :l"
    ), {"a": f"{fund}.exp.benefit", "f": first, "l": last}).scalar_one()
    return int(dr) - int(cr)


def account_balances_before_settlements(conn: Connection) -> int:
    """Σ personal-account balances as they were before the first settlement on file: today's
    balances plus every account payment since (reversal rows are negative, voids excluded)."""
    now = conn.execute(sql("SELECT COALESCE(SUM(acct_balc), 0) FROM insurance WHERE insutype LIKE '31%'")).scalar_one()
    paid = conn.execute(sql("SELECT COALESCE(SUM(acct_pay), 0) FROM settlements WHERE status <> 'voided'")).scalar_one()
    return int(now) + int(paid)


def _post_opening(conn: Connection, params: FundParams, now: dt.datetime, notes: list[str]) -> dict[str, int]:
    posted = {r[0] for r in conn.execute(select(s.fund_journal.c.source_id).where(s.fund_journal.c.source_type == "opening"))}
    day = opening_date(conn)
    if day is None:
        return {}
    has_settlements = conn.execute(sql(
        "SELECT COUNT(*) FROM fund_journal WHERE source_type = 'settlement' AND period >= :f AND period <= :l"
    ), {"f": f"{day.year:04d}-01", "l": f"{day.year:04d}-12"}).scalar_one()
    try:
        spec = params.fund.get("opening_balance", day)
    except ParamError as exc:
        notes.append(f"期初结余未记账: {exc}")
        return {}
    out: dict[str, int] = {}
    rows = []
    for fund, form in (spec or {}).items():
        fund = str(fund)
        if fund in posted:
            continue
        if not isinstance(form, dict) or len(form) != 1:
            raise ParamError(f"opening_balance.{fund}: 应为 {{yuan: 金额}}、{{months: N}} 或 {{accounts: true}}，实际为 {form!r}")
        (kind, value), = form.items()
        if kind == "yuan":
            amount, basis = yuan_to_fen(value, field=f"opening_balance.{fund}"), f"参数 {value} 元"
        elif kind in ("months", "accounts"):
            if not has_settlements:
                notes.append(f"期初结余 {fund} 按{'月数' if kind == 'months' else '个人账户余额'}计算，需首年（{day.year}）结算数据，暂未记账")
                continue
            if kind == "months":
                spent = _benefit_spending(conn, fund, day.year)
                amount = round_half_up(Fraction(spent) * Fraction(str(value)) / 12)
                basis = f"{day.year}年月均待遇支出 {_yuan(round_half_up(Fraction(spent, 12)))} 元 × {value} 个月"
            else:
                amount = account_balances_before_settlements(conn)
                basis = "个人账户余额之和（当前余额加回此后的账户支付）"
        else:
            raise ParamError(f"opening_balance.{fund}: 未知写法 {kind!r}（可用 yuan / months / accounts）")
        rows.append(dict(
            entry_id=f"opening:{fund}", entry_date=day, period=period_of(day), dr_acct=f"{fund}.bank",
            cr_acct=f"{fund}.equity", amount=amount, source_type="opening", source_id=fund, leg="opening",
            fixmedins_code=None, memo=f"期初累计结余：{basis}"[:200], posted_at=now,
        ))
        out[fund] = amount
    if rows:
        conn.execute(insert(s.fund_journal), rows)
    if posted or rows:
        early = conn.execute(select(func.count()).select_from(s.fund_journal).where(s.fund_journal.c.entry_date < day)).scalar_one()
        if early:
            notes.append(f"有 {early} 条记账日期早于期初日 {day.isoformat()}，期初结余未包含它们")
    return out


# ── postings other modules and the console call ───────────────────────────────────────────────

def _insert_entry(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert an entry's rows unless its legs are already posted. Returns rows inserted."""
    if not rows:
        return 0
    key = rows[0]["source_type"], rows[0]["source_id"]
    have = {
        r[0]
        for r in conn.execute(
            select(s.fund_journal.c.leg).where(s.fund_journal.c.source_type == key[0]).where(s.fund_journal.c.source_id == key[1])
        )
    }
    new = [r for r in rows if r["leg"] not in have]
    if new:
        conn.execute(insert(s.fund_journal), new)
    return len(new)


def _entry_row(source_type: str, source_id: str, leg: str, on: dt.date, dr: str, cr: str, amount: int,
               memo: str, now: dt.datetime, fixmedins_code: str | None = None) -> dict[str, Any]:
    return dict(
        entry_id=f"{source_type}:{source_id}"[:80], entry_date=on, period=period_of(on), dr_acct=dr, cr_acct=cr,
        amount=amount, source_type=source_type, source_id=source_id[:80], leg=leg, fixmedins_code=fixmedins_code,
        memo=memo[:200], posted_at=now,
    )


def post_recovery(
    conn: Connection, fund_pay_type: str, amount: int, on: dt.date, ref: str, *, penalty: int = 0,
    fixmedins_code: str | None = None, memo: str = "", now: dt.datetime | None = None,
) -> int:
    """Book money recovered from an institution after an audit finding (追回违规基金, fen) and
    the penalty charged on it (违约金, fen) into the fund that paid it. ``ref`` identifies the
    finding (e.g. the audit case number); posting the same ref twice books nothing more.
    Refreshes the month's aggregates. Returns journal rows inserted."""
    if amount < 0 or penalty < 0:
        raise LedgerError("追回金额和违约金不能为负数；冲销请用红字更正")
    now = now or dt.datetime.now().replace(microsecond=0)
    text = memo or f"追回违规基金 {ref}"
    rows = [_entry_row("recovery", ref, "recovery", on, f"{fund_pay_type}.bank", f"{fund_pay_type}.inc.recovery",
                       amount, text, now, fixmedins_code)]
    if penalty:
        rows.append(_entry_row("recovery", ref, "penalty", on, f"{fund_pay_type}.bank", f"{fund_pay_type}.inc.penalty",
                               penalty, f"违约金 {ref}", now, fixmedins_code))
    n = _insert_entry(conn, rows)
    if n:
        ensure_accounts(conn)
        aggregates.refresh_accounts(conn, [period_of(on)])
    return n


def post_clearing(
    conn: Connection, fund_pay_type: str, amount: int, on: dt.date, ref: str, *, fixmedins_code: str | None = None,
    memo: str = "", now: dt.datetime | None = None,
) -> int:
    """Book a provider-payment clearing adjustment (DRG/DIP 年度清算): ``amount`` fen the fund
    owes the institution beyond what its settlements paid (negative: clawed back). ``ref``
    identifies the clearing line (e.g. ``dip-2024:H51140200001``). Returns journal rows inserted."""
    now = now or dt.datetime.now().replace(microsecond=0)
    text = memo or f"医保支付年度清算调整 {ref}"
    rows = [_entry_row("clearing", ref, "clearing", on, f"{fund_pay_type}.exp.clearing", f"{fund_pay_type}.payable",
                       amount, text, now, fixmedins_code)]
    n = _insert_entry(conn, rows)
    if n:
        ensure_accounts(conn)
        aggregates.refresh_accounts(conn, [period_of(on)])
    return n


# ── trial balance ────────────────────────────────────────────────────────────────────────────

def trial_balance(conn: Connection, upto: dt.date | None = None) -> dict[str, Any]:
    """Debits and credits per account from the journal itself, and the checks: total debits =
    total credits, and per fund bank − payable = opening + income − expense."""
    where = "" if upto is None else "WHERE entry_date <= :d"
    args = {} if upto is None else {"d": upto}
    types = {} if upto is None else {"d": s.fund_journal.c.entry_date.type}
    accounts: dict[str, list[int]] = {}
    for col, idx in (("dr_acct", 0), ("cr_acct", 1)):
        for code, total in conn.execute(sql(f"SELECT {col}, SUM(amount) FROM fund_journal {where} GROUP BY {col}", **types), args):
            accounts.setdefault(code, [0, 0])[idx] += int(total)
    debits = sum(v[0] for v in accounts.values())
    credits = sum(v[1] for v in accounts.values())
    funds: dict[str, dict[str, int]] = {}
    for code, (dr, cr) in accounts.items():
        a = account_of(code)
        f = funds.setdefault(a.fund_pay_type, {"bank": 0, "payable": 0, "opening": 0, "income": 0, "expense": 0})
        if a.acct_type == "asset":
            f["bank"] += dr - cr
        elif a.acct_type == "liability":
            f["payable"] += cr - dr
        elif a.acct_type == "net_asset":
            f["opening"] += cr - dr
        elif a.acct_type == "income":
            f["income"] += cr - dr
        else:
            f["expense"] += dr - cr
    checks = {
        fund: {**v, "balanced": v["bank"] - v["payable"] == v["opening"] + v["income"] - v["expense"]}
        for fund, v in sorted(funds.items())
    }
    return {
        "accounts": {code: {"debit": dr, "credit": cr, "net": dr - cr} for code, (dr, cr) in sorted(accounts.items())},
        "debits": debits,
        "credits": credits,
        "difference": debits - credits,
        "net_sum": sum(dr - cr for dr, cr in accounts.values()),
        "funds": checks,
        "balanced": debits == credits and all(v["balanced"] for v in checks.values()),
    }


# ── balances from the monthly aggregates ───────────────────────────────────────────────────────

@dataclass
class Position:
    """A fund's (or a scheme's) figures at the end of one month, in fen."""

    key: str
    name: str
    opening_balance: int = 0
    income_month: int = 0
    spending_month: int = 0
    income_ytd: int = 0
    spending_ytd: int = 0
    balance: int = 0  # 累计结余 at the end of the month
    spending_window: int = 0  # spending over the months of the reserve window
    window_months: int = 0
    window_first: str = ""
    income_prior_ytd: int | None = None  # same months of the year before (None: no data)
    spending_prior_ytd: int | None = None
    monthly_spending: dict[str, int] = field(default_factory=dict)
    monthly_income: dict[str, int] = field(default_factory=dict)

    @property
    def surplus_ytd(self) -> int:
        return self.income_ytd - self.spending_ytd

    @property
    def avg_monthly_spending(self) -> Fraction | None:
        if not self.window_months:
            return None
        return Fraction(self.spending_window, self.window_months)

    @property
    def months_of_reserve(self) -> Fraction | None:
        avg = self.avg_monthly_spending
        if avg is None or avg <= 0:
            return None
        return Fraction(self.balance) / avg


def _kind(code: str) -> str:
    return code.split(".", 1)[1] if "." in code else ""


def month_flows(conn: Connection, upto: str) -> tuple[dict[str, dict[str, dict[str, Any]]], str | None]:
    """{fund: {period: {'income', 'spending', 'opening', 'tin': {fund: …}, 'tout': {fund: …}}}}
    up to ``upto`` (income and spending include transfers, which ``tin``/``tout`` break down by
    the other fund), and the ledger's first period."""
    flows: dict[str, dict[str, dict[str, Any]]] = {}
    first = None
    for period, code, dr, cr in conn.execute(
        select(s.fund_month_acct.c.period, s.fund_month_acct.c.acct_code, s.fund_month_acct.c.debit, s.fund_month_acct.c.credit)
        .where(s.fund_month_acct.c.period <= upto)
    ):
        fund, kind = code.split(".", 1)[0], _kind(code)
        first = period if first is None or period < first else first
        cell = flows.setdefault(fund, {}).setdefault(period, {"income": 0, "spending": 0, "opening": 0, "tin": {}, "tout": {}})
        other = transfer_counterpart(kind)
        if kind.startswith("inc."):
            cell["income"] += cr - dr
            if other is not None:
                cell["tin"][other] = cell["tin"].get(other, 0) + cr - dr
        elif kind.startswith("exp."):
            cell["spending"] += dr - cr
            if other is not None:
                cell["tout"][other] = cell["tout"].get(other, 0) + dr - cr
        elif kind == "equity":
            cell["opening"] += cr - dr
    return flows, first


@dataclass(frozen=True)
class Flows:
    """``fund_month_acct`` read once, up to ``upto`` (see ``month_flows``). A position at any
    month up to ``upto`` is computed from it, so a page that shows many positions (the
    dashboard: balances, indicators, warnings, the balance chart) reads the table once."""

    upto: str
    by_fund: dict[str, dict[str, dict[str, Any]]]
    first: str | None


def read_flows(conn: Connection, upto: str) -> Flows:
    by_fund, first = month_flows(conn, upto)
    return Flows(upto, by_fund, first)


def _flows_at(conn: Connection, period: str, flows: Flows | None) -> tuple[dict[str, dict[str, dict[str, Any]]], str | None]:
    """``flows`` when it covers ``period`` (a position ignores the months after it), else a fresh read."""
    if flows is None or flows.upto < period:
        return month_flows(conn, period)
    return flows.by_fund, flows.first


def positions(conn: Connection, period: str, funds: list[str] | None = None, *, flows: Flows | None = None) -> dict[str, Position]:
    """Per fund: month, year-to-date, balance and the months-of-reserve window at ``period``."""
    flows, first = _flows_at(conn, period, flows)
    wanted = funds or [f for f in FUND_ORDER if f in flows] + sorted(f for f in flows if f not in FUNDS)
    return {f: _position(f, FUNDS.get(f, (f, ""))[0], [flows.get(f, {})], period, first, ()) for f in wanted}


def scheme_positions(conn: Connection, period: str, *, flows: Flows | None = None) -> dict[str, Position]:
    """Per scheme (funds added up, transfers between them left out)."""
    flows, first = _flows_at(conn, period, flows)
    return {
        key: _position(key, name, [flows.get(f, {}) for f in members], period, first, members)
        for key, (name, members) in SCHEMES.items()
    }


def consolidated_position(conn: Connection, period: str, members: tuple[str, ...], key: str, name: str, *,
                          flows: Flows | None = None) -> Position:
    flows, first = _flows_at(conn, period, flows)
    return _position(key, name, [flows.get(f, {}) for f in members], period, first, members)


def _position(key: str, name: str, series: list[dict[str, dict[str, Any]]], period: str, first: str | None,
              members: tuple[str, ...]) -> Position:
    """Figures of one fund or a group of funds; transfers among ``members`` cancel out."""
    return position_from_net(key, name, net_flows(series, members), period, first)


def net_flows(series: list[dict[str, dict[str, Any]]], members: tuple[str, ...]) -> dict[str, tuple[int, int, int]]:
    """{period: (opening, income, spending)} of the funds in ``series`` added up, transfers among
    ``members`` left out. A chart computes it once and then a position per month from it."""
    net: dict[str, tuple[int, int, int]] = {}
    for months in series:
        for p, cell in months.items():
            income = cell["income"] - sum(v for f, v in cell["tin"].items() if f in members)
            spending = cell["spending"] - sum(v for f, v in cell["tout"].items() if f in members)
            opening0, income0, spending0 = net.get(p, (0, 0, 0))
            net[p] = (opening0 + cell["opening"], income0 + income, spending0 + spending)
    return net


@functools.lru_cache(maxsize=512)
def _reserve_window(period: str, first: str | None) -> tuple[str, ...]:
    """The 12 months ending ``period`` that the ledger has (from ``first`` on). Cached: a balance
    chart asks for the same few windows about 150 times."""
    if first is None:
        return ()
    return tuple(p for p in periods_between(prev_month(period, 11), period) if p >= first)


def position_from_net(key: str, name: str, net: dict[str, tuple[int, int, int]], period: str, first: str | None) -> Position:
    """The figures at the end of ``period`` from ``net_flows`` (months after ``period`` ignored)."""
    pos = Position(key, name)
    year = period[:4]
    prior_year = f"{int(year) - 1:04d}"
    window = _reserve_window(period, first)
    pos.window_months = len(window)
    pos.window_first = window[0] if window else ""
    prior_first, prior_last = f"{prior_year}-01", f"{prior_year}{period[4:]}"
    have_prior = first is not None and first <= prior_first
    pi = ps = 0
    for p, (opening, income, spending) in net.items():
        if p > period:
            continue
        pos.opening_balance += opening
        pos.balance += opening + income - spending
        pos.monthly_spending[p] = spending
        pos.monthly_income[p] = income
        if p == period:
            pos.income_month += income
            pos.spending_month += spending
        if p[:4] == year:
            pos.income_ytd += income
            pos.spending_ytd += spending
        if p in window:
            pos.spending_window += spending
        if prior_first <= p <= prior_last:
            pi += income
            ps += spending
    if have_prior:
        pos.income_prior_ytd, pos.spending_prior_ytd = pi, ps
    return pos
