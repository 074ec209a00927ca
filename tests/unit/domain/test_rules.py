"""Rules: strict lifetimes, idempotent 'make available', one 'created', own rules only, what the lake allows."""

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
    ends_in_words,
    expires_before,
    extend_rule,
    lifetime_from_text,
    make_available,
    my_rules_json,
    refusal_reason_first,
)
from escape_dlaas.errors import Conflict, InvalidInput, PermissionDenied, Refused

from .fakes import FakeSession, instance_config

NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)
RULE_ID = "a" * 32


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (True, "lifetime_days must be a number of days, e.g. 7 (got true, a boolean)"),
        (False, "(got false, a boolean)"),
        ("7", "(got the text '7')"),
        ("soon", "(got the text 'soon')"),
        (None, "(got null)"),
        ([7], "(got a list)"),
        ({"days": 7}, "(got an object)"),
        (1e-9, "lifetime_days must be at least 1 hour (0.042 days); got 1e-09"),
        (1 / 48, "at least 1 hour"),
        (0, "at least 1 hour"),
        (-1, "at least 1 hour"),
        (float("nan"), "lifetime_days must be a finite number of days"),
        (float("inf"), "must be a finite number of days"),
        (float("-inf"), "must be a finite number of days"),
        (31, "lifetime_days of 31 days is longer than this site allows (30 days)"),
        (1e308, "lifetime_days of 1e+308 days is longer than this site allows (30 days)"),
        (10**400, "lifetime_days of more than 10^15 days is longer than this site allows (30 days)"),
    ],
)
def test_lifetimes_that_are_not_a_number_of_days_in_range_are_refused(value, says):
    with pytest.raises(InvalidInput) as caught:
        check_lifetime(value, "lifetime_days", 30)
    assert says in caught.value.message
    assert caught.value.field == "lifetime_days"
    assert caught.value.reason == "invalid_lifetime"


def test_a_lifetime_within_range_is_read_as_days():
    assert check_lifetime(2.5, "lifetime_days", 30) == 2.5
    assert check_lifetime(30, "lifetime_days", 30) == 30.0
    assert check_lifetime(1 / 24, "lifetime_days", 30) == 1 / 24, "exactly an hour is allowed"


def test_a_lifetime_typed_in_a_query_string_is_a_decimal_number():
    assert lifetime_from_text(None) is None
    assert lifetime_from_text("7") == 7.0
    assert lifetime_from_text("0.5") == 0.5
    for text in ("true", "1e3", "NaN", "-1", "7 ", "", "1" * 13):
        with pytest.raises(InvalidInput) as caught:
            lifetime_from_text(text)
        assert caught.value.field == "lifetime_days"


def test_rucios_refusal_is_reworded_with_the_policys_reason_first():
    did = DID("ska", "embargoed")
    rucio = (
        "Permission denied to make x available: Account alice can not add replication rule. embargoed until 2030-01-01"
    )
    assert refusal_reason_first(did, rucio) == "ska:embargoed cannot be made available: embargoed until 2030-01-01"
    assert refusal_reason_first(did, "no reason given") == "ska:embargoed cannot be made available: no reason given"


def test_a_rules_end_reads_as_a_utc_date():
    assert ends_in_words("2025-01-08T12:00:00+00:00") == "ends on 2025-01-08 12:00 UTC"
    assert ends_in_words("2025-01-08T13:00:00+01:00") == "ends on 2025-01-08 12:00 UTC"
    assert ends_in_words(None) == "has no end date"
    assert ends_in_words("soon") == "ends on soon", "as Rucio wrote it, rather than failing"


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


def in_days(days: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(days=days)).replace(tzinfo=None).isoformat()


