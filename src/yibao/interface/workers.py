"""Several server worker processes, each listening on a socket of its own (``SO_REUSEPORT``).

uvicorn's ``--workers`` has every worker accept from one shared socket. New connections then
go to whichever worker wakes first, and hospital systems keep their connections open for the
whole day, so a worker could end up with nearly all of them: in the load benchmark one of two
workers served 2,600–3,000 of 3,000 requests in 9 of 16 runs, while the other sat idle. With a
socket per worker bound to the same port, the kernel spreads new connections evenly over the
workers (by a hash of the client's address and port).

``Workers.run`` starts the workers, restarts one that dies, and stops them all on SIGINT or
SIGTERM. Elsewhere than on Linux (Windows has no ``SO_REUSEPORT``; macOS has it but does not
spread connections with it), ``yibao serve`` uses uvicorn's own workers.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from typing import Any

APP = "yibao.interface.server:app_from_env"
RESTART_PAUSE = 1.0  # seconds before a dead worker is started again
QUICK_DEATH = 10.0  # a worker that dies this soon after its start counts as failing to start
GIVE_UP_AFTER = 5  # failed starts in a row before the server stops


def supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT") and sys.platform.startswith("linux")


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` that shares the port with the other workers' sockets."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def check_port(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be served, or None when it can."""
    try:
        listening_socket(host, port).close()
    except OSError as exc:
        return f"{host}:{port} 无法监听（{exc.strerror or exc}）：端口可能已被其他程序占用，请换一个 --port"
    # Another server with SO_REUSEPORT sockets of the same user (a second yibao serve) could bind
    # the port too, and the kernel would then split the hospitals' connections between the two.
    probe = "127.0.0.1" if host in ("", "0.0.0.0") else "::1" if host == "::" else host
    try:
        with socket.create_connection((probe, port), timeout=1):
            return f"{host}:{port} 已有服务在监听（可能是另一个 yibao serve）：请先停止它，或换一个 --port"
    except OSError:
        return None


def _worker(host: str, port: int, options: dict[str, Any]) -> None:
    """One worker process: uvicorn on a socket of its own."""
    import uvicorn

    _stop_when_orphaned(os.getppid())
    sock = listening_socket(host, port)
    config = uvicorn.Config(APP, factory=True, host=host, port=port, **options)
    uvicorn.Server(config).run(sockets=[sock])


def _stop_when_orphaned(parent: int) -> None:
    """Shut this worker down (SIGTERM, as ``Workers`` would) once its supervisor is gone: killed
    with SIGKILL it cannot stop the workers, which would otherwise keep the port."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="yibao-orphan-watch", daemon=True).start()


class Workers:
    """Starts ``count`` worker processes and keeps them running until told to stop."""

    def __init__(self, host: str, port: int, count: int, options: dict[str, Any]) -> None:
        self.host, self.port, self.count, self.options = host, port, count, options
        self._context = multiprocessing.get_context("spawn")
        self._processes: list[Any] = []
        self._stopping = False

    def _start(self) -> Any:
        process = self._context.Process(target=_worker, args=(self.host, self.port, self.options), daemon=False)
        process.start()
        process.started_at = time.monotonic()  # type: ignore[attr-defined]
        return process

    def stop(self, *_: Any) -> None:
        self._stopping = True

    def run(self) -> int:
        """Serve until SIGINT or SIGTERM (0), or until workers keep failing to start (1)."""
        previous = {sig: signal.signal(sig, self.stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        failed_starts = 0
        try:
            self._processes = [self._start() for _ in range(self.count)]
            while not self._stopping:
                time.sleep(0.2)
                for index, process in enumerate(self._processes):
                    if process.is_alive() or self._stopping:
                        continue
                    quick = time.monotonic() - process.started_at < QUICK_DEATH
                    failed_starts = failed_starts + 1 if quick else 0
                    if failed_starts >= GIVE_UP_AFTER:
                        print(f"yibao serve: 工作进程连续 {failed_starts} 次启动后即退出，服务停止；请查看上面的错误信息",
                              file=sys.stderr)
                        return 1
                    print(f"yibao serve: 工作进程 {process.pid} 已退出（退出码 {process.exitcode}），正在重启", file=sys.stderr)
                    time.sleep(RESTART_PAUSE)
                    self._processes[index] = self._start()
            return 0
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._shutdown()

    def _shutdown(self) -> None:
        for process in self._processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in hand
        deadline = time.monotonic() + 30
        for process in self._processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
