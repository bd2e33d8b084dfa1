"""The platform side of the national interface, independent of any transport.

``Platform.call(envelope)`` takes a request envelope (a dict, as decoded from JSON) and returns
the response envelope. The HTTP server, the scenario runner, the demo and the load tests all
go through it. Each business request runs in one database transaction together with its entry
in the request log, so a crash in the middle stores nothing, and a retried message
(same ``fixmedins_code`` + ``msgid``) gets the stored answer instead of being applied twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from yibao import jsonio
from yibao.policy import PolicyLibrary
from yibao.policy.schema import ResolvedPolicy
from yibao.storage import fast
from yibao.storage.db import reading, writing

from . import statements as q
from .envelope import Answer, Request, canonical_json, failure, parse_request, success
from .errors import DuplicateMessage, InterfaceError
from .reference import Reference

log = logging.getLogger("yibao.interface")

PolicyResolver = Callable[[str, str, dt.date], ResolvedPolicy]


@dataclass
class Call:
    """One request being served: the envelope, the caller's institution and the transaction."""

    request: Request
    institution: dict[str, Any]
    conn: Connection
    platform: "Platform"
    ref_id: str | None = None  # the business object made (mdtrt_id, setl_id …), for the log
    early: Any = None  # what the transaction's ``prepare`` worked out before the write lock
    # True in a group's first pass (``Platform._serve_group``): a check that the database's own
    # keys make anyway (a serial number used before) may be left to them. A key broken there
    # sends the group round again with ``optimistic`` False, where the check runs and the
    # refusal names the problem.
    optimistic: bool = False

    @property
    def input(self) -> dict[str, Any]:
        return self.request.input

    @property
    def fixmedins_code(self) -> str:
        return self.request.fixmedins_code

    @property
    def when(self) -> dt.datetime:
        """The transaction time (inf_time): settlement dates and years follow it."""
        return self.request.inf_time


Handler = Callable[[Call], dict[str, Any] | None]


@dataclass(frozen=True)
class Transaction:
    infno: str
    name: str
    handler: Handler
    mutates: bool
    for_pharmacy: bool = False  # may a retail pharmacy call it
    # Work that needs only the request and the reference data (parsing, pricing fee lines), done
    # before the write lock is taken so that it does not hold up other writers. Its result
    # reaches the handler as ``call.early``; when it fails, the handler does the work itself
    # and so refuses the request exactly where it would have.
    prepare: Callable[[Request, "Platform"], Any] | None = None


