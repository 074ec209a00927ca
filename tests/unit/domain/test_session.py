"""The Rucio session: a new token's first call runs alone, a 401 refreshes once, timeouts hold."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from escape_dlaas.domain import session as session_module
from escape_dlaas.domain.session import RucioSession
from escape_dlaas.errors import CredentialsExpired, NotFound, ServiceTimeout
from escape_dlaas.rucio.gateway import RucioUnauthorized

from .fakes import instance_config

pytestmark = pytest.mark.asyncio


@pytest.fixture
def session(monkeypatch):
    monkeypatch.setenv("T", "opaque-token-1")
    with ThreadPoolExecutor(4) as pool:
        rucio = RucioSession(instance_config(), pool, logging.getLogger("test"))
        yield rucio
        rucio.close()


class RecordingGateway:
    """Stands in for RucioGateway.call: records when each call starts and ends, and with which token."""

    def __init__(self, refuse: int = 0, error: Exception | None = None):
        self.events: list[tuple[str, str, str | None]] = []
        self.lock = threading.Lock()
        self.refuse = refuse  # how many calls Rucio answers with a 401
        self.error = error

    def call(self, token, account, operation, *, what):
        with self.lock:
            self.events.append(("start", what, token))
            refuse, self.refuse = self.refuse > 0, max(self.refuse - 1, 0)
        time.sleep(0.05)
        with self.lock:
            self.events.append(("end", what, token))
        if refuse:
            raise RucioUnauthorized("401")
        if self.error is not None:
            raise self.error
        return what


def overlapping(events) -> int:
    """The most calls that ran at the same time."""
    running = most = 0
    for kind, _, _ in events:
        running += 1 if kind == "start" else -1
        most = max(most, running)
    return most


async def test_a_new_tokens_first_call_runs_alone_then_calls_run_together(session, monkeypatch):
    gateway = RecordingGateway()
    monkeypatch.setattr(session.gateway, "call", gateway.call)

    results = await asyncio.gather(*(session.rucio(lambda c: None, what=f"op{i}") for i in range(6)))
    assert results == [f"op{i}" for i in range(6)]
    first = gateway.events[0][1]
    assert gateway.events[:2] == [("start", first, "opaque-token-1"), ("end", first, "opaque-token-1")]
    assert overlapping(gateway.events[2:]) > 1, "once Rucio knows the token, calls overlap again"

    # a new token: its first call runs alone again
    monkeypatch.setenv("T", "opaque-token-2")
    session.tokens.invalidate()
    gateway.events.clear()
    await asyncio.gather(*(session.rucio(lambda c: None, what=f"op{i}") for i in range(4)))
    first = gateway.events[0][1]
    assert gateway.events[:2] == [("start", first, "opaque-token-2"), ("end", first, "opaque-token-2")]
    assert overlapping(gateway.events[2:]) > 1


async def test_a_refused_operation_still_means_rucio_knows_the_token(session, monkeypatch):
    gateway = RecordingGateway(error=NotFound("no such DID"))
    monkeypatch.setattr(session.gateway, "call", gateway.call)
    with pytest.raises(NotFound):
        await session.rucio(lambda c: None, what="read s:x")
    gateway.error = None
    await asyncio.gather(*(session.rucio(lambda c: None, what=f"op{i}") for i in range(4)))
    assert overlapping(gateway.events[2:]) > 1


async def test_a_401_refreshes_the_token_once_then_says_sign_in_again(session, monkeypatch):
    gateway = RecordingGateway(refuse=1)
    monkeypatch.setattr(session.gateway, "call", gateway.call)
    assert await session.rucio(lambda c: None, what="list scopes") == "list scopes"
    assert [e[0] for e in gateway.events] == ["start", "end", "start", "end"]

    gateway.refuse = 2
    with pytest.raises(CredentialsExpired) as caught:
        await session.rucio(lambda c: None, what="list scopes")
    assert "Sign in again" in caught.value.message
    assert "opaque-token" not in caught.value.message


async def test_a_hung_call_ends_with_service_timeout(monkeypatch):
    monkeypatch.setattr(session_module, "TIMEOUT_GRACE_SECONDS", 0.0)
    with ThreadPoolExecutor(1) as pool:
        rucio = RucioSession(instance_config(timeout_seconds=0.2), pool, logging.getLogger("test"))
        with pytest.raises(ServiceTimeout) as caught:
            await rucio.blocking(lambda: time.sleep(1), service="the download cache")
        assert caught.value.service == "the download cache"
        assert "did not answer within 0.2 s" in caught.value.message


async def test_waiting_for_a_free_worker_is_not_timed(monkeypatch):
    monkeypatch.setattr(session_module, "TIMEOUT_GRACE_SECONDS", 0.0)
    with ThreadPoolExecutor(1) as pool:
        rucio = RucioSession(instance_config(timeout_seconds=0.3), pool, logging.getLogger("test"))
        busy = asyncio.ensure_future(rucio.blocking(lambda: time.sleep(0.25)))
        await asyncio.sleep(0.01)
        # queued behind 0.25 s of work, then 0.1 s of its own: 0.35 s in all, more than the timeout
        assert await rucio.blocking(lambda: time.sleep(0.1) or "done") == "done"
        await busy


async def test_the_account_is_asked_once_and_whoami_shows_no_token(session, monkeypatch):
    asked: list[str] = []

    def call(token, account, operation, *, what):
        asked.append(what)
        return {"account": "alice"}

    monkeypatch.setattr(session.gateway, "call", call)
    assert await session.account() == "alice"
    who = await session.whoami()
    assert asked == ["find out who you are"]
    assert who["instance"] == "t"
    assert who["account"] == "alice"
    assert "opaque-token-1" not in str(who)
