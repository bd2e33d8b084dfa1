"""The `yibao fund` commands end to end on the hand-made region."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from yibao.fund.cli import app


def test_commands(tiny, params_dir, tmp_path):
    url = tiny.url.render_as_string(hide_password=False)
    common = ["--database-url", url]
    run = CliRunner().invoke
    out = run(app, ["contributions", "--year", "2024", *common, "--params", str(params_dir), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["by_fund"]["610100"] == "800.00"
    out = run(app, ["post", *common, "--params", str(params_dir)])
    assert out.exit_code == 0 and "期初结余 310100: 120,000.00 元" in out.output
    out = run(app, ["trial-balance", *common])
    assert out.exit_code == 0 and "差额 0.00 元；平衡" in out.output
    out = run(app, ["kpi", "--year", "2024", *common, "--params", str(params_dir), "--json"])
    data = json.loads(out.output)
    income = next(i for i in data["indicators"] if i["code"] == "fund_income")
    assert "按参数推算" in income["note"]
    out = run(app, ["balances", "--month", "2024-03", *common, "--json"])
    funds = {f["fund_pay_type"]: f for f in json.loads(out.output)["funds"]}
    assert funds["610100"]["income_ytd"] == "800.00" and funds["610100"]["spending_ytd"] == "729.00"  # 425 救助 + 304 资助参保
    out = run(app, ["dashboard", "--month", "2024-03", *common, "--params", str(params_dir)])
    dash = json.loads(out.output)
    assert dash["period"] == "2024-03" and {s["scheme"] for s in dash["schemes"]} >= {"310", "390"}
    assert dash["growth"]["total"]["base_period"] == "2024-02"
    out = run(app, ["recovery", "--fund", "390100", "--amount", "100.50", "--penalty", "30.15", "--date", "2024-03-31", "--ref", "JC-9", *common])
    assert out.exit_code == 0 and "记账 2 行" in out.output
    out = run(app, ["recovery", "--fund", "390100", "--amount", "100.50", "--date", "2024-03-31", "--ref", "JC-9", *common])
    assert "未重复记账" in out.output
    adjust = tmp_path / "adjust.csv"
    adjust.write_text("fixmedins_code,fund_pay_type,amount,memo\nH1,390100,-250.00,DIP清算扣回\nH3,310100,120.00,\n", encoding="utf-8")
    out = run(app, ["clearing", str(adjust), "--date", "2024-03-31", "--ref", "dip-2024", *common])
    assert out.exit_code == 0 and "记账 2 行，调整合计 -130.00 元" in out.output
    out = run(app, ["report", "--month", "2024-03", "--out", str(tmp_path / "r"), *common, "--params", str(params_dir), "--no-pdf"])
    assert out.exit_code == 0 and (tmp_path / "r" / "report-2024-03.html").exists()
    assert not (tmp_path / "r" / "report-2024-03.pdf").exists()
    out = run(app, ["kpi", "--year", "2024", "--month", "13", *common])
    assert out.exit_code == 2 and "1–12" in out.output
    assert run(app, ["balances", "--month", "2024/03", *common]).exit_code != 0