def test_expires_before_decides_whether_asking_again_extends():
    day = SECONDS_PER_DAY
    in_two_days = summarise_rule(rule_row((NOW + timedelta(days=2)).replace(tzinfo=None)), ())
    assert expires_before(in_two_days, 7 * day, now=NOW), "asked for 7 days: the 2-day rule is extended"
    assert not expires_before(in_two_days, 1 * day, now=NOW), "asked for 1 day: the rule lasts long enough"
    assert not expires_before(in_two_days, 2 * day, now=NOW), "a minute's slack: the same lifetime again"
    assert not expires_before(summarise_rule(rule_row(None), ()), 7 * day, now=NOW), "a rule without end"


class RuleLake:
    """A fake Rucio holding the account's rules on one DID (the part make_available reads and writes).

    ``policy`` is "owners" (owners may update and delete their rules, as the demo lake) or
    "generic" (Rucio's stock policy: only admins may).
    """

    def __init__(self, session, rules=(), add_error=None, policy="owners"):
        self.rules = list(rules)
        self.added: list[dict] = []
        self.updated: list[tuple[str, dict]] = []
        self.deleted: list[str] = []
        self.add_error = add_error
        self.policy = policy
        client = session.client
        client.list_replication_rules = lambda filters: [
            r for r in self.rules if all(r.get(k) == v for k, v in filters.items())
        ]
        client.add_replication_rule = self.add
        client.update_replication_rule = self.update
        client.get_replication_rule = lambda rule_id: next(r for r in self.rules if r["id"] == rule_id)
        client.delete_replication_rule = self.delete

    def refuse_unless_owners_may(self, what):
        if self.policy == "generic":
            raise PermissionDenied(f"Permission denied to {what}: Account alice can not {what} this replication rule.")

    def add(self, dids, **options):
        """Rucio's answer to a new rule: its id; a refusal; or a duplicate of the account's rule."""
        if self.add_error is not None:
            raise self.add_error
        if any(r["rse_expression"] == options["rse_expression"] for r in self.rules):
            raise Conflict("Cannot make it available: an identical rule exists already.", reason="duplicate_rule")
        self.added.append({"dids": dids, **options})
        row = rule_row(NOW, rse_expression=options["rse_expression"])
        self.rules.append(row)
        return [row["id"]]

    def update(self, rule_id, options):
        self.refuse_unless_owners_may("update")
        self.updated.append((rule_id, options))
        rule = next(r for r in self.rules if r["id"] == rule_id)
        rule["expires_at"] = in_days(options["lifetime"] / SECONDS_PER_DAY)

    def delete(self, rule_id, purge_replicas):
        self.refuse_unless_owners_may("delete")
        self.deleted.append(rule_id)


@pytest.fixture
def session(tmp_path):
    return FakeSession(instance_config(notebook_local={"rse": "NB", "mount_path": str(tmp_path)}, max_lifetime_days=30))


@pytest.mark.asyncio
async def test_make_available_creates_one_rule_and_forgets_cached_availability(session):
    lake = RuleLake(session)
    session.cache.put((AVAILABILITY, ("s:ds",)), ["stale"])
    answer = await make_available(session, DID("s", "ds"), None, 3)
    assert answer["created"] is True
    assert answer["extended"] is False
    assert answer["rule"]["rse_expression"] == "NB"
    assert answer["rule"]["towards_notebook"] is True
    assert answer["rule"]["can_extend"] is True
    assert answer["rule"]["can_cancel"] is True
    (added,) = lake.added
    assert added["dids"] == [{"scope": "s", "name": "ds"}]
    assert added["lifetime"] == 3 * SECONDS_PER_DAY
    assert added["copies"] == 1
    assert session.cache.get((AVAILABILITY, ("s:ds",)), 60) is None
    # the rule, and reading it back by its id: nothing more on the way to a new rule
    assert session.calls == ["make s:ds available", "read the rule on s:ds"]


