"""Metadata filters: Rucio's filter string, our structured JSON, and Rucio's filter dicts.

One filter is a list of OR groups; each group is a list of conditions joined by AND.

* filter string (as the Rucio CLI takes it): ``telescope=lofar,energy>3;telescope=ska``
  (``,`` is AND, ``;`` is OR, ranges ``2<energy<5``, ``≥ ≤ ≠`` read as ``>= <= !=``; the
  same language as the panel's ``src/filters``);
* structured JSON (what the panel's filter builder sends):
  ``[[{"key": "telescope", "op": "=", "value": "lofar"}, ...], ...]``;
* Rucio's filter dicts (what the REST API takes): ``[{"telescope": "lofar", "energy.gt": 3}, ...]``.

Everything is validated here, so a mistake is a 400 naming the condition instead of a
Rucio 500 or a silent empty result; values go to Rucio so that it compares what the
filter says (see :func:`to_rucio_filters`).
"""

from __future__ import annotations

import ast
import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import InvalidInput
from .characters import describe_character, first_hidden, shown

Value = str | int | float | bool

OR_SEPARATOR, AND_SEPARATOR = ";", ","
QUOTES = ('"', "'")
# Operators as written, longest first so that "<=" is not read as "<". "==" means "=";
# the mathematical signs (as other Rucio tools write them) mean their ASCII forms.
OPERATORS = ("!=", "<=", ">=", "==", "\u2260", "\u2264", "\u2265", "=", "<", ">")
CANONICAL_OPERATOR = {"==": "=", "\u2260": "!=", "\u2264": "<=", "\u2265": ">="}
RUCIO_SUFFIX = {"=": "", "!=": ".ne", "<": ".lt", "<=": ".lte", ">": ".gt", ">=": ".gte"}
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
# What was probably meant by two operators typed in a row.
_OPERATOR_ADVICE = {">>": "> or >=", "<<": "< or <=", "=>": ">=", "=<": "<=", "<>": "!=", "><": "!=", "===": "="}
# Characters after which a value starts: a quote there opens a quoted value.
_VALUE_START = {OR_SEPARATOR, AND_SEPARATOR, "=", "<", ">", "!"}
# A string value holding one of these is written in quotes by format_value.
SPECIAL_CHARACTERS = _VALUE_START | set(QUOTES) | {"\u2260", "\u2264", "\u2265"}
KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Keys Rucio handles itself, not metadata: filtering on them through metadata would be wrong.
RESERVED_KEYS = {"name", "scope", "type", "did_type"}
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
MAX_GROUPS = 16
MAX_CONDITIONS = 32
MAX_FILTER_LENGTH = 4000
MAX_VALUE_LENGTH = 256
# Rucio binds whole numbers as the database's 64-bit integers: larger ones fail there.
MAX_WHOLE_NUMBER = 2**63 - 1
OPERATOR_LIST = "= != < <= > >="


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


def quoted_content(text: str) -> str | None:
    """The inside of a value written wholly in quotes (``"a,b"`` → ``a,b``), else None."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in QUOTES:
        return text[1:-1]
    return None


def parse_value(text: str) -> Value:
    """Type a value typed by a person: quoted → string; number; true/false; else string."""
    text = text.strip()
    quoted = quoted_content(text)
    if quoted is not None:
        return quoted
    if _NUMBER_RE.match(text):
        number = float(text)
        if not math.isfinite(number):
            return text
        return int(text) if re.match(r"^[+-]?\d+$", text) else number
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def format_value(value: Value) -> str:
    """The inverse of :func:`parse_value`: quotes strings that would otherwise change type or meaning."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if not value or value != value.strip() or parse_value(value) != value or set(value) & SPECIAL_CHARACTERS:
        return f"'{value}'" if '"' in value else f'"{value}"'
    return value


def _key_problem(key: str) -> str | None:
    if KEY_RE.match(key):
        return None
    hidden = first_hidden(key)
    if hidden is not None:
        return f"'{shown(key, 64)}' is not a valid metadata key: it contains {describe_character(hidden)}"
    return f"'{shown(key, 64)}' is not a valid metadata key (letters, digits and '_', starting with a letter)"


