"""rucio-clients' exceptions and transport failures as domain errors a scientist understands."""

from __future__ import annotations

import requests
from rucio.common import exception as rucio_exc

from ..auth.redact import redact
from ..config import InstanceConfig
from ..errors import (
    Conflict,
    DLaaSError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Refused,
    ServiceTimeout,
    ServiceUnavailable,
)
from ..resilience import UNREACHABLE

RUCIO = "Rucio"
DATABASE_UNAVAILABLE = "rucio_database_unavailable"


class RucioTransientError(ServiceUnavailable):
    """Rucio's database turned the call down for now (a row lock, a deadlock, a busy pool): trying again may work."""

    reason = "rucio_busy"

    def __init__(self, message: str, *, what: str):
        super().__init__(message, service=RUCIO)
        self.what = what


class RucioDatabaseError(RucioTransientError):
    """Rucio's database failed the call without saying why (Rucio 41 hides it behind a generic 500).

    A lock conflict and a database that went away read the same, so the caller retries and
    then checks the database to say which it was (see :func:`database_unavailable`).
    """


class RucioDatabaseUnavailable(ServiceUnavailable):
    """Rucio answers, but cannot reach its database."""

    reason = DATABASE_UNAVAILABLE

    def __init__(self, message: str):
        super().__init__(message, service=RUCIO)


def database_unavailable(instance: InstanceConfig, what: str | None = None) -> RucioDatabaseUnavailable:
    """The error for a Rucio that cannot reach its database: no Rucio internals, what the user can do."""
    cannot = f"Cannot {what}: " if what else ""
    return RucioDatabaseUnavailable(
        f"{cannot}Rucio at {instance.rucio_url} cannot reach its database, so it can neither find nor change "
        "data right now. This is a fault of the data lake, not of your request: its operators have to bring "
        "the database back; try again later."
    )


def transient_failure(error: RucioTransientError, attempts: int) -> ServiceUnavailable:
    """The error for a call that still met a database conflict after ``attempts`` tries."""
    tries = f" (tried {attempts} times)" if attempts > 1 else ""
    return RucioTransientError(
        f"Cannot {error.what}: Rucio's database is busy with a conflicting change to the same data{tries}; "
        "try again in a moment.",
        what=error.what,
    )


# What Rucio 41 lets through of its database's troubles. Most of it reaches the client as a
# bare DatabaseException "An unknown Database Exception has occurred." (HTTP 500); texts
# from the token check and other paths keep the driver's words.
_CONFLICT_WORDS = (
    "deadlock",
    "could not obtain lock",
    "lock not available",
    "locknotavailable",
    "could not serialize",
    "serialization failure",
    "lock timeout",
    "lock wait timeout",
    "ora-00054",  # resource busy (Oracle's NOWAIT)
    "ora-00060",  # deadlock
    "ora-08177",  # cannot serialize access
    "queuepool",
    "too many requests",
)
_DATABASE_DOWN_WORDS = (
    "operationalerror",
    "connection refused",
    "could not connect",
    "connection failed",
    "connection to server",
    "server closed the connection",
    "terminating connection",
    "the database system is",  # starting up, shutting down, in recovery mode
    "no connection to the server",
    "ora-03113",
    "ora-03114",
    "ora-12541",
)
# A database error Rucio 41 reports as "Badly formatted input (IDs?)" / "Badly formatted rule
# id (...)": SQLAlchemy's StatementError, seen when the database went away mid-call. Our own
# input is checked before it reaches Rucio, so here it is the database, not the input.
_STATEMENT_ERROR_PREFIX = "badly formatted"


def _database_trouble(error: Exception, detail: str, what: str, instance: InstanceConfig | None) -> DLaaSError | None:
    """Rucio's database failing this call, classified; None when it is not about the database."""
    lowered = detail.lower()
    if isinstance(error, rucio_exc.ReplicationRuleCreationTemporaryFailed):
        return RucioTransientError(f"Cannot {what}: Rucio's database is busy with a conflicting change.", what=what)
    is_database = isinstance(error, rucio_exc.DatabaseException)
    is_statement = type(error) is rucio_exc.RucioException and lowered.startswith(_STATEMENT_ERROR_PREFIX)
    if not (is_database or is_statement):
        return None
    if any(word in lowered for word in _CONFLICT_WORDS):
        return RucioTransientError(f"Cannot {what}: Rucio's database is busy with a conflicting change.", what=what)
    if is_database and instance is not None and any(word in lowered for word in _DATABASE_DOWN_WORDS):
        return database_unavailable(instance, what)
    return RucioDatabaseError(f"Cannot {what}: Rucio's database failed the request.", what=what)


def _rucio_message(error: Exception, token: str | None) -> str:
    text = getattr(error, "_message", None) or str(error)
    # RucioException.__str__ prefixes a generic sentence and appends "Details: ...".
    if isinstance(error, rucio_exc.RucioException) and error.args:
        text = "; ".join(str(a) for a in error.args if a)
    return redact(text.strip(), token)


def translate_rucio_error(
    error: Exception, what: str, token: str | None = None, instance: InstanceConfig | None = None
) -> DLaaSError:
    """Map a rucio-clients exception to a domain error whose message a scientist understands."""
    detail = _rucio_message(error, token)
    name = type(error).__name__
    database = _database_trouble(error, detail, what, instance)
    if database is not None:
        return database
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
        where = f"Rucio at {instance.rucio_url}" if instance is not None else "the Rucio server"
        return ServiceUnavailable(f"Cannot {what}: {where} is unreachable.", service=RUCIO, reason=UNREACHABLE)
    gateway_status = next((code for code in _GATEWAY_STATUSES if f"status code: {code}" in detail), None)
    if isinstance(error, rucio_exc.RucioException) and gateway_status is not None:
        # No Rucio error body: a proxy in front of Rucio answered (bad gateway, unavailable, gateway timeout).
        where = f"Rucio at {instance.rucio_url}" if instance is not None else "The Rucio server"
        return ServiceUnavailable(
            f"Cannot {what}: {where} is not answering (its proxy answered HTTP {gateway_status}).",
            service=RUCIO,
            reason=UNREACHABLE,
        )
    return ServiceUnavailable(
        f"Cannot {what}: Rucio answered with an error: {name}: {detail}", service=RUCIO, reason="rucio_error"
    )


_GATEWAY_STATUSES = (502, 503, 504)


def translate_transport_error(
    error: requests.RequestException, instance: InstanceConfig, waited: float | None = None
) -> ServiceUnavailable:
    """A failure to get an answer from Rucio at all; ``waited``: the time allowed, when shorter than the timeout."""
    if isinstance(error, requests.Timeout):
        seconds = instance.timeout_seconds if waited is None else min(waited, instance.timeout_seconds)
        return ServiceTimeout(f"Rucio at {instance.rucio_url} did not answer within {seconds:.3g} s.", service=RUCIO)
    if isinstance(error, requests.exceptions.SSLError):
        return ServiceUnavailable(
            f"Cannot verify the TLS certificate of Rucio at {instance.rucio_url}; check ca_bundle.", service=RUCIO
        )
    if isinstance(error, requests.HTTPError) and error.response is not None:
        status = error.response.status_code
        return ServiceUnavailable(
            f"Rucio at {instance.rucio_url} answered HTTP {status}.",
            service=RUCIO,
            reason=UNREACHABLE if status in _GATEWAY_STATUSES else None,
        )
    return ServiceUnavailable(f"Rucio at {instance.rucio_url} is unreachable.", service=RUCIO, reason=UNREACHABLE)
