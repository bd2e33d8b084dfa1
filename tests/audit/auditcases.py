"""One hand-made situation per rule type: a hit, and a near miss that must find nothing.

``CASES[rule_id](ds, hit)`` fills ``ds`` (codes prefixed so that all cases can be merged into one
data set) and returns the expected findings as ``{subject: amount in fen}`` (empty for a near miss).
"""

from __future__ import annotations

from auditdata import Dataset


def _gender(ds: Dataset, hit: bool):
    ds.inst("GEN-H", "level2")
    ds.person("GEN-P", gend="2" if hit else "1")
    ds.item("GEN-PSA", "前列腺特异性抗原测定")
    ds.knowledge("kb_gender", {"med_list_codg": "GEN-PSA", "med_list_name": "PSA", "gend": "1"})
    ds.enc("GEN-E1", "GEN-P", "GEN-H")
    ds.line("GEN-E1", 1, "GEN-PSA", pric="50")
    return {"line:GEN-E1:1": 5000} if hit else {}


def _age(ds: Dataset, hit: bool):
    ds.inst("AGE-H")
    # 18 on the very day of the visit is allowed; 13 is not
    ds.person("AGE-P", brdy="2010-06-01" if hit else "2006-03-01")
    ds.item("AGE-LEVO", "左氧氟沙星片", chrg="09", list_type="101")
    ds.knowledge("kb_age", {"med_list_codg": "AGE-LEVO", "med_list_name": "左氧氟沙星", "min_age": 18, "max_age": None})
    ds.enc("AGE-E1", "AGE-P", "AGE-H", begin="2024-03-01 10:00:00")
    ds.line("AGE-E1", 1, "AGE-LEVO", pric="12.5", cnt="2")
    return {"line:AGE-E1:1": 2500} if hit else {}


def _level(ds: Dataset, hit: bool):
    ds.inst("LVL-H", "level1" if hit else "level2")
    ds.person("LVL-P")
    ds.item("LVL-MRI", "磁共振平扫", chrg="03")
    ds.knowledge("kb_level", {"med_list_codg": "LVL-MRI", "med_list_name": "磁共振", "min_medins_lv": "level2",
                              "min_lv_rank": 4})
    ds.enc("LVL-E1", "LVL-P", "LVL-H")
    ds.line("LVL-E1", 1, "LVL-MRI", pric="400")
    return {"line:LVL-E1:1": 40000} if hit else {}


def _med_type(ds: Dataset, hit: bool):
    ds.inst("MTY-H")
    ds.person("MTY-P")
    ds.item("MTY-BED", "床位费", chrg="01")
    ds.knowledge("kb_med_type", {"med_list_codg": "MTY-BED", "med_list_name": "床位费", "med_types": "21"})
    ds.enc("MTY-E1", "MTY-P", "MTY-H", med_type="11" if hit else "21", begin="2024-03-01 09:00:00",
           end="2024-03-01 18:00:00" if hit else "2024-03-02 10:00:00")
    ds.line("MTY-E1", 1, "MTY-BED", pric="30")
    return {"line:MTY-E1:1": 3000} if hit else {}


def _insutype(ds: Dataset, hit: bool):
    ds.inst("INS-H")
    ds.person("INS-P", brdy="2024-01-10")
    ds.item("INS-NBN", "新生儿护理", chrg="07")
    ds.knowledge("kb_insutype", {"med_list_codg": "INS-NBN", "med_list_name": "新生儿护理", "insutypes": "390"})
    ds.enc("INS-E1", "INS-P", "INS-H", med_type="21", begin="2024-02-01", end="2024-02-03",
           insutype="310" if hit else "390")
    ds.line("INS-E1", 1, "INS-NBN", pric="20", cnt="2")
    return {"line:INS-E1:1": 4000} if hit else {}


def _department(ds: Dataset, hit: bool):
    ds.inst("DEP-H", "level3")
    ds.person("DEP-P")
    ds.item("DEP-CHEMO", "化疗药物配置", chrg="05")
    ds.knowledge("kb_department", {"med_list_codg": "DEP-CHEMO", "med_list_name": "化疗药物配置", "dept_prefix": "A19"})
    ds.enc("DEP-E1", "DEP-P", "DEP-H", med_type="21", begin="2024-04-01", end="2024-04-05", dept="A19")
    # the billing department decides: a respiratory ward billing chemotherapy preparation is out of its specialty
    ds.line("DEP-E1", 1, "DEP-CHEMO", pric="45", dept="A03.01" if hit else "A19.02")
    return {"line:DEP-E1:1": 4500} if hit else {}