def _condition_problem(cond: Condition) -> str | None:
    key_problem = _key_problem(cond.key)
    if key_problem:
        return key_problem
    if cond.key in RESERVED_KEYS:
        return f"'{cond.key}' is not a metadata key; use the name pattern and type fields instead"
    if cond.op not in RUCIO_SUFFIX:
        return f"'{shown(cond.op, 8)}' is not an operator; use one of {OPERATOR_LIST}"
    value, key = cond.value, cond.key
    if isinstance(value, str):
        hidden = first_hidden(value)
        if not value:
            return f"the value for '{key}' is empty"
        if len(value) > MAX_VALUE_LENGTH:
            return f"the value for '{key}' is longer than {MAX_VALUE_LENGTH} characters"
        if hidden is not None:
            return f"the value for '{key}' contains {describe_character(hidden)}"
        if ("*" in value or "%" in value) and cond.op not in ("=", "!="):
            return f"wildcards ('*') work only with = and != (got '{key} {cond.op} {value}')"
    elif isinstance(value, bool):
        if cond.op not in ("=", "!="):
            return "true/false can only be compared with = or !="
    elif isinstance(value, int):
        if abs(value) > MAX_WHOLE_NUMBER:
            return (
                f"the value for '{key}' is too large: whole numbers go up to {MAX_WHOLE_NUMBER}"
                f" (write a larger one as a decimal number, e.g. {float(value):.3e})"
            )
    elif isinstance(value, float):
        if not math.isfinite(value):
            return f"the value for '{key}' must be a finite number"
    else:
        return f"the value for '{key}' must be a string, number or boolean"
    return None


def check_condition(cond: Condition, where: str, field: str = "filter") -> Condition:
    """``cond`` when Rucio can search with it; a 400 naming the condition (``where``) otherwise."""
    problem = _condition_problem(cond)
    if problem:
        raise _fail(f"{where}: {problem}", field)
    return cond


def _check_groups(groups: Filter, field: str = "filter") -> Filter:
    if len(groups) > MAX_GROUPS:
        raise _fail(f"too many OR groups ({len(groups)}); at most {MAX_GROUPS}", field)
    for g, group in enumerate(groups, start=1):
        if not group:
            raise _fail(f"OR group {g} is empty", field)
        if len(group) > MAX_CONDITIONS:
            raise _fail(f"OR group {g} has too many conditions ({len(group)}); at most {MAX_CONDITIONS}", field)
        seen: set[tuple[str, str]] = set()
        for c, cond in enumerate(group, start=1):
            check_condition(cond, f"group {g}, condition {c}", field)
            if (cond.key, cond.op) in seen:
                raise _fail(
                    f"group {g}: '{cond.key} {cond.op}' appears twice; Rucio accepts each key and operator once per group",
                    field,
                )
            seen.add((cond.key, cond.op))
    return groups


@dataclass
class _ConditionTokens:
    source: str = ""  # as typed, for messages
    parts: list[str] = dataclasses.field(default_factory=list)  # operand, operator, operand, ... (quotes kept)


@dataclass
class _GroupTokens:
    source: str = ""
    conditions: list[_ConditionTokens] = dataclasses.field(default_factory=list)


def _tokenize(text: str) -> list[_GroupTokens]:
    """Cut the text form into OR groups, AND-ed conditions and operands/operators.

    A quote opens a quoted value only where a value starts (at the start, after a
    separator or an operator character, spaces aside) and only when the same quote
    comes again later; up to it, separators and operators belong to the value. Any
    other quote is an ordinary character (as in O'Brien). The same rules as the
    panel's src/filters/tokenizer.ts.
    """
    groups: list[_GroupTokens] = []
    group, condition, operand = _GroupTokens(), _ConditionTokens(), ""
    value_starts = True
    i = 0
    while i < len(text):
        char = text[i]
        closing = text.find(char, i + 1) if value_starts and char in QUOTES else -1
        if closing != -1:
            quoted = text[i : closing + 1]
            group.source += quoted
            condition.source += quoted
            operand += quoted
            value_starts, i = False, closing + 1
            continue
        if char in (OR_SEPARATOR, AND_SEPARATOR):
            condition.parts.append(operand.strip())
            group.conditions.append(condition)
            condition, operand = _ConditionTokens(), ""
            if char == OR_SEPARATOR:
                groups.append(group)
                group = _GroupTokens()
            else:
                group.source += char
            value_starts, i = True, i + 1
            continue
        op = next((o for o in OPERATORS if text.startswith(o, i)), None)
        if op is not None:
            group.source += op
            condition.source += op
            condition.parts += [operand.strip(), op]
            operand, value_starts, i = "", True, i + len(op)
            continue
        group.source += char
        condition.source += char
        operand += char
        # a lone '!' (not '!=') stays in the operand but, like an operator, lets a value start
        if char in _VALUE_START:
            value_starts = True
        elif not char.isspace():
            value_starts = False
        i += 1
    condition.parts.append(operand.strip())
    group.conditions.append(condition)
    groups.append(group)
    return groups


