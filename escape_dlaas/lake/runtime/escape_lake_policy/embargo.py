"""The embargo decision, free of Rucio so it can be unit-tested anywhere.

A DID is embargoed while its JSON metadata key ``embargo_until`` (an ISO date) lies in
the future; the embargo covers the DID and everything inside it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

EMBARGO_KEY = "embargo_until"


def embargo_end(metadata: Mapping[str, Any]) -> dt.date | None:
    """The embargo's last day from a DID's metadata, or None when there is none (or it is unreadable)."""
    value = metadata.get(EMBARGO_KEY)
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def embargo_reason(metadata_of_dids: Iterable[Mapping[str, Any]], today: dt.date) -> str | None:
    """Why a rule on DIDs with these metadata must be refused, or None when none is embargoed.

    ``metadata_of_dids`` holds the metadata of the DIDs of the rule and of the
    collections that contain them; the latest embargo in force wins.
    """
    ends = [end for meta in metadata_of_dids if (end := embargo_end(meta)) is not None and end > today]
    if not ends:
        return None
    return f"embargoed until {max(ends).isoformat()}"
