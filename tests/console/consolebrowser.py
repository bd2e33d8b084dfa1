"""Headless Chromium for the console's browser tests and screenshots: Debian's chromium
(scripts/ensure-chromium installs it) driven by Playwright — Playwright's own browser download
needs an outside network, which CI does not have."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

CHROMIUM = os.environ.get("YIBAO_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1366, "height": 768}


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(database_url: str, data_dir: Path, *, secret: str = "console-test-secret-0123456789abcdef") -> Iterator[str]:
    """``yibao serve`` in a child process on a free loopback port; yields the base URL."""
    port = free_port()
    env = dict(os.environ, YIBAO_API_SECRET=secret)
    proc = subprocess.Popen([sys.executable, "-m", "yibao.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--database-url", database_url, "--data-dir", str(data_dir), "--no-auth"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("yibao serve stopped: " + (proc.stdout.read() or b"").decode("utf-8", "replace")[-2000:])
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("yibao serve did not start within 60 s")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/console/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state("networkidle")