@dataclass
class Platform:
    engine: Engine
    policies: PolicyLibrary = field(default_factory=PolicyLibrary.shipped)
    resolve_policy: PolicyResolver | None = None
    clock: Callable[[], dt.datetime] = dt.datetime.now

    def __post_init__(self) -> None:
        from .handlers import TRANSACTIONS

        self.transactions: dict[str, Transaction] = TRANSACTIONS
        self.reference = Reference(self.engine)
        if self.resolve_policy is None:
            self.resolve_policy = self._policy_in_force

    def _policy_in_force(self, insu_admdvs: str, insutype: str, on: dt.date) -> ResolvedPolicy:
        from yibao.policy import resolve

        return resolve(self.policies.find(insu_admdvs, insutype, on), on)

    # ── the entry points ─────────────────────────────────────────────────────────────────────

    def call(self, envelope: Any) -> dict[str, Any]:
        """Serve one request envelope and return the response envelope."""
        received = self.clock()
        try:
            routed = self._route(envelope, received)
        except InterfaceError as exc:
            return self._refusal(envelope, exc, received)
        return self._serve_or_refuse(routed)

    def call_many(self, envelopes: list[Any]) -> list[dict[str, Any]]:
        """Serve several requests, answering each exactly as ``call`` would, with the mutating
        ones committed together in one database transaction (group commit).

        Each mutating request runs in its own savepoint, in the order given, so a refused one
        leaves nothing behind and the others are unaffected; the answers are returned only after
        the one commit, so no caller hears of a settlement that was not kept. One commit instead
        of one per request is what lets a busy server keep up: on SQLite a commit costs as much
        as a whole fee upload, on PostgreSQL it waits for the WAL flush. If the group's
        transaction fails as a whole (a deadlock, a lost connection), nothing of it was kept and
        each request is served again on its own.
        """
        answers: list[dict[str, Any] | None] = [None] * len(envelopes)
        group: list[tuple[int, _Routed]] = []
        for index, envelope in enumerate(envelopes):
            received = self.clock()
            try:
                routed = self._route(envelope, received)
            except InterfaceError as exc:
                answers[index] = self._refusal(envelope, exc, received)
                continue
            if routed.tx.mutates:
                routed.early = self._prepare(routed)
                group.append((index, routed))
            else:
                answers[index] = self._serve_or_refuse(routed)
        if len(group) == 1:
            index, routed = group[0]
            answers[index] = self._serve_or_refuse(routed)
        elif group:
            self._serve_group(group, answers)
        return answers  # type: ignore[return-value]

    def _prepare(self, routed: "_Routed") -> Any:
        if routed.tx.prepare is None:
            return None
        try:
            return routed.tx.prepare(routed.request, self)
        except Exception:  # noqa: BLE001 - the handler does the work again and refuses where it would have
            return None

    # ── routing and refusals ─────────────────────────────────────────────────────────────────

    def _route(self, envelope: Any, received: dt.datetime) -> "_Routed":
        request = parse_request(envelope)
        tx = self.transactions.get(request.infno)
        if tx is None:
            raise InterfaceError(f"不支持的交易编号 infno {request.infno}", field="infno")
        institution = self.reference.institution(request.fixmedins_code)
        if institution is None:
            raise InterfaceError(f"未知的定点医药机构 fixmedins_code {request.fixmedins_code}", field="fixmedins_code")
        if institution["fixmedins_type"] == "2" and not tx.for_pharmacy:
            raise InterfaceError(f"零售药店不能调用交易 {tx.infno}（{tx.name}）", field="infno")
        return _Routed(tx, request, institution, received)

    def _refusal(self, envelope: Any, exc: InterfaceError, received: dt.datetime) -> dict[str, Any]:
        admvs = envelope.get("mdtrtarea_admvs", "") if isinstance(envelope, dict) else ""
        return failure(exc.message, admvs=str(admvs or ""), received=received, now=self.clock())

    def _serve_or_refuse(self, routed: "_Routed") -> dict[str, Any]:
        try:
            return self._serve(routed)
        except InterfaceError as exc:
            return self._failure(routed, exc.message)

    def _failure(self, routed: "_Routed", message: str) -> dict[str, Any]:
        return failure(message, admvs=routed.request.mdtrtarea_admvs, received=routed.received, now=self.clock())

    # ── serving one request ──────────────────────────────────────────────────────────────────

    def _serve(self, routed: "_Routed") -> dict[str, Any]:
        tx, request, institution, received = routed.tx, routed.request, routed.institution, routed.received
        for attempt in range(3):
            try:
                if not tx.mutates:
                    with reading(self.engine) as conn:
                        output = tx.handler(Call(request, institution, conn, self))
                        conn.rollback()  # read-only: nothing is kept
                    return success(output, admvs=request.mdtrtarea_admvs, received=received, now=self.clock())
                with writing(self.engine) as conn:
                    return self._apply(conn, routed)
            except IntegrityError as exc:
                # Most likely the same msgid committed concurrently: answer as a replay.
                with reading(self.engine) as conn:
                    stored = self._replay(conn, request)
                if stored is not None:
                    return stored
                log.exception("integrity error serving %s %s", request.infno, request.msgid)
                raise InterfaceError(f"数据冲突，请求未处理（{type(exc.orig).__name__}），请重试") from None
            except OperationalError as exc:
                if _is_serialisation_failure(exc) and attempt < 2:
                    continue  # a deadlock or serialisation failure: nothing was kept; retry
                log.exception("database error serving %s %s", request.infno, request.msgid)
                raise InterfaceError("平台数据库暂时不可用，请求未处理，请稍后重试") from None
            except InterfaceError:
                raise
            except Exception:  # noqa: BLE001 - answer, never crash the caller's day
                log.exception("internal error serving %s %s", request.infno, request.msgid)
                raise InterfaceError(_internal_error(request)) from None
        raise InterfaceError("平台繁忙，请求未处理，请稍后重试")

    def _apply(self, conn: Connection, routed: "_Routed", log_rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Run a mutating request on ``conn`` and log it; the caller commits.

        With ``log_rows`` the request is neither looked up in the request log nor logged here:
        its log row is appended for the caller to insert with the rest of its group. A request
        whose msgid is already logged — a repeat, a late copy of a reversed one — then meets the
        log's primary key at that insert, and the caller serves the group again the careful way
        (``_serve_group``)."""
        request, received = routed.request, routed.received
        if log_rows is None:
            stored = self._replay(conn, request)
            if stored is not None:
                return stored
        call = Call(request, routed.institution, conn, self, early=routed.early, optimistic=log_rows is not None)
        output = routed.tx.handler(call)
        response = success(output, admvs=request.mdtrtarea_admvs, received=received, now=self.clock())
        text = canonical_json(response)
        row = dict(
            fixmedins_code=request.fixmedins_code,
            msgid=request.msgid,
            infno=request.infno,
            body_sha256=request.body_sha256,
            status="ok",
            response=text,
            received_at=received,
            ref_id=call.ref_id,
        )
        if log_rows is None:
            q.LOG_INSERT.run(conn, row)
        else:
            log_rows.append(row)
        return Answer(response, text)

    # ── serving a group in one transaction ───────────────────────────────────────────────────

    def _serve_group(self, group: list[tuple[int, "_Routed"]], answers: list[dict[str, Any] | None]) -> None:
        # First as one plain transaction: a savepoint per request costs two more statements each
        # (and on PostgreSQL a subtransaction), for the rare request that is refused after it
        # has written. The requests are not looked up in the request log one by one: their log
        # rows go in together at the end, and a msgid logged already (a repeat) breaks the log's
        # primary key there. If any request is refused or fails, or a msgid was logged, nothing
        # of this pass is kept and the group is served again with a savepoint each, which looks
        # every request up and answers it as before.
        try:
            with writing(self.engine) as conn:
                log_rows: list[dict[str, Any]] = []
                done = {index: self._apply(conn, routed, log_rows) for index, routed in group}
                q.LOG_INSERT.run(conn, log_rows)
        except Exception:  # noqa: BLE001 - a refusal or a failure: nothing was kept; served again with savepoints
            self._serve_group_in_savepoints(group, answers)
            return
        for index, answer in done.items():
            answers[index] = answer

    def _serve_group_in_savepoints(self, group: list[tuple[int, "_Routed"]], answers: list[dict[str, Any] | None]) -> None:
        done: dict[int, dict[str, Any]] = {}
        try:
            with writing(self.engine) as conn:
                for index, routed in group:
                    done[index] = self._apply_in_savepoint(conn, routed)
        except Exception as exc:  # noqa: BLE001 - the group failed as a whole: nothing of it was kept
            log.warning("group of %d requests not committed (%s); serving them one by one", len(group), type(exc).__name__)
            for index, routed in group:
                answers[index] = self._serve_or_refuse(routed)
            return
        for index, answer in done.items():
            answers[index] = answer

    def _apply_in_savepoint(self, conn: Connection, routed: "_Routed") -> dict[str, Any]:
        request = routed.request
        fast.savepoint(conn, "request")
        try:
            answer = self._apply(conn, routed)
        except OperationalError:
            raise  # the transaction itself is in trouble (deadlock, lost connection): the group is retried
        except IntegrityError as exc:
            _undo(conn)
            stored = self._replay_or_refuse(conn, routed)
            if stored is not None:
                return stored
            log.exception("integrity error serving %s %s", request.infno, request.msgid)
            message = f"数据冲突，请求未处理（{type(exc.orig).__name__}），请重试"
        except InterfaceError as exc:
            _undo(conn)
            message = exc.message
        except Exception:  # noqa: BLE001 - answer, never crash the caller's day
            _undo(conn)
            log.exception("internal error serving %s %s", request.infno, request.msgid)
            message = _internal_error(request)
        else:
            fast.release(conn, "request")
            return answer
        return self._failure(routed, message)

    def _replay_or_refuse(self, conn: Connection, routed: "_Routed") -> dict[str, Any] | None:
        try:
            return self._replay(conn, routed.request)
        except InterfaceError as exc:
            return self._failure(routed, exc.message)

    def _replay(self, conn: Connection, request: Request) -> dict[str, Any] | None:
        row = q.REPLAY.first(conn, {"fixmedins_code": request.fixmedins_code, "msgid": request.msgid})
        if row is None:
            return None
        if row.status == "voided":
            raise DuplicateMessage(f"报文 msgid {request.msgid} 已被冲正（2601），不能再处理")
        if row.body_sha256 != request.body_sha256:
            raise DuplicateMessage(
                f"重复报文: msgid {request.msgid} 已用于交易 {row.infno}，本次内容不同；请使用新的 msgid"
            )
        return Answer(jsonio.loads(row.response), row.response)


@dataclass
class _Routed:
    """A request past routing: its transaction, the parsed envelope, the caller's institution,
    when it arrived, and what the transaction's ``prepare`` worked out (for a group's writes)."""

    tx: Transaction
    request: Request
    institution: dict[str, Any]
    received: dt.datetime
    early: Any = None


def _undo(conn: Connection) -> None:
    """Forget everything since the request's savepoint (the group's earlier requests stay)."""
    fast.rollback_to(conn, "request")
    fast.release(conn, "request")


def _internal_error(request: Request) -> str:
    return f"平台内部错误，交易 {request.infno} 未处理（未保存任何数据），请稍后重试"


def _is_serialisation_failure(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "deadlock" in text or "could not serialize" in text or "database is locked" in text
