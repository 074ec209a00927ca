"""Describing many DIDs at once: type, size, metadata and availability, with bulk calls only.

The number of Rucio requests grows with the kinds of DIDs asked about (and chunks of
:data:`~.did.BULK_CHUNK`), never with their number: a dataset is never expanded into
its files.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidInput
from .availability import Availability, RuleSummary, dataset_availability, did_availability
from .cache import AVAILABILITY
from .catalogue import metadata_bulk, notebook_rse
from .did import DID, did_chunks, row_key, type_and_size, user_metadata
from .rules import my_rules
from .session import RucioSession

MAX_WATCHED_DIDS = 2000
MAX_DESCRIBED_DIDS = 1000


async def describe(session: RucioSession, dids: list[DID]) -> list[dict[str, Any]]:
    """Type, size, metadata and availability of a page of DIDs: bulk calls only."""
    if not dids:
        return []
    if len(dids) > MAX_DESCRIBED_DIDS:
        raise InvalidInput(f"at most {MAX_DESCRIBED_DIDS} DIDs per request (got {len(dids)})", field="dids")
    # The account's rules do not depend on the DIDs' types: read with the metadata, at once.
    parts, rules = await asyncio.gather(
        asyncio.gather(*(metadata_bulk(session, chunk) for chunk in did_chunks(dids))), my_rules(session)
    )
    meta = {key: row for part in parts for key, row in part.items()}
    availability = await availability_map(session, dids, meta, containers=False, rules=rules)
    items = []
    for did in dids:
        m = meta.get(str(did), {})
        state = availability.get(str(did))
        item = {"did": str(did), "scope": did.scope, "name": did.name, **type_and_size(m)}
        # Rucio leaves an open collection's size empty; the replica counts give it
        # (none yet while Rucio's abacus daemon has not counted a new dataset).
        if state is not None and state.files_total > 0:
            if item["bytes"] is None:
                item["bytes"] = state.bytes_total
            if item["length"] is None:
                item["length"] = state.files_total
        item["metadata"] = user_metadata(m)
        item["availability"] = state.to_json() if state else None
        items.append(item)
    return items


async def availability_map(
    session: RucioSession,
    dids: list[DID],
    meta: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    containers: bool = True,
    rules: list[RuleSummary] | None = None,
) -> dict[str, Availability]:
    """The state of many DIDs with a bounded number of Rucio requests, whatever their size.

    Types come from one bulk metadata call (unless given); then, concurrently: the
    account's rules (one listing), dataset replicas for the datasets (one call per
    chunk: counts, no files), file replicas for the files (one call per chunk), and,
    only for containers, their files' replicas with parents resolved. ``containers=False``
    leaves containers out (search pages: they are resolved when opened or watched).
    ``rules``: the account's rules when already read.
    """
    if not dids:
        return {}
    if len(dids) > MAX_WATCHED_DIDS:
        raise InvalidInput(f"at most {MAX_WATCHED_DIDS} DIDs per request (got {len(dids)})", field="dids")
    if meta is None:
        parts = await asyncio.gather(
            *(metadata_bulk(session, chunk, plugin="DID_COLUMN") for chunk in did_chunks(dids))
        )
        meta = {key: row for part in parts for key, row in part.items()}
    kind = {str(d): str(meta.get(str(d), {}).get("did_type", "")).upper() for d in dids}
    files = [d for d in dids if kind[str(d)] == "FILE"]
    datasets = [d for d in dids if kind[str(d)] == "DATASET"]
    wanted_containers = [d for d in dids if kind[str(d)] == "CONTAINER"] if containers else []

    async def replicas(chunk: list[DID], parents: bool) -> list[dict[str, Any]]:
        return await session.rucio(
            lambda c: list(
                c.list_replicas(
                    [d.as_dict() for d in chunk], all_states=True, ignore_availability=True, resolve_parents=parents
                )
            ),
            what="list replicas",
        )

    async def dataset_replicas(chunk: list[DID]) -> list[dict[str, Any]]:
        return await session.rucio(
            lambda c: list(c.list_dataset_replicas_bulk([d.as_dict() for d in chunk])), what="list dataset replicas"
        )

    calls = [
        *(replicas(chunk, False) for chunk in did_chunks(files)),
        *(replicas(chunk, True) for chunk in did_chunks(wanted_containers)),
        *(dataset_replicas(chunk) for chunk in did_chunks(datasets)),
    ]
    if rules is None:
        rules, *answers = await asyncio.gather(my_rules(session), *calls)
    else:
        answers = list(await asyncio.gather(*calls))
    wanted = {str(d) for d in files + wanted_containers}
    files_of: dict[str, list[dict[str, Any]]] = {d: [] for d in wanted}
    rows_of: dict[str, list[dict[str, Any]]] = {str(d): [] for d in datasets}
    for row in (row for answer in answers for row in answer):
        key = row_key(row)
        if key in rows_of and "rse" in row:
            rows_of[key].append(row)
            continue
        for owner in ({key} | set(row.get("parents") or [])) & wanted:
            files_of[owner].append(row)
    local = notebook_rse(session.config)
    rules_on: dict[str, list[RuleSummary]] = {}
    for rule in rules:
        rules_on.setdefault(f"{rule.scope}:{rule.name}", []).append(rule)
    out: dict[str, Availability] = {}
    for did in dids:
        key = str(did)
        on_did = rules_on.get(key, [])
        if key not in meta:
            out[key] = Availability(key, "UNKNOWN", 0, 0, 0, 0, 0, reason="Rucio does not know this DID")
        elif key in rows_of:
            out[key] = dataset_availability(key, rows_of[key], on_did, local)
        elif key in files_of:
            out[key] = did_availability(key, files_of[key], on_did, local)
    return out


async def availability(session: RucioSession, dids: list[DID], max_age: float) -> list[dict[str, Any]]:
    """:func:`availability_map` as JSON; an identical request within ``max_age`` seconds is answered again."""
    cache_key = (AVAILABILITY, tuple(sorted(str(d) for d in dids)))
    cached = session.cache.get(cache_key, max_age)
    if cached is None:
        cached = [a.to_json() for a in (await availability_map(session, dids)).values()]
        session.cache.put(cache_key, cached)
    return list(cached)
