"""One Rucio instance as the domain talks to it: credentials, the gateway, the pool, timeouts.

A :class:`RucioSession` is made once per configured instance. Every domain operation
takes one and reaches Rucio only through :meth:`RucioSession.rucio`, which brings the
user's token (refreshed once when Rucio refuses it), runs the blocking call on the
bounded thread pool with a timeout, and lets a new token's first call run alone.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ..auth import RucioCredentials, TokenManager
from ..config import InstanceConfig
from ..errors import CredentialsExpired, DLaaSError, ServiceTimeout, ServiceUnavailable
from ..rucio.client import TokenClient
from ..rucio.gateway import RucioGateway, RucioUnauthorized
from .cache import USERPASS_TOKEN, TTLCache

T = TypeVar("T")

# Added to the instance's timeout_seconds: the client's own timeout (whose error names
# Rucio's URL) should fire first; this one catches a call that hangs anyway.
TIMEOUT_GRACE_SECONDS = 5.0
USERPASS_TOKEN_MAX_AGE = 3000.0  # seconds; Rucio's userpass tokens live an hour
ACCOUNT_MAX_AGE = 300.0


class RucioSession:
    """Everything needed to call one Rucio instance on behalf of the user."""

    def __init__(self, config: InstanceConfig, executor: ThreadPoolExecutor, log: logging.Logger):
        self.config = config
        self.executor = executor
        self.log = log
        self.gateway = RucioGateway(config)
        self.tokens = TokenManager(config, executor)
        self.cache = TTLCache()
        self._serialised: dict[Hashable, asyncio.Lock] = {}
        self._first_use_lock = asyncio.Lock()
        self._token_known_to_rucio: bytes | None = None

    def close(self) -> None:
        self.tokens.close()

    async def blocking(
        self, func: Callable[[], T], *, service: str = "Rucio", executor: ThreadPoolExecutor | None = None
    ) -> T:
        """Run ``func`` on the bounded pool; its timeout starts when a worker takes it up.

        Under load a call may wait for a free worker: that wait is the pool doing its job
        (bounding what we ask of Rucio), not the service being slow, so it is not timed.
        """
        loop = asyncio.get_running_loop()
        started = asyncio.Event()

        def run() -> T:
            loop.call_soon_threadsafe(started.set)
            return func()

        future: asyncio.Future[T] = loop.run_in_executor(executor or self.executor, run)
        waiter: asyncio.Future[Any] = asyncio.ensure_future(started.wait())
        await asyncio.wait({future, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        timeout = self.config.timeout_seconds + TIMEOUT_GRACE_SECONDS
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise ServiceTimeout(f"{service} did not answer within {timeout:g} s.", service=service) from None

    async def rucio(self, operation: Callable[[TokenClient], T], *, what: str) -> T:
        """Run a rucio-clients call with the user's Rucio token; refresh once on a 401.

        ``what`` names the action in plain words for error messages ("search lofar").
        """
        for attempt in (1, 2):
            token, account = await self.rucio_token()
            call = functools.partial(self.gateway.call, token, account, operation, what=what)
            try:
                return await self._first_use_alone(token, call)
            except RucioUnauthorized as refused:
                self.tokens.invalidate()
                self.cache.forget(USERPASS_TOKEN)
                if attempt == 2:
                    raise CredentialsExpired(
                        f"Rucio did not accept your credentials ({refused}). Sign in again, then retry.",
                    ) from None
        raise AssertionError("unreachable")

    async def rucio_token(self) -> tuple[str | None, str | None]:
        """The token to present to Rucio and the configured account (None: the identity's default)."""
        credentials = await self.tokens.rucio_credentials()
        token = credentials.token
        if credentials.auth_type == "userpass":
            token = await self._userpass_token(credentials)
        return token, credentials.account

    async def _first_use_alone(self, token: str | None, call: Callable[[], T]) -> T:
        """Run ``call``; the first call with a new token runs alone, the others wait for it.

        Rucio records a bearer token in its database the first time it sees it; two
        requests bringing the same new token at once race on that insert and one of
        them is refused with a 401 (seen as ``TOKENS_PK`` violations in PostgreSQL's
        log when 20 searches start together). Once Rucio has accepted the token, calls
        run concurrently again. Only a digest of the token is kept.
        """
        digest = hashlib.sha256((token or "").encode()).digest()
        if digest == self._token_known_to_rucio:
            return await self.blocking(call)
        async with self._first_use_lock:
            if digest != self._token_known_to_rucio:
                try:
                    result = await self.blocking(call)
                except DLaaSError as error:
                    # a refusal of the operation still means Rucio took the token in;
                    # RucioUnauthorized (not a DLaaSError) or no answer at all do not
                    if not isinstance(error, ServiceUnavailable):
                        self._token_known_to_rucio = digest
                    raise
                self._token_known_to_rucio = digest
                return result
        return await self.blocking(call)

    async def _userpass_token(self, credentials: RucioCredentials) -> str:
        """Rucio's own token for a username/password identity, reused until Rucio refuses it."""
        cached = self.cache.get(USERPASS_TOKEN, USERPASS_TOKEN_MAX_AGE)
        if cached is None:
            cached = await self.blocking(lambda: self.gateway.userpass_token(credentials))
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
        account = await self.account()
        return {"instance": self.config.name, "account": account, "token": self.tokens.summary()}

    def serialised(self, key: Hashable) -> asyncio.Lock:
        """A lock for operations that must not overlap on the same ``key`` (one rule per DID and target)."""
        return self._serialised.setdefault(key, asyncio.Lock())