def _indication(ds: Dataset, hit: bool):
    ds.inst("IND-H")
    ds.person("IND-P")
    ds.item("IND-CLOP", "氯吡格雷片", chrg="09", list_type="101", lmt="1")
    ds.knowledge("kb_indication", {"med_list_codg": "IND-CLOP", "med_list_name": "氯吡格雷", "icd10_prefix": "I20"},
                 {"med_list_codg": "IND-CLOP", "med_list_name": "氯吡格雷", "icd10_prefix": "I63"})
    ds.enc("IND-E1", "IND-P", "IND-H", dx=["J18.900", "E11.900"] if hit else ["J18.900", "I63.900"])
    ds.line("IND-E1", 1, "IND-CLOP", pric="3.2", cnt="7")
    return {"line:IND-E1:1": 2240} if hit else {}


def _freq_day(ds: Dataset, hit: bool):
    ds.inst("FQD-H")
    ds.person("FQD-P")
    ds.item("FQD-BED", "床位费", chrg="01")
    ds.knowledge("kb_frequency", {"med_list_codg": "FQD-BED", "med_list_name": "床位费", "max_per_day": 1,
                                  "max_per_visit": None, "max_per_year": None})
    ds.enc("FQD-E1", "FQD-P", "FQD-H", med_type="21", begin="2024-03-01 09:00:00", end="2024-03-03 10:00:00")
    ds.line("FQD-E1", 1, "FQD-BED", pric="30", at="2024-03-01 10:00:00")
    ds.line("FQD-E1", 2, "FQD-BED", pric="30", at="2024-03-01 20:00:00" if hit else "2024-03-02 10:00:00")
    return {"line:FQD-E1:2": 3000} if hit else {}


def _freq_visit(ds: Dataset, hit: bool):
    ds.inst("FQV-H", "township")
    ds.person("FQV-P")
    ds.item("FQV-GP", "一般诊疗费", chrg="12")
    ds.knowledge("kb_frequency", {"med_list_codg": "FQV-GP", "med_list_name": "一般诊疗费", "max_per_day": None,
                                  "max_per_visit": 1, "max_per_year": None})
    ds.enc("FQV-E1", "FQV-P", "FQV-H")
    ds.line("FQV-E1", 1, "FQV-GP", pric="10", at="2024-03-01 09:00:00")
    if hit:
        ds.line("FQV-E1", 2, "FQV-GP", pric="10", at="2024-03-01 09:05:00")
        return {"line:FQV-E1:2": 1000}
    # refunded and billed again: never more than one at a time
    ds.line("FQV-E1", 2, "FQV-GP", pric="10", cnt="-1", at="2024-03-01 09:05:00")
    ds.line("FQV-E1", 3, "FQV-GP", pric="10", at="2024-03-01 09:10:00")
    return {}


def _course(ds: Dataset, hit: bool):
    ds.inst("CRS-H")
    ds.person("CRS-P")
    ds.item("CRS-NEB", "雾化吸入", chrg="05")
    ds.knowledge("kb_course", {"med_list_codg": "CRS-NEB", "med_list_name": "雾化吸入", "max_days": 3})
    ds.enc("CRS-E1", "CRS-P", "CRS-H", med_type="21", begin="2024-03-01", end="2024-03-08")
    for sn, day in enumerate(["01", "02", "02", "03"] + (["05"] if hit else []), start=1):
        ds.line("CRS-E1", sn, "CRS-NEB", pric="8", at=f"2024-03-{day} 10:{sn:02d}:00")
    return {"line:CRS-E1:5": 800} if hit else {}


