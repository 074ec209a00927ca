"""Failing fast: the request's one deadline, calls abandoned in the queue, bounded retries, circuit breakers."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from escape_dlaas.errors import NotFound, PermissionDenied, ServiceTimeout, ServiceUnavailable
from escape_dlaas.resilience import (
    MIN_ATTEMPT_SECONDS,
    NOT_ANSWERING,
    UNREACHABLE,
    CircuitBreaker,
    holding,
    is_outage,
    retrying,
    run_blocking,
    spawn_detached,
    time_budget,
    time_left,
    user_request,
)

pytestmark = pytest.mark.asyncio


def timed_out() -> ServiceTimeout:
    return ServiceTimeout("the service did not answer in time", service="svc")


# -- the deadline ---------------------------------------------------------------------------------


async def test_a_requests_budget_counts_from_its_start_and_the_sooner_deadline_wins():
    assert time_left() is None
    with user_request():
        await asyncio.sleep(0.2)
        with time_budget(0.5):
            left = time_left()
            assert left is not None
            assert 0.2 < left <= 0.31, "0.2 s of the request's 0.5 s are already used"
            with time_budget(10):
                assert time_left() <= left, "an enclosing, sooner deadline stays in force"
            with time_budget(0.1, from_now=True):
                assert time_left() <= 0.1, "a tighter limit of its own applies inside"
        assert time_left() is None
    with time_budget(0.5):
        assert 0.45 < time_left() <= 0.5, "outside a request, a budget counts from now"


async def test_a_detached_task_does_not_inherit_the_requests_deadline():
    async def left_in_task() -> float | None:
        return time_left()

    with user_request(), time_budget(0.5):
        assert await asyncio.ensure_future(left_in_task()) is not None
        assert await spawn_detached(left_in_task()) is None


async def test_a_call_still_queued_at_the_deadline_never_starts():
    ran: list[str] = []
    with ThreadPoolExecutor(1) as pool:
        blocker = threading.Event()
        busy = asyncio.get_running_loop().run_in_executor(pool, blocker.wait, 2)
        started = time.monotonic()
        with time_budget(0.2), pytest.raises(ServiceTimeout):
            await run_blocking(pool, lambda: ran.append("queued"), timeout_error=timed_out)
        assert 0.15 < time.monotonic() - started < 0.35
        blocker.set()
        await busy
        await asyncio.sleep(0.1)
    assert ran == []


async def test_a_running_call_is_no_longer_waited_for_after_the_deadline():
    release = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        with time_budget(0.2), pytest.raises(ServiceTimeout, match="did not answer in time"):
            await run_blocking(pool, lambda: release.wait(2), timeout_error=timed_out)
        assert time.monotonic() - started < 0.35
        release.set()


async def test_without_a_deadline_a_call_runs_to_its_end():
    with ThreadPoolExecutor(1) as pool:
        assert await run_blocking(pool, lambda: time.sleep(0.05) or "done", timeout_error=timed_out) == "done"


async def test_a_lock_is_waited_for_no_longer_than_the_deadline():
    lock = asyncio.Lock()
    await lock.acquire()
    started = time.monotonic()
    with time_budget(0.1), pytest.raises(ServiceTimeout):
        async with holding(lock, timeout_error=timed_out):
            pass
    assert time.monotonic() - started < 0.25
    lock.release()
    async with holding(lock, timeout_error=timed_out):
        assert lock.locked()
    assert not lock.locked()


async def test_a_lock_got_with_no_time_left_after_waiting_is_given_back_and_the_wait_is_blamed():
    lock = asyncio.Lock()
    await lock.acquire()  # as another request
    ran: list[str] = []

    async def waiting() -> None:
        with time_budget(MIN_ATTEMPT_SECONDS + 0.1):
            async with holding(lock, timeout_error=timed_out):
                ran.append("block")

    waiter = asyncio.ensure_future(waiting())
    await asyncio.sleep(0.2)  # the other request lets go with less than an attempt's time left to the waiter
    lock.release()
    with pytest.raises(ServiceTimeout, match="did not answer in time"):
        await waiter
    assert ran == [], "nothing runs with no time left after the wait"
    assert not lock.locked(), "the lock is given back"
    async with holding(lock, timeout_error=timed_out):
        ran.append("next")
    assert ran == ["next"]


async def test_of_two_callers_that_come_at_once_the_second_waits_and_is_told_so():
    lock = asyncio.Lock()

    async def request(hold: float) -> str:
        with time_budget(MIN_ATTEMPT_SECONDS + 0.1):
            async with holding(lock, timeout_error=timed_out):
                await asyncio.sleep(hold)
                return "ran"

    first, second = await asyncio.gather(request(0.2), request(0), return_exceptions=True)
    assert first == "ran"
    assert isinstance(second, ServiceTimeout), "it waited for the first until too little time was left"
    assert not lock.locked()


async def test_a_free_lock_is_taken_however_little_time_is_left():
    lock = asyncio.Lock()
    with time_budget(MIN_ATTEMPT_SECONDS / 3):
        async with holding(lock, timeout_error=timed_out):
            assert lock.locked()
    assert not lock.locked()


# -- retries --------------------------------------------------------------------------------------


class Busy(Exception):
    pass


async def test_a_transient_error_is_retried_with_growing_jittered_pauses():
    moments: list[float] = []

    async def attempt() -> str:
        moments.append(time.monotonic())
        if len(moments) < 3:
            raise Busy
        return "done"

    result = await retrying(attempt, should_retry=lambda e: isinstance(e, Busy), first_pause=0.05, jitter=lambda: 1.0)
    assert result == "done"
    pauses = [b - a for a, b in itertools.pairwise(moments)]
    assert 0.07 <= pauses[0] <= 0.12, pauses  # 0.05 s x 150 %
    assert 0.14 <= pauses[1] <= 0.22, pauses  # twice that


async def test_other_errors_and_the_last_attempt_are_not_retried():
    calls: list[int] = []

    async def refused() -> None:
        calls.append(1)
        raise PermissionDenied("no")

    with pytest.raises(PermissionDenied):
        await retrying(refused, should_retry=lambda e: isinstance(e, Busy))
    assert len(calls) == 1

    async def busy() -> None:
        calls.append(1)
        raise Busy

    calls.clear()
    with pytest.raises(Busy):
        await retrying(busy, should_retry=lambda e: True, attempts=3, first_pause=0.01)
    assert len(calls) == 3


async def test_no_retry_that_would_not_end_before_the_deadline():
    calls: list[int] = []

    async def busy() -> None:
        calls.append(1)
        raise Busy

    started = time.monotonic()
    with time_budget(0.3), pytest.raises(Busy):
        await retrying(busy, should_retry=lambda e: True, attempts=5, first_pause=0.2, jitter=lambda: 0.5)
    assert len(calls) == 1
    assert time.monotonic() - started < 0.1, "gave up at once instead of sleeping past the deadline"


# -- circuit breakers ----------------------------------------------------------------------------


class Service:
    """What the probe sees: whether the service answers; counts probes and how many ran at once."""

    def __init__(self) -> None:
        self.down = True
        self.probe_seconds = 0.05
        self.probes = 0
        self.running = 0
        self.most_at_once = 0
        self.moments: list[float] = []

    async def probe(self) -> str | None:
        self.probes += 1
        self.moments.append(time.monotonic())
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(self.probe_seconds)
        finally:
            self.running -= 1
        return "svc at http://svc is not answering (probe)" if self.down else None


def outage() -> ServiceTimeout:
    return ServiceTimeout("svc did not answer within 1 s", service="svc")


@pytest.fixture
def service():
    return Service()


@pytest.fixture
def breaker(service):
    made = CircuitBreaker("svc", "svc at http://svc is not answering", service.probe, first_wait=10, probe_gap=0.0)
    yield made
    made.shutdown()


async def test_an_outage_opens_the_breaker_and_calls_then_fail_at_once_naming_the_service(breaker):
    await breaker.admit()  # closed: passes
    with pytest.raises(ServiceTimeout):
        async with breaker.guard():
            raise outage()
    assert breaker.is_open
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as caught:
        await breaker.admit()
    assert time.monotonic() - started < breaker.probe_patience + 0.1
    assert caught.value.reason == NOT_ANSWERING
    assert caught.value.service == "svc"
    assert caught.value.message.startswith("Svc at http://svc is not answering")
    assert "retrying automatically — try again in a few seconds" in caught.value.message


@pytest.mark.parametrize(
    "answer",
    [
        NotFound("no such thing"),
        PermissionDenied("embargoed"),
        ServiceUnavailable("answered HTTP 500", service="svc"),
    ],
)
async def test_a_refusal_is_an_answer_and_never_opens_the_breaker(breaker, answer):
    for _ in range(5):
        with pytest.raises(type(answer)):
            async with breaker.guard():
                raise answer
    assert not breaker.is_open
    assert not is_outage(answer)


async def test_unreachable_and_timeouts_are_outages():
    assert is_outage(ServiceUnavailable("refused", service="svc", reason=UNREACHABLE))
    assert is_outage(outage())
    assert not is_outage(ValueError("a bug of ours"))


async def test_the_first_call_after_the_service_is_back_goes_through(breaker, service):
    breaker.record(outage())
    with pytest.raises(ServiceUnavailable):
        await breaker.admit()  # its probe found the service still down
    service.down = False
    started = time.monotonic()
    await breaker.admit()  # a probe runs for this call and finds the service back
    assert time.monotonic() - started < 0.2
    assert not breaker.is_open


async def test_one_probe_at_a_time_however_many_callers(breaker, service):
    breaker.record(outage())
    service.probe_seconds = 0.2
    results = await asyncio.gather(*(breaker.admit() for _ in range(20)), return_exceptions=True)
    assert all(isinstance(r, ServiceUnavailable) for r in results)
    assert service.probes == 1
    assert service.most_at_once == 1


async def test_callers_wait_for_a_probe_no_longer_than_their_patience(breaker, service):
    breaker.record(outage())
    breaker.probe_patience = 0.1
    service.probe_seconds = 1.0  # a probe of a hung service takes long
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        await breaker.admit()
    assert time.monotonic() - started < 0.2


async def test_probes_keep_a_gap_between_them(breaker, service):
    breaker.probe_gap = 0.3
    breaker.record(outage())
    for _ in range(5):
        with pytest.raises(ServiceUnavailable):
            await breaker.admit()
    assert service.probes == 1, "callers within the gap fail at once without a new probe"


async def test_the_breaker_closes_in_the_background_without_any_request(service):
    breaker = CircuitBreaker("svc", "svc is not answering", service.probe, first_wait=0.05, max_wait=0.2)
    breaker.record(outage())
    await asyncio.sleep(0.5)
    assert breaker.is_open
    assert service.probes >= 2
    service.down = False
    for _ in range(50):
        if not breaker.is_open:
            break
        await asyncio.sleep(0.02)
    assert not breaker.is_open
    breaker.shutdown()


async def test_background_probes_back_off_up_to_a_cap(service):
    service.probe_seconds = 0.0
    breaker = CircuitBreaker(
        "svc", "svc is not answering", service.probe, first_wait=0.05, max_wait=0.4, jitter=lambda: 0.5
    )
    breaker.record(outage())
    await asyncio.sleep(1.8)
    breaker.shutdown()
    gaps = [b - a for a, b in itertools.pairwise(service.moments)]
    assert len(gaps) >= 4, gaps
    assert gaps[0] < gaps[1] < gaps[2], gaps  # 0.1 s, 0.2 s, 0.4 s: doubling
    assert all(gap < 0.55 for gap in gaps), f"capped at max_wait: {gaps}"
    assert abs(gaps[3] - gaps[2]) < 0.1, gaps


async def test_a_probe_that_fails_keeps_the_breaker_open(breaker):
    async def broken() -> str | None:
        raise RuntimeError("probe bug")

    broken_breaker = CircuitBreaker("svc", "svc is not answering", broken, first_wait=10, probe_gap=0.0)
    broken_breaker.record(outage())
    with pytest.raises(ServiceUnavailable):
        await broken_breaker.admit()
    assert broken_breaker.is_open
    broken_breaker.shutdown()


async def test_a_check_can_say_more_precisely_what_is_down(breaker, service):
    breaker.record(outage(), headline="svc at http://svc answers, but its database is not answering")
    with pytest.raises(ServiceUnavailable) as caught:
        await breaker.admit()
    # the probe's finding is the newest diagnosis
    assert "(probe)" in caught.value.message
    breaker.observe(None)
    assert not breaker.is_open


async def test_probe_now_reports_what_is_down(breaker, service):
    assert await breaker.probe_now() == "svc at http://svc is not answering (probe)"
    assert breaker.is_open
    service.down = False
    assert await breaker.probe_now() is None
    assert not breaker.is_open
