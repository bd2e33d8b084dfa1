"""The service gateway in front of the national interface (chs-interface.md §1.3).

Every request carries ``_api_name``, ``_api_version``, ``_api_timestamp`` (13-digit epoch
milliseconds), ``_api_access_key`` and ``_api_signature``: the four others as ``key=value``
sorted by key, joined with ``&``, HMAC'd with the institution's secret and base64-encoded.
HMAC-SHA1 is the printed algorithm; HMAC-SM3 can be chosen per access key. A key may also carry
an SM2 public key: the institution must then sign each request's ``input`` (canonical JSON) with
SM2 and send the signature (hex) in ``cainfo`` with ``signtype`` ``SM2``.

Refusals happen before any business code runs and are HTTP-level ``{"code":401,"message":…}``.

Example::

    headers = signed_headers("1101", access_key="AK…", secret="SK…")
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from yibao.storage import schema as s

from .sealing import SealError, SecretBox, hmac_sm3, is_sealed

log = logging.getLogger("yibao.interface.gateway")

HEADER_NAMES = ("_api_name", "_api_version", "_api_timestamp", "_api_access_key", "_api_signature")
SIGNED_NAMES = ("_api_access_key", "_api_name", "_api_timestamp", "_api_version")
ALGORITHMS = ("HMAC-SHA1", "HMAC-SM3")
WINDOW_SECONDS = 30 * 60
API_VERSION = "1.0.0"

# The messages printed in §1.3, with what was wrong added after a colon.
MSG_MISSING = "缺少服务网关的请求头"
MSG_STALE = "签名时间戳超时"
MSG_UNKNOWN = "非法用户"
MSG_SIGNATURE = "签名不一致"


class GatewayRefusal(Exception):
    """A request the gateway turns away with HTTP 401."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"code": 401, "message": self.message}


# ── signing ───────────────────────────────────────────────────────────────────────────────────


def string_to_sign(headers: Mapping[str, str]) -> str:
    return "&".join(f"{k}={headers[k]}" for k in sorted(SIGNED_NAMES))


def sign(headers: Mapping[str, str], secret: str, algorithm: str = "HMAC-SHA1") -> str:
    """The ``_api_signature`` for the four signed headers (the §1.3 code, HMAC-SM3 as an option)."""
    message = string_to_sign(headers).encode("utf-8")
    if algorithm == "HMAC-SM3":
        digest = hmac_sm3(secret.encode("utf-8"), message)
    elif algorithm == "HMAC-SHA1":
        digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha1).digest()
    else:
        raise ValueError(f"未知的签名算法 {algorithm}（可用: {', '.join(ALGORITHMS)}）")
    return base64.b64encode(digest).decode("ascii")


def signed_headers(
    api_name: str,
    *,
    access_key: str,
    secret: str,
    algorithm: str = "HMAC-SHA1",
    version: str = API_VERSION,
    timestamp_ms: int | None = None,
) -> dict[str, str]:
    headers = {
        "_api_name": api_name,
        "_api_version": version,
        "_api_timestamp": str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)),
        "_api_access_key": access_key,
    }
    headers["_api_signature"] = sign(headers, secret, algorithm)
    return headers


# ── SM2 body signatures ───────────────────────────────────────────────────────────────────────


def sm2_keypair() -> tuple[str, str]:
    """A new SM2 key pair as (private hex, public hex without the 04 prefix)."""
    from gmssl import sm2

    n = int(sm2.default_ecc_table["n"], 16)
    private = secrets.randbelow(n - 2) + 1
    private_hex = f"{private:064x}"
    crypt = sm2.CryptSM2(private_key=private_hex, public_key="")
    public_hex = crypt._kg(private, sm2.default_ecc_table["g"])  # noqa: SLF001 - gmssl has no public keygen
    return private_hex, public_hex


def _crypt(private_hex: str, public_hex: str):
    from gmssl import sm2

    crypt = sm2.CryptSM2(private_key=private_hex, public_key="")
    # gmssl's constructor does public_key.lstrip("04"), which also eats a key's own leading
    # 0s and 4s (about one key in eight); set the key after construction instead.
    crypt.public_key = public_hex[2:] if len(public_hex) == 130 and public_hex.startswith("04") else public_hex
    return crypt


def sm2_sign(private_hex: str, public_hex: str, data: bytes) -> str:
    return _crypt(private_hex, public_hex).sign_with_sm3(data)