def _price(ds: Dataset, hit: bool):
    ds.inst("PRC-H")
    ds.person("PRC-P")
    ds.item("PRC-INJ", "注射液", chrg="09", list_type="101", ceiling="30")
    ds.knowledge("kb_price", {"med_list_codg": "PRC-INJ", "med_list_name": "注射液", "pric_uplmt_amt": "30"})
    ds.enc("PRC-E1", "PRC-P", "PRC-H")
    if hit:
        ds.line("PRC-E1", 1, "PRC-INJ", pric="35", cnt="2")  # (35 - 30) x 2 = 10.00
        ds.line("PRC-E1", 2, "PRC-INJ", pric="30.005", cnt="3")  # 0.015 yuan = 1.5 fen -> 2 fen, half up
        return {"line:PRC-E1:1": 1000, "line:PRC-E1:2": 2}
    ds.line("PRC-E1", 1, "PRC-INJ", pric="30", cnt="2")
    return {}


def _duplicate(ds: Dataset, hit: bool):
    ds.inst("DUP-H")
    ds.person("DUP-P")
    ds.item("DUP-CBC", "血细胞分析", chrg="04")
    ds.enc("DUP-E1", "DUP-P", "DUP-H")
    ds.line("DUP-E1", 1, "DUP-CBC", pric="20", at="2024-03-01 09:30:00")
    ds.line("DUP-E1", 2, "DUP-CBC", pric="20", at="2024-03-01 09:30:00" if hit else "2024-03-01 15:30:00")
    return {"line:DUP-E1:2": 2000} if hit else {}


def _exclusive(ds: Dataset, hit: bool):
    ds.inst("EXC-H")
    ds.person("EXC-P")
    for code, name, chrg in (("EXC-GPF", "一般诊疗费", "12"), ("EXC-OPC", "门诊诊查费", "02"),
                             ("EXC-N1", "一级护理", "07"), ("EXC-N2", "二级护理", "07")):
        ds.item(code, name, chrg=chrg)
    ds.knowledge("kb_exclusive",
                 {"med_list_codg_a": "EXC-GPF", "med_list_name_a": "一般诊疗费", "med_list_codg_b": "EXC-OPC",
                  "med_list_name_b": "门诊诊查费", "scope": "encounter"},
                 {"med_list_codg_a": "EXC-N1", "med_list_name_a": "一级护理", "med_list_codg_b": "EXC-N2",
                  "med_list_name_b": "二级护理", "scope": "day"})
    ds.enc("EXC-E1", "EXC-P", "EXC-H")
    ds.enc("EXC-E2", "EXC-P", "EXC-H", med_type="21", begin="2024-04-01 09:00:00", end="2024-04-04 09:00:00")
    ds.line("EXC-E2", 1, "EXC-N1", pric="25", at="2024-04-01 10:00:00")
    if hit:
        ds.line("EXC-E1", 1, "EXC-GPF", pric="10")
        ds.line("EXC-E1", 2, "EXC-OPC", pric="6")
        ds.line("EXC-E2", 2, "EXC-N2", pric="15", at="2024-04-01 11:00:00")
        return {"line:EXC-E1:2": 600, "line:EXC-E2:2": 1500}
    ds.line("EXC-E1", 2, "EXC-OPC", pric="6")  # no 一般诊疗费 in this visit
    ds.line("EXC-E2", 2, "EXC-N2", pric="15", at="2024-04-02 11:00:00")  # another day: a change of nursing level
    return {}


def _included(ds: Dataset, hit: bool):
    ds.inst("INC-H")
    ds.person("INC-P")
    ds.item("INC-IM", "肌肉注射", chrg="05")
    ds.item("INC-SYR", "一次性注射器", chrg="08", list_type="301")
    ds.knowledge("kb_included", {"med_list_codg": "INC-IM", "med_list_name": "肌肉注射",
                                 "included_med_list_codg": "INC-SYR", "included_med_list_name": "一次性注射器"})
    ds.enc("INC-E1", "INC-P", "INC-H")
    ds.enc("INC-E2", "INC-P", "INC-H", begin="2024-03-05 09:00:00")
    ds.line("INC-E1", 1, "INC-SYR", pric="0.5", cnt="2")
    ds.line("INC-E1" if hit else "INC-E2", 2, "INC-IM", pric="3")
    return {"line:INC-E1:1": 100} if hit else {}


