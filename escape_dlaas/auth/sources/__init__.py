"""Where the notebook user's token comes from.

One class per ``type`` of :data:`escape_dlaas.config.TOKEN_SOURCE_TYPES`. Each
``fetch()`` is blocking (files, HTTP, the oidc-agent socket): the manager runs it
on its thread pool, never on the event loop. ``fetch()`` returns what it found or
raises a :class:`~escape_dlaas.errors.DLaaSError` saying, in the user's or the
admin's terms, why this source has nothing usable; the manager then tries the
next source.

One module per kind of place: ``base`` (what they share), ``local`` (file, env, WLCG),
``jupyterhub``, ``oidc_agent``, ``userpass``.
"""

from __future__ import annotations

from collections.abc import MutableMapping

from ...config import InstanceConfig, TokenSourceConfig
from ...errors import ConfigurationError
from .base import PROBE_TIMEOUT_SECONDS, Credential, FoundToken, TokenSource, UserpassCredentials, check_single_token
from .jupyterhub import JupyterHubTokenSource
from .local import EnvTokenSource, FileTokenSource, WlcgTokenSource
from .oidc_agent import APPLICATION_HINT, OidcAgentTokenSource
from .userpass import UserpassSource

__all__ = [
    "APPLICATION_HINT",
    "PROBE_TIMEOUT_SECONDS",
    "Credential",
    "EnvTokenSource",
    "FileTokenSource",
    "FoundToken",
    "JupyterHubTokenSource",
    "OidcAgentTokenSource",
    "TokenSource",
    "UserpassCredentials",
    "UserpassSource",
    "WlcgTokenSource",
    "build_source",
    "check_single_token",
    "sign_in_again_hint",
]


def build_source(
    config: TokenSourceConfig,
    instance: InstanceConfig,
    *,
    direct_audience: str | None = None,
    environ: MutableMapping[str, str] | None = None,
) -> TokenSource:
    """The source for one configured entry.

    ``direct_audience``: when no exchange is configured, the audience to ask oidc-agent
    for, so that its token can go to Rucio as it is.
    """
    if config.type == "file" and config.path is not None:
        return FileTokenSource(config.path)
    if config.type == "env" and config.variable is not None:
        return EnvTokenSource(config.variable, environ=environ)
    if config.type == "jupyterhub":
        return JupyterHubTokenSource(
            auth_state_key=config.auth_state_key, timeout=instance.timeout_seconds, environ=environ
        )
    if config.type == "oidc-agent" and config.account is not None:
        return OidcAgentTokenSource(
            config.account,
            min_valid_seconds=config.min_valid_seconds,
            timeout=instance.timeout_seconds,
            audience=direct_audience,
        )
    if config.type == "wlcg":
        return WlcgTokenSource(environ=environ)
    if config.type == "userpass" and config.username is not None and config.password_file is not None:
        return UserpassSource(config.username, config.password_file)
    raise ConfigurationError(f"token source of type {config.type!r} is missing its required settings")


def sign_in_again_hint(source_label: str) -> str:
    """What the user can do to get a fresh token from this source."""
    kind, _, detail = source_label.partition(":")
    if kind == "jupyterhub":
        return "Log out of JupyterHub and log in again."
    if kind == "oidc-agent":
        return f"Refresh your oidc-agent account: `oidc-add {detail}` (or `oidc-gen --reauthenticate {detail}`)."
    if kind == "env":
        return f"The token in {detail} was fixed when your server started: restart your server from the hub."
    if kind == "wlcg":
        return "Get a new bearer token (e.g. `oidc-token` or your site's token tool) and retry."
    if kind == "file":
        return f"Nothing refreshed {detail}: sign in again, or ask the administrator to check the token refresher."
    return "Sign in again and retry."
