"""The one error the lake raises for expected faults: a message and the fix, no traceback."""

from __future__ import annotations


class LakeError(Exception):
    """An expected fault (port in use, no PostgreSQL, half-initialised state, ...)."""

    def __init__(self, message: str, *, fix: str | None = None, component: str | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.component = component

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.fix}" if self.fix else self.message
