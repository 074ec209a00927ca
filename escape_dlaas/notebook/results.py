"""Search results that fetch their pages lazily, show as an HTML table, and convert to a list or a DataFrame.

A :class:`SearchResults` asks for a page only when iteration (or display) needs it and
keeps the pages it got, so iterating again asks nothing; ``limit`` bounds how many DIDs
it ever yields. It knows nothing of Rucio: it is given a function that returns one page
(the domain search's answer) for a cursor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from html import escape
from typing import Any

from .handles import format_bytes

Page = Mapping[str, Any]
FetchPage = Callable[[str | None], Page]
SHOWN_ROWS = 20  # rows an HTML display shows (the first page's first rows)
SHOWN_METADATA_KEYS = 4


class SearchResults:
    """The DIDs a search found, one page at a time: iterate, ``to_list()``, ``to_pandas()``, or display."""

    def __init__(self, fetch: FetchPage, *, limit: int | None = None, query: Mapping[str, Any] | None = None):
        self._fetch = fetch
        self.limit = limit
        self.query = dict(query or {})
        self._items: list[dict[str, Any]] = []
        self._cursor: str | None = None
        self._exhausted = False
        self._pages = 0
        self.hints: list[dict[str, Any]] = []
        self.truncated = False

    @property
    def pages_fetched(self) -> int:
        return self._pages

    @property
    def complete(self) -> bool:
        """Whether every DID the search will yield has been fetched."""
        return self._exhausted or (self.limit is not None and len(self._items) >= self.limit)

    def _fetch_next(self) -> bool:
        """Fetch one more page; False when there is nothing more to fetch."""
        if self.complete:
            return False
        page = self._fetch(self._cursor)
        self._pages += 1
        if self._pages == 1:
            self.hints = list(page.get("hints") or [])
        self.truncated = self.truncated or bool(page.get("truncated"))
        room = None if self.limit is None else self.limit - len(self._items)
        items = list(page.get("items") or [])
        self._items.extend(items if room is None else items[:room])
        self._cursor = page.get("next_cursor")
        if not self._cursor:
            self._exhausted = True
        return True

    def __iter__(self) -> Iterator[dict[str, Any]]:
        index = 0
        while True:
            while index < len(self._items):
                yield self._items[index]
                index += 1
            if not self._fetch_next():
                return

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not isinstance(index, int) or index < 0:
            raise IndexError("search results are indexed from 0 (no negative index or slice: use to_list())")
        while index >= len(self._items) and self._fetch_next():
            pass
        return self._items[index]

    def __bool__(self) -> bool:
        return self.first() is not None

    def first(self) -> dict[str, Any] | None:
        """The first DID found, or None."""
        return next(iter(self), None)

    @property
    def dids(self) -> list[str]:
        """Every DID found (up to the limit), as ``scope:name``."""
        return [item["did"] for item in self]

    def to_list(self) -> list[dict[str, Any]]:
        """Every DID found (up to the limit) as dicts: did, scope, name, type, bytes, length, metadata, availability."""
        return list(self)

    def to_pandas(self) -> Any:
        """A pandas DataFrame: one row per DID, its metadata keys as columns, the availability state and counts."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "to_pandas() needs pandas: pip install pandas (or escape-dlaas[pandas]); to_list() needs nothing"
            ) from None
        return pd.DataFrame([flat_row(item) for item in self])

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.query.items())
        got = f"{len(self._items)} fetched" + ("" if self.complete else ", more to fetch")
        return f"<SearchResults {shown}: {got}>"

    def _repr_html_(self) -> str:
        if not self._items:
            self._fetch_next()
        return results_table(
            self._items[:SHOWN_ROWS], more=len(self._items) > SHOWN_ROWS or not self.complete, hints=self.hints
        )


def flat_row(item: Mapping[str, Any]) -> dict[str, Any]:
    """One result as a flat row (for a table): fixed columns first, then the metadata keys."""
    availability = item.get("availability") or {}
    files = availability.get("files") or {}
    return {
        "did": item.get("did"),
        "scope": item.get("scope"),
        "name": item.get("name"),
        "type": item.get("type"),
        "bytes": item.get("bytes"),
        "length": item.get("length"),
        "availability": availability.get("state"),
        "files_at_notebook": files.get("at_notebook"),
        **{key: value for key, value in (item.get("metadata") or {}).items() if key not in _FIXED},
    }


_FIXED = ("did", "scope", "name", "type", "bytes", "length", "availability", "files_at_notebook")


def results_table(items: list[dict[str, Any]], *, more: bool, hints: list[dict[str, Any]]) -> str:
    """An HTML table of results: DID, type, size, availability, the first metadata keys."""
    if not items:
        advice = "".join(f"<li>{escape(str(h.get('message', h)))}</li>" for h in hints)
        return f"<div class='jp-DLaaS-results'><p>No DIDs match.</p>{f'<ul>{advice}</ul>' if advice else ''}</div>"
    keys: list[str] = []
    for item in items:
        for key in item.get("metadata") or {}:
            if key not in keys and len(keys) < SHOWN_METADATA_KEYS:
                keys.append(key)
    head = "".join(f"<th>{escape(h)}</th>" for h in ("DID", "Type", "Size", "Availability", *keys))
    rows = []
    for item in items:
        availability = (item.get("availability") or {}).get("state") or ""
        size = item.get("bytes")
        cells = [
            f"<td><code>{escape(str(item.get('did')))}</code></td>",
            f"<td>{escape(str(item.get('type') or ''))}</td>",
            f"<td>{format_bytes(size) if isinstance(size, int) else ''}</td>",
            f"<td>{escape(availability)}</td>",
            *(f"<td>{escape(str((item.get('metadata') or {}).get(k, '')))}</td>" for k in keys),
        ]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    footer = "<p>More results: iterate, or use to_list() / to_pandas().</p>" if more else ""
    return (
        "<div class='jp-DLaaS-results'><table>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{footer}</div>"
    )
