"""Search: one page of DIDs matching a name pattern and metadata filters, across scopes.

The listing comes from Rucio a page at a time (with a server-side limit), from a few
scopes at once but in the scopes' order; the opaque cursor says where the next page
starts, and a next page reads on from the listing the page before it left open
(:func:`.paging.rows_at`). ``details="names"`` returns
what the listing gives at once; ``details="full"`` also describes the page (bulk calls).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ..errors import InvalidInput
from .catalogue import MetadataSample, metadata_bulk, metadata_sample, scopes
from .characters import shown
from .describe import describe
from .did import DID, DID_COLUMN_KINDS, check_scope, listing_row, parse_name_pattern, type_and_size
from .filters import KIND_WORDS, Filter, check_comparisons, comparison_kind, to_rucio_filters
from .hints import empty_search_hints
from .paging import can_continue_at, decode_cursor, encode_cursor, invalid_cursor, query_key, rows_at
from .session import RucioSession

DID_TYPES = ("all", "collection", "dataset", "container", "file")
SEARCH_DETAILS = ("full", "names")
MAX_SEARCH_ROUNDS = 10
# Scopes asked at once in a search over every scope (their rows are still taken in order).
SCOPES_AT_ONCE = 4


async def search(
    session: RucioSession,
    *,
    pattern: str | None,
    scope: str | None,
    did_type: str,
    filters: Filter,
    page_size: int,
    cursor: str | None,
    details: str = "full",
) -> dict[str, Any]:
    """One page of DIDs matching the query: ``items``, ``next_cursor``, ``scopes_searched``, ``truncated``, ``hints``.

    ``details="full"`` describes the page (type, size, metadata, availability: bulk
    calls after the listing); ``details="names"`` returns what the listing itself
    gives (names, and type and size when no metadata filter is used) so the first
    rows can be shown at once and described afterwards with :func:`.describe.describe`.

    Everything is checked before Rucio is asked. A metadata search that finds nothing
    says why it may have failed (``hints``, see :mod:`.hints`; first page only). A scope
    is listed up to :data:`.paging.MAX_OFFSET` rows deep; ``truncated`` says when more
    rows were left out there.
    """
    if details not in SEARCH_DETAILS:
        raise InvalidInput(f"details must be one of {', '.join(SEARCH_DETAILS)}", field="details")
    if did_type not in DID_TYPES:
        raise InvalidInput(f"type must be one of {', '.join(DID_TYPES)}", field="type")
    scope = check_scope(scope)
    # "scope:name*" as people type it in Rucio: the typed scope is the one searched
    typed_scope, pattern = parse_name_pattern(pattern)
    scope = typed_scope or scope
    if not pattern and not filters:
        raise InvalidInput(
            "type a name pattern (e.g. *.fits) or add a metadata filter", field="q", reason="empty_search"
        )
    rucio_filters = to_rucio_filters(filters, pattern)
    key = query_key(scope, did_type, rucio_filters)
    scope_index, offset = decode_cursor(cursor, key) if cursor else (0, 0)
    searched_scopes = [scope] if scope else None
    sample = None
    if any(comparison_kind(c) != "text" and c.key not in DID_COLUMN_KINDS for group in filters for c in group):
        # a metadata key compared as a number, true/false or a date: the sample says whether it can be
        searched_scopes = searched_scopes or await scopes(session)
        sample = await metadata_sample(session)
    check_comparisons(filters, comparison_problem(sample, searched_scopes or []))
    searched = searched_scopes or await scopes(session)
    if scope_index >= len(searched):
        raise invalid_cursor()
    # The JSON metadata plugin ignores the type, so metadata searches ask for everything and
    # the page is filtered by type after a bulk metadata call.
    filter_type_here = bool(filters) and did_type != "all"
    server_type = "all" if filter_type_here else did_type
    # Only Rucio's own DID table knows type and size; the JSON metadata plugin returns none.
    listing_long = not filters

    async def names_in(index: int, at: int, want: int) -> list[Any]:
        """Rows ``at`` to ``at + want`` of scope ``index``, and one more when more follow."""
        current = searched[index]
        try:
            return await rows_at(
                session,
                (key, index),
                at,
                want,
                lambda c, limit: c.search_dids(current, rucio_filters, server_type, limit, long=listing_long),
                what=f"search scope {current}",
            )
        except InvalidInput as refused:
            if filters and refused.reason == "rejected_by_rucio":
                raise filter_refused(current) from None
            raise

    page: list[dict[str, Any]] = []
    rounds = 0
    truncated = False
    # Each round reads at most one page of raw rows from each of the next few scopes, at once
    # (every scope is asked for what the page still needs; the rows are taken in the scopes'
    # order). With a type filter some rows are dropped, so a few rounds may be needed. Bounded:
    # a short page with a cursor beats a slow one.
    while scope_index < len(searched) and len(page) < page_size and rounds < MAX_SEARCH_ROUNDS:
        want = page_size - len(page)
        batch = range(scope_index, min(scope_index + SCOPES_AT_ONCE, len(searched)))
        answers = await asyncio.gather(*(names_in(i, offset if i == scope_index else 0, want) for i in batch))
        for index, names in zip(batch, answers, strict=True):
            if len(page) >= page_size or rounds >= MAX_SEARCH_ROUNDS:
                break
            rounds += 1
            current, want = searched[index], page_size - len(page)
            rows = [listing_row(current, n) for n in names[:want]]
            page.extend(await _keep_type(session, rows, did_type) if filter_type_here else rows)
            if len(names) <= want:  # this scope has nothing more
                scope_index, offset = index + 1, 0
                continue
            if can_continue_at(offset + len(rows)):
                offset += len(rows)
            else:  # as deep as a cursor may point: the rest of this scope is left out
                truncated = True
                scope_index, offset = index + 1, 0
                continue
            break  # this scope goes on: the next round reads on from it
    more = scope_index < len(searched)
    next_cursor = encode_cursor(key, scope_index, offset) if more else None
    scopes_searched = searched[: scope_index + 1]
    hints: list[dict[str, Any]] = []
    if not page and not cursor and not more and filters:
        hints = await empty_search_hints(session, filters, pattern, searched)
    items = await describe(session, [DID(r["scope"], r["name"]) for r in page]) if details == "full" else page
    return {
        "items": items,
        "next_cursor": next_cursor,
        "scopes_searched": scopes_searched,
        "truncated": truncated,
        "hints": hints,
    }


def comparison_problem(sample: MetadataSample | None, searched: list[str]) -> Callable[[str, str], str | None]:
    """Why a key cannot be compared as a kind (see :func:`.filters.check_comparisons`), or None.

    Rucio's own columns have one type each; a metadata key is compared with the values the
    catalogue's sample holds in the scopes searched (nothing is known without the sample).
    """

    def problem(key: str, kind: str) -> str | None:
        column_kind = DID_COLUMN_KINDS.get(key)
        if column_kind is not None:
            return None if column_kind == kind else f"it is Rucio's own field, and holds {KIND_WORDS[column_kind]}"
        example = None if kind == "text" or sample is None else sample.not_comparable_as(key, kind, searched)
        if example is None:
            return None
        return (
            f"this catalogue has values for it such as {shown(str(example))!r}; put the value in quotes to compare text"
        )

    return problem


def filter_refused(scope: str) -> InvalidInput:
    """Rucio's refusal of a metadata search (its database could not compare), in plain words, on the filter."""
    return InvalidInput(
        f"Rucio could not compare this filter with the metadata in scope {scope}: a key there holds values"
        " of another kind than the filter gives (text where it gives a number, a date or true/false, or the"
        " reverse). Put text values in quotes, or check the keys.",
        field="filter",
        reason="filter_not_comparable",
    )


async def _keep_type(session: RucioSession, rows: list[dict[str, Any]], did_type: str) -> list[dict[str, Any]]:
    """The rows of the wanted type, with their type and size (one bulk metadata call)."""
    if not rows:
        return rows
    meta = await metadata_bulk(session, [DID(r["scope"], r["name"]) for r in rows], plugin="DID_COLUMN")
    wanted = {"collection": {"DATASET", "CONTAINER"}}.get(did_type, {did_type.upper()})
    out = []
    for row in rows:
        listed = type_and_size(meta.get(row["did"], {}))
        if listed["type"] in wanted:
            out.append({**row, **listed})
    return out
