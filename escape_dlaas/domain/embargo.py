"""Embargoes as the data lake marks them: the JSON metadata key ``embargo_until`` (an ISO date).

An embargo covers the DID that carries it and everything inside it, so the question
"is this DID embargoed?" is asked of the DID's metadata together with that of the
collections around it. Pure functions; the callers fetch the metadata.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

EMBARGO_KEY = "embargo_until"


@dataclass(frozen=True)
class Embargo:
    """An embargo in force: on which DID, until when (None: a value nobody can read as a date)."""

    did: str
    until: date | None
    value: str

    @property
    def readable(self) -> bool:
        return self.until is not None


def today_utc() -> date:
    """Today as the data lake counts days (its policy compares dates in UTC)."""
    return datetime.now(timezone.utc).date()


def embargo_in_force(metadata_by_did: Iterable[tuple[str, Mapping[str, Any]]], today: date) -> Embargo | None:
    """The embargo that applies, from the metadata of a DID and its related collections.

    An unreadable value wins over any date (better to refuse than to guess); otherwise
    the latest end still in the future wins.
    """
    found: Embargo | None = None
    for did, metadata in metadata_by_did:
        value = metadata.get(EMBARGO_KEY)
        if value in (None, ""):
            continue
        until = _as_date(value)
        if until is None:
            return Embargo(did, None, str(value)[:40])
        if until > today and (found is None or (found.until is not None and until > found.until)):
            found = Embargo(did, until, until.isoformat())
    return found


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
