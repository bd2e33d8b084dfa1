"""Every console page over plain HTTP, on SQLite and PostgreSQL: status, role checks, the
Server-Timing header, login/logout/CSRF, and what the main pages say."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from consoleworld import PASSWORD, USERS, add_finding, client_for, csrf_of, make_app, populate, sample
from yibao.fund import api as fund_api
from yibao.storage import schema as s

ROLE_OF = {v: k for k, v in USERS.items()}  # role → username


@pytest.fixture
def world(engine, region, tmp_path):
    populate(engine, region)
    return {"engine": engine, "app": make_app(engine, tmp_path), "data_dir": tmp_path, "sample": sample(engine)}


def pages(smp: dict[str, str]) -> dict[str, str]:
    return {
        "dashboard": "/console/",
        "settlements": f"/console/settlements?certno={smp['certno']}",
        "settlement": f"/console/settlements/{smp['setl_id']}",
        "findings": "/console/findings",
        "drg": "/console/drg",
        "persons": f"/console/persons?q={smp['certno']}",
        "person": f"/console/persons/{smp['psn_no']}",
        "institutions": "/console/institutions",
        "institution": f"/console/institutions/{smp['fixmedins_code']}",
        "policies": "/console/policies",
        "policy": "/console/policies/qingyi-2022?on=2024-06-30",
        "reports": "/console/reports",
    }


# who may open what (the brief: a 经办 cannot review; a 基金 analyst sees the fund pages; admin everything)
ALLOWED = {
    "agent": {"dashboard", "settlements", "settlement", "findings", "persons", "person", "institutions", "institution",
              "policies", "policy"},
    "supervisor": {"dashboard", "settlements", "settlement", "findings", "drg", "persons", "person", "institutions",
                   "institution", "policies", "policy"},
    "fund": {"dashboard", "settlements", "settlement", "drg", "institutions", "institution", "policies", "policy", "reports"},
    "admin": set(pages({"certno": "", "setl_id": "", "psn_no": "", "fixmedins_code": ""})),
}


def server_ms(response) -> float:
    match = re.fullmatch(r"app;dur=(\d+(?:\.\d+)?)", response.headers.get("server-timing", ""))
    assert match, f"no Server-Timing header on {response.request.url}"
    return float(match.group(1))


def assert_labelled(html: str) -> None:
    """Every visible form control has a <label for=…> (accessible forms)."""
    labels = set(re.findall(r'<label[^>]*for="([^"]+)"', html))
    for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html):
        if 'type="hidden"' in tag:
            continue
        control = re.search(r'id="([^"]+)"', tag)
        assert control and control.group(1) in labels, f"unlabelled form control: {tag}"


def test_every_page_answers_and_says_who_may_see_it(world):
    """Status, 403s, menu, labels, lang and a well-formed Server-Timing header on every page for
    every role. How fast the pages are is measured by benchmarks/console/bench_pages.py
    (docs/benchmarks.md), not asserted here."""
    app, smp = world["app"], world["sample"]
    for role, allowed in ALLOWED.items():
        client = client_for(app, ROLE_OF[role])
        for name, url in pages(smp).items():
            first = client.get(url, follow_redirects=False)
            if name in allowed:
                assert first.status_code == 200, (role, name, first.text[:300])
                assert server_ms(first) > 0, (role, name, first.headers["server-timing"])
                assert '<html lang="zh-CN">' in first.text
                assert_labelled(first.text)
            else:
                assert first.status_code == 403, (role, name, first.status_code)
                assert "无权访问" in first.text and "请联系管理员" in first.text
                server_ms(first)
        # the menu shows exactly the pages this role may open
        menu = client.get("/console/").text
        assert ("/console/reports\"" in menu) == (role in ("fund", "admin"))
        assert ("/console/persons\"" in menu) == (role != "fund")


def test_anonymous_users_are_sent_to_login_and_back(world):
    client = client_for(world["app"], None)
    answer = client.get("/console/settlements?med_type=21", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?next=%2Fconsole%2Fsettlements%3Fmed_type%3D21"
    page = client.get(answer.headers["location"])
    assert page.status_code == 200 and 'name="next" value="/console/settlements?med_type=21"' in page.text
    done = client.post("/console/login", data={"username": "jingban", "password": PASSWORD, "csrf_token": csrf_of(page.text),
                                               "next": "/console/settlements?med_type=21"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/console/settlements?med_type=21"
    cookie = done.headers["set-cookie"]
    assert "yibao_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Path=/console" in cookie
    # an outside address in next is ignored
    evil = client.post("/console/login", data={"username": "jingban", "password": PASSWORD, "csrf_token": csrf_of(page.text),
                                               "next": "https://evil.example/"}, follow_redirects=False)
    assert evil.headers["location"] == "/console/"


def test_root_leads_to_the_console(world):
    client = client_for(world["app"], None)
    assert client.get("/", follow_redirects=False).headers["location"] == "/console/"
    assert client.get("/console", follow_redirects=False).headers["location"] == "/console/"
    # The icon browsers ask for (the login page names it; the API docs do not).
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert 'rel="icon"' in client.get("/console/login").text


def test_login_errors_csrf_and_logout(world):
    client = client_for(world["app"], None)
    page = client.get("/console/login")
    token = csrf_of(page.text)
    wrong = client.post("/console/login", data={"username": "jingban", "password": "nope-nope", "csrf_token": token})
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text and "联系管理员" in wrong.text
    forged = client.post("/console/login", data={"username": "jingban", "password": PASSWORD, "csrf_token": "x.y"})
    assert forged.status_code == 400 and "请刷新页面" in forged.text
    missing = client.post("/console/login", data={"username": "jingban", "password": PASSWORD})
    assert missing.status_code == 400
    assert client.get("/console/", follow_redirects=False).status_code == 303  # still logged out
    ok = client.post("/console/login", data={"username": "jingban", "password": PASSWORD, "csrf_token": token},
                     follow_redirects=False)
    assert ok.status_code == 303
    assert client.get("/console/").status_code == 200
    # logging out needs the form's token too
    assert client.post("/console/logout", data={}).status_code == 400
    out = client.post("/console/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and 'yibao_session=""' in out.headers["set-cookie"]
    assert client.get("/console/", follow_redirects=False).status_code == 303
    # a token signed with another secret is not a session
    client.cookies.set("yibao_session", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA", path="/console")
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_dashboard_answers_the_two_questions(world):
    engine = world["engine"]
    with engine.connect() as conn:
        period = conn.execute(select(s.fund_month_setl.c.period).order_by(s.fund_month_setl.c.period.desc()).limit(1)).scalar_one()
        board = fund_api.dashboard(conn, int(period[:4]), int(period[5:]))
    residents = next(x for x in board["schemes"] if x["key"] == "390")
    growth = board["growth"]["total"]
    html = client_for(world["app"], "jijin").get("/console/").text
    sentence = re.search(r'<p class="sentence" id="reserve-sentence">([^<]+)</p>', html).group(1)
    assert "城乡居民医保基金" in sentence and f"可支付 {residents['months_of_reserve']:.1f} 个月" in sentence
    balance = f"{float(residents['balance']):,.2f}"
    assert f"累计结余 {balance} 元" in sentence
    assert f"= {residents['months_of_reserve']:.2f} 个月" in html  # the formula with its numbers
    why = re.search(r'<p class="sentence" id="growth-sentence">([^<]+)</p>', html).group(1)
    assert growth["status"] == "ok"
    for key, name in (("persons", "就医人数"), ("visits_per_person", "人均就诊次数"), ("cost_per_visit", "次均基金支付")):
        amount = float(growth["contributions"][key])
        assert f"{name}（" in why and f"贡献 {'+' if amount > 0 else ''}{amount:,.2f} 元" in why
    assert "主要来自" in why
    assert 'id="chart-data"' in html and '"by_scheme"' in html
    for w in board["warnings"]:
        assert w["message"] in html
    # a month that is not in the ledger says so and shows the latest
    other = client_for(world["app"], "jijin").get("/console/?month=2019-01").text
    assert "账簿中没有 2019-01 的数据" in other
    assert client_for(world["app"], "jijin").get("/console/?month=2024-13").status_code == 400


def test_dashboard_without_ledger_says_what_to_run(engine, tmp_path):
    from yibao.api import security

    with engine.begin() as conn:
        security.add_user(conn, "jijin", PASSWORD, "fund")
    html = client_for(make_app(engine, tmp_path), "jijin").get("/console/").text
    assert "暂无基金数据" in html and "yibao fund post" in html and "chart-data" not in html


def test_settlement_search_and_explanation(world):
    smp, client = world["sample"], client_for(world["app"], "jingban")
    found = client.get("/console/settlements", params={"certno": smp["certno"]}).text
    assert f'/console/settlements/{smp["setl_id"]}"' in found
    with world["engine"].connect() as conn:
        mine = conn.execute(select(s.settlements.c.setl_id).where(s.settlements.c.psn_no == smp["psn_no"])).scalars().all()
        row = conn.execute(select(s.settlements).where(s.settlements.c.setl_id == smp["setl_id"])).one()
        funds = conn.execute(select(s.settlement_funds).where(s.settlement_funds.c.setl_id == smp["setl_id"])).fetchall()
    assert len(re.findall(r'href="/console/settlements/S', found)) == min(len(mine), 20)
    detail = client.get(f"/console/settlements/{smp['setl_id']}").text
    trace = re.findall(r"<li>([^<]+)</li>", detail.split('id="trace"')[1].split("</ol>")[0])
    assert trace == [line for line in row.trace.splitlines() if line.strip()]
    for f in funds:
        assert f.fund_pay_type in detail and f"{f.fund_payamt // 100:,}.{f.fund_payamt % 100:02d}" in detail
        if f.setl_proc_info:
            assert f.setl_proc_info.splitlines()[0].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")[:40] in detail
    assert f"{row.medfee_sumamt // 100:,}.{row.medfee_sumamt % 100:02d}" in detail
    assert f'/console/persons/{smp["psn_no"]}"' in detail and f'/console/institutions/{smp["fixmedins_code"]}"' in detail
    # filters: inpatient over 1,000 yuan only
    listed = client.get("/console/settlements", params={"med_type": "21", "amount_min": "1000"}).text
    assert "住院" in listed and "普通门诊</td>" not in listed
    # bad input says how to write it, and runs no query
    bad = client.get("/console/settlements", params={"date_from": "2024/06/01", "amount_max": "abc"})
    assert bad.status_code == 400 and "2024-06-30 的格式" in bad.text and "最多两位小数" in bad.text
    assert "settlement-results" not in bad.text
    nothing = client.get("/console/settlements", params={"certno": "110101190001010000"}).text
    assert "没有符合条件的结算" in nothing and "下一步" in nothing
    missing = client.get("/console/settlements/S-NOPE")
    assert missing.status_code == 404 and "请核对结算ID" in missing.text


def test_findings_empty_state_then_review_by_role(world):
    app, engine, smp = world["app"], world["engine"], world["sample"]
    supervisor, agent = client_for(app, "jianguan"), client_for(app, "jingban")
    from sqlalchemy import inspect

    with engine.connect() as conn:
        has_tables = inspect(conn).has_table("audit_findings")
    empty = supervisor.get("/console/findings").text
    assert "暂无审核结果" in empty and "尚未运行智能审核" in empty and "yibao audit run" in empty
    if not has_tables:
        assert "还没有审核结果表" in empty
    fid = add_finding(engine, setl=smp)
    queue = supervisor.get("/console/findings").text
    assert f'href="/console/findings/{fid}"' in queue and "待核实" in queue and "拒付" in queue
    assert f'href="/console/findings/{fid}"' not in supervisor.get("/console/findings?status=confirmed").text
    assert f'href="/console/findings/{fid}"' in supervisor.get(f"/console/findings?fixmedins_code={smp['fixmedins_code']}").text
    assert f'href="/console/findings/{fid}"' not in supervisor.get("/console/findings?severity=warn").text
    # the 经办 sees the finding but no form, and a forged post is refused without changing anything
    page = agent.get(f"/console/findings/{fid}").text
    assert "测试疑点" in page and "review-form" not in page and "确认或排除需由监管或管理员" in page
    refused = agent.post(f"/console/findings/{fid}/review", data={"decision": "confirm", "reason": "x", "csrf_token": csrf_of(page)})
    assert refused.status_code == 403 and "无权访问" in refused.text
    # the 监管 must give a reason
    page = supervisor.get(f"/console/findings/{fid}").text
    assert 'id="review-form"' in page and "收费数量" in page  # the evidence
    token = csrf_of(page)
    no_reason = supervisor.post(f"/console/findings/{fid}/review", data={"decision": "confirm", "reason": " ", "csrf_token": token})
    assert no_reason.status_code == 400 and "请填写核实理由" in no_reason.text
    done = supervisor.post(f"/console/findings/{fid}/review", data={"decision": "confirm", "reason": "核对病历，确属超量", "csrf_token": token},
                           follow_redirects=False)
    assert done.status_code == 303
    shown = supervisor.get(done.headers["location"]).text
    assert "核实结论已保存：确认" in shown and "核对病历，确属超量" in shown and "jianguan" in shown
    from yibao.console.findings import findings_t, reviews_t

    with engine.connect() as conn:
        assert conn.execute(select(findings_t.c.status, findings_t.c.reviewer).where(findings_t.c.finding_id == fid)).one() == ("confirmed", "jianguan")
        assert conn.execute(select(reviews_t.c.to_status).where(reviews_t.c.finding_id == fid)).scalars().all() == ["confirmed"]
    # a confirmed finding cannot be excluded without reopening it
    again = supervisor.post(f"/console/findings/{fid}/review", data={"decision": "exclude", "reason": "改判", "csrf_token": token})
    assert again.status_code == 400 and "重新核实" in again.text
    # the institution page counts it
    inst = supervisor.get(f"/console/institutions/{smp['fixmedins_code']}").text
    assert f'href="/console/findings/{fid}"' in inst


def test_drg_page_empty_then_run(world):
    app = world["app"]
    fund, agent = client_for(app, "jijin"), client_for(app, "jingban")
    page = fund.get("/console/drg").text
    assert "暂无数据" in page and "yibao drg pay" in page and "运行 2024 年分组测算" in page
    assert agent.get("/console/drg").status_code == 403
    supervisor = client_for(app, "jianguan")
    sup_page = supervisor.get("/console/drg").text
    assert "运行 2024 年分组测算" not in sup_page  # 监管 reads, 基金/管理员 run
    assert supervisor.post("/console/drg/run", data={"year": "2024", "csrf_token": csrf_of(sup_page)}).status_code == 403
    ran = fund.post("/console/drg/run", data={"year": "2024", "csrf_token": csrf_of(page)}, follow_redirects=False)
    assert ran.status_code == 303, ran.text[:500]
    shown = fund.get(ran.headers["location"]).text
    rate = re.search(r'id="grouping-rate">([\d.]+)%<', shown)
    assert rate and 0 < float(rate.group(1)) <= 100
    assert 'id="drg-hospitals"' in shown and "CMI" in shown
    csv = fund.get("/console/drg/files/2024/hospitals.csv")
    assert csv.status_code == 200 and csv.text.startswith("fixmedins_code,fixmedins_name,level,cases")
    assert fund.get("/console/drg/files/2024/..%2Fapi-secret").status_code == 404


def test_persons_institutions_policies(world):
    smp, client = world["sample"], client_for(world["app"], "jingban")
    found = client.get("/console/persons", params={"q": smp["certno"]}).text
    assert f'/console/persons/{smp["psn_no"]}"' in found and smp["certno"][:6] + "********" in found
    person = client.get(f"/console/persons/{smp['psn_no']}").text
    assert smp["certno"] in person and f'/console/settlements/{smp["setl_id"]}"' in person
    assert client.get("/console/persons", params={"q": "没有这个人"}).text.count("没有找到") == 1
    assert client.get("/console/persons/P-NOPE").status_code == 404
    inst = client.get(f"/console/institutions/{smp['fixmedins_code']}").text
    assert "年度结算" in inst and "2024" in inst
    policy = client.get("/console/policies/qingyi-2022", params={"on": "2024-06-30"}).text
    assert "2024-06-30 生效的" in policy and "职工住院起付线" in policy and "illustrative" in policy
    assert client.get("/console/policies/qingyi-2022", params={"on": "2020-01-01"}).status_code == 400
    assert client.get("/console/policies/nope-2000").status_code == 404
    listing = client.get("/console/policies", params={"on": "2024-06-30"}).text
    assert "qingyi-2022" in listing and "生效" in listing


def test_monthly_report_generate_and_download(world):
    fund = client_for(world["app"], "jijin")
    page = fund.get("/console/reports").text
    assert "还没有生成过月报" in page
    made = fund.post("/console/reports", data={"month": "2024-03", "csrf_token": csrf_of(page)}, follow_redirects=False)
    assert made.status_code == 303
    listed = fund.get(made.headers["location"]).text
    assert "2024-03 月报已生成" in listed and "report-2024-03.pdf" in listed
    pdf = fund.get("/console/reports/files/report-2024-03.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    html = fund.get("/console/reports/files/report-2024-03.html")
    assert "医疗保障基金运行月报（2024年3月）" in html.text
    assert fund.post("/console/reports", data={"month": "2019-01", "csrf_token": csrf_of(page)}).status_code == 400
    assert fund.get("/console/reports/files/..%2Fapi-secret").status_code == 404
    assert client_for(world["app"], "jingban").get("/console/reports/files/report-2024-03.pdf").status_code == 403
