"""OAuth 2.0 Token Exchange (RFC 8693) of the user's token for one Rucio accepts.

Blocking (requests); the manager runs it on its thread pool. Every failure is
mapped to a domain error whose text has been through :func:`redact`, because an
issuer's error description may quote the token it refused.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from ..config import TokenExchangeConfig
from ..errors import (
    ConfigurationError,
    CredentialsExpired,
    DLaaSError,
    PermissionDenied,
    ServiceTimeout,
    ServiceUnavailable,
)
from ..resilience import UNREACHABLE
from .claims import TokenClaims, read_claims, same_issuer
from .files import read_private_text
from .redact import get_logger, redact
from .sources import FoundToken, check_single_token, sign_in_again_hint

log = get_logger(__name__)

TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
ISSUER_SERVICE = "token issuer"
_MAX_DESCRIPTION = 300  # an issuer's error text is shown to the user: keep it short
_GATEWAY_STATUSES = (502, 503, 504)  # a proxy in front of the issuer says the issuer does not answer
PROBE_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class ExchangedToken:
    """The token the issuer gave for Rucio. The token never appears in a repr."""

    token: str = field(repr=False)
    claims: TokenClaims | None
    expires_at: float | None
    scope: str | None = None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)


def _expires_at(expires_in: Any, started: float) -> float | None:
    """``expires_in`` as a number of seconds; some servers send it as a string."""
    if isinstance(expires_in, bool):
        return None
    if isinstance(expires_in, str) and expires_in.strip().isdigit():
        expires_in = int(expires_in)
    return started + float(expires_in) if isinstance(expires_in, (int, float)) else None


class TokenExchanger:
    """Exchanges subject tokens at one issuer, for one audience, as one client."""

    def __init__(
        self,
        config: TokenExchangeConfig,
        *,
        ca_bundle: Path | None = None,
        timeout: float = 30.0,
        environ: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
        discovery_ttl_seconds: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ):
        self.config = config
        self.issuer = config.issuer
        self.audience = config.audience
        self.timeout = timeout
        self._ca_bundle = ca_bundle
        self._environ = os.environ if environ is None else environ
        self._session = session or requests.Session()
        self._discovery_ttl = discovery_ttl_seconds
        self._clock = clock
        self._endpoint: tuple[str, float] | None = None

    def __repr__(self) -> str:
        return f"<TokenExchanger issuer={self.issuer} client={self.config.client_id} audience={self.audience}>"

    # -- what may be sent where ---------------------------------------------------------------

    def refusal(self, subject: FoundToken) -> str | None:
        """Why this subject token must not be sent to the issuer, or None if it may."""
        if subject.issuer is None:
            return (
                f"the token from {subject.source} does not say who issued it, so it is not sent to the "
                f"token issuer {self.issuer}"
            )
        if not same_issuer(subject.issuer, self.issuer):
            return (
                f"the token from {subject.source} was issued by {subject.issuer}, not by the configured "
                f"token issuer {self.issuer}, so it is not sent there"
            )
        return None

    # -- configuration the admin provides ------------------------------------------------------

    def _verify(self) -> str | bool:
        if self._ca_bundle is None:
            return True
        if not self._ca_bundle.is_file():
            raise ConfigurationError(f"ca_bundle {self._ca_bundle} does not exist or is not a file", field="ca_bundle")
        return str(self._ca_bundle)

    def client_secret(self) -> str:
        """The exchanging client's secret: a file only the server's user can read, or an env variable."""
        path, variable = self.config.client_secret_file, self.config.client_secret_env
        if path is not None:
            try:
                secret, _ = read_private_text(path, what="exchange client secret file", refuse_bits=0o077)
            except FileNotFoundError:
                raise ConfigurationError(
                    f"token_exchange.client_secret_file {path} does not exist",
                    field="token_exchange.client_secret_file",
                ) from None
            if secret:
                return secret
            raise ConfigurationError(f"token_exchange.client_secret_file {path} is empty")
        if variable is not None:
            secret = self._environ.get(variable, "").strip()
            if secret:
                return secret
            raise ConfigurationError(
                f"token_exchange.client_secret_env: environment variable {variable} is not set on the server",
                field="token_exchange.client_secret_env",
            )
        raise ConfigurationError("token_exchange: no client secret configured", field="token_exchange")

    # -- HTTP ---------------------------------------------------------------------------------

    def _send(self, method: str, url: str, *secrets: str, **kwargs: Any) -> requests.Response:
        try:
            return self._session.request(
                method, url, timeout=self.timeout, verify=self._verify(), allow_redirects=False, **kwargs
            )
        except requests.Timeout:
            raise ServiceTimeout(
                f"The token issuer {self.issuer} did not answer within {self.timeout:g} s.", service=ISSUER_SERVICE
            ) from None
        except requests.exceptions.SSLError as error:
            raise ServiceUnavailable(
                f"The token issuer {self.issuer} failed the TLS certificate check ({redact(error, *secrets)}); "
                "the administrator may need to set ca_bundle.",
                service=ISSUER_SERVICE,
            ) from None
        except requests.RequestException as error:
            raise ServiceUnavailable(
                f"The token issuer {self.issuer} could not be reached: {redact(error, *secrets)}",
                service=ISSUER_SERVICE,
                reason=UNREACHABLE,
            ) from None

    def close(self) -> None:
        self._session.close()

    @property
    def down_headline(self) -> str:
        return f"the token issuer {self.issuer} is not answering"

    def probe(self) -> str | None:
        """Blocking: None when the issuer answers (its discovery document: no secret is sent), else what is down."""
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            response = self._session.get(
                url, timeout=min(self.timeout, PROBE_TIMEOUT_SECONDS), verify=self._verify(), allow_redirects=False
            )
        except (requests.RequestException, DLaaSError):
            return self.down_headline
        return self.down_headline if response.status_code in _GATEWAY_STATUSES else None

    def forget_endpoint(self) -> None:
        self._endpoint = None

    def token_endpoint(self) -> str:
        """The issuer's token endpoint from its OIDC discovery document (cached)."""
        now = self._clock()
        if self._endpoint is not None and now - self._endpoint[1] < self._discovery_ttl:
            return self._endpoint[0]
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        response = self._send("GET", url, headers={"Accept": "application/json"})
        if response.status_code == 404:
            raise ConfigurationError(
                f"token_exchange.issuer {self.issuer} has no OIDC discovery document at {url}",
                field="token_exchange.issuer",
            )
        if response.status_code != 200:
            raise ServiceUnavailable(
                f"The token issuer's discovery document could not be read (HTTP {response.status_code}).",
                service=ISSUER_SERVICE,
            )
        try:
            document = response.json()
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise ServiceUnavailable("The token issuer's discovery document is not JSON.", service=ISSUER_SERVICE)
        named = document.get("issuer")
        if not isinstance(named, str) or not same_issuer(named, self.issuer):
            raise ConfigurationError(
                f"token_exchange.issuer is {self.issuer} but its discovery document names issuer {named!r}",
                field="token_exchange.issuer",
            )
        endpoint = document.get("token_endpoint")
        # The subject token goes to this URL: only to the issuer itself, over TLS.
        if (
            not isinstance(endpoint, str)
            or _origin(endpoint) != _origin(self.issuer)
            or not endpoint.startswith("https://")
        ):
            raise ConfigurationError(
                f"the token issuer's token_endpoint {endpoint!r} is not an https URL on the issuer's own host",
                field="token_exchange.issuer",
            )
        grants = document.get("grant_types_supported")
        if isinstance(grants, list) and TOKEN_EXCHANGE_GRANT not in grants:
            log.warning("issuer %s does not list the token-exchange grant; trying anyway", self.issuer)
        self._endpoint = (endpoint, now)
        return endpoint

    # -- the exchange -------------------------------------------------------------------------

    def exchange(self, subject: FoundToken) -> ExchangedToken:
        """Blocking: exchange ``subject`` for a token with the configured audience."""
        refusal = self.refusal(subject)
        if refusal is not None:
            raise ConfigurationError(refusal[0].upper() + refusal[1:] + ".")
        secret = self.client_secret()
        endpoint = self.token_endpoint()
        form = {
            "grant_type": TOKEN_EXCHANGE_GRANT,
            "subject_token": subject.token,
            "subject_token_type": ACCESS_TOKEN_TYPE,
            "audience": self.audience,
        }
        if self.config.scope:
            form["scope"] = self.config.scope
        # RFC 6749 2.3.1: id and secret are form-encoded before HTTP Basic.
        auth = (quote(self.config.client_id, safe=""), quote(secret, safe=""))
        started = self._clock()
        response = self._send(
            "POST", endpoint, subject.token, secret, data=form, auth=auth, headers={"Accept": "application/json"}
        )
        if response.status_code != 200:
            if response.status_code >= 500 or response.status_code in (404, 429):
                # A moved endpoint must be re-discovered; a busy one retried later.
                self.forget_endpoint()
            raise self._failure(response, subject, secret)
        return self._issued(response, subject, secret, started)

    def _issued(self, response: requests.Response, subject: FoundToken, secret: str, started: float) -> ExchangedToken:
        try:
            body = response.json()
        except ValueError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token.strip():
            raise ServiceUnavailable(
                "The token issuer's answer to the exchange holds no access token.", service=ISSUER_SERVICE
            )
        assert isinstance(body, dict)
        token = token.strip()
        check_single_token(token, "the token issuer's answer")
        claims = read_claims(token)
        if claims is not None:
            if claims.iss is not None and not same_issuer(claims.iss, self.issuer):
                raise ConfigurationError(
                    f"The token issuer {self.issuer} returned a token issued by {claims.iss}; Rucio would refuse it."
                )
            if not claims.has_audience(self.audience):
                raise ConfigurationError(
                    f"The token issuer returned a token for audience {', '.join(claims.aud) or '(none)'}, not "
                    f"'{self.audience}': the administrator must check the exchange policy for client "
                    f"'{self.config.client_id}'."
                )
        expires_at = claims.exp if claims is not None and claims.exp is not None else None
        if expires_at is None:
            expires_at = _expires_at(body.get("expires_in"), started)
        scope = body.get("scope") if isinstance(body.get("scope"), str) else (claims.scope if claims else None)
        log.info(
            "exchanged the token from %s for audience %s (sub=%s, expires in %s s)",
            subject.source,
            self.audience,
            claims.sub if claims else "?",
            int(expires_at - started) if expires_at else "?",
        )
        return ExchangedToken(token=token, claims=claims, expires_at=expires_at, scope=scope)

    def _failure(self, response: requests.Response, subject: FoundToken, secret: str) -> DLaaSError:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        # An error code is a short ASCII word; anything else is not worth repeating.
        error = error if isinstance(error, str) and len(error) <= 64 else ""
        raw_description = body.get("error_description") if isinstance(body, dict) else None
        description = redact(raw_description or "", subject.token, secret)[:_MAX_DESCRIPTION]
        said = f"{error or 'HTTP ' + str(status)}{': ' + description if description else ''}"
        said = redact(said, subject.token, secret)
        lowered = description.lower()
        if status >= 500 or status == 429:
            return ServiceUnavailable(
                f"The token issuer {self.issuer} failed (HTTP {status}); try again shortly.",
                service=ISSUER_SERVICE,
                reason=UNREACHABLE if status in _GATEWAY_STATUSES else None,
            )
        if error in ("invalid_client", "unauthorized_client") or status == 401:
            return ConfigurationError(
                f"The token issuer refused the exchanging client '{self.config.client_id}' ({said}). "
                "Administrator: check the client id and secret, that the client may use the token-exchange "
                "grant, and that an exchange policy allows it.",
                field="token_exchange.client_id",
            )
        subject_refused = error == "invalid_grant" or (
            error == "invalid_request" and any(w in lowered for w in ("expired", "subject", "token", "invalid jwt"))
        )
        if subject_refused:
            return CredentialsExpired(
                f"The token issuer no longer accepts your sign-in ({said}). {sign_in_again_hint(subject.source)}"
            )
        if error == "access_denied" or status == 403:
            return PermissionDenied(f"The token issuer's policy does not allow this exchange ({said}).")
        if error in ("invalid_scope", "invalid_target", "unsupported_grant_type", "invalid_request"):
            return ConfigurationError(
                f"The token issuer refused the exchange request ({said}). Administrator: check token_exchange "
                "audience and scope, and that the issuer supports token exchange.",
                field="token_exchange",
            )
        return ServiceUnavailable(f"The token exchange failed ({said}).", service=ISSUER_SERVICE)
