"""The monthly report: files, charts, Chinese labels, and a PDF with pages."""

from __future__ import annotations

import re

from yibao.fund import ledger
from yibao.fund.report import write_report


def test_report_files(tiny, params, tmp_path):
    with tiny.begin() as conn:
        ledger.post(conn, params)
    with tiny.connect() as conn:
        files = write_report(conn, 2024, 3, tmp_path, params=params)
    assert [f.name for f in files] == ["report-2024-03.html", "report-2024-03.pdf"]
    html = files[0].read_text(encoding="utf-8")
    for label in ("医疗保障基金运行月报（2024年3月）", "一、基金收支与结余", "二、基金支出结构", "三、基金支付增长分解",
                  "四、主要指标", "五、医疗机构与病种排行", "六、预警", "可支付月数", "测试市第一人民医院", "结余过多"):
        assert label in html, label
    assert html.count("<svg") >= 5
    for chart in ("by_scheme", "by_level", "by_category", "growth", "reserve"):
        assert f'id="chart-{chart}"' in html
    # the growth decomposition of March against February (see test_indicators) is in the table
    assert "乘积精确等于总增长" in html
    pdf = files[1].read_bytes()
    assert pdf.startswith(b"%PDF")
    pages = re.findall(rb"/Type\s*/Page\b(?!s)", pdf)
    assert len(pages) >= 2
    assert b"WenQuanYi" in pdf  # the CJK font is embedded
