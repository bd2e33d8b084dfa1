"""The bureau API: login, roles, every endpoint's answers, errors in Chinese with a next step,
and schemathesis over its OpenAPI document (no 500s) — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import pytest
import schemathesis
import simplejson
from hypothesis import HealthCheck, settings
from starlette.testclient import TestClient

from httpkit import API_SECRET, DAY, HOSPITAL
from yibao.api import security
from yibao.api.app import create_api
from yibao.interface import Platform
from yibao.interface.client import InProcess, InterfaceClient

PASSWORD = "眉山医保2020!"
ROLES = ("agent", "supervisor", "fund", "admin")


@pytest.fixture
def api(world):
    with world.begin() as conn:
        for role in ROLES:
            security.add_user(conn, f"u.{role}", PASSWORD, role)
    app = create_api(world, secret=API_SECRET)
    with TestClient(app) as client:
        client.tokens = {}
        for role in ROLES:
            answer = client.post("/login", json={"username": f"u.{role}", "password": PASSWORD})
            assert answer.status_code == 200 and answer.json()["role"] == role
            client.tokens[role] = answer.json()["access_token"]
        yield client


def get(api, path, role="admin", **params):
    answer = api.get(path, params=params, headers={"Authorization": f"Bearer {api.tokens[role]}"})
    return answer.status_code, simplejson.loads(answer.content, use_decimal=True)


def settle_one(world):
    client = InterfaceClient(InProcess(Platform(world)), HOSPITAL, mdtrtarea_admvs="511402", clock=lambda: DAY)
    mdtrt_id = client.admit(psn_no="P1", insutype="390", med_type="21", begntime="2020-03-01 08:00:00")
    client.ok("2301", {"feedetail": client.fee_lines(mdtrt_id, "P1", [("XA", 100, 80), ("XB", 50, 40), ("XC", 500, 1)])})
    return mdtrt_id, client.ok("2304", {"data": client.settle_data(mdtrt_id, "P1", "390", "10500.00")})["setlinfo"]["setl_id"]


def test_login_refusals(api):
    wrong = api.post("/login", json={"username": "u.admin", "password": "nope"})
    assert wrong.status_code == 401
    assert wrong.json() == {"code": 401, "message": "用户名或密码错误，或账号已停用", "next": "核对用户名和密码；忘记密码请联系管理员重置"}
    assert api.get("/me").json()["message"] == "未登录或缺少令牌"
    assert api.get("/me", headers={"Authorization": "Bearer x.y.z"}).json()["message"] == "令牌无效"
    old, _ = security.issue_token(API_SECRET, "u.admin", "admin", now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=9))
    expired = api.get("/me", headers={"Authorization": f"Bearer {old}"})
    assert expired.status_code == 401 and expired.json()["message"] == "令牌已过期"
    forged, _ = security.issue_token("another-secret-of-32-bytes-or-more!", "u.fund", "admin")
    assert api.get("/me", headers={"Authorization": f"Bearer {forged}"}).json()["message"] == "令牌无效"


def test_role_checks(api):
    status, body = get(api, "/persons/P1", role="fund")
    assert status == 403
    assert body == {"code": 403, "message": "当前角色（基金）无权访问此功能", "next": "需要以下角色之一：经办、监管、管理员；请联系管理员"}
    assert get(api, "/persons/P1", role="agent")[0] == 200
    assert get(api, "/users", role="supervisor")[0] == 403
    made = api.post("/users", json={"username": "new", "password": "12345678", "role": "基金"},
                    headers={"Authorization": f"Bearer {api.tokens['agent']}"})
    assert made.status_code == 403


def test_persons(api):
    status, body = get(api, "/persons", role="agent", q="张12")
    assert status == 200 and [p["psn_no"] for p in body["persons"]] == ["P1", "P2"]
    assert get(api, "/persons", q="511402198001011230")[1]["persons"][0]["psn_no"] == "P1"
    status, person = get(api, "/persons/P2", role="supervisor")
    assert person["certno"] == "511402198001011249" and person["insurance"][0]["insutype"] == "390"
    assert person["insurance"][0]["acct_balc"] == Decimal("0.00")
    assert [i["psn_idet_type"] for i in person["identities"]] == ["2103"] and person["identities"][0]["assistance"] == "dibao"
    status, body = get(api, "/persons/NOPE")
    assert status == 404 and body["next"] == "用 GET /api/persons?q=… 按姓名或证件号码查找"


def test_institutions_and_users(api, world):
    status, body = get(api, "/institutions", role="fund", q="医院")
    assert [i["fixmedins_code"] for i in body["institutions"]] == [HOSPITAL]
    status, one = get(api, f"/institutions/{HOSPITAL}", role="fund")
    assert one["fixmedins_name"] == "眉山市人民医院" and one["gateway_keys"] == []
    made = api.post("/users", json={"username": "li.jg", "password": "abcdefgh", "role": "监管", "display_name": "李"},
                    headers={"Authorization": f"Bearer {api.tokens['admin']}"})
    assert made.status_code == 201 and made.json()["role"] == "supervisor" and "password_hash" not in made.json()
    dup = api.post("/users", json={"username": "li.jg", "password": "abcdefgh", "role": "agent"},
                   headers={"Authorization": f"Bearer {api.tokens['admin']}"})
    assert dup.status_code == 400 and dup.json()["message"] == "用户 li.jg 已存在"
    assert "li.jg" in [u["username"] for u in get(api, "/users")[1]["users"]]


def test_catalogue_search_and_import(api):
    auth = {"Authorization": f"Bearer {api.tokens['agent']}"}
    answer = api.post("/catalogue/import", json={"items": [{"med_list_codg": "NEW1", "name": "新药", "chrgitm_lv": "02",
                                                            "selfpay_prop": "0.15", "list_type": "101"}]}, headers=auth)
    assert answer.status_code == 200 and answer.json() == {"imported": 1}
    status, body = get(api, "/catalogue", role="fund", q="NEW")
    assert body["items"][0]["selfpay_prop"] == Decimal("0.15") and body["items"][0]["chrgitm_lv"] == "02"
    csv_text = "med_list_codg,name,chrgitm_lv,pric_uplmt_amt,nego_drug\nCSV1,表格药,01,12.5,1\nCSV2,表格药二,03,,0\n"
    answer = api.post("/catalogue/import.csv", content=csv_text.encode(), headers={**auth, "Content-Type": "text/csv"})
    assert answer.json() == {"imported": 2}
    item = get(api, "/catalogue", q="CSV1")[1]["items"][0]
    assert item["pric_uplmt_amt"] == Decimal("12.5") and item["nego_drug"] is True
    bad = api.post("/catalogue/import.csv", content=b"med_list_codg,chrgitm_lv\nX,09\n", headers={**auth, "Content-Type": "text/csv"})
    assert bad.status_code == 400 and bad.json()["message"].startswith("CSV 第 2 行不合法")
    invalid = api.post("/catalogue/import", json={"items": [{"med_list_codg": "X", "chrgitm_lv": "9"}]}, headers=auth)
    assert invalid.status_code == 422 and invalid.json()["message"].startswith("请求参数不合法：items.0.chrgitm_lv")
    twice = api.post("/catalogue/import", json={"items": [{"med_list_codg": "D1", "chrgitm_lv": "01"}, {"med_list_codg": "D1", "chrgitm_lv": "02"}]},
                     headers=auth)
    assert twice.status_code == 400 and twice.json()["message"] == "目录编码 D1 在本次导入中重复出现"
    codes = api.post("/code-lists/disease/import", json={"items": [{"code": "I63.900", "name": "脑梗死"}]}, headers=auth)
    assert codes.json() == {"list_kind": "disease", "imported": 1}
    assert get(api, "/code-lists/disease", q="I63")[1]["items"][0]["name"] == "脑梗死"
    assert get(api, "/code-lists/nothing")[0] == 404


def test_policies(api):
    status, body = get(api, "/policies", role="fund")
    assert {"meishan-2020", "qingyuan-2021", "anji-2020"} <= {p["policy_id"] for p in body["policies"]}
    status, shown = get(api, "/policies/meishan-2020", on="2020-06-01")
    assert status == 200 and shown["resolved"]["id"] == "meishan-2020" and "390" in shown["resolved"]["schemes"]
    assert get(api, "/policies/nope", on="2020-06-01")[0] == 404
    yaml_text = "id: meishan-copy\nextends: meishan-2020\nname: 眉山副本\n"
    answer = api.post("/policies/import", content=yaml_text.encode(), headers={"Authorization": f"Bearer {api.tokens['admin']}",
                                                                             "Content-Type": "application/x-yaml"})
    if answer.status_code == 201:
        assert answer.json()["policy_id"] == "meishan-copy"
        assert "meishan-copy" in {p["policy_id"] for p in get(api, "/policies")[1]["policies"]}
    else:  # the policy format may require more keys of a child policy; the refusal must say what
        assert answer.status_code == 400 and answer.json()["message"].startswith("政策文件不合法")
    broken = api.post("/policies/import", content=b"id: [", headers={"Authorization": f"Bearer {api.tokens['admin']}"})
    assert broken.status_code == 400 and broken.json()["next"] == "用 yibao policy check 检查文件后重新导入"
    assert api.post("/policies/import", content=yaml_text.encode(), headers={"Authorization": f"Bearer {api.tokens['agent']}"}).status_code == 403


def test_encounters_and_settlements(api, world):
    mdtrt_id, setl_id = settle_one(world)
    status, body = get(api, "/settlements", role="fund", psn_no="P1")
    assert [s["setl_id"] for s in body["settlements"]] == [setl_id]
    assert body["settlements"][0]["hifp_pay"] == Decimal("5941.00") and "trace" not in body["settlements"][0]
    assert get(api, "/settlements", fixmedins_code=HOSPITAL, date_from="2020-03-11")[1]["settlements"] == []
    assert get(api, "/settlements", fixmedins_code=HOSPITAL, date_from="2020-03-10", date_to="2020-03-10")[1]["settlements"][0]["setl_id"] == setl_id
    status, one = get(api, f"/settlements/{setl_id}", role="supervisor")
    assert one["setlinfo"]["medfee_sumamt"] == Decimal("10500.00")
    assert one["setldetail"][0]["fund_pay_type"] == "390100" and one["setldetail"][0]["fund_payamt"] == Decimal("5941.00")
    assert one["trace"] and all(isinstance(line, str) for line in one["trace"])
    status, enc = get(api, f"/encounters/{mdtrt_id}", role="agent")
    assert enc["psn_no"] == "P1" and len(enc["fee_lines"]) == 3 and enc["settlements"] == [setl_id]
    assert enc["fee_lines"][0]["det_item_fee_sumamt"] == Decimal("8000.00")
    assert [e["mdtrt_id"] for e in get(api, "/encounters", psn_no="P1")[1]["encounters"]] == [mdtrt_id]
    status, body = get(api, "/encounters")
    assert status == 400 and body["message"] == "请至少给出一个查询条件"


def test_openapi_has_examples_and_is_served_under_api(server):
    doc = httpx.get(server.url + "/api/openapi.json").json()
    assert doc["info"]["title"] == "yibao 医保局业务 API"
    assert doc["components"]["schemas"]["Login"]["examples"][0]["username"] == "wang.jb"
    assert "/settlements/{setl_id}" in doc["paths"] and "/login" in doc["paths"]


# ── schemathesis: every operation, generated inputs, no 500s ───────────────────────────────────


class AppProxy:
    """The ASGI app schemathesis calls: the API over the current test's database."""

    def __init__(self) -> None:
        from yibao.storage import db

        self.target = create_api(db.make_engine("sqlite://"), secret=API_SECRET)  # serves /openapi.json at collection

    async def __call__(self, scope, receive, send):
        await self.target(scope, receive, send)


PROXY = AppProxy()
schema = schemathesis.openapi.from_asgi("/openapi.json", PROXY)


@pytest.fixture
def api_target(world):
    with world.begin() as conn:
        security.add_user(conn, "st.admin", PASSWORD, "admin")
    settle_one(world)
    previous = PROXY.target
    PROXY.target = create_api(world, secret=API_SECRET)
    yield
    PROXY.target = previous


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_answers_500(case, api_target):
    token, _ = security.issue_token(API_SECRET, "st.admin", "admin")
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
    assert response.headers["content-type"][0].startswith("application/json")
