"""Shared pytest configuration: Jupyter server fixtures, the real local data lake, and a log watch."""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterator

import pytest

pytest_plugins = ("pytest_jupyter.jupyter_server", "tests.fixtures_lake")

# A signed JWT: base64url JSON header and payload ("eyJ" is '{"'), then a signature part.
JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")


class TokenLeakRecorder(logging.Handler):
    """Sees every log record of the session, at every level, and remembers any holding a token."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records = 0
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        try:
            text = record.getMessage()
        except Exception:
            text = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            text += "".join(traceback.format_exception(*record.exc_info))
        if record.exc_text:
            text += record.exc_text
        if JWT_RE.search(text):
            # Say where, never what: the failure report must not print the token either.
            self.leaks.append(f"{record.name} ({record.pathname}:{record.lineno}): {JWT_RE.sub('<JWT>', text)[:300]}")


@pytest.fixture(scope="session", autouse=True)
def no_token_in_any_log() -> Iterator[TokenLeakRecorder]:
    """Every log record of the whole suite, at DEBUG and above, is checked for tokens."""
    recorder = TokenLeakRecorder()
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(recorder)
    try:
        yield recorder
    finally:
        root.removeHandler(recorder)
        root.setLevel(previous)
    assert recorder.records > 0, "the log watch saw no record at all"
    assert not recorder.leaks, "a token reached the logs:\n" + "\n".join(recorder.leaks[:10])


@pytest.fixture
def jp_server_config():
    """A Jupyter server with escape-dlaas enabled and no Rucio instance (unit tests)."""
    return {"ServerApp": {"jpserver_extensions": {"escape_dlaas": True}, "allow_root": True}}
