"""Rules: making data available (idempotently), the account's rules, extending and cancelling them.

The policy lives here: which lifetimes are allowed, that asking again extends the one
rule instead of adding a second, that only the account's own rules may be changed, what
this data lake lets the account do with its rules, and how Rucio's refusals read for a
scientist.

What the lake allows is learned, not assumed. Rucio's stock generic policy lets only
root and admins update or delete rules; policy packages such as the demo lake's let
owners change their own. Rucio has no way to ask "may I?" without doing it: a probe
that writes (even the same comment again) is a change nobody asked for, and probes
that fail on purpose (an unknown rule, an invalid option) are refused by some policies
for other reasons, so they tell nothing. A change is therefore assumed possible until
Rucio refuses one on an unlocked rule of the account's own; from then on it is known
to be refused, for as long as the server runs (or until the account changes). Rules
carry ``can_extend`` and ``can_cancel`` from that knowledge, so the panel offers only
what can work.
"""

from __future__ import annotations

import math
import re
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from ..errors import Conflict, DLaaSError, InvalidInput, NotFound, PermissionDenied, Refused, ServiceUnavailable
from .availability import RuleSummary, summarise_rule
from .cache import AVAILABILITY
from .catalogue import notebook_expressions, target_expression
from .did import DID
from .quota import quota_refusal_message
from .session import RucioSession

SECONDS_PER_DAY = 86400
# Shorter rules end before their copies can be used (and Rucio's cleaner runs about hourly).
MIN_LIFETIME_SECONDS = 3600
RULE_COMMENT = "escape-dlaas: make available"
_DECIMAL = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,12})?$")


def check_lifetime(value: Any, field: str, maximum: float) -> float:
    """A lifetime in days as asked for: a JSON number, at least an hour, at most the site's maximum."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(
            f"{field} must be a number of days, e.g. 7 (got {_json_kind(value)})",
            field=field,
            reason="invalid_lifetime",
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"{field} must be a finite number of days", field=field, reason="invalid_lifetime")
    if value > maximum:  # compared before any conversion: a huge integer does not fit in a float
        shown = f"{value:g}" if isinstance(value, float) or value < 10**15 else "more than 10^15"
        raise InvalidInput(
            f"{field} of {shown} days is longer than this site allows ({maximum:g} days)",
            field=field,
            reason="invalid_lifetime",
        )
    days = float(value)
    if days * SECONDS_PER_DAY < MIN_LIFETIME_SECONDS:
        raise InvalidInput(
            f"{field} must be at least 1 hour ({MIN_LIFETIME_SECONDS / SECONDS_PER_DAY:.3f} days); got {days:g}",
            field=field,
            reason="invalid_lifetime",
        )
    return days


def lifetime_from_text(text: str | None, field: str = "lifetime_days") -> float | None:
    """A lifetime typed in a query string ("7", "0.5"): the number, or None when not given."""
    if text is None:
        return None
    if not _DECIMAL.match(text):
        raise InvalidInput(
            f"{field} must be a number of days, e.g. 7 (got {text[:20]!r})", field=field, reason="invalid_lifetime"
        )
    return float(text)


def _json_kind(value: Any) -> str:
    """How a JSON value that is not a number reads in a message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()}, a boolean"
    if isinstance(value, str):
        return f"the text {value[:20]!r}"
    return "a list" if isinstance(value, list) else "an object" if isinstance(value, dict) else type(value).__name__


@dataclass
class RulePermissions:
    """What this data lake lets the account do with its own rules: True, False, or None (not known yet)."""

    account: str
    extend: bool | None = None
    cancel: bool | None = None

    def allows(self, rule: RuleSummary, action: Literal["extend", "cancel"]) -> bool:
        """Whether ``action`` ("extend" or "cancel") can work on ``rule``, as far as we know."""
        if rule.account != self.account or rule.locked:
            return False
        return getattr(self, action) is not False


