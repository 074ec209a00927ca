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
    parse_name_pattern,
    row_name,
    type_and_size,
    user_metadata,
)
from escape_dlaas.errors import InvalidInput


def test_scope_and_name_are_split_at_the_first_colon_and_trimmed():
    assert parse_did(" lofar : obs/2024/run1 ") == DID("lofar", "obs/2024/run1")
    assert parse_did("user.alice:/a/b-c_d.1") == DID("user.alice", "/a/b-c_d.1")
    assert str(DID("ska", "f.fits")) == "ska:f.fits"
    assert DID("ska", "f.fits").as_dict() == {"scope": "ska", "name": "f.fits"}


def test_the_longest_scope_and_name_rucio_stores_are_accepted():
    assert parse_did("s" * 25 + ":" + "n" * 250) == DID("s" * 25, "n" * 250)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("no-colon", "write it as scope:name"),
        (3, "write it as scope:name"),
        (None, "write it as scope:name"),
        (True, "write it as scope:name"),
        (":name", "the scope (before ':') is empty"),
        ("scope:", "the name (after ':') is empty"),
        ("::", "the scope (before ':') is empty"),
        ("bad scope:name", "the scope contains a space"),
        ("s" * 26 + ":name", "the scope is too long (max 25 characters; it has 26)"),
        ("s:" + "n" * 251, "the name is too long (max 250 characters; it has 251)"),
        ("s:" + "\u202e" * 251, "the name is too long (max 250 characters"),
        ("s:*.fits", "no wildcards"),
        ("s:a\nb", "the name contains a line break (U+000A)"),
        ("s:a\tb", "the name contains a tab (U+0009)"),
        ("s:a\x7fb", "the name contains a control character (U+007F)"),
        ("s:a\u202eb", "the name contains an invisible right-to-left control character (U+202E)"),
        ("s:a\u2066b", "the name contains an invisible left-to-right control character (U+2066)"),
        ("s:a\u200fb", "the name contains an invisible right-to-left control character (U+200F)"),
        ("s:a\u200bb", "the name contains an invisible character (U+200B)"),
        ("s:a\u00a0b", "the name contains a no-break space (U+00A0)"),
        ("s:caf\u00e9", "the name contains the non-ASCII character '\u00e9' (U+00E9)"),
        ("s:\u4e2d", "the name contains the non-ASCII character"),
        ("s:a#b", "the name contains '#'; Rucio names use letters, digits, '.', '-', '_' and '/'"),
        ("s:a:b", "the name contains ':'"),
        ("s:.hidden", "the name starts with '.'"),
        ("s:-x", "the name starts with '-'"),
        ("l\u202eofar:x", "the scope contains an invisible right-to-left control character (U+202E)"),
    ],
)
def test_what_is_not_one_did_is_a_400_saying_exactly_why(text, says):
    with pytest.raises(InvalidInput) as caught:
        parse_did(text, field="dids")
    assert says in caught.value.message
    assert caught.value.field == "dids"
    assert caught.value.reason == "invalid_did"
    assert not any(c in caught.value.message for c in "\u202e\u2066\u200f\u200b\x7f\n"), "never echoed as is"


def test_a_long_did_is_shown_cut_in_the_message():
    with pytest.raises(InvalidInput) as caught:
        parse_did("s:" + "n" * 400)
    assert len(caught.value.message) < 200


def test_a_scope_is_checked_and_empty_means_none():
    assert check_scope("lofar_2024.a-b") == "lofar_2024.a-b"
    assert check_scope("") is None
    assert check_scope(None) is None
    for bad, says in (("lo far", "a space"), ("x" * 26, "too long (max 25 characters"), (7, "not text")):
        with pytest.raises(InvalidInput) as caught:
            check_scope(bad)
        assert caught.value.field == "scope"
        assert says in caught.value.message


@pytest.mark.parametrize(
    ("typed", "scope", "pattern"),
    [
        ("  *.fits ", None, "*.fits"),
        ("lofar:L2023_*", "lofar", "L2023_*"),
        ("lofar : L2023_* ", "lofar", "L2023_*"),
        ("", None, None),
        (None, None, None),
        ("*", None, "*"),
    ],
)
def test_a_name_pattern_may_start_with_a_scope(typed, scope, pattern):
    assert parse_name_pattern(typed) == (scope, pattern)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("::", "the scope (before ':') is empty"),
        (":x*", "the scope (before ':') is empty"),
        ("lofar:", "the pattern (after ':') is empty"),
        ("lofar::x", "':' may appear once"),
        ("a:b:c", "':' may appear once"),
        ("a b", "the pattern contains a space"),
        ("*\\", "the pattern contains '\\'"),
        ("L2023\u202e*", "contains an invisible right-to-left control character (U+202E)"),
        ("x" * 251, "the pattern is too long (max 250 characters; it has 251)"),
        ("lo far:x", "the scope contains a space"),
        ("%", "the pattern contains '%'"),
    ],
)
def test_a_name_pattern_rucio_cannot_use_is_a_400_on_q(typed, says):
    with pytest.raises(InvalidInput) as caught:
        parse_name_pattern(typed)
    assert says in caught.value.message
    assert caught.value.field == "q"
    assert caught.value.reason == "invalid_pattern"


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
