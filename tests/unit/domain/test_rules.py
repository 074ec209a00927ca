"""Rules: lifetimes, idempotent 'make available', own rules only, refusals in plain words."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from escape_dlaas.domain.availability import summarise_rule
from escape_dlaas.domain.cache import AVAILABILITY
from escape_dlaas.domain.did import DID
from escape_dlaas.domain.rules import (
    SECONDS_PER_DAY,
    cancel_rule,
    check_lifetime,
    expires_before,
    extend_rule,
    make_available,
    refusal_reason_first,
)
from escape_dlaas.errors import Conflict, InvalidInput, PermissionDenied

from .fakes import FakeSession, instance_config

NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)
RULE_ID = "a" * 32


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("soon", "must be a number of days, got 'soon'"),
        (None, "must be a number of days"),
        (0, "more than 0 days"),
        (-1, "more than 0 days"),
        (float("nan"), "more than 0 days"),
        (float("inf"), "more than 0 days"),
        (31, "lifetime_days of 31 days is longer than this site allows (30 days)"),
    ],
)
def test_lifetimes_outside_the_sites_range_are_refused(value, says):
    with pytest.raises(InvalidInput) as caught:
        check_lifetime(value, "lifetime_days", 30)
    assert says in caught.value.message
    assert caught.value.field == "lifetime_days"


def test_a_lifetime_within_range_is_read_as_days():
    assert check_lifetime("2.5", "lifetime_days", 30) == 2.5
    assert check_lifetime(30, "lifetime_days", 30) == 30


def test_rucios_refusal_is_reworded_with_the_policys_reason_first():
    did = DID("ska", "embargoed")
    rucio = (
        "Permission denied to make x available: Account alice can not add replication rule. embargoed until 2030-01-01"
    )
    assert refusal_reason_first(did, rucio) == "ska:embargoed cannot be made available: embargoed until 2030-01-01"
    assert refusal_reason_first(did, "no reason given") == "ska:embargoed cannot be made available: no reason given"


def rule_row(expires_at=None, rse_expression="NB", account="alice", **extra):
    return {
        "id": RULE_ID,
        "scope": "s",
        "name": "ds",
        "account": account,
        "rse_expression": rse_expression,
        "state": "OK",
        "expires_at": expires_at,
        **extra,
    }


def test_expires_before_decides_whether_asking_again_extends():
    day = SECONDS_PER_DAY
    in_two_days = summarise_rule(rule_row((NOW + timedelta(days=2)).replace(tzinfo=None)), ())
    assert expires_before(in_two_days, 7 * day, now=NOW), "asked for 7 days: the 2-day rule is extended"
    assert not expires_before(in_two_days, 1 * day, now=NOW), "asked for 1 day: the rule lasts long enough"
    assert not expires_before(in_two_days, 2 * day, now=NOW), "a minute's slack: the same lifetime again"
    assert not expires_before(summarise_rule(rule_row(None), ()), 7 * day, now=NOW), "a rule without end"


class RuleLake:
    """A fake Rucio holding the account's rules on one DID (the part make_available reads and writes)."""

    def __init__(self, session, rules=(), add_error=None):
        self.rules = list(rules)
        self.added: list[dict] = []
        self.updated: list[tuple[str, dict]] = []
        self.deleted: list[str] = []
        self.add_error = add_error
        client = session.client
        client.list_replication_rules = lambda filters: [
            r for r in self.rules if all(r.get(k) == v for k, v in filters.items())
        ]
        client.add_replication_rule = self.add
        client.update_replication_rule = lambda rule_id, options: self.updated.append((rule_id, options))
        client.get_replication_rule = lambda rule_id: next(r for r in self.rules if r["id"] == rule_id)
        client.delete_replication_rule = lambda rule_id, purge_replicas: self.deleted.append(rule_id)

    def add(self, dids, **options):
        if self.add_error is not None:
            raise self.add_error
        self.added.append({"dids": dids, **options})
        self.rules.append(rule_row(NOW, rse_expression=options["rse_expression"]))


