"""What making a DID available at a target would do, known before the click: one answer for the dialog.

The answer says how much data moves (what is not at the target yet), whether the
account's quota there holds it (used, limit and needed), whether the data is embargoed,
whether any storage offers the target's QoS class, and whether the account has a rule
for it already (with its expiry, and whether it would be, or can be, extended). Nothing
is changed in Rucio; Rucio still decides when the rule is asked for.

Rucio requests, made concurrently where they do not depend on each other: the DID's
type and exact size (1); the RSEs of the target (1, cached); the account's rule for it
(1); its quota and usage on every RSE (1); whether it is an admin (1, cached); what is
at the target already (1: dataset replica counts, or the files' replicas of a file, a
container or a dataset not counted yet, 2 then); the collections around it, for
embargoes (a listing per collection and level, at most :data:`MAX_ANCESTOR_LISTINGS` up
and :data:`MAX_CONTENT_LISTINGS` down into a container); the metadata of the DID and
those collections (1 per 500). A dataset in one container costs 7 requests once the
storage and the account's attributes are cached (5 minutes); never more than 15, plus
one per 500 DIDs whose metadata is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from ..config import InstanceConfig
from ..errors import NotFound
from .catalogue import NOTEBOOK_TARGET, metadata_bulk, rse_names, target_expression, targets
from .did import DID, row_key
from .embargo import Embargo, embargo_in_force, today_utc
from .quota import account_is_admin, account_usage, did_size, measure, quota_shortfall, quotas_at
from .rules import (
    SECONDS_PER_DAY,
    cannot_extend_note,
    check_lifetime,
    expires_before,
    find_rule,
    rule_json,
    rule_permissions,
)
from .session import RucioSession

MAX_ANCESTOR_LISTINGS = 4
MAX_CONTENT_LISTINGS = 4
COLLECTIONS = ("DATASET", "CONTAINER")

# What asking would do: create a rule, be refused, find the rule (long enough already),
# extend it, or keep it as it is because the lake does not let users extend rules.
CREATE, REFUSED, EXISTS, EXTEND, KEEP = "create", "refused", "exists", "extend", "keep"


async def preview(session: RucioSession, did: DID, target: Any, lifetime_days: Any) -> dict[str, Any]:
    """What ``POST rules`` with the same DID, target and lifetime would do, and why it would be refused."""
    config = session.config
    expression = target_expression(config, target)
    days = check_lifetime(
        config.default_lifetime_days if lifetime_days is None else lifetime_days,
        "lifetime_days",
        config.max_lifetime_days,
    )
    permissions = await rule_permissions(session)
    account = permissions.account
    try:
        size = await did_size(session, did)
    except NotFound:
        raise NotFound(f"{did} does not exist in {config.label}", reason="did_not_found") from None
    rses, existing, usage, admin, related = await asyncio.gather(
        rse_names(session, expression),
        find_rule(session, did, account, expression),
        account_usage(session, account),
        account_is_admin(session, account),
        related_collections(session, did, size.kind),
    )
    volume, metadata = await asyncio.gather(
        measure(session, did, size, rses),
        metadata_bulk(session, [did, *related], plugin="JSON"),
    )
    # Root and admins are not bound by embargoes; the lake's policy checks the same collections.
    embargo = None if admin else embargo_in_force(metadata.items(), today_utc())
    quotas = quotas_at(rses, usage, volume.bytes, admin=admin)
    shortfall = quota_shortfall(did, quotas)
    to_move_bytes, to_move_files = volume.to_move(rses)

    refusals = []
    if not rses:
        refusals.append(
            {
                "reason": "no_matching_rse",
                "message": f"No storage (RSE) offers {target_label(config, target)}: nothing matches "
                f"'{expression}'. Choose another target, or ask the data lake's administrators.",
            }
        )
    if embargo is not None and embargo.readable:
        refusals.append({"reason": "embargoed", "message": embargo_message(did, embargo)})
    if shortfall:
        refusals.append({"reason": "quota_exceeded", "message": shortfall})

    note = None
    if existing is None:
        outcome = REFUSED if refusals else CREATE
    elif not expires_before(existing, int(days * SECONDS_PER_DAY)):
        outcome = EXISTS
    elif permissions.allows(existing, "extend"):
        outcome = EXTEND
    else:
        outcome, note = KEEP, cannot_extend_note(existing)
    return {
        "did": str(did),
        "type": size.kind or None,
        "target": {
            "id": target or NOTEBOOK_TARGET,
            "label": target_label(config, target),
            "rse_expression": expression,
        },
        "lifetime_days": days,
        "rses": rses,
        "size": {"bytes": volume.bytes, "files": volume.files},
        "to_move": {"bytes": to_move_bytes, "files": to_move_files},
        "quota": {
            "needed_bytes": volume.bytes,
            "fits": shortfall is None,
            "rses": [q.to_json() for q in quotas],
            "message": shortfall,
        },
        "embargo": None if embargo is None else embargo_json(did, embargo),
        "rule": None if existing is None else rule_json(existing, permissions),
        "outcome": outcome,
        "note": note,
        # With a rule already there, asking again answers with it: nothing is refused.
        "refusals": refusals if existing is None else [],
    }


def target_label(config: InstanceConfig, target: Any) -> str:
    """How the panel names a target ("Notebook-local storage", "QoS class SAFE")."""
    wanted = target or NOTEBOOK_TARGET
    return next((t["label"] for t in targets(config) if t["id"] == wanted), str(wanted))


def embargo_message(did: DID, embargo: Embargo) -> str:
    where = "" if embargo.did == str(did) else f" (the embargo is set on {embargo.did})"
    if embargo.until is None:
        return f"{embargo.did} carries an embargo ({embargo.value}) that cannot be read as a date."
    return (
        f"{did} is embargoed until {embargo.until.isoformat()}{where}: "
        "the data lake refuses to make it available before then."
    )


def embargo_json(did: DID, embargo: Embargo) -> dict[str, Any]:
    return {
        "until": embargo.until.isoformat() if embargo.until else None,
        "did": embargo.did,
        "message": embargo_message(did, embargo),
    }


async def related_collections(session: RucioSession, did: DID, kind: str) -> list[DID]:
    """The collections whose embargo covers ``did``: all around it up, and for a container, inside it."""
    up = _walk(
        session, did, lambda c, d: c.list_parent_dids(d.scope, d.name), "parents", COLLECTIONS, MAX_ANCESTOR_LISTINGS
    )
    # Inside a container: its datasets and containers; only containers hold more collections.
    down = (
        _walk(
            session, did, lambda c, d: c.list_content(d.scope, d.name), "content", ("CONTAINER",), MAX_CONTENT_LISTINGS
        )
        if kind == "CONTAINER"
        else _nothing_listed()
    )
    above, below = await asyncio.gather(up, down)
    return list({str(d): d for d in [*above, *below] if d != did}.values())


async def _nothing_listed() -> list[DID]:
    return []


async def _walk(
    session: RucioSession,
    start: DID,
    listing: Callable[[Any, DID], Iterable[dict[str, Any]]],
    what: str,
    follow: tuple[str, ...],
    budget: int,
) -> list[DID]:
    """Collections reached level by level through ``listing`` (going on from the ``follow`` types),
    with at most ``budget`` listings."""
    seen: dict[str, DID] = {}
    level = [start]
    while level and budget > 0:
        batch, budget = level[:budget], budget - min(len(level), budget)
        answers = await asyncio.gather(
            *(
                session.rucio(lambda c, d=d: list(listing(c, d)), what=f"list the {what} of {d}")  # type: ignore[misc]
                for d in batch
            )
        )
        level = []
        for row in (row for rows in answers for row in rows):
            kind = str(row.get("type") or "").upper()
            key = row_key(row)
            if kind in COLLECTIONS and key not in seen:
                seen[key] = DID(str(row["scope"]), str(row["name"]))
                if kind in follow:
                    level.append(seen[key])
    return list(seen.values())
