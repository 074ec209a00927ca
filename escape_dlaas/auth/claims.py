"""Read a JWT's claims without verifying its signature.

We only use them for scheduling (``exp``) and for deciding where a token may be
sent (``iss``, ``aud``) and what to show the user (``sub``, ``scope``). Trust is
decided elsewhere: the issuer verifies the subject token at exchange, Rucio
verifies the token it receives against the issuer's keys.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass
from typing import Any

_B64URL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True)
class TokenClaims:
    """The claims of a JWT that escape-dlaas reads. None of them is secret."""

    iss: str | None = None
    sub: str | None = None
    aud: tuple[str, ...] = ()
    scope: str | None = None
    exp: float | None = None
    iat: float | None = None

    def has_audience(self, audience: str) -> bool:
        return audience in self.aud

    def is_from(self, issuer: str) -> bool:
        return self.iss is not None and same_issuer(self.iss, issuer)

    def expires_in(self, now: float | None = None) -> float | None:
        if self.exp is None:
            return None
        return self.exp - (time.time() if now is None else now)


def same_issuer(a: str, b: str) -> bool:
    """Issuer URLs compared the way admins write them: a trailing slash is not a difference."""
    return a.rstrip("/") == b.rstrip("/")


def _decode_segment(segment: str) -> Any:
    if not segment or not set(segment) <= _B64URL_CHARS:
        raise ValueError("not base64url")
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))


def _json_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    parts = token.split(".")
    if len(parts) != 3:  # a JWE (5 parts) is opaque to us, as is anything else
        return None
    try:
        header, payload = _decode_segment(parts[0]), _decode_segment(parts[1])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(header, dict) or "alg" not in header or not isinstance(payload, dict):
        return None
    return header, payload


def looks_like_jwt(token: str) -> bool:
    """True for a three-part token whose header and payload are base64url JSON objects."""
    return _json_parts(token) is not None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def read_claims(token: str) -> TokenClaims | None:
    """The claims of a JWT, or None for an opaque (or malformed) token."""
    parts = _json_parts(token)
    if parts is None:
        return None
    payload = parts[1]
    raw_aud = payload.get("aud")
    if isinstance(raw_aud, str):
        aud: tuple[str, ...] = (raw_aud,)
    elif isinstance(raw_aud, list):
        aud = tuple(a for a in raw_aud if isinstance(a, str))
    else:
        aud = ()
    raw_scope = payload.get("scope", payload.get("scp"))
    if isinstance(raw_scope, list):  # some issuers send "scp" as a list
        scope = " ".join(s for s in raw_scope if isinstance(s, str)) or None
    else:
        scope = _text(raw_scope)
    return TokenClaims(
        iss=_text(payload.get("iss")),
        sub=_text(payload.get("sub")),
        aud=aud,
        scope=scope,
        exp=_number(payload.get("exp")),
        iat=_number(payload.get("iat")),
    )
