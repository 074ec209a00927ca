"""A private event loop in a daemon thread, on which the kernel's API runs the (async) domain.

The kernel has its own running asyncio loop (ipykernel), on which nothing may block and
into which a synchronous call cannot ``await``. The domain therefore runs on a loop of
its own, and each API call waits for its coroutine from the caller's thread. A kernel
interrupt (KeyboardInterrupt) while waiting cancels that coroutine and reaches the caller.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ..resilience import user_request

T = TypeVar("T")


class DomainLoop:
    """One event loop running forever in a daemon thread (started on first use)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                started = threading.Event()

                def serve() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(started.set)
                    loop.run_forever()

                threading.Thread(target=serve, name="escape-dlaas-domain", daemon=True).start()
                started.wait()
                self._loop = loop
            return self._loop

    def run(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run ``make()`` on the loop as one user request (one deadline for its Rucio calls); wait for its result."""

        async def as_request() -> T:
            with user_request():
                return await make()

        future = asyncio.run_coroutine_threadsafe(as_request(), self._running_loop())
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()
            raise
        except concurrent.futures.CancelledError:
            raise KeyboardInterrupt from None

    def call(self, func: Callable[[], T]) -> T:
        """Run a plain function on the loop's thread (for objects that must be made there)."""

        async def made() -> T:
            return func()

        return self.run(made)


_SHARED = DomainLoop()


def shared_loop() -> DomainLoop:
    """The process's one domain loop: every DataLake of a kernel shares it."""
    return _SHARED
