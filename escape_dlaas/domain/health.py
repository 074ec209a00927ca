"""Whether an instance's Rucio answers: the status the panel polls, never slowed down by Rucio."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

from ..errors import DLaaSError
from .session import RucioSession

PING_MAX_AGE = 3.0  # seconds after which the status answer is checked again (in the background)


class RucioHealth:
    """The last answer of one instance's Rucio to a ping, and when it was checked.

    Only the very first call waits for Rucio. After that the last answer is served at
    once and, once older than PING_MAX_AGE, checked again in the background on its own
    small pool: a slow or busy Rucio never slows down the status endpoint that the panel
    polls. A hung check ends with the configured timeout and is then reported as unreachable.
    """

    def __init__(self, session: RucioSession, executor: ThreadPoolExecutor):
        self.session = session
        self.executor = executor
        self._answer: dict[str, Any] | None = None
        self._checked = 0.0
        self._recheck: asyncio.Future[None] | None = None

    async def status(self) -> dict[str, Any]:
        """``reachable``, ``rucio_version``, ``latency_ms``, ``error`` and ``checked_at``."""
        if self._answer is None:
            await self._check()
        elif time.monotonic() - self._checked > PING_MAX_AGE and (self._recheck is None or self._recheck.done()):
            self._recheck = asyncio.ensure_future(self._check())
        return dict(self._answer or {})

    def close(self) -> None:
        if self._recheck is not None:
            self._recheck.cancel()

    async def _check(self) -> None:
        started = time.perf_counter()
        try:
            answer = await self.session.blocking(self.session.gateway.ping, executor=self.executor)
        except DLaaSError as error:
            result: dict[str, Any] = {
                "reachable": False,
                "rucio_version": None,
                "latency_ms": None,
                "error": error.message,
            }
        else:
            result = {
                "reachable": True,
                "rucio_version": answer.get("version"),
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                "error": None,
            }
        result["checked_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._answer, self._checked = result, time.monotonic()
