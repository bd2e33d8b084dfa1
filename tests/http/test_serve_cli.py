"""``yibao serve keys …`` and ``yibao serve user …`` on a SQLite file, and ``--help`` examples."""

from __future__ import annotations

import re

from sqlalchemy import select
from typer.testing import CliRunner

from yibao.cli import app
from yibao.interface.sealing import SecretBox
from yibao.registry import store
from yibao.storage import db
from yibao.storage import schema as s

runner = CliRunner()


def test_keys_and_users(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    engine = db.make_engine(url)
    db.create_all(engine)
    with engine.begin() as conn:
        store.upsert_institutions(conn, [{"fixmedins_code": "H51140200001", "name": "医院", "medins_lv": "level3", "admdvs": "511402"}])
    data = ["--database-url", url, "--data-dir", str(tmp_path)]
    issued = runner.invoke(app, ["serve", "keys", "issue", "H51140200001", "--sm3", *data])
    assert issued.exit_code == 0, issued.output
    access_key = re.search(r"_api_access_key\s+(AK\w+)", issued.output).group(1)
    shown = re.search(r"secret \(SK\)\s+(\S+)", issued.output).group(1)
    with engine.connect() as conn:
        row = conn.execute(select(s.gateway_keys).where(s.gateway_keys.c.access_key == access_key)).one()
    assert (row.fixmedins_code, row.algorithm, row.status) == ("H51140200001", "HMAC-SM3", "active")
    # Shown once; stored sealed under the data folder's master key, which opens it.
    assert row.secret.startswith("sm4:") and shown not in row.secret
    assert SecretBox.of(tmp_path).open(row.secret) == shown
    assert (tmp_path / "gateway-master.key").stat().st_mode & 0o077 == 0
    listed = runner.invoke(app, ["serve", "keys", "list", "--database-url", url])
    assert access_key in listed.output and shown not in listed.output and "SM4 加密" in listed.output
    with engine.begin() as conn:  # a key from before sealing, stored in plain text
        conn.execute(s.gateway_keys.insert().values(access_key="AKold", secret="plain", fixmedins_code="H51140200001",
                                                    algorithm="HMAC-SHA1", status="active", created_at=row.created_at))
    assert "明文" in runner.invoke(app, ["serve", "keys", "list", "--database-url", url]).output
    sealed = runner.invoke(app, ["serve", "keys", "seal", *data])
    assert sealed.exit_code == 0 and "已加密 1 个" in sealed.output
    with engine.connect() as conn:
        old = conn.execute(select(s.gateway_keys.c.secret).where(s.gateway_keys.c.access_key == "AKold")).scalar_one()
    assert SecretBox.of(tmp_path).open(old) == "plain"
    unknown = runner.invoke(app, ["serve", "keys", "issue", "H99999999999", "--database-url", url])
    assert unknown.exit_code == 1 and "未登记的定点医药机构 H99999999999" in unknown.output
    assert runner.invoke(app, ["serve", "keys", "revoke", access_key, "--database-url", url]).exit_code == 0
    again = runner.invoke(app, ["serve", "keys", "revoke", access_key, "--database-url", url])
    assert again.exit_code == 1
    made = runner.invoke(app, ["serve", "user", "add", "admin", "--role", "admin", "--password", "long-enough-1", "--database-url", url])
    assert made.exit_code == 0 and "已创建用户 admin" in made.output
    with engine.connect() as conn:
        user = conn.execute(select(s.api_users)).one()
    assert user.role == "admin" and user.password_hash.startswith("$argon2id$")
    short = runner.invoke(app, ["serve", "user", "add", "x", "--role", "经办", "--password", "short", "--database-url", url])
    assert short.exit_code == 1 and "密码至少8个字符" in short.output


def test_help_has_examples():
    for args in (["serve"], ["serve", "keys"], ["serve", "keys", "issue"], ["serve", "keys", "list"], ["serve", "keys", "revoke"], ["serve", "keys", "seal"],
                 ["serve", "user"], ["serve", "user", "add"], ["serve", "user", "list"]):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0 and "Example" in result.output, args


def test_yibao_serve_runs_workers_and_answers(tmp_path):
    """``yibao serve`` as an operator starts it: migrated database, two workers, the gateway on."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    url = f"sqlite:///{tmp_path / 'served.sqlite'}"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, YIBAO_API_SECRET="serve-test-secret-0123456789abcdef")
    proc = subprocess.Popen([sys.executable, "-m", "yibao.cli", "serve", "--port", str(port), "--workers", "2", "--writers", "2",
                             "--database-url", url, "--data-dir", str(tmp_path)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "yibao serve did not start"
                time.sleep(0.2)
        assert health.json() == {"status": "ok", "database": "sqlite", "auth": True}
        refused = httpx.post(f"http://127.0.0.1:{port}/fsi/api/callService", content=b"{}")
        assert refused.status_code == 401 and refused.json()["message"].startswith("缺少服务网关的请求头")
        assert httpx.get(f"http://127.0.0.1:{port}/api/openapi.json").json()["info"]["title"] == "yibao 医保局业务 API"
        logs = list((tmp_path / "logs").glob("interface-access-*.log"))
        assert logs and "缺少服务网关的请求头" in "".join(p.read_text(encoding="utf-8") for p in logs)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_serve_says_where_the_gateway_master_key_comes_from(tmp_path, monkeypatch):
    from yibao.interface.cli import master_key_notice

    monkeypatch.delenv("YIBAO_GATEWAY_MASTER_KEY", raising=False)
    notice = master_key_notice(tmp_path)
    assert str(tmp_path / "gateway-master.key") in notice and "YIBAO_GATEWAY_MASTER_KEY" in notice
    monkeypatch.setenv("YIBAO_GATEWAY_MASTER_KEY", "ab" * 32)
    assert master_key_notice(tmp_path) is None


def test_a_worker_hands_the_interpreter_lock_over_after_1_ms_unless_told_otherwise(tmp_path, monkeypatch):
    import sys

    import pytest

    from yibao.interface.server import app_from_env, switch_interval

    monkeypatch.delenv("YIBAO_SERVE_SWITCH_INTERVAL", raising=False)
    assert switch_interval() == 0.001
    monkeypatch.setenv("YIBAO_SERVE_SWITCH_INTERVAL", "0.002")
    assert switch_interval() == 0.002
    for bad in ("fast", "0", "1"):
        monkeypatch.setenv("YIBAO_SERVE_SWITCH_INTERVAL", bad)
        with pytest.raises(SystemExit, match="YIBAO_SERVE_SWITCH_INTERVAL"):
            switch_interval()
    # A worker (uvicorn's factory) sets it for its process.
    before = sys.getswitchinterval()
    monkeypatch.setenv("YIBAO_SERVE_SWITCH_INTERVAL", "0.0025")
    monkeypatch.setenv("YIBAO_DATABASE_URL", f"sqlite:///{tmp_path / 'w.sqlite'}")
    monkeypatch.setenv("YIBAO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("YIBAO_API_SECRET", "test-secret-0123456789abcdef0123456789")
    db.create_all(db.make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}"))
    try:
        app_from_env()
        assert abs(sys.getswitchinterval() - 0.0025) < 1e-9
    finally:
        sys.setswitchinterval(before)
        import gc

        gc.unfreeze()
