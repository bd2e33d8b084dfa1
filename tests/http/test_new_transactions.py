"""The transactions added for the HTTP interface: catalogue downloads and queries, 1901
dictionaries, 2503–2506 filings, 3101/3102 pre-review — through HTTP with the gateway on."""

from __future__ import annotations

import base64
import io
import zipfile
from decimal import Decimal

from sqlalchemy import select

from httpkit import HOSPITAL, PHARMACY, http_client
from yibao.interface import catalogues, prereview
from yibao.storage import schema as s


def fetch(client, out):
    got = client.ok("9102", {"fsDownloadIn": {"file_qury_no": out["file_qury_no"], "filename": out["filename"], "fixmedins_code": "plc"}})
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(got["file_stream"]["content"]))) as z:
        return [line.split("\t") for line in z.read(z.namelist()[0]).decode("utf-8").splitlines()]


def test_1301_versioned_download_then_9102(hospital):
    out = hospital.ok("1301", {"data": {"ver": "v0000"}})
    rows = fetch(hospital, out)
    assert out["data_cnt"] == len(rows) and out["dld_end_time"]
    codes = [r[0] for r in rows]
    assert {"XA", "XB", "XC", "XA10BAA001A001"} <= set(codes)
    xb = rows[codes.index("XB")]
    assert xb[:7] == ["XB", "乙药", "101", "null", "02", "0.1000", "80.00"] and xb[-1] == "20200201"
    assert all(r[2] == "101" for r in rows)  # 西药中成药 only
    newer = hospital.ok("1301", {"data": {"ver": "20200201"}})
    assert [r[0] for r in fetch(hospital, newer)] == ["XC"] and newer["ver"] == "20200301"
    done = hospital.ok("1301", {"data": {"ver": newer["ver"]}})
    assert done["data_cnt"] == 0 and fetch(hospital, done) == []


def test_code_list_download_and_a_pharmacy_may_download(server, keys, world):
    with world.begin() as conn:
        catalogues.upsert_code_list(conn, "disease", [{"code": "I63.900", "name": "脑梗死", "ver": "20200101"},
                                                      {"code": "J06.900", "name": "急性上呼吸道感染", "ver": "20200102"}])
    pharmacy = http_client(server, keys[PHARMACY], PHARMACY)
    out = pharmacy.ok("1307", {"data": {"ver": "20200101"}})
    assert fetch(pharmacy, out) == [["J06.900", "急性上呼吸道感染", "null", "null", "1", "20200102"]]


def test_9102_refuses_another_institutions_file(server, keys, hospital, township):
    up = hospital.ok("9101", {"fsUploadIn": {"in": base64.b64encode(b"a\tb\n").decode(), "filename": "x.txt", "fixmedins_code": HOSPITAL}})
    stolen = township.call("9102", {"fsDownloadIn": {"file_qury_no": up["file_qury_no"], "filename": "x.txt", "fixmedins_code": HOSPITAL}})
    assert stolen["infcode"] == -1 and "没有文件查询号为" in stolen["err_msg"]
    spoofed = township.call("9101", {"fsUploadIn": {"in": "YQ==", "filename": "x.txt", "fixmedins_code": HOSPITAL}})
    assert spoofed["infcode"] == -1 and "不一致" in spoofed["err_msg"]


def test_paged_queries(hospital):
    first = hospital.ok("1312", {"data": {"page_num": 1, "page_size": 10, "list_type": "101"}})
    assert first["page_size"] == 10 and len(first["list"]) == 10 and first["pages"] == (first["recordCounts"] + 9) // 10
    last = hospital.ok("1312", {"data": {"page_num": first["pages"], "page_size": 10, "list_type": "101"}})
    assert len(last["list"]) == first["recordCounts"] - 10 * (first["pages"] - 1)
    one = hospital.ok("1312", {"data": {"hilist_code": "XB"}})["list"]
    assert one == [{"hilist_code": "XB", "hilist_name": "乙药", "list_type": "101", "med_chrgitm_type": "", "chrgitm_lv": "02",
                    "lmt_used_flag": "0", "hi_nego_drug_flag": "0", "bas_medn_flag": "", "begndate": "", "enddate": "",
                    "vali_flag": "1", "ver": "20200201"}]
    caps = hospital.ok("1318", {"data": {"hilist_code": "XB"}})["list"]
    assert caps[0]["hilist_pric_uplmt_amt"] == Decimal("80.00")
    ratios = hospital.ok("1319", {"data": {"hilist_code": "XB"}})["list"]
    assert ratios[0]["selfpay_prop"] == Decimal("0.1000")
    assert hospital.ok("1319", {"data": {"hilist_code": "XA"}})["list"] == []  # 甲 has no 先自付
    assert hospital.ok("1316", {"data": {"hilist_code": "XA"}})["list"][0]["med_list_codg"] == "XA"
    bad = hospital.call("1312", {"data": {"page_size": 5000}})
    assert bad["infcode"] == -1 and bad["err_msg"] == "page_size 不能超过 1000"


