"""Where the notebook user's token comes from.

One class per ``type`` of :data:`escape_dlaas.config.TOKEN_SOURCE_TYPES`. Each
``fetch()`` is blocking (files, HTTP, the oidc-agent socket): the manager runs it
on its thread pool, never on the event loop. ``fetch()`` returns what it found or
raises a :class:`~escape_dlaas.errors.DLaaSError` saying, in the user's or the
admin's terms, why this source has nothing usable; the manager then tries the
next source.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import requests

from ..config import InstanceConfig, TokenSourceConfig
from ..errors import (
    ConfigurationError,
    CredentialsExpired,
    CredentialsMissing,
    DLaaSError,
    ServiceTimeout,
    ServiceUnavailable,
)
from ..resilience import NOT_ANSWERING, RETRY_HINT, UNREACHABLE
from .claims import TokenClaims, read_claims
from .files import FileStamp, read_private_text, stamp
from .redact import get_logger, redact

log = get_logger(__name__)

APPLICATION_HINT = "escape-dlaas"  # shown by oidc-agent when it asks the user to confirm
PROBE_TIMEOUT_SECONDS = 5.0
_GATEWAY_STATUSES = (502, 503, 504)  # a proxy in front of the hub says the hub does not answer
# oidc-agent passes on the issuer's refusal when the refresh token it holds is no longer good.
_AGENT_EXPIRY_WORDS = ("invalid_grant", "expired", "revoked", "reauthenticate", "re-authenticate")


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


class FileTokenSource(TokenSource):
    """A token file the admin configured (e.g. rewritten by a JupyterHub sidecar or the lake).

    Re-read only when the file changes (stat stamp), so polling it is cheap.
    """

    kind = "file"

    def __init__(self, path: Path, *, label: str | None = None, what: str = "token file", require_owner: bool = False):
        super().__init__(label or f"file:{path}")
        self.path = path
        self._what = what
        self._require_owner = require_owner
        self._cache: tuple[FileStamp, FoundToken] | None = None

    def fetch(self) -> FoundToken:
        try:
            current = stamp(self.path)
        except FileNotFoundError:
            self._cache = None
            raise CredentialsMissing(f"{self._what} {self.path} does not exist") from None
        cached = self._cache
        if cached is not None and cached[0] == current:
            return cached[1]
        try:
            # Group-readable is allowed (sidecars often share a group); world-readable is not.
            text, read_stamp = read_private_text(
                self.path, what=self._what, refuse_bits=0o006, require_owner=self._require_owner
            )
        except FileNotFoundError:
            raise CredentialsMissing(f"{self._what} {self.path} does not exist") from None
        if not text:
            raise CredentialsMissing(f"{self._what} {self.path} is empty")
        found = FoundToken.from_text(text, self.label)
        self._cache = (read_stamp, found)
        return found


class EnvTokenSource(TokenSource):
    """A token in an environment variable. Frozen at spawn: it cannot be refreshed."""

    kind = "env"

    def __init__(self, variable: str, *, environ: Mapping[str, str] | None = None):
        super().__init__(f"env:{variable}")
        self.variable = variable
        self._environ = os.environ if environ is None else environ

    def fetch(self) -> FoundToken:
        value = self._environ.get(self.variable, "").strip()
        if not value:
            raise CredentialsMissing(f"environment variable {self.variable} is not set")
        return FoundToken.from_text(value, self.label)


class WlcgTokenSource(TokenSource):
    """WLCG bearer-token discovery, in the order the WLCG profile fixes.

    ``BEARER_TOKEN``, then the file named by ``BEARER_TOKEN_FILE``, then
    ``$XDG_RUNTIME_DIR/bt_u<uid>``, then ``/tmp/bt_u<uid>``. As in the profile, the
    first place that holds a token decides, even if that token has expired.
    """

    kind = "wlcg"

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        uid: int | None = None,
        tmp_dir: Path = Path("/tmp"),  # noqa: S108 - the WLCG profile names this path
    ):
        super().__init__("wlcg")
        self._environ = os.environ if environ is None else environ
        self._uid = os.geteuid() if uid is None else uid
        self._tmp_dir = tmp_dir
        self._files: dict[Path, FileTokenSource] = {}

    def _file(self, path: Path, *, shared_dir: bool) -> FoundToken | None:
        if not os.path.lexists(path):
            return None
        source = self._files.get(path)
        if source is None:
            source = self._files[path] = FileTokenSource(
                path, label=f"wlcg:{path}", what="WLCG token file", require_owner=shared_dir
            )
        return source.fetch()

    def fetch(self) -> FoundToken:
        value = self._environ.get("BEARER_TOKEN", "").strip()
        if value:
            return FoundToken.from_text(value, "wlcg:BEARER_TOKEN")
        candidates: list[tuple[Path, bool]] = []
        if self._environ.get("BEARER_TOKEN_FILE"):
            candidates.append((Path(self._environ["BEARER_TOKEN_FILE"]), False))
        if self._environ.get("XDG_RUNTIME_DIR"):
            candidates.append((Path(self._environ["XDG_RUNTIME_DIR"]) / f"bt_u{self._uid}", False))
        # Anyone can create a file in /tmp: accept it only if it is ours.
        candidates.append((self._tmp_dir / f"bt_u{self._uid}", True))
        for path, shared_dir in candidates:
            found = self._file(path, shared_dir=shared_dir)
            if found is not None:
                return found
        raise CredentialsMissing(
            "no WLCG bearer token (BEARER_TOKEN, BEARER_TOKEN_FILE, $XDG_RUNTIME_DIR/bt_u<uid>, /tmp/bt_u<uid>)"
        )


class _HubTokenAuth(requests.auth.AuthBase):
    """JupyterHub's ``Authorization: token ...``; an explicit auth also stops requests using ~/.netrc."""

    def __init__(self, token: str):
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"token {self._token}"
        return request

    def __repr__(self) -> str:
        return "<hub token auth>"


