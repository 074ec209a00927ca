"""The DID as a person types it, and the rows Rucio answers about DIDs."""

from __future__ import annotations

import datetime as dt

import pytest

from escape_dlaas.domain.did import (
    BULK_CHUNK,
    DID,
    check_scope,
    did_chunks,
    listing_row,
    parse_did,
    row_name,
    type_and_size,
    user_metadata,
)
from escape_dlaas.errors import InvalidInput


def test_scope_and_name_are_split_at_the_first_colon_and_trimmed():
    assert parse_did(" lofar : obs/2024:run1 ") == DID("lofar", "obs/2024:run1")
    assert str(DID("ska", "f.fits")) == "ska:f.fits"
    assert DID("ska", "f.fits").as_dict() == {"scope": "ska", "name": "f.fits"}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("no-colon", "write it as scope:name"),
        (3, "write it as scope:name"),
        (None, "write it as scope:name"),
        (":name", "not a valid DID"),
        ("scope:", "not a valid DID"),
        ("bad scope:name", "not a valid DID"),
        ("s" * 26 + ":name", "not a valid DID"),
        ("s:" + "n" * 251, "not a valid DID"),
        ("s:*.fits", "no wildcards"),
        ("s:a\nb", "no wildcards"),
    ],
)
def test_what_is_not_one_did_is_a_400_on_the_field(text, says):
    with pytest.raises(InvalidInput) as caught:
        parse_did(text, field="dids")
    assert says in caught.value.message
    assert caught.value.field == "dids"
    assert caught.value.reason == "invalid_did"


def test_a_scope_is_checked_and_empty_means_none():
    assert check_scope("lofar_2024.a-b") == "lofar_2024.a-b"
    assert check_scope("") is None
    assert check_scope(None) is None
    for bad in ("lo far", "x" * 26, 7):
        with pytest.raises(InvalidInput) as caught:
            check_scope(bad)
        assert caught.value.field == "scope"


def test_bulk_requests_are_cut_into_chunks():
    dids = [DID("s", f"n{i}") for i in range(2 * BULK_CHUNK + 1)]
    chunks = list(did_chunks(dids))
    assert [len(c) for c in chunks] == [BULK_CHUNK, BULK_CHUNK, 1]
    assert [d for c in chunks for d in c] == dids
    assert list(did_chunks([])) == []


def test_listing_rows_plain_names_and_long_rows():
    assert row_name("a.fits") == "a.fits"
    assert row_name({"name": "b.fits"}) == "b.fits"
    assert listing_row("ska", "a.fits") == {"did": "ska:a.fits", "scope": "ska", "name": "a.fits"}
    long_row = {"scope": "ska", "name": "ds", "did_type": "dataset", "bytes": 10, "length": 2}
    assert listing_row("ska", long_row) == {
        "did": "ska:ds",
        "scope": "ska",
        "name": "ds",
        "type": "DATASET",
        "bytes": 10,
        "length": 2,
    }
    assert type_and_size({}) == {"type": None, "bytes": None, "length": None}


def test_user_metadata_leaves_out_bookkeeping_and_empty_values():
    meta = {
        "scope": "ska",
        "name": "ds",
        "did_type": "DATASET",
        "bytes": 3,
        "created_at": dt.datetime(2024, 1, 1),
        "telescope": "ska",
        "obs_date": dt.date(2024, 5, 6),
        "energy": 3.5,
        "comment": None,
    }
    assert user_metadata(meta) == {"telescope": "ska", "obs_date": "2024-05-06", "energy": 3.5}