def _related(ds: Dataset, hit: bool):
    ds.inst("REL-H", "township")
    ds.person("REL-P")
    ds.item("REL-IVF", "静脉输液费", chrg="05")
    ds.item("REL-NS", "氯化钠注射液", chrg="09", list_type="101")
    ds.item("REL-GS", "葡萄糖注射液", chrg="09", list_type="101")
    ds.knowledge("kb_related",
                 {"med_list_codg": "REL-IVF", "med_list_name": "静脉输液费", "related_med_list_codg": "REL-NS",
                  "related_med_list_name": "氯化钠注射液"},
                 {"med_list_codg": "REL-IVF", "med_list_name": "静脉输液费", "related_med_list_codg": "REL-GS",
                  "related_med_list_name": "葡萄糖注射液"})
    ds.enc("REL-E1", "REL-P", "REL-H")
    ds.line("REL-E1", 1, "REL-IVF", pric="5")
    if not hit:
        ds.line("REL-E1", 2, "REL-GS", pric="2.1")
    return {"line:REL-E1:1": 500} if hit else {}


def _bed_days(ds: Dataset, hit: bool):
    ds.inst("BED-H")
    ds.person("BED-P")
    ds.item("BED-BED", "床位费", chrg="01")
    ds.enc("BED-E1", "BED-P", "BED-H", med_type="21", begin="2024-03-01 09:00:00", end="2024-03-04 10:00:00")
    days = ["01", "02", "03"] + (["04"] if hit else [])
    for sn, day in enumerate(days, start=1):
        ds.line("BED-E1", sn, "BED-BED", pric="30", at=f"2024-03-{day} 08:00:00")
    return {"enc:BED-E1": 3000} if hit else {}


def _split(ds: Dataset, hit: bool):
    ds.inst("SPL-H")
    ds.person("SPL-P")
    ds.item("SPL-DRUG", "头孢呋辛注射液", chrg="09", list_type="101")
    ds.enc("SPL-E1", "SPL-P", "SPL-H", med_type="21", begin="2024-03-01 09:00:00", end="2024-03-10 10:00:00",
           dx=["J18.900"])
    ds.line("SPL-E1", 1, "SPL-DRUG", pric="100")
    second = "2024-03-20 09:00:00" if hit else "2024-03-26 09:00:00"  # 10 days after (hit) or 16 (near miss)
    ds.enc("SPL-E2", "SPL-P", "SPL-H", med_type="21", begin=second, end="2024-03-30 10:00:00", dx=["J18.100"])
    ds.line("SPL-E2", 1, "SPL-DRUG", pric="100", cnt="3")
    ds.line("SPL-E2", 2, "SPL-DRUG", pric="100", cnt="-1")
    return {"enc:SPL-E2": 20000} if hit else {}


def _phantom(ds: Dataset, hit: bool):
    ds.inst("PHS-H")
    ds.person("PHS-P")
    ds.item("PHS-BED", "床位费", chrg="01")
    ds.item("PHS-NUR", "二级护理", chrg="07")
    ds.item("PHS-DRUG", "阿莫西林胶囊", chrg="09", list_type="101")
    ds.item("PHS-TEST", "血常规", chrg="04")
    ds.enc("PHS-E1", "PHS-P", "PHS-H", med_type="21", begin="2024-03-01 09:00:00", end="2024-03-08 10:00:00")
    sn = 0
    for day in range(1, 8):
        at = f"2024-03-{day:02d} 08:00:00"
        for code, pric in (("PHS-BED", "30"), ("PHS-NUR", "20")):
            sn += 1
            ds.line("PHS-E1", sn, code, pric=pric, at=at)
        if day in (1, 5, 6, 7) or (not hit and day == 3):
            sn += 1
            ds.line("PHS-E1", sn, "PHS-TEST" if day == 3 else "PHS-DRUG", pric="12", at=at)
    return {"enc:PHS-E1": 15000} if hit else {}  # days 2, 3, 4: 3 x (30 + 20)


