"""What a rule would take at its target: the DID's size, what is missing per RSE, and the account's quota.

Rucio charges the whole size of the data to the account's quota on the RSE it picks,
files already there included, and picks only an RSE where the quota left is more than
that size (``RSESelector``); what it copies is only what is missing there. Admin
accounts have no quota. Only local (per-RSE) quotas are looked at: global quotas on
RSE expressions are rare and Rucio still has the last word.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import DLaaSError
from ..rucio.client import TokenClient
from .catalogue import rse_names
from .did import DID
from .session import RucioSession

ADMIN_MAX_AGE = 300.0  # seconds; account attributes change rarely
_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def format_bytes(size: float) -> str:
    """A size in decimal (SI) units, three significant digits, as the panel shows it: 198144 → "198 kB"."""
    if size < 1000:
        return f"{max(0, round(size))} B"
    value, unit = float(size), 0
    while value >= 1000 and unit < len(_UNITS) - 1:
        value /= 1000
        unit += 1
    return f"{value:.0f} {_UNITS[unit]}" if value >= 100 else f"{value:.1f} {_UNITS[unit]}"


@dataclass(frozen=True)
class Size:
    """A DID's type and exact size: Rucio sums an open collection's files when asked (``dynamic_depth``)."""

    kind: str  # FILE, DATASET or CONTAINER
    bytes: int
    files: int


async def did_size(session: RucioSession, did: DID) -> Size:
    """The DID's type and size in one Rucio request, also for open datasets and containers."""
    row = await session.rucio(lambda c: c.get_did(did.scope, did.name, dynamic_depth="FILE"), what=f"read {did}")
    return Size(str(row.get("type") or "").upper(), int(row.get("bytes") or 0), int(row.get("length") or 0))


@dataclass(frozen=True)
class Volume:
    """A DID's size, and how much of it each RSE asked about holds already."""

    bytes: int
    files: int
    present: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # RSE -> (bytes, files) there

    def missing_at(self, rse: str) -> tuple[int, int]:
        here_bytes, here_files = self.present.get(rse, (0, 0))
        return max(0, self.bytes - here_bytes), max(0, self.files - here_files)

    def to_move(self, rses: Iterable[str]) -> tuple[int, int]:
        """What Rucio copies: it places the data where most of it is already (the least missing)."""
        return min((self.missing_at(rse) for rse in rses), default=(self.bytes, self.files))


