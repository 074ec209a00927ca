"""Upload metadata: the type of each key the catalogue uses, and the values given checked against it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from ..errors import InvalidInput
from .catalogue import MetadataSample

METADATA_TARGETS = ("dataset", "files", "both")
MAX_METADATA_KEYS = 50
MAX_METADATA_TEXT = 1000
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
KEY_TYPES = ("number", "date", "bool", "text")


def metadata_key_types(sample: MetadataSample) -> dict[str, str]:
    """Each key the catalogue uses, with the type its values have: number, date, bool or text."""
    types = {}
    for key in sorted(sample.values):
        refused = sample.not_comparable.get(key, {})
        if "number" not in refused:
            types[key] = "number"
        elif "date" not in refused:
            types[key] = "date"
        elif "bool" not in refused:
            types[key] = "bool"
        else:
            types[key] = "text"
    return types


def check_metadata(raw: Any, key_types: Mapping[str, str]) -> dict[str, Any]:
    """The metadata to set, checked against the types the catalogue uses for its keys (400 naming the key)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise InvalidInput('send "metadata" as {"key": value, ...}', field="metadata")
    if len(raw) > MAX_METADATA_KEYS:
        raise InvalidInput(f"at most {MAX_METADATA_KEYS} metadata keys per upload", field="metadata")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        field = f"metadata.{str(key)[:60]}"
        if not isinstance(key, str) or not _KEY.match(key):
            raise InvalidInput(
                f"'{str(key)[:60]}' cannot be a metadata key: use letters, digits and '_' (no '.'), "
                "starting with a letter",
                field=field,
                reason="invalid_metadata",
            )
        kind = key_types.get(key, "text")
        out[key] = _typed_value(key, value, kind, field)
    return out


def _typed_value(key: str, value: Any, kind: str, field: str) -> Any:
    def wrong(expected: str) -> InvalidInput:
        return InvalidInput(
            f"{key} takes {expected} in this catalogue; '{str(value)[:60]}' is not one",
            field=field,
            reason="invalid_metadata",
        )

    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidInput(f"{key} has no value; give one or leave the key out", field=field, reason="invalid_metadata")
    if kind == "number":
        if isinstance(value, bool):
            raise wrong("a number")
        if isinstance(value, (int, float)):
            return value
        text = str(value).strip()
        try:
            number = float(text) if any(c in text for c in ".eE") else int(text)
        except ValueError:
            raise wrong("a number, e.g. 150 or 1.5e3") from None
        if isinstance(number, float) and number != number:  # NaN
            raise wrong("a number")
        return number
    if kind == "date":
        text = str(value).strip()
        if not _DATE.match(text):
            raise wrong("a date such as 2025-02-03 (or 2025-02-03T10:00:00)")
        try:
            (
                datetime.fromisoformat(text.replace("Z", "+00:00"))
                if "T" in text or " " in text
                else date.fromisoformat(text)
            )
        except ValueError:
            raise wrong("a real calendar date") from None
        return text
    if kind == "bool":
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in ("true", "yes", "1"):
            return True
        if lowered in ("false", "no", "0"):
            return False
        raise wrong("true or false")
    if isinstance(value, (dict, list)):
        raise wrong("a single value")
    if isinstance(value, str) and len(value) > MAX_METADATA_TEXT:
        raise InvalidInput(
            f"{key} is longer than {MAX_METADATA_TEXT} characters", field=field, reason="invalid_metadata"
        )
    return value
