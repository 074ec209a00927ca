"""JSON from a request (a body, the ``filters`` query parameter), bounded before it is parsed.

Python's JSON parser recurses once per level of ``[``/``{``: a deeply nested document
would exhaust the stack, so the size and the nesting are checked first, by a scan that
does not recurse. Numbers are strict: NaN and Infinity are not JSON, and a number too
large to mean anything is refused with the field named.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ..errors import InvalidInput

MAX_BODY_BYTES = 1024 * 1024  # 2000 DIDs of the longest form fit well within it
MAX_QUERY_JSON_BYTES = 16 * 1024  # percent-encoded, it stays within the 64 KiB Jupyter reads of a URL
MAX_JSON_DEPTH = 10  # our documents need 3 levels
MAX_NUMBER_DIGITS = 30

# What matters for the nesting: quotes, escapes (only inside strings) and brackets.
_STRUCTURE = re.compile(r'\\.|["\[\]{}]', re.DOTALL)


def nesting_exceeds(text: str, limit: int) -> bool:
    """Whether ``[``/``{`` outside strings nest deeper than ``limit``; linear, never recursive.

    On an invalid document the count stays exact up to where the parser would stop, which
    is all the parser could recurse into.
    """
    depth, in_string = 0, False
    for match in _STRUCTURE.finditer(text):
        token = match.group()
        if in_string:
            in_string = token != '"'
        elif token == '"':
            in_string = True
        elif token in "[{":
            depth += 1
            if depth > limit:
                return True
        elif token in "]}":
            depth -= 1
    return False


def loads_bounded(raw: bytes | str, *, field: str, what: str, max_bytes: int) -> Any:
    """``raw`` parsed as JSON, or a 400 on ``field`` saying what is wrong with it."""
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > max_bytes:
        raise InvalidInput(f"{what} is too large ({size} bytes; at most {max_bytes})", field=field, reason="too_large")
    try:
        text = raw if isinstance(raw, str) else raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{what} is not UTF-8 text", field=field, reason="invalid_json") from None
    if nesting_exceeds(text, MAX_JSON_DEPTH):
        raise InvalidInput(
            f"{what} is nested too deeply (more than {MAX_JSON_DEPTH} levels of [ ] or {{ }})",
            field=field,
            reason="too_deep",
        )

    def constant(name: str) -> Any:
        raise InvalidInput(f"{what} holds {name}, which is not a JSON number", field=field, reason="invalid_json")

    too_large = InvalidInput(f"{what} holds a number that is too large", field=field, reason="invalid_number")

    def whole(text: str) -> int:
        if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
            raise too_large
        return int(text)

    def finite(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise too_large
        return value

    try:
        return json.loads(text, parse_constant=constant, parse_float=finite, parse_int=whole)
    except (ValueError, RecursionError):
        raise InvalidInput(f"{what} is not valid JSON", field=field, reason="invalid_json") from None