def _check_operands(parts: list[str], shown_text: str, where: str) -> None:
    """Operators typed in a row (``>>``) and quotes without their pair, named."""
    operands, operators = parts[0::2], parts[1::2]
    for k in range(1, len(operands) - 1):
        if not operands[k]:
            run = operators[k - 1] + operators[k]
            advice = _OPERATOR_ADVICE.get(run, f"one of {OPERATOR_LIST}")
            raise _fail(f"{where}: '{run}' is not an operator; use {advice}")
    for operand in operands:
        if operand and quoted_content(operand) is None and (operand[0] in QUOTES or operand[-1] in QUOTES):
            quote = operand[0] if operand[0] in QUOTES else operand[-1]
            raise _fail(
                f"{where}: '{shown_text}' has an unbalanced quote ({quote}); put the value between two quotes"
                " or write it without quotes"
            )


def _read_condition(parts: list[str], source: str, where: str) -> list[Condition]:
    shown_text = shown(source)
    if parts == [""]:
        raise _fail(f"{where} is empty (two '{AND_SEPARATOR}' in a row, or one at the end?)")
    _check_operands(parts, shown_text, where)
    parts = [CANONICAL_OPERATOR.get(p, p) if i % 2 else p for i, p in enumerate(parts)]
    if len(parts) == 3:
        left, op, right = parts
        if not KEY_RE.match(left) and KEY_RE.match(right) and op in _FLIPPED:
            # "3<energy" reads as "energy>3"
            left, op, right = right, _FLIPPED[op], left
        if not left or not right:
            raise _fail(f"{where}: '{shown_text}' needs a key, an operator and a value")
        return [Condition(left, op, parse_value(right))]
    if len(parts) == 5 and parts[1] in _FLIPPED and parts[3] in _FLIPPED:
        low, op1, key, op2, high = parts
        if (op1 in ("<", "<=")) != (op2 in ("<", "<=")):
            raise _fail(f"{where}: a range must go one way, e.g. 2<energy<5")
        return [Condition(key, _FLIPPED[op1], parse_value(low)), Condition(key, op2, parse_value(high))]
    if len(parts) == 1:
        raise _fail(f"{where}: '{shown_text}' has no operator; use one of {OPERATOR_LIST}")
    raise _fail(f"{where}: cannot read '{shown_text}'")


def parse_filter_string(text: str) -> Filter:
    """Parse ``a=1,b>2;c!=x`` (and ranges ``1<a<5``) into OR groups of conditions."""
    if len(text) > MAX_FILTER_LENGTH:
        raise _fail(f"the filter is longer than {MAX_FILTER_LENGTH} characters")
    if not text.strip():
        return []
    groups: Filter = []
    for g, group in enumerate(_tokenize(text), start=1):
        if not group.source.strip():
            raise _fail(f"OR group {g} is empty (two '{OR_SEPARATOR}' in a row, or one at the end?)")
        conditions: list[Condition] = []
        for c, condition in enumerate(group.conditions, start=1):
            conditions += _read_condition(condition.parts, condition.source.strip(), f"group {g}, condition {c}")
        groups.append(conditions)
    return _check_groups(groups)


