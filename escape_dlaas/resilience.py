"""Failing fast: one deadline per user request, a circuit breaker per service, bounded retries.

Nothing here knows Rucio, tokens or the web: the web layer marks where a user's request
starts (:func:`user_request`), and the Rucio session and the token manager run their
blocking calls with :func:`run_blocking` inside a :func:`time_budget`, behind a
:class:`CircuitBreaker` per remote service. The deadline travels in a context variable,
so every call a request makes (a search makes several) shares the one budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import Executor
from typing import Any, TypeVar

from .errors import DLaaSError, ServiceTimeout, ServiceUnavailable

T = TypeVar("T")
log = logging.getLogger("escape_dlaas.resilience")

# ServiceUnavailable.reason of a service that could not be reached (connection refused or
# reset, a proxy's 502/503/504): like a timeout, an outage that opens the breaker.
UNREACHABLE = "service_unreachable"
# The breaker is open: the call was not even tried.
NOT_ANSWERING = "service_not_answering"
RETRY_HINT = "retrying automatically — try again in a few seconds"


# -- one deadline per request --------------------------------------------------------------

# No new attempt (nor work after waiting for a lock) with less time than this left before the deadline.
MIN_ATTEMPT_SECONDS = 0.3

_REQUEST_STARTED: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "escape_dlaas_request_started", default=None
)
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("escape_dlaas_deadline", default=None)


@contextlib.contextmanager
def user_request() -> Iterator[None]:
    """Everything inside is one user's request: time budgets count from its start."""
    started = _REQUEST_STARTED.set(time.monotonic())
    deadline = _DEADLINE.set(None)
    try:
        yield
    finally:
        _DEADLINE.reset(deadline)
        _REQUEST_STARTED.reset(started)


@contextlib.contextmanager
def time_budget(seconds: float, *, from_now: bool = False) -> Iterator[float]:
    """Work inside must end within ``seconds``: of the request's start (inside :func:`user_request`), else of now.

    ``from_now`` counts from now even inside a request (a probe's own limit). A sooner
    deadline already in force stays in force. Yields the deadline (``time.monotonic()``).
    """
    now = time.monotonic()
    started = None if from_now else _REQUEST_STARTED.get()
    deadline = (now if started is None else started) + seconds
    current = _DEADLINE.get()
    if current is not None:
        deadline = min(deadline, current)
    token = _DEADLINE.set(deadline)
    try:
        yield deadline
    finally:
        _DEADLINE.reset(token)


def current_deadline() -> float | None:
    """The deadline in force (``time.monotonic()`` clock), None outside any budget."""
    return _DEADLINE.get()


def time_left() -> float | None:
    """Seconds until the deadline in force (negative once passed), None outside any budget."""
    deadline = _DEADLINE.get()
    return None if deadline is None else deadline - time.monotonic()