@pytest.mark.asyncio
async def test_asking_again_reuses_the_rule_and_extends_it_only_when_it_ends_sooner(session):
    lake = RuleLake(session, [rule_row(in_days(1))])
    answer = await make_available(session, DID("s", "ds"), "notebook", 7)
    assert answer["created"] is False
    assert answer["extended"] is True
    assert "note" not in answer
    assert lake.added == []
    assert lake.updated == [(RULE_ID, {"lifetime": 7 * SECONDS_PER_DAY})]

    lake.updated.clear()
    answer = await make_available(session, DID("s", "ds"), "notebook", 0.5)
    assert (answer["created"], answer["extended"]) == (False, False)
    assert lake.updated == [], "the rule lasts long enough already"


@pytest.mark.asyncio
async def test_on_a_lake_that_does_not_let_users_extend_rules_asking_again_keeps_the_rule(session):
    lake = RuleLake(session, [rule_row("2025-01-02T10:30:00")], policy="generic")
    answer = await make_available(session, DID("s", "ds"), "notebook", 7)
    assert answer["created"] is False
    assert answer["extended"] is False
    assert answer["note"] == "This data lake does not let users extend rules; the rule ends on 2025-01-02 10:30 UTC."
    assert answer["rule"]["id"] == RULE_ID
    assert answer["rule"]["can_extend"] is False, "learned from Rucio's refusal"
    assert answer["rule"]["can_cancel"] is True, "not tried yet"
    # known now: the next request does not ask Rucio to extend again
    session.calls.clear()
    again = await make_available(session, DID("s", "ds"), "notebook", 7)
    assert again["note"] == answer["note"]
    assert session.calls == ["make s:ds available", "list the rules on s:ds"], "Rucio's duplicate, then the rule"
    assert lake.updated == []
    with pytest.raises(PermissionDenied) as caught:
        await extend_rule(session, RULE_ID, 3)
    assert caught.value.reason == "extend_not_allowed"
    assert caught.value.message == answer["note"]


@pytest.mark.asyncio
async def test_cancel_on_a_lake_that_does_not_let_users_cancel_says_when_the_rule_ends(session):
    RuleLake(session, [rule_row("2025-01-02T10:30:00")], policy="generic")
    with pytest.raises(PermissionDenied) as caught:
        await cancel_rule(session, RULE_ID)
    assert caught.value.reason == "cancel_not_allowed"
    assert caught.value.message == (
        "This data lake does not let users cancel rules; the rule ends on 2025-01-02 10:30 UTC, then Rucio removes it."
    )
    (listed,) = await my_rules_json(session)
    assert (listed["can_cancel"], listed["can_extend"]) == (False, True)
    # a second try is answered without asking Rucio
    session.calls.clear()
    with pytest.raises(PermissionDenied):
        await cancel_rule(session, RULE_ID)
    assert "cancel rule " + RULE_ID not in session.calls


@pytest.mark.asyncio
async def test_a_rule_created_meanwhile_by_another_server_is_used_and_not_called_created(session):
    lake = RuleLake(session, add_error=Conflict("an identical rule exists", reason="duplicate_rule"))
    lake.rules.append(rule_row(None))  # appears between the lookup and the add

    async def racing_rucio(operation, *, what):
        session.calls.append(what)
        if what.startswith("list the rules") and len(session.calls) == 1:
            return []
        return operation(session.client)

    session.rucio = racing_rucio
    answer = await make_available(session, DID("s", "ds"), None, 1)
    assert answer["created"] is False, "the other server's answer says created; this one must not"
    assert answer["rule"]["id"] == RULE_ID


@pytest.mark.asyncio
async def test_other_conflicts_are_not_taken_for_a_duplicate(session):
    RuleLake(session, add_error=Conflict("the rule is being replaced", reason="conflict"))
    with pytest.raises(Conflict):
        await make_available(session, DID("s", "ds"), None, 1)


@pytest.mark.asyncio
async def test_a_policy_refusal_names_the_did_and_the_reason(session):
    RuleLake(session, add_error=PermissionDenied("Account alice can not add replication rule. embargoed"))
    with pytest.raises(PermissionDenied) as caught:
        await make_available(session, DID("s", "ds"), None, 1)
    assert caught.value.message == "s:ds cannot be made available: embargoed"


