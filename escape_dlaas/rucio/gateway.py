"""Blocking calls to one Rucio instance through rucio-clients, with errors made plain.

Everything here blocks; the domain's ``RucioSession`` runs it in a bounded thread pool.
"""

from __future__ import annotations

import threading
import time
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

MIN_SOCKET_TIMEOUT = 0.5  # seconds; below this a request cannot even connect


class RucioUnauthorized(Exception):
    """Rucio answered 401 to a token: the caller refreshes the token and retries once."""


class RucioGateway:
    """Runs rucio-clients calls for one instance; one client per worker thread."""

    def __init__(self, instance: InstanceConfig):
        self.instance = instance
        self._local = threading.local()

    def _client(self, deadline: float | None = None) -> TokenClient:
        """This thread's client, its network timeout cut to what is left before ``deadline`` (monotonic)."""
        client: TokenClient | None = getattr(self._local, "client", None)
        if client is None:
            client = TokenClient(self.instance)
            self._local.client = client
        client.timeout = self.socket_timeout(deadline)
        return client

    def socket_timeout(self, deadline: float | None) -> float:
        """The instance's timeout, or less when the request's deadline comes sooner: a worker is freed by then."""
        timeout = self.instance.timeout_seconds
        if deadline is not None:
            timeout = min(timeout, max(deadline - time.monotonic(), MIN_SOCKET_TIMEOUT))
        return timeout

    def ping(self, deadline: float | None = None) -> dict[str, Any]:
        """``GET /ping``: whether Rucio's front answers (it does not touch Rucio's database)."""
        client = self._client(deadline)
        try:
            return client.ping_server()
        except requests.RequestException as error:
            raise translate_transport_error(error, self.instance, client.timeout) from None

    def userpass_token(self, credentials: Any, deadline: float | None = None) -> str:
        """Exchange a username and password for a Rucio token (``GET /auth/userpass``)."""
        client = self._client(deadline)
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
                timeout=client.timeout,
                verify=client.ca_cert or False,
            )
        except requests.RequestException as error:
            raise translate_transport_error(error, self.instance, client.timeout) from None
        token = response.headers.get("X-Rucio-Auth-Token")
        if response.status_code != 200 or not token:
            raise CredentialsExpired(
                f"Rucio refused the username/password sign-in for '{credentials.username}' (HTTP {response.status_code}).",
                reason="userpass_refused",
            )
        return str(token)

    def call(
        self,
        token: str | None,
        account: str | None,
        operation: Callable[[TokenClient], T],
        *,
        what: str,
        deadline: float | None = None,
    ) -> T:
        """Run ``operation`` with the given credentials and translate every failure.

        ``what`` names the action in plain words for error messages ("search lofar");
        ``deadline`` (``time.monotonic()``) bounds each network wait. A 401 raises
        :class:`RucioUnauthorized` so the caller can refresh and retry.
        """
        client = self._client(deadline)
        client.set_credentials(token, account or self.instance.account)
        try:
            return operation(client)
        except rucio_exc.CannotAuthenticate as error:
            raise RucioUnauthorized(redact(str(error), token)) from None
        except DLaaSError:
            raise
        except rucio_exc.RucioException as error:
            raise translate_rucio_error(error, what, token, self.instance) from None
        except requests.RequestException as error:
            raise translate_transport_error(error, self.instance, client.timeout) from None


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
