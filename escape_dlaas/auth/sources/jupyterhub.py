"""The user's token from JupyterHub's ``auth_state``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests

from ...errors import ConfigurationError, CredentialsExpired, CredentialsMissing, ServiceTimeout, ServiceUnavailable
from ...resilience import UNREACHABLE
from ..redact import redact
from .base import PROBE_TIMEOUT_SECONDS, FoundToken, TokenSource

_GATEWAY_STATUSES = (502, 503, 504)  # a proxy in front of the hub says the hub does not answer


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

    ``GET $JUPYTERHUB_API_URL/users/$JUPYTERHUB_USER`` with this server's own API token; the
    hub includes ``auth_state`` only when the server's role has ``admin:auth_state!user``.
    Not ``GET /user``: JupyterHub (5.x, 6.1) leaves ``auth_state`` out of that answer even
    with the scope (jupyterhub issue 5103); it only tells the user's name when
    ``JUPYTERHUB_USER`` is unset. Each request also lets the hub refresh the user's tokens
    (``auth_refresh_age``).
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
        api_token = self._environ.get("JUPYTERHUB_API_TOKEN", "")
        if not self._api_url() or not api_token:
            raise CredentialsMissing("not running under JupyterHub (JUPYTERHUB_API_URL / JUPYTERHUB_API_TOKEN unset)")
        name = self._environ.get("JUPYTERHUB_USER", "")
        if not name:
            me = self._get("/user", api_token)
            name = me.get("name", "") if isinstance(me, dict) else ""
            if not isinstance(name, str) or not name:
                raise ServiceUnavailable("JupyterHub's API did not say whose server this is", service=self.service)
        return self._token_from_model(self._get(f"/users/{quote(name, safe='')}", api_token))

    def _get(self, path: str, api_token: str) -> Any:
        """The JSON answer of the hub API to GET ``path``, or the error that explains why not."""
        api_url = self._api_url()
        # Internal SSL between hub and servers, when the hub enabled it.
        ca = self._environ.get("JUPYTERHUB_SSL_CLIENT_CA")
        cert, key = self._environ.get("JUPYTERHUB_SSL_CERTFILE"), self._environ.get("JUPYTERHUB_SSL_KEYFILE")
        try:
            response = self._session.get(
                f"{api_url}{path}",
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
            endpoint = "/user" if path == "/user" else "/users/<you>"
            raise ServiceUnavailable(
                f"JupyterHub's API answered HTTP {response.status_code} to GET {endpoint}",
                service=self.service,
                reason=UNREACHABLE if response.status_code in _GATEWAY_STATUSES else None,
            )
        try:
            return response.json()
        except ValueError:
            raise ServiceUnavailable(
                "JupyterHub's API answered something that is not JSON", service=self.service
            ) from None

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
