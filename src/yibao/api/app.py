"""The bureau's REST API: ``create_api(engine)`` returns the FastAPI application that
``yibao serve`` mounts under ``/api`` (OpenAPI at ``/api/openapi.json``).

Every endpoint but ``POST /login`` needs ``Authorization: Bearer <token>`` and a role allowed
for it; every error is JSON ``{"code": …, "message": "…", "next": "…"}`` with a Chinese message
and what to do next. Money leaves as exact decimal numbers (yuan, two places).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import tempfile
from pathlib import Path
from typing import Any, Callable

import jwt
import simplejson
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from yibao.money import fen_to_yuan
from yibao.storage.db import reading
from yibao.storage import schema as s

from . import security

ALL = ("agent", "supervisor", "fund", "admin")
CASEWORK = ("agent", "supervisor", "admin")  # personal data
CLAIMS = ("agent", "supervisor", "fund", "admin")
CODE_LIST_KINDS = {
    "disease": "疾病与诊断（1307）", "operation": "手术操作（1308）", "chronic": "门诊慢特病种（1309）",
    "dise_pay": "按病种付费病种（1310）", "daysurg": "日间手术治疗病种（1311）", "tumour": "肿瘤形态学（1313）",
    "tcm_disease": "中医疾病（1314）", "tcm_syndrome": "中医证候（1315）",
}
JSON_TYPE = "application/json; charset=utf-8"


class ApiError(Exception):
    def __init__(self, status: int, message: str, next_step: str) -> None:
        super().__init__(message)
        self.status, self.message, self.next_step = status, message, next_step


def out(value: Any, status: int = 200) -> Response:
    return Response(simplejson.dumps(value, ensure_ascii=False, use_decimal=True, default=_default),
                    status_code=status, media_type=JSON_TYPE)


def _default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    raise TypeError(type(value).__name__)


# ── request bodies (with the examples the OpenAPI document shows) ───────────────────────────────


class Login(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"username": "wang.jb", "password": "眉山医保2020!"}]})
    username: str = Field(min_length=1, max_length=50)
    password: str = Field(min_length=1, max_length=200)


class NewUser(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"username": "li.jg", "password": "至少八个字符abc", "role": "supervisor", "display_name": "李监管"}]})
    username: str = Field(min_length=1, max_length=50)
    password: str = Field(min_length=8, max_length=200)
    role: str = Field(description="agent 经办 | supervisor 监管 | fund 基金 | admin 管理员", max_length=12)
    display_name: str = Field(default="", max_length=50)


class CatalogueEntry(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"med_list_codg": "XA10BAA001A001", "name": "二甲双胍片", "list_type": "101", "med_chrgitm_type": "09", "chrgitm_lv": "01", "ver": "20200301"}]})
    med_list_codg: str = Field(min_length=1, max_length=50)
    name: str = Field(default="", max_length=200)
    list_type: str | None = Field(default=None, max_length=6)
    med_chrgitm_type: str | None = Field(default=None, max_length=6)
    chrgitm_lv: str = Field(pattern="^0[123]$")
    selfpay_prop: str | None = Field(default=None, pattern=r"^(0(\.\d{1,4})?|1(\.0{1,4})?)$")
    pric_uplmt_amt: str | None = Field(default=None, pattern=r"^\d{1,10}(\.\d{1,6})?$")
    nego_drug: bool = False
    lmt_used_flag: str = Field(default="0", pattern="^[01]$")
    begndate: dt.date | None = None
    enddate: dt.date | None = None
    ver: str | None = Field(default=None, max_length=20)


class CatalogueImport(BaseModel):
    items: list[CatalogueEntry] = Field(min_length=1, max_length=50_000)


class CodeListEntry(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"code": "I63.900", "name": "脑梗死", "ver": "20200101"}]})
    code: str = Field(min_length=1, max_length=50)
    name: str = Field(min_length=1, max_length=500)
    ver: str = Field(default="0", max_length=20)
    begndate: dt.date | None = None
    enddate: dt.date | None = None
    vali_flag: str = Field(default="1", pattern="^[01]$")


class CodeListImport(BaseModel):
    items: list[CodeListEntry] = Field(min_length=1, max_length=100_000)


# ── the application ─────────────────────────────────────────────────────────────────────────────


def create_api(engine: Engine, *, secret: str | None = None, data_dir: Path | None = None) -> FastAPI:
    secret = secret or security.api_secret(data_dir)
    api = FastAPI(
        title="yibao 医保局业务 API",
        description=(
            "医保局工作人员使用的接口。先 `POST /login` 取得令牌，再在请求头带 `Authorization: Bearer <令牌>`。"
            "角色：agent 经办、supervisor 监管、fund 基金、admin 管理员。错误统一为 "
            '`{"code":…, "message":"…", "next":"…"}`。金额单位为元，精确到分。'
        ),
        version="1.0.0",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    bearer = HTTPBearer(auto_error=False)

    @api.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> Response:
        return out({"code": exc.status, "message": exc.message, "next": exc.next_step}, exc.status)

    @api.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors()[:5]:
            where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
            problems.append(f"{where}: {error.get('msg')}")
        return out({"code": 422, "message": "请求参数不合法：" + "；".join(problems),
                    "next": "按 /api/openapi.json 中的说明更正参数后重试"}, 422)

    @api.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        messages = {404: ("没有这个接口", "查看 /api/openapi.json 中的接口列表"),
                    405: ("该接口不支持这种请求方法", "查看 /api/openapi.json 中该接口的方法")}
        message, next_step = messages.get(exc.status_code, (str(exc.detail), "检查请求后重试"))
        return out({"code": exc.status_code, "message": message, "next": next_step}, exc.status_code)

    @api.exception_handler(Exception)
    async def _crash(_request: Request, exc: Exception) -> Response:  # pragma: no cover - a bug
        import logging

        logging.getLogger("yibao.api").exception("unexpected API error")
        return out({"code": 500, "message": "服务器内部错误", "next": "请稍后重试；如仍失败请联系系统管理员并提供请求时间"}, 500)

    def role(*allowed: str) -> Callable[..., dict[str, Any]]:
        def dependency(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> dict[str, Any]:
            if credentials is None or credentials.scheme.lower() != "bearer":
                raise ApiError(401, "未登录或缺少令牌", "先 POST /api/login 取得令牌，再在请求头带 Authorization: Bearer <令牌>")
            try:
                claims = security.read_token(secret, credentials.credentials)
            except jwt.ExpiredSignatureError:
                raise ApiError(401, "令牌已过期", "重新 POST /api/login 取得新令牌") from None
            except jwt.InvalidTokenError:
                raise ApiError(401, "令牌无效", "重新 POST /api/login 取得新令牌") from None
            if claims.get("role") not in allowed:
                names = "、".join(security.ROLES[r] for r in allowed)
                raise ApiError(403, f"当前角色（{security.ROLES.get(claims.get('role'), claims.get('role'))}）无权访问此功能",
                               f"需要以下角色之一：{names}；请联系管理员")
            return claims

        return dependency

    def read(fn: Callable[..., Any], *args: Any) -> Any:
        def run() -> Any:
            with _refusing_bad_data(), reading(engine) as conn:  # no write lock on SQLite
                return fn(conn, *args)

        return run_in_threadpool(run)

    def write(fn: Callable[..., Any], *args: Any) -> Any:
        def run() -> Any:
            with _refusing_bad_data(), engine.begin() as conn:
                return fn(conn, *args)

        return run_in_threadpool(run)

    @api.middleware("http")
    async def _no_nul(request: Request, call_next):
        raw = request.scope.get("path", "") + request.scope.get("query_string", b"").decode("latin-1")
        if "\x00" in raw or "%00" in raw:
            return out({"code": 400, "message": "请求中含有不允许的 NUL 字符", "next": "去掉请求路径或参数中的 NUL（\\u0000）字符后重试"}, 400)
        return await call_next(request)

    # ── login and users ─────────────────────────────────────────────────────────────────────

    @api.post("/login", tags=["登录"], summary="用户名密码登录，取得令牌",
              responses={200: {"content": {"application/json": {"example": {"access_token": "eyJ…", "token_type": "bearer", "expires_in": 28800, "role": "agent"}}}}})
    async def login(body: Login) -> Response:
        row = await write(security.authenticate, body.username, body.password)
        if row is None:
            raise ApiError(401, "用户名或密码错误，或账号已停用", "核对用户名和密码；忘记密码请联系管理员重置")
        token, seconds = security.issue_token(secret, row.username, row.role)
        return out({"access_token": token, "token_type": "bearer", "expires_in": seconds, "role": row.role,
                    "role_name": security.ROLES[row.role]})

    @api.get("/me", tags=["登录"], summary="当前用户")
    async def me(user: dict = Depends(role(*ALL))) -> Response:
        return out({"username": user["sub"], "role": user["role"], "role_name": security.ROLES[user["role"]]})

    @api.post("/users", tags=["用户"], summary="新建用户（管理员）", status_code=201)
    async def create_user(body: NewUser, _user: dict = Depends(role("admin"))) -> Response:
        try:
            made = await write(lambda conn: security.add_user(conn, body.username, body.password, body.role, display_name=body.display_name))
        except security.UserError as exc:
            raise ApiError(400, str(exc), "更正后重试") from None
        return out(made, 201)

    @api.get("/users", tags=["用户"], summary="用户列表（管理员）")
    async def list_users(_user: dict = Depends(role("admin"))) -> Response:
        def q(conn):
            cols = [c for c in s.api_users.c if c.name != "password_hash"]
            return [dict(r._mapping) for r in conn.execute(select(*cols).order_by(s.api_users.c.username))]

        return out({"users": await read(q)})

    # ── persons ─────────────────────────────────────────────────────────────────────────────

    @api.get("/persons", tags=["参保人"], summary="查找参保人（姓名、证件号码前缀或人员编号）")
    async def search_persons(
        q: str = Query(..., min_length=1, max_length=50, description="姓名片段、证件号码前缀或人员编号", examples=["张"]),
        limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=1_000_000),
        _user: dict = Depends(role(*CASEWORK)),
    ) -> Response:
        def run(conn):
            t = s.persons
            rows = conn.execute(
                select(t).where(or_(t.c.psn_no == q, t.c.certno.startswith(q, autoescape=True), t.c.psn_name.contains(q, autoescape=True)))
                .order_by(t.c.psn_no).limit(limit).offset(offset)
            ).fetchall()
            return [_person(r) for r in rows]

        return out({"persons": await read(run), "limit": limit, "offset": offset})

    @api.get("/persons/{psn_no}", tags=["参保人"], summary="参保人详情（参保险种、身份类别）")
    async def get_person(psn_no: str, _user: dict = Depends(role(*CASEWORK))) -> Response:
        def run(conn):
            row = conn.execute(select(s.persons).where(s.persons.c.psn_no == psn_no)).first()
            if row is None:
                return None
            person = _person(row)
            person["insurance"] = [
                {**_plain(i, exclude=("acct_balc",)), "acct_balc": fen_to_yuan(i.acct_balc)}
                for i in conn.execute(select(s.insurance).where(s.insurance.c.psn_no == psn_no))
            ]
            person["identities"] = [_plain(i) for i in conn.execute(select(s.identities).where(s.identities.c.psn_no == psn_no))]
            return person

        found = await read(run)
        if found is None:
            raise ApiError(404, f"没有人员编号为 {psn_no} 的参保人", "用 GET /api/persons?q=… 按姓名或证件号码查找")
        return out(found)

    # ── institutions ────────────────────────────────────────────────────────────────────────

    @api.get("/institutions", tags=["定点医药机构"], summary="定点医药机构列表")
    async def list_institutions(
        q: str | None = Query(None, max_length=50, description="名称片段或机构编号", examples=["人民医院"]),
        admdvs: str | None = Query(None, max_length=6), fixmedins_type: str | None = Query(None, pattern="^[12]$"),
        limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=1_000_000),
        _user: dict = Depends(role(*ALL)),
    ) -> Response:
        def run(conn):
            t = s.institutions
            query = select(t).order_by(t.c.fixmedins_code)
            if q:
                query = query.where(or_(t.c.fixmedins_code == q, t.c.fixmedins_name.contains(q, autoescape=True)))
            if admdvs:
                query = query.where(t.c.admdvs.startswith(admdvs, autoescape=True))
            if fixmedins_type:
                query = query.where(t.c.fixmedins_type == fixmedins_type)
            return [_plain(r) for r in conn.execute(query.limit(limit).offset(offset))]

        return out({"institutions": await read(run), "limit": limit, "offset": offset})

    @api.get("/institutions/{fixmedins_code}", tags=["定点医药机构"], summary="定点医药机构详情（含网关访问密钥概况）")
    async def get_institution(fixmedins_code: str, _user: dict = Depends(role(*ALL))) -> Response:
        def run(conn):
            row = conn.execute(select(s.institutions).where(s.institutions.c.fixmedins_code == fixmedins_code)).first()
            if row is None:
                return None
            keys = conn.execute(
                select(s.gateway_keys.c.access_key, s.gateway_keys.c.algorithm, s.gateway_keys.c.status, s.gateway_keys.c.created_at)
                .where(s.gateway_keys.c.fixmedins_code == fixmedins_code)
            ).fetchall()
            return {**_plain(row), "gateway_keys": [_plain(k) for k in keys]}

        found = await read(run)
        if found is None:
            raise ApiError(404, f"没有编号为 {fixmedins_code} 的定点医药机构", "用 GET /api/institutions?q=… 查找")
        return out(found)

    # ── catalogue and code lists ────────────────────────────────────────────────────────────

    @api.get("/catalogue", tags=["目录"], summary="查询医保目录")
    async def search_catalogue(
        q: str | None = Query(None, max_length=50, description="名称片段或目录编码前缀", examples=["二甲双胍"]),
        list_type: str | None = Query(None, max_length=6), chrgitm_lv: str | None = Query(None, pattern="^0[123]$"),
        limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=1_000_000),
        _user: dict = Depends(role(*ALL)),
    ) -> Response:
        def run(conn):
            t = s.catalogue
            query = select(t).order_by(t.c.med_list_codg)
            if q:
                query = query.where(or_(t.c.med_list_codg.startswith(q, autoescape=True), t.c.name.contains(q, autoescape=True)))
            if list_type:
                query = query.where(t.c.list_type == list_type)
            if chrgitm_lv:
                query = query.where(t.c.chrgitm_lv == chrgitm_lv)
            return [_plain(r) for r in conn.execute(query.limit(limit).offset(offset))]

        return out({"items": await read(run), "limit": limit, "offset": offset})

    @api.post("/catalogue/import", tags=["目录"], summary="导入医保目录（JSON，按编码覆盖）")
    async def import_catalogue(body: CatalogueImport, _user: dict = Depends(role("agent", "admin"))) -> Response:
        entries = [e.model_dump(exclude_none=True) for e in body.items]
        return out({"imported": await _import_catalogue(entries)})

    @api.post("/catalogue/import.csv", tags=["目录"], summary="导入医保目录（CSV，首行为字段名，UTF-8）",
              openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}, "example": "med_list_codg,name,list_type,chrgitm_lv,selfpay_prop\nXB01,某药,101,02,0.10\n"}}}})
    async def import_catalogue_csv(request: Request, _user: dict = Depends(role("agent", "admin"))) -> Response:
        raw = await request.body()
        if len(raw) > 50 * 1024 * 1024:
            raise ApiError(413, "文件超过 50 MB", "分成多个文件导入")
        try:
            text = raw.decode("utf-8-sig")
            rows = list(csv.DictReader(io.StringIO(text)))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ApiError(400, f"CSV 无法读取：{exc}", "以 UTF-8 编码、逗号分隔、首行为字段名重新导出") from None
        if not rows:
            raise ApiError(400, "CSV 中没有数据行", "首行写字段名（med_list_codg,name,chrgitm_lv…），其后每行一个目录项")
        entries = []
        for number, row in enumerate(rows, start=2):
            clean = {k.strip(): (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k and v not in (None, "")}
            if "nego_drug" in clean:
                clean["nego_drug"] = clean["nego_drug"] in ("1", "true", "True", "是")
            try:
                entries.append(CatalogueEntry(**clean).model_dump(exclude_none=True))
            except Exception as exc:  # noqa: BLE001 - pydantic's ValidationError and TypeError alike
                raise ApiError(400, f"CSV 第 {number} 行不合法：{str(exc).splitlines()[0][:200]}", "更正该行后重新导入") from None
        return out({"imported": await _import_catalogue(entries)})

    async def _import_catalogue(entries: list[dict[str, Any]]) -> int:
        from yibao.registry import store

        _no_duplicates([e["med_list_codg"] for e in entries], "目录编码")
        try:
            count = await write(store.upsert_catalogue, entries)
        except ValueError as exc:
            raise ApiError(400, str(exc), "更正目录数据后重新导入") from None
        return count

    @api.get("/code-lists/{list_kind}", tags=["目录"], summary="查询疾病、手术等代码目录")
    async def search_code_list(list_kind: str, q: str | None = Query(None, max_length=50),
                               limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=1_000_000),
                               _user: dict = Depends(role(*ALL))) -> Response:
        _kind(list_kind)

        def run(conn):
            t = s.code_lists
            query = select(t).where(t.c.list_kind == list_kind).order_by(t.c.code)
            if q:
                query = query.where(or_(t.c.code.startswith(q, autoescape=True), t.c.name.contains(q, autoescape=True)))
            return [_plain(r) for r in conn.execute(query.limit(limit).offset(offset))]

        return out({"list_kind": list_kind, "items": await read(run)})

    @api.post("/code-lists/{list_kind}/import", tags=["目录"], summary="导入疾病、手术等代码目录（按代码覆盖）")
    async def import_code_list(list_kind: str, body: CodeListImport, _user: dict = Depends(role("agent", "admin"))) -> Response:
        _kind(list_kind)
        from yibao.interface.catalogues import upsert_code_list

        _no_duplicates([e.code for e in body.items], "代码")
        count = await write(upsert_code_list, list_kind, [e.model_dump() for e in body.items])
        return out({"list_kind": list_kind, "imported": count})

    # ── policies ────────────────────────────────────────────────────────────────────────────

    @api.get("/policies", tags=["政策"], summary="政策列表（随产品发布的与已导入的）")
    async def list_policies(_user: dict = Depends(role(*ALL))) -> Response:
        from yibao.policy import PolicyLibrary

        def run(conn):
            imported = {r.policy_id: r for r in conn.execute(select(s.policies))}
            rows = []
            for p in PolicyLibrary.shipped().all():
                rows.append({"policy_id": p.id, "name": p.name, "pooling_admdvs": p.pooling_prefix, "insutypes": list(p.insutypes),
                             "valid_from": p.valid_from, "valid_to": p.valid_to, "shipped": True, "imported": p.id in imported})
            for pid, r in imported.items():
                if not any(x["policy_id"] == pid for x in rows):
                    rows.append({"policy_id": pid, "name": r.name, "pooling_admdvs": r.pooling_admdvs, "insutypes": r.insutypes.split(","),
                                 "valid_from": r.valid_from, "valid_to": r.valid_to, "shipped": False, "imported": True})
            return rows

        return out({"policies": await read(run)})

    @api.get("/policies/{policy_id}", tags=["政策"], summary="某日生效的政策参数（已解析）")
    async def show_policy(policy_id: str, on: dt.date = Query(..., description="日期 YYYY-MM-DD", examples=["2020-06-01"]),
                          _user: dict = Depends(role(*ALL))) -> Response:
        from yibao.policy import PolicyError

        def run(conn):
            return _policy_library(conn).get(policy_id)

        try:
            policy = await read(run)
            resolved = policy.resolve(on)
        except PolicyError as exc:
            raise ApiError(404, str(exc), "用 GET /api/policies 查看可用政策及其生效日期") from None
        except Exception as exc:  # noqa: BLE001 - a date outside the policy's validity and the like
            raise ApiError(400, f"政策 {policy_id} 在 {on} 无法解析：{str(exc)[:200]}", "换一个在政策有效期内的日期") from None
        return out({"policy_id": policy.id, "name": policy.name, "on": on, "source": policy.source,
                    "resolved": json.loads(resolved.model_dump_json())})

    @api.post("/policies/import", tags=["政策"], summary="导入政策 YAML（管理员）",
              openapi_extra={"requestBody": {"required": True, "content": {"application/x-yaml": {"schema": {"type": "string"}, "example": "id: my-region-2025\nextends: meishan-2020\n…"}}}})
    async def import_policy(request: Request, _user: dict = Depends(role("admin"))) -> Response:
        from yibao.policy import PolicyError, PolicyLibrary, shipped_policy_paths
        from yibao.registry.store import import_policy as store_policy

        raw = await request.body()
        if not raw.strip() or len(raw) > 2 * 1024 * 1024:
            raise ApiError(400, "政策文件为空或超过 2 MB", "以请求体发送一个 UTF-8 编码的政策 YAML 文件")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "政策文件不是 UTF-8 编码", "以 UTF-8 重新保存后导入") from None
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "imported.yaml"
            path.write_text(text, encoding="utf-8")
            try:
                library = PolicyLibrary.from_paths([*shipped_policy_paths(), path])
                policy = next(p for p in library.all() if Path(p.source) == path)
            except (PolicyError, StopIteration) as exc:
                raise ApiError(400, f"政策文件不合法：{str(exc)[:300]}", "用 yibao policy check 检查文件后重新导入") from None
            except Exception as exc:  # noqa: BLE001 - YAML syntax and schema errors
                raise ApiError(400, f"政策文件无法读取：{str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__}",
                               "用 yibao policy check 检查文件后重新导入") from None
            await write(lambda conn: store_policy(conn, policy, text))
        return out({"policy_id": policy.id, "name": policy.name, "valid_from": policy.valid_from}, 201)

    # ── encounters and settlements ──────────────────────────────────────────────────────────

    @api.get("/encounters", tags=["就诊与结算"], summary="查找就诊（按人员、机构、日期）")
    async def search_encounters(
        psn_no: str | None = Query(None, max_length=30), fixmedins_code: str | None = Query(None, max_length=30),
        date_from: dt.date | None = Query(None, examples=["2020-03-01"]), date_to: dt.date | None = Query(None, examples=["2020-03-31"]),
        limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=1_000_000),
        _user: dict = Depends(role(*CLAIMS)),
    ) -> Response:
        _need_filter(psn_no, fixmedins_code, date_from, date_to)

        def run(conn):
            t = s.encounters
            query = select(t).order_by(t.c.begntime.desc(), t.c.mdtrt_id)
            if psn_no:
                query = query.where(t.c.psn_no == psn_no)
            if fixmedins_code:
                query = query.where(t.c.fixmedins_code == fixmedins_code)
            if date_from:
                query = query.where(t.c.begntime >= dt.datetime.combine(date_from, dt.time.min))
            if date_to:
                query = query.where(t.c.begntime <= dt.datetime.combine(date_to, dt.time.max))
            return [_plain(r) for r in conn.execute(query.limit(limit).offset(offset))]

        return out({"encounters": await read(run), "limit": limit, "offset": offset})

    @api.get("/encounters/{mdtrt_id}", tags=["就诊与结算"], summary="就诊详情（诊断、费用明细、结算）")
    async def get_encounter(mdtrt_id: str, _user: dict = Depends(role(*CLAIMS))) -> Response:
        def run(conn):
            row = conn.execute(select(s.encounters).where(s.encounters.c.mdtrt_id == mdtrt_id)).first()
            if row is None:
                return None
            lines = conn.execute(select(s.fee_lines).where(s.fee_lines.c.mdtrt_id == mdtrt_id).order_by(s.fee_lines.c.feedetl_sn)).fetchall()
            return {
                **_plain(row),
                "diagnoses": [_plain(d) for d in conn.execute(select(s.diagnoses).where(s.diagnoses.c.mdtrt_id == mdtrt_id))],
                "fee_lines": [_money_row(f) for f in lines],
                "settlements": [r.setl_id for r in conn.execute(select(s.settlements.c.setl_id).where(s.settlements.c.mdtrt_id == mdtrt_id))],
            }

        found = await read(run)
        if found is None:
            raise ApiError(404, f"没有就诊 ID 为 {mdtrt_id} 的就诊", "用 GET /api/encounters 按人员或机构查找")
        return out(found)

    @api.get("/settlements", tags=["就诊与结算"], summary="查找结算（按人员、机构、结算日期）")
    async def search_settlements(
        psn_no: str | None = Query(None, max_length=30), fixmedins_code: str | None = Query(None, max_length=30),
        date_from: dt.date | None = Query(None, examples=["2020-03-01"]), date_to: dt.date | None = Query(None, examples=["2020-03-31"]),
        limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=1_000_000),
        _user: dict = Depends(role(*CLAIMS)),
    ) -> Response:
        _need_filter(psn_no, fixmedins_code, date_from, date_to)

        def run(conn):
            t = s.settlements
            query = select(*[c for c in t.c if c.name != "trace"]).order_by(t.c.setl_time.desc(), t.c.setl_id)
            if psn_no:
                query = query.where(t.c.psn_no == psn_no)
            if fixmedins_code:
                query = query.where(t.c.fixmedins_code == fixmedins_code)
            if date_from:
                query = query.where(t.c.setl_time >= dt.datetime.combine(date_from, dt.time.min))
            if date_to:
                query = query.where(t.c.setl_time <= dt.datetime.combine(date_to, dt.time.max))
            return [_money_row(r) for r in conn.execute(query.limit(limit).offset(offset))]

        return out({"settlements": await read(run), "limit": limit, "offset": offset})

    @api.get("/settlements/{setl_id}", tags=["就诊与结算"], summary="结算详情（基金分项 setldetail 与计算过程说明）")
    async def get_settlement(setl_id: str, _user: dict = Depends(role(*CLAIMS))) -> Response:
        def run(conn):
            row = conn.execute(select(s.settlements).where(s.settlements.c.setl_id == setl_id)).first()
            if row is None:
                return None
            funds = conn.execute(select(s.settlement_funds).where(s.settlement_funds.c.setl_id == setl_id)).fetchall()
            info = _money_row(row, exclude=("trace",))
            return {
                "setlinfo": info,
                "setldetail": [_money_row(f) for f in funds],
                "trace": [line for line in (row.trace or "").splitlines() if line.strip()],
            }

        found = await read(run)
        if found is None:
            raise ApiError(404, f"没有结算 ID 为 {setl_id} 的结算", "用 GET /api/settlements 按人员或机构查找")
        return out(found)

    return api


@contextlib.contextmanager
def _refusing_bad_data():
    """Values the database will not store (a NUL character, a number out of range) are the
    caller's mistake: answer 400, not 500."""
    try:
        yield
    except DataError as exc:
        raise ApiError(400, f"数据不合法，数据库拒绝保存或查询：{str(exc.orig).splitlines()[0][:150]}",
                       "检查请求中的文字（不能含 NUL 字符）和数字范围后重试") from None


