"""Pre-settlement, settlement and reversal: 2206/2207/2208 (outpatient), 2303/2304/2305
(inpatient), and 2601 冲正."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from yibao.storage import schema as s
from yibao.storage.db import reading

from .. import lookups, settling
from ..errors import InterfaceError
from ..fields import node, opt_str, req_str
from ..platform import Call
from .visits import cancel_encounter

OUTPATIENT_DECLARED = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")


def _acct_used(data: dict[str, Any]) -> bool:
    flag = opt_str(data, "acct_used_flag") or "0"
    if flag not in ("0", "1", "2"):
        raise InterfaceError(f"个人账户使用标志 acct_used_flag 应为 0、1 或 2，实际为 {flag}", field="acct_used_flag")
    return flag in ("1", "2")


def _check_visit(prep: settling.Prepared, inpatient: bool) -> None:
    kind = prep.encounter.visit_kind
    if inpatient and kind != "inpatient":
        raise InterfaceError(f"就诊 {prep.encounter.mdtrt_id} 是门诊就诊，请使用 2206/2207", field="mdtrt_id")
    if not inpatient and kind != "outpatient":
        raise InterfaceError(f"就诊 {prep.encounter.mdtrt_id} 是住院就诊，请使用 2303/2304", field="mdtrt_id")


def _settle(call: Call, *, inpatient: bool, book: bool) -> dict[str, Any]:
    data = node(call.input, "data")
    mdtrt_id = req_str(data, "mdtrt_id", 30)
    psn_no = req_str(data, "psn_no", 30)
    if inpatient and (opt_str(data, "mid_setl_flag") or "0") == "1":
        raise InterfaceError("暂不支持中途结算（mid_setl_flag=1），请在出院时结算", field="mid_setl_flag")
    prep = settling.prepare(
        call,
        mdtrt_id,
        psn_no,
        opt_str(data, "insutype"),
        lock=book,
        acct_used=_acct_used(data),
        chrg_bchno=None if inpatient else opt_str(data, "chrg_bchno"),
    )
    _check_visit(prep, inpatient)
    certno = opt_str(data, "certno")
    if certno is not None and certno != prep.person.certno:
        raise InterfaceError(f"证件号码 certno 与人员 {psn_no} 的登记信息不一致", field="certno")
    if book:
        _audit_gate(call, mdtrt_id)
    result = settling.compute(prep)
    declared = ("medfee_sumamt",) if inpatient or not book else OUTPATIENT_DECLARED
    settling.check_declared(data, result, declared)
    setl_id = settling.book(call, prep, result) if book else None
    return {"setlinfo": settling.setlinfo(prep, result, setl_id, call), "setldetail": settling.setldetail(result)}


def _realtime_audit() -> Any:
    """``yibao.audit.realtime``, or None where the optional audit package is not installed."""
    try:
        from yibao.audit import realtime
    except ImportError:
        return None
    return realtime


def prepare_settlement(request: Any, platform: Any) -> None:
    """Before the write lock (``Transaction.prepare`` of 2207/2304): rebuild the audit library's
    compiled form when its cache has expired (every 60 s by default), so that the settlement that
    finds it stale does not rebuild it while holding the lock, with every other writer waiting
    (it reads and compiles the rules, the knowledge base and the catalogue)."""
    realtime = _realtime_audit()
    if realtime is not None and not realtime.is_fresh(platform.engine):
        with reading(platform.engine) as conn:
            realtime.compiled_for(conn)
            conn.rollback()
    return None


def _audit_gate(call: Call, mdtrt_id: str) -> None:
    """Refuse the settlement when the audit library blocks refuse-severity findings (拒付) and this
    encounter has one. The check runs only when blocking is switched on: the library's
    ``block_settlement_on_refuse`` or ``YIBAO_AUDIT_BLOCK_REFUSE=1`` (docs/audit.md)."""
    realtime = _realtime_audit()
    if realtime is None:
        return
    compiled = realtime.compiled_for(call.conn)
    if not realtime.blocking_enabled(compiled.library):
        return
    decision = realtime.settlement_check(call.conn, mdtrt_id, block=True)
    if decision.blocked:
        raise InterfaceError(decision.message[:200], field="mdtrt_id")


def presettle_outpatient(call: Call) -> dict[str, Any]:
    return _settle(call, inpatient=False, book=False)


def settle_outpatient(call: Call) -> dict[str, Any]:
    return _settle(call, inpatient=False, book=True)


def presettle_inpatient(call: Call) -> dict[str, Any]:
    return _settle(call, inpatient=True, book=False)


def settle_inpatient(call: Call) -> dict[str, Any]:
    return _settle(call, inpatient=True, book=True)


def reverse_settlement(call: Call) -> dict[str, Any]:
    """2208 / 2305: undo a settlement and return its amounts negated."""
    data = node(call.input, "data")
    return settling.reverse(call, opt_str(data, "setl_id"), req_str(data, "mdtrt_id"), req_str(data, "psn_no"))


REVERSIBLE = {"2207": "门诊结算", "2304": "住院结算", "2401": "入院办理"}


def technical_reversal(call: Call) -> None:
    """2601 冲正: undo a transaction whose answer the institution never received.

    If the original arrived, it is undone entirely (a settlement is voided with every
    accumulator restored; an admission is cancelled). If it never arrived, its msgid is
    remembered so that a late copy is refused. Either way the answer is success.
    """
    data = node(call.input, "data")
    psn_no = req_str(data, "psn_no", 30)
    omsgid = req_str(data, "omsgid", 40)
    oinfno = req_str(data, "oinfno", 6)
    if oinfno not in REVERSIBLE:
        raise InterfaceError(f"冲正交易只适用于 {'、'.join(REVERSIBLE)}，oinfno {oinfno} 不可冲正", field="oinfno")
    log = s.request_log
    original = call.conn.execute(
        select(log).where(log.c.fixmedins_code == call.fixmedins_code).where(log.c.msgid == omsgid)
    ).first()
    if original is None:
        call.conn.execute(
            log.insert().values(
                fixmedins_code=call.fixmedins_code, msgid=omsgid, infno=oinfno, body_sha256="-",
                status="voided", response="{}", received_at=call.when, ref_id=None,
            )
        )
        return None
    if original.infno != oinfno:
        raise InterfaceError(f"原报文 {omsgid} 的交易编号是 {original.infno}，与 oinfno {oinfno} 不一致", field="oinfno")
    if original.status == "voided":
        return None  # already reversed: 2601 is idempotent
    if oinfno in ("2207", "2304"):
        setl = call.conn.execute(select(s.settlements).where(s.settlements.c.setl_id == original.ref_id)).first()
        if setl is None or setl.psn_no != psn_no:
            raise InterfaceError(f"原报文 {omsgid} 的结算不属于人员 {psn_no}", field="psn_no")
        if setl.status == "settled":
            settling.reverse(call, setl.setl_id, setl.mdtrt_id, psn_no, void=True)
        elif setl.status != "voided":
            raise InterfaceError(f"原报文 {omsgid} 的结算 {setl.setl_id} 已被 2208/2305 撤销，无需冲正", field="omsgid")
    else:
        enc = lookups.encounter(call.conn, original.ref_id, call.fixmedins_code, psn_no)
        if enc.status != "cancelled":
            cancel_encounter(call, enc)
    call.conn.execute(
        update(log).where(log.c.fixmedins_code == call.fixmedins_code).where(log.c.msgid == omsgid).values(status="voided")
    )
    call.ref_id = original.ref_id
    return None
