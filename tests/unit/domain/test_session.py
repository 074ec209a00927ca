"""The Rucio session: one deadline per request, a breaker in front of Rucio, bounded retries of
transient database conflicts, a new token's first call alone, a 401 refreshes once."""

from __future__ import annotations

import asyncio
import itertools
import logging
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from escape_dlaas.domain import session as session_module
from escape_dlaas.domain.session import RucioSession
from escape_dlaas.errors import CredentialsExpired, CredentialsMissing, NotFound, ServiceTimeout, ServiceUnavailable
from escape_dlaas.resilience import NOT_ANSWERING, user_request
from escape_dlaas.rucio.errors import RucioDatabaseError, RucioDatabaseUnavailable, RucioTransientError
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

    def call(self, token, account, operation, *, what, deadline=None):
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


class ScriptedGateway:
    """Answers each call with the next scripted error (or ``what``), counting calls; optionally hangs."""

    def __init__(self, *errors: Exception | None, hang: float = 0.0):
        self.errors = list(errors)
        self.hang = hang
        self.calls: list[float] = []
        self.lock = threading.Lock()

    def call(self, token, account, operation, *, what, deadline=None):
        with self.lock:
            self.calls.append(time.monotonic())
            error = self.errors.pop(0) if self.errors else None
        if self.hang:
            time.sleep(self.hang)
        if error is not None:
            raise error
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


async def test_a_refused_token_while_the_issuer_is_down_names_the_issuer(session, monkeypatch):
    """Rucio refuses a new token when it cannot fetch the issuer's keys: "sign in again" would be wrong."""
    monkeypatch.setattr(session.gateway, "call", RecordingGateway(refuse=2).call)

    async def issuer_down() -> str:
        return "the token issuer https://iam.example/ is not answering"

    monkeypatch.setattr(session.tokens, "issuer_trouble", issuer_down)
    with pytest.raises(ServiceUnavailable) as caught:
        await session.rucio(lambda c: None, what="list scopes")
    assert not isinstance(caught.value, CredentialsExpired)
    assert caught.value.service == "token issuer"
    assert "https://iam.example/ is not answering" in caught.value.message
    assert "Sign in again" not in caught.value.message


async def test_a_hung_call_ends_with_service_timeout(monkeypatch):
    monkeypatch.setattr(session_module, "DEADLINE_GRACE_SECONDS", 0.0)
    with ThreadPoolExecutor(1) as pool:
        rucio = RucioSession(instance_config(timeout_seconds=0.2), pool, logging.getLogger("test"))
        started = time.monotonic()
        with pytest.raises(ServiceTimeout) as caught:
            await rucio.blocking(lambda: time.sleep(1), service="the download cache")
        assert time.monotonic() - started < 0.5
        assert caught.value.service == "the download cache"
        assert "did not answer within 0.2 s" in caught.value.message
        rucio.close()


async def test_waiting_for_a_free_worker_counts_and_a_call_still_queued_never_starts(monkeypatch):
    monkeypatch.setattr(session_module, "DEADLINE_GRACE_SECONDS", 0.0)
    with ThreadPoolExecutor(1) as pool:
        rucio = RucioSession(instance_config(timeout_seconds=0.3), pool, logging.getLogger("test"))
        busy = asyncio.ensure_future(rucio.blocking(lambda: time.sleep(0.5)))
        await asyncio.sleep(0.01)
        ran: list[str] = []
        started = time.monotonic()
        with pytest.raises(ServiceTimeout):
            await rucio.blocking(lambda: ran.append("queued call"))
        assert 0.25 < time.monotonic() - started < 0.45, "the wait for a worker ends at the deadline"
        with pytest.raises(ServiceTimeout):
            await busy
        await asyncio.sleep(0.3)  # the worker is free again
        assert ran == [], "a call abandoned while queued never starts"
        rucio.close()


