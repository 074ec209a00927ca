"""What a rule takes at its target: sizes in words, what is missing per RSE, and Rucio's quota arithmetic."""

from __future__ import annotations

import math

import pytest

from escape_dlaas.domain.did import DID
from escape_dlaas.domain.quota import (
    RseQuota,
    Volume,
    account_is_admin,
    format_bytes,
    present_in_dataset_replicas,
    present_in_file_replicas,
    quota_shortfall,
    quotas_at,
)

from .fakes import FakeSession


@pytest.mark.parametrize(
    ("size", "words"),
    [(0, "0 B"), (999, "999 B"), (4096, "4.1 kB"), (198_144, "198 kB"), (3_200_000_000, "3.2 GB"), (2e9, "2.0 GB")],
)
def test_sizes_read_as_the_panel_shows_them(size, words):
    assert format_bytes(size) == words


def test_what_is_missing_counts_only_available_replicas_at_each_rse():
    rows = [
        {"bytes": 100, "states": {"A": "AVAILABLE", "B": "COPYING"}},
        {"bytes": 50, "states": {"B": "AVAILABLE"}},
        {"bytes": 10, "states": {}},
    ]
    present = present_in_file_replicas(iter(rows), ["A", "B", "C"])
    assert present == {"A": (100, 1), "B": (50, 1), "C": (0, 0)}
    volume = Volume(160, 3, present)
    assert volume.missing_at("A") == (60, 2)
    assert volume.missing_at("B") == (110, 2)
    assert volume.missing_at("C") == (160, 3)
    # Rucio places the data where most of it is: only the least missing moves
    assert volume.to_move(["B", "A"]) == (60, 2)
    assert volume.to_move([]) == (160, 3), "no storage: everything would have to move"


def test_a_datasets_presence_comes_from_rucios_counts_per_rse():
    rows = [{"rse": "A", "available_bytes": 100, "available_length": 1, "bytes": 300, "length": 3}]
    present = present_in_dataset_replicas(rows, ["A", "B"])
    assert present == {"A": (100, 1)}
    volume = Volume(300, 3, present)
    assert volume.missing_at("A") == (200, 2)
    assert volume.missing_at("B") == (300, 3)
    assert Volume(300, 3, {"A": (400, 4)}).missing_at("A") == (0, 0), "counts ahead of the size: nothing moves"


def test_quota_follows_rucios_rule_selection():
    # Rucio takes an RSE only when the quota left is more than the whole size
    assert RseQuota("A", used_bytes=0, limit_bytes=100, needed_bytes=99).fits
    assert not RseQuota("A", used_bytes=0, limit_bytes=100, needed_bytes=100).fits
    assert not RseQuota("A", used_bytes=100, limit_bytes=100, needed_bytes=0).fits, "nothing left"
    assert not RseQuota("A", used_bytes=0, limit_bytes=0, needed_bytes=0).fits, "no quota at all"
    assert RseQuota("A", used_bytes=10**15, limit_bytes=math.inf, needed_bytes=10**15).fits
    unlimited = RseQuota("A", 5, math.inf, 7).to_json()
    assert unlimited == {
        "rse": "A",
        "used_bytes": 5,
        "limit_bytes": None,
        "unlimited": True,
        "needed_bytes": 7,
        "fits": True,
    }


def test_a_shortfall_is_explained_with_used_limit_and_needed_on_every_rse():
    usage = {"A": (1_100_000_000, 2e9), "C": (0, math.inf)}
    quotas = quotas_at(["A", "B"], usage, 3_200_000_000, admin=False)
    assert [q.limit_bytes for q in quotas] == [2e9, 0], "an RSE without a limit for the account: no quota"
    assert quota_shortfall(DID("s", "big"), quotas) == (
        "Quota exceeded: s:big needs 3.2 GB; 1.1 GB of your 2.0 GB quota on A are used (900 MB left); "
        "you have no quota on B. Ask the data lake's administrators for more quota, release data you no longer "
        "need, or choose another target."
    )
    one_rse = quota_shortfall(DID("lofar", "L2023_712399_HBA_raw"), quotas[:1])
    assert one_rse is not None
    assert one_rse.index("left).") < 140, "the numbers fit in a notification's 140 characters"
    assert quota_shortfall(DID("s", "big"), quotas_at(["A", "C"], usage, 3_200_000_000, admin=False)) is None
    assert quota_shortfall(DID("s", "big"), quotas_at(["A", "B"], usage, 3_200_000_000, admin=True)) is None
    assert quota_shortfall(DID("s", "big"), []) is None, "no storage at all is another refusal"


@pytest.mark.asyncio
async def test_admin_is_read_from_the_accounts_attributes_once():
    session = FakeSession()
    session.client.list_account_attributes = lambda account: [[{"key": "admin", "value": True}]]
    assert await account_is_admin(session, "alice") is True
    assert await account_is_admin(session, "alice") is True
    assert session.calls == ["read your account's attributes"]
    session.client.list_account_attributes = lambda account: [[{"key": "country", "value": "fr"}]]
    assert await account_is_admin(session, "bob") is False
    assert await account_is_admin(session, "root") is True
