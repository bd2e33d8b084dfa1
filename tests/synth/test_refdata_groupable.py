"""The generator's own disease list must be codable the way hospitals code: every diagnosis that
can be a stay's principal diagnosis is in some MDC list of CHS-DRG 1.1 (parent codes such as
K35.800 are valid ICD-10 医保版 but group nowhere; hospitals use K35.800x001)."""

import csv

from yibao.synth import refdata

from .conftest import shared_data


def test_every_inpatient_diagnosis_is_in_an_mdc_list():
    with open(shared_data() / "chs-drg-1.1" / "mdc_codes.csv", encoding="utf-8") as f:
        mdc_codes = {row["code"] for row in csv.DictReader(f)}
    inpatient = [row["code"] for row in refdata._rows("diseases.csv") if float(row["ip_w"] or 0) > 0]
    assert len(inpatient) > 80
    missing = [code for code in inpatient if code not in mdc_codes]
    assert missing == [], missing


def test_a_generated_year_groups_like_a_real_city(region):
    """眉山 reports 92% of valid cases grouped; the synthetic region must not be far below."""
    from yibao.grouping.drg import DrgGrouper
    from yibao.grouping.drg_io import iter_records

    grouper = DrgGrouper(shared_data() / "chs-drg-1.1")
    results = [grouper.group(record).status.value for _, record in iter_records(region / "drg_input.csv")]
    assert len(results) > 50
    assert results.count("SUCCESS") / len(results) >= 0.92
