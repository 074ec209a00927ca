"""The one place where domain errors become HTTP answers: a status code and a JSON body."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import tornado.web

from ..errors import (
    ConfigurationError,
    Conflict,
    CredentialsExpired,
    CredentialsMissing,
    DLaaSError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Refused,
    ServiceTimeout,
    ServiceUnavailable,
)
from ..resilience import user_request

log = logging.getLogger("escape_dlaas")

_STATUS: list[tuple[type[DLaaSError], int]] = [
    (InvalidInput, 400),
    (CredentialsMissing, 401),
    (CredentialsExpired, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Refused, 422),
    (ConfigurationError, 503),
    (ServiceTimeout, 504),
    (ServiceUnavailable, 503),
]
# A service answered, but with an error we cannot read as anything more precise.
BAD_GATEWAY_REASONS = ("rucio_error", "esap_error")
INTERNAL_ERROR = {"message": "escape-dlaas hit an internal error; the server log has details", "reason": "internal"}


def status_for(error: DLaaSError) -> int:
    """The HTTP status of a domain error.

    A service that did not answer in time: 504; one that is down, unreachable or known not
    to answer (its breaker is open), or whose database is away: 503; one that answered with
    an error we cannot classify: 502.
    """
    if isinstance(error, ServiceUnavailable) and not isinstance(error, ServiceTimeout):
        return 502 if error.reason in BAD_GATEWAY_REASONS else 503
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


Handler = Callable[..., Awaitable[None]]


def api(method: Handler) -> Handler:
    """Authenticate, then turn domain errors into JSON answers with the right status.

    The request is one :func:`~escape_dlaas.resilience.user_request`: every call it makes
    to Rucio and to the token services shares one deadline.
    """

    @tornado.web.authenticated
    @functools.wraps(method)
    async def wrapper(self: tornado.web.RequestHandler, *args: Any, **kwargs: Any) -> None:
        try:
            with user_request():
                await method(self, *args, **kwargs)
        except DLaaSError as error:
            status = status_for(error)
            if status >= 500:
                # For the administrator: which service failed whose request (messages never hold a token).
                log.warning("%s %s: %d %s", self.request.method, self.request.path, status, error.message)
            self.set_status(status)
            self.finish(json.dumps(error.to_dict()))
        except tornado.web.HTTPError:
            raise
        except Exception:
            # A bug of ours: log it (messages are built without tokens) and say so plainly.
            log.exception("escape-dlaas: unexpected error in %s %s", self.request.method, self.request.path)
            self.set_status(500)
            self.finish(json.dumps(INTERNAL_ERROR))

    return wrapper  # type: ignore[return-value]
