"""The console's pages: ``create_console(engine, secret=…, data_dir=…)`` returns the FastAPI app that
``yibao serve`` mounts under ``/console``. Server-rendered (Jinja2), Chinese, a little JS, charts
with the vendored ECharts; every page checks the user's role and answers with a
``Server-Timing: app;dur=…`` header."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from yibao.api import security
from yibao.storage import schema as s

from . import dashboard as dash
from . import drg as drg_reports
from . import findings as audit
from . import records
from .web import (DRG_RUNNERS, HERE, REVIEWERS, Console, ConsoleError, LoginRequired, Timer, login_redirect, safe_next)

log = logging.getLogger("yibao.console")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
REPORT_NAME = re.compile(r"^report-\d{4}-\d{2}\.(html|pdf)$")


def create_console(engine: Engine, *, secret: str | None = None, data_dir: Path | None = None) -> FastAPI:
    secret = secret or security.api_secret(data_dir)
    c = Console(engine, secret, data_dir)
    app = FastAPI(title="yibao 医保 控制台", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = c
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    cache: dict[str, Any] = {}
    lock = threading.Lock()

    def fund_params():
        with lock:
            if "fund_params" not in cache:
                from yibao.fund.params import load as load_params

                cache["fund_params"] = load_params()
            return cache["fund_params"]

    # ── plumbing: timing, security headers, errors ─────────────────────────────────────────

    @app.middleware("http")
    async def _timing(request: Request, call_next):
        timer = Timer()
        try:
            response = await call_next(request)
        except LoginRequired as exc:  # raised inside a handler (middleware sees it first in some stacks)
            response = login_redirect(request, exc.reason)
        response.headers["Server-Timing"] = f'app;dur={timer.ms():.1f}'
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers["Content-Security-Policy"] = (
                "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return login_redirect(request, exc.reason)

    @app.exception_handler(ConsoleError)
    async def _error(request: Request, exc: ConsoleError) -> Response:
        if getattr(request.state, "user", None) is None:
            try:
                request.state.user = c.user(request)
            except LoginRequired:
                request.state.user = None
        return c.render(request, "error.html", exc.status, title="出错了", error=exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {404: ("没有这个页面", "请检查地址是否正确，或从上方菜单进入需要的页面。"),
                    405: ("该页面不支持这种请求方式", "请从页面上的链接或按钮操作，不要直接输入地址提交。")}
        message, next_step = messages.get(exc.status_code, (str(exc.detail), "请返回上一页重试。"))
        return await _error(request, ConsoleError(exc.status_code, message, next_step, link=("/console/", "返回首页")))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("console error on %s", request.url.path)
        return await _error(request, ConsoleError(500, "服务器内部错误，页面未能显示",
                                                  "请稍后刷新重试；如仍失败，请联系系统管理员，并告知出错的页面地址和时间。"))

    # ── login and logout ───────────────────────────────────────────────────────────────────

    @app.get("/login")
    async def login_page(request: Request, next: str = "", why: str = "") -> Response:
        try:
            user = c.user(request)
        except LoginRequired:
            user = None
        if user is not None and not why:
            return RedirectResponse(safe_next(next), status_code=303)
        notice = "登录已过期，请重新登录。" if why == "expired" else ""
        return c.render(request, "login.html", title="登录", next=safe_next(next), notice=notice, username="")

    @app.post("/login")
    async def login_submit(request: Request) -> Response:
        form = await request.form()
        c.check_csrf(request, str(form.get("csrf_token", "")))
        username = str(form.get("username", "")).strip()[:50]
        password = str(form.get("password", ""))[:200]
        target = safe_next(str(form.get("next", "")))
        if not username or not password:
            return c.render(request, "login.html", 400, title="登录", next=target, username=username,
                            error="请填写用户名和密码。")
        row = await c.write(security.authenticate, username, password)
        if row is None:
            return c.render(request, "login.html", 401, title="登录", next=target, username=username,
                            error="用户名或密码错误，或账号已停用。请核对后重试；忘记密码请联系管理员重置。")
        token, seconds = security.issue_token(c.secret, row.username, row.role)
        response = RedirectResponse(target, status_code=303)
        c.login_cookie(response, request, token, seconds)
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        form = await request.form()
        c.check_csrf(request, str(form.get("csrf_token", "")))
        response = RedirectResponse("/console/login", status_code=303)
        c.logout_cookie(response)
        return response

    # ── 首页 dashboard ─────────────────────────────────────────────────────────────────────

    @app.get("/")
    async def home(request: Request, month: str = "") -> Response:
        c.require(request, "dashboard")

        def load(conn):
            available = dash.periods(conn)
            if not available:
                return None, available
            period = month if month in available else available[0]
            return dash.gather(conn, period, fund_params()), available

        if month and not MONTH.match(month):
            raise ConsoleError(400, f"月份“{month[:20]}”格式不对", "请写成 2024-06 的格式，或从首页的月份列表中选择。",
                               link=("/console/", "返回首页"))
        board, available = await c.read(load)
        if board is None:
            return c.render(request, "dashboard.html", title="首页", active="dashboard", board=None, periods=[])
        notice = f"账簿中没有 {month} 的数据，已显示最近的月份 {board['period']}。" if month and month != board["period"] else ""
        return c.render(request, "dashboard.html", title="首页", active="dashboard", board=board, periods=available,
                        charts=dash.chart_data(board), notice=notice)

    # ── 结算 settlements ───────────────────────────────────────────────────────────────────

    @app.get("/settlements")
    async def settlements(request: Request) -> Response:
        c.require(request, "settlements")
        q = records.SettlementQuery.parse(dict(request.query_params))
        result = None
        if not q.errors:
            result = await c.read(records.search_settlements, q)
        return c.render(request, "settlements.html", 400 if q.errors else 200, title="结算查询", active="settlements",
                        q=q, result=result, med_types=MED_TYPES)

    @app.get("/settlements/{setl_id}")
    async def settlement(request: Request, setl_id: str) -> Response:
        user = c.require(request, "settlements")
        found = await c.read(records.settlement, setl_id[:30])
        if found is None:
            raise ConsoleError(404, f"没有结算ID为 {setl_id[:30]} 的结算",
                               "请核对结算ID，或在结算查询页按人员、证件号码或机构查找。", link=("/console/settlements", "去结算查询"))
        return c.render(request, "settlement.html", title=f"结算 {setl_id}", active="settlements", d=found,
                        setlinfo_fields=records.SETLINFO_FIELDS, money_fields=records.MONEY_FIELDS,
                        show_person=user.may("persons"))

    # ── 审核 findings ──────────────────────────────────────────────────────────────────────

    @app.get("/findings")
    async def findings_queue(request: Request) -> Response:
        user = c.require(request, "findings")
        p = request.query_params
        filters = {k: p.get(k, "").strip()[:64] for k in ("rule_type", "severity", "fixmedins_code", "status")}
        if filters["status"] not in ("", *audit.STATUS_NAMES):
            filters["status"] = ""
        if "status" not in p:
            filters["status"] = "pending"
        try:
            page = max(1, min(int(p.get("page", "1") or 1), 1000))
        except ValueError:
            page = 1

        def load(conn):
            state = audit.available(conn)
            if not state["tables"]:
                return state, None, {"rule_types": [], "institutions": []}
            return state, audit.list_findings(conn, **filters, limit=20, offset=(page - 1) * 20), audit.facets(conn)

        state, result, facets = await c.read(load)
        return c.render(request, "findings.html", title="审核结果", active="findings", state=state, result=result,
                        facets=facets, filters=filters, page=page, can_review=user.can(REVIEWERS),
                        rule_names=audit.rule_type_names(), status_names=audit.STATUS_NAMES, severity_names=audit.SEVERITY_NAMES,
                        how_to_run=audit.HOW_TO_RUN)

    @app.get("/findings/{finding_id}")
    async def finding(request: Request, finding_id: int) -> Response:
        user = c.require(request, "findings")
        found = await c.read(audit.get_finding, finding_id)
        if found is None:
            raise ConsoleError(404, f"没有编号为 {finding_id} 的审核结果", "请回到审核结果列表重新选择。",
                               link=("/console/findings", "返回审核结果"))
        return c.render(request, "finding.html", title=f"审核结果 {finding_id}", active="findings", f=found,
                        can_review=user.can(REVIEWERS), status_names=audit.STATUS_NAMES, severity_names=audit.SEVERITY_NAMES,
                        saved=request.query_params.get("saved") == "1")

    @app.post("/findings/{finding_id}/review")
    async def review_finding(request: Request, finding_id: int) -> Response:
        user = c.require(request, roles=REVIEWERS)  # 经办 and 基金 may read findings, not review them
        form = await request.form()
        c.check_csrf(request, str(form.get("csrf_token", "")))
        decision, reason = str(form.get("decision", "")), str(form.get("reason", ""))
        try:
            await c.write(audit.review, finding_id, decision, reason, user.username)
        except audit.ReviewError as exc:
            found = await c.read(audit.get_finding, finding_id)
            if found is None:
                raise ConsoleError(404, str(exc), "请回到审核结果列表重新选择。", link=("/console/findings", "返回审核结果")) from None
            return c.render(request, "finding.html", 400, title=f"审核结果 {finding_id}", active="findings", f=found,
                            can_review=True, status_names=audit.STATUS_NAMES, severity_names=audit.SEVERITY_NAMES,
                            error=str(exc), decision=decision, reason=reason)
        return RedirectResponse(f"/console/findings/{finding_id}?saved=1", status_code=303)

    # ── DRG/DIP ────────────────────────────────────────────────────────────────────────────

    @app.get("/drg")
    async def drg_page(request: Request, year: int | None = None) -> Response:
        user = c.require(request, "drg")
        years = await run_sync(drg_reports.years_with_inpatient, engine)
        chosen = year if year in years else (years[0] if years else None)
        report = drg_reports.load(data_dir, chosen) if chosen else None
        scheme, scheme_how = drg_reports.scheme_path()
        return c.render(request, "drg.html", title="DRG/DIP 付费", active="drg", years=years, year=chosen, report=report,
                        can_run=user.can(DRG_RUNNERS), scheme=scheme, scheme_how=scheme_how,
                        saved=request.query_params.get("saved") == "1")

    @app.post("/drg/run")
    async def drg_run(request: Request) -> Response:
        c.require(request, roles=DRG_RUNNERS)
        form = await request.form()
        c.check_csrf(request, str(form.get("csrf_token", "")))
        try:
            year = int(str(form.get("year", "")))
        except ValueError:
            raise ConsoleError(400, "请选择要测算的年度", "返回 DRG/DIP 页面，选择年度后再点“运行分组测算”。", link=("/console/drg", "返回 DRG/DIP")) from None
        try:
            await run_sync(drg_reports.run, engine, data_dir, year)
        except (ValueError, OSError) as exc:
            raise ConsoleError(400, f"分组测算未完成：{str(exc)[:300]}",
                               "请确认该年度已有住院结算、DRG 分组方案可用（YIBAO_DRG_SCHEME），然后重试。",
                               link=("/console/drg", "返回 DRG/DIP")) from None
        return RedirectResponse(f"/console/drg?year={year}&saved=1", status_code=303)

    @app.get("/drg/files/{year}/{name}")
    async def drg_file(request: Request, year: int, name: str) -> Response:
        c.require(request, "drg")
        if not re.fullmatch(r"(cases|hospitals|drgs)\.csv|summary\.md|inpatient-cases\.parquet", name):
            raise ConsoleError(404, "没有这个文件", "请从 DRG/DIP 页面的链接下载。", link=("/console/drg", "返回 DRG/DIP"))
        path = drg_reports.folder_for(data_dir, year) / name
        if not path.exists():
            raise ConsoleError(404, f"{year} 年还没有测算结果文件 {name}", "请先在 DRG/DIP 页面运行分组测算。",
                               link=("/console/drg", "返回 DRG/DIP"))
        return FileResponse(path, filename=f"drg-{year}-{name}")

    # ── 参保人 persons ─────────────────────────────────────────────────────────────────────

    @app.get("/persons")
    async def persons(request: Request, q: str = "", page: int = 1) -> Response:
        c.require(request, "persons")
        result = await c.read(records.search_persons, q, max(1, min(page, 500))) if q.strip() else None
        return c.render(request, "persons.html", title="参保人", active="persons", q=q, result=result,
                        mask=records.mask_certno)

    @app.get("/persons/{psn_no}")
    async def person(request: Request, psn_no: str) -> Response:
        c.require(request, "persons")
        found = await c.read(records.person, psn_no[:30])
        if found is None:
            raise ConsoleError(404, f"没有人员编号为 {psn_no[:30]} 的参保人", "请在参保人页面按姓名、证件号码或人员编号查找。",
                               link=("/console/persons", "去参保人查询"))
        return c.render(request, "person.html", title=found["person"]["psn_name"], active="persons", d=found,
                        mask=records.mask_certno)

    # ── 定点机构 institutions ──────────────────────────────────────────────────────────────

    @app.get("/institutions")
    async def institutions(request: Request, q: str = "", level: str = "") -> Response:
        c.require(request, "institutions")
        rows = await c.read(records.search_institutions, q[:60], level[:12])
        return c.render(request, "institutions.html", title="定点机构", active="institutions", q=q, level=level, rows=rows)

    @app.get("/institutions/{code}")
    async def institution(request: Request, code: str) -> Response:
        user = c.require(request, "institutions")
        found = await c.read(records.institution, code[:30])
        if found is None:
            raise ConsoleError(404, f"没有编号为 {code[:30]} 的定点机构", "请在定点机构页面按名称或编号查找。",
                               link=("/console/institutions", "去定点机构"))
        return c.render(request, "institution.html", title=found["inst"]["fixmedins_name"], active="institutions", d=found,
                        show_settlements=user.may("settlements"), show_findings=user.may("findings"),
                        status_names=audit.STATUS_NAMES, severity_names=audit.SEVERITY_NAMES)

    # ── 政策 policies ──────────────────────────────────────────────────────────────────────

    def library(conn):
        from yibao.api.app import _policy_library

        key = tuple(conn.execute(select(s.policies.c.policy_id, s.policies.c.sha256).order_by(s.policies.c.policy_id)))
        with lock:
            hit = cache.get("policies")
            if hit and hit[0] == key:
                return hit[1]
        lib = _policy_library(conn)
        with lock:
            cache["policies"] = (key, lib)
        return lib

    @app.get("/policies")
    async def policies(request: Request, on: str = "") -> Response:
        c.require(request, "policies")
        day = _date(on) or dt.date.today()

        def load(conn):
            imported = {r.policy_id: r for r in conn.execute(select(s.policies.c.policy_id, s.policies.c.imported_at))}
            rows = []
            for p in library(conn).all():
                rows.append({"id": p.id, "name": p.name, "region": p.pooling_prefix, "insutypes": list(p.insutypes),
                             "valid_from": p.valid_from, "valid_to": p.valid_to, "imported": p.id in imported,
                             "in_force": p.valid_from <= day and (p.valid_to is None or day <= p.valid_to),
                             "extends": getattr(p, "extends", None)})
            return sorted(rows, key=lambda r: (not r["in_force"], r["region"], str(r["valid_from"])))

        rows = await c.read(load)
        return c.render(request, "policies.html", title="政策", active="policies", rows=rows, on=day)

    @app.get("/policies/{policy_id}")
    async def policy(request: Request, policy_id: str, on: str = "") -> Response:
        c.require(request, "policies")
        from yibao.policy import PolicyError

        day = _date(on)
        if on and day is None:
            raise ConsoleError(400, f"日期“{on[:20]}”格式不对", "请写成 2024-06-30 的格式。", link=(f"/console/policies/{policy_id}", "重新选择日期"))

        def load(conn):
            lib = library(conn)
            try:
                return lib.get(policy_id)
            except PolicyError:
                return None

        p = await c.read(load)
        if p is None:
            raise ConsoleError(404, f"没有编号为 {policy_id[:64]} 的政策", "请从政策列表中选择。", link=("/console/policies", "返回政策列表"))
        if day is None:
            today = dt.date.today()
            day = today if p.valid_from <= today and (p.valid_to is None or today <= p.valid_to) else (p.valid_to or p.valid_from)
        if day < p.valid_from or (p.valid_to and day > p.valid_to):
            raise ConsoleError(400, f"政策 {p.id} 在 {day} 不生效（有效期 {p.valid_from} 至 {p.valid_to or '长期'}）",
                               "请选择有效期内的日期。", link=(f"/console/policies/{p.id}", "查看该政策"))
        params = []
        for path, parameter in sorted(p.parameters.items()):
            dates = [d for d in parameter.effective_dates() if d <= day]
            try:
                value = parameter.at(day)
            except PolicyError:
                value = None
            params.append({"path": path.removeprefix("schemes."), "value": _short(value), "since": dates[-1] if dates else None,
                           "reference": parameter.reference, "description": parameter.description,
                           "changes": len(parameter.values)})
        return c.render(request, "policy.html", title=p.name, active="policies", p=p, on=day, params=params)

    # ── 月报 monthly report ────────────────────────────────────────────────────────────────

    def reports_dir() -> Path:
        return (data_dir or Path("yibao-data")) / "reports"

    @app.get("/reports")
    async def reports(request: Request) -> Response:
        c.require(request, "reports")
        periods = await c.read(dash.periods)
        folder = reports_dir()
        files: dict[str, dict[str, Any]] = {}
        if folder.exists():
            for path in sorted(folder.iterdir(), reverse=True):
                if REPORT_NAME.match(path.name):
                    entry = files.setdefault(path.name[7:14], {})
                    entry[path.suffix[1:]] = {"name": path.name, "size": path.stat().st_size,
                                              "time": dt.datetime.fromtimestamp(path.stat().st_mtime)}
        return c.render(request, "reports.html", title="月报", active="reports", periods=periods, files=files,
                        made=request.query_params.get("made", ""))

    @app.post("/reports")
    async def make_report(request: Request) -> Response:
        c.require(request, "reports")
        form = await request.form()
        c.check_csrf(request, str(form.get("csrf_token", "")))
        month = str(form.get("month", ""))
        if not MONTH.match(month):
            raise ConsoleError(400, "请选择要生成月报的月份", "返回月报页面，从列表中选择月份后再点“生成月报”。", link=("/console/reports", "返回月报"))
        from yibao.fund.report import write_report

        def make(conn):
            if month not in dash.periods(conn):
                raise ConsoleError(400, f"账簿中没有 {month} 的数据，无法生成月报",
                                   "请先运行 yibao fund post 记账，或选择已有数据的月份。", link=("/console/reports", "返回月报"))
            return write_report(conn, int(month[:4]), int(month[5:]), reports_dir(), params=fund_params())

        await c.read(make)
        return RedirectResponse(f"/console/reports?made={month}", status_code=303)

    @app.get("/reports/files/{name}")
    async def report_file(request: Request, name: str) -> Response:
        c.require(request, "reports")
        path = reports_dir() / name
        if not REPORT_NAME.match(name) or not path.exists():
            raise ConsoleError(404, f"没有月报文件 {name[:40]}", "请在月报页面先生成该月月报，再下载。", link=("/console/reports", "返回月报"))
        media = "application/pdf" if name.endswith(".pdf") else "text/html; charset=utf-8"
        return FileResponse(path, media_type=media, filename=name if name.endswith(".pdf") else None)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        n = await c.read(lambda conn: conn.execute(select(func.count()).select_from(s.institutions)).scalar_one())
        return Response(f'{{"status":"ok","institutions":{n}}}', media_type="application/json")

    return app


async def run_sync(fn, *args):
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args)


MED_TYPES = [("11", "普通门诊"), ("13", "急诊"), ("14", "门诊慢特病"), ("21", "住院"), ("41", "定点药店购药"),
             ("51", "生育门诊"), ("52", "生育住院")]


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _short(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict):
        return "，".join(f"{k}: {_short(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "；".join(_short(v) for v in value)
    return str(value)
