"""What every token source shares: what it found, and the source interface."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

from ...errors import ConfigurationError, CredentialsMissing
from ..claims import TokenClaims, read_claims

PROBE_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class FoundToken:
    """A bearer token and what we know about it. The token never appears in a repr."""

    token: str = field(repr=False)
    source: str
    claims: TokenClaims | None = None
    # From the token's own claims, or vouched for by the source (oidc-agent) when the token is opaque.
    issuer: str | None = None
    expires_at: float | None = None

    @property
    def fingerprint(self) -> str:
        """Tells two tokens apart without keeping a second copy of either."""
        return hashlib.sha256(self.token.encode("utf-8")).hexdigest()

    @classmethod
    def from_text(
        cls, token: str, source: str, *, issuer: str | None = None, expires_at: float | None = None
    ) -> FoundToken:
        check_single_token(token, source)
        claims = read_claims(token)
        if claims is not None:
            issuer = claims.iss or issuer
            expires_at = claims.exp if claims.exp is not None else expires_at
        return cls(token=token, source=source, claims=claims, issuer=issuer, expires_at=expires_at)


@dataclass(frozen=True)
class UserpassCredentials:
    """Username and password for Rucio's userpass authentication."""

    username: str
    password: str = field(repr=False)
    source: str = "userpass"


Credential = FoundToken | UserpassCredentials


def check_single_token(token: str, source: str) -> None:
    """Refuse a value that would break (and leak through) an HTTP header."""
    if not token:
        raise CredentialsMissing(f"{source}: empty")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in token):
        raise ConfigurationError(
            f"{source}: the value is not a single token (it contains spaces, line breaks or control characters)."
        )


class TokenSource(ABC):
    """A place credentials may come from; ``label`` names it (never a secret)."""

    kind: ClassVar[str]
    # The remote service a failure of this source is about (ServiceUnavailable.service).
    service: ClassVar[str] = "token source"

    def __init__(self, label: str, *, timeout: float | None = None):
        self.label = label
        # Longest a fetch() may take; the manager gives up after it (None: local work only).
        self.timeout = timeout

    @abstractmethod
    def fetch(self) -> Credential:
        """Blocking: return credentials or raise a DLaaSError explaining why there are none."""

    def close(self) -> None:  # noqa: B027 - optional hook: most sources hold no connection
        """Release connections; the source may not be used afterwards."""

    def down_headline(self) -> str | None:
        """What is down, in plain words, when the remote service this source asks does not answer.

        None (the default) for sources that ask no remote service (files, the environment);
        the manager puts a circuit breaker in front of the others.
        """
        return None

    def probe(self) -> str | None:
        """Blocking: whether the remote service answers again (None), else what is down."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label}>"
