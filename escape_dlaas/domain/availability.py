"""Whether data is usable at the notebook: pure functions over Rucio's replicas and rules.

"At the notebook" means: a replica in state AVAILABLE on the notebook-local RSE.
A DID is AVAILABLE when all its files are; PARTIAL when some are; REPLICATING when a
rule towards the notebook is still copying; STUCK when such a rule is stuck (Rucio's
reason attached); NOT_AVAILABLE otherwise; EMPTY for a collection without files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

AVAILABLE = "AVAILABLE"
PARTIAL = "PARTIAL"
REPLICATING = "REPLICATING"
STUCK = "STUCK"
NOT_AVAILABLE = "NOT_AVAILABLE"
EMPTY = "EMPTY"

# Per file: where the bytes are, seen from the notebook.
FILE_ELSEWHERE = "ELSEWHERE"  # available, but not on the notebook-local RSE
FILE_LOST = "LOST"  # no available replica anywhere

# Rucio replica states, as the REST API spells them.
REPLICA_AVAILABLE = "AVAILABLE"
REPLICA_COPYING = "COPYING"


@dataclass(frozen=True)
class RuleSummary:
    """The part of a Rucio rule the panel shows."""

    id: str
    scope: str
    name: str
    account: str
    rse_expression: str
    state: str
    locks_ok: int
    locks_replicating: int
    locks_stuck: int
    expires_at: str | None
    created_at: str | None
    error: str | None
    towards_notebook: bool
    copies: int = 1
    comment: str | None = None
    locked: bool = False  # Rucio keeps a locked rule from being deleted; policies refuse changes to it

    @property
    def locks_total(self) -> int:
        return self.locks_ok + self.locks_replicating + self.locks_stuck

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "did": f"{self.scope}:{self.name}",
            "account": self.account,
            "rse_expression": self.rse_expression,
            "state": self.state,
            "locks": {"ok": self.locks_ok, "replicating": self.locks_replicating, "stuck": self.locks_stuck},
            "expires_at": self.expires_at,
            "created_at": self.created_at,
            "error": self.error,
            "towards_notebook": self.towards_notebook,
            "copies": self.copies,
            "comment": self.comment,
            "locked": self.locked,
        }


def _iso(value: Any) -> str | None:
    """ISO 8601 with an explicit UTC offset: Rucio's dates are UTC but say nothing of it."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.isoformat()
    return str(value)


def summarise_rule(rule: Mapping[str, Any], notebook_expressions: Iterable[str]) -> RuleSummary:
    expression = str(rule.get("rse_expression", ""))
    return RuleSummary(
        id=str(rule["id"]),
        scope=str(rule["scope"]),
        name=str(rule["name"]),
        account=str(rule.get("account", "")),
        rse_expression=expression,
        state=str(rule.get("state", "")),
        locks_ok=int(rule.get("locks_ok_cnt") or 0),
        locks_replicating=int(rule.get("locks_replicating_cnt") or 0),
        locks_stuck=int(rule.get("locks_stuck_cnt") or 0),
        expires_at=_iso(rule.get("expires_at")),
        created_at=_iso(rule.get("created_at")),
        error=rule.get("error") or None,
        towards_notebook=expression in set(notebook_expressions),
        copies=int(rule.get("copies") or 1),
        comment=rule.get("comments") or rule.get("comment") or None,
        locked=bool(rule.get("locked")),
    )


def file_state(states: Mapping[str, str], notebook_rse: str | None) -> str:
    """A file's state at the notebook from its replicas' states per RSE."""
    here = states.get(notebook_rse) if notebook_rse else None
    if here == REPLICA_AVAILABLE:
        return AVAILABLE
    if here == REPLICA_COPYING:
        return REPLICATING
    if any(state == REPLICA_AVAILABLE for state in states.values()):
        return FILE_ELSEWHERE
    return FILE_LOST


@dataclass
class Availability:
    did: str
    state: str
    files_total: int
    files_at_notebook: int
    files_replicating: int
    bytes_total: int
    bytes_at_notebook: int
    rules: list[RuleSummary] = field(default_factory=list)
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "did": self.did,
            "state": self.state,
            "files": {
                "total": self.files_total,
                "at_notebook": self.files_at_notebook,
                "replicating": self.files_replicating,
            },
            "bytes": {"total": self.bytes_total, "at_notebook": self.bytes_at_notebook},
            "rule_ids": [r.id for r in self.rules],
            "reason": self.reason,
        }


def did_availability(
    did: str, files: Iterable[Mapping[str, Any]], rules: Iterable[RuleSummary], notebook_rse: str | None
) -> Availability:
    """Combine a DID's files (with ``states`` per RSE) and the rules on it into one state."""
    total = at_nb = copying = bytes_total = bytes_nb = 0
    for f in files:
        total += 1
        size = int(f.get("bytes") or 0)
        bytes_total += size
        state = file_state(f.get("states") or {}, notebook_rse)
        if state == AVAILABLE:
            at_nb += 1
            bytes_nb += size
        elif state == REPLICATING:
            copying += 1
    towards = [r for r in rules if r.towards_notebook]
    result = Availability(did, NOT_AVAILABLE, total, at_nb, copying, bytes_total, bytes_nb, rules=list(towards))
    if total == 0:
        result.state = EMPTY
        return result
    if at_nb == total:
        result.state = AVAILABLE
        return result
    return _not_all_here(result, towards, copying)


def _not_all_here(result: Availability, towards: list[RuleSummary], copying: int) -> Availability:
    """Stuck (with Rucio's reason), replicating, partial, or else not here."""
    stuck = [r for r in towards if r.state == "STUCK" or r.locks_stuck]
    if stuck:
        result.state = STUCK
        result.reason = next((r.error for r in stuck if r.error), "Rucio reports the transfer as stuck")
    elif copying or any(r.state == "REPLICATING" for r in towards):
        result.state = REPLICATING
    elif result.files_at_notebook:
        result.state = PARTIAL
    return result


def dataset_availability(
    did: str,
    replicas: Iterable[Mapping[str, Any]],
    rules: Iterable[RuleSummary],
    notebook_rse: str | None,
) -> Availability:
    """A dataset's state from its dataset replicas (one row per RSE) and the rules on it.

    Dataset replicas carry counts kept by Rucio's ``abacus-collection-replica`` daemon,
    so no file needs listing. The account's rules towards the notebook add what is newer
    than those counts: a rule's lock counters say at once how many files are there.
    """
    rows = list(replicas)
    towards = [r for r in rules if r.towards_notebook]
    here = next((r for r in rows if r.get("rse") == notebook_rse), None)
    total = max([int(r.get("length") or 0) for r in rows] + [r.locks_total for r in towards] + [0])
    bytes_total = max([int(r.get("bytes") or 0) for r in rows] + [0])
    at_nb = int(here.get("available_length") or 0) if here else 0
    bytes_nb = int(here.get("available_bytes") or 0) if here else 0
    replicating = max([r.locks_replicating for r in towards] + [0])
    at_nb = max([at_nb] + [r.locks_ok for r in towards])
    complete_rule = any(r.state == "OK" and r.locks_total and r.locks_ok == r.locks_total for r in towards)
    result = Availability(did, NOT_AVAILABLE, total, at_nb, replicating, bytes_total, bytes_nb, rules=towards)
    if complete_rule or (total and at_nb >= total):
        result.state = AVAILABLE
        result.files_at_notebook, result.bytes_at_notebook = total, max(bytes_nb, bytes_total)
        return result
    return _not_all_here(result, towards, replicating)
