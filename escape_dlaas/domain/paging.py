"""The opaque page cursor of search and of a collection's file listing.

A cursor carries where the next page starts (scope index and offset) and a key of the
query it belongs to, so that a cursor sent with another query is refused, not misread.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from ..errors import InvalidInput


def query_key(*parts: Any) -> str:
    """A short stable key of what a query asks (its cursors are valid for it only)."""
    return hashlib.sha256(json.dumps(list(parts), sort_keys=True, default=str).encode()).hexdigest()[:16]


def encode_cursor(key: str, scope_index: int, offset: int) -> str:
    raw = json.dumps({"q": key, "s": scope_index, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, key: str) -> tuple[int, int]:
    """``(scope_index, offset)`` of a cursor made by :func:`encode_cursor` for the same query."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        scope_index, offset = int(data["s"]), int(data["o"])
        same_query = data["q"] == key
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("the page cursor is not valid; start the search again", field="cursor") from None
    if not same_query or scope_index < 0 or offset < 0:
        raise InvalidInput("the page cursor belongs to another search; start the search again", field="cursor")
    return scope_index, offset
