"""Whether an instance's Rucio and its database answer: the status the panel polls, never slowed down by Rucio."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ..resilience import spawn_detached
from .session import RucioSession

PING_MAX_AGE = 3.0  # seconds after which the status answer is checked again (in the background)


class RucioHealth:
    """The last finding of :meth:`RucioSession.check_soon` for one instance, as the status view shows it.

    A check pings Rucio and, once the user's token is known to Rucio, makes a call that
    needs Rucio's database (``/ping`` answers without it, so a database that is down
    would go unnoticed). Only the very first status waits for a check. After that the
    last finding is served at once and, once older than PING_MAX_AGE, checked again in
    the background: a slow or busy Rucio never slows down the status endpoint that the
    panel polls. A hung check ends after its own short timeout and is reported as such.
    """

    def __init__(self, session: RucioSession):
        self.session = session
        self._answer: dict[str, Any] | None = None
        self._checked = 0.0
        self._recheck: asyncio.Future[None] | None = None

    async def status(self) -> dict[str, Any]:
        """``reachable``, ``rucio_version``, ``latency_ms``, ``database``, ``error`` and ``checked_at``."""
        if self._answer is None:
            await self._check()
        elif time.monotonic() - self._checked > PING_MAX_AGE and (self._recheck is None or self._recheck.done()):
            self._recheck = spawn_detached(self._check())
        return dict(self._answer or {})

    def close(self) -> None:
        if self._recheck is not None:
            self._recheck.cancel()

    async def _check(self) -> None:
        condition = await asyncio.shield(self.session.check_soon(fresh=True))
        self._answer, self._checked = condition.to_status(), time.monotonic()