# ── helpers ─────────────────────────────────────────────────────────────────────────────────────

MONEY_COLUMNS = {c.name for t in (s.settlements, s.settlement_funds, s.fee_lines) for c in t.c if type(c.type).__name__ == "Money"}


def _plain(row: Any, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: v for k, v in row._mapping.items() if k not in exclude}


def _money_row(row: Any, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: (fen_to_yuan(v) if k in MONEY_COLUMNS and v is not None else v) for k, v in row._mapping.items() if k not in exclude}


def _person(row: Any) -> dict[str, Any]:
    return {"psn_no": row.psn_no, "psn_cert_type": row.psn_cert_type, "certno": row.certno, "psn_name": row.psn_name,
            "gend": row.gend, "naty": row.naty, "brdy": row.brdy, "death_date": row.death_date}


def _kind(list_kind: str) -> None:
    if list_kind not in CODE_LIST_KINDS:
        raise ApiError(404, f"没有代码目录 {list_kind}", "可用：" + "、".join(f"{k}（{v}）" for k, v in CODE_LIST_KINDS.items()))


def _no_duplicates(codes: list[str], what: str) -> None:
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            raise ApiError(400, f"{what} {code[:50]} 在本次导入中重复出现", "每个编码只保留一行后重新导入")
        seen.add(code)


def _need_filter(*filters: Any) -> None:
    if not any(f not in (None, "") for f in filters):
        raise ApiError(400, "请至少给出一个查询条件", "按 psn_no、fixmedins_code 或 date_from/date_to 查询")


def _policy_library(conn: Any):
    """The shipped policies plus those imported into the database (an import wins by id)."""
    from yibao.policy import PolicyLibrary, shipped_policy_paths

    rows = conn.execute(select(s.policies.c.policy_id, s.policies.c.document)).fetchall()
    if not rows:
        return PolicyLibrary.shipped()
    from yibao.yamlio import load_yaml

    with tempfile.TemporaryDirectory() as folder:
        by_id: dict[str, Path] = {str(load_yaml(p).get("id")): p for p in shipped_policy_paths()}
        for row in rows:
            path = Path(folder) / f"db-{row.policy_id}.yaml"
            path.write_text(row.document, encoding="utf-8")
            by_id[row.policy_id] = path  # an imported policy replaces a shipped one of the same id
        return PolicyLibrary.from_paths(list(by_id.values()))


