"""The DID (``scope:name``): parsing what a person typed, and reading Rucio's rows about DIDs."""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput
from .characters import describe_character, shown

# Rucio's own naming rules (its generic schema, rucio.common.schema.generic: SCOPE, NAME):
# what Rucio cannot store or refuses is a 400 here, before any request, with the reason.
MAX_SCOPE_LENGTH = 25
MAX_NAME_LENGTH = 250
_ALNUM = set(string.ascii_letters + string.digits)
SCOPE_CHARACTERS = frozenset(_ALNUM | set("_-."))
NAME_CHARACTERS = frozenset(_ALNUM | set("/.-_"))
NAME_FIRST_CHARACTERS = frozenset(_ALNUM | {"/"})
SCOPE_RULE = "scopes use letters, digits, '_', '-' and '.'"
NAME_RULE = "Rucio names use letters, digits, '.', '-', '_' and '/'"
WILDCARD = "*"
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


def scope_problem(scope: str) -> str | None:
    """What keeps ``scope`` from being a Rucio scope, in words (None when it can be one)."""
    if not scope:
        return "the scope (before ':') is empty"
    if len(scope) > MAX_SCOPE_LENGTH:
        return f"the scope is too long (max {MAX_SCOPE_LENGTH} characters; it has {len(scope)})"
    bad = next((c for c in scope if c not in SCOPE_CHARACTERS), None)
    if bad is not None:
        return f"the scope contains {describe_character(bad)}; {SCOPE_RULE}"
    return None


def name_problem(name: str, *, wildcards: bool = False) -> str | None:
    """What keeps ``name`` from being a Rucio name (or, with ``wildcards``, a name pattern)."""
    noun = "pattern" if wildcards else "name"
    if not name:
        return f"the {noun} (after ':') is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"the {noun} is too long (max {MAX_NAME_LENGTH} characters; it has {len(name)})"
    allowed = NAME_CHARACTERS | {WILDCARD} if wildcards else NAME_CHARACTERS
    bad = next((c for c in name if c not in allowed), None)
    if bad == WILDCARD:
        return "it is a pattern, not a single DID (no wildcards here)"
    if bad is not None:
        rule = f"{NAME_RULE}, and '*' as wildcard" if wildcards else NAME_RULE
        return f"the {noun} contains {describe_character(bad)}; {rule}"
    first = name[0]
    if first not in NAME_FIRST_CHARACTERS and not (wildcards and first == WILDCARD):
        return f"the {noun} starts with {describe_character(first)}; Rucio names start with a letter, a digit or '/'"
    return None


def parse_did(text: Any, field: str = "did") -> DID:
    """``scope:name`` as typed by a person; a 400 saying exactly what is wrong otherwise."""
    if not isinstance(text, str) or ":" not in text:
        raise InvalidInput(f"'{shown(text)}' is not a DID: write it as scope:name", field=field, reason="invalid_did")
    scope, name = (part.strip() for part in text.split(":", 1))
    problem = scope_problem(scope) or name_problem(name)
    if problem:
        raise InvalidInput(f"'{shown(text)}' is not a valid DID: {problem}", field=field, reason="invalid_did")
    return DID(scope, name)


def check_scope(scope: Any, field: str = "scope") -> str | None:
    """A scope as given (None when empty); a clear 400 when it cannot be one."""
    if scope is None or scope == "":
        return None
    problem = "it is not text" if not isinstance(scope, str) else scope_problem(scope)
    if problem:
        raise InvalidInput(f"'{shown(scope, 40)}' is not a valid scope: {problem}", field=field, reason="invalid_scope")
    return str(scope)


def parse_name_pattern(text: str | None, field: str = "q") -> tuple[str | None, str | None]:
    """``(scope, pattern)`` of what was typed in the search box: ``*.fits`` or ``lofar:L2023_*``.

    Either part may be None (nothing typed). The pattern follows Rucio's naming rules
    with ``*`` as wildcard; ``:`` only separates a scope, with text on both sides.
    """
    if text is None or not text.strip():
        return None, None
    text = text.strip()
    scope: str | None = None
    pattern = text
    if ":" in text:
        typed_scope, pattern = (part.strip() for part in text.split(":", 1))
        problem = scope_problem(typed_scope) or (None if pattern else "the pattern (after ':') is empty")
        if ":" in pattern:
            problem = problem or "':' may appear once, between a scope and a name pattern"
        if problem:
            raise InvalidInput(
                f"'{shown(text, 60)}' is not a valid search: {problem}; write scope:pattern, e.g. lofar:L2023_*",
                field=field,
                reason="invalid_pattern",
            )
        scope = typed_scope
    problem = name_problem(pattern, wildcards=True)
    if problem:
        raise InvalidInput(
            f"'{shown(text, 60)}' is not a valid name pattern: {problem}",
            field=field,
            reason="invalid_pattern",
        )
    return scope, pattern


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
# Columns of that table that describe data (filters on them go to Rucio's DID table, not
# to the metadata plugin): keys Rucio knows even when no sampled dataset uses them.
DESCRIPTIVE_COLUMNS = {
    "project", "datatype", "run_number", "stream_name", "prod_step", "version", "campaign", "provenance", "phys_group",
}  # fmt: skip
RUCIO_DID_COLUMNS = BOOKKEEPING_COLUMNS | DESCRIPTIVE_COLUMNS
# How Rucio's database compares each of those columns (a filter must compare it the same way).
_NUMBER_COLUMNS = {"bytes", "length", "events", "run_number", "task_id", "panda_id", "lumiblocknr", "access_cnt"}
_BOOL_COLUMNS = {
    "is_open", "monotonic", "hidden", "obsolete", "complete", "is_new", "suppressed", "purge_replicas", "transient",
    "is_archive", "constituent",
}  # fmt: skip
_DATE_COLUMNS = {"expired_at", "deleted_at", "created_at", "updated_at", "accessed_at", "closed_at", "eol_at"}
DID_COLUMN_KINDS = {
    column: "number" if column in _NUMBER_COLUMNS
    else "bool" if column in _BOOL_COLUMNS
    else "date" if column in _DATE_COLUMNS
    else "text"
    for column in RUCIO_DID_COLUMNS
}  # fmt: skip


def user_metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The scientist's metadata of a DID (dates as ISO text), without Rucio's bookkeeping columns."""
    return {
        k: (v.isoformat() if hasattr(v, "isoformat") else v)
        for k, v in meta.items()
        if k not in BOOKKEEPING_COLUMNS and v is not None
    }
