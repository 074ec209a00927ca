"""The status endpoint's Rucio check: served at once, refreshed in the background, and truthful about the database."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from escape_dlaas.domain import health as health_module
from escape_dlaas.domain.health import RucioHealth
from escape_dlaas.domain.session import RucioSession
from escape_dlaas.rucio.errors import RucioDatabaseError, database_unavailable

from .fakes import instance_config

pytestmark = pytest.mark.asyncio


@pytest.fixture
def health(monkeypatch):
    monkeypatch.setenv("T", "opaque-token-1")
    with ThreadPoolExecutor(2) as pool, ThreadPoolExecutor(2) as status_pool:
        session = RucioSession(
            instance_config(timeout_seconds=1), pool, logging.getLogger("test"), probe_executor=status_pool
        )
        checks = RucioHealth(session)
        yield checks
        checks.close()
        session.close()


async def sign_in(session: RucioSession, monkeypatch) -> None:
    """One call Rucio answers, so that the session holds a token Rucio knows (what the database check uses)."""
    monkeypatch.setattr(session.gateway, "call", lambda token, account, operation, *, what, deadline=None: {})
    await session.rucio(lambda c: None, what="list scopes")


async def test_a_slow_rucio_never_delays_the_status_answer(health, monkeypatch):
    # The gateway's ping is replaced only to make Rucio hang on demand.
    checks: list[int] = []
    rucio_hangs = threading.Event()
    rucio_answers = threading.Event()

    def ping(deadline=None) -> dict:
        checks.append(1)
        if rucio_hangs.is_set():
            rucio_answers.wait(10)
        return {"version": f"41.0.{len(checks)}"}

    monkeypatch.setattr(health.session.gateway, "ping", ping)

    first = await health.status()  # nothing known yet: this one waits for Rucio
    assert first["reachable"] is True
    assert first["rucio_version"] == "41.0.1"
    assert first["database"] == "unknown", "no token Rucio knows yet: the database is not checked"
    assert first["checked_at"].endswith("+00:00")
    assert await health.status() == first, "a fresh answer is reused"
    assert len(checks) == 1

    rucio_hangs.set()
    monkeypatch.setattr(health_module, "PING_MAX_AGE", 0.0)
    stale = await asyncio.wait_for(health.status(), 1)  # answered while Rucio hangs
    assert stale == first
    for _ in range(100):
        if len(checks) == 2:
            break
        await asyncio.sleep(0.01)
    assert len(checks) == 2, "the stale answer started a check in the background"
    await asyncio.wait_for(health.status(), 1)
    assert len(checks) == 2, "one check at a time"

    rucio_answers.set()
    assert health._recheck is not None
    await asyncio.wait_for(health._recheck, 5)
    assert (await health.status())["rucio_version"] == "41.0.2"


async def test_an_unreachable_rucio_is_reported_with_the_reason(health):
    answer = await health.status()  # port 1: nothing listens
    assert answer["reachable"] is False
    assert answer["rucio_version"] is None
    assert answer["latency_ms"] is None
    assert "unreachable" in answer["error"]
    assert "http://127.0.0.1:1" in answer["error"]


async def test_a_database_that_refuses_is_reported_although_rucio_pings(health, monkeypatch):
    session = health.session
    await sign_in(session, monkeypatch)
    monkeypatch.setattr(session.gateway, "ping", lambda deadline=None: {"version": "41.5.1"})

    def call(token, account, operation, *, what, deadline=None):
        raise database_unavailable(session.config, what)

    monkeypatch.setattr(session.gateway, "call", call)
    answer = await health.status()
    assert answer["rucio_version"] == "41.5.1", "Rucio's front answers"
    assert answer["reachable"] is False
    assert answer["database"] == "unavailable"
    assert "cannot reach its database" in answer["error"]
    assert "DatabaseException" not in answer["error"]
    assert session.breaker.is_open, "calls now fail at once, naming the database"
    assert "database" in session.breaker.down_error().message


async def test_a_hung_database_is_reported_and_recovery_is_noticed(health, monkeypatch):
    session = health.session
    await sign_in(session, monkeypatch)
    monkeypatch.setattr(session.gateway, "ping", lambda deadline=None: {"version": "41.5.1"})
    database_back = threading.Event()

    def call(token, account, operation, *, what, deadline=None):
        if not database_back.is_set():
            time.sleep(2)  # longer than the check waits (timeout_seconds = 1)
        return {"account": "alice"}

    monkeypatch.setattr(session.gateway, "call", call)
    answer = await health.status()
    assert answer["database"] == "unavailable"
    assert "its database is not answering" in answer["error"]

    database_back.set()
    monkeypatch.setattr("escape_dlaas.domain.session.DATABASE_RECHECK_SECONDS", 0.0)
    session._database_recheck_at = 0.0
    condition = await session.check_soon(fresh=True)
    assert condition.database == "ok"
    assert condition.to_status()["reachable"] is True
    assert not session.breaker.is_open


async def test_an_unexplained_database_error_on_the_check_counts_as_unavailable(health, monkeypatch):
    session = health.session
    await sign_in(session, monkeypatch)
    monkeypatch.setattr(session.gateway, "ping", lambda deadline=None: {"version": "41.5.1"})

    def call(token, account, operation, *, what, deadline=None):
        raise RucioDatabaseError("Cannot x: Rucio's database failed the request.", what=what)

    monkeypatch.setattr(session.gateway, "call", call)
    answer = await health.status()
    assert answer["database"] == "unavailable", "an unexplained database error on a cheap read means it is away"