@pytest.fixture
def session(tmp_path):
    return FakeSession(instance_config(notebook_local={"rse": "NB", "mount_path": str(tmp_path)}, max_lifetime_days=30))


@pytest.mark.asyncio
async def test_make_available_creates_one_rule_and_forgets_cached_availability(session):
    lake = RuleLake(session)
    session.cache.put((AVAILABILITY, ("s:ds",)), ["stale"])
    answer = await make_available(session, DID("s", "ds"), None, 3)
    assert answer["created"] is True
    assert answer["rule"]["rse_expression"] == "NB"
    assert answer["rule"]["towards_notebook"] is True
    (added,) = lake.added
    assert added["dids"] == [{"scope": "s", "name": "ds"}]
    assert added["lifetime"] == 3 * SECONDS_PER_DAY
    assert added["copies"] == 1
    assert session.cache.get((AVAILABILITY, ("s:ds",)), 60) is None


@pytest.mark.asyncio
async def test_asking_again_reuses_the_rule_and_extends_it_only_when_it_ends_sooner(session):
    ends_soon = (datetime.now(timezone.utc) + timedelta(days=1)).replace(tzinfo=None).isoformat()
    lake = RuleLake(session, [rule_row(ends_soon)])
    answer = await make_available(session, DID("s", "ds"), "notebook", 7)
    assert answer["created"] is False
    assert lake.added == []
    assert lake.updated == [(RULE_ID, {"lifetime": 7 * SECONDS_PER_DAY})]

    lake.updated.clear()
    answer = await make_available(session, DID("s", "ds"), "notebook", 0.5)
    assert answer["created"] is False
    assert lake.updated == [], "the rule lasts long enough already"


@pytest.mark.asyncio
async def test_a_rule_created_meanwhile_by_the_same_account_is_used(session):
    lake = RuleLake(session, add_error=Conflict("duplicate"))
    lake.rules.append(rule_row(None))  # appears between the lookup and the add

    async def racing_rucio(operation, *, what):
        session.calls.append(what)
        if what.startswith("list the rules") and len(session.calls) == 1:
            return []
        return operation(session.client)

    session.rucio = racing_rucio
    answer = await make_available(session, DID("s", "ds"), None, 1)
    assert answer == {"rule": summarise_rule(rule_row(None), {"NB"}).to_json(), "created": True}


@pytest.mark.asyncio
async def test_a_policy_refusal_names_the_did_and_the_reason(session):
    RuleLake(session, add_error=PermissionDenied("Account alice can not add replication rule. embargoed"))
    with pytest.raises(PermissionDenied) as caught:
        await make_available(session, DID("s", "ds"), None, 1)
    assert caught.value.message == "s:ds cannot be made available: embargoed"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("target", "lifetime", "field"),
    [("MOON", 1, "target"), (None, 0, "lifetime_days"), (None, 31, "lifetime_days")],
)
async def test_make_available_validates_before_calling_rucio(session, target, lifetime, field):
    with pytest.raises(InvalidInput) as caught:
        await make_available(session, DID("s", "ds"), target, lifetime)
    assert caught.value.field == field
    assert session.calls == []


@pytest.mark.asyncio
async def test_only_the_accounts_own_rules_can_be_changed(session):
    lake = RuleLake(session, [rule_row(None, account="bob")])
    with pytest.raises(PermissionDenied) as caught:
        await cancel_rule(session, RULE_ID)
    assert caught.value.message == f"rule {RULE_ID} belongs to account bob, not to you (alice)"
    assert caught.value.reason == "not_your_rule"
    assert lake.deleted == []
    with pytest.raises(InvalidInput) as caught:
        await extend_rule(session, "not-a-rule-id", 3)
    assert caught.value.field == "rule_id"


@pytest.mark.asyncio
async def test_cancel_says_when_rucio_removes_the_rule(session):
    removal = datetime(2025, 1, 1, 1, 0)
    lake = RuleLake(session, [rule_row(removal)])
    answer = await cancel_rule(session, RULE_ID)
    assert lake.deleted == [RULE_ID]
    assert answer == {"deleted": RULE_ID, "removal_at": "2025-01-01T01:00:00+00:00"}