def spawn_detached(coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """Start ``coroutine`` as a task of its own, outside the current request and its deadline."""
    # A task copies the context it is created in: create it in an empty one.
    return contextvars.Context().run(asyncio.ensure_future, coroutine)


class _TooLate(Exception):
    """A call was still waiting for a worker when its deadline passed."""


async def run_blocking(
    executor: Executor | None, func: Callable[[], T], *, timeout_error: Callable[[], DLaaSError]
) -> T:
    """Run ``func`` on ``executor`` and wait for it until the deadline in force.

    Waiting for a free worker counts: a call still queued when the deadline passes never
    starts. A call already running cannot be stopped, but nobody waits for it any longer:
    the caller gets ``timeout_error()`` at the deadline.
    """
    loop = asyncio.get_running_loop()
    deadline = current_deadline()
    if deadline is None:
        return await loop.run_in_executor(executor, func)

    def unless_too_late() -> T:
        if time.monotonic() >= deadline:
            raise _TooLate
        return func()

    left = deadline - time.monotonic()
    if left <= 0:
        raise timeout_error()
    try:
        # On timeout wait_for cancels the future, which takes a queued call off the pool's queue.
        return await asyncio.wait_for(loop.run_in_executor(executor, unless_too_late), left)
    except (asyncio.TimeoutError, _TooLate):
        raise timeout_error() from None


async def acquire(lock: asyncio.Lock, *, timeout_error: Callable[[], DLaaSError]) -> None:
    """Take ``lock``, waiting for it no longer than the deadline in force.

    A lock that was taken when we came and is ours only when less than
    :data:`MIN_ATTEMPT_SECONDS` are left is given back and ``timeout_error()`` raised:
    the wait used up the time, so the error names the wait, not whatever would run next
    with no time to finish. A free lock is taken whatever the time left.
    """
    left = time_left()
    if left is None:
        await lock.acquire()
        return

    async def take() -> bool:
        # Whether someone held it, checked in the same step as taking it: wait_for may run this as a
        # task of its own, after a caller that came later has already looked.
        contended = lock.locked()
        await lock.acquire()
        return contended

    try:
        contended = await asyncio.wait_for(take(), max(left, 0.0))
    except asyncio.TimeoutError:
        raise timeout_error() from None
    left = time_left()
    if contended and left is not None and left < MIN_ATTEMPT_SECONDS:
        lock.release()
        raise timeout_error()


@contextlib.asynccontextmanager
async def holding(lock: asyncio.Lock, *, timeout_error: Callable[[], DLaaSError]) -> AsyncIterator[None]:
    """Hold ``lock`` while the block runs, waiting for it no longer than the deadline in force."""
    await acquire(lock, timeout_error=timeout_error)
    try:
        yield
    finally:
        lock.release()


# -- bounded retries -------------------------------------------------------------------------


async def retrying(
    attempt: Callable[[], Awaitable[T]],
    *,
    should_retry: Callable[[BaseException], bool],
    attempts: int = 3,
    first_pause: float = 0.2,
    jitter: Callable[[], float] = random.random,
) -> T:
    """``attempt()``, again after an error ``should_retry`` accepts: at most ``attempts`` times in all.

    The pauses grow (``first_pause``, twice that, ...) and are jittered (50-150 %) so that
    two clients that collided do not collide again; an attempt that could not end before
    the deadline in force is not made (the last error is raised instead).
    """
    for number in range(1, attempts + 1):
        try:
            return await attempt()
        except Exception as error:
            if number == attempts or not should_retry(error):
                raise
            pause = first_pause * 2 ** (number - 1) * (0.5 + jitter())
            left = time_left()
            if left is not None and left < pause + MIN_ATTEMPT_SECONDS:
                raise
            log.info("retrying after a transient error (attempt %d of %d): %s", number + 1, attempts, error)
            await asyncio.sleep(pause)
    raise AssertionError("unreachable")


# -- circuit breakers ---------------------------------------------------------------------------


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` says the service did not answer at all (an answer, even a refusal, is not an outage)."""
    return isinstance(error, ServiceTimeout) or (
        isinstance(error, ServiceUnavailable) and error.reason in (UNREACHABLE, NOT_ANSWERING)
    )


Probe = Callable[[], Awaitable[str | None]]


def sentence(text: str) -> str:
    """``text`` with a capital first letter, to start a sentence."""
    return text[:1].upper() + text[1:]


class CircuitBreaker:
    """Keeps callers away from a service that stopped answering, and lets them back as soon as it answers.

    Closed, calls go through. A call that ends in an outage (:func:`is_outage`) opens it;
    an answer, even a refusal (4xx, not found, permission), never does. Open, :meth:`admit`
    fails at once with a 503 naming the service. ``probe()`` checks whether the service
    answers again (None) or says in plain words what is down: in the background, after
    ``first_wait`` and then doubling waits up to ``max_wait``; and on demand when a caller
    finds the breaker open and the last probe ended at least ``probe_gap`` ago, in which
    case callers wait up to ``probe_patience`` for it, so the first request after a recovery
    works. One probe runs at a time.
    """

    def __init__(
        self,
        service: str,
        down: str,
        probe: Probe,
        *,
        first_wait: float = 1.0,
        max_wait: float = 15.0,
        probe_gap: float = 0.2,
        probe_patience: float = 0.5,
        jitter: Callable[[], float] = random.random,
    ):
        self.service = service
        self.default_headline = down  # what is down, in plain words, when nothing more precise is known
        self._probe = probe
        self.first_wait = first_wait
        self.max_wait = max_wait
        self.probe_gap = probe_gap
        self.probe_patience = probe_patience
        self._jitter = jitter
        self._headline: str | None = None  # what is down, while open
        self._probing: asyncio.Task[None] | None = None
        self._watching: asyncio.Task[None] | None = None
        self._last_probe_end = -float("inf")
        self.probes = 0  # how many probes ran (for tests and the log)

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.service}: {'open' if self.is_open else 'closed'}>"

    @property
    def is_open(self) -> bool:
        return self._headline is not None

    @property
    def headline(self) -> str | None:
        """What is down, in plain words, while open."""
        return self._headline

    def down_error(self) -> ServiceUnavailable:
        """The error callers get while the breaker is open."""
        headline = sentence(self._headline or self.default_headline)
        return ServiceUnavailable(f"{headline}; {RETRY_HINT}.", service=self.service, reason=NOT_ANSWERING)

    async def admit(self) -> None:
        """Return when the service may be called; raise :meth:`down_error` while it is known to be down."""
        if not self.is_open:
            return
        probing = self._probing
        if probing is None and time.monotonic() - self._last_probe_end >= self.probe_gap:
            probing = self._start_probe()
        if probing is not None:
            left = time_left()
            patience = self.probe_patience if left is None else max(0.0, min(self.probe_patience, left))
            await asyncio.wait({probing}, timeout=patience)  # never cancels the probe
        if self.is_open:
            raise self.down_error()

    def record(self, error: BaseException | None, *, headline: str | None = None) -> None:
        """After a call: an outage opens the breaker (``headline``: what is down); an answer closes it."""
        if error is not None and is_outage(error):
            self.trip(headline)
        elif error is None or isinstance(error, DLaaSError):
            self.close()
        # anything else (a cancelled request, a bug of ours) says nothing about the service

    def observe(self, headline: str | None) -> None:
        """What a check of the service found: None when it answers, else what is down."""
        if headline is None:
            self.close()
        else:
            self.trip(headline)

    def trip(self, headline: str | None = None) -> None:
        """Open (or keep open, with a newer diagnosis): the service does not answer."""
        if not self.is_open:
            log.warning("%s; failing fast until it answers again", sentence(headline or self.default_headline))
        self._headline = headline or self._headline or self.default_headline
        if self._watching is None or self._watching.done():
            self._watching = spawn_detached(self._watch())

    def close(self) -> None:
        """The service answers again: let calls through."""
        if self.is_open:
            log.info("%s answers again", self.service)
        self._headline = None

    def shutdown(self) -> None:
        for task in (self._probing, self._watching):
            if task is not None:
                task.cancel()

    async def probe_now(self) -> str | None:
        """Check the service now (or join the check under way), within the deadline: what is down, or None.

        None also when the check could not end in time: only a finding is reported.
        """
        probing = self._start_probe()
        left = time_left()
        done, _ = await asyncio.wait({probing}, timeout=None if left is None else max(left, 0.0))
        return self._headline if done else None

    @contextlib.asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """Admit, run the block, and record how it ended."""
        await self.admit()
        try:
            yield
        except BaseException as error:
            self.record(error)
            raise
        self.record(None)

    # -- probing --------------------------------------------------------------------------------

    def _start_probe(self) -> asyncio.Task[None]:
        if self._probing is None:
            self._probing = spawn_detached(self._run_probe())
        return self._probing

    async def _run_probe(self) -> None:
        self.probes += 1
        try:
            headline = await self._probe()
        except Exception as error:  # a probe must not die: treat its failure as "still down"
            log.warning("checking %s failed: %s", self.service, error)
            headline = self._headline or self.default_headline
        finally:
            self._last_probe_end = time.monotonic()
            self._probing = None
        self.observe(headline)

    async def _watch(self) -> None:
        """While open, probe in the background with growing waits, so it closes without any request."""
        wait = self.first_wait
        while self.is_open:
            await asyncio.sleep(wait * (0.75 + 0.5 * self._jitter()))
            if not self.is_open:
                break
            probing = self._probing or self._start_probe()
            await asyncio.shield(probing)
            wait = min(wait * 2, self.max_wait)
