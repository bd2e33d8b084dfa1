"""The console's plumbing: sessions, CSRF, role checks, templates, timing and error pages.

Sessions are the bureau API's signed JWT (``yibao.api.security.issue_token``) kept in the
``yibao_session`` cookie (HttpOnly, SameSite=Lax, Secure over HTTPS, path ``/console``), so a
console user is an API user with the same role. Forms carry a CSRF token: a random value signed
with the same secret, kept in the ``yibao_csrf`` cookie and repeated in a hidden field
(double submit); a POST whose field and cookie differ, or whose signature is wrong, is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

import jwt
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from yibao.api import security
from yibao.storage.db import reading

from . import fmt

SESSION_COOKIE = "yibao_session"
CSRF_COOKIE = "yibao_csrf"
COOKIE_PATH = "/console"
HERE = Path(__file__).resolve().parent

ALL = ("agent", "supervisor", "fund", "admin")

# Who may open what. The menu shows only what the user may open; every handler checks again.
PAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "dashboard": ("首页", ALL),
    "settlements": ("结算", ("agent", "supervisor", "fund", "admin")),
    "findings": ("审核", ("agent", "supervisor", "admin")),
    "drg": ("DRG/DIP", ("supervisor", "fund", "admin")),
    "persons": ("参保人", ("agent", "supervisor", "admin")),
    "institutions": ("定点机构", ALL),
    "policies": ("政策", ALL),
    "reports": ("月报", ("fund", "admin")),
}
REVIEWERS = ("supervisor", "admin")  # 审核结果的确认/排除
DRG_RUNNERS = ("fund", "admin")  # 运行分组测算
MENU_URLS = {"dashboard": "/console/", "settlements": "/console/settlements", "findings": "/console/findings",
             "drg": "/console/drg", "persons": "/console/persons", "institutions": "/console/institutions",
             "policies": "/console/policies", "reports": "/console/reports"}


class ConsoleError(Exception):
    """An error page: what went wrong and what to do next (both in Chinese)."""

    def __init__(self, status: int, message: str, next_step: str, *, link: tuple[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.next_step, self.link = status, message, next_step, link


class LoginRequired(Exception):
    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class User:
    username: str
    role: str

    @property
    def role_name(self) -> str:
        return security.ROLES.get(self.role, self.role)

    def may(self, page: str) -> bool:
        return self.role in PAGES[page][1]

    def can(self, roles: tuple[str, ...]) -> bool:
        return self.role in roles


class Console:
    """What the route handlers share: the engine, the secret, the data folder and templates."""

    def __init__(self, engine, secret: str, data_dir: Path | None) -> None:
        self.engine = engine
        self.secret = secret
        self.data_dir = data_dir
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        env = self.templates.env
        env.filters.update(yuan=fmt.yuan, yuan_fen=fmt.yuan_fen, num=fmt.num, pct=fmt.pct, signed_pct=fmt.signed_pct,
                           signed_yuan=fmt.signed_yuan, dtm=fmt.dtm, code_name=fmt.code_name)
        env.globals.update(PAGES=PAGES, MENU_URLS=MENU_URLS, REVIEWERS=REVIEWERS, DRG_RUNNERS=DRG_RUNNERS, names=fmt.NAMES)
        env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": False}

    # ── database ───────────────────────────────────────────────────────────────────────────

    async def read(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def run() -> Any:
            with reading(self.engine) as conn:
                return fn(conn, *args, **kwargs)

        return await run_in_threadpool(run)

    async def write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def run() -> Any:
            with self.engine.begin() as conn:
                return fn(conn, *args, **kwargs)

        return await run_in_threadpool(run)

    # ── sessions ───────────────────────────────────────────────────────────────────────────

    def user(self, request: Request) -> User | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        try:
            claims = security.read_token(self.secret, token)
        except jwt.ExpiredSignatureError:
            raise LoginRequired("登录已过期，请重新登录") from None
        except jwt.InvalidTokenError:
            return None
        if claims.get("role") not in security.ROLES:
            return None
        return User(str(claims["sub"]), str(claims["role"]))

    def require(self, request: Request, page: str | None = None, roles: tuple[str, ...] | None = None) -> User:
        user = self.user(request)
        if user is None:
            raise LoginRequired()
        allowed = roles if roles is not None else PAGES[page][1] if page else ALL
        if user.role not in allowed:
            what = PAGES[page][0] if page and roles is None else "此操作"
            names = "、".join(security.ROLES[r] for r in allowed)
            raise ConsoleError(403, f"当前角色（{user.role_name}）无权访问“{what}”",
                               f"此功能需要以下角色之一：{names}。如确需使用，请联系管理员调整您的角色；也可返回首页。",
                               link=("/console/", "返回首页"))
        request.state.user = user
        return user

    def login_cookie(self, response: Response, request: Request, token: str, seconds: int) -> None:
        response.set_cookie(SESSION_COOKIE, token, max_age=seconds, path=COOKIE_PATH, httponly=True,
                            samesite="lax", secure=request.url.scheme == "https")

    def logout_cookie(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax")

    # ── CSRF (signed double-submit token) ──────────────────────────────────────────────────

    def _sign(self, nonce: str) -> str:
        return hmac.new(self.secret.encode(), f"csrf:{nonce}".encode(), hashlib.sha256).hexdigest()[:32]

    def csrf_token(self, request: Request) -> str:
        current = request.cookies.get(CSRF_COOKIE, "")
        if self._valid_csrf(current):
            return current
        token = getattr(request.state, "new_csrf", None)
        if token is None:
            nonce = secrets.token_urlsafe(18)
            token = f"{nonce}.{self._sign(nonce)}"
            request.state.new_csrf = token
        return token

    def _valid_csrf(self, token: str) -> bool:
        nonce, _, signature = token.partition(".")
        return bool(nonce) and hmac.compare_digest(signature, self._sign(nonce))

    def check_csrf(self, request: Request, submitted: str | None) -> None:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not submitted or not cookie or not hmac.compare_digest(submitted, cookie) or not self._valid_csrf(cookie):
            raise ConsoleError(400, "表单已失效（安全校验未通过）",
                               "请刷新页面后重新提交表单；如果一直出现，请确认浏览器允许本站的 Cookie。")

    # ── rendering ──────────────────────────────────────────────────────────────────────────

    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        user = getattr(request.state, "user", None)
        context.setdefault("title", "")
        response = self.templates.TemplateResponse(
            request, template, {"user": user, "csrf": self.csrf_token(request), "now": dt.datetime.now(), **context},
            status_code=status)
        self.finish(request, response)
        return response

    def finish(self, request: Request, response: Response) -> None:
        new = getattr(request.state, "new_csrf", None)
        if new:
            response.set_cookie(CSRF_COOKIE, new, path=COOKIE_PATH, httponly=True, samesite="strict",
                                secure=request.url.scheme == "https")


def login_redirect(request: Request, reason: str = "") -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = "/console/login?next=" + quote(target, safe="")
    if reason:
        url += "&why=expired"
    return RedirectResponse(url, status_code=303)


def safe_next(value: str | None) -> str:
    """Only a path inside the console (no scheme, no host, no //evil)."""
    if value and value.startswith("/console") and not value.startswith("//") and "\\" not in value and "\n" not in value:
        return value
    return "/console/"


class Timer:
    """Server time of a request, for the ``Server-Timing`` header (app;dur=ms, db;dur=ms)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000
