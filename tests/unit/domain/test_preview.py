"""The make-available preview: size to move, quota, embargo, storage and the existing rule, in one answer."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from escape_dlaas.domain.did import DID
from escape_dlaas.domain.preview import preview
from escape_dlaas.errors import InvalidInput, NotFound

from .fakes import FakeSession, instance_config

FUTURE = (datetime.now(timezone.utc) + timedelta(days=365)).date().isoformat()
RULE_ID = "a" * 32


class CatalogueLake:
    """A fake Rucio: container s:C holds dataset s:D (3 files of 100 bytes, one at NB) and s:E."""

    def __init__(self, session, *, meta=None, usage=None, admin=False, rules=(), rses=("NB",)):
        self.meta = {
            "s:C": {"did_type": "CONTAINER"},
            "s:D": {"did_type": "DATASET"},
            "s:E": {"did_type": "DATASET"},
            "s:f1": {"did_type": "FILE"},
            **(meta or {}),
        }
        self.parents = {"s:D": ["s:C"], "s:E": ["s:C"], "s:f1": ["s:D"]}
        self.content = {"s:C": ["s:D", "s:E"], "s:D": ["s:f1", "s:f2", "s:f3"]}
        self.files = {"s:D": ["s:f1", "s:f2", "s:f3"], "s:E": ["s:g1"]}
        self.states = {"s:f1": {"NB": "AVAILABLE", "SAFE": "AVAILABLE"}, "s:f2": {"SAFE": "AVAILABLE"}}
        self.rules = list(rules)
        c = session.client
        c.get_did = self.get_did
        c.list_rses = lambda expression: [{"rse": r} for r in rses]
        c.list_replication_rules = lambda filters: [
            r for r in self.rules if all(r.get(k) == v for k, v in filters.items())
        ]
        c.get_local_account_usage = lambda account: usage or [{"rse": "NB", "bytes": 0, "bytes_limit": float("inf")}]
        c.list_account_attributes = lambda account: [[{"key": "admin", "value": True}]] if admin else [[]]
        c.list_parent_dids = lambda scope, name: [self.row(p) for p in self.parents.get(f"{scope}:{name}", [])]
        c.list_content = lambda scope, name: [self.row(p) for p in self.content.get(f"{scope}:{name}", [])]
        c.get_metadata_bulk = lambda dids, inherit, plugin: [
            {"scope": d["scope"], "name": d["name"], **self.meta.get(f"{d['scope']}:{d['name']}", {})} for d in dids
        ]
        c.list_dataset_replicas = self.dataset_replicas
        c.list_replicas = self.replicas

    def row(self, key):
        scope, name = key.split(":")
        kind = self.meta.get(key, {}).get("did_type", "FILE")
        return {"scope": scope, "name": name, "type": kind}

    def get_did(self, scope, name, dynamic_depth):
        key = f"{scope}:{name}"
        if key not in self.meta:
            raise NotFound(f"Cannot read {key}: Rucio does not know it", reason="did_not_found")
        assert dynamic_depth == "FILE", "an open collection's size is summed by Rucio"
        files = self.file_rows(key)
        return {
            "scope": scope,
            "name": name,
            "type": self.meta[key]["did_type"],
            "bytes": 100 * len(files),
            "length": len(files),
        }

    def file_rows(self, key):
        if key in self.files:
            return [row for f in self.files[key] for row in self.file_rows(f)]
        if key in self.content:
            return [row for child in self.content[key] for row in self.file_rows(child)]
        return [{"scope": "s", "name": key.split(":")[1], "bytes": 100, "states": self.states.get(key, {})}]

    def replicas(self, dids, all_states, ignore_availability):
        return iter([row for d in dids for row in self.file_rows(f"{d['scope']}:{d['name']}")])

    def dataset_replicas(self, scope, name):
        rows = self.file_rows(f"{scope}:{name}")
        out = []
        for rse in ("NB", "SAFE"):
            here = [r for r in rows if r["states"].get(rse) == "AVAILABLE"]
            if here:
                out.append({"rse": rse, "available_bytes": 100 * len(here), "available_length": len(here)})
        return out


@pytest.fixture
def session(tmp_path):
    config = instance_config(
        notebook_local={"rse": "NB", "mount_path": str(tmp_path)},
        qos_classes={"SAFE": "QOS=SAFE", "TAPE": "QOS=TAPE"},
        max_lifetime_days=30,
    )
    return FakeSession(config)


@pytest.mark.asyncio
async def test_a_dataset_with_room_would_be_created_and_says_what_moves(session):
    CatalogueLake(session)
    answer = await preview(session, DID("s", "D"), None, None)
    assert answer["outcome"] == "create"
    assert answer["refusals"] == []
    assert answer["target"] == {"id": "notebook", "label": "Notebook-local storage", "rse_expression": "NB"}
    assert answer["lifetime_days"] == 7.0, "the site's default"
    assert answer["rses"] == ["NB"]
    assert answer["size"] == {"bytes": 300, "files": 3}
    assert answer["to_move"] == {"bytes": 200, "files": 2}, "one file is at the notebook already"
    assert answer["quota"]["fits"] is True
    assert answer["quota"]["rses"][0]["unlimited"] is True
    assert answer["embargo"] is None
    assert answer["rule"] is None
    # bounded: once storage and the account's attributes are cached, 7 requests for a dataset in a container
    session.calls.clear()
    assert await preview(session, DID("s", "D"), None, None) == answer
    assert sorted(session.calls) == sorted(
        [
            "read s:D",
            "list the rules on s:D",
            "read your quota",
            "list the parents of s:D",
            "list the parents of s:C",
            "read metadata",
            "list the replicas of s:D",
        ]
    )


@pytest.mark.asyncio
async def test_a_dataset_rucio_has_not_counted_yet_is_read_from_its_files(session):
    CatalogueLake(session)
    session.client.list_dataset_replicas = lambda scope, name: []  # abacus has not run since it was filled
    answer = await preview(session, DID("s", "D"), None, 1)
    assert answer["size"] == {"bytes": 300, "files": 3}
    assert answer["to_move"] == {"bytes": 200, "files": 2}
    assert session.calls.count("list the replicas of s:D") == 2, "no counts: the files are listed"


@pytest.mark.asyncio
async def test_an_embargo_on_a_collection_around_the_did_is_known_before_the_click(session):
    CatalogueLake(session, meta={"s:C": {"did_type": "CONTAINER", "embargo_until": FUTURE}})
    answer = await preview(session, DID("s", "f1"), None, 1)
    assert answer["outcome"] == "refused"
    assert answer["embargo"]["until"] == FUTURE
    assert answer["embargo"]["did"] == "s:C"
    (refusal,) = answer["refusals"]
    assert refusal["reason"] == "embargoed"
    assert refusal["message"] == (
        f"s:f1 is embargoed until {FUTURE} (the embargo is set on s:C): "
        "the data lake refuses to make it available before then."
    )


@pytest.mark.asyncio
async def test_an_embargo_inside_a_container_covers_the_container(session):
    CatalogueLake(session, meta={"s:E": {"did_type": "DATASET", "embargo_until": FUTURE}})
    answer = await preview(session, DID("s", "C"), None, 1)
    assert answer["embargo"]["did"] == "s:E"
    assert answer["size"] == {"bytes": 400, "files": 4}, "the container's files, counted from their replicas"
    assert answer["to_move"] == {"bytes": 300, "files": 3}


@pytest.mark.asyncio
async def test_admins_are_not_bound_by_embargo_or_quota(session):
    CatalogueLake(
        session,
        admin=True,
        meta={"s:D": {"did_type": "DATASET", "embargo_until": FUTURE}},
        usage=[{"rse": "NB", "bytes": 0, "bytes_limit": 1}],
    )
    answer = await preview(session, DID("s", "D"), None, 1)
    assert answer["outcome"] == "create"
    assert answer["embargo"] is None
    assert answer["quota"]["fits"] is True


@pytest.mark.asyncio
async def test_a_quota_that_cannot_hold_the_data_is_explained_with_the_numbers(session):
    CatalogueLake(session, usage=[{"rse": "NB", "bytes": 50, "bytes_limit": 250}])
    answer = await preview(session, DID("s", "D"), None, 1)
    assert answer["outcome"] == "refused"
    assert answer["quota"]["needed_bytes"] == 300, "Rucio charges the whole size, also what is there"
    assert answer["quota"]["rses"] == [
        {"rse": "NB", "used_bytes": 50, "limit_bytes": 250, "unlimited": False, "needed_bytes": 300, "fits": False}
    ]
    (refusal,) = answer["refusals"]
    assert refusal["reason"] == "quota_exceeded"
    assert refusal["message"].startswith("Quota exceeded: s:D needs 300 B; 50 B of your 250 B quota on NB")
    assert answer["quota"]["message"] == refusal["message"]


@pytest.mark.asyncio
async def test_a_qos_class_no_storage_offers_is_a_refusal(session):
    CatalogueLake(session, rses=())
    answer = await preview(session, DID("s", "D"), "TAPE", 1)
    assert answer["outcome"] == "refused"
    assert answer["rses"] == []
    assert [r["reason"] for r in answer["refusals"]] == ["no_matching_rse"]
    assert answer["refusals"][0]["message"] == (
        "No storage (RSE) offers QoS class TAPE: nothing matches 'QOS=TAPE'. "
        "Choose another target, or ask the data lake's administrators."
    )


def existing_rule(expires_at):
    return {
        "id": RULE_ID,
        "scope": "s",
        "name": "D",
        "account": "alice",
        "rse_expression": "NB",
        "state": "OK",
        "expires_at": expires_at,
    }


def in_days(days):
    return (datetime.now(timezone.utc) + timedelta(days=days)).replace(tzinfo=None).isoformat()


@pytest.mark.asyncio
async def test_an_existing_rule_is_shown_with_what_asking_again_would_do(session):
    lake = CatalogueLake(
        session, rules=[existing_rule(in_days(2))], usage=[{"rse": "NB", "bytes": 0, "bytes_limit": 0}]
    )
    answer = await preview(session, DID("s", "D"), None, 1)
    assert answer["outcome"] == "exists"
    assert answer["refusals"] == [], "asking again answers with the rule: the quota does not matter"
    assert answer["rule"]["id"] == RULE_ID
    assert answer["rule"]["can_extend"] is True
    assert (await preview(session, DID("s", "D"), None, 7))["outcome"] == "extend"
    # once the lake has refused an extension, the preview says the rule is kept
    from escape_dlaas.domain.rules import rule_permissions

    (await rule_permissions(session)).extend = False
    kept = await preview(session, DID("s", "D"), None, 7)
    assert kept["outcome"] == "keep"
    assert kept["note"].startswith("This data lake does not let users extend rules; the rule ends on ")
    assert kept["rule"]["can_extend"] is False
    assert lake.rules == [existing_rule(lake.rules[0]["expires_at"])], "a preview changes nothing"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("did", "target", "lifetime", "field"),
    [(DID("s", "D"), "MOON", 1, "target"), (DID("s", "D"), None, True, "lifetime_days")],
)
async def test_bad_input_is_refused_before_calling_rucio(session, did, target, lifetime, field):
    with pytest.raises(InvalidInput) as caught:
        await preview(session, did, target, lifetime)
    assert caught.value.field == field
    assert session.calls == []


@pytest.mark.asyncio
async def test_an_unknown_did_is_named(session):
    CatalogueLake(session)
    with pytest.raises(NotFound) as caught:
        await preview(session, DID("s", "nope"), None, 1)
    assert caught.value.message == "s:nope does not exist in t"
