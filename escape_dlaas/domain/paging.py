"""The opaque page cursor of search and of a collection's file listing.

A cursor carries where the next page starts (scope index and offset) and a key of the
query it belongs to, so that a cursor sent with another query is refused, not misread.
It is signed with a key of this server process: a cursor cannot be forged or edited (a
huge offset would make Rucio's database fail), and one from before a restart is refused
with "start the search again". Offsets are bounded by :data:`MAX_OFFSET` all the same.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from ..config import ListingLimits
from ..errors import DLaaSError, InvalidInput
from ..rucio.gateway import first_n

if TYPE_CHECKING:
    from ..rucio.client import TokenClient
    from .session import RucioSession

# Rucio is asked for the rows up to the end of the page (it has no offset over REST), so
# the deepest page costs this many rows: past it, the search must be narrowed.
MAX_OFFSET = 100_000
MAX_CURSOR_LENGTH = 512
_SIGNING_KEY = secrets.token_bytes(32)
_SIGNATURE_BYTES = 16
INVALID_CURSOR = "the page cursor is not valid; start the search again"


def query_key(*parts: Any) -> str:
    """A short stable key of what a query asks (its cursors are valid for it only)."""
    return hashlib.sha256(json.dumps(list(parts), sort_keys=True, default=str).encode()).hexdigest()[:16]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii"))


def _signature(payload: bytes) -> bytes:
    return hmac.new(_SIGNING_KEY, payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]


def can_continue_at(offset: int) -> bool:
    """Whether a cursor may point at ``offset`` (beyond :data:`MAX_OFFSET` the listing stops)."""
    return 0 <= offset <= MAX_OFFSET


def encode_cursor(key: str, scope_index: int, offset: int) -> str | None:
    """A signed cursor to ``offset`` of scope ``scope_index`` (None beyond :data:`MAX_OFFSET`: no next page)."""
    if not can_continue_at(offset) or scope_index < 0:
        return None
    payload = json.dumps({"q": key, "s": scope_index, "o": offset}, separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_signature(payload))}"


def invalid_cursor() -> InvalidInput:
    return InvalidInput(INVALID_CURSOR, field="cursor", reason="invalid_cursor")


def decode_cursor(cursor: str, key: str, scope_count: int | None = None) -> tuple[int, int]:
    """``(scope_index, offset)`` of a cursor made by :func:`encode_cursor` for the same query.

    ``scope_count``, when known, is how many scopes the query walks through: the index
    must be one of them (a search checks it again once it knows its scopes).
    """
    invalid = invalid_cursor()
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 1:
        raise invalid
    encoded_payload, encoded_signature = cursor.split(".")
    try:
        payload, signature = _unb64(encoded_payload), _unb64(encoded_signature)
    except (ValueError, binascii.Error, UnicodeEncodeError):
        raise invalid from None
    if not hmac.compare_digest(signature, _signature(payload)):
        raise invalid
    try:
        data = json.loads(payload)
        scope_index, offset, same_query = data["s"], data["o"], data["q"] == key
    except (ValueError, KeyError, TypeError):
        raise invalid from None
    in_range = (
        same_query
        and all(isinstance(n, int) and not isinstance(n, bool) for n in (scope_index, offset))
        and 0 <= scope_index < (scope_index + 1 if scope_count is None else scope_count)
        and can_continue_at(offset)
    )
    if not in_range:
        raise invalid
    return scope_index, offset


# -- listings kept open between pages ----------------------------------------------------------------
#
# Rucio's listings have a limit but no offset: page n asked afresh re-reads the n pages before
# it. A listing asked for a next page is therefore kept open (the HTTP answer half read) and
# the following page reads on from it: any page then costs about what the first one does.
# Each open listing holds a connection to Rucio (and, on a small Rucio, one of its workers),
# so they are few (c.DLaaS.max_open_listings per instance, 0: none), closed after
# c.DLaaS.open_listing_idle_seconds without use, and the oldest is closed for a new one. A page
# whose listing is gone (expired, closed, another tab read on, or an error) opens a new one at its
# offset: slower, same rows. The first page never opens one: most searches stop there.

MAX_OPEN_LISTINGS = ListingLimits.max_open
LISTING_IDLE_SECONDS = ListingLimits.idle_seconds
# Rucio is asked for at most this many rows by a listing kept open (what a cursor can reach).
OPEN_LISTING_LIMIT = MAX_OFFSET + 1


class OpenListing:
    """A lazy listing from Rucio read page by page; its rows are read only in the session's pool."""

    def __init__(self, rows: Iterator[Any]):
        self._rows = rows
        self._ahead: list[Any] = []  # read but not handed out yet (the row that says more follow)
        self._lock = threading.Lock()  # one reader at a time; close waits for a read under way
        self.used = time.monotonic()

    def read(self, count: int) -> list[Any]:
        """The next ``count`` rows (fewer at the end), and the one after them, which stays unread.

        Blocks: run it in the pool.
        """
        with self._lock:
            out, self._ahead = self._ahead[:count], self._ahead[count:]
            for row in self._rows:
                if len(out) < count:
                    out.append(row)
                    continue
                self._ahead.append(row)
                break
            return out + self._ahead[:1]

    def skip(self, count: int) -> None:
        """Read past ``count`` rows (opening at an offset). Blocks: run it in the pool."""
        with self._lock:
            for _ in itertools.islice(self._rows, count):
                pass

    def close(self) -> None:
        """Release the HTTP answer (waits for a read under way). Blocks: run it in the pool."""
        with self._lock:
            close = getattr(self._rows, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()


class OpenListings:
    """The listings one instance keeps open, by (account, listing, position): bounded and expiring."""

    def __init__(
        self, executor: Executor | None, max_open: int = MAX_OPEN_LISTINGS, idle: float = LISTING_IDLE_SECONDS
    ):
        self.executor = executor
        self.max_open = max_open
        self.idle = idle
        self._open: dict[Hashable, OpenListing] = {}
        self._expiry: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._open)

    def take(self, key: Hashable) -> OpenListing | None:
        """The listing kept at ``key``, now the caller's alone (None when there is none, or it expired)."""
        self._expire()
        return self._open.pop(key, None)

    def keep(self, key: Hashable, listing: OpenListing) -> None:
        """Keep ``listing`` for the next page; the oldest ones are closed beyond the bound (0: none is kept)."""
        if self.max_open <= 0:
            self.close_soon(listing)
            return
        listing.used = time.monotonic()
        previous = self._open.pop(key, None)
        if previous is not None:
            self.close_soon(previous)
        self._open[key] = listing
        while len(self._open) > self.max_open:
            oldest = min(self._open, key=lambda k: self._open[k].used)
            self.close_soon(self._open.pop(oldest))
        self._schedule_expiry()

    def close_soon(self, listing: OpenListing) -> None:
        """Close ``listing`` in the pool, without waiting (a read under way finishes first)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            listing.close()
            return
        loop.run_in_executor(self.executor, listing.close)

    def close_all(self) -> None:
        for listing in self._open.values():
            self.close_soon(listing)
        self._open.clear()

    def close(self) -> None:
        """Close every listing now, not in the pool (the server stops and shuts the pool down).

        Nothing waits: a listing kept here is read by nobody (a reader takes it out first).
        """
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        kept, self._open = self._open, {}
        for listing in kept.values():
            listing.close()

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [k for k, listing in self._open.items() if now - listing.used >= self.idle]:
            self.close_soon(self._open.pop(key))

    def _schedule_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        if not self._open:
            self._expiry = None
            return
        oldest = min(listing.used for listing in self._open.values())
        delay = max(oldest + self.idle - time.monotonic(), 0.0) + 0.01

        def expire() -> None:
            self._expire()
            self._schedule_expiry()

        self._expiry = asyncio.get_running_loop().call_later(delay, expire)


# One registry per session (one per configured instance); forgotten with it.
_LISTINGS: weakref.WeakKeyDictionary[Any, OpenListings] = weakref.WeakKeyDictionary()


def open_listings(session: Any) -> OpenListings:
    """The listings kept open for ``session``'s instance (within the default limits unless :func:`keep_listings`)."""
    listings = _LISTINGS.get(session)
    if listings is None:
        listings = _LISTINGS[session] = OpenListings(getattr(session, "executor", None))
    return listings