class JupyterHubTokenSource(TokenSource):
    """The user's OAuth access token from the hub's ``auth_state`` (the one path the hub keeps fresh).

    ``GET $JUPYTERHUB_API_URL/user`` with this server's own API token; the hub includes
    ``auth_state`` only when the server's role has ``admin:auth_state!user``.
    """

    kind = "jupyterhub"
    service = "JupyterHub"

    def __init__(
        self,
        *,
        auth_state_key: str = "access_token",
        timeout: float = 30.0,
        environ: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
    ):
        super().__init__("jupyterhub", timeout=timeout)
        self.auth_state_key = auth_state_key
        self._environ = os.environ if environ is None else environ
        self._session = session or requests.Session()

    def close(self) -> None:
        self._session.close()

    def _api_url(self) -> str:
        return self._environ.get("JUPYTERHUB_API_URL", "").rstrip("/")

    def down_headline(self) -> str:
        return f"JupyterHub's API at {self._api_url() or '(JUPYTERHUB_API_URL unset)'} is not answering"

    def probe(self) -> str | None:
        """GET the hub API's root, which answers without a token."""
        api_url = self._api_url()
        if not api_url:
            return None
        ca = self._environ.get("JUPYTERHUB_SSL_CLIENT_CA")
        try:
            response = self._session.get(
                f"{api_url}/",
                timeout=min(self.timeout or PROBE_TIMEOUT_SECONDS, PROBE_TIMEOUT_SECONDS),
                verify=ca or True,
                allow_redirects=False,
            )
        except requests.RequestException:
            return self.down_headline()
        return self.down_headline() if response.status_code in _GATEWAY_STATUSES else None

    def fetch(self) -> FoundToken:
        api_url = self._api_url()
        api_token = self._environ.get("JUPYTERHUB_API_TOKEN", "")
        if not api_url or not api_token:
            raise CredentialsMissing("not running under JupyterHub (JUPYTERHUB_API_URL / JUPYTERHUB_API_TOKEN unset)")
        # Internal SSL between hub and servers, when the hub enabled it.
        ca = self._environ.get("JUPYTERHUB_SSL_CLIENT_CA")
        cert, key = self._environ.get("JUPYTERHUB_SSL_CERTFILE"), self._environ.get("JUPYTERHUB_SSL_KEYFILE")
        try:
            response = self._session.get(
                f"{api_url}/user",
                auth=_HubTokenAuth(api_token),
                timeout=self.timeout,
                verify=ca or True,
                cert=(cert, key) if cert and key else None,
                allow_redirects=False,
            )
        except requests.Timeout:
            raise ServiceTimeout(
                f"JupyterHub's API at {api_url} did not answer within {self.timeout:g} s", service=self.service
            ) from None
        except requests.exceptions.SSLError as error:
            raise ServiceUnavailable(
                f"JupyterHub's API failed the TLS certificate check: {redact(error, api_token)}", service=self.service
            ) from None
        except requests.RequestException as error:
            raise ServiceUnavailable(
                f"JupyterHub's API could not be reached: {redact(error, api_token)}",
                service=self.service,
                reason=UNREACHABLE,
            ) from None
        if response.status_code in (401, 403):
            raise CredentialsExpired(
                "JupyterHub refused this server's API token. Restart your server from the hub's control panel."
            )
        if response.status_code != 200:
            raise ServiceUnavailable(
                f"JupyterHub's API answered HTTP {response.status_code} to GET /user",
                service=self.service,
                reason=UNREACHABLE if response.status_code in _GATEWAY_STATUSES else None,
            )
        try:
            model = response.json()
        except ValueError:
            raise ServiceUnavailable(
                "JupyterHub's API answered something that is not JSON", service=self.service
            ) from None
        return self._token_from_model(model)

    def _token_from_model(self, model: Any) -> FoundToken:
        if not isinstance(model, dict) or "auth_state" not in model:
            raise ConfigurationError(
                "JupyterHub does not share your login token with this server. The hub administrator must grant "
                "the server role the scope 'admin:auth_state!user' (c.JupyterHub.load_roles) and set "
                "c.Authenticator.enable_auth_state = True."
            )
        state = model["auth_state"]
        if not isinstance(state, dict):
            raise ConfigurationError(
                "JupyterHub keeps no auth_state for you: the administrator must set "
                "c.Authenticator.enable_auth_state = True; then log out of the hub and in again."
            )
        value = state.get(self.auth_state_key)
        if not isinstance(value, str) or not value.strip():
            # Key names are not secret; listing them helps the admin pick auth_state_key.
            keys = ", ".join(sorted(str(k) for k in state)) or "none"
            raise ConfigurationError(
                f"JupyterHub's auth_state has no token under '{self.auth_state_key}' (keys: {keys}); "
                "set auth_state_key in the token source."
            )
        return FoundToken.from_text(value.strip(), self.label)


