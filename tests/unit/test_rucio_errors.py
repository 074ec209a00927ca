"""Rucio's answers as domain errors: database trouble named without Rucio's internals, conflicts transient,
outages told apart from answers. The texts are what Rucio 41 really sends (seen against the lake with
its PostgreSQL stopped, hung and restarted)."""

from __future__ import annotations

import pytest
import requests
from rucio.common import exception as rucio_exc

from escape_dlaas.config import parse_instance
from escape_dlaas.errors import NotFound, PermissionDenied, ServiceTimeout, ServiceUnavailable
from escape_dlaas.resilience import UNREACHABLE, is_outage
from escape_dlaas.rucio.errors import (
    DATABASE_UNAVAILABLE,
    RucioDatabaseError,
    RucioDatabaseUnavailable,
    RucioTransientError,
    translate_rucio_error,
    translate_transport_error,
)

INSTANCE = parse_instance(
    {"name": "t", "rucio_url": "http://rucio.example", "token_sources": [{"type": "env", "variable": "T"}]}, "i"
)


def translated(error: Exception):
    return translate_rucio_error(error, "search scope lofar", "secret-token", INSTANCE)


@pytest.mark.parametrize(
    "error",
    [
        # a database that went away: the token check's own words, and the generic 500 of every other call
        rucio_exc.DatabaseException(
            '(psycopg.OperationalError) connection failed: connection to server at "127.0.0.1", port 5432 failed: '
            "Connection refused"
        ),
        rucio_exc.DatabaseException("(psycopg.OperationalError) server closed the connection unexpectedly"),
    ],
)
def test_a_database_that_is_away_is_named_without_rucios_words(error):
    result = translated(error)
    assert isinstance(result, RucioDatabaseUnavailable)
    assert result.reason == DATABASE_UNAVAILABLE
    assert result.service == "Rucio"
    assert "Rucio at http://rucio.example cannot reach its database" in result.message
    assert "try again later" in result.message
    for internal in ("psycopg", "OperationalError", "DatabaseException", "5432"):
        assert internal not in result.message
    assert not is_outage(result), "Rucio answered: no breaker for this alone"


@pytest.mark.parametrize(
    "error",
    [
        rucio_exc.DatabaseException("An unknown Database Exception has occurred."),
        rucio_exc.RucioException("Badly formatted input (IDs?)"),
        rucio_exc.RucioException("Badly formatted rule id (0123456789abcdef0123456789abcdef)"),
    ],
)
def test_rucios_bare_database_errors_are_transient_until_checked(error):
    """A lock conflict and a database that went away read the same: retried, then the database is checked."""
    result = translated(error)
    assert isinstance(result, RucioDatabaseError)
    assert isinstance(result, RucioTransientError)
    assert result.what == "search scope lofar"
    assert "Badly formatted" not in result.message
    assert "Database Exception" not in result.message


@pytest.mark.parametrize(
    "error",
    [
        rucio_exc.ReplicationRuleCreationTemporaryFailed("duplicate key value violates unique constraint LOCKS_PK"),
        rucio_exc.DatabaseException("(psycopg.errors.DeadlockDetected) deadlock detected"),
        rucio_exc.DatabaseException(
            '(psycopg.errors.LockNotAvailable) could not obtain lock on row in relation "rules"'
        ),
        rucio_exc.DatabaseException("(psycopg.errors.SerializationFailure) could not serialize access"),
        rucio_exc.DatabaseException(
            "Currently there are too many requests for the Rucio servers to handle (QueuePool)"
        ),
        rucio_exc.DatabaseException("ORA-00054: resource busy and acquire with NOWAIT specified"),
    ],
)
def test_database_conflicts_are_transient(error):
    result = translated(error)
    assert type(result) is RucioTransientError
    assert result.reason == "rucio_busy"
    assert "busy with a conflicting change" in result.message


def test_a_statement_error_of_another_kind_is_not_taken_for_the_database():
    result = translated(rucio_exc.RucioException("Something else went wrong"))
    assert not isinstance(result, RucioTransientError)
    assert result.reason == "rucio_error"


def test_refusals_are_answers():
    assert isinstance(translated(rucio_exc.DataIdentifierNotFound("lofar:x not found")), NotFound)
    assert isinstance(translated(rucio_exc.AccessDenied("embargoed")), PermissionDenied)


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_proxy_saying_rucio_is_down_is_an_outage(status):
    result = translated(rucio_exc.RucioException(f"no error information passed (http status code: {status})"))
    assert isinstance(result, ServiceUnavailable)
    assert result.reason == UNREACHABLE
    assert is_outage(result)
    assert "Rucio at http://rucio.example is not answering" in result.message


def test_transport_failures():
    refused = translate_transport_error(requests.ConnectionError("refused"), INSTANCE)
    assert refused.reason == UNREACHABLE
    assert is_outage(refused)
    assert refused.message == "Rucio at http://rucio.example is unreachable."
    slow = translate_transport_error(requests.ReadTimeout("slow"), INSTANCE, waited=2.5)
    assert isinstance(slow, ServiceTimeout)
    assert slow.message == "Rucio at http://rucio.example did not answer within 2.5 s."
    unreachable = translated(rucio_exc.ServerConnectionException("Cannot connect to the Rucio server."))
    assert unreachable.reason == UNREACHABLE
    assert "Rucio at http://rucio.example is unreachable" in unreachable.message
