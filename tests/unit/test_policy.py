import datetime as dt
from decimal import Decimal

import pytest

from yibao.policy import PolicyError, PolicyLibrary, load_policy_file
from yibao.policy.library import SHIPPED_DIR


def test_shipped_policies_load_and_resolve():
    library = PolicyLibrary.shipped()
    assert library.ids() == ["anji-2020", "meishan-2020", "qingyi-2022", "qingyuan-2021"]
    meishan = library.get("meishan-2020").resolve(dt.date(2020, 6, 1))
    inpatient = meishan.schemes["390"].basic.benefits["inpatient"]
    assert inpatient.deductible == {"level3": Decimal("660"), "level2": Decimal("460"), "level1": Decimal("360"), "township": Decimal("150")}
    assert inpatient.ratio["township"] == Decimal("0.90")
    assert meishan.schemes["390"].critical_illness.cap == Decimal("400000")


def test_anji_extends_meishan_and_overrides_only_what_it_says():
    anji = PolicyLibrary.shipped().get("anji-2020").resolve(dt.date(2020, 6, 1))
    scheme = anji.schemes["390"]
    assert anji.pooling_region.admdvs == "330523"
    assert scheme.basic.benefits["inpatient"].deductible["level3"] == Decimal("660")  # inherited
    assert scheme.assistance.groups["low_income"].deductible == Decimal("0")  # overridden
    assert scheme.basic.tilts[0].points == Decimal("0.15")
    assert scheme.civil_servant.ratio == Decimal("0.90")


def test_every_parameter_has_a_reference():
    for policy in PolicyLibrary.shipped().all():
        for parameter in policy.parameters.values():
            assert parameter.reference.strip(), parameter.path


def test_what_applied_on_a_date(tmp_path):
    text = (SHIPPED_DIR / "meishan-2020.yaml").read_text(encoding="utf-8")
    text = text.replace("values: {2020-01-01: 300000}", "values: {2020-01-01: 300000, 2022-01-01: 350000}")
    path = tmp_path / "meishan.yaml"
    path.write_text(text, encoding="utf-8")
    policy = load_policy_file(path)
    assert policy.resolve(dt.date(2021, 12, 31)).schemes["390"].basic.cap == Decimal("300000")
    assert policy.resolve(dt.date(2022, 1, 1)).schemes["390"].basic.cap == Decimal("350000")
    with pytest.raises(PolicyError, match="没有生效的取值"):
        policy.resolve(dt.date(2019, 12, 31))


def test_a_later_policy_of_the_same_region_supersedes_the_earlier_one():
    library = PolicyLibrary.shipped()
    assert library.find("511402", "390", dt.date(2021, 12, 31)).id == "meishan-2020"
    assert library.find("511402", "390", dt.date(2022, 1, 1)).id == "qingyi-2022"
    qingyi = library.get("qingyi-2022").resolve(dt.date(2024, 1, 1))
    # inherited from meishan-2020 unchanged, and extended with employees and 门诊慢特病
    assert qingyi.schemes["390"].basic.benefits["inpatient"].deductible["level3"] == Decimal("660")
    assert qingyi.schemes["310"].large_amount.cap == Decimal("400000")
    assert qingyi.med_types["14"] == "outpatient_special"


def test_find_by_region_insutype_and_date():
    library = PolicyLibrary.shipped()
    assert library.find("511402", "390", dt.date(2020, 5, 1)).id == "meishan-2020"
    assert library.find("330523", "390", dt.date(2020, 5, 1)).id == "anji-2020"
    assert library.find("441802", "310", dt.date(2021, 5, 1)).id == "qingyuan-2021"
    with pytest.raises(PolicyError, match="没有生效的医保政策"):
        library.find("511402", "310", dt.date(2021, 5, 1))


def _write(tmp_path, text):
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_ratio_is_reported_with_file_and_key(tmp_path):
    text = (SHIPPED_DIR / "meishan-2020.yaml").read_text(encoding="utf-8").replace("level3: 0.65", "level3: 1.65")
    with pytest.raises(PolicyError) as exc:
        load_policy_file(_write(tmp_path, text))
    message = str(exc.value)
    assert "p.yaml" in message and "benefits.inpatient.ratio" in message and "level3" in message and "0 到 1" in message


def test_missing_reference_and_bad_dates_are_reported(tmp_path):
    text = """
id: x
name: x
pooling_region: {admdvs: "5114"}
insutypes: ["390"]
schemes:
  "390":
    basic:
      fund_pay_type: "390100"
      cap: {values: {2020-01-01: 1000}}
      benefits: {}
"""
    with pytest.raises(PolicyError, match="缺少 reference"):
        load_policy_file(_write(tmp_path, text))
    text2 = text.replace("id: x", "id: x\nreference: illustrative").replace("2020-01-01: 1000", "soon: 1000")
    with pytest.raises(PolicyError, match="不是 YYYY-MM-DD"):
        load_policy_file(_write(tmp_path, text2))


def test_unknown_keys_and_levels_are_refused(tmp_path):
    base = (SHIPPED_DIR / "meishan-2020.yaml").read_text(encoding="utf-8")
    with pytest.raises(PolicyError, match="未知的顶层键"):
        load_policy_file(_write(tmp_path, base + "\nsurprise: 1\n"))
    with pytest.raises(PolicyError, match="未知的医院等级"):
        load_policy_file(_write(tmp_path, base.replace("level2: 460", "level9: 460")))


def test_policy_values_are_never_binary_floats(tmp_path):
    meishan = PolicyLibrary.shipped().get("meishan-2020").resolve(dt.date(2020, 1, 1))
    ratio = meishan.schemes["390"].basic.benefits["inpatient"].ratio["level3"]
    assert isinstance(ratio, Decimal) and str(ratio) == "0.65"