@pytest.mark.asyncio
async def test_a_quota_refusal_is_explained_with_the_numbers(session):
    RuleLake(session, add_error=Refused("Quota exceeded: Rucio: insufficient quota", reason="quota_exceeded"))
    session.client.get_did = lambda scope, name, dynamic_depth: {"type": "DATASET", "bytes": 3_200_000_000, "length": 3}
    session.client.list_rses = lambda expression: [{"rse": "NB"}]
    session.client.get_local_account_usage = lambda account: [
        {"rse": "NB", "bytes": 1_100_000_000, "bytes_limit": 2_000_000_000}
    ]
    with pytest.raises(Refused) as caught:
        await make_available(session, DID("s", "ds"), None, 1)
    assert caught.value.reason == "quota_exceeded"
    assert caught.value.message.startswith(
        "Quota exceeded: s:ds needs 3.2 GB; 1.1 GB of your 2.0 GB quota on NB are used (900 MB left)."
    )


@pytest.mark.asyncio
async def test_a_quota_refusal_keeps_rucios_words_when_the_numbers_cannot_be_read(session):
    RuleLake(session, add_error=Refused("Quota exceeded: Rucio: insufficient quota", reason="quota_exceeded"))

    def unreadable(scope, name, dynamic_depth):
        raise PermissionDenied("no")

    session.client.get_did = unreadable
    with pytest.raises(Refused) as caught:
        await make_available(session, DID("s", "ds"), None, 1)
    assert caught.value.message == "Quota exceeded: Rucio: insufficient quota"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("target", "lifetime", "field"),
    [("MOON", 1, "target"), (None, 0, "lifetime_days"), (None, 31, "lifetime_days"), (None, True, "lifetime_days")],
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
async def test_each_rule_says_whether_extend_and_cancel_can_work(session):
    RuleLake(session, [rule_row(None), {**rule_row(None, account="bob"), "id": "b" * 32}])
    session.client.list_replication_rules = lambda filters: [
        rule_row(None),
        {**rule_row(None), "id": "c" * 32, "locked": True},
    ]
    mine, locked = await my_rules_json(session)
    assert (mine["can_extend"], mine["can_cancel"], mine["locked"]) == (True, True, False)
    assert (locked["can_extend"], locked["can_cancel"], locked["locked"]) == (False, False, True)


@pytest.mark.asyncio
async def test_extend_and_cancel_on_a_lake_that_lets_owners(session):
    lake = RuleLake(session, [rule_row("2025-01-01T01:00:00")])
    extended = await extend_rule(session, RULE_ID, 3)
    assert lake.updated == [(RULE_ID, {"lifetime": 3 * SECONDS_PER_DAY})]
    assert extended["rule"]["can_extend"] is True
    lake.rules[0]["expires_at"] = datetime(2025, 1, 1, 1, 0)
    answer = await cancel_rule(session, RULE_ID)
    assert lake.deleted == [RULE_ID]
    assert answer == {"deleted": RULE_ID, "removal_at": "2025-01-01T01:00:00+00:00"}


@pytest.mark.asyncio
async def test_asking_again_answers_with_the_rule_even_when_rucio_refuses_a_second_one_for_another_reason(session):
    # Rucio may check the quota or its policy before it finds the duplicate
    lake = RuleLake(session, [rule_row(in_days(30))], add_error=Refused("Quota exceeded", reason="quota_exceeded"))
    answer = await make_available(session, DID("s", "ds"), "notebook", 7)
    assert (answer["created"], answer["extended"]) == (False, False)
    assert answer["rule"]["id"] == RULE_ID
    assert lake.added == []
    assert lake.updated == []
    assert session.calls == ["make s:ds available", "list the rules on s:ds"]
