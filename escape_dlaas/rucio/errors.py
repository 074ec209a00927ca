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

RUCIO = "Rucio"


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
