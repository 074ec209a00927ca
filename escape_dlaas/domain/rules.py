"""Rules: making data available (idempotently), the account's rules, extending and cancelling them.

The policy lives here: which lifetimes are allowed, that asking again extends the one
rule instead of adding a second, that only the account's own rules may be changed, and
how Rucio's refusals read for a scientist.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from ..errors import Conflict, InvalidInput, NotFound, PermissionDenied, ServiceUnavailable
from .availability import RuleSummary, summarise_rule
from .cache import AVAILABILITY
from .catalogue import notebook_expressions, target_expression
from .did import DID
from .session import RucioSession

SECONDS_PER_DAY = 86400
RULE_COMMENT = "escape-dlaas: make available"


def check_lifetime(value: Any, field: str, maximum: float) -> float:
    """A lifetime in days as asked for: a number above 0 and at most the site's maximum."""
    try:
        days = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} must be a number of days, got {str(value)[:40]!r}", field=field) from None
    if not math.isfinite(days) or days <= 0:
        raise InvalidInput(f"{field} must be more than 0 days", field=field, reason="invalid_lifetime")
    if days > maximum:
        raise InvalidInput(
            f"{field} of {days:g} days is longer than this site allows ({maximum:g} days)",
            field=field,
            reason="invalid_lifetime",
        )
    return days


async def my_rules(session: RucioSession) -> list[RuleSummary]:
    """The rules of the user's account."""
    account = await session.account()
    expressions = await notebook_expressions(session)
    rules = await session.rucio(
        lambda c: list(c.list_replication_rules(filters={"account": account})), what="list your rules"
    )
    return [summarise_rule(r, expressions) for r in rules]


async def make_available(session: RucioSession, did: DID, target: Any, lifetime_days: Any) -> dict[str, Any]:
    """Make ``did`` available at ``target``: ``{"rule": ..., "created": bool}``.

    Idempotent: the account's rule for the same DID and target is reused, and extended
    when it would end before the lifetime asked for.
    """
    config = session.config
    expression = target_expression(config, target)
    days = check_lifetime(
        config.default_lifetime_days if lifetime_days is None else lifetime_days,
        "lifetime_days",
        config.max_lifetime_days,
    )
    async with session.serialised(("rule", str(did), expression)):
        account = await session.account()
        lifetime = int(days * SECONDS_PER_DAY)
        existing = await find_rule(session, did, account, expression)
        if existing is not None:
            if expires_before(existing, lifetime):
                # Asked again for longer (or after a cancel, which Rucio applies softly):
                # the one rule is extended instead of a second one being refused as a duplicate.
                rule_id = existing.id
                await session.rucio(
                    lambda c: c.update_replication_rule(rule_id, {"lifetime": lifetime}),
                    what=f"extend the rule on {did}",
                )
                existing = await find_rule(session, did, account, expression) or existing
            return {"rule": existing.to_json(), "created": False}
        try:
            await session.rucio(
                lambda c: c.add_replication_rule(
                    [did.as_dict()],
                    copies=1,
                    rse_expression=expression,
                    lifetime=lifetime,
                    grouping="DATASET",
                    comment=RULE_COMMENT,
                    ask_approval=False,
                    asynchronous=False,
                ),
                what=f"make {did} available",
            )
        except Conflict:
            pass  # created meanwhile by someone else with the same account: use theirs
        except PermissionDenied as denied:
            raise PermissionDenied(refusal_reason_first(did, denied.message), reason="permission_denied") from None
        except NotFound:
            raise NotFound(f"{did} does not exist in {config.label}", reason="did_not_found") from None
        created = await find_rule(session, did, account, expression)
        if created is None:
            raise ServiceUnavailable("Rucio accepted the rule but does not list it; try again", service="Rucio")
        session.cache.forget(AVAILABILITY)
        return {"rule": created.to_json(), "created": True}


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
    await _own_rule(session, rule_id)
    await session.rucio(
        lambda c: c.update_replication_rule(rule_id, {"lifetime": int(days * SECONDS_PER_DAY)}),
        what=f"change the lifetime of rule {rule_id}",
    )
    rule = await session.rucio(lambda c: c.get_replication_rule(rule_id), what=f"read rule {rule_id}")
    return {"rule": summarise_rule(rule, await notebook_expressions(session)).to_json()}


async def cancel_rule(session: RucioSession, rule_id: Any) -> dict[str, Any]:
    """Cancel one of the account's rules: ``{"deleted": id, "removal_at": when Rucio removes it}``."""
    await _own_rule(session, rule_id)
    await session.rucio(
        lambda c: c.delete_replication_rule(rule_id, purge_replicas=False), what=f"cancel rule {rule_id}"
    )
    session.cache.forget(AVAILABILITY)
    # Rucio deletes softly: the rule expires within its grace period (at most an hour),
    # then its cleaner removes it. Say when, so the panel can show it.
    rule = await session.rucio(lambda c: c.get_replication_rule(rule_id), what=f"read rule {rule_id}")
    return {"deleted": rule_id, "removal_at": summarise_rule(rule, ()).expires_at}


async def _own_rule(session: RucioSession, rule_id: Any) -> dict[str, Any]:
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
    return dict(rule)


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
