"""Get and exchange tokens at a lake's issuer (for tests and demos; never logs a token).

``password_token`` logs a demo user in through the ``jupyterhub`` client (password grant),
like the hub would; ``exchange_token`` performs the RFC 8693 exchange with the lake's
dedicated exchange client, like the extension does.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import requests

from .info import LakeInfo

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


class TokenRequestError(Exception):
    """The issuer refused; carries its OAuth error code and description (never a token)."""

    def __init__(self, status: int, error: str, description: str):
        super().__init__(f"HTTP {status}: {error}: {description}")
        self.status = status
        self.error = error
        self.description = description


def decode_claims(token: str) -> dict[str, Any]:
    """A JWT's claims WITHOUT verifying the signature: for display and test assertions only."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def _secret(path: Any) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read().strip()


def _post(info: LakeInfo, form: dict[str, str], client_role: str, timeout: float) -> dict[str, Any]:
    client = info.issuer.clients[client_role]
    response = requests.post(
        info.issuer.token_endpoint,
        data=form,
        auth=(client.client_id, _secret(client.secret_file)),
        verify=str(info.issuer.ca_bundle),
        timeout=timeout,
    )
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not response.ok:
        raise TokenRequestError(
            response.status_code, str(body.get("error", "error")), str(body.get("error_description", ""))
        )
    return dict(body)


def password_token(
    info: LakeInfo,
    user: str | None = None,
    *,
    audience: str | None = None,
    scope: str | None = None,
    timeout: float = 10,
) -> str:
    """An access token for a demo user (default audience ``jupyterhub``; pass ``audience='rucio'`` for Rucio)."""
    demo = info.user(user)
    form = {
        "grant_type": "password",
        "username": demo.name,
        "password": _secret(demo.password_file),
        "scope": scope or "openid profile email offline_access",
    }
    if audience:
        form["audience"] = audience
    return str(_post(info, form, "jupyterhub", timeout)["access_token"])


def exchange_token(
    info: LakeInfo, subject_token: str, *, audience: str = "rucio", scope: str = "openid profile", timeout: float = 10
) -> str:
    """RFC 8693: exchange ``subject_token`` for an access token with ``audience``."""
    form = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": subject_token,
        "subject_token_type": ACCESS_TOKEN_TYPE,
        "audience": audience,
        "scope": scope,
    }
    return str(_post(info, form, "exchange", timeout)["access_token"])
