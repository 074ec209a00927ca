"""Metadata filters: Rucio's filter string, our structured JSON, and Rucio's filter dicts.

One filter is a list of OR groups; each group is a list of conditions joined by AND.

* filter string (as the Rucio CLI takes it): ``telescope=lofar,energy>3;telescope=ska``
  (``,`` is AND, ``;`` is OR, ranges ``2<energy<5``);
* structured JSON (what the panel's filter builder sends):
  ``[[{"key": "telescope", "op": "=", "value": "lofar"}, ...], ...]``;
* Rucio's filter dicts (what the REST API takes): ``[{"telescope": "lofar", "energy.gt": 3}, ...]``.

Everything is validated here, so a mistake is a 400 naming the condition instead of a
Rucio 500 or a silent empty result.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput

Value = str | int | float | bool

# Longest first, so that "<=" is not read as "<".
OPERATORS = ("!=", "<=", ">=", "==", "=", "<", ">")
RUCIO_SUFFIX = {"=": "", "!=": ".ne", "<": ".lt", "<=": ".lte", ">": ".gt", ">=": ".gte"}
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Keys Rucio handles itself, not metadata: filtering on them through metadata would be wrong.
RESERVED_KEYS = {"name", "scope", "type", "did_type"}
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
MAX_GROUPS = 16
MAX_CONDITIONS = 32


@dataclass(frozen=True)
class Condition:
    key: str
    op: str
    value: Value

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "op": self.op, "value": self.value}


Filter = list[list[Condition]]


def _fail(message: str, field: str = "filter") -> InvalidInput:
    return InvalidInput(message, field=field, reason="invalid_filter")


def parse_value(text: str) -> Value:
    """Type a value typed by a person: quoted → string; number; true/false; else string."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    if _NUMBER_RE.match(text):
        number = float(text)
        if not math.isfinite(number):
            return text
        return int(text) if re.match(r"^[+-]?\d+$", text) else number
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def format_value(value: Value) -> str:
    """The inverse of :func:`parse_value`: quotes strings that would otherwise change type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if value != value.strip() or parse_value(value) != value or any(c in value for c in ",;=<>!\"'") or not value:
        if '"' not in value:
            return f'"{value}"'
        return f"'{value}'"
    return value


def check_condition(cond: Condition, where: str) -> Condition:
    if not KEY_RE.match(cond.key):
        raise _fail(
            f"{where}: '{cond.key}' is not a valid metadata key (letters, digits and '_', starting with a letter)"
        )
    if cond.key in RESERVED_KEYS:
        raise _fail(f"{where}: '{cond.key}' is not a metadata key; use the name pattern and type fields instead")
    if cond.op not in RUCIO_SUFFIX:
        raise _fail(f"{where}: unknown operator '{cond.op}'; use one of = != < <= > >=")
    if isinstance(cond.value, str):
        if not cond.value:
            raise _fail(f"{where}: the value for '{cond.key}' is empty")
        if len(cond.value) > 256:
            raise _fail(f"{where}: the value for '{cond.key}' is longer than 256 characters")
        if ("*" in cond.value or "%" in cond.value) and cond.op not in ("=", "!="):
            raise _fail(f"{where}: wildcards ('*') work only with = and != (got '{cond.key} {cond.op} {cond.value}')")
    elif isinstance(cond.value, float) and not math.isfinite(cond.value):
        raise _fail(f"{where}: the value for '{cond.key}' must be a finite number")
    elif not isinstance(cond.value, (int, float, bool)):
        raise _fail(f"{where}: the value for '{cond.key}' must be a string, number or boolean")
    if isinstance(cond.value, bool) and cond.op not in ("=", "!="):
        raise _fail(f"{where}: true/false can only be compared with = or !=")
    return cond


def _check_groups(groups: Filter) -> Filter:
    if len(groups) > MAX_GROUPS:
        raise _fail(f"too many OR groups ({len(groups)}); at most {MAX_GROUPS}")
    for g, group in enumerate(groups, start=1):
        if not group:
            raise _fail(f"OR group {g} is empty")
        if len(group) > MAX_CONDITIONS:
            raise _fail(f"OR group {g} has too many conditions ({len(group)}); at most {MAX_CONDITIONS}")
        seen: set[tuple[str, str]] = set()
        for c, cond in enumerate(group, start=1):
            check_condition(cond, f"group {g}, condition {c}")
            op = "=" if cond.op == "==" else cond.op
            if (cond.key, op) in seen:
                raise _fail(
                    f"group {g}: '{cond.key} {op}' appears twice; Rucio accepts each key and operator once per group"
                )
            seen.add((cond.key, op))
    return groups


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    """Split on ``separator`` except inside '...' or "..." (quoted values may hold ',' or ';')."""
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == separator:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _split_condition(text: str) -> list[str]:
    """Operands and operators of one condition, like ``_SPLIT_RE.split`` but not inside quotes."""
    parts: list[str] = []
    current, quote, i = "", "", 0
    while i < len(text):
        char = text[i]
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        else:
            op = next((o for o in OPERATORS if text.startswith(o, i)), None)
            if op is not None:
                parts += [current.strip(), op]
                current, i = "", i + len(op)
                continue
        current += char
        i += 1
    return [*parts, current.strip()]


def parse_filter_string(text: str) -> Filter:
    """Parse ``a=1,b>2;c!=x`` (and ranges ``1<a<5``) into OR groups of conditions."""
    if len(text) > 4000:
        raise _fail("the filter is longer than 4000 characters")
    groups: Filter = []
    for g, group_text in enumerate(_split_outside_quotes(text, ";"), start=1):
        if not group_text.strip():
            if text.strip():
                raise _fail(f"OR group {g} is empty (two ';' in a row, or one at the end?)")
            continue
        group: list[Condition] = []
        for c, cond_text in enumerate(_split_outside_quotes(group_text, ","), start=1):
            where = f"group {g}, condition {c}"
            parts = _split_condition(cond_text)
            if len(parts) == 3:
                left, op, right = parts
                op = "=" if op == "==" else op
                if not KEY_RE.match(left) and KEY_RE.match(right) and op in _FLIPPED:
                    # "3<energy" reads as "energy>3"
                    left, op, right = right, _FLIPPED[op], left
                if not left or not right:
                    raise _fail(f"{where}: '{cond_text.strip()}' needs a key, an operator and a value")
                group.append(Condition(left, op, parse_value(right)))
            elif len(parts) == 5 and parts[1] in _FLIPPED and parts[3] in _FLIPPED:
                low, op1, key, op2, high = parts
                if (op1 in ("<", "<=")) != (op2 in ("<", "<=")):
                    raise _fail(f"{where}: a range must go one way, e.g. 2<energy<5")
                group.append(Condition(key, _FLIPPED[op1], parse_value(low)))
                group.append(Condition(key, op2, parse_value(high)))
            elif len(parts) == 1:
                raise _fail(f"{where}: '{cond_text.strip()}' has no operator; use one of = != < <= > >=")
            else:
                raise _fail(f"{where}: cannot read '{cond_text.strip()}'")
        groups.append(group)
    return _check_groups(groups)


def parse_filter_json(data: Any) -> Filter:
    """Validate the structured filter the panel sends."""
    if not isinstance(data, list):
        raise _fail("filters must be a list of OR groups, each a list of {key, op, value}", field="filters")
    groups: Filter = []
    for g, group in enumerate(data, start=1):
        if not isinstance(group, list):
            raise _fail(f"OR group {g} must be a list of conditions", field="filters")
        conditions = []
        for c, item in enumerate(group, start=1):
            if not isinstance(item, dict) or set(item) != {"key", "op", "value"}:
                raise _fail(f"group {g}, condition {c}: expected an object with key, op and value", field="filters")
            key, op, value = item["key"], item["op"], item["value"]
            if not isinstance(key, str) or not isinstance(op, str):
                raise _fail(f"group {g}, condition {c}: key and op must be strings", field="filters")
            conditions.append(Condition(key, "=" if op == "==" else op, value))
        groups.append(conditions)
    return _check_groups(groups)


def format_filter_string(groups: Filter) -> str:
    """Inverse of :func:`parse_filter_string` (ranges come out as two conditions)."""
    return ";".join(",".join(f"{c.key}{c.op}{format_value(c.value)}" for c in group) for group in groups)


def to_rucio_filters(groups: Filter, name_pattern: str | None = None) -> list[dict[str, Any]]:
    """Rucio's list-of-dicts form; the name pattern is ANDed into every group."""
    name = (name_pattern or "").strip() or None
    if not groups:
        return [{"name": name}] if name else [{}]
    out = []
    for group in groups:
        rucio_group: dict[str, Any] = {}
        for cond in group:
            rucio_group[cond.key + RUCIO_SUFFIX[cond.op]] = cond.value
        if name:
            rucio_group["name"] = name
        out.append(rucio_group)
    return out


def check_name_pattern(pattern: str | None) -> str | None:
    """A DID name pattern: Rucio's name characters plus the '*' wildcard."""
    if pattern is None or not pattern.strip():
        return None
    pattern = pattern.strip()
    if len(pattern) > 250 or not re.match(r"^[A-Za-z0-9_.\-*+/:]+$", pattern):
        raise InvalidInput(
            f"'{pattern[:60]}' is not a valid name pattern: use letters, digits, '.', '_', '-', '/' and '*' as wildcard",
            field="q",
            reason="invalid_pattern",
        )
    return pattern
