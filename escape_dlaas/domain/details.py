"""One DID in detail: its metadata, rules and availability, and its files page by page.

A file's row says where its replicas are, whether its copy is stuck (with Rucio's
reason) and, when it is at the notebook, the local path to open.
"""

from __future__ import annotations

from typing import Any

from .availability import AVAILABLE, STUCK, file_state, summarise_rule
from .catalogue import notebook_expressions, notebook_rse, rses
from .describe import availability_map
from .did import DID, row_key, user_metadata
from .paging import decode_cursor, encode_cursor, query_key, rows_at
from .paths import file_replicas, local_path
from .rules import rule_json, rule_permissions
from .session import RucioSession


async def did_details(session: RucioSession, did: DID) -> dict[str, Any]:
    """Type, size, metadata, the rules on it, its availability, and the RSEs' QoS classes."""
    meta = await session.rucio(lambda c: c.get_metadata(did.scope, did.name, plugin="ALL"), what=f"read {did}")
    expressions = await notebook_expressions(session)
    rules = await session.rucio(lambda c: list(c.list_did_rules(did.scope, did.name)), what=f"list the rules on {did}")
    summaries = [summarise_rule(r, expressions) for r in rules]
    permissions = await rule_permissions(session)
    availability = (await availability_map(session, [did], {str(did): meta}))[str(did)]
    by_name = {r["name"]: r for r in await rses(session)}
    return {
        "did": str(did),
        "scope": did.scope,
        "name": did.name,
        "type": str(meta.get("did_type") or "").upper() or None,
        "bytes": meta.get("bytes") if meta.get("bytes") is not None else availability.bytes_total,
        "length": meta.get("length") if meta.get("length") is not None else availability.files_total,
        "metadata": user_metadata(meta),
        "rules": [rule_json(r, permissions) for r in summaries],
        "availability": availability.to_json(),
        "rses": {n: {"qos_class": r["qos_class"], "notebook_local": r["notebook_local"]} for n, r in by_name.items()},
    }


async def did_files(session: RucioSession, did: DID, page_size: int, cursor: str | None) -> dict[str, Any]:
    """One page of a collection's files (a file DID: itself) with their state at the notebook."""
    listing = query_key("files", str(did))
    _, offset = decode_cursor(cursor, listing) if cursor else (0, 0)
    # Rucio's file listing has no limit: it is read as far as the page goes, and kept open
    # for the next page (only one page of files is ever held here).
    listed = await rows_at(
        session,
        listing,
        offset,
        page_size,
        lambda c, _limit: c.list_files(did.scope, did.name),
        what=f"list the files of {did}",
    )
    page = listed[:page_size]
    more = len(listed) > page_size
    by_file: dict[str, dict[str, Any]] = {}
    if page:
        by_file = {row_key(r): r for r in await file_replicas(session, page, did)}
    stuck = await _stuck_reasons(session, did)
    qos_of = {r["name"]: r["qos_class"] for r in await rses(session)}
    local = notebook_rse(session.config)
    files = []
    for f in page:
        key = row_key(f)
        replica = by_file.get(key, {})
        states: dict[str, str] = replica.get("states") or {}
        state = file_state(states, local)
        files.append(
            {
                "did": key,
                "scope": f["scope"],
                "name": f["name"],
                "bytes": f.get("bytes"),
                "adler32": f.get("adler32"),
                "state": STUCK if key in stuck and state != AVAILABLE else state,
                "reason": stuck.get(key),
                "replicas": [
                    {"rse": rse, "state": st, "qos_class": qos_of.get(rse)} for rse, st in sorted(states.items())
                ],
                "local_path": local_path(session.config.notebook_local, replica) if state == AVAILABLE else None,
            }
        )
    next_cursor = encode_cursor(listing, 0, offset + page_size) if more else None
    return {"did": str(did), "files": files, "next_cursor": next_cursor}


async def _stuck_reasons(session: RucioSession, did: DID) -> dict[str, str]:
    """Per-file reasons for stuck locks, for the rules on this DID that are stuck."""
    rules = await session.rucio(lambda c: list(c.list_did_rules(did.scope, did.name)), what=f"list the rules on {did}")
    reasons: dict[str, str] = {}
    for rule in rules:
        if rule.get("state") != "STUCK" and not rule.get("locks_stuck_cnt"):
            continue
        locks = await session.rucio(lambda c, r=rule: list(c.list_replica_locks(r["id"])), what="list rule locks")  # type: ignore[misc]
        for lock in locks:
            if lock.get("state") == "STUCK":
                reasons[row_key(lock)] = rule.get("error") or "transfer stuck"
    return reasons
