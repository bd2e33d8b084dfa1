"""A hospital's day through the interface, on SQLite and PostgreSQL."""

from decimal import Decimal

from sqlalchemy import func, select

from yibao.storage import schema as s


def admit_and_upload(hospital, psn_no="P1", lines=(("XA", 100, 80), ("XB", 50, 40), ("XC", 500, 1))):
    mdtrt_id = hospital.admit(psn_no=psn_no, insutype="390", med_type="21", begntime="2020-03-01 08:00:00")
    out = hospital.ok("2301", {"feedetail": hospital.fee_lines(mdtrt_id, psn_no, list(lines))})
    return mdtrt_id, out["result"]


def test_full_inpatient_day(hospital, world):
    sign = hospital.ok("9001", {"signIn": {"opter_no": "0001", "mac": "00-00", "ip": "127.0.0.1"}})
    assert sign["signinoutb"]["sign_no"]
    person = hospital.ok("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "", "psn_cert_type": "01",
                                          "certno": "511402198001011230", "psn_name": "张123"}})
    assert person["baseinfo"]["psn_no"] == "P1"
    assert person["insuinfo"][0]["insutype"] == "390"
    mdtrt_id, result = admit_and_upload(hospital)
    assert [r["inscp_scp_amt"] for r in result] == [Decimal("8000.00"), Decimal("1800.00"), Decimal("0.00")]
    assert result[1]["preselfpay_amt"] == Decimal("200.00")
    data = hospital.settle_data(mdtrt_id, "P1", "390", "10500.00")
    pre = hospital.ok("2303", {"data": data})
    assert pre["setlinfo"]["hifp_pay"] == Decimal("5941.00")
    assert "setl_id" not in pre["setlinfo"]
    setl = hospital.ok("2304", {"data": data})
    info = setl["setlinfo"]
    assert info["hifp_pay"] == Decimal("5941.00") and info["setl_id"]
    assert info["fund_pay_sumamt"] + info["psn_part_amt"] == info["medfee_sumamt"]
    assert setl["setldetail"][0]["fund_pay_type"] == "390100"
    totals = hospital.ok("3201", {"data": {
        "insutype": "390", "clr_type": "21", "setl_optins": "511402", "stmt_begndate": "2020-03-10",
        "stmt_enddate": "2020-03-10", "medfee_sumamt": "10500.00", "fund_pay_sumamt": "5941.00", "acct_pay": "0",
        "fixmedins_setl_cnt": "1", "fixmedins_refd_setl_flag": "0"}})
    assert totals["stmtinfo"]["stmt_rslt"] == "0"
    rev = hospital.ok("2305", {"data": {"mdtrt_id": mdtrt_id, "setl_id": info["setl_id"], "psn_no": "P1"}})
    assert rev["setlinfo"]["hifp_pay"] == Decimal("-5941.00")
    unbalanced = hospital.ok("3201", {"data": {
        "insutype": "390", "clr_type": "21", "setl_optins": "511402", "stmt_begndate": "2020-03-10",
        "stmt_enddate": "2020-03-10", "medfee_sumamt": "10500.00", "fund_pay_sumamt": "5941.00", "acct_pay": "0",
        "fixmedins_setl_cnt": "1", "fixmedins_refd_setl_flag": "0"}})
    assert unbalanced["stmtinfo"]["stmt_rslt"] == "1"  # the reversal is counted too
    hospital.ok("9002", {"signOut": {"sign_no": sign["signinoutb"]["sign_no"], "opter_no": "0001"}})


def test_full_outpatient_day(township):
    mdtrt_id = township.register(psn_no="P1", insutype="390", begntime="2020-03-10 08:00:00", dise_codg="J06.900")
    township.ok("2204", {"feedetail": township.fee_lines(mdtrt_id, "P1", [("XA", 20, 5), ("XC", 10, 1)])})
    data = township.settle_data(mdtrt_id, "P1", "390", "110.00")
    pre = township.ok("2206", {"data": data})["setlinfo"]
    assert pre["hifp_pay"] == Decimal("50.00")  # 100 × 50%, no deductible at a township centre
    for key in ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt"):
        data[key] = str(pre[key])
    done = township.ok("2207", {"data": data})["setlinfo"]
    assert done["hifp_pay"] == Decimal("50.00") and done["psn_part_amt"] == Decimal("60.00")
    rev = township.ok("2208", {"data": {"mdtrt_id": mdtrt_id, "setl_id": done["setl_id"], "psn_no": "P1"}})
    assert rev["setlinfo"]["fund_pay_sumamt"] == Decimal("-50.00")


def test_outpatient_declared_amounts_must_match(township):
    mdtrt_id = township.register(psn_no="P1", insutype="390", begntime="2020-03-10 08:00:00")
    township.ok("2204", {"feedetail": township.fee_lines(mdtrt_id, "P1", [("XA", 20, 5)])})
    data = township.settle_data(mdtrt_id, "P1", "390", "100.00")
    data.update(fulamt_ownpay_amt="0", overlmt_selfpay="0", preselfpay_amt="0", inscp_scp_amt="90.00")
    answer = township.call("2207", {"data": data})
    assert answer["infcode"] == -1 and "inscp_scp_amt" in answer["err_msg"]


def test_second_admission_in_the_year_uses_the_reduced_deductible(hospital):
    for expected in ("5941.00", "6155.50"):
        mdtrt_id, _ = admit_and_upload(hospital, lines=(("XA", 100, 98),))
        out = hospital.ok("2304", {"data": hospital.settle_data(mdtrt_id, "P1", "390", "9800.00")})
        assert out["setlinfo"]["hifp_pay"] == Decimal(expected)


def test_assistance_group_gets_assistance(hospital):
    mdtrt_id, _ = admit_and_upload(hospital, psn_no="P2")
    out = hospital.ok("2304", {"data": hospital.settle_data(mdtrt_id, "P2", "390", "10500.00")})
    assert out["setlinfo"]["maf_pay"] == Decimal("3280.15")


def test_settlement_counts(world, hospital):
    mdtrt_id, _ = admit_and_upload(hospital)
    hospital.ok("2304", {"data": hospital.settle_data(mdtrt_id, "P1", "390", "10500.00")})
    with world.connect() as conn:
        assert conn.execute(select(func.count()).select_from(s.settlements)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(s.settlement_funds)).scalar() >= 1
        assert conn.execute(select(s.fee_lines.c.status).distinct()).scalars().all() == ["settled"]