def _overlong(ds: Dataset, hit: bool):
    ds.inst("OVL-H")
    ds.person("OVL-P")
    ds.item("OVL-BED", "床位费", chrg="01")
    end = "2024-03-05 10:00:00" if hit else "2024-03-01 10:00:00"  # 64 days or exactly 60
    ds.enc("OVL-E1", "OVL-P", "OVL-H", med_type="21", begin="2024-01-01 09:00:00", end=end)
    ds.line("OVL-E1", 1, "OVL-BED", pric="30", at="2024-02-29 08:00:00")  # day 60
    ds.line("OVL-E1", 2, "OVL-BED", pric="30", at="2024-03-01 08:00:00")  # day 61
    if hit:
        ds.line("OVL-E1", 3, "OVL-BED", pric="30", cnt="3", at="2024-03-04 08:00:00")
        return {"enc:OVL-E1": 12000}
    return {}


def _low_standard(ds: Dataset, hit: bool):
    ds.inst("LOW-H")
    ds.person("LOW-P")
    ds.item("LOW-CT", "CT平扫", chrg="03")
    ds.item("LOW-DRUG", "维生素C片", chrg="09", list_type="101")
    ds.enc("LOW-E1", "LOW-P", "LOW-H", med_type="21", begin="2024-03-01 09:00:00", end="2024-03-02 10:00:00",
           procedures=[] if hit else ["88.3800"])
    ds.line("LOW-E1", 1, "LOW-CT", pric="80")
    ds.line("LOW-E1", 2, "LOW-DRUG", pric="20")
    return {"enc:LOW-E1": 10000} if hit else {}


def _upcoding(ds: Dataset, hit: bool):
    ds.inst("UPC-H", "level3")
    ds.person("UPC-P")
    ds.item("UPC-SURG", "阑尾切除术", chrg="06")
    ds.item("UPC-BGA", "血气分析", chrg="04")
    ds.knowledge("kb_dx_evidence",
                 {"diag_code": "J96.000", "diag_name": "急性呼吸衰竭", "cc_level": "MCC", "med_list_codg": "UPC-BGA",
                  "med_list_name": "血气分析"},
                 {"diag_code": "J96.000", "diag_name": "急性呼吸衰竭", "cc_level": "MCC", "med_list_codg": "UPC-NIV",
                  "med_list_name": "无创辅助通气"})
    ds.enc("UPC-E1", "UPC-P", "UPC-H", med_type="21", begin="2024-05-01", end="2024-05-09", dx=["K35.800", "J96.000"])
    ds.line("UPC-E1", 1, "UPC-SURG", pric="1000.03")
    if not hit:
        ds.line("UPC-E1", 2, "UPC-BGA", pric="60")
    return {"enc:UPC-E1": 25000} if hit else {}  # floor(100003 x 0.25) = 25000 fen


def _over_testing(ds: Dataset, hit: bool):
    ds.inst("HBA-H")
    ds.person("HBA-P")
    ds.item("HBA-HBA", "糖化血红蛋白测定", chrg="04")
    ds.knowledge("kb_frequency", {"med_list_codg": "HBA-HBA", "med_list_name": "糖化血红蛋白测定", "max_per_day": None,
                                  "max_per_visit": None, "max_per_year": 4})
    dates = ["2024-01-10", "2024-03-10", "2024-05-10", "2024-07-10", "2024-09-10"] if hit else \
        ["2023-12-30", "2024-03-10", "2024-05-10", "2024-07-10", "2024-09-10"]
    for i, day in enumerate(dates, start=1):
        ds.enc(f"HBA-E{i}", "HBA-P", "HBA-H", begin=f"{day} 09:00:00")
        ds.line(f"HBA-E{i}", 1, "HBA-HBA", pric="40")
    return {"line:HBA-E5:1": 4000} if hit else {}


def _after_death(ds: Dataset, hit: bool):
    ds.inst("DTH-H")
    ds.person("DTH-P", death="2024-03-01")
    ds.item("DTH-GP", "一般诊疗费", chrg="12")
    ds.enc("DTH-E1", "DTH-P", "DTH-H", begin="2024-03-05 09:00:00" if hit else "2024-03-01 08:00:00")
    ds.line("DTH-E1", 1, "DTH-GP", pric="10")
    return {"enc:DTH-E1": 1000} if hit else {}


