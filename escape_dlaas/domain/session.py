"""One Rucio instance as the domain talks to it: credentials, the gateway, the pool, deadlines, the breaker.

A :class:`RucioSession` is made once per configured instance. Every domain operation
takes one and reaches Rucio only through :meth:`RucioSession.rucio`, which brings the
user's token (refreshed once when Rucio refuses it), runs the blocking call on the
bounded thread pool within the request's one deadline, retries Rucio's transient
database conflicts, fails at once while Rucio is known not to answer, and lets a new
token's first call run alone. :meth:`RucioSession.check_soon` finds out whether Rucio
and its database answer, for the status view and for the breaker.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, TypeVar

from ..auth import RucioCredentials, TokenManager
from ..auth.exchange import ISSUER_SERVICE
from ..config import InstanceConfig
from ..errors import CredentialsExpired, DLaaSError, ServiceTimeout, ServiceUnavailable
from ..resilience import (
    NOT_ANSWERING,
    RETRY_HINT,
    CircuitBreaker,
    acquire,
    current_deadline,
    holding,
    is_outage,
    retrying,
    run_blocking,
    spawn_detached,
    time_budget,
    time_left,
)
from ..rucio.client import TokenClient
from ..rucio.errors import (
    RUCIO,
    RucioDatabaseError,
    RucioDatabaseUnavailable,
    RucioTransientError,
    database_unavailable,
    transient_failure,
)
from ..rucio.gateway import RucioGateway, RucioUnauthorized
from .cache import USERPASS_TOKEN, TTLCache

T = TypeVar("T")

# Added to the instance's timeout_seconds to make a request's one deadline: the client's own
# network timeout (cut to the deadline) fires first and names Rucio's URL.
DEADLINE_GRACE_SECONDS = 0.25
USERPASS_TOKEN_MAX_AGE = 3000.0  # seconds; Rucio's userpass tokens live an hour
ACCOUNT_MAX_AGE = 300.0
TRANSIENT_ATTEMPTS = 3  # tries of a call that meets a database conflict
PROBE_SECONDS = 5.0  # longest a check of Rucio waits for each answer (ping, then its database)
# After a database check got no answer, wait this long before the next one, twice as long
# after each further one (up to the maximum): with the database hung, each check ties up
# one of Rucio's workers until the database is back.
DATABASE_RECHECK_SECONDS = 1.0
DATABASE_RECHECK_MAX_SECONDS = 8.0
CONDITION_FRESH_SECONDS = 10.0  # how long a check's finding explains a timeout
SLOW_CALL_SECONDS = 1.0  # a call still running after this (or a third of the timeout) starts a check of Rucio

OK, UNAVAILABLE, CHECKING, UNKNOWN = "ok", "unavailable", "checking", "unknown"


@dataclass(frozen=True)
class RucioCondition:
    """What the last check of an instance found: Rucio's front (``/ping``) and its database."""

    answers: bool | None = None  # None: not checked yet
    version: str | None = None
    latency_ms: float | None = None
    database: str = UNKNOWN  # ok | unavailable | checking | unknown (no credentials Rucio knows yet)
    problem: str | None = None  # what is down, in plain words; None when everything checked answers
    outage: bool = False  # nothing answers in time (opens the breaker)
    checked: float = field(default_factory=time.monotonic)
    checked_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def to_status(self) -> dict[str, Any]:
        """The status view's fields: ``reachable`` says Rucio can serve requests (front and database)."""
        error = None if self.problem is None else f"{self.problem}."
        if error is not None and self.database == UNAVAILABLE:
            error += " Searches and requests fail until the data lake's operators bring the database back."
        return {
            "reachable": bool(self.answers) and self.database != UNAVAILABLE,
            "rucio_version": self.version,
            "latency_ms": self.latency_ms,
            "database": self.database,
            "error": error,
            "checked_at": self.checked_at,
        }


class _KnownDown(Exception):
    """A queued call found Rucio known to be down when a worker took it up: it is not sent."""