async def test_one_deadline_covers_every_call_of_a_request(monkeypatch):
    monkeypatch.setattr(session_module, "DEADLINE_GRACE_SECONDS", 0.0)
    monkeypatch.setenv("T", "opaque-token-1")
    with ThreadPoolExecutor(2) as pool:
        rucio = RucioSession(instance_config(timeout_seconds=0.5), pool, logging.getLogger("test"))
        monkeypatch.setattr(rucio.gateway, "call", ScriptedGateway(hang=0.2).call)
        await rucio.rucio(lambda c: None, what="warm up")  # outside a request: each call has its own budget

        async def search_like() -> None:  # several calls, each well within the timeout alone
            for step in range(5):
                await rucio.rucio(lambda c: None, what=f"step {step}")

        started = time.monotonic()
        with user_request(), pytest.raises(ServiceTimeout) as caught:
            await search_like()
        assert time.monotonic() - started < 0.65, "the request as a whole got no more than its timeout"
        assert "Rucio at http://127.0.0.1:1" in caught.value.message
        rucio.close()


async def test_a_hung_rucio_answers_twenty_requests_within_the_deadline_then_fails_fast_and_recovers(monkeypatch):
    """The shape of the lake test, with a fake: 20 requests on a pool of 4 against a Rucio that hangs."""
    monkeypatch.setattr(session_module, "DEADLINE_GRACE_SECONDS", 0.1)
    monkeypatch.setenv("T", "opaque-token-1")
    timeout = 0.6
    with ThreadPoolExecutor(4) as pool, ThreadPoolExecutor(2) as probes:
        rucio = RucioSession(
            instance_config(timeout_seconds=timeout), pool, logging.getLogger("test"), probe_executor=probes
        )
        rucio.breaker.first_wait = 0.2
        hung = threading.Event()
        hung.set()
        sent: list[str] = []

        def call(token, account, operation, *, what, deadline=None):
            sent.append(what)
            if hung.is_set():
                time.sleep(timeout)  # as the client's own network timeout would end it
                raise ServiceTimeout("Rucio at http://127.0.0.1:1 did not answer within 0.6 s.", service="Rucio")
            return what

        def ping(deadline=None):
            if hung.is_set():
                time.sleep(timeout)
                raise ServiceTimeout("no ping", service="Rucio")
            return {"version": "41"}

        monkeypatch.setattr(rucio.gateway, "call", call)
        monkeypatch.setattr(rucio.gateway, "ping", ping)
        rucio._token_known_to_rucio = session_module._digest("opaque-token-1")  # calls run together at once

        async def one(i: int) -> tuple[float, Exception | None]:
            started = time.monotonic()
            try:
                with user_request():
                    await rucio.rucio(lambda c: None, what=f"search {i}")
            except ServiceUnavailable as error:
                return time.monotonic() - started, error
            return time.monotonic() - started, None

        answers = await asyncio.gather(*(one(i) for i in range(20)))
        times = [t for t, _ in answers]
        assert max(times) <= timeout + 0.1 + 0.15, f"slowest answer {max(times):.2f} s"
        assert all(isinstance(e, ServiceUnavailable) and "Rucio" in e.message for _, e in answers)
        assert len(sent) <= 8, f"calls queued behind hung ones were not sent ({len(sent)} sent)"
        assert rucio.breaker.is_open

        started = time.monotonic()
        with pytest.raises(ServiceUnavailable) as caught, user_request():
            await rucio.rucio(lambda c: None, what="search again")
        assert caught.value.reason == NOT_ANSWERING
        assert "Rucio at http://127.0.0.1:1 is not answering" in caught.value.message
        assert "try again in a few seconds" in caught.value.message
        assert time.monotonic() - started <= rucio.breaker.probe_patience + 0.1

        hung.clear()  # Rucio is back: the first request after a probe gap works
        await asyncio.sleep(rucio.breaker.probe_gap)
        started = time.monotonic()
        with user_request():
            assert await rucio.rucio(lambda c: None, what="search after recovery") == "search after recovery"
        recovery = time.monotonic() - started
        assert recovery < 0.5, f"recovery took {recovery:.2f} s"
        assert not rucio.breaker.is_open
        print(
            f"20 requests: max {max(times):.2f} s, median {statistics.median(times):.2f} s; recovery {recovery:.2f} s"
        )
        rucio.close()


