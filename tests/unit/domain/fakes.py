"""A narrow stand-in for RucioSession: the domain's Rucio calls run against a scripted client.

Only what the domain modules use of a session is here; ``rucio()`` records the plain-words
name of each call, so tests can assert how many Rucio requests an operation costs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from contextlib import AbstractContextManager
from typing import Any

from escape_dlaas.config import InstanceConfig, parse_instance
from escape_dlaas.domain.cache import TTLCache
from escape_dlaas.resilience import time_budget


def instance_config(**overrides: Any) -> InstanceConfig:
    data = {"name": "t", "rucio_url": "http://127.0.0.1:1", "token_sources": [{"type": "env", "variable": "T"}]}
    return parse_instance({**data, **overrides}, "instances[0]")


class FakeClient:
    """Rucio's client methods are set per test as attributes (``client.list_scopes = lambda: [...]``)."""


class FakeSession:
    def __init__(self, config: InstanceConfig | None = None, account: str = "alice") -> None:
        self.config = config or instance_config()
        self.client = FakeClient()
        self.cache = TTLCache()
        self.calls: list[str] = []
        self._account = account
        self._locks: dict[Hashable, asyncio.Lock] = {}

    async def rucio(self, operation: Callable[[Any], Any], *, what: str, retry_transient: bool = True) -> Any:
        self.calls.append(what)
        return operation(self.client)

    def budget(self) -> AbstractContextManager[float]:
        return time_budget(self.config.timeout_seconds)

    async def blocking(self, func: Callable[[], Any], *, service: str = "Rucio", executor: Any = None) -> Any:
        return func()

    async def account(self) -> str:
        return self._account

    def serialised(self, key: Hashable) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())
