"""Blocking access to one Rucio instance through rucio-clients, with errors made plain.

rucio-clients is built for a terminal: on a missing token or a 401 it reads token
files, runs WLCG discovery and finally starts an interactive OIDC login. Inside a
server that would hang or pick up a stale token, so :class:`TokenClient` disables
all of that: the token comes from our ``TokenManager`` and is set before every call.

Everything here blocks; ``escape_dlaas.service`` runs it in a bounded thread pool.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote_plus

import requests
from rucio.client import Client
from rucio.common import exception as rucio_exc
from rucio.common.utils import build_url

from .auth.redact import redact
from .config import InstanceConfig
from .errors import (
    Conflict,
    CredentialsExpired,
    DLaaSError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Refused,
    ServiceTimeout,
    ServiceUnavailable,
)

T = TypeVar("T")

RUCIO = "Rucio"
# The client's own logger: quiet and never below INFO (it logs request headers at DEBUG).
_CLIENT_LOG = logging.getLogger("escape_dlaas.rucio_client")
_CLIENT_LOG.setLevel(logging.WARNING)


class RucioUnauthorized(Exception):
    """Rucio answered 401 to a token: the caller refreshes the token and retries once."""


class TokenClient(Client):
    """A rucio-clients ``Client`` that never authenticates by itself."""

    # One attempt per call: retries and back-off are the caller's business (timeouts must hold).
    AUTH_RETRIES = 0

    def __init__(self, instance: InstanceConfig):
        ca: str | bool | None = str(instance.ca_bundle) if instance.ca_bundle else None
        super().__init__(
            rucio_host=instance.rucio_url,
            auth_host=instance.auth_url,
            # A placeholder keeps the client from looking for a rucio.cfg to learn the account;
            # the real value (None: the identity's default account) is restored below.
            account=instance.account or "-",
            ca_cert=ca,
            auth_type="oidc",
            creds={},
            timeout=instance.timeout_seconds,
            user_agent="escape-dlaas",
            vo=instance.vo,
            logger=_CLIENT_LOG,
        )
        self.account = instance.account
        self.request_retries = 0

    # rucio-clients' private hooks (name-mangled): token handling is ours.
    def _BaseClient__authenticate(self) -> None:
        return None

    def _BaseClient__get_token(self) -> None:
        # Keep the 401 answer: the caller turns it into a refresh or a plain error.
        return None

    def _BaseClient__write_token(self) -> None:
        return None

    def _back_off(self, retry_number: int, reason: str) -> None:
        return None

    def set_credentials(self, token: str | None, account: str | None) -> None:
        self.auth_token = token or ""
        self.headers["X-Rucio-Auth-Token"] = self.auth_token
        if account:
            self.account = account

    def ping_server(self) -> dict[str, Any]:
        """``GET /ping``: needs no token."""
        response = self.session.get(
            f"{self.host}/ping",
            timeout=self.timeout,
            verify=self.ca_cert or False,
            headers={"Accept": "application/json"},
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def search_dids(
        self, scope: str, filters: list[dict[str, Any]], did_type: str, limit: int | None, *, long: bool = False
    ) -> Iterator[Any]:
        """``list_dids`` with the server-side ``limit`` that rucio-clients does not expose.

        The answer is a newline-delimited JSON stream read lazily, so the first rows
        arrive without waiting for the whole result set. Rows are names, or with ``long``
        dicts that also carry ``did_type``, ``bytes`` and ``length``.
        """
        path = "/".join([self.DIDS_BASEURL, quote_plus(scope), "dids", "search"])
        payload: dict[str, Any] = {"type": did_type, "filters": filters, "long": long, "recursive": False}
        if limit is not None:
            payload["limit"] = limit
        url = build_url(self.host, path=path, params=payload)
        response = self._send_request(url, method=_http_get())
        if response.status_code != 200:
            self._raise_from(response)
        try:
            yield from self._load_json_data(response)
        finally:
            response.close()

    def _raise_from(self, response: requests.Response) -> None:
        exc_cls, exc_msg = self._get_exception(
            headers=response.headers, status_code=response.status_code, data=response.content
        )
        raise exc_cls(exc_msg)


def _http_get() -> Any:
    from rucio.common.constants import HTTPMethod

    return HTTPMethod.GET


_CONFIG_LOCK = threading.Lock()


def ensure_client_config(private_dir: Path) -> None:
    """Give rucio-clients an (empty) configuration file when the site has none.

    Parts of rucio-clients (the download client, the storage protocols) read rucio.cfg
    and fail outright when no file exists, although every value they need has a default
    or comes from us. An empty file in a private directory satisfies them; a site's own
    rucio.cfg, when there is one, is left in charge.
    """
    from rucio.common import config as rucio_config

    with _CONFIG_LOCK:
        try:
            rucio_config.get_config()
            return
        except rucio_exc.ConfigNotFound:
            pass
        private_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = private_dir / "rucio.cfg"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(
                    "# Written by escape-dlaas: the site has no rucio.cfg; all values come from c.DLaaS.\n[common]\n[client]\n[download]\n"
                )
        os.environ["RUCIO_CONFIG"] = str(path)
        rucio_config.clean_cached_config()


def prime_rse_info(client: TokenClient, rse_names: Iterable[str]) -> None:
    """Put the RSEs' protocol settings into rucio-clients' cache, fetched with our client.

    The storage layer (``rsemanager``) otherwise builds a client of its own from rucio.cfg
    and its token file, which a server extension must not depend on.
    """
    from rucio.rse import rsemanager

    for name in rse_names:
        rsemanager.RSE_REGION.set(f"rse_info_{name}:{client.vo}", client.get_rse(name))


class RucioGateway:
    """Runs rucio-clients calls for one instance; one client per worker thread."""

    def __init__(self, instance: InstanceConfig):
        self.instance = instance
        self._local = threading.local()

    def _client(self) -> TokenClient:
        client: TokenClient | None = getattr(self._local, "client", None)
        if client is None:
            client = TokenClient(self.instance)
            self._local.client = client
        return client

    def ping(self) -> dict[str, Any]:
        try:
            return self._client().ping_server()
        except requests.RequestException as error:
            raise translate_transport_error(error, self.instance) from None

    def userpass_token(self, credentials: Any) -> str:
        """Exchange a username and password for a Rucio token (``GET /auth/userpass``)."""
        client = self._client()
        headers = {
            "X-Rucio-Account": credentials.account or "",
            "X-Rucio-Username": credentials.username or "",
            "X-Rucio-Password": credentials.password or "",
            "X-Rucio-VO": self.instance.vo,
        }
        try:
            response = client.session.get(
                f"{self.instance.auth_url}/auth/userpass",
                headers=headers,
                timeout=self.instance.timeout_seconds,
                verify=client.ca_cert or False,
            )
        except requests.RequestException as error:
            raise translate_transport_error(error, self.instance) from None
        token = response.headers.get("X-Rucio-Auth-Token")
        if response.status_code != 200 or not token:
            raise CredentialsExpired(
                f"Rucio refused the username/password sign-in for '{credentials.username}' (HTTP {response.status_code}).",
                reason="userpass_refused",
            )
        return str(token)

    def call(self, token: str | None, account: str | None, operation: Callable[[TokenClient], T], *, what: str) -> T:
        """Run ``operation`` with the given credentials and translate every failure.

        ``what`` names the action in plain words for error messages ("search lofar").
        A 401 raises :class:`RucioUnauthorized` so the caller can refresh and retry.
        """
        client = self._client()
        client.set_credentials(token, account or self.instance.account)
        try:
            return operation(client)
        except rucio_exc.CannotAuthenticate as error:
            raise RucioUnauthorized(redact(str(error), token)) from None
        except DLaaSError:
            raise
        except rucio_exc.RucioException as error:
            raise translate_rucio_error(error, what, token) from None
        except requests.RequestException as error:
            raise translate_transport_error(error, self.instance) from None


def _rucio_message(error: Exception, token: str | None) -> str:
    text = getattr(error, "_message", None) or str(error)
    # RucioException.__str__ prefixes a generic sentence and appends "Details: ...".
    if isinstance(error, rucio_exc.RucioException) and error.args:
        text = "; ".join(str(a) for a in error.args if a)
    return redact(text.strip(), token)


def translate_rucio_error(error: Exception, what: str, token: str | None = None) -> DLaaSError:
    """Map a rucio-clients exception to a domain error whose message a scientist understands."""
    detail = _rucio_message(error, token)
    name = type(error).__name__
    if isinstance(error, (rucio_exc.DataIdentifierNotFound, rucio_exc.ScopeNotFound)):
        return NotFound(f"Cannot {what}: Rucio does not know it ({detail}).", reason="did_not_found")
    if isinstance(error, rucio_exc.RuleNotFound):
        return NotFound(f"Cannot {what}: no such rule ({detail}).", reason="rule_not_found")
    if isinstance(error, rucio_exc.AccessDenied):
        return PermissionDenied(f"Permission denied to {what}: {detail}", reason="permission_denied")
    if isinstance(error, (rucio_exc.InsufficientAccountLimit, rucio_exc.InsufficientTargetRSEs)) or name in (
        "InsufficientQuota",
    ):
        if isinstance(error, rucio_exc.InsufficientAccountLimit):
            return Refused(f"Quota exceeded: cannot {what}. Rucio: {detail}", reason="quota_exceeded")
        return Refused(f"Not enough matching storage to {what}. Rucio: {detail}", reason="no_matching_rse")
    if isinstance(error, (rucio_exc.InvalidRSEExpression, rucio_exc.RSENotFound)):
        return Refused(
            f"Cannot {what}: no storage (RSE) matches the target. Rucio says: {detail}", reason="no_matching_rse"
        )
    if isinstance(error, rucio_exc.DuplicateRule):
        return Conflict(f"Cannot {what}: an identical rule exists already ({detail}).", reason="duplicate_rule")
    if isinstance(error, (rucio_exc.UnsupportedOperation, rucio_exc.RuleReplaceFailed)):
        return Conflict(f"Cannot {what}: {detail}", reason="conflict")
    if isinstance(error, (rucio_exc.InvalidObject, rucio_exc.InvalidValueForKey, rucio_exc.KeyNotFound)) or name in (
        "InvalidType",
        "InvalidMetadata",
        "InvalidReplicationRule",
        "InvalidRuleWeight",
        "DIDFilterSyntaxError",
    ):
        return InvalidInput(f"Cannot {what}: Rucio refused the request ({detail}).", reason="rejected_by_rucio")
    if isinstance(error, rucio_exc.ServerConnectionException):
        return ServiceUnavailable(f"Cannot {what}: the Rucio server does not answer.", service=RUCIO)
    if isinstance(error, rucio_exc.RucioException) and "503" in detail:
        return ServiceUnavailable(f"Cannot {what}: Rucio is temporarily unavailable ({detail}).", service=RUCIO)
    return ServiceUnavailable(
        f"Cannot {what}: Rucio answered with an error: {name}: {detail}", service=RUCIO, reason="rucio_error"
    )


def translate_transport_error(error: requests.RequestException, instance: InstanceConfig) -> ServiceUnavailable:
    if isinstance(error, requests.Timeout):
        return ServiceTimeout(
            f"Rucio at {instance.rucio_url} did not answer within {instance.timeout_seconds:g} s.", service=RUCIO
        )
    if isinstance(error, requests.exceptions.SSLError):
        return ServiceUnavailable(
            f"Cannot verify the TLS certificate of Rucio at {instance.rucio_url}; check ca_bundle.", service=RUCIO
        )
    if isinstance(error, requests.HTTPError) and error.response is not None:
        return ServiceUnavailable(
            f"Rucio at {instance.rucio_url} answered HTTP {error.response.status_code}.", service=RUCIO
        )
    return ServiceUnavailable(f"Rucio at {instance.rucio_url} is unreachable.", service=RUCIO)


def first_n(rows: Iterable[T], n: int) -> list[T]:
    """Take ``n`` items from a lazy iterable and close it, releasing the HTTP stream."""
    out: list[T] = []
    iterator = iter(rows)
    try:
        for row in iterator:
            out.append(row)
            if len(out) >= n:
                break
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            with suppress(Exception):
                close()
    return out


def dumps_compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
