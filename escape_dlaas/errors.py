"""Domain errors of escape-dlaas.

Every error the domain raises is a :class:`DLaaSError` subclass carrying a message
written for a scientist and a short machine-readable ``reason``. The web layer maps
the *category* of an error to an HTTP status in exactly one place
(``escape_dlaas.web.http_errors.status_for``); the domain never knows about HTTP.

Messages must never contain a token: build them from our own words and from
sanitised service answers only (see ``escape_dlaas.auth.redact``).
"""

from __future__ import annotations


class DLaaSError(Exception):
    """Base of every error escape-dlaas explains to the user."""

    reason = "error"

    def __init__(self, message: str, *, reason: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        # The request field at fault, for input errors.
        self.field = field

    def to_dict(self) -> dict[str, str]:
        body = {"message": self.message, "reason": self.reason}
        if self.field:
            body["field"] = self.field
        return body


class ConfigurationError(DLaaSError):
    """The administrator's configuration is invalid; the message names the key."""

    reason = "configuration"


class InvalidInput(DLaaSError):
    """A request parameter is malformed (DID, filter, lifetime, ...)."""

    reason = "invalid_input"


class NotFound(DLaaSError):
    """The thing asked for does not exist (unknown DID, instance, rule)."""

    reason = "not_found"


class CredentialsMissing(DLaaSError):
    """No token could be found in any configured source."""

    reason = "credentials_missing"


class CredentialsExpired(DLaaSError):
    """A token was found but is expired or was refused as invalid."""

    reason = "credentials_expired"


class PermissionDenied(DLaaSError):
    """The account may not do this (e.g. an embargoed dataset)."""

    reason = "permission_denied"


class Conflict(DLaaSError):
    """The request conflicts with the current state (duplicate rule, locked rule)."""

    reason = "conflict"


class Refused(DLaaSError):
    """Rucio understood the request but refuses it (quota, no RSE matches, ...)."""

    reason = "refused"


class ServiceUnavailable(DLaaSError):
    """A remote service (Rucio, the token issuer, oidc-agent, the hub) failed or is unreachable."""

    reason = "service_unavailable"

    def __init__(self, message: str, *, service: str, reason: str | None = None):
        super().__init__(message, reason=reason)
        self.service = service

    def to_dict(self) -> dict[str, str]:
        body = super().to_dict()
        body["service"] = self.service
        return body


class ServiceTimeout(ServiceUnavailable):
    """A remote service did not answer within the configured timeout."""

    reason = "service_timeout"
