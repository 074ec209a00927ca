"""Describing many DIDs: one bulk call per kind of DID, whatever their number."""

from __future__ import annotations

import pytest

from escape_dlaas.domain.cache import AVAILABILITY
from escape_dlaas.domain.describe import MAX_WATCHED_DIDS, availability, availability_map, describe
from escape_dlaas.domain.did import DID
from escape_dlaas.errors import InvalidInput

from .fakes import FakeSession, instance_config

pytestmark = pytest.mark.asyncio

FILE, DATASET, CONTAINER, UNKNOWN, OPEN = (
    DID("s", "f.fits"),
    DID("s", "ds"),
    DID("s", "ctr"),
    DID("s", "gone"),
    DID("s", "open-ds"),
)
TYPES = {FILE: "FILE", DATASET: "DATASET", CONTAINER: "CONTAINER", OPEN: "DATASET"}


def file_replica(name, states, parents=(), size=10):
    return {"scope": "s", "name": name, "bytes": size, "states": states, "parents": list(parents)}


@pytest.fixture
def session(tmp_path):
    session = FakeSession(instance_config(notebook_local={"rse": "NB", "mount_path": str(tmp_path)}))
    client = session.client
    session.replica_requests = []
    client.get_metadata_bulk = lambda dids, inherit, plugin: [
        {**d, "did_type": TYPES[DID(d["scope"], d["name"])], "bytes": None if d["name"] == "open-ds" else 30,
         "length": None, "telescope": "ska"}
        for d in dids
        if DID(d["scope"], d["name"]) in TYPES
    ]  # fmt: skip

    def list_replicas(dids, all_states, ignore_availability, resolve_parents):
        session.replica_requests.append(([d["name"] for d in dids], resolve_parents))
        if resolve_parents:  # the container's files, each naming its parents
            return [
                file_replica("c1", {"NB": "AVAILABLE"}, parents=["s:ctr", "s:sub"]),
                file_replica("c2", {"SAFE": "AVAILABLE"}, parents=["s:ctr"]),
            ]
        return [file_replica("f.fits", {"NB": "COPYING", "SAFE": "AVAILABLE"})]

    client.list_replicas = list_replicas
    client.list_dataset_replicas_bulk = lambda dids: [
        {"scope": "s", "name": "ds", "rse": "SAFE", "length": 3, "available_length": 3, "bytes": 30,
         "available_bytes": 30},
        {"scope": "s", "name": "ds", "rse": "NB", "length": 3, "available_length": 3, "bytes": 30,
         "available_bytes": 30},
        {"scope": "s", "name": "open-ds", "rse": "SAFE", "length": 2, "available_length": 2, "bytes": 20,
         "available_bytes": 20},
    ]  # fmt: skip
    client.list_replication_rules = lambda filters: []
    return session


async def test_the_state_of_each_kind_from_one_bulk_call_per_kind(session):
    states = await availability_map(session, [FILE, DATASET, CONTAINER, UNKNOWN, OPEN])
    assert {did: a.state for did, a in states.items()} == {
        "s:f.fits": "REPLICATING",
        "s:ds": "AVAILABLE",
        "s:ctr": "PARTIAL",
        "s:gone": "UNKNOWN",
        "s:open-ds": "NOT_AVAILABLE",
    }
    assert (states["s:ctr"].files_total, states["s:ctr"].files_at_notebook) == (2, 1)
    assert states["s:gone"].reason == "Rucio does not know this DID"
    assert sorted(session.calls) == sorted(
        ["read metadata", "list your rules", "list replicas", "list replicas", "list dataset replicas"]
    )
    # files and containers are asked for separately (only containers resolve parents); datasets never list files
    assert sorted(session.replica_requests) == [(["ctr"], True), (["f.fits"], False)]


async def test_search_pages_leave_containers_out(session):
    states = await availability_map(session, [FILE, CONTAINER], containers=False)
    assert list(states) == ["s:f.fits"]
    assert session.replica_requests == [(["f.fits"], False)]


async def test_too_many_dids_are_refused_before_calling_rucio(session):
    with pytest.raises(InvalidInput) as caught:
        await availability_map(session, [DID("s", f"n{i}") for i in range(MAX_WATCHED_DIDS + 1)])
    assert caught.value.field == "dids"
    assert session.calls == []
    assert await availability_map(session, []) == {}


async def test_describe_gives_type_size_metadata_and_state(session):
    items = {i["did"]: i for i in await describe(session, [DATASET, OPEN, UNKNOWN])}
    assert items["s:ds"]["type"] == "DATASET"
    assert items["s:ds"]["bytes"] == 30
    assert items["s:ds"]["metadata"] == {"telescope": "ska"}
    assert items["s:ds"]["availability"]["state"] == "AVAILABLE"
    # an open dataset has no size in Rucio yet: the replica counts give it
    assert (items["s:open-ds"]["bytes"], items["s:open-ds"]["length"]) == (20, 2)
    assert items["s:gone"]["type"] is None
    assert items["s:gone"]["availability"]["state"] == "UNKNOWN"
    assert session.calls.count("read metadata") == 1, "describe reuses its metadata for the states"


async def test_identical_availability_requests_are_answered_again_until_forgotten(session):
    first = await availability(session, [DATASET, FILE], max_age=60)
    asked = len(session.calls)
    assert await availability(session, [FILE, DATASET], max_age=60) == first
    assert len(session.calls) == asked, "same DIDs in another order: the cached answer"
    session.cache.forget(AVAILABILITY)  # as after a rule changed
    await availability(session, [DATASET, FILE], max_age=60)
    assert len(session.calls) > asked


async def test_a_page_of_1000_reads_its_metadata_chunks_and_the_rules_at_once(session):
    import asyncio

    page = [DID("s", f"f{n}.fits") for n in range(1000)]
    TYPES.update({did: "FILE" for did in page})
    in_flight = {"now": 0, "most": 0, "first_wave": set()}

    async def slow_rucio(operation, *, what, retry_transient=True):
        session.calls.append(what)
        in_flight["now"] += 1
        in_flight["most"] = max(in_flight["most"], in_flight["now"])
        if in_flight["now"] == len(session.calls):  # nothing answered yet
            in_flight["first_wave"].add(what)
        await asyncio.sleep(0.01)
        in_flight["now"] -= 1
        return operation(session.client)

    session.rucio = slow_rucio
    try:
        items = await describe(session, page)
    finally:
        for did in page:
            TYPES.pop(did)
    assert len(items) == 1000
    # two chunks of metadata and the account's rules together, then the files' replicas (two chunks)
    assert sorted(session.calls) == ["list replicas"] * 2 + ["list your rules"] + ["read metadata"] * 2
    assert in_flight["first_wave"] == {"read metadata", "list your rules"}
    assert in_flight["most"] == 3
