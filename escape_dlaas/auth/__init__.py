"""The token domain: where the user's token comes from, its exchange for a Rucio token, and refresh.

No web code here: :class:`TokenManager` is used by the domain's ``RucioSession`` and tested on its own.
"""

from __future__ import annotations

from .claims import TokenClaims, looks_like_jwt, read_claims, same_issuer
from .exchange import ExchangedToken, TokenExchanger
from .files import read_private_text, write_private_file
from .manager import RucioCredentials, TokenManager
from .redact import RedactingFilter, redact
from .sources import (
    EnvTokenSource,
    FileTokenSource,
    FoundToken,
    JupyterHubTokenSource,
    OidcAgentTokenSource,
    TokenSource,
    UserpassCredentials,
    UserpassSource,
    WlcgTokenSource,
    build_source,
)

__all__ = [
    "EnvTokenSource",
    "ExchangedToken",
    "FileTokenSource",
    "FoundToken",
    "JupyterHubTokenSource",
    "OidcAgentTokenSource",
    "RedactingFilter",
    "RucioCredentials",
    "TokenClaims",
    "TokenExchanger",
    "TokenManager",
    "TokenSource",
    "UserpassCredentials",
    "UserpassSource",
    "WlcgTokenSource",
    "build_source",
    "looks_like_jwt",
    "read_claims",
    "read_private_text",
    "redact",
    "same_issuer",
    "write_private_file",
]