def parse_filter_json(data: Any) -> Filter:
    """Validate the structured filter the panel sends (types strictly: a boolean is not a number)."""
    if not isinstance(data, list):
        raise _fail("filters must be a list of OR groups, each a list of {key, op, value}", field="filters")
    if len(data) > MAX_GROUPS:
        raise _fail(f"too many OR groups ({len(data)}); at most {MAX_GROUPS}", field="filters")
    groups: Filter = []
    for g, group in enumerate(data, start=1):
        if not isinstance(group, list):
            raise _fail(f"OR group {g} must be a list of conditions", field="filters")
        if len(group) > MAX_CONDITIONS:
            raise _fail(f"OR group {g} has too many conditions ({len(group)}); at most {MAX_CONDITIONS}", "filters")
        conditions = []
        for c, item in enumerate(group, start=1):
            if not isinstance(item, dict) or set(item) != {"key", "op", "value"}:
                raise _fail(f"group {g}, condition {c}: expected an object with key, op and value", field="filters")
            key, op, value = item["key"], item["op"], item["value"]
            if not isinstance(key, str) or not isinstance(op, str):
                raise _fail(f"group {g}, condition {c}: key and op must be strings", field="filters")
            conditions.append(Condition(key, CANONICAL_OPERATOR.get(op, op), value))
        groups.append(conditions)
    return _check_groups(groups, field="filters")


# How Rucio reads a text value of a filter (its FilterEngine types what the CLI sends): true/false
# words, then these date formats, then a Python literal unless the text holds + - * /.
_RUCIO_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%fZ",
    "%Y-%m-%dT%H:%M:%S.%fZ",
    "%a, %d %b %Y %H:%M:%S UTC",
)


def rucio_reading(text: str) -> Any:
    """What Rucio makes of the text value ``text``: a datetime, a number, a bool, another literal, or text."""
    text = text.replace("true", "True").replace("TRUE", "True").replace("false", "False").replace("FALSE", "False")
    for date_format in _RUCIO_DATE_FORMATS:
        try:
            return datetime.strptime(text, date_format)
        except ValueError:
            continue
    if any(sign in text for sign in "+-*/"):
        return text
    try:
        return ast.literal_eval(text)
    except Exception:  # any text that is not a literal stays text (SyntaxError, ValueError, MemoryError, ...)
        return text


def _for_rucio(value: Value) -> Any:
    """``value`` as sent to Rucio, so that Rucio compares what the filter says.

    A text value Rucio would read as something else (``"0"`` as a number, ``None``,
    ``[1]``, ``1j``: some of these make Rucio's database fail) is sent as a Python
    string literal, which Rucio reads back as that very text. A date and time stays
    as it is: Rucio compares it as a date.
    """
    if not isinstance(value, str):
        return value
    reading = rucio_reading(value)
    if isinstance(reading, datetime) or (isinstance(reading, str) and reading == value):
        return value
    return repr(value)


def comparison_kind(condition: Condition) -> str:
    """How Rucio compares a condition's stored values: as ``text``, ``number``, ``bool`` or ``date``."""
    value = condition.value
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "date" if isinstance(rucio_reading(value), datetime) else "text"


KIND_WORDS = {"number": "a number", "bool": "true or false", "date": "a date and time", "text": "text"}


def check_comparisons(groups: Filter, not_comparable: Callable[[str, str], str | None]) -> None:
    """A 400 naming the condition when Rucio cannot compare a key's values the way it asks.

    ``not_comparable(key, kind)`` says why the catalogue's values of ``key`` cannot be
    compared as ``kind`` (None when they can, or nothing is known): comparing text
    with a number makes Rucio's database fail instead of finding nothing.
    """
    for g, group in enumerate(groups, start=1):
        for c, condition in enumerate(group, start=1):
            kind = comparison_kind(condition)
            why = not_comparable(condition.key, kind)
            if why:
                raise _fail(
                    f"group {g}, condition {c}: {condition.key}{condition.op}{format_value(condition.value)}"
                    f" compares '{condition.key}' as {KIND_WORDS[kind]}, but {why}"
                )


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
            rucio_group[cond.key + RUCIO_SUFFIX[cond.op]] = _for_rucio(cond.value)
        if name:
            rucio_group["name"] = name
        out.append(rucio_group)
    return out
