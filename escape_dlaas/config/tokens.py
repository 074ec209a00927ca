"""Where a user's token comes from (``token_sources``) and its exchange for one Rucio takes (``token_exchange``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from .checks import check_keys, checked_url, number, optional_path, optional_str, required_str

TOKEN_SOURCE_TYPES = ("jupyterhub", "file", "env", "oidc-agent", "wlcg", "userpass")


@dataclass(frozen=True)
class TokenSourceConfig:
    """One place the user's (IAM) token may come from, tried in list order."""

    type: str
    path: Path | None = None  # file
    variable: str | None = None  # env
    account: str | None = None  # oidc-agent account short name
    auth_state_key: str = "access_token"  # jupyterhub: key in auth_state
    username: str | None = None  # userpass
    password_file: Path | None = None  # userpass
    min_valid_seconds: int = 60  # oidc-agent: minimum remaining validity asked for


@dataclass(frozen=True)
class TokenExchangeConfig:
    """RFC 8693 exchange of the user's token for one with the Rucio audience."""

    issuer: str
    client_id: str
    client_secret_file: Path | None = None
    client_secret_env: str | None = None
    audience: str = "rucio"
    scope: str = "openid profile"
    refresh_margin_seconds: int = 60


def parse_token_source(data: Any, key: str) -> TokenSourceConfig:
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{key}: expected an object with a 'type'", field=key)
    kind = data.get("type")
    if kind not in TOKEN_SOURCE_TYPES:
        raise ConfigurationError(
            f"{key}.type: expected one of {', '.join(TOKEN_SOURCE_TYPES)}, got {kind!r}", field=f"{key}.type"
        )
    check_keys(
        data,
        {"type", "path", "variable", "account", "auth_state_key", "username", "password_file", "min_valid_seconds"},
        key,
    )
    source = TokenSourceConfig(
        type=kind,
        path=optional_path(data, "path", key),
        variable=optional_str(data, "variable", key),
        account=optional_str(data, "account", key),
        auth_state_key=optional_str(data, "auth_state_key", key, "access_token") or "access_token",
        username=optional_str(data, "username", key),
        password_file=optional_path(data, "password_file", key),
        min_valid_seconds=int(number(data, "min_valid_seconds", key, 60, minimum=-1)),
    )
    needs = {
        "file": ("path",),
        "env": ("variable",),
        "oidc-agent": ("account",),
        "userpass": ("username", "password_file"),
    }
    for name in needs.get(kind, ()):
        if getattr(source, name) is None:
            raise ConfigurationError(f"{key}.{name}: required for a '{kind}' token source", field=f"{key}.{name}")
    return source


def parse_token_exchange(data: Any, key: str) -> TokenExchangeConfig:
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{key}: expected an object", field=key)
    check_keys(
        data,
        {
            "issuer",
            "client_id",
            "client_secret_file",
            "client_secret_env",
            "audience",
            "scope",
            "refresh_margin_seconds",
        },
        key,
    )
    config = TokenExchangeConfig(
        issuer=checked_url(data.get("issuer"), f"{key}.issuer", https_only=True),
        client_id=required_str(data, "client_id", key),
        client_secret_file=optional_path(data, "client_secret_file", key),
        client_secret_env=optional_str(data, "client_secret_env", key),
        audience=optional_str(data, "audience", key, "rucio") or "rucio",
        scope=optional_str(data, "scope", key, "openid profile") or "openid profile",
        refresh_margin_seconds=int(number(data, "refresh_margin_seconds", key, 60, minimum=-1)),
    )
    if config.client_secret_file is None and config.client_secret_env is None:
        raise ConfigurationError(
            f"{key}: set client_secret_file or client_secret_env (the exchanging client's secret)",
            field=f"{key}.client_secret_file",
        )
    return config