def present_in_file_replicas(rows: Iterable[Mapping[str, Any]], rses: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Bytes and files available at each RSE, from the files' replicas (``states`` per RSE), read as a stream."""
    present = {rse: (0, 0) for rse in rses}
    for row in rows:
        size = int(row.get("bytes") or 0)
        states = row.get("states") or {}
        for rse, (held_bytes, held_files) in present.items():
            if states.get(rse) == "AVAILABLE":
                present[rse] = (held_bytes + size, held_files + 1)
    return present


def present_in_dataset_replicas(rows: Iterable[Mapping[str, Any]], rses: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Bytes and files available at each RSE, from a dataset's replica counts (no file listed)."""
    by_rse = {r.get("rse"): r for r in rows}
    return {
        rse: (int(by_rse[rse].get("available_bytes") or 0), int(by_rse[rse].get("available_length") or 0))
        for rse in rses
        if rse in by_rse
    }


async def measure(session: RucioSession, did: DID, size: Size, rses: list[str]) -> Volume:
    """How much of the DID each of ``rses`` holds: one Rucio request, two for a dataset not yet counted.

    A dataset's replica counts (kept by Rucio's abacus daemon) avoid listing its files; a
    dataset without any count yet, a file and a container are read from their files'
    replicas, counted as they come so that a big container is never held in memory.
    """
    if size.kind == "DATASET":
        rows = await session.rucio(
            lambda c: list(c.list_dataset_replicas(did.scope, did.name)), what=f"list the replicas of {did}"
        )
        if rows:
            return Volume(size.bytes, size.files, present_in_dataset_replicas(rows, rses))

    def stream(client: TokenClient) -> dict[str, tuple[int, int]]:
        rows = client.list_replicas([did.as_dict()], all_states=True, ignore_availability=True)
        return present_in_file_replicas(rows, rses)

    return Volume(size.bytes, size.files, await session.rucio(stream, what=f"list the replicas of {did}"))


@dataclass(frozen=True)
class RseQuota:
    """The account's quota on one RSE, against what a rule needs there."""

    rse: str
    used_bytes: int
    limit_bytes: float  # math.inf: unlimited; 0: no quota at all
    needed_bytes: int

    @property
    def unlimited(self) -> bool:
        return math.isinf(self.limit_bytes)

    @property
    def left_bytes(self) -> float:
        return self.limit_bytes - self.used_bytes

    @property
    def fits(self) -> bool:
        # Rucio's RSESelector: some quota left, and more left than the rule needs
        return self.unlimited or (self.left_bytes > 0 and self.left_bytes > self.needed_bytes)

    def to_json(self) -> dict[str, Any]:
        return {
            "rse": self.rse,
            "used_bytes": self.used_bytes,
            "limit_bytes": None if self.unlimited else int(self.limit_bytes),
            "unlimited": self.unlimited,
            "needed_bytes": self.needed_bytes,
            "fits": self.fits,
        }

    def in_words(self) -> str:
        if self.unlimited:
            return f"your quota on {self.rse} is unlimited"
        if self.limit_bytes <= 0:
            return f"you have no quota on {self.rse}"
        left = format_bytes(max(0.0, self.left_bytes))
        used, limit = format_bytes(self.used_bytes), format_bytes(self.limit_bytes)
        return f"{used} of your {limit} quota on {self.rse} are used ({left} left)"


async def account_usage(session: RucioSession, account: str) -> dict[str, tuple[int, float]]:
    """The account's usage and limit per RSE (one Rucio request): RSE -> (used bytes, limit bytes)."""
    rows = await session.rucio(lambda c: list(c.get_local_account_usage(account)), what="read your quota")
    return {str(r["rse"]): (int(r.get("bytes") or 0), float(r.get("bytes_limit") or 0)) for r in rows}


async def account_is_admin(session: RucioSession, account: str) -> bool:
    """Whether the account is root or has Rucio's ``admin`` attribute (cached; one request when not)."""
    if account == "root":
        return True
    key = ("account_admin", account)
    cached = session.cache.get(key, ADMIN_MAX_AGE)
    if cached is None:
        rows = await session.rucio(
            lambda c: list(c.list_account_attributes(account)), what="read your account's attributes"
        )
        # Rucio answers a list of lists of {key, value}; it checks only that the key is there
        attributes = [a for group in rows for a in (group if isinstance(group, list) else [group])]
        cached = any(isinstance(a, Mapping) and a.get("key") == "admin" for a in attributes)
        session.cache.put(key, cached)
    return bool(cached)


def quotas_at(
    rses: Iterable[str], usage: Mapping[str, tuple[int, float]], needed_bytes: int, *, admin: bool
) -> list[RseQuota]:
    """The quota on each RSE of the target (an RSE without a limit for the account: no quota)."""
    out = []
    for rse in rses:
        used, limit = usage.get(rse, (0, 0.0))
        out.append(RseQuota(rse, used, math.inf if admin else limit, needed_bytes))
    return out


def quota_shortfall(did: DID, quotas: list[RseQuota]) -> str | None:
    """Why the quota cannot hold the data, with the numbers; None when some RSE of the target can."""
    if not quotas or any(q.fits for q in quotas):
        return None
    needed = format_bytes(quotas[0].needed_bytes)
    # The numbers first, the advice last: a JupyterLab notification shows 140 characters.
    return (
        f"Quota exceeded: {did} needs {needed}; {'; '.join(q.in_words() for q in quotas)}. "
        "Ask the data lake's administrators for more quota, release data you no longer need, "
        "or choose another target."
    )


async def quota_refusal_message(session: RucioSession, did: DID, expression: str, account: str) -> str | None:
    """Rucio's quota refusal of a rule, explained with the numbers (None when they cannot be read).

    Only on the refusal path: three Rucio requests (two once storage is cached) that a
    successful rule never pays.
    """
    try:
        size = await did_size(session, did)
        rses = await rse_names(session, expression)
        usage = await account_usage(session, account)
    except DLaaSError:
        return None  # Rucio's own words then
    return quota_shortfall(did, quotas_at(rses, usage, size.bytes, admin=False))
