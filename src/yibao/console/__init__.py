"""The web console for bureau staff (经办, 监管, 基金, 管理员): ``create_console(engine, secret=…,
data_dir=…)`` is the FastAPI app ``yibao serve`` mounts under ``/console`` (see docs/console.md)."""

from .app import create_console

__all__ = ["create_console"]
