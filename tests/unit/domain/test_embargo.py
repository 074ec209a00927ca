"""Embargoes from ``embargo_until``: the latest one in force over a DID and its collections wins."""

from __future__ import annotations

from datetime import date, datetime

from escape_dlaas.domain.embargo import Embargo, embargo_in_force

TODAY = date(2025, 6, 1)


def test_no_embargo_or_one_in_the_past_is_none():
    assert embargo_in_force([("s:ds", {}), ("s:c", {"embargo_until": ""})], TODAY) is None
    assert embargo_in_force([("s:ds", {"embargo_until": "2025-06-01"})], TODAY) is None, "ends today"


def test_the_latest_embargo_in_force_wins_wherever_it_is_set():
    found = embargo_in_force(
        [
            ("s:ds", {"embargo_until": "2025-01-01"}),
            ("s:container", {"embargo_until": "2026-03-01T00:00:00"}),
            ("s:other", {"embargo_until": datetime(2025, 9, 1)}),
        ],
        TODAY,
    )
    assert found == Embargo("s:container", date(2026, 3, 1), "2026-03-01")


def test_an_unreadable_embargo_is_reported_rather_than_guessed():
    found = embargo_in_force([("s:ds", {"embargo_until": "next spring"})], TODAY)
    assert found is not None
    assert (found.did, found.until, found.value, found.readable) == ("s:ds", None, "next spring", False)
