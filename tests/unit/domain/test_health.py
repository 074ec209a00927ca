"""The status endpoint's Rucio check: served at once, refreshed in the background."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from escape_dlaas.domain import health as health_module
from escape_dlaas.domain.health import RucioHealth
from escape_dlaas.domain.session import RucioSession

from .fakes import instance_config

pytestmark = pytest.mark.asyncio


@pytest.fixture
def health():
    with ThreadPoolExecutor(2) as pool, ThreadPoolExecutor(2) as status_pool:
        session = RucioSession(instance_config(), pool, logging.getLogger("test"))
        checks = RucioHealth(session, status_pool)
        yield checks
        checks.close()
        session.close()


async def test_a_slow_rucio_never_delays_the_status_answer(health, monkeypatch):
    # The gateway's ping is replaced only to make Rucio hang on demand.
    checks: list[int] = []
    rucio_hangs = threading.Event()
    rucio_answers = threading.Event()

    def ping() -> dict:
        checks.append(1)
        if rucio_hangs.is_set():
            rucio_answers.wait(10)
        return {"version": f"41.0.{len(checks)}"}

    monkeypatch.setattr(health.session.gateway, "ping", ping)

    first = await health.status()  # nothing known yet: this one waits for Rucio
    assert first["reachable"] is True
    assert first["rucio_version"] == "41.0.1"
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