# Learned per session (one per configured instance); forgotten with it.
_PERMISSIONS: weakref.WeakKeyDictionary[Any, RulePermissions] = weakref.WeakKeyDictionary()


async def rule_permissions(session: RucioSession) -> RulePermissions:
    """What the account may do with its rules on this instance (no Rucio request once signed in)."""
    account = await session.account()
    known = _PERMISSIONS.get(session)
    if known is None or known.account != account:
        known = RulePermissions(account)
        _PERMISSIONS[session] = known
    return known


def rule_json(rule: RuleSummary, permissions: RulePermissions) -> dict[str, Any]:
    """A rule as the panel shows it, with whether Extend and Cancel can work on it."""
    return {
        **rule.to_json(),
        "can_extend": permissions.allows(rule, "extend"),
        "can_cancel": permissions.allows(rule, "cancel"),
    }


def ends_in_words(expires_at: str | None) -> str:
    """'ends on 2025-01-08 12:00 UTC' (or that it has no end) for a rule's ``expires_at``."""
    if not expires_at:
        return "has no end date"
    try:
        when = datetime.fromisoformat(expires_at)
    except ValueError:
        return f"ends on {expires_at}"
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return f"ends on {when.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC"


def cannot_extend_note(rule: RuleSummary) -> str:
    return f"This data lake does not let users extend rules; the rule {ends_in_words(rule.expires_at)}."


def cannot_cancel_message(rule: RuleSummary) -> str:
    return (
        f"This data lake does not let users cancel rules; the rule {ends_in_words(rule.expires_at)}, "
        "then Rucio removes it."
    )


async def my_rules(session: RucioSession) -> list[RuleSummary]:
    """The rules of the user's account."""
    account = await session.account()
    expressions = await notebook_expressions(session)
    rules = await session.rucio(
        lambda c: list(c.list_replication_rules(filters={"account": account})), what="list your rules"
    )
    return [summarise_rule(r, expressions) for r in rules]


async def my_rules_json(session: RucioSession) -> list[dict[str, Any]]:
    """The account's rules as the panel shows them (with ``can_extend`` and ``can_cancel``)."""
    rules = await my_rules(session)
    permissions = await rule_permissions(session)
    return [rule_json(r, permissions) for r in rules]


async def make_available(session: RucioSession, did: DID, target: Any, lifetime_days: Any) -> dict[str, Any]:
    """Make ``did`` available at ``target``: ``{"rule", "created", "extended", "note"?}``.

    Idempotent: the account's rule for the same DID and target is reused, and extended
    when it would end before the lifetime asked for and the lake lets users extend rules
    (otherwise it is kept as it is, and ``note`` says why). Exactly one of several
    concurrent requests, from this server or another, answers ``created``.
    """
    config = session.config
    expression = target_expression(config, target)
    days = check_lifetime(
        config.default_lifetime_days if lifetime_days is None else lifetime_days,
        "lifetime_days",
        config.max_lifetime_days,
    )
    async with session.serialised(("rule", str(did), expression)):
        permissions = await rule_permissions(session)
        lifetime = int(days * SECONDS_PER_DAY)
        # Asked for straight away: Rucio checks everything itself (the dialog's preview has shown
        # what it would refuse), and a rule that exists already makes it refuse a duplicate. Only
        # a refusal costs a look for the account's rule, so that asking again always answers with
        # it (Rucio may check the quota or the policy before it finds the duplicate).
        try:
            created_ids = await session.rucio(
                lambda c: c.add_replication_rule(
                    [did.as_dict()],
                    copies=1,
                    rse_expression=expression,
                    lifetime=lifetime,
                    grouping="DATASET",
                    comment=RULE_COMMENT,
                    ask_approval=False,
                    asynchronous=False,
                    # Rucio announces the rule's completion (RULE_OK, DATASETLOCK_OK) to its broker:
                    # the panel's live events. 'Y', not 'P': progress messages need a closed DID.
                    notify="Y",
                ),
                what=f"make {did} available",
            )
        except (Conflict, PermissionDenied, NotFound, Refused) as refusal:
            existing = await find_rule(session, did, permissions.account, expression)
            if existing is not None:
                return await _ask_again(session, did, existing, lifetime, permissions)
            raise await _refusal_explained(session, did, expression, permissions.account, refusal) from None
        rule = await _created_rule(session, did, created_ids)
        session.cache.forget(AVAILABILITY)
        return {"rule": rule_json(rule, permissions), "created": True, "extended": False}


