"""``yibao serve --workers N``: a socket per worker, connections spread over the workers, a
worker that dies restarted, all stopped on SIGTERM, and a port in use refused plainly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from yibao.interface import workers

pytestmark = pytest.mark.skipif(not workers.supported(), reason="SO_REUSEPORT workers are used on Linux only")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(entry))
    return found


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] != "Z"


def wait_until(check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def envelope(n: int) -> dict:
    return {"infno": "1101", "msgid": f"H51140200001202001011000{n:010d}", "mdtrtarea_admvs": "", "insuplc_admdvs": "",
            "recer_sys_code": "YBXT", "infver": "1.0.0", "opter_type": "1", "opter": "1", "opter_name": "收费员",
            "inf_time": "2020-01-01 10:00:00", "fixmedins_code": "H51140200001", "fixmedins_name": "", "sign_no": "",
            "input": {"data": {"psn_no": "P-nobody"}}}


@pytest.fixture
def serving(tmp_path):
    port = free_port()
    env = dict(os.environ, YIBAO_API_SECRET="test-secret-0123456789abcdef0123456789")
    env.pop("YIBAO_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "yibao.cli", "serve", "--no-auth", "--workers", "2", "--port", str(port),
         "--database-url", f"sqlite:///{tmp_path / 'w.sqlite'}", "--data-dir", str(tmp_path)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )

    def answering():
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return process.poll() is not None and pytest.fail(process.stderr.read().decode()[-2000:])

    wait_until(answering)
    yield process, port, tmp_path
    if process.poll() is None:
        process.kill()
        process.wait()


def test_connections_are_spread_over_the_workers_and_a_dead_worker_is_replaced(serving):
    process, port, data_dir = serving
    wait_until(lambda: len(children(process.pid) - {os.getpid()}) >= 2)
    # 16 keep-alive connections, as hospital systems hold them: each worker takes some.
    clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) for _ in range(16)]
    try:
        for n, client in enumerate(clients):
            answer = client.post("/fsi/api/callService", content=json.dumps(envelope(n)),
                                 headers={"Content-Type": "application/json"}).json()
            assert answer["infcode"] == -1 and "fixmedins_code H51140200001" in answer["err_msg"]  # an empty database
    finally:
        for client in clients:
            client.close()
    logs = {path.name: path.read_text().count("\n") for path in (data_dir / "logs").glob("interface-access-*.log")}
    assert len(logs) == 2 and sum(logs.values()) == 16 and min(logs.values()) >= 1, logs
    # A worker that dies is started again; the server keeps answering.
    before = {int(name.split("-")[-1].split(".")[0]) for name in logs}
    victim = sorted(before)[0]
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: len(children(process.pid) & before) == 1 and len(children(process.pid) - before) >= 1)
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
    # SIGTERM stops the server and every worker.
    workers_now = children(process.pid)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    wait_until(lambda: not any(alive(pid) for pid in workers_now), timeout=10)


def test_a_port_in_use_is_refused_with_what_to_do(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "yibao.cli", "serve", "--no-auth", "--workers", "2", "--port", str(port),
             "--database-url", f"sqlite:///{tmp_path / 'w.sqlite'}", "--data-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=120,
            env=dict(os.environ, YIBAO_API_SECRET="test-secret-0123456789abcdef0123456789"),
        )
    assert result.returncode == 1
    assert f"127.0.0.1:{port} 无法监听" in result.stdout and "--port" in result.stdout


def test_the_workers_sockets_share_one_port_and_the_kernel_spreads_connections_over_them():
    first = workers.listening_socket("127.0.0.1", 0)
    port = first.getsockname()[1]
    second = workers.listening_socket("127.0.0.1", port)  # a plain socket could not bind a taken port
    sockets = [first, second]
    try:
        for sock in sockets:
            sock.listen(128)
            sock.settimeout(0.2)
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(64)]
        accepted = []
        for sock in sockets:
            count = 0
            while True:
                try:
                    conn, _ = sock.accept()
                except (TimeoutError, socket.timeout):
                    break
                conn.close()
                count += 1
            accepted.append(count)
        for client in clients:
            client.close()
    finally:
        for sock in sockets:
            sock.close()
    # Spread by a hash of each client's port: all 64 on one socket would happen once in 2^63.
    assert sum(accepted) == 64 and min(accepted) >= 8, accepted


def test_workers_that_keep_failing_to_start_stop_the_server_with_an_error(tmp_path):
    # A setting only the workers read is wrong: each worker exits at once.
    result = subprocess.run(
        [sys.executable, "-m", "yibao.cli", "serve", "--no-auth", "--workers", "2", "--port", str(free_port()),
         "--database-url", f"sqlite:///{tmp_path / 'w.sqlite'}", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, YIBAO_API_SECRET="test-secret-0123456789abcdef0123456789", YIBAO_SERVE_SWITCH_INTERVAL="soon"),
    )
    assert result.returncode == 1
    assert "YIBAO_SERVE_SWITCH_INTERVAL='soon'" in result.stderr
    assert "工作进程连续 5 次启动后即退出，服务停止" in result.stderr


def test_a_port_another_server_shares_with_so_reuseport_is_refused_too():
    """A second yibao serve on the same port could bind it (SO_REUSEPORT) and take half the
    connections: the check finds the first one listening."""
    other = workers.listening_socket("127.0.0.1", 0)
    port = other.getsockname()[1]
    try:
        assert workers.check_port("127.0.0.1", port) is None  # bound but not listening: free to use
        other.listen()
        problem = workers.check_port("127.0.0.1", port)
        assert problem is not None and "已有服务在监听" in problem and "--port" in problem
    finally:
        other.close()


def test_workers_stop_when_their_supervisor_is_killed(serving):
    """SIGKILL leaves the supervisor no chance to stop its workers: they notice and stop, so the
    port is free for the next start."""
    process, port, _ = serving
    workers_now = wait_until(lambda: children(process.pid) if len(children(process.pid)) >= 2 else None)
    process.kill()
    process.wait()
    wait_until(lambda: not any(alive(pid) for pid in workers_now), timeout=30)
    assert workers.check_port("127.0.0.1", port) is None
