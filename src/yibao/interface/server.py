"""The national interface over HTTP (FastAPI + uvicorn), and the bureau's REST API under /api.

``POST /fsi/api/callService`` takes a request envelope (``application/json`` or
``text/plain; charset=utf-8``) and answers the response envelope as compact UTF-8 JSON with
exact decimals. The service gateway (§1.3) checks the ``_api_*`` headers first and turns bad
ones away with HTTP 401 ``{"code":401,"message":…}``; everything after that is answered with
HTTP 200 and ``infcode`` 0 or −1 — a malformed, oversized or wrongly typed body included.
``9102`` 文件下载 answers the ZIP itself. ``/fsi/api/fileupload/upload`` and ``…/download``
take the same envelopes with a larger body limit for 9101 file uploads.

Run it with ``yibao serve``; tests build the app with ``create_app(engine)``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import gc
import logging
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from yibao import jsonio

from .accesslog import AccessLog, person_hint
from .envelope import answer_bytes, failure
from .gateway import Gateway, GatewayRefusal
from .platform import Platform

log = logging.getLogger("yibao.interface.server")

INPUT_MAX_CHARS = 40_000  # §1.1: input ≤ 40000 characters
CALL_BODY_MAX = 256 * 1024  # bytes: 40000 Chinese characters are 120 KB in UTF-8, plus the envelope
UPLOAD_BODY_MAX = 16 * 1024 * 1024  # bytes, for 9101 uploads through /fsi/api/fileupload/upload
ACCEPTED_TYPES = ("application/json", "text/plain")
CALL_PATH = "/fsi/api/callService"
UPLOAD_PATH = "/fsi/api/fileupload/upload"
DOWNLOAD_PATH = "/fsi/api/fileupload/download"
JSON_TYPE = "application/json; charset=utf-8"


def dumps(value: Any) -> bytes:
    return jsonio.dumps(value)


class BodyError(Exception):
    """The HTTP body cannot be read as an envelope: answered as infcode −1."""


class InterfaceService:
    """What one worker process holds: the platform, the gateway and the access log."""

    def __init__(self, engine: Engine, *, auth: bool = True, data_dir: Path | None = None,
                 platform: Platform | None = None, access_log: AccessLog | None = None, log_per_process: bool = False) -> None:
        self.engine = engine
        self.platform = platform or Platform(engine)
        self.auth = auth
        self.gateway = Gateway(engine, data_dir=data_dir)
        if access_log is None:
            # Several worker processes must not rotate one file: each then keeps its own.
            name = f"interface-access-{os.getpid()}.log" if log_per_process else "interface-access.log"
            path = (data_dir / "logs" / name) if data_dir is not None else None
            access_log = AccessLog(path)
        self.access_log = access_log
        # Writing requests go through one writer thread per process, in groups: whatever arrived
        # while the previous group was being written is written next, in one transaction with a
        # savepoint each (``Platform.call_many``). SQLite takes one writer at a time anyway, and
        # on both databases one commit per group instead of one per request is what keeps a busy
        # server ahead of its callers. ``YIBAO_SERVE_GROUP=1`` writes one request at a time.
        self.group_max = max(1, int(os.environ.get("YIBAO_SERVE_GROUP", "64")))
        # SQLite writes one transaction at a time, so one writer thread. PostgreSQL runs several
        # at once (row locks keep two settlements of one person apart), and a writer spends much
        # of its time waiting for the server's answers: a second writer thread keeps the CPUs
        # busy. More than two only add interpreter-lock handovers and smaller groups (more
        # commits): 4 gave 251–263 settlements/s against 289–307/s with 2 (docs/benchmarks.md).
        default_writers = "1" if engine.dialect.name == "sqlite" else "2"
        self.writers = max(1, int(os.environ.get("YIBAO_SERVE_WRITERS", default_writers)))
        self._writer = ThreadPoolExecutor(max_workers=self.writers, thread_name_prefix="yibao-writer")
        self._pending: list[tuple[Any, asyncio.Future]] = []
        self._draining = 0

    async def _call(self, envelope: Any) -> dict[str, Any]:
        if isinstance(envelope, dict):
            tx = self.platform.transactions.get(str(envelope.get("infno", "")).strip())
            if tx is not None and tx.mutates:
                return await self._write(envelope)
        return await run_in_threadpool(self.platform.call, envelope)

    async def _write(self, envelope: dict[str, Any]) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((envelope, future))
        if self._draining < self.writers:
            self._draining += 1
            loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                group, self._pending = self._pending[: self.group_max], self._pending[self.group_max :]
                envelopes = [envelope for envelope, _ in group]
                try:
                    answers = await loop.run_in_executor(self._writer, self.platform.call_many, envelopes)
                except BaseException as exc:  # noqa: BLE001 - call_many answers; this is a last resort
                    for _, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), answer in zip(group, answers):
                    if not future.done():
                        future.set_result(answer)
        finally:
            self._draining -= 1

    async def handle(self, request: Request, *, body_max: int) -> Response:
        started = time.perf_counter()
        received = dt.datetime.now()
        api_name = request.headers.get("_api_name", "")
        # The path from the ASGI scope: request.url would build and parse a whole URL per request.
        client = request.scope.get("client")
        entry: dict[str, Any] = {"time": received.isoformat(timespec="milliseconds"), "path": request.scope["path"],
                                 "client": client[0] if client else "", "api_name": api_name[:10]}
        key = None
        try:
            if self.auth:
                key = self.gateway.check(request.headers)
                entry["access_key"] = key.access_key
            envelope, raw_len = await self._read_envelope(request, body_max)
            if isinstance(envelope, dict):
                entry.update(msgid=str(envelope.get("msgid", ""))[:40], infno=str(envelope.get("infno", ""))[:10],
                             fixmedins_code=str(envelope.get("fixmedins_code", ""))[:30], **person_hint(envelope))
            if key is not None:
                self.gateway.check_envelope(key, envelope, api_name.strip())
            if isinstance(envelope, dict) and raw_len > INPUT_MAX_CHARS and str(envelope.get("infno")) != "9101":
                inp = envelope.get("input")
                size = len(inp) if isinstance(inp, str) else len(jsonio.dumps_text(inp))
                if size > INPUT_MAX_CHARS:
                    raise BodyError(f"交易输入 input 长度 {size} 个字符，超过 {INPUT_MAX_CHARS} 个字符的上限；请分批上传")
            answer = await self._call(envelope)
            response = self._respond(answer)
            status = response.status_code
            entry.update(infcode=answer.get("infcode"), err_msg=answer.get("err_msg", ""))
        except GatewayRefusal as refusal:
            status = 401
            entry.update(infcode=None, err_msg=refusal.message)
            response = Response(dumps(refusal.body()), status_code=401, media_type=JSON_TYPE)
        except BodyError as exc:
            answer = failure(str(exc), admvs="", received=received, now=dt.datetime.now())
            status = 200
            entry.update(infcode=-1, err_msg=str(exc))
            response = Response(dumps(answer), media_type=JSON_TYPE)
        except Exception:  # noqa: BLE001 - never a 500 for the hospital's system
            log.exception("unexpected error answering %s", request.scope["path"])
            message = "平台内部错误，请求未处理（未保存任何数据），请稍后重试"
            answer = failure(message, admvs="", received=received, now=dt.datetime.now())
            status = 200
            entry.update(infcode=-1, err_msg=message)
            response = Response(dumps(answer), media_type=JSON_TYPE)
        entry.update(status=status, latency_ms=round((time.perf_counter() - started) * 1000, 2))
        self.access_log.record(**entry)
        return response

    async def _read_envelope(self, request: Request, body_max: int) -> tuple[Any, int]:
        content_type = request.headers.get("content-type", "application/json")
        media, _, params = content_type.partition(";")
        media = media.strip().lower()
        if media and media not in ACCEPTED_TYPES:
            raise BodyError(f"不支持的 Content-Type {media[:60]}；请使用 application/json 或 text/plain; charset=utf-8")
        charset = "utf-8"
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "charset":
                charset = value.strip().strip('"').lower()
        if charset not in ("utf-8", "utf8"):
            raise BodyError(f"不支持的字符集 {charset[:20]}；请求体须为 UTF-8 编码")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > body_max:
            raise BodyError(f"请求体 {int(declared)} 字节，超过上限 {body_max} 字节")
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > body_max:
                raise BodyError(f"请求体超过上限 {body_max} 字节")
            chunks.append(chunk)
        body = b"".join(chunks)
        if not body.strip():
            raise BodyError("请求体为空；请发送 JSON 格式的请求报文")
        try:
            text_body = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise BodyError(f"请求体不是有效的 UTF-8 编码（第 {exc.start} 字节）") from None
        try:
            envelope = jsonio.loads(text_body)
        except jsonio.JSONError as exc:
            raise BodyError(f"请求报文不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列，{exc.msg}") from None
        except RecursionError:
            raise BodyError("请求报文嵌套层数过深") from None
        return envelope, len(text_body)

    @staticmethod
    def _respond(answer: dict[str, Any]) -> Response:
        output = answer.get("output") or {}
        if answer.get("infcode") == 0 and isinstance(output, dict) and isinstance(output.get("file_stream"), dict):
            stream = output["file_stream"]
            content = base64.b64decode(stream["content"])
            filename = str(stream.get("filename") or "download.zip")
            return Response(
                content,
                media_type="application/zip" if filename.endswith(".zip") else "application/octet-stream",
                headers={"Content-Disposition": f"attachment; filename*=UTF-8''{_quote(filename)}"},
            )
        return Response(answer_bytes(answer), media_type=JSON_TYPE)


class InterfaceApp(FastAPI):
    """The FastAPI application, with the national interface's POSTs served straight from the
    ASGI scope, before Starlette's middleware stack, FastAPI's routing, dependency solving and
    telemetry: that machinery cost more CPU per request than reading and answering the
    envelope. Every other request goes through FastAPI as usual; the FastAPI routes of the
    interface paths stay, for the OpenAPI description."""

    interface_service: "InterfaceService | None" = None
    _limits = {CALL_PATH: CALL_BODY_MAX, UPLOAD_PATH: UPLOAD_BODY_MAX, DOWNLOAD_PATH: CALL_BODY_MAX}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        service = self.interface_service
        if service is not None and scope["type"] == "http" and scope.get("method") == "POST":
            limit = self._limits.get(scope.get("path", ""))
            if limit is not None:
                response = await service.handle(Request(scope, receive), body_max=limit)
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


def create_app(engine: Engine, *, auth: bool = True, data_dir: Path | None = None, api: bool = True,
               api_secret: str | None = None, platform: Platform | None = None, log_per_process: bool = False,
               console: bool = True, audit: bool = True) -> FastAPI:
    service = InterfaceService(engine, auth=auth, data_dir=data_dir, platform=platform, log_per_process=log_per_process)
    if audit:
        # 3101/3102 answer with the audit rule library (yibao.audit) when it is installed.
        try:
            from yibao.audit.realtime import register_auditor
        except ImportError:
            pass
        else:
            register_auditor()
    app = InterfaceApp(
        title="yibao 医保 national interface",
        description="定点医药机构接口（chs-interface.md）。The bureau's own API is at /api (OpenAPI at /api/openapi.json).",
        version="1.0.0",
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    app.interface_service = service

    @app.post(CALL_PATH, summary="national interface: one envelope in, one envelope out")
    async def call_service(request: Request) -> Response:
        return await service.handle(request, body_max=CALL_BODY_MAX)

    @app.post(UPLOAD_PATH, summary="9101 文件上传 (larger body limit)")
    async def file_upload(request: Request) -> Response:
        return await service.handle(request, body_max=UPLOAD_BODY_MAX)

    @app.post(DOWNLOAD_PATH, summary="9102 文件下载")
    async def file_download(request: Request) -> Response:
        return await service.handle(request, body_max=CALL_BODY_MAX)

    @app.get("/healthz", summary="liveness and database check")
    async def healthz() -> Response:
        def probe() -> bool:
            from yibao.storage.db import reading

            with reading(engine) as conn:
                conn.execute(text("SELECT 1"))
            return True

        try:
            await run_in_threadpool(probe)
        except Exception as exc:  # noqa: BLE001
            return Response(dumps({"status": "error", "database": type(exc).__name__}), status_code=503, media_type=JSON_TYPE)
        return Response(dumps({"status": "ok", "database": engine.dialect.name, "auth": auth}), media_type=JSON_TYPE)

    if api:
        from yibao.api.app import create_api
        from yibao.api.security import api_secret as _token_secret

        # One token secret for the API and the console (the console's session cookie holds an API token).
        secret = api_secret or _token_secret(data_dir)
        app.mount("/api", create_api(engine, secret=secret, data_dir=data_dir))
        if console:
            # The web console for bureau staff (yibao.console, docs/console.md) under /console; / leads there.
            from fastapi.responses import RedirectResponse

            from yibao.console import create_console

            app.mount("/console", create_console(engine, secret=secret, data_dir=data_dir))

            @app.get("/", include_in_schema=False)
            async def root() -> Response:
                return RedirectResponse("/console/", status_code=307)

            @app.get("/favicon.ico", include_in_schema=False)
            async def favicon() -> Response:
                # Browsers ask for it on pages that name no icon (the API docs); the console's own.
                return RedirectResponse("/console/static/favicon.svg", status_code=308)

            @app.get("/console", include_in_schema=False)
            async def console_root() -> Response:
                return RedirectResponse("/console/", status_code=307)
    return app


def switch_interval() -> float:
    """Seconds a thread may keep the interpreter lock while another waits for it, in a worker.

    The event loop (reading requests, answering) and the writer thread (the database work)
    share one interpreter lock. The writer lets go of it at every statement, as SQLite and
    psycopg do while they work, and then waits for the loop to let go again: by default up to
    5 ms each time, while it holds the database's write lock. 1 ms keeps a settlement's
    statements close together (docs/benchmarks.md). ``YIBAO_SERVE_SWITCH_INTERVAL`` overrides it."""
    raw = os.environ.get("YIBAO_SERVE_SWITCH_INTERVAL", "").strip()
    try:
        value = float(raw) if raw else 0.001
    except ValueError:
        raise SystemExit(f"YIBAO_SERVE_SWITCH_INTERVAL={raw!r}: expected seconds, e.g. 0.001") from None
    if not 0.0001 <= value <= 0.1:
        raise SystemExit(f"YIBAO_SERVE_SWITCH_INTERVAL={raw!r}: expected between 0.0001 and 0.1 seconds")
    return value


def app_from_env() -> FastAPI:
    """The factory uvicorn workers call (``yibao serve`` passes its options in the environment)."""
    from yibao.storage import db

    sys.setswitchinterval(switch_interval())
    engine = db.make_engine(os.environ.get("YIBAO_DATABASE_URL") or None)
    data_dir = Path(os.environ.get("YIBAO_DATA_DIR", "yibao-data"))
    auth = os.environ.get("YIBAO_SERVE_NO_AUTH", "") != "1"
    app = create_app(engine, auth=auth, data_dir=data_dir, api_secret=os.environ.get("YIBAO_API_SECRET") or None,
                     log_per_process=int(os.environ.get("YIBAO_SERVE_WORKERS", "1")) > 1)
    app.state.service.platform.reference.catalogue()  # load the reference cache before the first request
    # What is loaded now lives as long as the worker: keep it out of the collector's way, so that
    # full collections stay short (they otherwise show as latency spikes under load).
    gc.collect()
    gc.freeze()
    return app
