"""The Rucio permission policies a local lake can run (``escape-dlaas lake up --policy NAME``).

``demo``
    The lake's policy package ``escape_lake_policy`` (``runtime/escape_lake_policy``):
    Rucio's generic permissions, plus embargoes the server enforces, and the owner of an
    unlocked rule may delete it and change its lifetime or comment.
``generic``
    Rucio's stock generic permissions, no policy package: as on a data lake that never
    customised them. A user may create rules for their own account, but in Rucio 41 only
    root and admin accounts may update a rule (its lifetime included) or delete one; no
    embargo is enforced.

Only the Rucio server and the daemons load the policy; the rest of the lake is the same.
"""

from __future__ import annotations

from dataclasses import dataclass

ENV_POLICY = "ESCAPE_DLAAS_LAKE_POLICY"


@dataclass(frozen=True)
class Policy:
    name: str
    package: str | None  # Rucio's [policy] package, None for the stock generic permissions
    owner_may_update_rules: bool  # may the owner of a rule change its lifetime and delete it?
    enforces_embargo: bool  # does the server refuse rules on embargoed data?
    summary: str


POLICIES = {
    p.name: p
    for p in (
        Policy(
            "demo",
            "escape_lake_policy",
            owner_may_update_rules=True,
            enforces_embargo=True,
            summary="lake policy package: owners update and delete their rules; embargoes enforced",
        ),
        Policy(
            "generic",
            None,
            owner_may_update_rules=False,
            enforces_embargo=False,
            summary="Rucio's stock generic permissions: only root and admins update or delete rules; no embargo",
        ),
    )
}
DEFAULT_POLICY = "demo"


def policy_named(name: str, source: str = "--policy") -> Policy:
    """The policy of that name; a ValueError naming the choices otherwise."""
    try:
        return POLICIES[name]
    except KeyError:
        raise ValueError(f"{source}: unknown policy {name!r} (choose {' or '.join(POLICIES)})") from None