def test_1317_shows_the_institutions_own_codes(hospital):
    mdtrt_id = hospital.admit(psn_no="P1", insutype="390", med_type="21", begntime="2020-03-01 08:00:00")
    hospital.ok("2301", {"feedetail": hospital.fee_lines(mdtrt_id, "P1", [("XA", 1, 1, {"medins_list_codg": "HIS-001"})])})
    got = hospital.ok("1317", {"data": {}})["list"]
    assert got == [{"fixmedins_code": HOSPITAL, "medins_list_codg": "HIS-001", "med_list_codg": "XA", "vali_flag": "1"}]


def test_1901_dictionaries(hospital):
    required = ["insutype", "psn_type", "med_type", "chrgitm_lv", "med_chrgitm_type", "list_type", "fund_pay_type", "hosp_lv",
                "dscg_way", "gend", "psn_idet_type", "mdtrt_cert_type", "psn_setlway", "clr_type", "clr_way",
                "refd_setl_flag", "stmt_rslt", "acct_used_flag", "sev_deg", "vola_bhvr_type"]
    for kind in required:
        rows = hospital.ok("1901", {"data": {"type": kind, "parent_value": "", "admdvs": "511402", "date": "2020-03-10", "Vali_Flag": "1"}})["list"]
        assert rows, kind
        assert set(rows[0]) == {"type", "label", "value", "parentValue", "sort", "valiFlag", "createUser", "createDate", "version"}
    gend = hospital.ok("1901", {"data": {"type": "gend"}})["list"]
    assert [(r["value"], r["label"]) for r in gend] == [("0", "未知"), ("1", "男"), ("2", "女"), ("9", "未说明性别")]
    insutype = {r["value"]: r["label"] for r in hospital.ok("1901", {"data": {"type": "insutype"}})["list"]}
    assert insutype["310"] == "职工基本医疗保险" and insutype["390"] == "城乡居民基本医疗保险"
    unknown = hospital.call("1901", {"data": {"type": "no_such"}})
    assert unknown["infcode"] == -1 and unknown["err_msg"].startswith("没有字典类型 type no_such")


def chronic(**kw):
    data = {"psn_no": "P1", "insutype": "390", "opsp_dise_code": "M03900", "opsp_dise_name": "高血压", "insu_optins": "511402",
            "ide_fixmedins_no": HOSPITAL, "ide_fixmedins_name": "眉山市人民医院", "hosp_ide_date": "2020-03-01",
            "diag_dr_codg": "D001", "diag_dr_name": "医师", "begndate": "2020-03-01", "tel": "13800000000"}
    data.update(kw)
    return {"data": data}