class RucioSession:
    """Everything needed to call one Rucio instance on behalf of the user.

    ``probe_executor``: a small pool of its own for checks of Rucio, so that a pool full of
    hung calls never delays finding out that Rucio is back.
    """

    def __init__(
        self,
        config: InstanceConfig,
        executor: ThreadPoolExecutor,
        log: logging.Logger,
        *,
        probe_executor: ThreadPoolExecutor | None = None,
    ):
        self.config = config
        self.executor = executor
        self.probe_executor = probe_executor or executor
        self.log = log
        self.gateway = RucioGateway(config)
        self.tokens = TokenManager(config, executor)
        self.cache = TTLCache()
        self.breaker = CircuitBreaker(RUCIO, f"Rucio at {config.rucio_url} is not answering", self._probe)
        self.condition = RucioCondition()
        self._checking: asyncio.Task[RucioCondition] | None = None
        self._database_recheck_at = 0.0
        self._database_silences = 0  # database checks in a row that got no answer
        self._serialised: dict[Hashable, asyncio.Lock] = {}
        self._first_use_lock = asyncio.Lock()
        self._token_known_to_rucio: bytes | None = None

    def close(self) -> None:
        self.tokens.close()
        self.breaker.shutdown()
        if self._checking is not None:
            self._checking.cancel()

    # -- the deadline ------------------------------------------------------------------------------

    def budget(self) -> AbstractContextManager[float]:
        """The request's one deadline: ``timeout_seconds`` (plus a little grace) from its start, queueing included."""
        return time_budget(self.config.timeout_seconds + DEADLINE_GRACE_SECONDS)

    async def blocking(
        self, func: Callable[[], T], *, service: str = RUCIO, executor: ThreadPoolExecutor | None = None
    ) -> T:
        """Run ``func`` on the bounded pool within the request's deadline (waiting for a worker counts)."""
        with self.budget():
            return await run_blocking(executor or self.executor, func, timeout_error=lambda: self._timeout(service))

    def _timeout(self, service: str) -> ServiceTimeout:
        seconds = self.config.timeout_seconds
        if service != RUCIO:
            return ServiceTimeout(f"{service} did not answer within {seconds:g} s.", service=service)
        return ServiceTimeout(f"{self._diagnosis()} (no answer within {seconds:g} s); {RETRY_HINT}.", service=RUCIO)

    def _diagnosis(self) -> str:
        """What is down when a call got no answer, from the latest check of Rucio (one runs when a call is slow)."""
        condition = self.condition
        fresh = time.monotonic() - condition.checked < CONDITION_FRESH_SECONDS
        if fresh and condition.answers and condition.database in (UNAVAILABLE, CHECKING):
            return f"Rucio at {self.config.rucio_url} answers, but its database is not answering"
        return f"Rucio at {self.config.rucio_url} is not answering"

    # -- calls ---------------------------------------------------------------------------------------

    async def rucio(self, operation: Callable[[TokenClient], T], *, what: str, retry_transient: bool = True) -> T:
        """Run a rucio-clients call with the user's Rucio token; refresh once on a 401.

        ``what`` names the action in plain words for error messages ("search lofar").
        ``retry_transient``: try again (up to TRANSIENT_ATTEMPTS times in all, with jittered
        pauses, within the deadline) when Rucio's database turns the call down for now (a
        lock or a deadlock: nothing was changed). Right for reads and for calls that change
        nothing when they fail this way, such as creating a rule; pass False for a call that
        must not run twice.
        """
        with self.budget():
            for attempt in (1, 2):
                try:
                    return await self._with_retries(lambda: self._with_token(operation, what), retry_transient)
                except RucioUnauthorized as refused:
                    self.tokens.invalidate()
                    self.cache.forget(USERPASS_TOKEN)
                    if attempt == 2:
                        raise await self._refused(refused) from None
        raise AssertionError("unreachable")

    async def _with_token(self, operation: Callable[[TokenClient], T], what: str) -> T:
        token, account = await self.rucio_token()

        def call(deadline: float | None) -> T:
            return self.gateway.call(token, account, operation, what=what, deadline=deadline)

        return await self._first_use_alone(token, call)

    async def _with_retries(self, attempt: Callable[[], Awaitable[T]], retry_transient: bool) -> T:
        tries = 0

        async def counted() -> T:
            nonlocal tries
            tries += 1
            return await attempt()

        try:
            return await retrying(
                counted,
                should_retry=lambda error: retry_transient and isinstance(error, RucioTransientError),
                attempts=TRANSIENT_ATTEMPTS,
            )
        except RucioDatabaseError as error:
            raise await self._database_failure(error) from None
        except RucioTransientError as error:
            raise transient_failure(error, tries) from None

    async def _database_failure(self, error: RucioDatabaseError) -> DLaaSError:
        """Rucio's database kept failing without saying why: find out whether it is away, then say which."""
        checking = self.check_soon(fresh=True)
        left = time_left()
        await asyncio.wait({checking}, timeout=None if left is None else max(left, 0.0))
        if self.condition.database == OK:
            return ServiceUnavailable(
                f"Cannot {error.what}: Rucio failed on it with an internal database error, although its database "
                "answers. Try again later, and tell the data lake's operators if it keeps happening.",
                service=RUCIO,
                reason="rucio_error",
            )
        return database_unavailable(self.config, error.what)

    async def _refused(self, refused: RucioUnauthorized) -> DLaaSError:
        """Rucio refused a fresh token: expired sign-in, unless the token issuer Rucio checks tokens with is down."""
        trouble = await self.tokens.issuer_trouble()
        if trouble is not None:
            return ServiceUnavailable(
                f"Rucio could not check your sign-in: {trouble}; {RETRY_HINT}.",
                service=ISSUER_SERVICE,
                reason=NOT_ANSWERING,
            )
        return CredentialsExpired(f"Rucio did not accept your credentials ({refused}). Sign in again, then retry.")

    async def _call_rucio(self, func: Callable[[float | None], T]) -> T:
        """Call Rucio within the deadline, behind the breaker; ``func`` gets the deadline for its network waits.

        A call still running after SLOW_CALL_SECONDS starts a check of Rucio, so that when it
        gets no answer the error can say whether Rucio or only its database is not answering.
        """
        await self.breaker.admit()
        breaker, deadline = self.breaker, current_deadline()

        def unless_known_down() -> T:
            if breaker.is_open:  # found down while this call waited for a worker: do not add to its load
                raise _KnownDown
            return func(deadline)

        slow = asyncio.get_running_loop().call_later(
            min(SLOW_CALL_SECONDS, self.config.timeout_seconds / 3), self.check_soon
        )
        try:
            result = await run_blocking(self.executor, unless_known_down, timeout_error=lambda: self._timeout(RUCIO))
        except _KnownDown:
            raise breaker.down_error() from None
        except RucioDatabaseUnavailable:
            self._found(
                replace(
                    self.condition, answers=True, database=UNAVAILABLE, problem=self._database_headline(timed_out=False)
                )
            )
            raise
        except ServiceTimeout:
            # The client's own network timeout (cut to the deadline): say what is not answering.
            breaker.trip(self._diagnosis())
            raise self._timeout(RUCIO) from None
        except BaseException as error:
            if is_outage(error):
                breaker.trip(self._diagnosis())
            elif isinstance(error, DLaaSError):
                self._answered()
            raise
        finally:
            slow.cancel()
        self._answered()
        return result

    async def rucio_token(self) -> tuple[str | None, str | None]:
        """The token to present to Rucio and the configured account (None: the identity's default)."""
        credentials = await self.tokens.rucio_credentials()
        token = credentials.token
        if credentials.auth_type == "userpass":
            token = await self._userpass_token(credentials)
        return token, credentials.account

    async def _first_use_alone(self, token: str | None, call: Callable[[float | None], T]) -> T:
        """Run ``call``; the first call with a new token runs alone, the others wait for it.

        Rucio records a bearer token in its database the first time it sees it; two
        requests bringing the same new token at once race on that insert and one of
        them is refused with a 401 (seen as ``TOKENS_PK`` violations in PostgreSQL's
        log when 20 searches start together). Once Rucio has accepted the token, calls
        run concurrently again. Only a digest of the token is kept. Waiting for the
        first call counts against the deadline.
        """
        digest = _digest(token)
        if digest == self._token_known_to_rucio:
            return await self._call_rucio(call)
        async with holding(self._first_use_lock, timeout_error=lambda: self._timeout(RUCIO)):
            if digest != self._token_known_to_rucio:
                try:
                    result = await self._call_rucio(call)
                except DLaaSError as error:
                    # a refusal of the operation still means Rucio took the token in;
                    # RucioUnauthorized (not a DLaaSError) or no answer at all do not
                    if not isinstance(error, ServiceUnavailable):
                        self._token_known_to_rucio = digest
                    raise
                self._token_known_to_rucio = digest
                return result
        return await self._call_rucio(call)

    async def _userpass_token(self, credentials: RucioCredentials) -> str:
        """Rucio's own token for a username/password identity, reused until Rucio refuses it."""
        cached = self.cache.get(USERPASS_TOKEN, USERPASS_TOKEN_MAX_AGE)
        if cached is None:
            cached = await self._call_rucio(lambda deadline: self.gateway.userpass_token(credentials, deadline))
            self.cache.put(USERPASS_TOKEN, cached)
        return str(cached)

    async def account(self) -> str:
        """The Rucio account the user acts as (asked of Rucio once, then cached)."""
        cached = self.cache.get("whoami", ACCOUNT_MAX_AGE)
        if cached is None:
            who = await self.rucio(lambda c: c.whoami(), what="find out who you are")
            cached = str((who or {}).get("account", ""))
            self.cache.put("whoami", cached)
        return str(cached)

    async def whoami(self) -> dict[str, Any]:
        """The instance, the account and a summary of the token (never the token itself)."""
        with self.budget():
            # Renewed (or refused, explained) first: a cached account must not make an expired sign-in look valid.
            await self.tokens.rucio_credentials()
        account = await self.account()
        return {"instance": self.config.name, "account": account, "token": self.tokens.summary()}

    @contextlib.asynccontextmanager
    async def serialised(self, key: Hashable) -> AsyncIterator[None]:
        """Hold the lock for ``key`` (one rule per DID and target) while the block runs.

        Waiting for it counts against the request's deadline; the block itself is not
        limited here (its calls to Rucio are).
        """
        lock = self._serialised.setdefault(key, asyncio.Lock())
        with self.budget():
            await acquire(
                lock,
                timeout_error=lambda: ServiceTimeout(
                    f"Another request of yours for the same data is still waiting for Rucio at "
                    f"{self.config.rucio_url}; try again in a few seconds.",
                    service=RUCIO,
                ),
            )
        try:
            yield
        finally:
            lock.release()

    # -- checking Rucio ------------------------------------------------------------------------------

    def check_soon(self, *, fresh: bool = False) -> asyncio.Task[RucioCondition]:
        """The check of Rucio under way, or a new one (``fresh``: a new one unless one is under way).

        A check pings Rucio and then, with a token Rucio already knows, asks it who the user
        is, which needs its database (``/ping`` answers without it). Its finding goes to
        :attr:`condition` and to the breaker.
        """
        if self._checking is None or self._checking.done():
            recent = self._checking is not None and time.monotonic() - self.condition.checked < 1.0
            if fresh or not recent:
                self._checking = spawn_detached(self._check())
        assert self._checking is not None
        return self._checking

    async def _probe(self) -> str | None:
        """For the breaker: None when Rucio and its database answer, else what is down."""
        condition = await asyncio.shield(self.check_soon(fresh=True))
        return condition.problem if condition.outage or condition.database == UNAVAILABLE else None

    async def _check(self) -> RucioCondition:
        patience = min(self.config.timeout_seconds, PROBE_SECONDS)
        started = time.perf_counter()
        try:
            with time_budget(patience, from_now=True):
                deadline = current_deadline()
                answer = await run_blocking(
                    self.probe_executor, lambda: self.gateway.ping(deadline), timeout_error=lambda: self._timeout(RUCIO)
                )
        except DLaaSError as error:
            headline = error.message.rstrip(".")
            if isinstance(error, ServiceTimeout):
                headline = f"Rucio at {self.config.rucio_url} is not answering"
            return self._found(RucioCondition(answers=False, problem=headline, outage=is_outage(error)))
        front = RucioCondition(
            answers=True,
            version=answer.get("version"),
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            database=CHECKING,
        )
        self.condition = front  # a call timing out meanwhile can already tell that Rucio's front answers
        database, problem, outage = await self._check_database(patience)
        return self._found(replace(front, database=database, problem=problem, outage=outage, checked=time.monotonic()))

    async def _check_database(self, patience: float) -> tuple[str, str | None, bool]:
        """(database state, what is down, whether it got no answer) from a call that needs Rucio's database."""
        known = self._credentials_known_to_rucio()
        if known is None:
            return UNKNOWN, None, False
        if time.monotonic() < self._database_recheck_at:
            return UNAVAILABLE, self._database_headline(timed_out=True), True
        token, account = known
        try:
            with time_budget(patience, from_now=True):
                deadline = current_deadline()
                await run_blocking(
                    self.probe_executor,
                    lambda: self.gateway.call(
                        token, account, lambda c: c.whoami(), what="check Rucio's database", deadline=deadline
                    ),
                    timeout_error=lambda: self._timeout(RUCIO),
                )
        except ServiceTimeout:
            self._database_silences += 1
            wait = min(DATABASE_RECHECK_SECONDS * 2 ** (self._database_silences - 1), DATABASE_RECHECK_MAX_SECONDS)
            self._database_recheck_at = time.monotonic() + wait
            return UNAVAILABLE, self._database_headline(timed_out=True), True
        except (RucioDatabaseUnavailable, RucioDatabaseError):
            return UNAVAILABLE, self._database_headline(timed_out=False), False
        except RucioTransientError:
            return OK, None, False  # busy with a conflict, but it answers
        except (RucioUnauthorized, DLaaSError):
            return UNKNOWN, None, False  # an answer that does not tell about the database
        self._database_recheck_at, self._database_silences = 0.0, 0
        return OK, None, False

    def _database_headline(self, *, timed_out: bool) -> str:
        if timed_out:
            return f"Rucio at {self.config.rucio_url} answers, but its database is not answering"
        return f"Rucio at {self.config.rucio_url} answers, but cannot reach its database"

    def _found(self, condition: RucioCondition) -> RucioCondition:
        """Keep what a check (or a call) found, and tell the breaker."""
        self.condition = condition
        if condition.problem is None:
            self.breaker.observe(None)
        elif condition.outage or condition.database == UNAVAILABLE:
            self.breaker.observe(condition.problem)
        return condition

    def _answered(self) -> None:
        """A call got Rucio's answer: whatever a check found wrong before is over (every call needs the database)."""
        if self.condition.problem is not None:
            self._database_recheck_at, self._database_silences = 0.0, 0
            self._found(replace(self.condition, answers=True, database=OK, problem=None, outage=False))

    def _credentials_known_to_rucio(self) -> tuple[str, str | None] | None:
        """A token Rucio has already accepted, and the account (never a new token: its first use runs alone)."""
        credentials = self.tokens.current()
        if credentials is None:
            return None
        token = credentials.token
        if credentials.auth_type == "userpass":
            token = self.cache.get(USERPASS_TOKEN, USERPASS_TOKEN_MAX_AGE)
        if not token or _digest(token) != self._token_known_to_rucio:
            return None
        return str(token), credentials.account


def _digest(token: str | None) -> bytes:
    return hashlib.sha256((token or "").encode()).digest()
