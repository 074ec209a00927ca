"""The DID (``scope:name``): parsing what a person typed, and reading Rucio's rows about DIDs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput

_SCOPE_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
MAX_SCOPE_LENGTH = 25
MAX_NAME_LENGTH = 250
# Bulk calls are chunked so that one request body stays reasonable; the number of
# Rucio requests grows with len(dids)/BULK_CHUNK, not with len(dids).
BULK_CHUNK = 500


@dataclass(frozen=True)
class DID:
    scope: str
    name: str

    def __str__(self) -> str:
        return f"{self.scope}:{self.name}"

    def as_dict(self) -> dict[str, str]:
        return {"scope": self.scope, "name": self.name}


def parse_did(text: Any, field: str = "did") -> DID:
    """``scope:name`` as typed by a person; a clear 400 otherwise."""
    if not isinstance(text, str) or ":" not in text:
        raise InvalidInput(
            f"'{str(text)[:80]}' is not a DID: write it as scope:name", field=field, reason="invalid_did"
        )
    scope, name = text.split(":", 1)
    scope, name = scope.strip(), name.strip()
    if (
        not scope
        or not name
        or len(scope) > MAX_SCOPE_LENGTH
        or len(name) > MAX_NAME_LENGTH
        or set(scope) - _SCOPE_CHARS
    ):
        raise InvalidInput(f"'{text[:80]}' is not a valid DID (scope:name)", field=field, reason="invalid_did")
    if "*" in name or any(ord(c) < 32 for c in name):
        raise InvalidInput(f"'{text[:80]}' is not a single DID (no wildcards here)", field=field, reason="invalid_did")
    return DID(scope, name)


def check_scope(scope: Any) -> str | None:
    """A scope as given (None when empty); a clear 400 when it cannot be one."""
    if scope is None or scope == "":
        return None
    if not isinstance(scope, str) or len(scope) > MAX_SCOPE_LENGTH or set(scope) - _SCOPE_CHARS:
        raise InvalidInput(f"'{str(scope)[:40]}' is not a valid scope", field="scope", reason="invalid_scope")
    return scope


def did_chunks(dids: list[DID]) -> Iterable[list[DID]]:
    """``dids`` in slices of :data:`BULK_CHUNK`, one bulk request each."""
    for start in range(0, len(dids), BULK_CHUNK):
        yield dids[start : start + BULK_CHUNK]


def row_key(row: Mapping[str, Any]) -> str:
    """``scope:name`` of a Rucio row (metadata, replica, file, lock)."""
    return f"{row['scope']}:{row['name']}"


def row_name(row: Any) -> str:
    """The name of a listing row: a plain name, or a ``long`` row's ``name``."""
    return row if isinstance(row, str) else str(row["name"])


def listing_row(scope: str, row: Any) -> dict[str, Any]:
    """A search result as the listing gives it: ``long`` rows carry type and size."""
    name = row_name(row)
    out: dict[str, Any] = {"did": f"{scope}:{name}", "scope": scope, "name": name}
    return {**out, **type_and_size(row)} if isinstance(row, Mapping) else out


def type_and_size(row: Mapping[str, Any]) -> dict[str, Any]:
    """``type`` (FILE, DATASET, CONTAINER or None), ``bytes`` and ``length`` of a listing or metadata row."""
    return {
        "type": str(row.get("did_type") or "").upper() or None,
        "bytes": row.get("bytes"),
        "length": row.get("length"),
    }


# Columns of Rucio's DID table that are bookkeeping, not the scientist's metadata.
BOOKKEEPING_COLUMNS = {
    "scope", "name", "account", "did_type", "bytes", "length", "md5", "adler32", "guid", "events",
    "is_open", "monotonic", "hidden", "obsolete", "complete", "is_new", "availability", "suppressed",
    "purge_replicas", "expired_at", "deleted_at", "created_at", "updated_at", "accessed_at", "closed_at",
    "eol_at", "is_archive", "constituent", "access_cnt", "transient", "lumiblocknr", "panda_id", "task_id",
}  # fmt: skip


def user_metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The scientist's metadata of a DID (dates as ISO text), without Rucio's bookkeeping columns."""
    return {
        k: (v.isoformat() if hasattr(v, "isoformat") else v)
        for k, v in meta.items()
        if k not in BOOKKEEPING_COLUMNS and v is not None
    }
