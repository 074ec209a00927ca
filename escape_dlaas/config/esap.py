"""Where a user's ESAP basket comes from (``c.DLaaS.esap``; ESAP is the ESCAPE science platform)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from .checks import check_keys, checked_url, number, optional_path, optional_str

ESAP_AUTH_MODES = ("iam-token", "rucio-token", "none")
DEFAULT_BASKET_ENV = "ESCAPE_DLAAS_BASKET"


@dataclass(frozen=True)
class EsapConfig:
    """Where a user's ESAP basket comes from (``c.DLaaS.esap``); ``enabled`` False: no basket at all.

    A basket handed over at launch (``basket_file``, ``basket_url``, or the variable
    ``basket_env`` naming a file or URL) wins over the ESAP API (``api_url``).
    """

    enabled: bool = False
    api_url: str | None = None  # the ESAP API gateway's root, e.g. https://esap.example.org/esap-api
    # The bearer token sent to ESAP: the user's IAM token as the instance's token sources hold it,
    # the token exchanged for Rucio (what ESAP's own shopping client sends in the ESCAPE VRE), or none.
    auth: str = "iam-token"
    instance: str | None = None  # whose tokens and Rucio (None: the default instance)
    basket_file: Path | None = None
    basket_url: str | None = None
    basket_env: str | None = DEFAULT_BASKET_ENV
    ca_bundle: Path | None = None
    timeout_seconds: float = 10.0


def parse_esap(raw: Any, key: str = "esap") -> EsapConfig:
    """Validate ``c.DLaaS.esap``; an empty object (the default) means off."""
    if raw is None or raw == {}:
        return EsapConfig()
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{key}: expected an object (see docs/configuration.md)", field=key)
    check_keys(
        raw,
        {"enabled", "api_url", "auth", "instance", "basket_file", "basket_url", "basket_env", "ca_bundle",
         "timeout_seconds"},
        key,
    )  # fmt: skip
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigurationError(f"{key}.enabled: expected true or false, got {enabled!r}", field=f"{key}.enabled")
    auth = raw.get("auth", "iam-token")
    if auth not in ESAP_AUTH_MODES:
        raise ConfigurationError(
            f"{key}.auth: expected one of {', '.join(ESAP_AUTH_MODES)}, got {auth!r}", field=f"{key}.auth"
        )
    api_url = checked_url(raw["api_url"], f"{key}.api_url") if raw.get("api_url") is not None else None
    basket_url = checked_url(raw["basket_url"], f"{key}.basket_url") if raw.get("basket_url") is not None else None
    basket_env = raw.get("basket_env", DEFAULT_BASKET_ENV)
    if basket_env is not None and (not isinstance(basket_env, str) or not basket_env):
        raise ConfigurationError(
            f"{key}.basket_env: expected a variable name, or null for none", field=f"{key}.basket_env"
        )
    config = EsapConfig(
        enabled=enabled,
        api_url=api_url,
        auth=auth,
        instance=optional_str(raw, "instance", key),
        basket_file=optional_path(raw, "basket_file", key),
        basket_url=basket_url,
        basket_env=basket_env,
        ca_bundle=optional_path(raw, "ca_bundle", key),
        timeout_seconds=number(raw, "timeout_seconds", key, 10),
    )
    if enabled and not (config.api_url or config.basket_file or config.basket_url or config.basket_env):
        raise ConfigurationError(
            f"{key}: say where the basket comes from: api_url, basket_file, basket_url or basket_env",
            field=f"{key}.api_url",
        )
    return config