async def test_a_transient_database_conflict_is_retried_with_jittered_pauses(session, monkeypatch):
    conflict = RucioTransientError("Cannot make x available: Rucio's database is busy.", what="make x available")
    gateway = ScriptedGateway(conflict, conflict)
    monkeypatch.setattr(session.gateway, "call", gateway.call)
    assert await session.rucio(lambda c: None, what="make x available") == "make x available"
    assert len(gateway.calls) == 3
    pauses = [b - a for a, b in itertools.pairwise(gateway.calls)]
    assert 0.09 <= pauses[0] <= 0.4, pauses  # 0.2 s, jittered 50-150 %
    assert 0.19 <= pauses[1] <= 0.7, pauses  # twice that


async def test_a_conflict_that_persists_is_a_503_saying_so_after_three_tries(session, monkeypatch):
    conflict = RucioTransientError("Cannot make x available: Rucio's database is busy.", what="make x available")
    gateway = ScriptedGateway(conflict, conflict, conflict, conflict)
    monkeypatch.setattr(session.gateway, "call", gateway.call)
    with pytest.raises(RucioTransientError) as caught:
        await session.rucio(lambda c: None, what="make x available")
    assert len(gateway.calls) == 3
    assert "tried 3 times" in caught.value.message
    assert "make x available" in caught.value.message


async def test_retries_stay_within_the_deadline(monkeypatch):
    monkeypatch.setattr(session_module, "DEADLINE_GRACE_SECONDS", 0.0)
    monkeypatch.setenv("T", "opaque-token-1")
    with ThreadPoolExecutor(2) as pool:
        rucio = RucioSession(instance_config(timeout_seconds=0.5), pool, logging.getLogger("test"))
        conflict = RucioTransientError("busy", what="x")
        gateway = ScriptedGateway(conflict, conflict, conflict, hang=0.15)
        monkeypatch.setattr(rucio.gateway, "call", gateway.call)
        started = time.monotonic()
        with user_request(), pytest.raises(ServiceUnavailable):
            await rucio.rucio(lambda c: None, what="x")
        assert time.monotonic() - started <= 0.55
        assert len(gateway.calls) < 3, "no attempt that could not end before the deadline"
        rucio.close()


@pytest.mark.parametrize(
    "error",
    [
        NotFound("no such DID"),
        ServiceUnavailable("Rucio answered with an error", service="Rucio", reason="rucio_error"),
    ],
)
async def test_other_errors_are_not_retried(session, monkeypatch, error):
    gateway = ScriptedGateway(error, None)
    monkeypatch.setattr(session.gateway, "call", gateway.call)
    with pytest.raises(type(error)):
        await session.rucio(lambda c: None, what="read x")
    assert len(gateway.calls) == 1


async def test_a_call_that_must_not_run_twice_is_not_retried(session, monkeypatch):
    conflict = RucioTransientError("busy", what="x")
    gateway = ScriptedGateway(conflict, None)
    monkeypatch.setattr(session.gateway, "call", gateway.call)
    with pytest.raises(RucioTransientError):
        await session.rucio(lambda c: None, what="x", retry_transient=False)
    assert len(gateway.calls) == 1


UNEXPLAINED = RucioDatabaseError("Cannot list x: Rucio's database failed the request.", what="list x")


async def signed_in(session: RucioSession, monkeypatch) -> None:
    """Rucio answers pings and knows the user's token (which a check of its database uses)."""
    monkeypatch.setattr(session.gateway, "ping", lambda deadline=None: {"version": "41"})
    monkeypatch.setattr(session.gateway, "call", ScriptedGateway(None).call)
    await session.rucio(lambda c: None, what="sign in")


