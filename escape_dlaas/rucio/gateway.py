"""Blocking calls to one Rucio instance through rucio-clients, with errors made plain.

Everything here blocks; the domain's ``RucioSession`` runs it in a bounded thread pool.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from contextlib import suppress
from typing import Any, TypeVar

import requests
from rucio.common import exception as rucio_exc

from ..auth.redact import redact
from ..config import InstanceConfig
from ..errors import CredentialsExpired, DLaaSError
from .client import TokenClient
from .errors import translate_rucio_error, translate_transport_error

T = TypeVar("T")


class RucioUnauthorized(Exception):
    """Rucio answered 401 to a token: the caller refreshes the token and retries once."""


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
