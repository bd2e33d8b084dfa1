"""The rule types: parameterised templates that a rule in the library instantiates.

A rule type is code (an SQL template in ``templates/<template>.sql`` for the batch engines and an
evaluator in :mod:`yibao.audit.online` for 3101/3102); a *rule* is data: the library names a type,
gives its parameters and the knowledge table it reads. Bureaus add rules, change parameters and
import knowledge; they add a rule type only when a new kind of check is needed.

``level`` says what a finding is about:

- ``line``: one fee line (``mdtrt_id`` + ``feedetl_sn``), 违规行为分类 2 项目类;
- ``encounter``: one encounter (``mdtrt_id``), 违规行为分类 1 就诊类;
- ``stock``: a pharmacy x drug x year (no encounter);
- ``provider``: an institution x peer group x year (statistical, no labels).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RuleType:
    type_id: str
    name: str  # Chinese name of the kind of check
    level: str  # line | encounter | stock | provider
    template: str  # file name under templates/ without .sql
    knowledge: tuple[str, ...] = ()  # columns the knowledge table must have; () = none
    params: dict = field(default_factory=dict)  # parameter -> default (None = required)
    message: str = ""  # vola_cont, formatted with the evidence (ev_ prefix dropped) and item/amount facts
    realtime: bool = True  # evaluated by 3101/3102 on one encounter
    label: str | None = None  # the synthetic region's pattern this type finds (docs/synthetic-region.md)
    example: str = ""  # a worked example for docs and `rules show`

    @property
    def bhvr_type(self) -> str:
        """vola_bhvr_type: 1 就诊类, 2 项目类."""
        return "2" if self.level == "line" else "1"


def _t(*args, **kwargs) -> RuleType:
    return RuleType(*args, **kwargs)


RULE_TYPES: dict[str, RuleType] = {t.type_id: t for t in [
    _t("gender", "限性别", "line", "gender", ("med_list_codg", "gend"),
       message="{item_name}限{allowed_gend_name}患者使用，患者性别为{psn_gend_name}",
       label="gender_mismatch", example="前列腺特异性抗原(PSA)测定限男性；为女性患者收费即违规"),
    _t("age", "限年龄", "line", "age", ("med_list_codg", "min_age", "max_age"),
       message="{item_name}限{age_range}使用，患者{age}岁", label="age_mismatch",
       example="左氧氟沙星限18岁以上；为12岁患者收费即违规"),
    _t("institution_level", "限医疗机构级别", "line", "institution_level", ("med_list_codg", "min_lv_rank"),
       message="{item_name}限{min_lv_name}及以上机构使用，本机构为{medins_lv_name}", label="level_mismatch",
       example="PET-CT限三级医院；乡镇卫生院收费即违规"),
    _t("med_type", "限就医方式", "line", "med_type", ("med_list_codg", "med_types"),
       message="{item_name}限医疗类别{allowed_med_types}，本次就诊为{med_type}",
       example="床位费、住院诊查费限住院(21)；普通门诊(11)收费即违规"),
    _t("insutype", "限险种", "line", "insutype", ("med_list_codg", "insutypes"),
       message="{item_name}限险种{allowed_insutypes}，患者险种为{insutype}",
       example="新生儿护理限城乡居民医保(390)新生儿；职工医保(310)结算即违规"),
    _t("department", "限专科", "line", "department", ("med_list_codg", "dept_prefix"),
       message="{item_name}限专科使用，开单科室为{dept}",
       example="化疗药物配置限肿瘤科(A19)；呼吸内科(A03.01)开单即违规"),
    _t("indication", "限适应症", "line", "indication", ("med_list_codg", "icd10_prefix"),
       message="{item_name}为限定支付范围药品，本次诊断（主诊断{main_diag}）不符合其适应症", label="off_indication",
       example="氯吡格雷限I20/I21/I63等；主诊断J18.900肺炎且无相符诊断即违规"),
    _t("over_frequency_day", "超频次", "line", "over_frequency_day", ("med_list_codg", "max_per_day"),
       message="{item_name}每日限{max_per_day}，{day}累计{running_cnt}", label="frequency_excess",
       example="床位费每日限1；同日第二条床位费即违规"),
    _t("over_quantity_visit", "超数量", "line", "over_quantity_visit", ("med_list_codg", "max_per_visit"),
       message="{item_name}每次就诊限{max_per_visit}，累计{running_cnt}", label="frequency_excess",
       example="一般诊疗费每次就诊限1；同次第二条即违规"),
    _t("over_course", "超疗程", "line", "over_course", ("med_list_codg", "max_days"),
       message="{item_name}单次就诊疗程限{max_days}天，本条为第{day_of_use}个使用日",
       example="雾化吸入单次住院限10天；第11个使用日的费用即违规"),
    _t("price_ceiling", "超限价", "line", "price_ceiling", ("med_list_codg", "pric_uplmt_amt"),
       message="{item_name}单价{pric}元超过限价{pric_uplmt_amt}元", label="price_over_ceiling",
       example="限价30元的注射液按35元收费2支：违规金额(35-30)×2=10元"),
    _t("duplicate_charge", "重复收费", "line", "duplicate_charge", params={"list_types": ["201", "301"]},
       message="{item_name}在同一时间({fee_ocur_time})以相同价格数量重复收费（第{copy_no}条）",
       example="同一就诊同一时刻两条相同的血常规检查，第二条即重复收费"),
    _t("exclusive", "互斥项目同时收费", "line", "exclusive",
       ("med_list_codg_a", "med_list_codg_b", "scope"),
       message="{item_name}与{excluded_by_name}互斥，不得同时收费", label="exclusive_items",
       example="一般诊疗费与门诊诊查费同次就诊互斥；另收门诊诊查费即违规"),
    _t("included_consumable", "项目内涵已含耗材另收", "line", "included_consumable",
       ("med_list_codg", "included_med_list_codg"),
       message="{item_name}已包含在{included_in_name}的收费内涵中，不得另收", label="included_consumable",
       example="肌肉注射已含一次性注射器；另收注射器即违规"),
    _t("missing_related", "关联项目缺失", "line", "missing_related", ("med_list_codg", "related_med_list_codg"),
       message="{item_name}须有关联项目，本次就诊未见任何关联项目收费",
       example="收静脉输液费而本次就诊无任何输液药品即违规"),
    _t("bed_days", "床日与住院天数不符", "encounter", "bed_days", params={"bed_types": ["01"], "tolerance_days": 0},
       message="床位费计{bed_days}日，超过住院天数{ipt_days}日",
       example="住院5天（入院1日、出院6日）收床位费7日即违规"),
    _t("split_admission", "分解住院", "encounter", "split_admission",
       params={"max_gap_days": 15, "dx_prefix_len": 3, "exclude_dx_prefixes": ["Z51"]},
       message="出院后{gap_days}天再次入院且主诊断同类（{previous_main_diag}→{main_diag}），疑似分解住院",
       label="split_admission", example="3月1日出院、3月8日因同一疾病再入院：第二次住院即分解住院"
                                        "（按疗程的放化疗 Z51 不算）"),
    _t("phantom_stay", "挂床住院", "encounter", "phantom_stay",
       params={"min_days": 3, "bed_types": ["01"], "allowed_types": ["01", "07"]},
       message="住院期间{idle_days}日仅有床位费和护理费（{first_idle_day}至{last_idle_day}），疑似挂床",
       label="phantom_stay", example="住院第3至8日每天只收床位费和护理费：挂床住院"),
    _t("overlong_stay", "超长住院", "encounter", "overlong_stay", params={"max_days": 60},
       message="住院{ipt_days}天，超过{max_days}天", label="overlong_stay",
       example="住院76天：第61天起的费用为违规金额"),
    _t("low_standard_admission", "低标准入院", "encounter", "low_standard_admission",
       params={"max_days": 2, "exam_types": ["03", "04"], "min_exam_share": "0.7"},
       message="住院{ipt_days}天无手术，检查化验费{exam_amt}占总费用{total_amt}的大部分，疑似低标准入院",
       example="住院1天、无手术、费用八成是检查化验：低标准入院"),
    _t("drg_upcoding", "DRG高套", "encounter", "drg_upcoding", ("diag_code", "med_list_codg"), params={"share": "0.25"},
       message="次要诊断{diag_code}为并发症/合并症，住院费用中未见其诊疗依据，疑似高套病组", label="drg_upcoding",
       example="次要诊断J96.000急性呼吸衰竭而无血气分析、无通气治疗：疑似高套"),
    _t("over_testing", "过度检查", "line", "over_testing", ("med_list_codg", "max_per_year"),
       message="{item_name}每年限{max_per_year}次，本条为本年第{nth_in_year}次", label="over_testing_hba1c",
       example="糖化血红蛋白每年限4次；第5次即过度检查"),
    _t("care_after_death", "死亡后就医", "encounter", "care_after_death",
       message="参保人已于{death_date}死亡，死亡后第{days_after_death}天发生医疗费用", label="care_after_death",
       example="参保人5月3日死亡，5月20日有门诊结算：违规"),
    _t("outside_coverage", "非参保期间就医", "encounter", "outside_coverage",
       message="就诊日期不在参保期间内（参保开始{insu_begn_date}，迁出{move_out_date}）",
       example="参保人8月1日迁出，8月10日仍在本地结算：违规"),
    _t("two_places", "同一时间多处就医", "encounter", "two_places",
       message="参保人于{stay_fixmedins_code}住院期间（就诊{stay}）在本机构就医", label="two_places",
       example="住院期间（非出入院当日）在另一家机构门诊或购药：违规"),
    _t("outpatient_during_stay", "住院期间本院门诊", "encounter", "outpatient_during_stay",
       message="参保人住院期间（就诊{stay}）在本院另行门诊或购药结算",
       example="住院期间在同一医院另挂门诊号结算：违规"),
    _t("overlapping_stays", "住院时间重叠", "encounter", "overlapping_stays",
       message="本次住院与住院{other_stay}时间重叠",
       example="同一参保人两次住院日期交叉：后一次住院违规"),
    _t("third_party_injury", "第三方责任外伤", "encounter", "third_party_injury",
       params={"dx_ranges": [["V01", "V99"], ["X85", "Y09"]]},
       message="外伤涉及第三方责任（交通事故或他人伤害），应由第三方负担", label="third_party_injury",
       example="诊断含V43.x00机动车交通事故：费用应由第三方负担"),
    _t("trace_code_resale", "追溯码重复销售", "line", "trace_code_resale",
       message="药品追溯码{trace_code}已在此前销售，重复销售", label="trace_code_resale",
       example="同一盒药的追溯码出现在两次购药中：后一次违规，金额为一盒的价格"),
    _t("stock_mismatch", "药品进销存不符", "stock", "stock_mismatch",
       message="截至年底累计购进{bought}盒、销售{sold}盒，销售多于购进", realtime=False, label="stock_mismatch",
       example="药店某药年内累计购进100盒却医保销售130盒：短缺30盒×售价"),
    _t("provider_cost_outlier", "机构次均费用异常", "provider", "provider_outlier",
       params={"measure": "cost", "med_types": ["21"], "dx_prefix_len": 3, "min_cases": 5, "min_peers": 5,
               "z_threshold": "3.5"},
       message="{case_group}组{cases}例次均费用{mean}，同级同组{peers}家机构中位数{peer_median}，稳健Z值{robust_z}",
       realtime=False, example="某二级医院肺炎(J18)次均费用为同级同组中位数的2倍，稳健Z值5.1"),
    _t("provider_intensity_outlier", "机构次均项目数异常", "provider", "provider_outlier",
       params={"measure": "lines", "med_types": ["21"], "dx_prefix_len": 3, "min_cases": 5, "min_peers": 5,
               "z_threshold": "3.5"},
       message="{case_group}组{cases}例次均收费明细{mean}，同级同组{peers}家机构中位数{peer_median}，稳健Z值{robust_z}",
       realtime=False, example="某一级医院高血压(I10)住院次均收费明细条数远高于同级同组"),
]}

GEND_NAMES = {"1": "男性", "2": "女性", "0": "未知性别", "9": "未说明性别"}
LEVEL_NAMES = {0: "零售药店", 1: "村卫生室", 2: "乡镇卫生院/社区卫生服务中心", 3: "一级医院", 4: "二级医院",
               5: "三级医院"}
MEDINS_LV_NAMES = {"village": "村卫生室", "township": "乡镇卫生院/社区卫生服务中心", "level1": "一级医院",
                   "level2": "二级医院", "level3": "三级医院", "pharmacy": "零售药店"}
