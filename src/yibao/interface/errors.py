"""Refusals the interface returns as ``infcode`` −1 with an ``err_msg`` that says what to fix."""

from __future__ import annotations


class InterfaceError(Exception):
    """A request the platform refuses. ``message`` names the field and the problem (Chinese)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class DuplicateMessage(InterfaceError):
    """A msgid seen before with a different body, or one that was reversed (冲正)."""
