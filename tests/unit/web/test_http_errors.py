"""The one map from domain errors to HTTP status codes."""

from __future__ import annotations

import pytest

from escape_dlaas.config import parse_instance
from escape_dlaas.errors import (
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
from escape_dlaas.resilience import NOT_ANSWERING, UNREACHABLE
from escape_dlaas.rucio.errors import RucioTransientError, database_unavailable
from escape_dlaas.web.http_errors import status_for


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidInput("bad DID", field="did"), 400),
        (CredentialsMissing("no token"), 401),
        (CredentialsExpired("expired"), 401),
        (PermissionDenied("embargoed"), 403),
        (NotFound("no such DID"), 404),
        (Conflict("duplicate rule"), 409),
        (Refused("quota"), 422),
        (ConfigurationError("bad config", field="instances"), 503),
        (ServiceUnavailable("Rucio is down", service="Rucio"), 503),
        (ServiceUnavailable("Rucio is unreachable", service="Rucio", reason=UNREACHABLE), 503),
        (ServiceUnavailable("Rucio is not answering; retrying", service="Rucio", reason=NOT_ANSWERING), 503),
        (
            database_unavailable(
                parse_instance(
                    {"name": "t", "rucio_url": "http://r", "token_sources": [{"type": "env", "variable": "T"}]}, "i"
                )
            ),
            503,
        ),
        (RucioTransientError("Rucio's database is busy", what="x"), 503),
        # Rucio answered, with an error we cannot read as anything more precise
        (ServiceUnavailable("Rucio answered with an error", service="Rucio", reason="rucio_error"), 502),
        (ServiceTimeout("Rucio is slow", service="Rucio"), 504),
        # our side of sign-in (issuer, oidc-agent, hub) down: 503; slow: still a timeout
        (ServiceUnavailable("issuer is down", service="token issuer"), 503),
        (ServiceTimeout("issuer is slow", service="token issuer"), 504),
        (DLaaSError("an error without a category"), 500),
    ],
)
def test_each_domain_error_has_its_status(error, status):
    assert status_for(error) == status
