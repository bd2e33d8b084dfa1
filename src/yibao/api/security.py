"""Users, password hashes (Argon2id via argon2-cffi) and signed, expiring bearer tokens (JWT,
HS256 via PyJWT).

Roles: ``agent`` 经办, ``supervisor`` 监管, ``fund`` 基金, ``admin`` 管理员.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from yibao.storage import schema as s

ROLES = {"agent": "经办", "supervisor": "监管", "fund": "基金", "admin": "管理员"}
ROLE_ALIASES = {v: k for k, v in ROLES.items()}
TOKEN_HOURS = 8
_hasher = PasswordHasher()


class UserError(ValueError):
    pass


def role_code(role: str) -> str:
    role = role.strip()
    if role in ROLES:
        return role
    if role in ROLE_ALIASES:
        return ROLE_ALIASES[role]
    raise UserError(f"未知角色 {role}；可用: " + "、".join(f"{k}（{v}）" for k, v in ROLES.items()))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def add_user(conn: Connection, username: str, password: str, role: str, *, display_name: str = "",
             now: dt.datetime | None = None) -> dict[str, Any]:
    username = username.strip()
    if not username or len(username) > 50:
        raise UserError("用户名不能为空，且不超过50个字符")
    if len(password) < 8:
        raise UserError("密码至少8个字符")
    code = role_code(role)
    if conn.execute(select(s.api_users.c.username).where(s.api_users.c.username == username)).first():
        raise UserError(f"用户 {username} 已存在")
    row = dict(username=username, display_name=display_name or username, password_hash=hash_password(password),
               role=code, active=True, created_at=now or dt.datetime.now())
    conn.execute(s.api_users.insert().values(**row))
    return {k: v for k, v in row.items() if k != "password_hash"}


def authenticate(conn: Connection, username: str, password: str) -> Any | None:
    row = conn.execute(select(s.api_users).where(s.api_users.c.username == username)).first()
    if row is None:
        verify_password(_DUMMY_HASH, password)  # spend the same time whether the user exists or not
        return None
    if not row.active or not verify_password(row.password_hash, password):
        return None
    conn.execute(update(s.api_users).where(s.api_users.c.username == username).values(last_login_at=dt.datetime.now()))
    return row


_DUMMY_HASH = _hasher.hash("not-a-real-password")


def issue_token(secret: str, username: str, role: str, *, hours: float = TOKEN_HOURS,
                now: dt.datetime | None = None) -> tuple[str, int]:
    now = now or dt.datetime.now(dt.timezone.utc)
    expires = now + dt.timedelta(hours=hours)
    token = jwt.encode({"sub": username, "role": role, "iat": now, "exp": expires, "iss": "yibao"}, secret, algorithm="HS256")
    return token, int(hours * 3600)


def read_token(secret: str, token: str) -> dict[str, Any]:
    """The token's claims; raises jwt.ExpiredSignatureError or jwt.InvalidTokenError."""
    return jwt.decode(token, secret, algorithms=["HS256"], issuer="yibao", options={"require": ["exp", "sub", "role"]})


def api_secret(data_dir: Path | None) -> str:
    """The token-signing secret: YIBAO_API_SECRET, else one kept in ``<data>/api-secret`` (made on
    first use, readable by its owner only), so that every worker and restart accepts the same
    tokens."""
    env = os.environ.get("YIBAO_API_SECRET")
    if env:
        return env
    if data_dir is None:
        return secrets.token_urlsafe(32)
    path = data_dir / "api-secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another worker made it a moment ago (yibao serve makes it before forking)
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(32))
    return path.read_text().strip()
