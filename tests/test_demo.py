"""The README's main job, end to end, on a tiny region (the real one uses ~20,000 persons)."""

import re

from typer.testing import CliRunner

from yibao.cli import app


def test_main_job_runs_end_to_end(tmp_path):
    result = CliRunner().invoke(
        app,
        ["demo", "--data-dir", str(tmp_path), "--persons", "400", "--years", "2022-2024", "--http-days", "3", "--no-serve", "--port", "0"],
        env={"COLUMNS": "200"},
    )
    out = result.output
    assert result.exit_code == 0, out[-3000:]
    assert re.search(r"\d+/\d+ scenario files, \d+ events, passed", out)
    settled = int(re.search(r"4\. 批量结算 ([\d,]+) 笔", out).group(1).replace(",", ""))
    over_http = int(re.search(r"5\. HTTP 实时结算 ([\d,]+) 笔", out).group(1).replace(",", ""))
    assert settled > 1000 and over_http > 10
    assert "入组率 grouping rate" in out and "点值 point value" in out
    assert (tmp_path / "reports" / "report-2024-12.html").exists()
    assert (tmp_path / "dip" / "2024" / "summary.md").exists()
    assert "失败" not in out
