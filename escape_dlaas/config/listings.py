"""How many of Rucio's listings stay open between pages, and for how long (``c.DLaaS.max_open_listings``,
``c.DLaaS.open_listing_idle_seconds``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError

# Each open listing holds a connection to Rucio (on a small Rucio, one of its workers).
MAX_OPEN_LISTINGS_BOUND = 64
IDLE_SECONDS_BOUNDS = (1.0, 3600.0)


@dataclass(frozen=True)
class ListingLimits:
    """Listings kept open per instance for the next page: at most ``max_open`` (0: none, each page lists
    afresh), each closed after ``idle_seconds`` without use."""

    max_open: int = 4
    idle_seconds: float = 120.0


def parse_listing_limits(max_open: Any, idle_seconds: Any) -> ListingLimits:
    """Validate the two traits; an error names the trait."""
    if isinstance(max_open, bool) or not isinstance(max_open, int) or not 0 <= max_open <= MAX_OPEN_LISTINGS_BOUND:
        raise ConfigurationError(
            f"max_open_listings: expected a whole number from 0 (keep none open) to {MAX_OPEN_LISTINGS_BOUND}, "
            f"got {max_open!r}",
            field="max_open_listings",
        )
    low, high = IDLE_SECONDS_BOUNDS
    if isinstance(idle_seconds, bool) or not isinstance(idle_seconds, (int, float)) or not low <= idle_seconds <= high:
        raise ConfigurationError(
            f"open_listing_idle_seconds: expected seconds from {low:g} to {high:g}, got {idle_seconds!r}",
            field="open_listing_idle_seconds",
        )
    return ListingLimits(max_open, float(idle_seconds))