def keep_listings(session: Any, limits: ListingLimits) -> OpenListings:
    """Keep listings open for ``session``'s instance within ``limits`` (the instance closes them when it closes)."""
    listings = _LISTINGS[session] = OpenListings(
        getattr(session, "executor", None), max_open=limits.max_open, idle=limits.idle_seconds
    )
    return listings


async def rows_at(
    session: RucioSession,
    listing: Hashable,
    offset: int,
    count: int,
    rows: Callable[[TokenClient, int | None], Iterator[Any]],
    *,
    what: str,
) -> list[Any]:
    """Rows ``offset`` to ``offset + count`` of a listing, and one more when more follow.

    ``rows(client, limit)`` starts the listing (``limit``: at most that many rows, None for
    all). The first page is read with a limit of one page; a later page reads on from the
    listing kept open by the page before it, or opens one at ``offset``; what is left open
    after the page is kept for the next one. Everything that reads blocks and runs in the
    session's pool, within the request's deadline.
    """
    if offset == 0:
        return await session.rucio(lambda c: first_n(rows(c, count + 1), count + 1), what=what)
    registry = open_listings(session)
    key = (await session.account(), listing, offset)
    read: tuple[OpenListing, list[Any]] | None = None
    kept = registry.take(key)
    if kept is not None:
        reading = kept
        try:
            read = reading, await session.rucio(lambda c: reading.read(count), what=what, retry_transient=False)
        except DLaaSError:
            registry.close_soon(reading)  # broken or too slow: a new listing below
    if read is None:

        def reopen(client: TokenClient) -> tuple[OpenListing, list[Any]]:
            opened = OpenListing(iter(rows(client, OPEN_LISTING_LIMIT)))
            try:
                opened.skip(offset)
                return opened, opened.read(count)
            except BaseException:
                opened.close()
                raise

        read = await session.rucio(reopen, what=what)
    kept, page = read
    if len(page) > count and can_continue_at(offset + count):
        registry.keep((key[0], listing, offset + count), kept)
    else:
        registry.close_soon(kept)
    return page
