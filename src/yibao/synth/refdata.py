"""The generator's own reference lists (shipped under ``yibao/synth/data``).

These are small hand-written lists: about 140 common principal diagnoses (ICD-10 医保版 2.0
style codes) with incidence weights by age and sex, typical length of stay and cost; drugs,
Chinese patent medicines, herbal pieces, service items and consumables with plausible Chinese
names and prices; surnames and given-name characters. Nothing here is copied from the national
code lists: the bureau's own lists can be passed with ``--codes DIR`` where needed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("yibao.synth").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _text(name: str) -> str:
    return resources.files("yibao.synth").joinpath("data").joinpath(name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Diseases:
    code: list[str]
    name: list[str]
    sex: np.ndarray  # 0 any, 1 male only, 2 female only
    age_min: np.ndarray
    age_max: np.ndarray
    profile: list[str]
    op_w: np.ndarray
    ip_w: np.ndarray
    los: np.ndarray
    cost: np.ndarray
    drug_grp: list[str]
    test_grp: list[str]
    dept: list[str]
    proc: list[list[str]]
    chronic: list[str]

    def __len__(self) -> int:
        return len(self.code)

    def index(self, code: str) -> int:
        return self.code.index(code)


@lru_cache(maxsize=1)
def diseases() -> Diseases:
    rows = _rows("diseases.csv")
    f = lambda k: np.array([float(r[k] or 0) for r in rows])
    return Diseases(
        code=[r["code"] for r in rows],
        name=[r["name"] for r in rows],
        sex=np.array([int(r["sex"] or 0) for r in rows], dtype=np.int8),
        age_min=f("age_min").astype(np.int16),
        age_max=f("age_max").astype(np.int16),
        profile=[r["profile"] for r in rows],
        op_w=f("op_w"),
        ip_w=f("ip_w"),
        los=f("los"),
        cost=f("cost"),
        drug_grp=[r["drug_grp"] for r in rows],
        test_grp=[r["test_grp"] for r in rows],
        dept=[r["dept"] for r in rows],
        proc=[[p for p in r["proc"].split("|") if p] for r in rows],
        chronic=[r["chronic"] for r in rows],
    )


def drugs() -> list[dict[str, str]]:
    return _rows("drugs.csv")


def tcm_patent() -> list[dict[str, str]]:
    return _rows("tcm_patent.csv")


def herbs() -> list[str]:
    return _text("herbs.txt").split()


def services() -> list[dict[str, str]]:
    return _rows("services.csv")


def consumables() -> list[dict[str, str]]:
    return _rows("consumables.csv")


@lru_cache(maxsize=1)
def names() -> dict[str, tuple[list[str], np.ndarray]]:
    out: dict[str, tuple[list[str], list[float]]] = {}
    for r in _rows("names.csv"):
        t, w = out.setdefault(r["kind"], ([], []))
        t.append(r["text"])
        w.append(float(r["weight"]))
    return {k: (t, np.array(w) / np.sum(w)) for k, (t, w) in out.items()}


# Secondary diagnoses -------------------------------------------------------------------------

# Complications that raise a DRG (MCC/CC in CHS-DRG 1.1) and the catalogue groups whose items are
# the trace a real complication leaves in the fees. A stay coding one of these as a secondary
# diagnosis with none of its evidence items billed is the DRG-upcoding pattern.
COMPLICATIONS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("J96.000", "急性呼吸衰竭", "MCC", ("evid_resp", "evid_resp2")),
    ("N17.900", "急性肾衰竭", "MCC", ("evid_renal", "evid_renal2")),
    ("R57.900", "休克", "MCC", ("evid_shock", "evid_shock2")),
    ("A41.900", "脓毒症", "MCC", ("evid_sepsis",)),
    ("I50.900", "心力衰竭", "MCC", ("evid_hf",)),
    ("E87.100", "低渗透性和低钠血症", "CC", ("evid_na",)),
    ("E87.200", "酸中毒", "CC", ("evid_acid",)),
]

# Chronic comorbidities coded as secondary diagnoses of persons who have them.
COMORBIDITIES: list[tuple[str, str]] = [
    ("I10.x00x002", "特发性（原发性）高血压"),
    ("E11.900", "2型糖尿病"),
    ("E78.500", "高脂血症"),
]

# External causes of injury (ICD-10 chapter XX). Accidental ones are ordinary; transport
# accidents and assault imply a liable third party.
EXTERNAL_ACCIDENTAL: list[tuple[str, str]] = [
    ("W01.x00", "在同一平面上滑倒、绊倒和摔倒"),
    ("W10.x00", "在楼梯或台阶上跌倒和跌落"),
    ("W18.x00", "在同一平面的其他跌倒"),
    ("W19.x00", "跌倒"),
]
EXTERNAL_THIRD_PARTY: list[tuple[str, str]] = [
    ("V89.200", "机动车辆事故中的人员损伤，交通性"),
    ("V03.x00", "行人在与小汽车、轻型货车或篷车碰撞中的损伤"),
    ("V23.x00", "骑摩托车人员在摩托车与小汽车、轻型货车或篷车碰撞中的损伤"),
    ("V49.900", "小汽车乘员在交通事故中的损伤"),
    ("Y04.x00", "用暴力进行加害"),
]
THIRD_PARTY_PREFIXES = ("V", "X85", "X86", "X87", "X88", "X89", "X9", "Y00", "Y01", "Y02",
                        "Y03", "Y04", "Y05", "Y06", "Y07", "Y08", "Y09")


# Procedures: ICD-9-CM-3 code → (name, surgery service group, consumable groups, anaesthesia)
PROCEDURES: dict[str, tuple[str, str, tuple[str, ...], str | None]] = {
    "47.0100": ("腹腔镜下阑尾切除术", "op_append", ("trocar", "clip", "suture_abs", "op_pack"), "ga"),
    "51.2300": ("腹腔镜下胆囊切除术", "op_chole", ("trocar", "clip", "suture_abs", "op_pack", "drain"), "ga"),
    "53.0200": ("腹股沟斜疝修补术", "op_hernia", ("mesh", "suture_abs", "op_pack"), "spinal"),
    "49.4600": ("痔切除术", "op_haem", ("suture_abs", "op_pack"), "spinal"),
    "45.4200": ("内镜下大肠息肉切除术", "polypectomy", ("snare", "biopsy_forceps"), None),
    "21.6900": ("鼻甲切除术", "op_sinus", ("op_pack",), "ga"),
    "28.2x00": ("扁桃体切除术", "op_tonsil", ("suture_abs", "op_pack"), "ga"),
    "36.0700": ("药物洗脱冠状动脉支架置入", "pci", ("stent", "balloon", "guidewire", "angio_cath"), "la"),
    "88.5600": ("冠状动脉造影术", "cag", ("angio_cath", "guidewire"), None),
    "38.5900": ("下肢静脉曲张结扎剥脱术", "op_varicose", ("suture_abs", "op_pack"), "spinal"),
    "06.3900": ("甲状腺部分切除术", "op_thyroid", ("suture_abs", "op_pack", "drain"), "ga"),
    "81.5400": ("全膝关节置换", "op_tkr", ("knee_prosthesis", "op_pack", "drain"), "spinal"),
    "81.5200": ("髋关节部分置换", "op_hip", ("hip_prosthesis", "op_pack", "drain"), "spinal"),
    "79.3500": ("股骨骨折切开复位内固定术", "op_orif_femur", ("plate", "screw", "op_pack"), "spinal"),
    "79.3600": ("胫腓骨骨折切开复位内固定术", "op_orif_tibia", ("plate", "screw", "op_pack"), "spinal"),
    "79.3200": ("桡尺骨骨折切开复位内固定术", "op_orif_radius", ("plate", "screw", "op_pack"), "la"),
    "80.5100": ("椎间盘切除术", "op_disc", ("op_pack", "suture_abs"), "ga"),
    "86.5900": ("皮肤和皮下组织闭合术", "suture", (), "la"),
    "86.0400": ("皮肤和皮下组织切开引流术", "op_abscess", ("dressing_pad",), "la"),
    "98.5100": ("体外冲击波碎石", "eswl", (), None),
    "56.0x00": ("经尿道输尿管梗阻去除", "op_ureter", ("ureteral_sheath", "dj_stent"), "spinal"),
    "60.2900": ("经尿道前列腺切除术", "op_turp", ("drain_bag",), "spinal"),
    "39.9500": ("血液透析", "evid_renal", ("dialyser", "dialysis_line"), None),
    "68.4900": ("腹式全子宫切除术", "op_hyster", ("suture_abs", "op_pack"), "ga"),
    "68.1200": ("宫腔镜检查", "op_hysteroscopy", ("uterine_tube",), "ga"),
    "65.2500": ("腹腔镜卵巢局部切除术", "op_ovary", ("trocar", "suture_abs", "op_pack"), "ga"),
    "73.5900": ("手法助产", "delivery", (), None),
    "74.1x00": ("低位子宫下段剖宫产", "op_csection", ("suture_abs", "op_pack"), "spinal"),
    "99.2500": ("注射或输注癌瘤化学治疗药物", "chemo_prep", (), None),
    "92.2400": ("光子远距离放射疗法", "radio", (), None),
    "43.7x00": ("胃部分切除术伴胃空肠吻合术", "op_gastrect", ("stapler", "trocar", "suture_abs", "op_pack", "drain"), "ga"),
    "85.4300": ("单侧扩大的单纯乳房切除术", "op_mastect", ("suture_abs", "op_pack", "drain"), "ga"),
    "13.4100": ("白内障晶状体乳化和抽吸", "op_cataract", ("iol",), "la"),
    "13.7100": ("眼内人工晶状体置入伴白内障摘出术", "", (), None),
    "78.6500": ("股骨置入装置去除", "op_removal", ("op_pack",), "spinal"),
}

# Laboratory and imaging pools by a disease's test group (service groups of services.csv).
TEST_POOLS: dict[str, tuple[str, ...]] = {
    "basic": ("cbc", "ua", "crp"),
    "resp": ("cbc", "crp", "xray_chest", "flu", "ct_chest", "sputum"),
    "gi": ("cbc", "stool", "hp", "gastroscopy", "us_abd", "amylase", "lft"),
    "cardio": ("ecg", "lipids", "echo", "cardiac_enz", "troponin", "holter", "abpm", "us_carotid", "rft", "lytes"),
    "dm": ("glucose", "rft", "lipids", "malb", "lft", "ogtt"),
    "renal": ("rft", "lytes", "ua", "us_uro", "uric", "cbc"),
    "liver": ("lft", "hbv", "hbv_dna", "us_abd", "tumour_mk", "coag"),
    "onc": ("tumour_mk", "ct_chest", "ct_abd", "ct_enh", "lft", "rft", "cbc", "mri_enh", "pathology", "petct"),
    "obst": ("cbc", "ua", "us_obst", "fetal_mon", "hcg", "blood_group", "antenatal"),
    "uro": ("ua", "us_uro", "rft", "psa", "us_prostate", "ct_abd"),
    "gyn": ("gyn_exam", "lab_gyn", "us_gyn", "tct", "hpv", "hormones"),
    "ortho": ("xray", "mri_spine", "mri_knee", "bmd", "lab_rheum", "uric"),
    "trauma": ("xray", "ct_head", "cbc"),
    "neuro": ("ct_head", "mri", "eeg", "us_carotid", "lipids", "coag"),
    "eye": ("eye_exam", "eye_exam2", "eye_exam3", "eye_exam4"),
    "thyroid": ("thyroid_fn", "us_thyroid", "cbc"),
    "ped": ("cbc", "crp", "nb_bili", "child_check", "child_dev"),
    "surg": ("cbc", "coag", "blood_group", "pre_tx", "ecg", "us_abd", "xray_chest", "lft", "rft"),
}
ADMISSION_TESTS = ("cbc", "ua", "lft", "rft", "lytes", "coag", "ecg")
