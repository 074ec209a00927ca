"""The opaque page cursor of search and of a collection's file listing.

A cursor carries where the next page starts (scope index and offset) and a key of the
query it belongs to, so that a cursor sent with another query is refused, not misread.
It is signed with a key of this server process: a cursor cannot be forged or edited (a
huge offset would make Rucio's database fail), and one from before a restart is refused
with "start the search again". Offsets are bounded by :data:`MAX_OFFSET` all the same.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from typing import Any

from ..errors import InvalidInput

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
