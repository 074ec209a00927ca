"""Request JSON is bounded (size, nesting) before it is parsed, and its numbers are strict."""

from __future__ import annotations

import json
import time

import pytest

from escape_dlaas.errors import InvalidInput
from escape_dlaas.web.request_json import MAX_BODY_BYTES, MAX_JSON_DEPTH, loads_bounded, nesting_exceeds


def load(raw, max_bytes=MAX_BODY_BYTES):
    return loads_bounded(raw, field="body", what="the request body", max_bytes=max_bytes)


def test_ordinary_documents_parse():
    assert load(b'{"dids": ["lofar:a", "ska:b"]}') == {"dids": ["lofar:a", "ska:b"]}
    assert load('[[{"key": "energy", "op": ">", "value": 1.5e3}]]') == [[{"key": "energy", "op": ">", "value": 1500.0}]]
    assert load(json.dumps({"n": "[[[[[[[[[[[[[[[[[[[[[[["})) == {"n": "[" * 23}, "brackets in strings do not nest"
    assert load(json.dumps({"s": 'a\\"[[[[[[[[[[[[[[[['})) == {"s": 'a\\"' + "[" * 16}


@pytest.mark.parametrize(
    ("text", "deeper"),
    [
        ("[" * (MAX_JSON_DEPTH + 1), True),
        ("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH, False),
        ("[]" * 10_000, False),
        ('{"a": ' * (MAX_JSON_DEPTH + 1), True),
        ('["\\"' + "[" * 50 + '"]', False),  # an escaped quote does not end the string
        ('"\\\\"' + "[" * 11, True),  # an escaped backslash does, so these brackets count
        ('"unterminated [[[[[[[[[[[[[[[[', False),  # the parser fails at the string, before any nesting
    ],
)
def test_nesting_is_counted_outside_strings(text, deeper):
    assert nesting_exceeds(text, MAX_JSON_DEPTH) is deeper


@pytest.mark.parametrize(
    ("raw", "reason", "says"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "too_deep", "nested too deeply"),
        (b'{"dids": ' + b"[" * 5000, "too_deep", "nested too deeply"),
        (b"x" * (MAX_BODY_BYTES + 1), "too_large", "too large"),
        (b"\xff\xfe{}", "invalid_json", "not UTF-8"),
        (b"{", "invalid_json", "not valid JSON"),
        (b'{"a": NaN}', "invalid_json", "NaN"),
        (b'{"a": -Infinity}', "invalid_json", "-Infinity"),
        (b'{"a": 1e999}', "invalid_number", "too large"),
        (b'{"a": ' + b"9" * 5000 + b"}", "invalid_number", "too large"),
    ],
)
def test_what_cannot_be_read_is_a_400_on_the_field(raw, reason, says):
    with pytest.raises(InvalidInput) as caught:
        load(raw)
    assert caught.value.field == "body"
    assert caught.value.reason == reason
    assert says in caught.value.message


def test_the_scan_is_linear_on_hostile_input():
    hostile = '"' + '\\"' * (MAX_BODY_BYTES // 4)  # a quadratic regex would take minutes here
    start = time.monotonic()
    assert nesting_exceeds(hostile, MAX_JSON_DEPTH) is False
    assert nesting_exceeds("[]" * (MAX_BODY_BYTES // 2), MAX_JSON_DEPTH) is False
    assert time.monotonic() - start < 2