async def _created_rule(session: RucioSession, did: DID, created_ids: Any) -> RuleSummary:
    """The rule Rucio just created, read back by the id it answered with."""
    ids = [str(i) for i in created_ids or []]
    if not ids:
        raise ServiceUnavailable("Rucio accepted the rule but does not list it; try again", service="Rucio")
    rule = await session.rucio(lambda c: c.get_replication_rule(ids[0]), what=f"read the rule on {did}")
    return summarise_rule(rule, await notebook_expressions(session))


async def _refusal_explained(
    session: RucioSession, did: DID, expression: str, account: str, refusal: DLaaSError
) -> DLaaSError:
    """Rucio's refusal to make ``did`` available (no rule of the account's there), for a scientist."""
    config = session.config
    if isinstance(refusal, PermissionDenied):
        return PermissionDenied(refusal_reason_first(did, refusal.message), reason="permission_denied")
    if isinstance(refusal, NotFound):
        return NotFound(f"{did} does not exist in {config.label}", reason="did_not_found")
    if isinstance(refusal, Refused) and refusal.reason == "quota_exceeded":
        explained = await quota_refusal_message(session, did, expression, account)
        return Refused(explained or refusal.message, reason="quota_exceeded")
    if isinstance(refusal, Conflict) and refusal.reason == "duplicate_rule":
        # a duplicate of a rule the account's listing does not show (yet): try again
        return ServiceUnavailable("Rucio accepted the rule but does not list it; try again", service="Rucio")
    return refusal


async def _ask_again(
    session: RucioSession, did: DID, existing: RuleSummary, lifetime: int, permissions: RulePermissions
) -> dict[str, Any]:
    """The answer to asking again for a DID that has a rule: extended when needed and allowed."""
    if not expires_before(existing, lifetime):
        return {"rule": rule_json(existing, permissions), "created": False, "extended": False}
    # Asked again for longer (or after a cancel, which Rucio applies softly): the one rule
    # is extended instead of a second one being refused as a duplicate.
    if permissions.allows(existing, "extend"):
        rule_id = existing.id
        try:
            await session.rucio(
                lambda c: c.update_replication_rule(rule_id, {"lifetime": lifetime}),
                what=f"extend the rule on {did}",
            )
        except PermissionDenied:
            permissions.extend = False
        else:
            permissions.extend = True
            extended = await find_rule(session, did, permissions.account, existing.rse_expression) or existing
            return {"rule": rule_json(extended, permissions), "created": False, "extended": True}
    return {
        "rule": rule_json(existing, permissions),
        "created": False,
        "extended": False,
        "note": cannot_extend_note(existing),
    }


async def find_rule(session: RucioSession, did: DID, account: str, expression: str) -> RuleSummary | None:
    """The account's rule for ``did`` with exactly this RSE expression, if any."""
    expressions = await notebook_expressions(session)
    rules = await session.rucio(
        lambda c: list(
            c.list_replication_rules(
                filters={"scope": did.scope, "name": did.name, "account": account, "rse_expression": expression}
            )
        ),
        what=f"list the rules on {did}",
    )
    matching = [summarise_rule(r, expressions) for r in rules if r.get("rse_expression") == expression]
    return matching[0] if matching else None


