"""Why a metadata search found nothing: hints pointing at the likely mistake in the filter.

Asked for only when the first page of a metadata search comes back empty. Three kinds:

* ``unknown_key``: the catalogue does not use the key (with the closest keys it uses);
* ``quotes``: a value holds quote characters (typed into the builder's value box);
* ``case``: the value exists in another letter case (``LOFAR`` where the catalogue has ``lofar``).

Keys and values come from the catalogue's cached metadata sample; a case candidate is
confirmed with at most :data:`MAX_HINT_LISTINGS` Rucio listings of one row each.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from ..errors import InvalidInput
from ..rucio.gateway import first_n
from .catalogue import metadata_sample
from .characters import shown
from .did import RUCIO_DID_COLUMNS
from .filters import QUOTES, Condition, Filter, check_condition, format_filter_string, parse_value, to_rucio_filters
from .session import RucioSession

MAX_HINT_LISTINGS = 6
MAX_CLOSE_KEYS = 3
MAX_KEYS_LISTED = 30


@dataclass(frozen=True)
class Hint:
    kind: str  # unknown_key, quotes, case
    message: str
    suggestion: str | None  # the whole filter, corrected, in the text form
    field: str = "filter"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "field": self.field, "message": self.message, "suggestion": self.suggestion}


def _with(filters: Filter, g: int, c: int, condition: Condition) -> Filter:
    """``filters`` with condition ``c`` of group ``g`` replaced."""
    return [[condition if (i, j) == (g, c) else x for j, x in enumerate(group)] for i, group in enumerate(filters)]


def _valid(condition: Condition) -> bool:
    try:
        check_condition(condition, "")
    except InvalidInput:
        return False
    return True


def _unknown_key_hint(filters: Filter, g: int, c: int, known: list[str]) -> Hint:
    key = filters[g][c].key
    close = difflib.get_close_matches(key, known, n=MAX_CLOSE_KEYS, cutoff=0.6)
    if close:
        listed = ", ".join(f"'{k}'" for k in close)
        message = f"This catalogue does not use the metadata key '{key}'. Did you mean {listed}?"
        suggestion = format_filter_string(_with(filters, g, c, replace(filters[g][c], key=close[0])))
    else:
        more = len(known) - MAX_KEYS_LISTED
        listed = ", ".join(known[:MAX_KEYS_LISTED]) + (f" and {more} more" if more > 0 else "")
        message = f"This catalogue does not use the metadata key '{key}'. Keys it uses: {listed}."
        suggestion = None
    return Hint("unknown_key", message, suggestion)


def _without_quotes(value: str) -> str | None:
    """The value without the quotes typed around it (None when it has none, or nothing else)."""
    if not value or (value[0] not in QUOTES and value[-1] not in QUOTES):
        return None
    inner = value.strip("".join(QUOTES)).strip()
    return inner or None


def _case_candidates(value: str, seen_values: Iterable[str]) -> list[str]:
    """Spellings of ``value`` in another letter case: those the catalogue sample holds first."""
    lowered = value.lower()
    candidates = [v for v in seen_values if v.lower() == lowered]
    candidates += [value.lower(), value.upper(), value.capitalize()]
    return [v for v in dict.fromkeys(candidates) if v != value]


class _Listings:
    """Rucio listings of one row, at most :data:`MAX_HINT_LISTINGS` in all."""

    def __init__(self, session: RucioSession) -> None:
        self.session = session
        self.left = MAX_HINT_LISTINGS

    async def finds_something(self, filters: Filter, pattern: str | None, scopes: list[str]) -> bool:
        rucio_filters = to_rucio_filters(filters, pattern)
        for scope in scopes:
            if self.left <= 0:
                return False
            self.left -= 1
            rows = await self.session.rucio(
                lambda c, s=scope: first_n(c.search_dids(s, rucio_filters, "all", 1), 1),  # type: ignore[misc]
                what=f"search scope {scope}",
            )
            if rows:
                return True
        return False


async def empty_search_hints(
    session: RucioSession, filters: Filter, pattern: str | None, searched: list[str]
) -> list[dict[str, Any]]:
    """Hints for a metadata search whose first page is empty (``searched``: its scopes)."""
    sample = (await metadata_sample(session)).values
    known_keys = sorted(sample)
    listings = _Listings(session)
    hints: list[Hint] = []
    explained: set[tuple[str, str]] = set()
    for g, group in enumerate(filters):
        for c, condition in enumerate(group):
            key, value = condition.key, condition.value
            if key not in sample and key not in RUCIO_DID_COLUMNS:
                # (a sample without any keys tells nothing: this Rucio may keep no metadata of its own)
                if known_keys and (key, "") not in explained:
                    explained.add((key, ""))
                    hints.append(_unknown_key_hint(filters, g, c, known_keys))
                continue
            if not isinstance(value, str) or (key, value) in explained:
                continue
            explained.add((key, value))
            corrected = condition
            inner = _without_quotes(value)
            if inner is not None and _valid(replace(condition, value=parse_value(inner))):
                corrected = replace(condition, value=parse_value(inner))
                hints.append(
                    Hint(
                        "quotes",
                        f"Quotes are not needed around values: the search looked for {key} {condition.op}"
                        f" {shown(value)} with the quote characters in it.",
                        format_filter_string(_with(filters, g, c, corrected)),
                    )
                )
            if condition.op != "=" or not isinstance(corrected.value, str) or corrected.value in sample.get(key, {}):
                continue  # the catalogue has this very spelling: letter case is not the problem
            case_hint = await _case_hint(listings, filters, g, c, corrected, sample.get(key, {}), pattern, searched)
            if case_hint is not None:
                hints.append(case_hint)
    return [h.to_json() for h in hints]


async def _case_hint(
    listings: _Listings,
    filters: Filter,
    g: int,
    c: int,
    condition: Condition,
    seen: dict[str, list[str]],
    pattern: str | None,
    searched: list[str],
) -> Hint | None:
    """The value in another letter case: one with which the search finds data, else one the catalogue holds."""
    value = str(condition.value)
    candidates = _case_candidates(value, seen)
    for candidate in candidates:
        if listings.left <= 0:
            break
        corrected = _with(filters, g, c, replace(condition, value=candidate))
        # Scopes where the sample saw this spelling first: usually one listing is enough.
        scopes = [s for s in seen.get(candidate, []) if s in searched]
        scopes += [s for s in searched if s not in scopes]
        if await listings.finds_something(corrected, pattern, scopes):
            return Hint(
                "case",
                f"Nothing has {condition.key} = '{shown(value)}', but there is data with '{shown(candidate)}':"
                " letter case matters.",
                format_filter_string(corrected),
            )
    in_catalogue = next((v for v in candidates if v in seen), None)
    if in_catalogue is None:
        return None
    return Hint(
        "case",
        f"Nothing has {condition.key} = '{shown(value)}'; the catalogue writes it '{shown(in_catalogue)}'"
        " (letter case matters).",
        format_filter_string(_with(filters, g, c, replace(condition, value=in_catalogue))),
    )
