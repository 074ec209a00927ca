"""A rucio-clients ``Client`` for a server: it never authenticates by itself.

rucio-clients is built for a terminal: on a missing token or a 401 it reads token
files, runs WLCG discovery and finally starts an interactive OIDC login. Inside a
server that would hang or pick up a stale token, so :class:`TokenClient` disables
all of that: the token comes from our ``TokenManager`` and is set before every call.

Everything here blocks; the domain's ``RucioSession`` runs it in a bounded thread pool.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, urlsplit

import requests
from requests.adapters import HTTPAdapter
from rucio.client import Client
from rucio.common import exception as rucio_exc
from rucio.common.utils import build_url
from urllib3 import BaseHTTPResponse
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from ..config import InstanceConfig

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self: Python 3.11+

# The client's own logger: never below INFO (it logs request headers at DEBUG), and quiet: every
# failure it would log is raised too, turned into a domain error, and logged once, naming the service.
_CLIENT_LOG = logging.getLogger("escape_dlaas.rucio_client")
_CLIENT_LOG.setLevel(logging.CRITICAL)


# Rucio's reads sent as POST (their bodies list many DIDs): as safe to send again as a GET.
READ_ONLY_POSTS: tuple[str, ...] = ("/dids/bulkmeta", "/dids/bulkfiles", "/replicas/list", "/replicas/datasets_bulk")


class _ReusedConnectionRetry(Retry):
    """One immediate new try of a read whose connection failed before any answer came.

    A pooled keep-alive connection that the server (gunicorn, Apache) closes just as it is
    reused fails with 'connection aborted' although Rucio is up: a GET sent again on a fresh
    connection is safe, and so is one of Rucio's reads sent as POST (:data:`READ_ONLY_POSTS`).
    Refused connections are tried once more too (cheap, at once); a read timeout is not (the
    time is spent), nor any other request.
    """

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        if isinstance(error, ReadTimeoutError):
            raise error
        if method == "POST" and url is not None and urlsplit(url).path.rstrip("/").endswith(READ_ONLY_POSTS):
            method = "GET"  # judged as the read it is
        return super().increment(method, url, response, error, _pool, _stacktrace)


def _adapter_with_retry() -> HTTPAdapter:
    retry = _ReusedConnectionRetry(
        total=1, connect=1, read=1, status=0, other=0, redirect=0, allowed_methods=frozenset({"GET", "HEAD"})
    )
    return HTTPAdapter(max_retries=retry)


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

    # rucio-clients makes its requests session in __init__ (and anew after a 401): each gets the retry above.
    @property
    def session(self) -> requests.Session:
        return self._session

    @session.setter
    def session(self, value: requests.Session) -> None:
        adapter = _adapter_with_retry()
        value.mount("http://", adapter)
        value.mount("https://", adapter)
        self._session = value

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
