"""Blocking reads of a basket: from ESAP's API with the user's token, or from a file or URL handed over at launch.

ESAP keeps a user's basket in the user profile (``GET <api>/accounts/user-profiles/``, a
paged Django REST answer ``{"results": [{"shopping_cart": [...]}]}``), authenticated with
a bearer token. Callers run these functions on a worker thread, within the request's
deadline; every failure becomes a domain error a scientist can read. Never logs or
returns the token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests

from ..config import EsapConfig
from ..errors import CredentialsExpired, NotFound, PermissionDenied, ServiceTimeout, ServiceUnavailable
from ..resilience import UNREACHABLE

ESAP_SERVICE = "ESAP"
PROFILE_PATH = "accounts/user-profiles/"
MAX_BASKET_BYTES = 4 * 1024 * 1024  # far more than any basket; bounds what a wrong URL can make us read
UNREADABLE = "esap_error"  # the answer came, but is not a basket (HTTP 502)


@dataclass(frozen=True)
class BasketSource:
    """Where the basket is read: ``esap`` (the API), ``file`` or ``url`` (handed over at launch)."""

    kind: str
    location: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "location": self.location}

    @property
    def service(self) -> str:
        return ESAP_SERVICE if self.kind == "esap" else f"the basket {self.kind} {self.location}"


def basket_source(config: EsapConfig, environ: Mapping[str, str]) -> BasketSource | None:
    """The basket handed over at launch (variable, file, URL: in that order), else ESAP's API; None: nowhere."""
    handed = environ.get(config.basket_env or "", "").strip() if config.basket_env else ""
    if handed:
        if urlparse(handed).scheme in ("http", "https"):
            return BasketSource("url", handed)
        return BasketSource("file", str(Path(handed).expanduser()))
    if config.basket_file is not None:
        return BasketSource("file", str(config.basket_file))
    if config.basket_url is not None:
        return BasketSource("url", config.basket_url)
    if config.api_url is not None:
        return BasketSource("esap", config.api_url.rstrip("/") + "/" + PROFILE_PATH)
    return None


def read_basket(
    config: EsapConfig, source: BasketSource, token: str | None, session: requests.Session | None = None
) -> Any:
    """The basket's JSON as the source holds it (not yet checked item by item)."""
    if source.kind == "file":
        return _read_file(Path(source.location))
    headers = {"Accept": "application/json"}
    if token is not None and source.kind == "esap":
        headers["Authorization"] = f"Bearer {token}"
    return _read_url(config, source, headers, session or requests.Session())


def _read_file(path: Path) -> Any:
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_BASKET_BYTES + 1)
    except FileNotFoundError:
        raise NotFound(
            f"The basket file {path} handed over at launch does not exist.", reason="basket_not_found"
        ) from None
    except OSError as error:
        raise ServiceUnavailable(
            f"The basket file {path} cannot be read: {error.strerror or error}.",
            service=f"the basket file {path}",
            reason=UNREADABLE,
        ) from None
    return _parse(data, f"The basket file {path}", f"the basket file {path}")


def _read_url(config: EsapConfig, source: BasketSource, headers: dict[str, str], session: requests.Session) -> Any:
    who = "ESAP" if source.kind == "esap" else f"The basket URL {source.location}"
    verify: bool | str = str(config.ca_bundle) if config.ca_bundle else True
    try:
        with session.get(
            source.location, headers=headers, timeout=config.timeout_seconds, verify=verify, stream=True
        ) as response:
            status = response.status_code
            body = response.raw.read(MAX_BASKET_BYTES + 1, decode_content=True) if status < 400 else b""
    except requests.Timeout:
        raise ServiceTimeout(
            f"{who} did not answer within {config.timeout_seconds:g} s ({source.location}).", service=source.service
        ) from None
    except requests.exceptions.SSLError:
        raise ServiceUnavailable(
            f"{who} at {source.location} presented a certificate that cannot be verified"
            " (the administrator can set esap.ca_bundle).",
            service=source.service,
            reason=UNREACHABLE,
        ) from None
    except requests.RequestException:
        raise ServiceUnavailable(
            f"{who} cannot be reached at {source.location}; the rest of the Data Lake panel works without it.",
            service=source.service,
            reason=UNREACHABLE,
        ) from None
    if status in (401, 403) and source.kind != "esap":
        raise ServiceUnavailable(
            f"{who} refused to give the basket (HTTP {status}): a basket handed over at launch is read without"
            " your token; the link may have expired.",
            service=source.service,
            reason=UNREADABLE,
        )
    if status == 401:
        raise CredentialsExpired(
            f"{who} did not accept your sign-in (HTTP 401): sign in to ESAP again, then reload the basket."
        )
    if status == 403:
        raise PermissionDenied(f"{who} refused to show your basket (HTTP 403).")
    if status == 404:
        raise ServiceUnavailable(
            f"{who} has no basket at {source.location} (HTTP 404); the administrator can check esap.api_url.",
            service=source.service,
            reason=UNREADABLE,
        )
    if status >= 400:
        raise ServiceUnavailable(
            f"{who} answered HTTP {status} at {source.location}; try again later.",
            service=source.service,
            reason=UNREACHABLE if status >= 500 else UNREADABLE,
        )
    return _parse(body, who, source.service)


def _parse(data: bytes, who: str, service: str) -> Any:
    if len(data) > MAX_BASKET_BYTES:
        raise ServiceUnavailable(
            f"{who} sent more than {MAX_BASKET_BYTES // (1024 * 1024)} MB: that is not a basket.",
            service=service,
            reason=UNREADABLE,
        )
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ServiceUnavailable(
            f"{who} sent something that is not JSON: it cannot be read as a basket.", service=service, reason=UNREADABLE
        ) from None