def _outside(ds: Dataset, hit: bool):
    ds.inst("CVG-H")
    ds.person("CVG-P", insu_from="2024-02-01", move_out="2024-06-01")
    ds.item("CVG-GP", "一般诊疗费", chrg="12")
    ds.enc("CVG-E1", "CVG-P", "CVG-H", begin="2024-01-20 09:00:00" if hit else "2024-02-01 09:00:00")
    ds.enc("CVG-E2", "CVG-P", "CVG-H", begin="2024-06-01 09:00:00" if hit else "2024-05-31 09:00:00")
    ds.line("CVG-E1", 1, "CVG-GP", pric="10")
    ds.line("CVG-E2", 1, "CVG-GP", pric="12")
    return {"enc:CVG-E1": 1000, "enc:CVG-E2": 1200} if hit else {}


def _two_places(ds: Dataset, hit: bool):
    ds.inst("TWO-H1", "level3")
    ds.inst("TWO-H2", "township")
    ds.person("TWO-P")
    ds.item("TWO-GP", "一般诊疗费", chrg="12")
    ds.enc("TWO-S", "TWO-P", "TWO-H1", med_type="21", begin="2024-03-01 09:00:00", end="2024-03-10 10:00:00")
    ds.line("TWO-S", 1, "TWO-GP", pric="10")
    ds.enc("TWO-O", "TWO-P", "TWO-H2", begin="2024-03-05 15:00:00" if hit else "2024-03-10 15:00:00")
    ds.line("TWO-O", 1, "TWO-GP", pric="10")
    return {"enc:TWO-O": 1000} if hit else {}


def _same_site(ds: Dataset, hit: bool):
    ds.inst("ODS-H", "level2")
    ds.person("ODS-P")
    ds.item("ODS-REG", "挂号费", chrg="13")
    ds.enc("ODS-S", "ODS-P", "ODS-H", med_type="21", begin="2024-03-01 09:00:00", end="2024-03-10 10:00:00")
    ds.line("ODS-S", 1, "ODS-REG", pric="1")
    ds.enc("ODS-O", "ODS-P", "ODS-H", begin="2024-03-05 15:00:00" if hit else "2024-03-01 08:00:00")
    ds.line("ODS-O", 1, "ODS-REG", pric="6")
    return {"enc:ODS-O": 600} if hit else {}


def _overlap(ds: Dataset, hit: bool):
    ds.inst("OLP-H1")
    ds.inst("OLP-H2")
    ds.person("OLP-P")
    ds.item("OLP-BED", "床位费", chrg="01")
    ds.enc("OLP-A", "OLP-P", "OLP-H1", med_type="21", begin="2024-03-01 09:00:00", end="2024-03-10 10:00:00")
    ds.enc("OLP-B", "OLP-P", "OLP-H2", med_type="21", begin="2024-03-05 09:00:00" if hit else "2024-03-10 14:00:00",
           end="2024-03-15 10:00:00")
    ds.line("OLP-A", 1, "OLP-BED", pric="30")
    ds.line("OLP-B", 1, "OLP-BED", pric="40")
    return {"enc:OLP-B": 4000} if hit else {}


def _third_party(ds: Dataset, hit: bool):
    ds.inst("TPI-H")
    ds.person("TPI-P")
    ds.item("TPI-X", "X线摄影", chrg="03")
    ds.enc("TPI-E1", "TPI-P", "TPI-H", dx=["S52.500", "V43.500" if hit else "W01.x00"], third_party="0")
    ds.enc("TPI-E2", "TPI-P", "TPI-H", begin="2024-04-01 09:00:00", dx=["S82.200", "W01.x00"],
           third_party="1" if hit else "0")
    ds.line("TPI-E1", 1, "TPI-X", pric="60")
    ds.line("TPI-E2", 1, "TPI-X", pric="70")
    return {"enc:TPI-E1": 6000, "enc:TPI-E2": 7000} if hit else {}