def sm2_verify(public_hex: str, signature_hex: str, data: bytes) -> bool:
    try:
        return bool(_crypt("", public_hex).verify_with_sm3(signature_hex, data))
    except Exception:  # noqa: BLE001 - a malformed signature is simply not valid
        return False


# ── keys ──────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class GatewayKey:
    access_key: str
    secret: str
    fixmedins_code: str
    algorithm: str
    sm2_public_key: str | None
    status: str


def issue_key(
    conn: Connection,
    fixmedins_code: str,
    *,
    box: SecretBox,
    algorithm: str = "HMAC-SHA1",
    sm2_public_key: str | None = None,
    now: dt.datetime | None = None,
) -> GatewayKey:
    if algorithm not in ALGORITHMS:
        raise ValueError(f"未知的签名算法 {algorithm}（可用: {', '.join(ALGORITHMS)}）")
    inst = conn.execute(select(s.institutions.c.fixmedins_code).where(s.institutions.c.fixmedins_code == fixmedins_code)).first()
    if inst is None:
        raise ValueError(f"未登记的定点医药机构 {fixmedins_code}：请先在机构登记中导入该机构")
    key = GatewayKey(
        access_key="AK" + secrets.token_hex(15),
        secret=secrets.token_urlsafe(32),
        fixmedins_code=fixmedins_code,
        algorithm=algorithm,
        sm2_public_key=sm2_public_key or None,
        status="active",
    )
    conn.execute(
        s.gateway_keys.insert().values(
            access_key=key.access_key, secret=box.seal(key.secret), fixmedins_code=key.fixmedins_code, algorithm=key.algorithm,
            sm2_public_key=key.sm2_public_key, status="active", created_at=now or dt.datetime.now(),
        )
    )
    return key


def revoke_key(conn: Connection, access_key: str, *, now: dt.datetime | None = None) -> bool:
    result = conn.execute(
        update(s.gateway_keys)
        .where(s.gateway_keys.c.access_key == access_key)
        .where(s.gateway_keys.c.status == "active")
        .values(status="revoked", revoked_at=now or dt.datetime.now())
    )
    return result.rowcount == 1


def plain_secrets(conn: Connection) -> list[Any]:
    """The keys (access_key, secret) whose secrets are still stored as plain text (issued before sealing)."""
    rows = conn.execute(select(s.gateway_keys.c.access_key, s.gateway_keys.c.secret)).fetchall()
    return [row for row in rows if not is_sealed(row.secret)]


def seal_stored_secrets(conn: Connection, box: SecretBox) -> int:
    """Seal the secrets still stored as plain text; how many."""
    plain = plain_secrets(conn)
    for row in plain:
        conn.execute(
            update(s.gateway_keys).where(s.gateway_keys.c.access_key == row.access_key).values(secret=box.seal(row.secret))
        )
    return len(plain)


def list_keys(conn: Connection, fixmedins_code: str | None = None) -> list[Any]:
    query = select(s.gateway_keys).order_by(s.gateway_keys.c.fixmedins_code, s.gateway_keys.c.created_at)
    if fixmedins_code:
        query = query.where(s.gateway_keys.c.fixmedins_code == fixmedins_code)
    return conn.execute(query).fetchall()