def _load_liboidcagent() -> ModuleType:
    return importlib.import_module("liboidcagent")


class OidcAgentTokenSource(TokenSource):
    """A token from the user's oidc-agent (``liboidcagent.get_token_response``).

    liboidcagent's socket calls have no timeout and can block forever, so each call
    runs on its own daemon thread that we stop waiting for after ``timeout``; while
    one such call is stuck, further calls fail at once instead of piling up threads.
    """

    kind = "oidc-agent"
    service = "oidc-agent"

    def __init__(
        self,
        account: str,
        *,
        min_valid_seconds: int = 60,
        timeout: float = 30.0,
        scope: str | None = None,
        audience: str | None = None,
        agent_api: Any = None,
    ):
        super().__init__(f"oidc-agent:{account}", timeout=timeout)
        self.account = account
        self.min_valid_seconds = max(0, min_valid_seconds)
        self.scope = scope
        self.audience = audience
        self._api = agent_api
        self._guard = threading.Lock()
        self._stuck: threading.Thread | None = None

    def _agent(self) -> Any:
        if self._api is None:
            try:
                self._api = _load_liboidcagent()
            except ImportError:
                raise ConfigurationError("the liboidcagent package is not installed on the server") from None
        return self._api

    def fetch(self) -> FoundToken:
        api = self._agent()
        outcome: dict[str, Any] = {}

        def call() -> None:
            try:
                outcome["result"] = api.get_token_response(
                    self.account, self.min_valid_seconds, APPLICATION_HINT, self.scope, self.audience
                )
            except BaseException as error:  # handed to the waiting thread below
                outcome["error"] = error

        with self._guard:
            if self._stuck is not None and self._stuck.is_alive():
                # Fails at once while it hangs, and is asked again as soon as that request ends.
                raise ServiceUnavailable(
                    "oidc-agent is not answering (an earlier request is still waiting for it; check that it "
                    f"is running and unlocked); {RETRY_HINT}",
                    service=self.service,
                    reason=NOT_ANSWERING,
                )
            worker = threading.Thread(target=call, name=f"oidc-agent-{self.account}", daemon=True)
            self._stuck = worker
            worker.start()
        worker.join(self.timeout)
        if worker.is_alive():
            raise ServiceTimeout(
                f"oidc-agent did not answer within {self.timeout:g} s (is it waiting for you to confirm or unlock?)",
                service=self.service,
            )
        if "error" in outcome:
            raise self._explain(outcome["error"], api) from None
        try:
            token, issuer, expires_at = outcome["result"]
        except (KeyError, TypeError, ValueError):
            raise ServiceUnavailable("oidc-agent gave an answer we do not understand", service=self.service) from None
        if not isinstance(token, str):
            raise ServiceUnavailable("oidc-agent gave an answer we do not understand", service=self.service)
        expiry = float(expires_at) if isinstance(expires_at, (int, float)) and expires_at > 0 else None
        return FoundToken.from_text(
            token.strip(), self.label, issuer=issuer if isinstance(issuer, str) else None, expires_at=expiry
        )

    def _explain(self, error: BaseException, api: Any) -> DLaaSError:
        agent_error = getattr(api, "OidcAgentError", None)
        if not (isinstance(agent_error, type) and isinstance(error, agent_error)):
            log.warning("oidc-agent call failed unexpectedly: %s", redact(f"{type(error).__name__}: {error}"))
            return ServiceUnavailable("oidc-agent failed unexpectedly", service=self.service)
        text = redact(error)
        lowered = text.lower()
        if "env var not set" in lowered:
            return CredentialsMissing(
                "oidc-agent is not running for this server (OIDC_SOCK is not set). "
                f"Start it (eval $(oidc-agent-service use)) and load your account (oidc-add {self.account})."
            )
        if "no account configured" in lowered:
            return CredentialsMissing(
                f"oidc-agent has no account '{self.account}' loaded: run `oidc-add {self.account}` "
                f"(or `oidc-gen {self.account}` to create it)."
            )
        if "could not connect" in lowered:
            return ServiceUnavailable(f"oidc-agent could not be reached: {text}", service=self.service)
        if any(word in lowered for word in _AGENT_EXPIRY_WORDS):
            return CredentialsExpired(
                f"oidc-agent could not get a new token for '{self.account}' ({text}). "
                f"Sign in again with `oidc-gen --reauthenticate {self.account}`."
            )
        return ServiceUnavailable(
            f"oidc-agent could not give a token for '{self.account}': {text}", service=self.service
        )


class UserpassSource(TokenSource):
    """Username and password (from a private file) for Rucio's userpass authentication."""

    kind = "userpass"

    def __init__(self, username: str, password_file: Path):
        super().__init__(f"userpass:{username}")
        self.username = username
        self.password_file = password_file

    def fetch(self) -> UserpassCredentials:
        try:
            password, _ = read_private_text(self.password_file, what="password file", refuse_bits=0o077)
        except FileNotFoundError:
            raise ConfigurationError(f"password file {self.password_file} does not exist") from None
        if not password:
            raise ConfigurationError(f"password file {self.password_file} is empty")
        return UserpassCredentials(username=self.username, password=password, source=self.label)


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