async def test_an_unexplained_database_error_that_persists_is_checked_and_named(session, monkeypatch):
    """Rucio 41 hides a lock conflict and a database that went away behind the same 500."""
    await signed_in(session, monkeypatch)
    database_down = RucioDatabaseUnavailable("Rucio cannot reach its database.")
    gateway = ScriptedGateway(UNEXPLAINED, UNEXPLAINED, UNEXPLAINED, database_down)  # three tries, then the check
    monkeypatch.setattr(session.gateway, "call", gateway.call)
    with pytest.raises(RucioDatabaseUnavailable) as caught:
        await session.rucio(lambda c: None, what="list x")
    assert len(gateway.calls) == 4
    message = caught.value.message
    assert "Cannot list x: Rucio at http://127.0.0.1:1 cannot reach its database" in message
    assert "try again later" in message
    assert "DatabaseException" not in message
    assert session.condition.to_status()["database"] == "unavailable", "the status view says so at once"


async def test_an_unexplained_database_error_with_the_database_up_is_rucios_fault(session, monkeypatch):
    await signed_in(session, monkeypatch)
    monkeypatch.setattr(session.gateway, "call", ScriptedGateway(UNEXPLAINED, UNEXPLAINED, UNEXPLAINED, None).call)
    with pytest.raises(ServiceUnavailable) as caught:
        await session.rucio(lambda c: None, what="list x")
    assert caught.value.reason == "rucio_error"
    assert "although its database answers" in caught.value.message


async def test_the_account_is_asked_once_and_whoami_shows_no_token(session, monkeypatch):
    asked: list[str] = []

    def call(token, account, operation, *, what, deadline=None):
        asked.append(what)
        return {"account": "alice"}

    monkeypatch.setattr(session.gateway, "call", call)
    assert await session.account() == "alice"
    who = await session.whoami()
    assert asked == ["find out who you are"]
    assert who["instance"] == "t"
    assert who["account"] == "alice"
    assert "opaque-token-1" not in str(who)


async def test_whoami_renews_the_sign_in_before_answering_from_the_cached_account(session, monkeypatch):
    """After the sign-in is gone (e.g. the hub's refresh token was revoked), whoami says so at once."""
    monkeypatch.setattr(session.gateway, "call", lambda *args, **kwargs: {"account": "alice"})
    assert (await session.whoami())["account"] == "alice"
    monkeypatch.delenv("T")
    session.tokens.invalidate()  # as after Rucio refused the token
    with pytest.raises(CredentialsMissing):
        await session.whoami()


async def test_serialised_work_waits_no_longer_than_the_deadline(monkeypatch):
    monkeypatch.setattr(session_module, "DEADLINE_GRACE_SECONDS", 0.0)
    with ThreadPoolExecutor(1) as pool:
        rucio = RucioSession(instance_config(timeout_seconds=0.2), pool, logging.getLogger("test"))
        holder_in = asyncio.Event()

        async def holder() -> None:
            async with rucio.serialised("k"):
                holder_in.set()
                await asyncio.sleep(0.5)

        held = asyncio.ensure_future(holder())
        await holder_in.wait()
        started = time.monotonic()
        with user_request(), pytest.raises(ServiceTimeout) as caught:
            async with rucio.serialised("k"):
                pass
        assert time.monotonic() - started < 0.3
        assert "same data" in caught.value.message
        await held
        rucio.close()


async def test_serialised_work_that_got_its_turn_with_no_time_left_is_not_started(monkeypatch):
    monkeypatch.setattr(session_module, "DEADLINE_GRACE_SECONDS", 0.0)
    with ThreadPoolExecutor(1) as pool:
        rucio = RucioSession(instance_config(timeout_seconds=0.5), pool, logging.getLogger("test"))
        holder_in = asyncio.Event()
        ran: list[str] = []

        async def holder() -> None:
            async with rucio.serialised("k"):
                holder_in.set()
                await asyncio.sleep(0.3)  # lets go with 0.2 s of the waiter's 0.5 s left

        held = asyncio.ensure_future(holder())
        await holder_in.wait()
        with user_request(), pytest.raises(ServiceTimeout) as caught:
            async with rucio.serialised("k"):
                ran.append("block")
        assert "same data" in caught.value.message, "the error names the wait"
        assert ran == []
        await held
        async with rucio.serialised("k"):  # given back: the next request gets it at once
            ran.append("next")
        assert ran == ["next"]
        rucio.close()