def _trace(ds: Dataset, hit: bool):
    ds.inst("TRC-PH", None)  # a pharmacy
    ds.person("TRC-P1")
    ds.person("TRC-P2")
    ds.item("TRC-D", "阿托伐他汀钙片", chrg="09", list_type="101")
    ds.enc("TRC-E1", "TRC-P1", "TRC-PH", med_type="41", begin="2024-03-01 10:00:00", dept="D72")
    ds.line("TRC-E1", 1, "TRC-D", pric="12.345", cnt="2", trace="81000000000000000001,81000000000000000002")
    ds.enc("TRC-E2", "TRC-P2", "TRC-PH", med_type="41", begin="2024-03-05 10:00:00", dept="D72")
    ds.line("TRC-E2", 1, "TRC-D", pric="12.345", trace="81000000000000000002" if hit else "81000000000000000003")
    return {"line:TRC-E2:1": 1235} if hit else {}  # one box, 12.345 yuan -> 12.35 (half up)


def _stock(ds: Dataset, hit: bool):
    import datetime as dt
    from decimal import Decimal

    ds.inst("STK-PH", None)
    for i, (day, cnt, pric) in enumerate([("2024-02-01", "4", "5"), ("2024-06-01", "6", "6")]):
        ds.sales.append(dict(fixmedins_code="STK-PH", med_list_codg="STK-D", sel_time=dt.datetime.fromisoformat(f"{day} 10:00:00"),
                             cnt=Decimal(cnt), pric=Decimal(pric)))
    ds.purchases.append(dict(fixmedins_code="STK-PH", med_list_codg="STK-D", purc_date=dt.date(2024, 1, 1),
                             purc_cnt=Decimal("7" if hit else "10")))
    return {"stock:STK-PH:STK-D:2024": 1800} if hit else {}  # 3 boxes short x 6 yuan (highest sale price)


def _provider(ds: Dataset, hit: bool, measure: str):
    tag = "PCO" if measure == "cost" else "PIO"
    ds.item(f"{tag}-X", "检查", chrg="04")
    means = [1000, 1020, 1040, 1060, 1080] if measure == "cost" else [4, 4, 5, 5, 6]
    outlier = (5000 if hit else 1150) if measure == "cost" else (20 if hit else 7)
    for h, mean in enumerate(means + [outlier]):
        inst = ds.inst(f"{tag}-H{h}", "level2")
        for k in range(5):
            psn = ds.person(f"{tag}-P{h}-{k}")
            m = ds.enc(f"{tag}-E{h}-{k}", psn, inst, med_type="21", begin=f"2024-0{k + 1}-01 09:00:00",
                       end=f"2024-0{k + 1}-05 09:00:00", dx=["J18.900" if measure == "cost" else "I10.x00"])
            if measure == "cost":
                ds.line(m, 1, f"{tag}-X", pric=str(mean))
            else:
                for sn in range(1, mean + 1):
                    ds.line(m, sn, f"{tag}-X", pric="1")
    if not hit:
        return {}
    subject = f"provider:{tag}-H5:{'J18' if measure == 'cost' else 'I10'}:2024"
    return {subject: 1975000 if measure == "cost" else 0}  # 5 x 5000 - 5 x 1050 yuan


CASES = {
    "QY-XB-001": _gender, "QY-NL-001": _age, "QY-JB-001": _level, "QY-JY-001": _med_type, "QY-XZ-001": _insutype,
    "QY-ZK-001": _department, "QY-SY-001": _indication, "QY-PC-001": _freq_day, "QY-SL-001": _freq_visit,
    "QY-LC-001": _course, "QY-XJ-001": _price, "QY-CF-001": _duplicate, "QY-HC-001": _exclusive,
    "QY-NH-001": _included, "QY-GL-001": _related, "QY-CR-001": _bed_days, "QY-FJ-001": _split,
    "QY-GC-001": _phantom, "QY-CC-001": _overlong, "QY-DB-001": _low_standard, "QY-GT-001": _upcoding,
    "QY-JC-001": _over_testing, "QY-SW-001": _after_death, "QY-CB-001": _outside, "QY-DD-001": _two_places,
    "QY-ZM-001": _same_site, "QY-CD-001": _overlap, "QY-DS-001": _third_party, "QY-ZS-001": _trace,
    "QY-JX-001": _stock, "QY-TJ-001": lambda ds, hit: _provider(ds, hit, "cost"),
    "QY-TJ-002": lambda ds, hit: _provider(ds, hit, "lines"),
}


def build(rule_id: str, hit: bool) -> tuple[Dataset, dict[str, int]]:
    ds = Dataset()
    expected = CASES[rule_id](ds, hit)
    return ds, expected
