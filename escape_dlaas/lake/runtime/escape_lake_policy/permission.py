"""Permissions of the local data lake: Rucio's generic policy, except embargoed data.

``has_permission`` returns ``None`` for everything it does not decide, which makes
Rucio fall back to ``rucio.core.permission.generic``. For ``add_rule`` it refuses a
rule on an embargoed DID (or on a DID inside, or containing, an embargoed collection)
with ``PermissionResult(False, "embargoed until YYYY-MM-DD")``; the server turns
that into ``AccessDenied('Account X can not add replication rule. embargoed until ...')``.
Root and admin accounts are not bound by embargoes (they manage the data).

Unlike the generic policy (root and admins only), the owner of an unlocked rule may
delete it and change its lifetime, as in the ATLAS and CMS policies: a notebook user
releases the copies they asked for.

The lookup is one recursive SQL query over Rucio's ``contents`` and ``did_meta``
tables (the lake runs on PostgreSQL), inside a savepoint so that a failure can never
poison the caller's transaction; if it fails, the rule is refused (fail closed).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from .embargo import EMBARGO_KEY, embargo_reason  # the query reads the same key

LOGGER = logging.getLogger("escape_lake_policy")

# Ancestors (collections containing the DID, at any depth) and descendant collections,
# plus the DID itself; then the embargo key of each from the JSON metadata.
RELATED_EMBARGOES = """
WITH RECURSIVE
  up(scope, name) AS (
    SELECT c.scope, c.name FROM contents c WHERE c.child_scope = :scope AND c.child_name = :name
    UNION SELECT c.scope, c.name FROM contents c JOIN up ON c.child_scope = up.scope AND c.child_name = up.name
  ),
  down(scope, name) AS (
    SELECT c.child_scope, c.child_name FROM contents c
      WHERE c.scope = :scope AND c.name = :name AND c.child_type <> 'F'
    UNION SELECT c.child_scope, c.child_name FROM contents c
      JOIN down ON c.scope = down.scope AND c.name = down.name WHERE c.child_type <> 'F'
  ),
  related(scope, name) AS (
    SELECT :scope, :name UNION SELECT scope, name FROM up UNION SELECT scope, name FROM down
  )
SELECT m.meta ->> 'embargo_until' FROM did_meta m JOIN related r ON m.scope = r.scope AND m.name = r.name
WHERE m.meta ->> 'embargo_until' IS NOT NULL
"""


def has_permission(issuer: Any, action: str, kwargs: dict[str, Any], *, session: Any = None) -> Any:
    # Imported here: rucio.core.permission imports this module before defining PermissionResult.
    from rucio.core.account import has_account_attribute
    from rucio.core.permission import PermissionResult

    if action not in ("add_rule", "del_rule", "update_rule") or session is None:
        return None  # Rucio's generic policy decides
    if issuer.external == "root" or has_account_attribute(account=issuer, key="admin", session=session):
        return None
    if action in ("del_rule", "update_rule"):
        return PermissionResult(True) if _owns_unlocked_rule(issuer, action, kwargs, session) else None
    try:
        reason = _embargo_reason_for_rule(issuer.vo, kwargs.get("dids") or [], session)
    except Exception:
        LOGGER.exception("embargo check failed; refusing the rule")
        return PermissionResult(False, "the embargo check failed; try again later")
    if reason:
        return PermissionResult(False, reason)
    return None


OWNER_UPDATABLE_OPTIONS = {"lifetime", "comment"}


def _owns_unlocked_rule(issuer: Any, action: str, kwargs: dict[str, Any], session: Any) -> bool:
    from rucio.common.exception import RuleNotFound
    from rucio.core.rule import get_rule

    if action == "update_rule" and not set(kwargs.get("options") or {}) <= OWNER_UPDATABLE_OPTIONS:
        return False
    try:
        rule = get_rule(kwargs["rule_id"], session=session)
    except (RuleNotFound, KeyError):
        return False
    return rule["account"] == issuer and not rule["locked"]


def _embargo_reason_for_rule(vo: str, dids: list[dict[str, Any]], session: Any) -> str | None:
    from rucio.common.types import InternalScope
    from sqlalchemy import text

    query = text(RELATED_EMBARGOES)
    values: list[dict[str, Any]] = []
    with session.begin_nested():
        for did in dids:
            # The REST layer may already have turned the scope into an InternalScope.
            scope = did["scope"] if isinstance(did["scope"], InternalScope) else InternalScope(did["scope"], vo=vo)
            internal = scope.internal
            for (value,) in session.execute(query, {"scope": internal, "name": did["name"]}):
                values.append({EMBARGO_KEY: value})
    return embargo_reason(values, dt.datetime.now(dt.timezone.utc).date())
