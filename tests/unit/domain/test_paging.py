"""The page cursor: round trip, and refusals that say to start again."""

from __future__ import annotations

import base64
import json

import pytest

from escape_dlaas.domain.paging import decode_cursor, encode_cursor, query_key
from escape_dlaas.errors import InvalidInput


def test_a_cursor_comes_back_as_where_it_pointed():
    key = query_key("lofar", "all", [{"name": "*"}])
    cursor = encode_cursor(key, 2, 150)
    assert "=" not in cursor, "URL-safe and unpadded"
    assert decode_cursor(cursor, key) == (2, 150)


def test_the_query_key_depends_on_every_part_but_not_on_dict_order():
    assert query_key("s", "all", [{"a": 1, "b": 2}]) == query_key("s", "all", [{"b": 2, "a": 1}])
    assert query_key("s", "all", []) != query_key("s", "file", [])
    assert query_key("files", "s:a") != query_key("files", "s:b")


def test_a_cursor_of_another_query_is_refused():
    cursor = encode_cursor(query_key("a"), 0, 10)
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(cursor, query_key("b"))
    assert caught.value.field == "cursor"
    assert "another search" in caught.value.message


def craft(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("cursor", "says"),
    [
        ("garbage!", "not valid"),
        ("", "not valid"),
        (craft([1, 2]), "not valid"),
        (craft({"q": "k", "s": "x", "o": 0}), "not valid"),
        (craft({"q": "k", "s": 0}), "not valid"),
        (base64.urlsafe_b64encode(b"\xff\xfe").decode(), "not valid"),
        (craft({"q": "k", "s": -1, "o": 0}), "another search"),
        (craft({"q": "k", "s": 0, "o": -5}), "another search"),
    ],
)
def test_a_tampered_cursor_is_a_400(cursor, says):
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(cursor, "k")
    assert caught.value.field == "cursor"
    assert says in caught.value.message