class Gateway:
    """Checks the gateway headers of a request. Keys are cached for ``ttl`` seconds, so a
    revocation takes effect within that time in every worker."""

    def __init__(self, engine: Engine, *, data_dir: Path | None = None, window: float = WINDOW_SECONDS,
                 ttl: float = 5.0, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.data_dir = data_dir
        self._box: SecretBox | None = None  # made when the first sealed secret is met
        self.window = window
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, GatewayKey | None]] = {}
        # Opened secrets by their sealed text. A key's row is read again every ``ttl`` seconds
        # (so a revocation takes effect), but SM4 in pure Python takes milliseconds: a secret
        # is opened again only when its sealed text changed.
        self._opened: dict[str, str] = {}

    def key(self, access_key: str) -> GatewayKey | None:
        now = time.monotonic()
        hit = self._cache.get(access_key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        from yibao.storage.db import reading

        with reading(self.engine) as conn:  # no write lock on SQLite
            row = conn.execute(select(s.gateway_keys).where(s.gateway_keys.c.access_key == access_key)).first()
        key = None
        if row is not None:
            key = GatewayKey(row.access_key, self._open(row), row.fixmedins_code, row.algorithm, row.sm2_public_key, row.status)
        self._remember(self._cache, access_key, (now, key))
        return key

    def _open(self, row: Any) -> str:
        if not is_sealed(row.secret):
            return row.secret
        opened = self._opened.get(row.secret)
        if opened is not None:
            return opened
        try:
            if self._box is None:
                self._box = SecretBox.of(self.data_dir)
            opened = self._box.open(row.secret)
        except SealError as exc:
            log.error("access key %s: %s", row.access_key, exc)
            raise GatewayRefusal(f"{MSG_UNKNOWN}：平台无法解密访问密钥 {row.access_key[:40]} 的密钥，请联系医保局信息科") from None
        self._remember(self._opened, row.secret, opened)
        return opened

    def _remember(self, cache: dict[str, Any], key: str, value: Any) -> None:
        """Keep ``value`` in one of the caches, which are emptied rather than let grow without end
        (unknown access keys are remembered too, and anyone can send those)."""
        with self._lock:
            if len(cache) > 10_000:
                cache.clear()
            cache[key] = value

    def check(self, headers: Mapping[str, str]) -> GatewayKey:
        """The key that signed this request, or GatewayRefusal (401)."""
        values: dict[str, str] = {}
        missing = []
        for name in HEADER_NAMES:
            value = headers.get(name)
            if value is None or not str(value).strip():
                missing.append(name)
            else:
                values[name] = str(value).strip()
        if missing:
            raise GatewayRefusal(f"{MSG_MISSING}：{', '.join(missing)}")
        if len(values["_api_access_key"]) > 100 or len(values["_api_signature"]) > 300:
            raise GatewayRefusal(f"{MSG_UNKNOWN}：请求头过长")
        stamp = values["_api_timestamp"]
        if not (stamp.isdigit() and len(stamp) == 13):
            raise GatewayRefusal(f"{MSG_STALE}：_api_timestamp 应为13位毫秒时间戳")
        if abs(self.clock() - int(stamp) / 1000) > self.window:
            raise GatewayRefusal(f"{MSG_STALE}：与服务器时间相差超过{int(self.window // 60)}分钟，请校准时钟后重新签名")
        key = self.key(values["_api_access_key"])
        if key is None or key.status != "active":
            raise GatewayRefusal(f"{MSG_UNKNOWN}：访问密钥 {values['_api_access_key'][:40]} 不存在或已吊销")
        expected = sign(values, key.secret, key.algorithm)
        if not hmac.compare_digest(expected.encode(), values["_api_signature"].encode()):
            raise GatewayRefusal(f"{MSG_SIGNATURE}：请按 {key.algorithm} 对 _api_access_key、_api_name、_api_timestamp、_api_version 签名")
        return key

    @staticmethod
    def check_envelope(key: GatewayKey, envelope: Any, api_name: str, input_text: str | None = None) -> None:
        """After the body is read: the key must belong to the envelope's institution, the
        signed ``_api_name`` must be the envelope's infno, and an SM2 key needs a valid body
        signature."""
        if not isinstance(envelope, dict):
            return
        code = str(envelope.get("fixmedins_code") or "").strip()
        if code and code != key.fixmedins_code:
            raise GatewayRefusal(f"{MSG_UNKNOWN}：访问密钥属于 {key.fixmedins_code}，不能以定点医药机构 {code[:30]} 的名义调用")
        infno = str(envelope.get("infno") or "").strip()
        if infno and infno != api_name:
            raise GatewayRefusal(f"{MSG_SIGNATURE}：请求头 _api_name {api_name[:10]} 与报文 infno {infno[:10]} 不一致")
        if key.sm2_public_key:
            from .envelope import canonical_json

            if str(envelope.get("signtype") or "").upper() != "SM2" or not envelope.get("cainfo"):
                raise GatewayRefusal(f"{MSG_SIGNATURE}：该机构须用 SM2 对 input 签名（signtype=SM2，签名值放在 cainfo）")
            body = input_text if input_text is not None else canonical_json(envelope.get("input") or {})
            if not sm2_verify(key.sm2_public_key, str(envelope["cainfo"]), body.encode("utf-8")):
                raise GatewayRefusal(f"{MSG_SIGNATURE}：cainfo 中的 SM2 签名与 input 不符")
