"""The console in headless Chromium (Debian's, driven by Playwright) against ``yibao serve`` on a
small region settled through the bulk channel: log in, read the dashboard's answer and see its
charts drawn, find a settlement by certificate number and open its explanation, review a finding
(after the honest empty state), and see a 经办 refused the review."""

from __future__ import annotations

import re

import pytest

from consolebrowser import VIEWPORT, chromium, serve
from consoleworld import PASSWORD, add_finding, populate, sample
from yibao.storage import db


@pytest.fixture(scope="module")
def site(region, tmp_path_factory):
    folder = tmp_path_factory.mktemp("console-browser")
    url = f"sqlite:///{folder / 'yibao.sqlite'}"
    engine = db.make_engine(url)
    db.create_all(engine)
    populate(engine, region)
    with serve(url, folder) as base, chromium() as browser:
        yield {"base": base, "browser": browser, "engine": engine, "sample": sample(engine)}
    engine.dispose()


def open_as(site, username: str):
    page = site["browser"].new_page(viewport=VIEWPORT, locale="zh-CN")
    page.goto(site["base"] + "/console/")  # not logged in: sent to the login form
    assert "/console/login" in page.url
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state("networkidle")
    return page


def test_login_dashboard_sentence_and_charts(site):
    page = open_as(site, "jijin")
    assert page.url.endswith("/console/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    sentence = page.locator("#reserve-sentence").inner_text()
    assert re.search(r"城乡居民医保基金（含大病保险）截至\d{4}年\d+月末累计结余 [\d,]+\.\d\d 元，.*可支付 \d+\.\d 个月。", sentence), sentence
    growth = page.locator("#growth-sentence").inner_text()
    assert "就医人数" in growth and "次均基金支付" in growth and "主要来自" in growth
    # ECharts drew into a canvas of real size
    page.wait_for_selector("#chart-scheme[data-rendered='1'] canvas")
    box = page.locator("#chart-scheme canvas").first.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 150
    assert page.locator("#chart-growth canvas").count() == 1
    # no horizontal scroll at 1366×768
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"]
    # a keyboard user reaches the skip link first, then the menu
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "跳到正文"
    page.close()


def test_find_settlement_by_certificate_and_open_explanation(site):
    smp = site["sample"]
    page = open_as(site, "jingban")
    page.get_by_role("link", name="结算", exact=True).click()
    page.get_by_label("证件号码").fill(smp["certno"])
    page.get_by_role("button", name="查询").click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("link", name=smp["setl_id"]).click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name=re.compile("计算过程说明")).is_visible()
    steps = page.locator("#trace li")
    assert steps.count() >= 3
    assert page.get_by_role("heading", name=re.compile("基金分项")).is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"]
    assert page.locator(f'a[href="/console/institutions/{smp["fixmedins_code"]}"]').count() >= 1
    assert page.locator(f'a[href="/console/persons/{smp["psn_no"]}"]').count() >= 1
    page.close()


def test_findings_empty_state_then_review_and_agent_refused(site):
    page = open_as(site, "jianguan")
    page.get_by_role("link", name="审核", exact=True).click()
    page.wait_for_load_state("networkidle")
    empty = page.locator("#findings-empty").inner_text()
    assert "暂无审核结果" in empty and "尚未运行智能审核" in empty
    fid = add_finding(site["engine"], setl=site["sample"])
    page.reload()
    page.get_by_role("link", name=f"#{fid}").click()
    page.wait_for_load_state("networkidle")
    page.get_by_label("排除（不违规）").check()
    page.get_by_label("核实理由（必填）").fill("机构提供了医嘱，数量合理")
    page.get_by_role("button", name="提交核实结论").click()
    page.wait_for_load_state("networkidle")
    assert "核实结论已保存：排除" in page.locator("#review-saved").inner_text()
    assert "机构提供了医嘱，数量合理" in page.content()
    page.close()

    other = add_finding(site["engine"], setl=site["sample"])
    agent = open_as(site, "jingban")
    agent.goto(f"{site['base']}/console/findings/{other}")
    assert agent.locator("#review-form").count() == 0
    assert "确认或排除需由监管或管理员" in agent.locator("#review-not-allowed").inner_text()
    token = agent.locator("input[name=csrf_token]").first.get_attribute("value")
    answer = agent.request.post(f"{site['base']}/console/findings/{other}/review",
                                form={"decision": "confirm", "reason": "经办试图确认", "csrf_token": token})
    assert answer.status == 403 and "无权访问" in answer.text()
    agent.reload()
    assert "待核实" in agent.locator("h1").inner_text()
    agent.close()


def test_main_pages_fit_a_laptop_screen(site):
    """1366×768: no horizontal scroll on the main pages, and every page keeps the focus outline."""
    smp = site["sample"]
    page = open_as(site, "admin")
    for path in ("/console/", "/console/settlements", f"/console/settlements/{smp['setl_id']}", "/console/findings",
                 "/console/drg", f"/console/persons/{smp['psn_no']}", "/console/institutions",
                 f"/console/institutions/{smp['fixmedins_code']}", "/console/policies",
                 "/console/policies/qingyi-2022?on=2024-06-30", "/console/reports"):
        page.goto(site["base"] + path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"], path
        assert page.title().endswith("医保控制台"), path
    # keyboard: the search form is reachable and submits with Enter
    page.goto(site["base"] + "/console/settlements")
    page.get_by_label("证件号码").focus()
    page.keyboard.type(smp["certno"])
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert f"certno={smp['certno']}" in page.url and page.locator("#settlement-results tbody tr").count() >= 1
    page.close()