def test_2503_2504_chronic_filing(hospital, township, world):
    sn = hospital.ok("2503", chronic())["result"]["trt_dcla_detl_sn"]
    with world.connect() as conn:
        row = conn.execute(select(s.filings).where(s.filings.c.trt_dcla_detl_sn == sn)).one()
    assert (row.kind, row.psn_no, row.diag_code, row.status, row.fixmedins_code) == ("chronic", "P1", "M03900", "valid", HOSPITAL)
    assert '"tel": "13800000000"' in row.detail
    twice = hospital.call("2503", chronic(begndate="2020-06-01"))
    assert twice["infcode"] == -1 and f"已有病种 M03900 的有效慢特病备案 {sn}" in twice["err_msg"]
    wrong = hospital.call("2503", chronic(insutype="310"))
    assert wrong["infcode"] == -1 and "未参加险种 insutype 310" in wrong["err_msg"]
    other = township.call("2504", {"data": {"trt_dcla_detl_sn": sn, "psn_no": "P1", "memo": "误报"}})
    assert other["infcode"] == -1 and "本机构没有人员 P1 的慢特病备案" in other["err_msg"]
    assert hospital.call("2504", {"data": {"trt_dcla_detl_sn": sn, "psn_no": "P1"}})["err_msg"] == "缺少必填字段 memo"
    hospital.ok("2504", {"data": {"trt_dcla_detl_sn": sn, "psn_no": "P1", "memo": "误报"}})
    again = hospital.call("2504", {"data": {"trt_dcla_detl_sn": sn, "psn_no": "P1", "memo": "误报"}})
    assert again["infcode"] == -1 and again["err_msg"] == f"慢特病备案 {sn} 已撤销"
    hospital.ok("2503", chronic(begndate="2020-06-01"))  # a new filing once the old one is withdrawn


def test_2505_2506_designated_filing(hospital):
    data = {"psn_no": "P1", "biz_appy_type": "03", "begndate": "2020-01-01", "fix_srt_no": "1",
            "fixmedins_code": "H51140200002", "fixmedins_name": "东坡区卫生院"}
    sn = hospital.ok("2505", {"data": data})["result"]["trt_dcla_detl_sn"]
    bad = hospital.call("2505", {"data": {**data, "biz_appy_type": "77"}})
    assert bad["infcode"] == -1 and bad["err_msg"] == "业务申请类型 biz_appy_type 77 不在代码表中"
    nowhere = hospital.call("2505", {"data": {**data, "fixmedins_code": "H00000000000"}})
    assert nowhere["infcode"] == -1 and "H00000000000 不存在" in nowhere["err_msg"]
    wrong_kind = hospital.call("2504", {"data": {"trt_dcla_detl_sn": sn, "psn_no": "P1", "memo": "x"}})
    assert wrong_kind["infcode"] == -1  # a 定点 filing is not withdrawn by 2504
    hospital.ok("2506", {"data": {"trt_dcla_detl_sn": sn, "psn_no": "P1", "memo": "迁居"}})


def review_input(medins_id=HOSPITAL):
    return {"data": {"trig_scen": "1", "patient_dtos": [{
        "patn_id": "P1", "patn_name": "张123", "gend": "1", "brdy": "1980-01-01", "poolarea": "511402", "curr_mdtrt_id": "M1",
        "fsi_encounter_dtos": [{"mdtrt_id": "M1", "medins_id": medins_id, "medins_name": "医院", "fsi_order_dtos": [
            {"rx_id": "R1", "hilist_code": "XA", "cnt": 1, "pric": 10, "sumamt": 10}]}]}]}}


def test_3101_3102_without_rules_say_so(hospital):
    for infno in ("3101", "3102"):
        out = hospital.ok(infno, review_input())
        assert out["result"] == [] and out["note"] == prereview.NO_RULES_NOTE
    missing = hospital.call("3101", {"data": {"patient_dtos": []}})
    assert missing["infcode"] == -1 and missing["err_msg"] == "data.patient_dtos 不能为空"
    spoof = hospital.call("3101", review_input("H51140200002"))
    assert spoof["infcode"] == -1 and "不是本机构" in spoof["err_msg"]


def test_3101_uses_a_registered_auditor(hospital):
    seen = []

    def auditor(scene, data, context):
        seen.append((scene, context.fixmedins_code, context.infno))
        return [{"jr_id": "J1", "rule_id": "R01", "rule_name": "测试规则", "vola_cont": "测试", "patn_id": "P1", "mdtrt_id": "M1",
                 "judge_result_detail_dtos": [], "vola_amt": Decimal("10.00"), "vola_amt_stas": "1", "sev_deg": "1",
                 "vola_evid": "", "vola_bhvr_type": "1"}]

    prereview.register("test", auditor)
    try:
        out = hospital.ok("3102", review_input())
    finally:
        prereview.unregister("test")
    assert seen == [("during", HOSPITAL, "3102")]
    assert out["result"][0]["rule_id"] == "R01" and out["result"][0]["vola_amt"] == Decimal("10.00") and "note" not in out
