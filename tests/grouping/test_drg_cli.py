"""``yibao drg group`` / ``yibao drg check`` and the CSV reader behind them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from yibao.cli import app
from yibao.grouping import casegen
from yibao.grouping.drg_io import InputError, group_csv

runner = CliRunner()
HEADER = "id,gender,age,age_days,weight,dept,los,leaving_type,dx,px\n"


def _write(tmp_path: Path, body: str, name="in.csv", header=HEADER, newline="\n", bom=False) -> Path:
    path = tmp_path / name
    text = (header + body).replace("\n", newline)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def _rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


CASES = (
    "a1,1,60,,,0301,5,1,K35.800|E11.900,47.0100\n"     # GD1 with a CC -> GD13
    "a2,2,45,,,,7,1,D25.900,68.4100\n"                 # NF1 -> NF15
    "a3,男,45,,,,7,1,D25.900,68.4100\n"                # 男 = 1: MDCN needs a woman -> FAIL
    "a4,1,0,10,1200,,20,1,P07.300|P22.000,\n"          # PS1 with MCC P22.000 -> PS11
    "a5,9,70,,,,9,1,J44.100,\n"                        # gender 9 -> CHECK_FAILED
    "a6,1,0,10,,,9,1,P07.300,\n"                       # neonate without weight -> CHECK_FAILED
    "a7,女,30,,,,3,1,\" S06.500 , S27.000 \",\n"       # blanks around codes, comma separated
)
EXPECTED = [
    ["id", "status", "mdc", "adrg", "drg"],
    ["a1", "SUCCESS", "MDCG", "GD1", "GD13"],
    ["a2", "SUCCESS", "MDCN", "NF1", "NF15"],
    ["a3", "FAIL", "0000", "00", "0000"],
    ["a4", "SUCCESS", "MDCP", "PS1", "PS11"],
    ["a5", "CHECK_FAILED", "0000", "00", "0000"],
    ["a6", "CHECK_FAILED", "0000", "00", "0000"],
    ["a7", "SUCCESS", "MDCZ", "ZZ1", "ZZ15"],
]


def test_group_writes_results(tmp_path):
    src, out = _write(tmp_path, CASES), tmp_path / "out.csv"
    result = runner.invoke(app, ["drg", "group", str(src), "--scheme", "demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert _rows(out) == EXPECTED


@pytest.mark.parametrize("newline, bom", [("\r\n", False), ("\n", True)])
def test_crlf_and_bom(tmp_path, newline, bom):
    src, out = _write(tmp_path, CASES, newline=newline, bom=bom), tmp_path / "out.csv"
    result = runner.invoke(app, ["drg", "group", str(src), "--scheme", "demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert _rows(out) == EXPECTED


def test_explain_prints_the_trail(tmp_path):
    src = _write(tmp_path, CASES)
    result = runner.invoke(app, ["drg", "group", str(src), "--scheme", "demo", "--explain", "a4"])
    assert result.exit_code == 0, result.output
    assert "a4: SUCCESS MDCP/PS1/PS11" in result.output
    assert "进入 MDCP" in result.output and "出生体重 = 1200" in result.output
    assert "[weight<1500]" in result.output  # the English line keeps its brackets
    missing = runner.invoke(app, ["drg", "group", str(src), "--scheme", "demo", "--explain", "zz"])
    assert missing.exit_code == 1


def test_missing_column_is_an_error(tmp_path):
    src = _write(tmp_path, "a1,1,60,,,K35.800\n", header="id,gender,age,age_days,weight,dx\n")
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["drg", "group", str(src), "--scheme", "demo", "--out", str(out)])
    assert result.exit_code == 1
    assert "px" in result.output and "缺少列" in result.output
    assert not out.exists()


def test_non_numeric_age_names_row_and_column(tmp_path):
    src = _write(tmp_path, "a1,1,60,,,,,,K35.800,\na2,1,abc,,,,,,K35.800,\n")
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["drg", "group", str(src), "--scheme", "demo", "--out", str(out)])
    assert result.exit_code == 1
    assert "第3行" in result.output and "列 age" in result.output and "'abc'" in result.output
    assert not out.exists()


def test_bad_weight_and_short_row(tmp_path):
    with pytest.raises(InputError) as info:
        group_csv(_write(tmp_path, "a1,1,0,3,heavy,,,,P07.300,\n"), tmp_path / "o.csv", _demo())
    assert info.value.line == 2 and info.value.column == "weight"
    with pytest.raises(InputError) as info:
        group_csv(_write(tmp_path, "a1,1,0\n"), tmp_path / "o.csv", _demo())
    assert info.value.line == 2


def test_whole_number_decimals_are_read(tmp_path):
    # Spreadsheet exports write 60.0; a birth weight may have decimals.
    src = _write(tmp_path, "a1,1.0,60.0,,,,,,K35.800,47.0100\nb1,1,0,10.0,1499.5,,,,P07.300,\n")
    out = tmp_path / "o.csv"
    group_csv(src, out, _demo())
    assert _rows(out)[1:] == [["a1", "SUCCESS", "MDCG", "GD1", "GD15"], ["b1", "SUCCESS", "MDCP", "PS1", "PS15"]]


def test_empty_dx_field_is_one_empty_code(tmp_path, chs):
    # README: an empty dx string becomes one empty code -> validation passes; a main heart
    # transplant then groups to AA19 and without a procedure the record cannot be grouped.
    src = _write(tmp_path, "e1,1,50,,,,,,,37.5100\ne2,1,50,,,,,,,\n")
    out = tmp_path / "o.csv"
    group_csv(src, out, chs)
    assert _rows(out)[1:] == [["e1", "SUCCESS", "MDCA", "AA1", "AA19"], ["e2", "FAIL", "0000", "00", "0000"]]


def test_parallel_equals_sequential(tmp_path, chs, chs_scheme):
    src = tmp_path / "big.csv"
    casegen.write_csv(casegen.generate(chs_scheme, 6_000, seed=5), src)
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    s1 = group_csv(src, one, chs, jobs=1, chunk_bytes=40_000)
    s2 = group_csv(src, two, chs, jobs=2, chunk_bytes=40_000)
    assert s2.jobs == 2 and s1.jobs == 1
    assert one.read_bytes() == two.read_bytes()
    rows = _rows(one)
    assert len(rows) == 6_001 and rows[1][0] == "1" and rows[-1][0] == "6000"
    assert s1.counts == s2.counts and sum(s1.counts.values()) == 6_000


def test_parallel_error_reports_the_first_bad_line(tmp_path, chs, chs_scheme):
    src = tmp_path / "big.csv"
    casegen.write_csv(casegen.generate(chs_scheme, 3_000, seed=6), src)
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    for n in (2500, 1200):  # file lines 2501 and 1201
        parts = lines[n].split(",")
        parts[2] = "old"
        lines[n] = ",".join(parts)
    src.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(InputError) as info:
        group_csv(src, tmp_path / "o.csv", chs, jobs=2, chunk_bytes=20_000)
    assert (info.value.line, info.value.column) == (1201, "age")


def test_check_command(tmp_path):
    result = runner.invoke(app, ["drg", "check", "demo"])
    assert result.exit_code == 0 and "21 MDC, 71 ADRG, 119 DRG" in result.output
    bad = runner.invoke(app, ["drg", "check", str(tmp_path)])
    assert bad.exit_code == 1 and "mdc.csv" in bad.output


def test_help_has_an_example():
    result = runner.invoke(app, ["drg", "group", "--help"])
    assert result.exit_code == 0 and "yibao drg group cases.csv --scheme" in result.output


_DEMO = None


def _demo():
    global _DEMO
    if _DEMO is None:
        from yibao.grouping.drg import DrgGrouper
        from yibao.grouping.drg_cli import demo_scheme_path
        _DEMO = DrgGrouper(demo_scheme_path())
    return _DEMO


def test_gbk_input_needs_and_accepts_the_encoding(tmp_path):
    # A GBK file with a Chinese gender word: read as UTF-8 it is an error naming the line,
    # with --encoding gbk it groups.
    src = tmp_path / "gbk.csv"
    src.write_bytes((HEADER + "g1,女,45,,,妇科,7,1,D25.900,68.4100\n").encode("gbk"))
    out = tmp_path / "o.csv"
    bad = runner.invoke(app, ["drg", "group", str(src), "--scheme", "demo", "--out", str(out)])
    assert bad.exit_code == 1 and "--encoding" in bad.output and "第2行" in bad.output
    ok = runner.invoke(app, ["drg", "group", str(src), "--scheme", "demo", "--out", str(out), "--encoding", "gbk"])
    assert ok.exit_code == 0, ok.output
    assert _rows(out)[1] == ["g1", "SUCCESS", "MDCN", "NF1", "NF15"]
