"""Institution levels: the words policies use and the national ``hosp_lv`` codes.

Policies speak of level3 / level2 / level1 / township (乡镇卫生院, 社区卫生服务中心). Files and
interfaces may carry the national hosp_lv code instead: 1–4 and 12 → level3, 5–7 and 13 →
level2, 8–10 and 14 → level1; 11 (无等级) cannot be placed on a tier and is refused.
"""

from __future__ import annotations

LEVEL_WORDS = ("level3", "level2", "level1", "township", "village", "pharmacy")
HOSP_LV_TO_LEVEL = {
    **{c: "level3" for c in ("1", "2", "3", "4", "12")},
    **{c: "level2" for c in ("5", "6", "7", "13")},
    **{c: "level1" for c in ("8", "9", "10", "14")},
}
LEVEL_TO_HOSP_LV = {"level3": "12", "level2": "13", "level1": "14"}
HOSP_LV_NAMES = {
    "1": "三级特等", "2": "三级甲等", "3": "三级乙等", "4": "三级丙等", "5": "二级甲等",
    "6": "二级乙等", "7": "二级丙等", "8": "一级甲等", "9": "一级乙等", "10": "一级丙等",
    "11": "无等级", "12": "三级无等", "13": "二级无等", "14": "一级无等",
}


class LevelError(ValueError):
    pass


def settlement_level(medins_lv: str) -> str:
    """The tier a policy applies: level3 | level2 | level1 | township | pharmacy.

    Village clinics (村卫生室) are paid as township-level primary care; retail pharmacies
    (定点零售药店) are their own tier, which most policies pay only from the personal account.
    """
    value = str(medins_lv).strip()
    if value in ("level3", "level2", "level1", "township", "pharmacy"):
        return value
    if value == "village":
        return "township"
    if value == "11":
        raise LevelError("医院等级 hosp_lv 11（无等级）无法确定起付线与支付比例档次，不能结算")
    if value in HOSP_LV_TO_LEVEL:
        return HOSP_LV_TO_LEVEL[value]
    raise LevelError(
        f"未知的医院等级 {value!r}：应为 level3/level2/level1/township 或 hosp_lv 代码 1–14"
    )
