"""The transactions the platform answers, by ``infno``."""

from __future__ import annotations

from functools import partial

from ..platform import Transaction
from . import fees, misc, settle, visits


def _tx(infno: str, name: str, handler, mutates: bool, pharmacy: bool = False) -> tuple[str, Transaction]:
    return infno, Transaction(infno, name, handler, mutates, pharmacy)


TRANSACTIONS: dict[str, Transaction] = dict(
    [
        _tx("9001", "签到", misc.sign_in, True, True),
        _tx("9002", "签退", misc.sign_out, True, True),
        _tx("1101", "人员信息获取", misc.person_info, False, True),
        _tx("1201", "医药机构信息获取", misc.institution_info, False, True),
        _tx("2001", "人员待遇享受检查", misc.treatment_check, False, True),
        _tx("2201", "门诊挂号", visits.register, True),
        _tx("2202", "门诊挂号撤销", visits.cancel_visit, True),
        _tx("2203", "门诊就诊信息上传", visits.visit_facts, True),
        _tx("2204", "门诊费用明细信息上传", partial(fees.upload, inpatient=False), True),
        _tx("2205", "门诊费用明细信息撤销", partial(fees.withdraw, inpatient=False), True),
        _tx("2206", "门诊预结算", settle.presettle_outpatient, False),
        _tx("2207", "门诊结算", settle.settle_outpatient, True),
        _tx("2208", "门诊结算撤销", settle.reverse_settlement, True),
        _tx("2301", "住院费用明细上传", partial(fees.upload, inpatient=True), True),
        _tx("2302", "住院费用明细撤销", partial(fees.withdraw, inpatient=True), True),
        _tx("2303", "住院预结算", settle.presettle_inpatient, False),
        _tx("2304", "住院结算", settle.settle_inpatient, True),
        _tx("2305", "住院结算撤销", settle.reverse_settlement, True),
        _tx("2401", "入院办理", visits.admit, True),
        _tx("2402", "出院办理", visits.discharge, True),
        _tx("2403", "入院信息变更", visits.change_admission, True),
        _tx("2404", "入院撤销", visits.cancel_visit, True),
        _tx("2405", "出院撤销", visits.undo_discharge, True),
        _tx("2501", "转院备案", misc.file_referral, True),
        _tx("2502", "转院备案撤销", misc.cancel_filing, True),
        _tx("2601", "冲正交易", settle.technical_reversal, True, True),
        _tx("3201", "医药机构费用结算对总账", misc.reconcile_totals, False, True),
    ]
)
