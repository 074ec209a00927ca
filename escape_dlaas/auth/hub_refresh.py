"""JupyterHub side: renew the user's access token *before* it expires.

oauthenticator (>= 17.3) calls ``refresh_user_hook`` whenever JupyterHub refreshes a
user (every ``auth_refresh_age`` seconds, on the user's requests and on the requests of
the user's server, the one that reads ``auth_state``). Its own refresh uses the refresh
token only once the access token fails, so a server reading ``auth_state`` a moment
before expiry would get a token that dies on the way. This hook renews the token while
less than ``margin_seconds`` (at most half its lifetime) are left::

    from escape_dlaas.auth.hub_refresh import refresh_ahead
    c.GenericOAuthenticator.refresh_user_hook = refresh_ahead(margin_seconds=300)
    c.Authenticator.auth_refresh_age = 60   # well below the margin

It imports nothing from JupyterHub, so the extension does not depend on it. It never
logs a token: a failed refresh is logged by the name of the error only.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .claims import read_claims

RefreshHook = Callable[[Any, Any, Any], Awaitable[bool | dict[str, Any] | None]]


def access_token_timing(auth_state: Any) -> tuple[float, float] | None:
    """``(issued_at, expires_at)`` of the access token in an oauthenticator ``auth_state``, if it is a JWT."""
    if not isinstance(auth_state, dict) or not isinstance(auth_state.get("access_token"), str):
        return None
    claims = read_claims(auth_state["access_token"])
    if claims is None or claims.exp is None:
        return None
    return (claims.iat if claims.iat is not None else claims.exp, claims.exp)


def needs_refresh(auth_state: Any, margin_seconds: float, now: float) -> bool | None:
    """True when less than the margin (at most half the token's life) is left; None when that cannot be told."""
    timing = access_token_timing(auth_state)
    if timing is None:
        return None
    issued_at, expires_at = timing
    margin = min(margin_seconds, max(0.0, expires_at - issued_at) / 2)
    return expires_at - now <= margin


def refresh_ahead(margin_seconds: float = 300, *, clock: Callable[[], float] = time.time) -> RefreshHook:
    """A ``refresh_user_hook`` that uses the refresh token before the access token expires.

    Returns True (nothing to do) while the token has time left, the new auth model after a
    refresh, False when the refresh token no longer works (the user must log in again), and
    None (oauthenticator's own behaviour) for a token whose expiry it cannot read.
    """
    locks: dict[str, asyncio.Lock] = {}

    async def hook(authenticator: Any, user: Any, auth_state: Any) -> bool | dict[str, Any] | None:
        first = needs_refresh(auth_state, margin_seconds, clock())
        if first is not True:
            return None if first is None else True
        # One refresh per user at a time: the issuer rotates refresh tokens, so a second
        # concurrent refresh with the same one would fail and log the user out.
        async with locks.setdefault(str(user.name), asyncio.Lock()):
            current = await user.get_auth_state()
            if needs_refresh(current, margin_seconds, clock()) is False:
                return True  # another request refreshed it meanwhile
            refresh_token = (current or {}).get("refresh_token")
            if not refresh_token:
                return None  # no refresh token (no offline_access): oauthenticator's own check decides
            try:
                params = authenticator.build_refresh_token_request_params(refresh_token)
                token_info = await authenticator.get_token_info(None, params)
                token_info["refresh_token"] = token_info.get("refresh_token") or refresh_token
                user_info = await authenticator.token_to_user(token_info)
                state = authenticator.build_auth_state_dict(token_info, user_info)
                if inspect.isawaitable(state):
                    state = await state
            except Exception as error:
                authenticator.log.info(
                    "Refreshing the access token of %s failed (%s): the user must log in again",
                    user.name,
                    type(error).__name__,
                )
                return False
            return {"name": user.name, "auth_state": state}

    return hook
