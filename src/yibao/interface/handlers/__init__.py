"""The transactions the platform answers, by ``infno``."""

from __future__ import annotations

from functools import partial

from ..platform import Transaction
from . import catalogue, dictionary, fees, files, filings, misc, prereview, reconcile, settle, visits
from ..catalogues import CATALOGUE_FILES, CODE_LIST_FILES


def _tx(infno: str, name: str, handler, mutates: bool, pharmacy: bool = False, prepare=None) -> tuple[str, Transaction]:
    return infno, Transaction(infno, name, handler, mutates, pharmacy, prepare)


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
        _tx("2204", "门诊费用明细信息上传", partial(fees.upload, inpatient=False), True, prepare=fees.prepare_upload),
        _tx("2205", "门诊费用明细信息撤销", partial(fees.withdraw, inpatient=False), True),
        _tx("2206", "门诊预结算", settle.presettle_outpatient, False),
        _tx("2207", "门诊结算", settle.settle_outpatient, True, prepare=settle.prepare_settlement),
        _tx("2208", "门诊结算撤销", settle.reverse_settlement, True),
        _tx("2301", "住院费用明细上传", partial(fees.upload, inpatient=True), True, prepare=fees.prepare_upload),
        _tx("2302", "住院费用明细撤销", partial(fees.withdraw, inpatient=True), True),
        _tx("2303", "住院预结算", settle.presettle_inpatient, False),
        _tx("2304", "住院结算", settle.settle_inpatient, True, prepare=settle.prepare_settlement),
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
        # catalogues, dictionaries, filings, pre-review, detail reconciliation and files
        *[_tx(infno, name + "下载", catalogue.download, True, True) for infno, (name, _) in {**CATALOGUE_FILES, **CODE_LIST_FILES}.items()],
        _tx("1304", "民族药品目录查询", catalogue.query_ethnic, False, True),
        _tx("1312", "医保目录信息查询", catalogue.query_catalogue, False, True),
        _tx("1316", "医疗目录与医保目录匹配信息查询", catalogue.query_match, False, True),
        _tx("1317", "医药机构目录匹配信息查询", catalogue.query_institution_match, False, True),
        _tx("1318", "医保目录限价信息查询", catalogue.query_price_caps, False, True),
        _tx("1319", "医保目录先自付比例信息查询", catalogue.query_selfpay, False, True),
        _tx("1901", "字典表查询", dictionary.query, False, True),
        _tx("2503", "人员慢特病备案", filings.file_chronic, True),
        _tx("2504", "人员慢特病备案撤销", filings.withdraw_chronic, True),
        _tx("2505", "人员定点备案", filings.file_designated, True),
        _tx("2506", "人员定点备案撤销", filings.withdraw_designated, True),
        _tx("3101", "明细审核事前分析服务", prereview.review, False),
        _tx("3102", "明细审核事中分析服务", prereview.review, False),
        _tx("3202", "医药机构费用结算对明细账", reconcile.reconcile_details, True, True),
        _tx("9101", "文件上传", files.upload, True, True),
        _tx("9102", "文件下载", files.download, False, True),
    ]
)