async def extend_rule(session: RucioSession, rule_id: Any, lifetime_days: Any) -> dict[str, Any]:
    """Give one of the account's rules a new lifetime, counted from now."""
    days = check_lifetime(lifetime_days, "lifetime_days", session.config.max_lifetime_days)
    rule = await _own_rule(session, rule_id)
    permissions = await rule_permissions(session)
    if not permissions.allows(rule, "extend"):
        raise PermissionDenied(cannot_extend_note(rule), reason="extend_not_allowed")
    try:
        await session.rucio(
            lambda c: c.update_replication_rule(rule.id, {"lifetime": int(days * SECONDS_PER_DAY)}),
            what=f"change the lifetime of rule {rule.id}",
        )
    except PermissionDenied:
        permissions.extend = False
        raise PermissionDenied(cannot_extend_note(rule), reason="extend_not_allowed") from None
    permissions.extend = True
    updated = await session.rucio(lambda c: c.get_replication_rule(rule.id), what=f"read rule {rule.id}")
    return {"rule": rule_json(summarise_rule(updated, await notebook_expressions(session)), permissions)}


async def cancel_rule(session: RucioSession, rule_id: Any) -> dict[str, Any]:
    """Cancel one of the account's rules: ``{"deleted": id, "removal_at": when Rucio removes it}``."""
    rule = await _own_rule(session, rule_id)
    permissions = await rule_permissions(session)
    if not permissions.allows(rule, "cancel"):
        raise PermissionDenied(cannot_cancel_message(rule), reason="cancel_not_allowed")
    try:
        await session.rucio(
            lambda c: c.delete_replication_rule(rule.id, purge_replicas=False), what=f"cancel rule {rule.id}"
        )
    except PermissionDenied:
        permissions.cancel = False
        raise PermissionDenied(cannot_cancel_message(rule), reason="cancel_not_allowed") from None
    permissions.cancel = True
    session.cache.forget(AVAILABILITY)
    # Rucio deletes softly: the rule expires within its grace period (at most an hour),
    # then its cleaner removes it. Say when, so the panel can show it.
    cancelled = await session.rucio(lambda c: c.get_replication_rule(rule.id), what=f"read rule {rule.id}")
    return {"deleted": rule.id, "removal_at": summarise_rule(cancelled, ()).expires_at}


async def _own_rule(session: RucioSession, rule_id: Any) -> RuleSummary:
    """The rule, after checking the id's form and that it belongs to the user's account."""
    if not isinstance(rule_id, str) or len(rule_id) != 32 or set(rule_id.lower()) - set("0123456789abcdef"):
        raise InvalidInput("a rule id is 32 hexadecimal characters", field="rule_id", reason="invalid_rule_id")
    rule = await session.rucio(lambda c: c.get_replication_rule(rule_id), what=f"read rule {rule_id}")
    account = await session.account()
    if rule.get("account") != account:
        raise PermissionDenied(
            f"rule {rule_id} belongs to account {rule.get('account')}, not to you ({account})",
            reason="not_your_rule",
        )
    return summarise_rule(rule, ())


_RUCIO_RULE_REFUSAL = re.compile(r"Account \S+ can not add replication rule\.?\s*(?P<why>.*)$", re.DOTALL)


def refusal_reason_first(did: DID, message: str) -> str:
    """'<did> cannot be made available: <the policy's reason>' from Rucio's longer wording."""
    found = _RUCIO_RULE_REFUSAL.search(message)
    why = found.group("why").strip() if found and found.group("why").strip() else message
    return f"{did} cannot be made available: {why}"


def expires_before(rule: RuleSummary, lifetime_seconds: int, now: datetime | None = None) -> bool:
    """Whether the rule ends sooner than a new one of this lifetime would (a minute's slack)."""
    if rule.expires_at is None:
        return False
    expires = datetime.fromisoformat(rule.expires_at)
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=timezone.utc)  # Rucio speaks UTC without saying so
    return expires < (now or datetime.now(timezone.utc)) + timedelta(seconds=lifetime_seconds - 60)
