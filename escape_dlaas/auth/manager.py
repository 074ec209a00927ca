"""One instance's credentials for Rucio: found, exchanged, cached and refreshed.

The manager lives on the event loop; everything that blocks (files, HTTP,
oidc-agent) runs on the executor it is given, bounded by timeouts. An asyncio
lock makes concurrent callers share one lookup and one exchange.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from ..config import InstanceConfig
from ..errors import (
    ConfigurationError,
    CredentialsExpired,
    CredentialsMissing,
    DLaaSError,
    PermissionDenied,
    ServiceTimeout,
    ServiceUnavailable,
)
from ..resilience import (
    NOT_ANSWERING,
    CircuitBreaker,
    Probe,
    holding,
    run_blocking,
    time_budget,
    time_left,
)
from .claims import TokenClaims
from .exchange import ISSUER_SERVICE, TokenExchanger
from .redact import get_logger, redact
from .sources import Credential, FoundToken, TokenSource, UserpassCredentials, build_source, sign_in_again_hint

log = get_logger(__name__)
T = TypeVar("T")

# A token with less than this left is treated as expired: it could die on the way.
EXPIRY_SKEW_SECONDS = 5.0
DEFAULT_REFRESH_MARGIN_SECONDS = 60
PROBE_SECONDS = 5.0  # longest a check of the issuer or the hub waits for an answer
# Which failure explains best why no source was usable, most telling first.
_ERROR_PRIORITY: tuple[type[DLaaSError], ...] = (
    CredentialsExpired,
    ServiceUnavailable,
    PermissionDenied,
    ConfigurationError,
    CredentialsMissing,
)


@dataclass(frozen=True)
class RucioCredentials:
    """What to present to Rucio: a bearer token (``auth_type == "oidc"``) or a username and password.

    Secrets are excluded from repr (and so from str and from logs of the object).
    """

    auth_type: Literal["oidc", "userpass"]
    source: str  # which configured source it came from, e.g. "file:/path", "jupyterhub"
    account: str | None = None  # the configured Rucio account; None: the identity's default
    token: str | None = field(default=None, repr=False)
    claims: TokenClaims | None = None
    expires_at: float | None = None
    exchanged: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    obtained_at: float = 0.0

    def summary(self, now: float | None = None) -> dict[str, Any]:
        """Who this is and for how long: never a secret."""
        now = time.time() if now is None else now
        claims = self.claims
        expires_in = None if self.expires_at is None else max(0, int(self.expires_at - now))
        return {
            "authenticated": expires_in is None or expires_in > 0,
            "auth_type": self.auth_type,
            "sub": claims.sub if claims else None,
            "iss": claims.iss if claims else None,
            "aud": list(claims.aud) if claims else [],
            "scope": claims.scope if claims else None,
            "exp": None if self.expires_at is None else int(self.expires_at),
            "expires_in": expires_in,
            "source": self.source,
            "exchanged": self.exchanged,
            "username": self.username,
        }


def _empty_summary() -> dict[str, Any]:
    return {
        "authenticated": False,
        "auth_type": None,
        "sub": None,
        "iss": None,
        "aud": [],
        "scope": None,
        "exp": None,
        "expires_in": None,
        "source": None,
        "exchanged": False,
        "username": None,
    }


class TokenManager:
    """Gives Rucio credentials for one instance, exchanging and refreshing the user's token as needed.

    ``executor``: the bounded pool all blocking work runs on. ``sources`` and
    ``exchanger`` default to what ``instance`` configures (tests and sites may
    pass their own). ``subject_recheck_seconds``: how long a result is reused
    before the sources are read again to notice a refreshed token.
    """

    def __init__(
        self,
        instance: InstanceConfig,
        executor: Executor,
        *,
        sources: Sequence[TokenSource] | None = None,
        exchanger: TokenExchanger | None = None,
        rucio_audience: str = "rucio",
        subject_recheck_seconds: float = 10.0,
        clock: Callable[[], float] = time.time,
    ):
        self.instance = instance
        exchange_config = instance.token_exchange
        if exchanger is None and exchange_config is not None:
            exchanger = TokenExchanger(
                exchange_config, ca_bundle=instance.ca_bundle, timeout=instance.timeout_seconds, clock=clock
            )
        self._exchanger = exchanger
        self.rucio_audience = exchanger.audience if exchanger is not None else rucio_audience
        self.refresh_margin = (
            exchange_config.refresh_margin_seconds if exchange_config is not None else DEFAULT_REFRESH_MARGIN_SECONDS
        )
        if sources is None:
            # Without an exchange, ask oidc-agent for a token Rucio takes as it is.
            direct = None if exchanger is not None else rucio_audience
            sources = [build_source(c, instance, direct_audience=direct) for c in instance.token_sources]
        self._sources = list(sources)
        self._executor = executor
        self._recheck = subject_recheck_seconds
        self._clock = clock
        self._lock = asyncio.Lock()
        # One breaker per remote service asked for credentials: the issuer, and sources such as the hub.
        self._issuer_breaker = (
            None
            if exchanger is None
            else CircuitBreaker(
                ISSUER_SERVICE, exchanger.down_headline, self._probe(exchanger.probe, exchanger.down_headline)
            )
        )
        self._source_breakers: dict[str, CircuitBreaker] = {}
        for source in self._sources:
            headline = source.down_headline()
            if headline is not None:
                self._source_breakers[source.label] = CircuitBreaker(
                    source.service, headline, self._probe(source.probe, headline)
                )
        self._cached: RucioCredentials | None = None
        self._subject_fingerprint: str | None = None
        self._checked_at = -math.inf

    def __repr__(self) -> str:
        return f"<TokenManager instance={self.instance.name} sources={[s.label for s in self._sources]}>"

    @property
    def sources(self) -> tuple[TokenSource, ...]:
        return tuple(self._sources)

    @property
    def exchanges(self) -> bool:
        return self._exchanger is not None

    # -- public API ---------------------------------------------------------------------

    async def rucio_credentials(self) -> RucioCredentials:
        """Credentials to call Rucio with now, found/exchanged/refreshed if needed."""
        cached = self._reusable()
        if cached is not None:
            return cached
        # A wait for another renewal that leaves no time to use its result ends in _still_waiting (see acquire).
        async with holding(self._lock, timeout_error=self._still_waiting):
            # Whoever held the lock before us may have just renewed them.
            cached = self._reusable()
            if cached is not None:
                return cached
            return await self._renew()

    async def user_token(self) -> str:
        """The user's own (IAM) token as the first usable source holds it, never exchanged.

        For services that take the user's IAM token themselves (ESAP's API).
        """
        found = await self._first_usable()
        if isinstance(found, UserpassCredentials):
            raise CredentialsMissing(
                f"{self.instance.label} signs in with a username and password: there is no token to send."
            )
        return found.token

    def current(self) -> RucioCredentials | None:
        """The credentials in use while still valid; never looks for new ones (for checks that must cost no sign-in)."""
        cached = self._cached
        return cached if self._still_valid(cached, self._clock()) else None

    async def issuer_trouble(self) -> str | None:
        """What keeps the token issuer from renewing a sign-in now (it does not answer), or None.

        Known when its breaker is open; otherwise asked at once (a cheap request, within the deadline).
        """
        breaker = self._issuer_breaker
        if breaker is None:
            return None
        if breaker.is_open:
            return breaker.headline
        return await breaker.probe_now()

    def summary(self) -> dict[str, Any]:
        """For "who am I": subject, issuer, audience, scope, expiry, source. Never the token."""
        if self._cached is None:
            return _empty_summary()
        return self._cached.summary(self._clock())

    def invalidate(self) -> None:
        """Forget the cached credentials (Rucio answered 401): the next call finds and exchanges anew."""
        self._cached = None
        self._subject_fingerprint = None
        self._checked_at = -math.inf

    def close(self) -> None:
        for breaker in [self._issuer_breaker, *self._source_breakers.values()]:
            if breaker is not None:
                breaker.shutdown()
        for source in self._sources:
            source.close()
        if self._exchanger is not None:
            self._exchanger.close()

    # -- freshness ------------------------------------------------------------------------

    def _needs_refresh(self, credentials: RucioCredentials, now: float) -> bool:
        if credentials.expires_at is None:
            return False
        # Never more than half the token's life, or a short-lived token would be renewed on every call.
        lifetime = max(0.0, credentials.expires_at - credentials.obtained_at)
        margin = max(min(float(self.refresh_margin), lifetime / 2), EXPIRY_SKEW_SECONDS)
        return credentials.expires_at - now <= margin

    def _reusable(self) -> RucioCredentials | None:
        cached = self._cached
        if cached is None:
            return None
        now = self._clock()
        if now - self._checked_at >= self._recheck or self._needs_refresh(cached, now):
            return None
        return cached

    @staticmethod
    def _still_valid(credentials: RucioCredentials | None, now: float) -> bool:
        return credentials is not None and (
            credentials.expires_at is None or credentials.expires_at - now > EXPIRY_SKEW_SECONDS
        )

    # -- renewal --------------------------------------------------------------------------

    async def _renew(self) -> RucioCredentials:
        previous = self._cached
        try:
            fresh = await self._obtain(previous)
        except ServiceUnavailable as error:
            now = self._clock()
            left = time_left()
            # With the request's time used up, the error is what to report (not a later, instant timeout).
            if not self._still_valid(previous, now) or (left is not None and left <= 0):
                raise
            # An early refresh failed on an outage, but what we have still works: keep using it.
            assert previous is not None
            log.warning("could not renew credentials for %s (%s); using the current ones", self.instance.name, error)
            self._checked_at = now
            return previous
        self._cached = fresh
        self._checked_at = self._clock()
        return fresh

    async def _obtain(self, previous: RucioCredentials | None) -> RucioCredentials:
        found = await self._first_usable()
        now = self._clock()
        account = self.instance.account
        if isinstance(found, UserpassCredentials):
            self._subject_fingerprint = None
            return RucioCredentials(
                auth_type="userpass",
                source=found.source,
                account=account,
                username=found.username,
                password=found.password,
                obtained_at=now,
            )
        unchanged = (
            previous is not None
            and previous.auth_type == "oidc"
            and previous.source == found.source
            and found.fingerprint == self._subject_fingerprint
        )
        if unchanged and previous is not None and (self._exchanger is None or not self._needs_refresh(previous, now)):
            # Same subject token: keep the same credentials (and their obtained_at, which sets the margin).
            return previous
        exchanger = self._exchanger
        if exchanger is None:
            log.info("using the token from %s for %s as it is", found.source, self.instance.name)
            token, claims, expires_at = found.token, found.claims, found.expires_at
        else:
            exchanged = await self._blocking(
                lambda: exchanger.exchange(found),
                timeout=exchanger.timeout,
                service=ISSUER_SERVICE,
                who=f"The token issuer {exchanger.issuer}",
                breaker=self._issuer_breaker,
            )
            token, claims, expires_at = exchanged.token, exchanged.claims, exchanged.expires_at
        self._subject_fingerprint = found.fingerprint
        return RucioCredentials(
            auth_type="oidc",
            source=found.source,
            account=account,
            token=token,
            claims=claims,
            expires_at=expires_at,
            exchanged=exchanger is not None,
            obtained_at=now,
        )

    async def _first_usable(self) -> Credential:
        """The first source, in configured order, that yields usable credentials."""
        if not self._sources:
            raise ConfigurationError(f"{self.instance.label}: no token source is configured", field="token_sources")
        problems: list[DLaaSError] = []
        for source in self._sources:
            timeout = source.timeout or self.instance.timeout_seconds
            try:
                credential = await self._blocking(
                    source.fetch,
                    timeout=timeout,
                    service=source.service,
                    who=f"The token source {source.label}",
                    breaker=self._source_breakers.get(source.label),
                )
            except DLaaSError as error:
                log.debug("token source %s: %s", source.label, redact(error.message))
                problems.append(error)
                continue
            if isinstance(credential, UserpassCredentials):
                return credential
            problem = self._unusable(credential)
            if problem is None:
                return credential
            log.debug("token source %s: %s", source.label, redact(problem.message))
            problems.append(problem)
        explained = self._explain(problems)
        if isinstance(explained, CredentialsExpired) and self._exchanger is not None:
            # A sign-in that expired while the issuer is down cannot be renewed by signing in again.
            trouble = await self.issuer_trouble()
            if trouble is not None:
                raise ServiceUnavailable(
                    f"Your sign-in for {self.instance.label} has expired and cannot be renewed: {trouble}. "
                    "Try again once it answers.",
                    service=ISSUER_SERVICE,
                    reason=NOT_ANSWERING,
                )
        raise explained

    def _unusable(self, found: FoundToken) -> DLaaSError | None:
        now = self._clock()
        if found.expires_at is not None and found.expires_at - now <= EXPIRY_SKEW_SECONDS:
            ago = int(now - found.expires_at)
            when = f"{ago} s ago" if ago >= 0 else "just now"
            return CredentialsExpired(
                f"The token from {found.source} expired {when}. {sign_in_again_hint(found.source)}"
            )
        if self._exchanger is not None:
            refusal = self._exchanger.refusal(found)
            return None if refusal is None else ConfigurationError(refusal[0].upper() + refusal[1:] + ".")
        # Straight to Rucio: a JWT must be meant for Rucio (never the hub's login token). Opaque tokens pass.
        if found.claims is not None and not found.claims.has_audience(self.rucio_audience):
            audience = ", ".join(found.claims.aud) or "no audience"
            return ConfigurationError(
                f"The token from {found.source} is meant for {audience}, not Rucio ('{self.rucio_audience}'), "
                "so it is not sent to Rucio. The administrator can configure token_exchange, or a source "
                "that holds a Rucio token."
            )
        return None

    def _explain(self, problems: list[DLaaSError]) -> DLaaSError:
        details = "; ".join(dict.fromkeys(p.message.rstrip(".") for p in problems))
        message = redact(f"No usable credentials for {self.instance.label}: {details}.")
        for kind in _ERROR_PRIORITY:
            first = next((p for p in problems if isinstance(p, kind)), None)
            if first is None:
                continue
            if isinstance(first, ServiceUnavailable):
                return type(first)(message, service=first.service, reason=first.reason)
            return kind(message)
        return CredentialsMissing(message)

    async def _blocking(
        self, func: Callable[[], T], *, timeout: float, service: str, who: str, breaker: CircuitBreaker | None = None
    ) -> T:
        """Run ``func`` on the executor, behind the service's breaker, within the request's deadline.

        ``func`` bounds each of its network waits by ``timeout``; it may make two requests
        (discovery, then the exchange), so on its own it is given twice that, and less when
        the request's deadline comes sooner. ``who`` names the service in messages.
        """

        def timed_out() -> ServiceTimeout:
            return ServiceTimeout(f"{who} did not answer within {timeout:g} s.", service=service)

        with time_budget(2 * timeout + 1, from_now=True):
            if breaker is None:
                return await run_blocking(self._executor, func, timeout_error=timed_out)
            async with breaker.guard():
                return await run_blocking(self._executor, func, timeout_error=timed_out)

    def _probe(self, blocking_probe: Callable[[], str | None], headline: str) -> Probe:
        """A breaker's probe: the service's own blocking probe on the executor; no answer in time: ``headline``."""

        async def probe() -> str | None:
            with time_budget(PROBE_SECONDS, from_now=True):
                try:
                    return await run_blocking(
                        self._executor, blocking_probe, timeout_error=lambda: ServiceTimeout(headline, service="probe")
                    )
                except ServiceTimeout:
                    return headline

        return probe

    def _still_waiting(self) -> ServiceTimeout:
        """For a request that waited its whole time for another one renewing the credentials."""
        if self._exchanger is not None:
            who, service = f"the token issuer {self._exchanger.issuer}", ISSUER_SERVICE
        else:
            who, service = "the token source", "token source"
        return ServiceTimeout(
            f"Your credentials for {self.instance.label} are being renewed, but {who} has not answered yet; "
            "try again in a few seconds.",
            service=service,
        )
