"""The checks all sections of the configuration share; each error names the key it refuses."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..errors import ConfigurationError

# An instance's or an upload target's name.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def checked_url(value: Any, key: str, *, https_only: bool = False) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{key}: a URL is required", field=key)
    parsed = urlparse(value)
    allowed = ("https",) if https_only else ("http", "https")
    if parsed.scheme not in allowed or not parsed.netloc:
        want = "an https:// URL" if https_only else "an http(s):// URL"
        raise ConfigurationError(f"{key}: expected {want}, got {value!r}", field=key)
    return value.rstrip("/") if not https_only else value


def optional_str(data: Mapping[str, Any], name: str, key: str, default: str | None = None) -> str | None:
    value = data.get(name, default)
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigurationError(f"{key}.{name}: expected a non-empty string", field=f"{key}.{name}")
    return value


def required_str(data: Mapping[str, Any], name: str, key: str) -> str:
    value = optional_str(data, name, key)
    if value is None:
        raise ConfigurationError(f"{key}.{name}: required", field=f"{key}.{name}")
    return value


def number(data: Mapping[str, Any], name: str, key: str, default: float, *, minimum: float = 0) -> float:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= minimum:
        raise ConfigurationError(
            f"{key}.{name}: expected a number greater than {minimum}, got {value!r}", field=f"{key}.{name}"
        )
    return float(value)


def optional_path(data: Mapping[str, Any], name: str, key: str) -> Path | None:
    value = optional_str(data, name, key)
    return Path(value).expanduser() if value else None


def relative_folder(value: Any, key: str) -> str | None:
    """A folder relative to Jupyter's root, as 'a/b' (no '..', not absolute); false, null or "" for none."""
    if value is None or value is False or value == "":
        return None
    segments = [s for s in value.split("/") if s not in ("", ".")] if isinstance(value, str) else []
    if not isinstance(value, str) or value.startswith("/") or not segments or ".." in segments or "\0" in value:
        raise ConfigurationError(
            f"{key}: expected a folder relative to Jupyter's root such as 'data-lake' (no '..'), "
            f"or false for no folders; got {value!r}",
            field=key,
        )
    return "/".join(segments)


def check_keys(data: Mapping[str, Any], allowed: set[str], key: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigurationError(
            f"{key}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}",
            field=f"{key}.{unknown[0]}",
        )
