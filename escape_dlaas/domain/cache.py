"""A tiny cache whose entries say how old they may get (explicit freshness), one per session."""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Any

MAX_ENTRIES = 256

# Kinds of entries that more than one module touches. An entry's key is its kind, or a
# tuple starting with it; :meth:`TTLCache.forget` drops a whole kind.
AVAILABILITY = "availability"  # describe.availability() answers; dropped when a rule changes
USERPASS_TOKEN = "userpass_token"  # Rucio's own token for a username/password; dropped on a 401


class TTLCache:
    """Values with the time they were stored; the reader says how old is still fresh."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable, max_age: float) -> Any:
        """The value, or None when missing or older than ``max_age`` seconds."""
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] > max_age:
            return None
        return entry[1]

    def put(self, key: Hashable, value: Any) -> None:
        if len(self._entries) > MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (time.monotonic(), value)

    def forget(self, kind: str) -> None:
        """Drop the entry keyed ``kind`` and every entry keyed ``(kind, ...)``."""
        self._entries = {
            key: entry
            for key, entry in self._entries.items()
            if key != kind and not (isinstance(key, tuple) and key and key[0] == kind)
        }
